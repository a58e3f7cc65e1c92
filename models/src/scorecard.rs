//! `sqlflow_models.ScoreCard`: a credit score card, as SQLFlow's model built it
//! (`sqlflow_models/score_card.py`) and as credit scoring does it:
//!
//! 1. **Binning.** Each numeric feature is cut at its quantiles into `model.pf_bin_size`
//!    (5) bins of about equal population, pandas' `qcut(x, q, duplicates="drop")`: edges
//!    at the 0, 1/q, ..., 1 quantiles (linear interpolation), repeated edges dropped, bins
//!    closed on the right and the first one on the left too. At scoring time the first
//!    and last bins reach to -inf and +inf. A string feature gets one bin per category.
//!    NULLs (and NaN/±inf) seen at training form a bin of their own; where training saw
//!    none, a numeric NULL falls in the bin of the training mean (the crate's rule for
//!    NULLs) and a categorical one, like a category not seen at training, in the
//!    feature's `(other)` row: weight of evidence 0, the population's odds.
//! 2. **Weight of evidence and information value**, with "bad" the label's second class
//!    (1 for 0/1 labels), as SQLFlow: WoE = ln((bad_i / bad) / (good_i / good)),
//!    IV = Σ (bad_i / bad − good_i / good) · WoE_i. A bin without bad or without good rows
//!    adds 0.5 to both its counts, so its WoE stays finite.
//! 3. **Logistic regression on the WoE values** (the bad class against the good one),
//!    mean cross-entropy plus `model.l2_reg`/2·‖w‖², fitted by the crate's L-BFGS.
//! 4. **Points.** With factor = `model.pdo` / ln 2 and offset = `model.target_score` −
//!    factor · ln(`model.target_odds`) (SQLFlow's 600 at odds 20:1, 20 points to double
//!    the odds), the score is offset − factor · ln(odds of bad), split per feature: a bin
//!    scores round(offset/m − factor · (b₀/m + b_j · WoE)), m features. A row's score is
//!    the sum of its bins' points, so it can be added up from the card by hand; higher
//!    scores mean lower risk. The probability PREDICT reports is the regression's.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, DefaultValue, Resolved, spec};
use crate::data::{Column, FeatureRef, whole_number};
use crate::error::{ModelError, Result};
use crate::features::row_count;
use crate::metrics::binary_auc;
use crate::monitor::Monitor;
use crate::optim::{dot, lbfgs_traced};

pub(crate) const SPECS: &[AttrSpec] = &[
    AttrSpec {
        name: "model.pf_bin_size",
        aliases: &[],
        ty: AttrType::Int { min: 1, max: 1000 },
        default: Some(DefaultValue::Int(5)),
    },
    spec::non_negative("model.target_score", 600.0),
    spec::positive("model.target_odds", 20.0),
    spec::positive("model.pdo", 20.0),
    spec::non_negative("model.l2_reg", 0.0),
    spec::int("train.max_iter", 1, 100),
    AttrSpec {
        name: "train.epoch",
        aliases: &[],
        ty: AttrType::NoEffect(ONE_PASS),
        default: None,
    },
    AttrSpec {
        name: "train.batch_size",
        aliases: &[],
        ty: AttrType::NoEffect(ONE_PASS),
        default: None,
    },
    AttrSpec {
        name: "train.verbose",
        aliases: &[],
        ty: AttrType::NoEffect(ONE_PASS),
        default: None,
    },
];

const ONE_PASS: &str = "the score card bins all rows at once and fits its logistic regression \
     to the optimum, so there are no epochs or batches";

/// L-BFGS stops when no gradient component exceeds this (scikit-learn's `tol`).
const GRADIENT_TOL: f64 = 1e-4;

/// Counts a bin without bad or without good rows gets added to both, so its WoE is finite.
const SMOOTHING: f64 = 0.5;

/// The card row of values no bin holds.
const OTHER: &str = "(other)";

