//! `sqlflow_models.ARIMAWithSTLDecomposition`: the model zoo's seasonal forecaster.
//!
//! Training reads (date, value) rows, sorts them by date, removes each period's
//! seasonal component in turn with STL ([`stl`]), min-max normalizes what is left, fits
//! ARIMA(`model.order`) with a constant to it ([`ArimaFit`]), and forecasts
//! `model.forecast_start..=model.forecast_end`: the ARIMA forecast un-normalized plus
//! each seasonal component, whose last season repeats (the value at the same phase of
//! the last full period). The forecast is kept in the model and shown as a table after
//! TRAIN, as SQLFlow printed it.
//!
//! PREDICT (SQLFlow's model had none) forecasts the date on each row: dates after the
//! last training date on its grid (the training interval), at most [`MAX_HORIZON`]
//! steps ahead; any other date is an error naming the row. EVALUATE compares those
//! forecasts with the label: MAE, MSE and MAPE (a fraction) unless other regression
//! metrics are asked for.
//!
//! Dates are read with `model.date_format` (a small strptime, module `dates`); the rows
//! must be evenly spaced, without duplicates.

mod dates;
mod fit;
mod stl;

use serde::{Deserialize, Serialize};

pub use self::fit::{ArimaFit, rows_needed};
pub use self::stl::{Decomposition, SEASONAL, low_pass_window, trend_window};

use self::dates::DateFormat;
use crate::attrs::{AttrSpec, AttrType, AttrValue, DefaultValue, Resolved};
use crate::data::{Column, FeatureRef, LabelColumn};
use crate::error::{ModelError, Result};

pub(crate) const NAME: &str = "sqlflow_models.ARIMAWithSTLDecomposition";

/// The metrics EVALUATE reports when none are named.
pub const EVALUATE_METRICS: &[&str] = &["MAE", "MSE", "MAPE"];

/// The most steps past the training data a forecast reaches (PREDICT or
/// `model.forecast_end`): beyond it an ARIMA forecast is its mean anyway, and a typo in
/// a year should not run for minutes.
pub const MAX_HORIZON: usize = 100_000;

fn date_text(v: &AttrValue) -> Option<AttrValue> {
    match v {
        AttrValue::Str(s) | AttrValue::Ident(s) if !s.trim().is_empty() => {
            Some(AttrValue::Str(s.trim().to_string()))
        }
        // 20140901 written without quotes.
        AttrValue::Int(i) => Some(AttrValue::Str(i.to_string())),
        _ => None,
    }
}

fn format_text(v: &AttrValue) -> Option<AttrValue> {
    match v {
        AttrValue::Str(s) if DateFormat::parse(s).is_ok() => Some(AttrValue::Str(s.clone())),
        _ => None,
    }
}

/// The attributes, SQLFlow's names.
pub(crate) const SPECS: &[AttrSpec] = &[
    AttrSpec {
        name: "model.order",
        aliases: &[],
        ty: AttrType::IntList { min: 0, max: 60 },
        default: Some(DefaultValue::IntList(&[7, 0, 2])),
    },
    AttrSpec {
        name: "model.period",
        aliases: &[],
        ty: AttrType::IntList {
            min: 2,
            max: 100_000,
        },
        default: Some(DefaultValue::IntList(&[7])),
    },
    AttrSpec {
        name: "model.date_format",
        aliases: &[],
        ty: AttrType::Custom {
            expected: "a quoted date format of %Y %m %d %H %M %S, %% and literal text, e.g. \
                       \"%Y-%m-%d\"",
            normalize: format_text,
        },
        default: Some(DefaultValue::Str("%Y-%m-%d")),
    },
    AttrSpec {
        name: "model.forecast_start",
        aliases: &[],
        ty: AttrType::Custom {
            expected: "a quoted date in model.date_format, e.g. '2014-09-01'",
            normalize: date_text,
        },
        default: None,
    },
    AttrSpec {
        name: "model.forecast_end",
        aliases: &[],
        ty: AttrType::Custom {
            expected: "a quoted date in model.date_format, e.g. '2014-09-30'",
            normalize: date_text,
        },
        default: None,
    },
];

fn invalid(name: &str, expected: String, got: String) -> ModelError {
    ModelError::InvalidAttribute {
        estimator: NAME.to_string(),
        name: name.to_string(),
        expected,
        got,
    }
}

/// The attributes read and checked against each other (before any data is read).
struct Settings {
    order: [usize; 3],
    periods: Vec<usize>,
    format: DateFormat,
    format_text: String,
    start: Option<i64>,
    end: Option<i64>,
}

