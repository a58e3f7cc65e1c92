//! `sqlflow_models.ARIMAWithSTLDecomposition` through the crate's public interface:
//! STL against statsmodels' numbers (`models/testdata/arima_stl.json`, written by
//! `models/bench/arima_baseline.py --stl-fixture`), ARIMA recovering a simulated
//! ARMA(2,1), the synthetic fund series forecast better than the seasonal-naive
//! forecast, PREDICT / EVALUATE by date, byte-identical models, and the attribute and
//! data errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_models::arima::{fit_arima, stl};
use sqlflow_models::{AttrValue, Attrs, Column, Prediction, TrainedModel, train};

const ARIMA: &str = "sqlflow_models.ARIMAWithSTLDecomposition";

mod fund;

use fund::{TEST_DAYS, TRAIN_DAYS, date, mape, seasonal_naive};

fn fund(which: &str) -> Vec<f64> {
    fund::series(which)
}

/// Normal-ish noise for the ARMA simulation (SplitMix64, four uniforms summed).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        let mut s = 0.0;
        for _ in 0..4 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            s += (z >> 11) as f64 / (1u64 << 53) as f64;
        }
        (s - 2.0) * 3f64.sqrt()
    }
}

fn attrs(pairs: &[(&str, AttrValue)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn ints(v: &[i64]) -> AttrValue {
    AttrValue::List(v.iter().map(|i| AttrValue::Int(*i)).collect())
}

fn text(s: &str) -> AttrValue {
    AttrValue::Str(s.to_string())
}

/// SQLFlow's end-to-end statement's attributes.
fn sqlflow_attrs() -> Attrs {
    attrs(&[
        ("model.order", ints(&[7, 0, 2])),
        ("model.period", ints(&[7, 30])),
        ("model.date_format", text("%Y-%m-%d")),
        ("model.forecast_start", text("2014-09-01")),
        ("model.forecast_end", text("2014-09-30")),
    ])
}

/// The training rows, shuffled a little (the model sorts by date).
fn training(which: &str) -> (Vec<Column>, Column) {
    let y = fund(which);
    let mut order: Vec<usize> = (0..TRAIN_DAYS).collect();
    order.reverse();
    order.swap(3, 40);
    let dates = Column::strings("time", order.iter().map(|&t| date(t)));
    let values = Column::numeric(which, order.iter().map(|&t| y[t]));
    (vec![dates], values)
}

fn september() -> Vec<Column> {
    vec![Column::strings(
        "time",
        (TRAIN_DAYS..TRAIN_DAYS + TEST_DAYS).map(date),
    )]
}

fn train_ok(which: &str, a: &Attrs) -> (TrainedModel, Vec<String>) {
    let (features, label) = training(which);
    let mut lines = Vec::new();
    let model = train(ARIMA, a, &features, Some(&label), None, &mut |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    (model, lines)
}

fn train_err(features: &[Column], label: &Column, a: &Attrs) -> String {
    train(ARIMA, a, features, Some(label), None, &mut |_| {})
        .unwrap_err()
        .to_string()
}

#[test]
fn stl_matches_statsmodels() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/arima_stl.json"
    ))
    .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let y: Vec<f64> = serde_json::from_value(fixture["y"].clone()).unwrap();
    let periods = fixture["periods"].as_object().unwrap();
    assert_eq!(periods.len(), 3);
    for (period, want) in periods {
        let d = stl(&y, period.parse().unwrap()).unwrap();
        for part in ["seasonal", "trend"] {
            let want: Vec<f64> = serde_json::from_value(want[part].clone()).unwrap();
            let got = if part == "seasonal" {
                &d.seasonal
            } else {
                &d.trend
            };
            assert_eq!(got.len(), want.len());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            eprintln!(
                "STL period {period} {part}: largest difference from statsmodels {worst:.1e}"
            );
            assert!(worst < 1e-6, "period {period} {part}: off by {worst}");
        }
    }
    assert!(stl(&y, 1).unwrap_err().to_string().contains("model.period"));
    assert!(stl(&y[..13], 7).is_err());
}