/// TRAIN prints at most this many lines of the card (EXPLAIN shows all of it).
const MAX_CARD_LINES: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ScoreCard {
    features: Vec<CardFeature>,
    intercept: f64,
    /// `model.pdo` / ln 2.
    factor: f64,
    /// `model.target_score` − factor · ln(`model.target_odds`).
    offset: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CardFeature {
    name: String,
    kind: BinKind,
    /// The value bins: numeric, `edges.len() + 1` of them (none when training saw no
    /// number); categorical, one per category.
    bins: Vec<CardBin>,
    /// The NULL bin, when training saw NULLs.
    null_bin: Option<CardBin>,
    coef: f64,
    iv: f64,
    /// The points of a value no bin holds (WoE 0).
    other_points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum BinKind {
    Numeric {
        /// Inner cut points, strictly increasing: bin k holds (edges[k-1], edges[k]].
        edges: Vec<f64>,
        /// The training mean, where a NULL goes when training saw none.
        fill: f64,
    },
    Categorical {
        /// Sorted, distinct.
        categories: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CardBin {
    label: String,
    rows: u64,
    bad: u64,
    woe: f64,
    iv: f64,
    points: f64,
}

/// One row of a score card: a bin of a feature, its population, WoE and points.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreCardRow {
    pub feature: String,
    /// `(20.999, 38.0]` (pandas' interval label, as SQLFlow printed it), a category,
    /// `NULL`, or `(other)` (values no bin holds: WoE 0).
    pub bin: String,
    /// Training rows in the bin.
    pub rows: u64,
    /// Share of the bin's training rows in the bad class (NaN for `(other)`).
    pub bad_rate: f64,
    pub woe: f64,
    /// The bin's points; a row's score is the sum of its bins' points.
    pub points: f64,
    /// The feature's information value (the same on each of its rows).
    pub iv: f64,
}

/// Where a value falls in a feature's bins.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Bin(usize),
    Null,
    Other,
}

impl CardFeature {
    fn slot(&self, value: Option<FeatureRef<'_>>) -> Result<Slot> {
        let missing = |f: &CardFeature| {
            if f.null_bin.is_some() {
                Slot::Null
            } else {
                Slot::Other
            }
        };
        Ok(match &self.kind {
            BinKind::Numeric { edges, fill } => {
                let x = match value {
                    Some(FeatureRef::Num(x)) if x.is_finite() => Some(x),
                    Some(FeatureRef::Num(_)) | None => None,
                    Some(FeatureRef::Str(s)) => {
                        return Err(ModelError::InvalidData(format!(
                            "column '{}' was numeric when the score card was trained but holds \
                             the string '{s}'; cast the column to a number",
                            self.name
                        )));
                    }
                };
                match x {
                    _ if self.bins.is_empty() => missing(self),
                    Some(x) => Slot::Bin(edges.partition_point(|e| *e < x)),
                    None if self.null_bin.is_some() => Slot::Null,
                    None => Slot::Bin(edges.partition_point(|e| e < fill)),
                }
            }
            BinKind::Categorical { categories } => {
                let found = match value {
                    Some(FeatureRef::Str(s)) => {
                        categories.binary_search_by(|c| c.as_str().cmp(s)).ok()
                    }
                    Some(FeatureRef::Num(x)) => categories.binary_search(&num_as_category(x)).ok(),
                    None => None,
                };
                found.map_or_else(|| missing(self), Slot::Bin)
            }
        })
    }

    fn bin(&self, slot: Slot) -> Option<&CardBin> {
        match slot {
            Slot::Bin(i) => self.bins.get(i),
            Slot::Null => self.null_bin.as_ref(),
            Slot::Other => None,
        }
    }

    fn woe(&self, slot: Slot) -> f64 {
        self.bin(slot).map_or(0.0, |b| b.woe)
    }

    fn points(&self, slot: Slot) -> f64 {
        self.bin(slot).map_or(self.other_points, |b| b.points)
    }

    /// Whether some value lands in no bin (so the card shows an `(other)` row).
    fn has_other(&self) -> bool {
        match self.kind {
            BinKind::Numeric { .. } => self.bins.is_empty(),
            BinKind::Categorical { .. } => self.null_bin.is_none(),
        }
    }
}

/// How a number reads as a category (as the feature encoder reads it).
fn num_as_category(x: f64) -> String {
    match whole_number(x) {
        Some(i) => format!("{i}"),
        None => format!("{x}"),
    }
}

/// pandas' `qcut` edges: the 0, 1/q, ..., 1 quantiles of the sorted values (numpy's
/// linear interpolation), repeated edges dropped.
fn quantile_edges(sorted: &[f64], q: usize) -> Vec<f64> {
    let n = sorted.len();
    let step = 1.0 / q as f64;
    let mut edges: Vec<f64> = (0..=q)
        .map(|i| {
            let p = if i == q { 1.0 } else { i as f64 * step };
            let h = (n - 1) as f64 * p;
            let lo = (h.floor() as usize).min(n - 1);
            let hi = (lo + 1).min(n - 1);
            let t = h - lo as f64;
            let (a, b) = (sorted[lo], sorted[hi]);
            let diff = b - a;
            // numpy's _lerp: from the nearer end.
            if t >= 0.5 {
                b - diff * (1.0 - t)
            } else {
                a + diff * t
            }
        })
        .collect();
    edges.dedup();
    edges
}

/// pandas' `_round_frac`: `precision` significant digits after the leading zeros of a
/// fraction, `precision` decimals otherwise.
fn round_frac(x: f64, precision: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = if x.trunc() == 0.0 {
        -(x.fract().abs().log10().floor() as i32) - 1 + precision
    } else {
        precision
    };
    let digits = digits.clamp(0, 30) as usize;
    format!("{x:.digits$}").parse().unwrap_or(x)
}

/// Python's `repr` of a float, near enough: `38.0`, `0.0191`, `-0.001`.
fn float_text(x: f64) -> String {
    format!("{x:?}")
}

/// pandas' interval labels of bins with these edges (all of them, the training minimum
/// and maximum included): `(20.999, 38.0]`, the first edge lowered by 10^-precision as
/// pandas shows a bin closed on both sides.
fn interval_labels(edges: &[f64]) -> Vec<String> {
    let mut precision = 3;
    let rounded = loop {
        let r: Vec<f64> = edges.iter().map(|e| round_frac(*e, precision)).collect();
        if precision >= 15 || r.windows(2).all(|w| w[0] != w[1]) {
            break r;
        }
        precision += 1;
    };
    let mut shown = rounded.clone();
    if let Some(first) = shown.first_mut() {
        *first = round_frac(*first - 10f64.powi(-precision), precision + 1);
    }
    if shown.len() == 1 {
        // One distinct value: one bin holding it.
        return vec![format!(
            "({}, {}]",
            float_text(shown[0]),
            float_text(rounded[0])
        )];
    }
    shown
        .windows(2)
        .zip(rounded.windows(2))
        .map(|(s, r)| format!("({}, {}]", float_text(s[0]), float_text(r[1])))
        .collect()
}

/// How useful an information value says a feature is (the usual rule of thumb).
fn iv_strength(iv: f64) -> &'static str {
    match iv {
        v if v < 0.02 => "not predictive",
        v if v < 0.1 => "weak",
        v if v < 0.3 => "medium",
        v if v < 0.5 => "strong",
        _ => "very strong: check that it does not leak the label",
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Kolmogorov–Smirnov statistic of `scores` between the positive and negative rows: the
/// largest gap between their cumulative distributions. `None` when one side is empty.
pub(crate) fn ks_statistic(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut pos, mut neg, mut best) = (0usize, 0usize, 0.0f64);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if positive[order[j]] {
                pos += 1;
            } else {
                neg += 1;
            }
            j += 1;
        }
        let gap = (neg as f64 / n_neg as f64 - pos as f64 / n_pos as f64).abs();
        best = best.max(gap);
        i = j;
    }
    Some(best)
}

