//! `sqlflow_models.ARIMAWithSTLDecomposition` end to end: SQLFlow's own test statements
//! (`fund.train` → `fund.purchase_model` / `fund.redeem_model`) on a synthetic stand-in
//! for Tianchi's daily purchase and redeem totals (`models/tests/fund`: trend, weekly
//! and 30-day cycles, AR(1) noise; `time` a 'YYYY-MM-DD' string column). TRAIN shows the
//! forecast table SQLFlow's model printed (time, prediction; 2014-09-01..30); PREDICT
//! writes the forecast of each row's date, checked against `fund.test` (September):
//! MAPE well under the seasonal-naive forecast's; EVALUATE reports MAE, MSE and MAPE;
//! SHOW TRAIN the attributes; bad attributes and dates are errors naming them. The Argo
//! dry run compiles the TRAIN statement into a step. SQLite always; MariaDB and
//! PostgreSQL when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::results::{Db, Kind, number};

#[path = "../../models/tests/fund/mod.rs"]
mod fund;

use fund::{TEST_DAYS, TRAIN_DAYS, date, mape, seasonal_naive};

/// SQLFlow's end-to-end statement (its `TestEnd2EndMySQL`'s ARIMA case), verbatim.
fn train_sql(label: &str) -> String {
    format!(
        "SELECT time, {label} FROM fund.train
TO TRAIN sqlflow_models.ARIMAWithSTLDecomposition
WITH model.order=[7, 0, 2], model.period=[7, 30], model.date_format=\"%Y-%m-%d\",
  model.forecast_start='2014-09-01', model.forecast_end='2014-09-30'
LABEL {label} INTO fund.{label}_model;"
    )
}

/// `fund.train` (April to August) and `fund.test` (September): time, purchase, redeem,
/// whole numbers as Tianchi's totals are.
async fn load(db: &Db) {
    let (purchase, redeem) = (fund::series("purchase"), fund::series("redeem"));
    let rows = |days: std::ops::Range<usize>| -> String {
        days.map(|t| {
            format!(
                "('{}', {}, {})",
                date(t),
                purchase[t].round(),
                redeem[t].round()
            )
        })
        .collect::<Vec<_>>()
        .join(",\n")
    };
    db.ok(&format!(
        "CREATE SCHEMA IF NOT EXISTS fund;
DROP TABLE IF EXISTS fund.train;
DROP TABLE IF EXISTS fund.test;
CREATE TABLE fund.train (time VARCHAR(10), purchase BIGINT, redeem BIGINT);
CREATE TABLE fund.test (time VARCHAR(10), purchase BIGINT, redeem BIGINT);
INSERT INTO fund.train VALUES\n{};
INSERT INTO fund.test VALUES\n{};",
        rows(0..TRAIN_DAYS),
        rows(TRAIN_DAYS..TRAIN_DAYS + TEST_DAYS)
    ))
    .await;
}

async fn forecast(db: &Db) {
    load(db).await;
    for label in ["purchase", "redeem"] {
        let y: Vec<f64> = fund::series(label).iter().map(|v| v.round()).collect();
        let actual = &y[TRAIN_DAYS..];
        let out = db.ok(&train_sql(label)).await;
        for line in ["STL period 7:", "STL period 30:", "ARIMA(7,0,2): "] {
            assert!(out.has(line), "{line}: {:#?}", out.messages);
        }
        assert!(out.has("sigma2"), "{:#?}", out.messages);
        // The table SQLFlow's model printed: time, prediction.
        let t = out.table();
        assert_eq!(t.columns, ["time", "prediction"]);
        assert_eq!(t.rows.len(), TEST_DAYS);
        assert_eq!(t.text(0, "time"), "2014-09-01");
        assert_eq!(t.text(TEST_DAYS - 1, "time"), "2014-09-30");
        let printed = t.nums("prediction");
        let (ours, naive) = (mape(actual, &printed), mape(actual, &seasonal_naive(&y)));
        eprintln!(
            "{:?} {label}: forecast MAPE {ours:.4}, seasonal naive {naive:.4}",
            db.kind
        );
        assert!(ours < 0.75 * naive, "{label}: {ours} against {naive}");

        // PREDICT: each September row's date gets its forecast.
        db.ok(&format!(
            "SELECT time FROM fund.test TO PREDICT fund.{label}_predict.{label} USING fund.{label}_model;"
        ))
        .await;
        let got = db
            .ok(&format!(
                "SELECT p.time, p.{label} AS forecast, t.{label} AS truth
FROM fund.{label}_predict p JOIN fund.test t ON p.time = t.time ORDER BY p.time"
            ))
            .await;
        let g = got.table();
        assert_eq!(g.rows.len(), TEST_DAYS);
        let (forecast, truth) = (g.nums("forecast"), g.nums("truth"));
        for (a, b) in forecast.iter().zip(&printed) {
            assert!((a - b).abs() <= 1e-6 * b.abs(), "{a} {b}");
        }
        let predicted = mape(&truth, &forecast);
        assert!((predicted - ours).abs() < 1e-9, "{predicted} {ours}");

        // EVALUATE: MAE, MSE and MAPE of the forecasts.
        let eval = db
            .ok(&format!(
                "SELECT time, {label} FROM fund.test
TO EVALUATE fund.{label}_model LABEL {label} INTO fund.{label}_eval;
SELECT * FROM fund.{label}_eval;"
            ))
            .await;
        let e = eval.tables.last().unwrap();
        // PostgreSQL folds the unquoted column names to lower case.
        let columns: Vec<String> = e.columns.iter().map(|c| c.to_uppercase()).collect();
        assert_eq!(columns, ["MAE", "MSE", "MAPE"]);
        assert!((e.metric("MAPE") - ours).abs() < 1e-9);
        let mae = actual
            .iter()
            .zip(&printed)
            .map(|(a, f)| (a - f).abs())
            .sum::<f64>()
            / TEST_DAYS as f64;
        assert!((e.metric("MAE") - mae).abs() <= 1e-6 * mae);
    }

    let shown = db.ok("SHOW TRAIN fund.purchase_model;").await;
    let s = &shown.tables[0];
    assert_eq!(
        s.text(0, "Estimator"),
        "sqlflow_models.ARIMAWithSTLDecomposition"
    );
    let attrs = s.text(0, "Attributes");
    for want in [
        "model.order = [7, 0, 2]",
        "model.period = [7, 30]",
        "model.forecast_start = \"2014-09-01\"",
        "model.forecast_end = \"2014-09-30\"",
        "model.date_format = \"%Y-%m-%d\"",
    ] {
        assert!(attrs.contains(want), "{want}: {attrs}");
    }
    assert_eq!(s.text(0, "Features"), "time");
    assert_eq!(number(&s.rows[0][s.col("Trained Rows")]), TRAIN_DAYS as f64);
}

