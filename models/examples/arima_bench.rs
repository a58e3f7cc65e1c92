//! Our side of `models/bench/arima_baseline.py`: sqlflow_models.ARIMAWithSTLDecomposition
//! with SQLFlow's end-to-end attributes (order [7, 0, 2], periods [7, 30], September
//! forecast) on the synthetic fund series, timed, its forecast measured against
//! September. One JSON line per series; the Python script prints them beside
//! statsmodels'.
//!
//! `cargo run --release -p sqlflow-models --example arima_bench`

use std::time::Instant;

use sqlflow_models::{AttrValue, Attrs, Column, train};

#[path = "../tests/fund/mod.rs"]
#[allow(dead_code)] // shared with the tests, which use all of it
mod fund;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let list = |v: &[i64]| AttrValue::List(v.iter().map(|i| AttrValue::Int(*i)).collect());
    let attrs: Attrs = [
        ("model.order", list(&[7, 0, 2])),
        ("model.period", list(&[7, 30])),
        ("model.date_format", AttrValue::Str("%Y-%m-%d".into())),
        ("model.forecast_start", AttrValue::Str("2014-09-01".into())),
        ("model.forecast_end", AttrValue::Str("2014-09-30".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for which in ["purchase", "redeem"] {
        let y = fund::series(which);
        let dates = Column::strings("time", (0..fund::TRAIN_DAYS).map(fund::date));
        let values = Column::numeric(which, y[..fund::TRAIN_DAYS].iter().copied());
        let started = Instant::now();
        let model = train(
            "sqlflow_models.ARIMAWithSTLDecomposition",
            &attrs,
            &[dates],
            Some(&values),
            None,
            &mut |_| {},
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let forecast: Vec<f64> = model
            .forecast_table()
            .unwrap_or_default()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let actual = &y[fund::TRAIN_DAYS..];
        let mae = actual
            .iter()
            .zip(&forecast)
            .map(|(a, f)| (a - f).abs())
            .sum::<f64>()
            / actual.len() as f64;
        let line = serde_json::json!({
            "series": which,
            "seconds": seconds,
            "mae": mae,
            "mape": fund::mape(actual, &forecast),
            "forecast": forecast,
        });
        println!("{line}");
    }
    Ok(())
}