/// Counts per slot of one feature while training.
struct Tally {
    rows: Vec<u64>,
    bad: Vec<u64>,
    null_rows: u64,
    null_bad: u64,
}

impl ScoreCard {
    /// `columns` are the training columns in order; `bad[r]` says whether row r is in
    /// the label's second class; `classes` say which label values are good and bad.
    pub fn train(
        estimator: &str,
        columns: &[&Column],
        bad: &[bool],
        classes: (&str, &str),
        attrs: &Resolved,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<ScoreCard> {
        let q = attrs.usize("model.pf_bin_size");
        let n = bad.len();
        let n_bad = bad.iter().filter(|b| **b).count();
        let n_good = n - n_bad;
        if n_bad == 0 || n_good == 0 {
            return Err(ModelError::InvalidLabel(format!(
                "{estimator} needs rows of both classes (good and bad) to weigh evidence, \
                 but all {n} rows are in one class; select rows of both"
            )));
        }
        progress(&format!(
            "{estimator}: {n} rows, {n_good} good ({}) and {n_bad} bad ({}); binning {} \
             features into at most model.pf_bin_size = {q} quantile bins",
            classes.0,
            classes.1,
            columns.len()
        ));
        let (total_bad, total_good) = (n_bad as f64, n_good as f64);
        let mut features = Vec::with_capacity(columns.len());
        let mut slots: Vec<Vec<Slot>> = Vec::with_capacity(columns.len());
        for col in columns {
            let (mut feature, col_slots) = bin_feature(col, q)?;
            let mut tally = Tally {
                rows: vec![0; feature.bins.len()],
                bad: vec![0; feature.bins.len()],
                null_rows: 0,
                null_bad: 0,
            };
            for (slot, is_bad) in col_slots.iter().zip(bad) {
                let (rows, b) = match slot {
                    Slot::Bin(i) => (&mut tally.rows[*i], &mut tally.bad[*i]),
                    Slot::Null => (&mut tally.null_rows, &mut tally.null_bad),
                    Slot::Other => continue,
                };
                *rows += 1;
                *b += u64::from(*is_bad);
            }
            let weigh = |rows: u64, b: u64| -> (f64, f64) {
                let (mut bi, mut gi) = (b as f64, (rows - b) as f64);
                if bi == 0.0 || gi == 0.0 {
                    bi += SMOOTHING;
                    gi += SMOOTHING;
                }
                let (pb, pg) = (bi / total_bad, gi / total_good);
                let woe = (pb / pg).ln();
                (woe, (pb - pg) * woe)
            };
            for (i, bin) in feature.bins.iter_mut().enumerate() {
                let (woe, iv) = weigh(tally.rows[i], tally.bad[i]);
                *bin = CardBin {
                    rows: tally.rows[i],
                    bad: tally.bad[i],
                    woe,
                    iv,
                    ..bin.clone()
                };
            }
            if tally.null_rows > 0 {
                let (woe, iv) = weigh(tally.null_rows, tally.null_bad);
                feature.null_bin = Some(CardBin {
                    label: "NULL".into(),
                    rows: tally.null_rows,
                    bad: tally.null_bad,
                    woe,
                    iv,
                    points: 0.0,
                });
            }
            feature.iv = feature
                .bins
                .iter()
                .chain(&feature.null_bin)
                .map(|b| b.iv)
                .sum();
            progress(&format!(
                "{}: {} bins{}, IV {:.4} ({})",
                feature.name,
                feature.bins.len(),
                if feature.null_bin.is_some() {
                    " and NULL"
                } else {
                    ""
                },
                feature.iv,
                iv_strength(feature.iv)
            ));
            features.push(feature);
            slots.push(col_slots);
        }
        // The WoE matrix, row-major.
        let m = features.len();
        let mut x = vec![0.0; n * m];
        for (j, (f, s)) in features.iter().zip(&slots).enumerate() {
            for (r, slot) in s.iter().enumerate() {
                x[r * m + j] = f.woe(*slot);
            }
        }
        let l2 = attrs.float("model.l2_reg");
        let mut params = vec![0.0; m + 1];
        // Start at the base rate: the intercept-only optimum.
        params[m] = (total_bad / total_good).ln();
        let (loss, iters) = lbfgs_traced(
            &mut params,
            attrs.usize("train.max_iter"),
            GRADIENT_TOL,
            |p, g| woe_logistic_loss(&x, bad, m, l2, p, g),
            |iter, loss| monitor.record("iteration", "loss", "train", iter as u64, loss),
        );
        if !loss.is_finite() || params.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Training(
                "the logistic regression on the WoE values diverged; set model.l2_reg > 0".into(),
            ));
        }
        progress(&format!(
            "logistic regression on the WoE values: L-BFGS stopped after {iters} iterations, \
             loss (cross-entropy) {loss:.4}"
        ));
        let intercept = params[m];
        let factor = attrs.float("model.pdo") / std::f64::consts::LN_2;
        let offset =
            attrs.float("model.target_score") - factor * attrs.float("model.target_odds").ln();
        let mf = m as f64;
        for (f, coef) in features.iter_mut().zip(&params) {
            f.coef = *coef;
            let points = |woe: f64| (offset / mf - factor * (intercept / mf + coef * woe)).round();
            for b in f.bins.iter_mut().chain(f.null_bin.as_mut()) {
                b.points = points(b.woe);
            }
            f.other_points = points(0.0);
        }
        let card = ScoreCard {
            features,
            intercept,
            factor,
            offset,
        };
        let proba: Vec<f64> = (0..n)
            .map(|r| sigmoid(intercept + dot(&x[r * m..(r + 1) * m], &params[..m])))
            .collect();
        let auc = binary_auc(bad, &proba).unwrap_or(f64::NAN);
        let ks = ks_statistic(bad, &proba).unwrap_or(f64::NAN);
        progress(&format!("training rows: AUC {auc:.4}, KS {ks:.4}"));
        progress(&format!(
            "TARGET SCORE: {} (odds {}:1 good to bad; {} points double the odds)",
            attrs.float("model.target_score"),
            attrs.float("model.target_odds"),
            attrs.float("model.pdo")
        ));
        let rows = card.rows();
        for row in rows.iter().take(MAX_CARD_LINES) {
            progress(&format!("{} {} {:?}", row.feature, row.bin, row.points));
        }
        if rows.len() > MAX_CARD_LINES {
            progress(&format!(
                "... and {} more bins: TO EXPLAIN the model for the whole card",
                rows.len() - MAX_CARD_LINES
            ));
        }
        Ok(card)
    }

    /// The slot of each row in each feature (columns of the same length, one per feature).
    fn slots(&self, columns: &[&Column]) -> Result<Vec<Vec<Slot>>> {
        if columns.len() != self.features.len() {
            return Err(ModelError::InvalidData(format!(
                "the score card has {} features but {} columns were given",
                self.features.len(),
                columns.len()
            )));
        }
        self.features
            .iter()
            .zip(columns)
            .map(|(f, c)| c.iter().map(|v| f.slot(v)).collect())
            .collect()
    }

    /// Probability of the bad class per row.
    pub fn predict_bad(&self, columns: &[&Column]) -> Result<Vec<f64>> {
        let rows = row_count(columns)?;
        let slots = self.slots(columns)?;
        Ok((0..rows)
            .map(|r| {
                let z: f64 = self
                    .features
                    .iter()
                    .zip(&slots)
                    .map(|(f, s)| f.coef * f.woe(s[r]))
                    .sum();
                sigmoid(self.intercept + z)
            })
            .collect())
    }

    /// The score per row: the sum of its bins' points.
    pub fn scores(&self, columns: &[&Column]) -> Result<Vec<f64>> {
        let rows = row_count(columns)?;
        let slots = self.slots(columns)?;
        Ok((0..rows)
            .map(|r| {
                self.features
                    .iter()
                    .zip(&slots)
                    .map(|(f, s)| f.points(s[r]))
                    .sum()
            })
            .collect())
    }

    /// The card: each feature's bins in order, then its NULL bin, then `(other)` where
    /// some value lands in no bin.
    pub fn rows(&self) -> Vec<ScoreCardRow> {
        let mut out = Vec::new();
        for f in &self.features {
            let row = |b: &CardBin| ScoreCardRow {
                feature: f.name.clone(),
                bin: b.label.clone(),
                rows: b.rows,
                bad_rate: if b.rows == 0 {
                    f64::NAN
                } else {
                    b.bad as f64 / b.rows as f64
                },
                woe: b.woe,
                points: b.points,
                iv: f.iv,
            };
            out.extend(f.bins.iter().chain(&f.null_bin).map(row));
            if f.has_other() {
                out.push(ScoreCardRow {
                    feature: f.name.clone(),
                    bin: OTHER.into(),
                    rows: 0,
                    bad_rate: f64::NAN,
                    woe: 0.0,
                    points: f.other_points,
                    iv: f.iv,
                });
            }
        }
        out
    }

    /// Information value per feature, in training order.
    pub fn information_values(&self) -> Vec<(String, f64)> {
        self.features
            .iter()
            .map(|f| (f.name.clone(), f.iv))
            .collect()
    }

    /// Internal consistency of a loaded card against the encoder's column names.
    pub fn check(&self, names: &[&str]) -> bool {
        let finite = |v: f64| v.is_finite();
        let bin_ok =
            |b: &CardBin| b.bad <= b.rows && finite(b.woe) && finite(b.iv) && finite(b.points);
        self.features.len() == names.len()
            && finite(self.intercept)
            && finite(self.factor)
            && finite(self.offset)
            && self.features.iter().zip(names).all(|(f, name)| {
                let shape = match &f.kind {
                    BinKind::Numeric { edges, fill } => {
                        finite(*fill)
                            && edges.iter().all(|e| e.is_finite())
                            && edges.windows(2).all(|w| w[0] < w[1])
                            && (f.bins.is_empty() || f.bins.len() == edges.len() + 1)
                            && (!f.bins.is_empty() || edges.is_empty())
                    }
                    BinKind::Categorical { categories } => {
                        categories.windows(2).all(|w| w[0] < w[1])
                            && f.bins.len() == categories.len()
                    }
                };
                f.name == *name
                    && shape
                    && finite(f.coef)
                    && finite(f.iv)
                    && finite(f.other_points)
                    && f.bins.iter().chain(&f.null_bin).all(bin_ok)
            })
    }
}