fn settings(attrs: &Resolved) -> Result<Settings> {
    let order_list = attrs.int_list("model.order");
    let order = match order_list.as_slice() {
        [p, d, q] if *d <= 2 => [*p, *d, *q],
        _ => {
            return Err(invalid(
                "model.order",
                "[p, d, q]: three integers >= 0, d at most 2".into(),
                attrs
                    .get("model.order")
                    .map_or_else(String::new, ToString::to_string),
            ));
        }
    };
    let format_text = attrs.str("model.date_format").to_string();
    let format = DateFormat::parse(&format_text)
        .map_err(|e| invalid("model.date_format", e, format!("\"{format_text}\"")))?;
    let date = |name: &str| -> Result<Option<i64>> {
        let Some(text) = attrs.opt_str(name) else {
            return Ok(None);
        };
        format.read(text).map(Some).map_err(|e| {
            invalid(
                name,
                format!("a date in model.date_format \"{format_text}\" ({e})"),
                format!("'{text}'"),
            )
        })
    };
    let (start, end) = (date("model.forecast_start")?, date("model.forecast_end")?);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(invalid(
            "model.forecast_end",
            format!(
                "a date on or after model.forecast_start '{}'",
                attrs.opt_str("model.forecast_start").unwrap_or_default()
            ),
            format!(
                "'{}'",
                attrs.opt_str("model.forecast_end").unwrap_or_default()
            ),
        ));
    }
    Ok(Settings {
        order,
        periods: attrs.int_list("model.period"),
        format,
        format_text,
        start,
        end,
    })
}

/// The checks [`crate::validate_attributes`] makes: order, format, forecast dates.
pub(crate) fn check_attrs(attrs: &Resolved) -> Result<()> {
    settings(attrs).map(|_| ())
}

/// A trained model: what forecasting needs and the forecast TRAIN printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Arima {
    format: String,
    /// The first and last training dates (seconds since 1970) and the interval.
    first: i64,
    last: i64,
    step: i64,
    periods: Vec<usize>,
    /// Per period, its seasonal component's last full period, oldest first.
    seasons: Vec<Vec<f64>>,
    /// The min-max normalization of the deseasoned series: value = min + scale · x.
    min: f64,
    scale: f64,
    fit: ArimaFit,
    /// `model.forecast_start..=model.forecast_end`, what TRAIN printed.
    forecast_start: i64,
    forecast: Vec<f64>,
}

fn cell_text(v: FeatureRef<'_>) -> String {
    match v {
        FeatureRef::Str(s) => s.trim().to_string(),
        // 20140401 in a numeric column.
        FeatureRef::Num(x) => match crate::data::whole_number(x) {
            Some(i) => i.to_string(),
            None => x.to_string(),
        },
    }
}

/// Each row's date read with the format; a NULL or unreadable one is an error naming
/// the row, the column and the format.
fn read_dates(column: &Column, format: &DateFormat, format_text: &str) -> Result<Vec<i64>> {
    column
        .iter()
        .enumerate()
        .map(|(r, v)| {
            let Some(v) = v else {
                return Err(ModelError::InvalidData(format!(
                    "date column '{}' is NULL at row {}; filter such rows out",
                    column.name,
                    r + 1
                )));
            };
            let text = cell_text(v);
            format.read(&text).map_err(|e| {
                ModelError::InvalidData(format!(
                    "date column '{}' at row {}: '{text}' does not match model.date_format \
                     \"{format_text}\" ({e}); set model.date_format to the dates' format",
                    column.name,
                    r + 1
                ))
            })
        })
        .collect()
}