async fn errors(db: &Db) {
    let purchase = train_sql("purchase");
    let bad = |from: &str, to: &str| {
        purchase
            .replace(from, to)
            .replace("purchase_model", "bad_model")
    };
    let cases = [
        (bad("[7, 0, 2]", "[7, 0]"), "'model.order'"),
        (bad("[7, 0, 2]", "[7, -1, 2]"), "'model.order'"),
        (bad("[7, 0, 2]", "[40, 0, 40]"), "'model.order'"),
        (bad("[7, 30]", "[1]"), "'model.period'"),
        (bad("[7, 30]", "[7, 100]"), "'model.period'"),
        (bad("'2014-09-30'", "'2014-08-30'"), "'model.forecast_end'"),
        (
            bad("'2014-09-01'", "'2014-08-01'"),
            "'model.forecast_start'",
        ),
        (
            bad("'2014-09-01'", "'01/09/2014'"),
            "'model.forecast_start'",
        ),
        (bad("\"%Y-%m-%d\"", "\"%Y-%b\""), "'model.date_format'"),
        (
            bad("\"%Y-%m-%d\"", "\"%d/%m/%Y\"")
                .replace("'2014-09-01'", "'01/09/2014'")
                .replace("'2014-09-30'", "'30/09/2014'"),
            "does not match model.date_format \"%d/%m/%Y\"",
        ),
        (
            bad("SELECT time, purchase", "SELECT time, redeem, purchase"),
            "select only the date and the value",
        ),
    ];
    for (sql, want) in cases {
        let msg = db.fails(&sql).await;
        assert!(msg.contains(want), "{want}: {msg}");
    }
    let msg = db
        .fails(&bad(
            "FROM fund.train",
            "FROM (SELECT * FROM fund.train WHERE time <> '2014-05-05') AS t",
        ))
        .await;
    assert!(msg.contains("not evenly spaced"), "{msg}");
    let msg = db
        .fails(&bad("FROM fund.train", "FROM (SELECT * FROM fund.train UNION ALL SELECT * FROM fund.train WHERE time = '2014-05-05') AS t"))
        .await;
    assert!(msg.contains("'2014-05-05' appears twice"), "{msg}");
    // PREDICT on dates the model does not forecast: the training days.
    let msg = db
        .fails("SELECT time FROM fund.train TO PREDICT fund.bad_predict.purchase USING fund.purchase_model;")
        .await;
    assert!(
        msg.contains("row 1") && msg.contains("after its last training date '2014-08-31'"),
        "{msg}"
    );
}

/// The Argo runner's dry run compiles the TRAIN statement into one step (the binary is
/// built by `cargo test --workspace` or `cargo build -p argo-runner`).
#[test]
fn argo_dry_run_accepts_the_statement() {
    let exe = sqlflow_e2e::profile_dir().join("sqlflow-argo-dryrun");
    if !exe.is_file() {
        eprintln!(
            "argo dry run skipped: {} is not built (cargo build -p argo-runner)",
            exe.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sqlflow.toml");
    std::fs::write(
        &cfg,
        "datasource = \"mysql://u:p@db/fund\"\n[runners.argo]\nstep_image = \"sqlflow/step:1\"\n",
    )
    .unwrap();
    let program = format!("{}\n{}", train_sql("purchase"), train_sql("redeem"));
    let out = std::process::Command::new(&exe)
        .args(["--config", cfg.to_str().unwrap(), "-e", &program])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("# step-1:") && text.contains("# step-2:"),
        "{text}"
    );
    assert!(text.contains("ARIMAWithSTLDecomposition"), "{text}");
}

#[tokio::test]
async fn on_sqlite() {
    if let Some(db) = Db::open(Kind::Sqlite, "ARIMA with STL", "a", &[]) {
        forecast(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_mariadb() {
    if let Some(db) = Db::open(Kind::MariaDb, "ARIMA with STL", "a", &[]) {
        forecast(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_postgresql() {
    if let Some(db) = Db::open(Kind::Postgres, "ARIMA with STL", "a", &[]) {
        forecast(&db).await;
        errors(&db).await;
    }
}