/// A feature's bins (labels only; counts come later) and each training row's slot.
fn bin_feature(col: &Column, q: usize) -> Result<(CardFeature, Vec<Slot>)> {
    let strings = col.iter().any(|v| matches!(v, Some(FeatureRef::Str(_))));
    let (kind, bins, slots) = if strings {
        let mut categories: Vec<String> = col
            .iter()
            .filter_map(|v| match v {
                Some(FeatureRef::Str(s)) => Some(s.to_string()),
                _ => None,
            })
            .collect();
        categories.sort_unstable();
        categories.dedup();
        let slots = col
            .iter()
            .enumerate()
            .map(|(r, v)| match v {
                Some(FeatureRef::Str(s)) => Ok(Slot::Bin(
                    categories
                        .binary_search_by(|c| c.as_str().cmp(s))
                        .unwrap_or(0),
                )),
                None => Ok(Slot::Null),
                Some(FeatureRef::Num(_)) => Err(ModelError::InvalidData(format!(
                    "column '{}' mixes strings and numbers (row {} is a number); cast it to one type",
                    col.name,
                    r + 1
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let bins = categories.iter().map(|c| empty_bin(c.clone())).collect();
        (BinKind::Categorical { categories }, bins, slots)
    } else {
        let mut sorted: Vec<f64> = col
            .iter()
            .filter_map(|v| match v {
                Some(FeatureRef::Num(x)) if x.is_finite() => Some(x),
                _ => None,
            })
            .collect();
        sorted.sort_by(f64::total_cmp);
        let fill = if sorted.is_empty() {
            0.0
        } else {
            sorted.iter().sum::<f64>() / sorted.len() as f64
        };
        let (edges, bins) = if sorted.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let all = quantile_edges(&sorted, q);
            let bins = interval_labels(&all).into_iter().map(empty_bin).collect();
            let inner = if all.len() > 2 {
                all[1..all.len() - 1].to_vec()
            } else {
                Vec::new()
            };
            (inner, bins)
        };
        let slots = col
            .iter()
            .map(|v| match v {
                Some(FeatureRef::Num(x)) if x.is_finite() => {
                    Slot::Bin(edges.partition_point(|e| *e < x))
                }
                _ => Slot::Null,
            })
            .collect();
        (BinKind::Numeric { edges, fill }, bins, slots)
    };
    Ok((
        CardFeature {
            name: col.name.clone(),
            kind,
            bins,
            null_bin: None,
            coef: 0.0,
            iv: 0.0,
            other_points: 0.0,
        },
        slots,
    ))
}

fn empty_bin(label: String) -> CardBin {
    CardBin {
        label,
        rows: 0,
        bad: 0,
        woe: 0.0,
        iv: 0.0,
        points: 0.0,
    }
}

/// Mean cross-entropy of the bad class + l2/2·‖w‖² (intercept unpenalized), parameters
/// `[w_1..w_m, b]`; writes the gradient.
fn woe_logistic_loss(x: &[f64], bad: &[bool], m: usize, l2: f64, p: &[f64], g: &mut [f64]) -> f64 {
    let n = bad.len() as f64;
    let (w, b) = (&p[..m], p[m]);
    g.iter_mut().for_each(|v| *v = 0.0);
    let mut loss = 0.0;
    for (r, is_bad) in bad.iter().enumerate() {
        let row = &x[r * m..(r + 1) * m];
        let z = dot(row, w) + b;
        let t = if *is_bad { 1.0 } else { 0.0 };
        loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - t * z;
        let e = sigmoid(z) - t;
        g[..m]
            .iter_mut()
            .zip(row)
            .for_each(|(gi, xi)| *gi += e * xi);
        g[m] += e;
    }
    g.iter_mut().for_each(|v| *v /= n);
    g[..m].iter_mut().zip(w).for_each(|(gi, wi)| *gi += l2 * wi);
    loss / n + 0.5 * l2 * dot(w, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_edges_follow_numpy() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        // numpy.quantile(range(1, 11), [0, .25, .5, .75, 1]) = 1, 3.25, 5.5, 7.75, 10
        assert_eq!(quantile_edges(&v, 4), vec![1.0, 3.25, 5.5, 7.75, 10.0]);
        // duplicates dropped
        assert_eq!(
            quantile_edges(&[0.0, 0.0, 0.0, 0.0, 1.0], 4),
            vec![0.0, 1.0]
        );
        assert_eq!(quantile_edges(&[2.0], 5), vec![2.0]);
    }

    #[test]
    fn labels_look_like_pandas() {
        assert_eq!(
            interval_labels(&[21.0, 38.0, 47.0]),
            vec!["(20.999, 38.0]", "(38.0, 47.0]"]
        );
        assert_eq!(
            interval_labels(&[0.0, 0.019_123, 0.086_71]),
            vec!["(-0.001, 0.0191]", "(0.0191, 0.0867]"]
        );
        assert_eq!(interval_labels(&[5.0]), vec!["(4.999, 5.0]"]);
    }

    #[test]
    fn ks_of_separated_and_mixed_scores() {
        assert_eq!(
            ks_statistic(&[false, false, true, true], &[0.1, 0.2, 0.8, 0.9]),
            Some(1.0)
        );
        assert_eq!(ks_statistic(&[true, false], &[0.5, 0.5]), Some(0.0));
        assert_eq!(ks_statistic(&[true, true], &[0.1, 0.2]), None);
    }
}