#[test]
fn arima_recovers_an_arma_2_1() {
    let (phi, theta, mu) = ([0.6, -0.3], 0.4, 2.0);
    let mut rng = Noise(7);
    let n = 4000;
    let (mut y, mut e) = (vec![mu; 2], vec![0.0; 2]);
    for t in 2..n + 200 {
        let et = rng.next();
        let v = mu + phi[0] * (y[t - 1] - mu) + phi[1] * (y[t - 2] - mu) + et + theta * e[t - 1];
        y.push(v);
        e.push(et);
    }
    let y = &y[200..];
    let fit = fit_arima(y, [2, 0, 1]).unwrap();
    assert!((fit.ar[0] - phi[0]).abs() < 0.06, "{:?}", fit.ar);
    assert!((fit.ar[1] - phi[1]).abs() < 0.06, "{:?}", fit.ar);
    assert!((fit.ma[0] - theta).abs() < 0.06, "{:?}", fit.ma);
    assert!((fit.constant - mu).abs() < 0.1, "{}", fit.constant);
    assert!((fit.sigma2 - 1.0).abs() < 0.1, "{}", fit.sigma2);
    // The forecast tends to the mean.
    let f = fit.forecast(200);
    assert!((f[199] - fit.constant).abs() < 1e-6);
    // A random walk with drift, differenced once.
    let walk: Vec<f64> = (0..300)
        .scan(0.0, |s, _| {
            *s += 0.5 + rng.next();
            Some(*s)
        })
        .collect();
    let fit = fit_arima(&walk, [0, 1, 0]).unwrap();
    assert!((fit.constant - 0.5).abs() < 0.2, "{}", fit.constant);
    let f = fit.forecast(2);
    assert!((f[0] - walk[299] - fit.constant).abs() < 1e-9);
    assert!(fit_arima(&walk[..10], [7, 0, 2]).is_err());
}

#[test]
fn fund_forecast_beats_seasonal_naive() {
    for which in ["purchase", "redeem"] {
        let y = fund(which);
        let (model, lines) = train_ok(which, &sqlflow_attrs());
        for want in [
            "STL period 7",
            "STL period 30",
            "iteration",
            "sigma2",
            "forecast 2014-09-01 to 2014-09-30",
        ] {
            assert!(lines.iter().any(|l| l.contains(want)), "{want}: {lines:?}");
        }
        if which == "purchase" {
            eprintln!("{}", lines.join("\n"));
        }
        let table = model.forecast_table().unwrap();
        assert_eq!(table.len(), TEST_DAYS);
        assert_eq!(table[0].0, "2014-09-01");
        assert_eq!(table[29].0, "2014-09-30");
        let forecast: Vec<f64> = table.iter().map(|r| r.1).collect();
        let actual = &y[TRAIN_DAYS..];
        let naive = seasonal_naive(&y);
        let (ours, base) = (mape(actual, &forecast), mape(actual, &naive));
        eprintln!("{which}: MAPE ours {ours:.4}, seasonal naive {base:.4}");
        assert!(ours < 0.9 * base, "{which}: ours {ours} vs naive {base}");

        // PREDICT by date gives the table's values, in the rows' order.
        let mut rows = september();
        let mut reversed = rows[0].to_features();
        reversed.reverse();
        rows[0] = Column::new(rows[0].name.clone(), reversed);
        let predicted = model.predict(&rows).unwrap();
        for (i, p) in predicted.iter().enumerate() {
            let Prediction::Value(v) = p else {
                panic!("{p:?}")
            };
            assert_eq!(*v, forecast[TEST_DAYS - 1 - i]);
        }
        // EVALUATE: MAE, MSE, MAPE by default.
        let label = Column::numeric(which, actual.iter().copied());
        let m = model.evaluate(&september(), &label, &[]).unwrap();
        let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["MAE", "MSE", "MAPE"]);
        assert!((m[2].1 - ours).abs() < 1e-12);
        let r2 = model.evaluate(&september(), &label, &["R2"]).unwrap();
        assert!(r2[0].1.is_finite());

        // The same data gives the same bytes; loading predicts bit for bit.
        let bytes = model.to_bytes().unwrap();
        assert_eq!(
            bytes,
            train_ok(which, &sqlflow_attrs()).0.to_bytes().unwrap()
        );
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 7);
        let loaded = TrainedModel::from_bytes(&bytes).unwrap();
        assert_eq!(
            loaded.predict(&september()).unwrap(),
            predicted.into_iter().rev().collect::<Vec<_>>()
        );
        assert_eq!(
            loaded.attributes()["model.forecast_end"],
            text("2014-09-30")
        );
    }
}

