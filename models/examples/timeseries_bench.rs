//! The energy tutorial's time-series cells without a database: the hourly series of
//! `client/data/sqlflow-tutorial/popularize_energy.sql`, scaled to [0, 1] and cut into
//! windows as the tutorial's SQL does (13 lags and the value; train = windows 0..1537,
//! validation = 1537.., test = 1976..), then `sqlflow_models.RNNBasedTimeSeriesModel`
//! with the tutorial's attributes (or those given). Prints the training time, the test
//! MAE / MSE of the 4 forecasts in the scaled unit, and a "repeat the last value"
//! baseline. `bench/timeseries_baseline.py` prints the peers' numbers on the same windows.
//!
//! Usage: `cargo run --release -p sqlflow-models --example timeseries_bench -- \
//!   [--epochs N] [--units 500,500] [--type lstm] [--batch 10] [--windows FILE.csv]`
//! (`--windows` also writes the windows for the Python script).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: a panic is a failed run

use std::time::Instant;

use sqlflow_models::{AttrValue, Attrs, Column, Prediction, TrainOptions, train_with};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../client/data/sqlflow-tutorial/popularize_energy.sql"
);

fn series() -> Vec<f64> {
    let text = std::fs::read_to_string(DATA).expect("the energy data");
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("(\""))
        .map(|l| {
            let row = l.trim_end_matches([',', ';']).trim_end_matches(')');
            row.rsplit(',').next().unwrap().trim().parse().unwrap()
        })
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    values.iter().map(|v| (v - lo) / (hi - lo)).collect()
}

/// (features, label) of windows `range`: col_1..col_10, then col_11..13 and the value.
/// MariaDB stores the lag columns as FLOAT (the tutorial's ALTER), hence f32.
fn windows(s: &[f64], range: std::ops::Range<usize>) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in range {
        let w: Vec<f64> = s[i..i + 14].iter().map(|v| f64::from(*v as f32)).collect();
        xs.push(w[..10].to_vec());
        ys.push(w[10..].to_vec());
    }
    (xs, ys)
}

fn columns(xs: &[Vec<f64>]) -> Vec<Column> {
    (0..10)
        .map(|j| Column::numeric(format!("col_{}", j + 1), xs.iter().map(|r| r[j])))
        .collect()
}

fn label(ys: &[Vec<f64>]) -> Column {
    Column::strings(
        "class",
        ys.iter().map(|r| {
            r.iter()
                .map(|v| (*v as f32).to_string())
                .collect::<Vec<_>>()
                .join(",")
        }),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let epochs: i64 = arg("--epochs").map_or(30, |v| v.parse().unwrap());
    let batch: i64 = arg("--batch").map_or(10, |v| v.parse().unwrap());
    let units: Vec<AttrValue> = arg("--units")
        .unwrap_or_else(|| "500,500".into())
        .split(',')
        .map(|u| AttrValue::Int(u.parse().unwrap()))
        .collect();
    let kind = arg("--type").unwrap_or_else(|| "lstm".into());
    let s = series();
    let n = s.len() - 13;
    assert_eq!(n, 2196);
    let (tx, ty) = windows(&s, 0..1537);
    let (vx, vy) = windows(&s, 1537..n);
    let (ex, ey) = windows(&s, 1976..n);
    if let Some(path) = arg("--windows") {
        let mut out = String::from("split,x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,y1,y2,y3,y4\n");
        for (name, xs, ys) in [("train", &tx, &ty), ("val", &vx, &vy), ("test", &ex, &ey)] {
            for (x, y) in xs.iter().zip(ys.iter()) {
                let cells: Vec<String> = x.iter().chain(y).map(|v| v.to_string()).collect();
                out.push_str(&format!("{name},{}\n", cells.join(",")));
            }
        }
        std::fs::write(&path, out).unwrap();
    }
    let mut attrs = Attrs::new();
    for (k, v) in [
        ("model.n_in", AttrValue::Int(10)),
        ("model.stack_units", AttrValue::List(units)),
        ("model.n_out", AttrValue::Int(4)),
        ("model.model_type", AttrValue::Str(kind.clone())),
        ("train.batch_size", AttrValue::Int(batch)),
        ("train.epoch", AttrValue::Int(epochs)),
    ] {
        attrs.insert(k.to_string(), v);
    }
    let (vcols, vlabel) = (columns(&vx), label(&vy));
    let options = TrainOptions {
        validation: Some((&vcols, &vlabel)),
        metrics: vec!["MeanAbsoluteError".into(), "MeanSquaredError".into()],
        ..TrainOptions::default()
    };
    let started = Instant::now();
    let model = train_with(
        "sqlflow_models.RNNBasedTimeSeriesModel",
        &attrs,
        &columns(&tx),
        Some(&label(&ty)),
        &options,
        &mut |line| println!("{line}"),
    )
    .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let pred = model.predict(&columns(&ex)).unwrap();
    let (mut mae, mut mse, mut naive) = (0.0, 0.0, 0.0);
    for ((p, y), x) in pred.iter().zip(&ey).zip(&ex) {
        let Prediction::Values(p) = p else {
            panic!("{p:?}")
        };
        for (a, b) in p.iter().zip(y) {
            mae += (a - b).abs();
            mse += (a - b) * (a - b);
            naive += (x[9] - b).abs();
        }
    }
    let count = (ey.len() * 4) as f64;
    println!(
        "{kind} {:?} batch {batch}, {epochs} epochs: trained in {secs:.1} s; test MAE {:.4}, \
         MSE {:.5}; repeat-last-value MAE {:.4} ({} test windows)",
        arg("--units").unwrap_or_else(|| "500,500".into()),
        mae / count,
        mse / count,
        naive / count,
        ey.len()
    );
}
