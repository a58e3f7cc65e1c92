//! `sqlflow_models.RNNBasedTimeSeriesModel` end to end on a small synthetic series: each
//! row a window of 6 past values, its label the next 2 as one comma-separated string (as
//! SQLFlow's tutorial builds it with `concat`). TRAIN logs an epoch line with the
//! validation metrics, PREDICT writes the 2 forecasts comma-joined into the column named,
//! and they beat repeating the last value; EVALUATE reports the metrics asked for; bad
//! labels and shapes are errors naming the row or the attribute. SQLite always; MariaDB
//! and PostgreSQL when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::results::{Db, Kind, number};

const N_IN: usize = 6;
const N_OUT: usize = 2;
const ROWS: usize = 160;
const TRAIN_ROWS: usize = 120;

/// A seasonal series in [0, 1] with a little deterministic noise.
fn series() -> Vec<f64> {
    (0..ROWS + N_IN + N_OUT)
        .map(|i| {
            let noise = ((i * 7919) % 17) as f64 / 17.0 - 0.5;
            0.5 + 0.35 * (i as f64 * 0.45).sin() + 0.03 * noise
        })
        .collect()
}

fn columns() -> String {
    (1..=N_IN)
        .map(|i| format!("x{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `{p}ts`: id, x1..x6, target ("a,b"), and `part` (train / test).
fn create(p: &str) -> String {
    let s = series();
    let xs: Vec<String> = (1..=N_IN).map(|i| format!("x{i} FLOAT")).collect();
    let mut sql = format!(
        "CREATE TABLE {p}ts (id INT, {}, target VARCHAR(100), part VARCHAR(10));\n",
        xs.join(", ")
    );
    let rows: Vec<String> = (0..ROWS)
        .map(|r| {
            let x: Vec<String> = s[r..r + N_IN].iter().map(|v| format!("{v:.6}")).collect();
            let y: Vec<String> = s[r + N_IN..r + N_IN + N_OUT]
                .iter()
                .map(|v| format!("{v:.6}"))
                .collect();
            let part = if r < TRAIN_ROWS { "train" } else { "test" };
            format!("({r}, {}, '{}', '{part}')", x.join(", "), y.join(","))
        })
        .collect();
    sql.push_str(&format!("INSERT INTO {p}ts VALUES {};", rows.join(", ")));
    sql
}

fn train_sql(p: &str, extra: &str, into: &str) -> String {
    format!(
        "SELECT {}, target FROM {p}ts WHERE part = 'train'
TO TRAIN sqlflow_models.RNNBasedTimeSeriesModel
WITH model.n_in = {N_IN}, model.n_out = {N_OUT}, model.stack_units = [16, 8],
  model.model_type = \"lstm\", train.epoch = 30, train.batch_size = 8,
  optimizer.learning_rate = 0.01, train.verbose = 1,
  validation.select = \"SELECT {}, target FROM {p}ts WHERE part = 'test'\",
  validation.metrics = \"MeanAbsoluteError,MeanSquaredError\"{extra}
LABEL target
INTO {p}{into};",
        columns(),
        columns()
    )
}

async fn forecast(db: &Db) {
    let p = &db.p;
    db.ok(&create(p)).await;
    let out = db.ok(&train_sql(p, "", "rnn")).await;
    let first = out.line("epoch 1/30: loss ");
    assert!(
        first.contains("validate MeanAbsoluteError") && first.contains("validate MeanSquaredError"),
        "{first}"
    );
    out.line("epoch 30/30: loss ");
    assert!(out.has("note: train.verbose"), "{:#?}", out.messages);

    // PREDICT: the label's column replaced by the two forecasts, "a,b".
    db.ok(&format!(
        "SELECT id, {}, target FROM {p}ts WHERE part = 'test'
TO PREDICT {p}forecast.target USING {p}rnn;",
        columns()
    ))
    .await;
    let got = db
        .ok(&format!(
            "SELECT f.id, f.target, t.target AS truth, t.x{N_IN} AS last
FROM {p}forecast f JOIN {p}ts t ON f.id = t.id ORDER BY f.id"
        ))
        .await;
    let t = got.table();
    assert_eq!(t.rows.len(), ROWS - TRAIN_ROWS);
    let (mut mae, mut naive) = (0.0, 0.0);
    for r in 0..t.rows.len() {
        let pred: Vec<f64> = t
            .text(r, "target")
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let truth: Vec<f64> = t
            .text(r, "truth")
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(pred.len(), N_OUT, "{}", t.text(r, "target"));
        let last = number(&t.rows[r][t.col("last")]);
        for (a, b) in pred.iter().zip(&truth) {
            mae += (a - b).abs();
            naive += (last - b).abs();
        }
    }
    let count = (t.rows.len() * N_OUT) as f64;
    let (mae, naive) = (mae / count, naive / count);
    eprintln!(
        "{:?}: RNN forecast MAE {mae:.4}, repeat-last-value {naive:.4}",
        db.kind
    );
    assert!(mae < 0.6 * naive, "MAE {mae} against naive {naive}");

    // EVALUATE: every forecast against its label value.
    let eval = db
        .ok(&format!(
            "SELECT {}, target FROM {p}ts WHERE part = 'test'
TO EVALUATE {p}rnn WITH validation.metrics = \"MeanAbsoluteError,MeanSquaredError\"
LABEL target INTO {p}rnn_eval;
SELECT * FROM {p}rnn_eval;",
            columns()
        ))
        .await;
    let e = eval.tables.last().unwrap();
    let evaluated = e.metric("MeanAbsoluteError");
    // The stored model predicts what PREDICT wrote (which rounds to f32's text).
    assert!((evaluated - mae).abs() < 1e-4, "{evaluated} {mae}");
    assert!(e.metric("MeanSquaredError") < evaluated);

    let shown = db.ok(&format!("SHOW TRAIN {p}rnn;")).await;
    assert_eq!(
        shown.tables[0].text(0, "Estimator"),
        "sqlflow_models.RNNBasedTimeSeriesModel"
    );
}

async fn errors(db: &Db) {
    let p = &db.p;
    // A label value that is not a number, and one with the wrong count: the row says which.
    db.ok(&format!(
        "CREATE TABLE {p}bad AS SELECT * FROM {p}ts WHERE part = 'train';
UPDATE {p}bad SET target = '0.5,abc' WHERE id = 3;"
    ))
    .await;
    let msg = db
        .fails(&train_sql(p, "", "rnn_bad").replace(
            &format!("{p}ts WHERE part = 'train'"),
            &format!("{p}bad ORDER BY id"),
        ))
        .await;
    assert!(
        msg.contains("label column 'target' at row 4")
            && msg.contains("'abc' is not a finite number"),
        "{msg}"
    );
    let msg = db
        .fails(
            &train_sql(p, "", "rnn_bad")
                .replace(&format!("model.n_out = {N_OUT}"), "model.n_out = 3"),
        )
        .await;
    assert!(
        msg.contains("holds 2 value(s) at row 1") && msg.contains("model.n_out = 3"),
        "{msg}"
    );
    // The window must match the feature columns: n_in × n_features.
    let msg = db
        .fails(&train_sql(p, ", model.n_features = 2", "rnn_bad"))
        .await;
    assert!(
        msg.contains("'model.n_in'") && msg.contains("number of feature columns (6)"),
        "{msg}"
    );
    let msg = db
        .fails(&train_sql(p, "", "rnn_bad").replace("\"lstm\"", "\"transformer\""))
        .await;
    assert!(
        msg.contains("'model.model_type'") && msg.contains("one of rnn, lstm, gru"),
        "{msg}"
    );
    let msg = db
        .fails(
            &train_sql(p, "", "rnn_bad")
                .replace(&format!("model.n_out = {N_OUT}"), "model.n_out = 0"),
        )
        .await;
    assert!(msg.contains("'model.n_out'"), "{msg}");
}

#[tokio::test]
async fn on_sqlite() {
    if let Some(db) = Db::open(Kind::Sqlite, "RNN time series", "r", &[]) {
        forecast(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_mariadb() {
    if let Some(db) = Db::open(Kind::MariaDb, "RNN time series", "r", &[]) {
        forecast(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_postgresql() {
    if let Some(db) = Db::open(Kind::Postgres, "RNN time series", "r", &[]) {
        forecast(&db).await;
        errors(&db).await;
    }
}