#[test]
fn defaults_and_predict_range() {
    let (model, _) = train_ok("purchase", &Attrs::new());
    let a = model.attributes();
    assert_eq!(a["model.order"], ints(&[7, 0, 2]));
    assert_eq!(a["model.period"], ints(&[7]));
    assert_eq!(a["model.date_format"], text("%Y-%m-%d"));
    // Without forecast dates: the day after the data, for one (the longest) period.
    assert_eq!(a["model.forecast_start"], text("2014-09-01"));
    assert_eq!(a["model.forecast_end"], text("2014-09-07"));
    assert_eq!(model.forecast_table().unwrap().len(), 7);
    // A date inside the training data, or off the daily grid, is an error naming the row.
    let inside = vec![Column::strings("time", ["2014-09-02", "2014-08-15"])];
    let err = model.predict(&inside).unwrap_err().to_string();
    assert!(err.contains("row 2") && err.contains("2014-08-31"), "{err}");
    let far = vec![Column::strings("time", ["2300-01-01"])];
    assert!(
        model
            .predict(&far)
            .unwrap_err()
            .to_string()
            .contains("at most")
    );
    let missing = vec![Column::strings("day", ["2014-09-02"])];
    assert!(
        model
            .predict(&missing)
            .unwrap_err()
            .to_string()
            .contains("time")
    );
    // Dates in a numeric column, read with a format of digits only.
    let y = fund("redeem");
    let numeric = Column::numeric(
        "time",
        (0..TRAIN_DAYS).map(|t| date(t).replace('-', "").parse::<f64>().unwrap()),
    );
    let label = Column::numeric("redeem", y[..TRAIN_DAYS].iter().copied());
    let m = train(
        ARIMA,
        &attrs(&[
            ("model.date_format", text("%Y%m%d")),
            ("model.order", ints(&[1, 1, 1])),
        ]),
        &[numeric],
        Some(&label),
        None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(m.forecast_table().unwrap()[0].0, "20140901");
}

#[test]
fn errors_name_the_attribute_or_row() {
    let (features, label) = training("purchase");
    let with = |k: &str, v: AttrValue| {
        let mut a = sqlflow_attrs();
        a.insert(k.to_string(), v);
        a
    };
    let cases = [
        (with("model.order", ints(&[7, 0])), "model.order"),
        (with("model.order", ints(&[-1, 0, 2])), "model.order"),
        (with("model.order", ints(&[60, 0, 60])), "needs at least"),
        (with("model.period", ints(&[1])), "model.period"),
        (with("model.period", ints(&[7, 80])), "half the series"),
        (
            with("model.date_format", text("%Y-%q")),
            "model.date_format",
        ),
        (
            with("model.forecast_end", text("2014-08-30")),
            "model.forecast_end",
        ),
        (
            with("model.forecast_start", text("2014-08-15")),
            "model.forecast_start",
        ),
        (
            with("model.forecast_start", text("Sept 1")),
            "model.forecast_start",
        ),
        (with("model.colour", text("red")), "unknown attribute"),
    ];
    for (a, want) in cases {
        let err = train_err(&features, &label, &a);
        assert!(err.contains(want), "{want}: {err}");
    }
    // The attribute checks run before any data is read as well.
    let err = sqlflow_models::validate_attributes(ARIMA, &with("model.order", ints(&[1, 3, 1])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("model.order"), "{err}");

    let mut bad = features.clone();
    let mut dates = bad[0].to_features();
    dates[5] = Some(sqlflow_models::Feature::Str("2014/05/01".into()));
    bad[0] = Column::new(bad[0].name.clone(), dates);
    let err = train_err(&bad, &label, &sqlflow_attrs());
    assert!(err.contains("row 6") && err.contains("%Y-%m-%d"), "{err}");
    let mut dup = features.clone();
    let mut dates = dup[0].to_features();
    dates[5] = dates[6].clone();
    dup[0] = Column::new(dup[0].name.clone(), dates);
    let err = train_err(&dup, &label, &sqlflow_attrs());
    assert!(err.contains("appears twice"), "{err}");
    let gappy: Vec<Column> = vec![Column::strings(
        "time",
        (0..TRAIN_DAYS).filter(|t| *t != 50).map(date),
    )];
    let short = Column::numeric("purchase", (0..TRAIN_DAYS - 1).map(|t| t as f64));
    let err = train_err(&gappy, &short, &sqlflow_attrs());
    assert!(err.contains("evenly spaced"), "{err}");
    let two = vec![Column::strings("time", ["2014-04-01", "2014-04-02"])];
    let err = train_err(&two, &Column::numeric("v", [1.0, 2.0]), &Attrs::new());
    assert!(err.contains("at least 3 rows"), "{err}");
    let extra = vec![
        features[0].clone(),
        Column::numeric("other", (0..TRAIN_DAYS).map(|t| t as f64)),
    ];
    let err = train_err(&extra, &label, &sqlflow_attrs());
    assert!(err.contains("other"), "{err}");
}