/// The one date column among the features (all but the label).
fn date_column(features: &[Column]) -> Result<&Column> {
    match features {
        [c] => Ok(c),
        _ => Err(ModelError::InvalidData(format!(
            "{NAME} reads a date column and the label; the SELECT has {} other columns ({}): \
             select only the date and the value",
            features.len(),
            features
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

impl Arima {
    /// Trains on the features (one date column) and the label. Records the forecast
    /// dates it worked out in `attrs`.
    pub(crate) fn train(
        features: &[Column],
        label: &LabelColumn,
        attrs: &mut Resolved,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Arima> {
        let s = settings(attrs)?;
        let column = date_column(features)?;
        let values = crate::labels::numeric_target(label)?;
        let dates = read_dates(column, &s.format, &s.format_text)?;
        if dates.len() != values.len() {
            return Err(ModelError::InvalidLabel(format!(
                "label column '{}' has {} rows but the dates have {}",
                label.name,
                values.len(),
                dates.len()
            )));
        }
        // By date; equal dates stay in row order so the duplicate message names the
        // first two rows.
        let mut idx: Vec<usize> = (0..dates.len()).collect();
        idx.sort_by_key(|&i| dates[i]);
        let n = idx.len();
        if n < 3 {
            return Err(ModelError::InvalidData(format!(
                "{NAME} needs at least 3 rows; the query returned {n}"
            )));
        }
        for w in idx.windows(2) {
            if dates[w[0]] == dates[w[1]] {
                return Err(ModelError::InvalidData(format!(
                    "date '{}' appears twice (rows {} and {}); a series has one value per \
                     date: aggregate them (GROUP BY the date)",
                    s.format.write(dates[w[0]]),
                    w[0] + 1,
                    w[1] + 1
                )));
            }
        }
        let step = dates[idx[1]] - dates[idx[0]];
        for w in idx.windows(2) {
            let gap = dates[w[1]] - dates[w[0]];
            if gap != step {
                return Err(ModelError::InvalidData(format!(
                    "the dates are not evenly spaced: '{}' to '{}' is {gap} s but the first \
                     interval is {step} s; fill in the missing dates (or aggregate to a \
                     regular interval)",
                    s.format.write(dates[w[0]]),
                    s.format.write(dates[w[1]]),
                )));
            }
        }
        let y: Vec<f64> = idx.iter().map(|&i| values[i]).collect();
        let (first, last) = (dates[idx[0]], dates[idx[n - 1]]);
        for &p in &s.periods {
            if 2 * p > n {
                return Err(invalid(
                    "model.period",
                    format!(
                        "periods of at most half the series: STL needs two full periods, and \
                         the query returned {n} rows"
                    ),
                    p.to_string(),
                ));
            }
        }
        let needed = rows_needed(s.order);
        if n < needed {
            let [p, d, q] = s.order;
            return Err(invalid(
                "model.order",
                format!(
                    "an order the {n} rows can estimate: ARIMA({p},{d},{q}) needs at least \
                     {needed} rows (d + p + 2 per parameter, at least 8 residuals)"
                ),
                format!("[{p}, {d}, {q}]"),
            ));
        }
        let start = match s.start {
            Some(t) => t,
            None => last + step,
        };
        let on_grid = |t: i64| (t - first) % step == 0;
        if !on_grid(start) || start <= last {
            return Err(invalid(
                "model.forecast_start",
                format!(
                    "a date after the last training date '{}' on its grid of {step} s (the next \
                     is '{}'); the forecast continues the series, it does not refit it",
                    s.format.write(last),
                    s.format.write(last + step)
                ),
                format!("'{}'", s.format.write(start)),
            ));
        }
        let longest = s.periods.iter().copied().max().unwrap_or(1) as i64;
        let end = match s.end {
            Some(t) => t,
            None => start + (longest - 1) * step,
        };
        if !on_grid(end) || end < start {
            return Err(invalid(
                "model.forecast_end",
                format!(
                    "a date on or after model.forecast_start '{}' on the training data's grid of \
                     {step} s",
                    s.format.write(start)
                ),
                format!("'{}'", s.format.write(end)),
            ));
        }
        let horizon = (end - last) / step;
        if horizon as u64 > MAX_HORIZON as u64 {
            return Err(invalid(
                "model.forecast_end",
                format!("a date at most {MAX_HORIZON} steps after the last training date"),
                format!("'{}' ({horizon} steps)", s.format.write(end)),
            ));
        }
        attrs.set(
            "model.forecast_start",
            AttrValue::Str(s.format.write(start)),
        );
        attrs.set("model.forecast_end", AttrValue::Str(s.format.write(end)));

        let mut left = y;
        let mut seasons = Vec::with_capacity(s.periods.len());
        for &p in &s.periods {
            let d = stl::stl(&left, p);
            let (lo, hi) = d
                .seasonal
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(*v), b.max(*v))
                });
            progress(&format!(
                "STL period {p}: seasonal range {:.6} (seasonal {SEASONAL}, trend {}, low-pass {})",
                hi - lo,
                trend_window(p),
                low_pass_window(p)
            ));
            for (v, s) in left.iter_mut().zip(&d.seasonal) {
                *v -= s;
            }
            seasons.push(d.seasonal[n - p..].to_vec());
        }
        let (lo, hi) = left
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        // A flat remainder has no range to divide by; it is then used as it is.
        let scale = if hi > lo && (hi - lo).is_finite() {
            hi - lo
        } else {
            1.0
        };
        let normalized: Vec<f64> = left.iter().map(|v| (v - lo) / scale).collect();
        let fit = ArimaFit::fit(&normalized, s.order, progress);
        let mut model = Arima {
            format: s.format_text,
            first,
            last,
            step,
            periods: s.periods,
            seasons,
            min: lo,
            scale,
            fit,
            forecast_start: start,
            forecast: Vec::new(),
        };
        let count = ((end - start) / step + 1) as usize;
        let offset = ((start - last) / step - 1) as usize;
        let all = model.forecast_steps(offset + count);
        model.forecast = all[offset..].to_vec();
        progress(&format!(
            "forecast {} to {}: {count} values",
            s.format.write(start),
            s.format.write(end)
        ));
        Ok(model)
    }

    /// The first `h` forecasts after the last training date.
    fn forecast_steps(&self, h: usize) -> Vec<f64> {
        let mut out = self.fit.forecast(h);
        for (i, v) in out.iter_mut().enumerate() {
            *v = self.min + self.scale * *v;
            for season in &self.seasons {
                // The same phase in the last full period.
                *v += season[i % season.len()];
            }
        }
        out
    }

    fn date_format(&self) -> Result<DateFormat> {
        DateFormat::parse(&self.format).map_err(ModelError::Corrupt)
    }

    /// (date, forecast) for `model.forecast_start..=model.forecast_end`.
    pub(crate) fn forecast_table(&self) -> Vec<(String, f64)> {
        let Ok(format) = self.date_format() else {
            return Vec::new();
        };
        self.forecast
            .iter()
            .enumerate()
            .map(|(i, v)| (format.write(self.forecast_start + i as i64 * self.step), *v))
            .collect()
    }

    /// The forecast for each row's date (the date column selected by the caller).
    pub(crate) fn predict(&self, column: &Column) -> Result<Vec<f64>> {
        let format = self.date_format()?;
        let dates = read_dates(column, &format, &self.format)?;
        let mut steps = Vec::with_capacity(dates.len());
        for (r, &t) in dates.iter().enumerate() {
            let k = (t - self.last) / self.step;
            if t <= self.last || (t - self.last) % self.step != 0 || k as u64 > MAX_HORIZON as u64 {
                return Err(ModelError::InvalidData(format!(
                    "date column '{}' at row {}: {NAME} forecasts dates after its last training \
                     date '{}' every {} s ('{}', '{}', ...), at most {MAX_HORIZON} steps ahead; \
                     '{}' is not one",
                    column.name,
                    r + 1,
                    format.write(self.last),
                    self.step,
                    format.write(self.last + self.step),
                    format.write(self.last + 2 * self.step),
                    format.write(t)
                )));
            }
            steps.push(k as usize);
        }
        let h = steps.iter().copied().max().unwrap_or(0);
        let all = self.forecast_steps(h);
        Ok(steps.into_iter().map(|k| all[k - 1]).collect())
    }

    /// Consistency of a loaded model.
    pub(crate) fn check(&self) -> bool {
        let count_ok = !self.forecast.is_empty()
            && self.forecast.iter().all(|v| v.is_finite())
            && self.forecast_start > self.last;
        self.step > 0
            && self.last >= self.first
            && (self.last - self.first) % self.step == 0
            && self.periods.len() == self.seasons.len()
            && self
                .periods
                .iter()
                .zip(&self.seasons)
                .all(|(p, s)| *p >= 2 && s.len() == *p && s.iter().all(|v| v.is_finite()))
            && self.min.is_finite()
            && self.scale.is_finite()
            && self.scale > 0.0
            && self.fit.check()
            && count_ok
            && DateFormat::parse(&self.format).is_ok()
    }
}

/// `model.period`'s values must be ≥ 2 and the series two periods long; the public
/// entry to STL for checks against other implementations.
pub fn stl(y: &[f64], period: usize) -> Result<Decomposition> {
    if period < 2 || y.len() < 2 * period {
        return Err(invalid(
            "model.period",
            format!(
                "a period of at least 2 and at most half the series ({} values)",
                y.len()
            ),
            period.to_string(),
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::InvalidData(format!(
            "value {} at position {} is not finite",
            y[i],
            i + 1
        )));
    }
    Ok(stl::stl(y, period))
}

/// Fits ARIMA(`order`) with a constant to `y` by conditional sum of squares (see
/// [`ArimaFit`]); the public entry for checks against other implementations.
pub fn fit_arima(y: &[f64], order: [usize; 3]) -> Result<ArimaFit> {
    if y.len() < rows_needed(order) || y.iter().any(|v| !v.is_finite()) {
        return Err(invalid(
            "model.order",
            format!("an order {} finite values can estimate", y.len()),
            format!("{order:?}"),
        ));
    }
    Ok(ArimaFit::fit(y, order, &mut |_| {}))
}
