//! `TO EXPLAIN ... USING TreeExplainer` end to end through the server: exact Tree SHAP on
//! boosted trees and forests, the mean |SHAP| table, per-row SHAP values `INTO` a table
//! (one column per feature, as SQLFlow wrote them; a `class` column for classifiers),
//! which add up with the expected value to the model's prediction; SQLFlow's `summary.*`
//! / `shap_summary.*` attributes and the summary figure; errors. SQLite always; MariaDB
//! and PostgreSQL when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::{
    results::{Db, Kind, number, shap_expected_value},
    sqlflow::Figure,
};

fn png(f: &Figure) {
    assert_eq!(f.mime_type, "image/png");
    // To look at them: SHAP_FIGURES=<dir>.
    if let Ok(dir) = std::env::var("SHAP_FIGURES") {
        let n = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        std::fs::write(format!("{dir}/{n}.png"), &f.data).unwrap();
    }
    let reader = png::Decoder::new(std::io::Cursor::new(&f.data[..]))
        .read_info()
        .expect("PNG header");
    let info = reader.info();
    assert_eq!((info.width, info.height), (800, 500));
}

const FEATURES: &str = "crim, zn, indus, chas, nox, rm, age, dis, rad, tax, ptratio, b, lstat";

async fn boosted_trees(db: &Db) {
    let p = &db.p;
    db.ok_with_figures(&format!(
        "SELECT * FROM {p}boston.train TO TRAIN xgboost.gbtree
WITH objective=\"reg:squarederror\", train.num_boost_round = 30
COLUMN {FEATURES} LABEL medv INTO {p}boston.xgb;"
    ))
    .await;
    // The table: mean |SHAP| per feature, largest first; the dot summary figure.
    let (out, figs) = db
        .ok_with_figures(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.xgb
WITH summary.plot_type=\"dot\", summary.alpha=1, summary.sort=True USING TreeExplainer;"
        ))
        .await;
    let t = out.table();
    assert_eq!(t.columns, ["feature", "importance"]);
    assert_eq!(t.rows.len(), 13);
    let imp = t.nums("importance");
    assert!(imp.windows(2).all(|w| w[0] >= w[1]), "{t:?}");
    assert!(imp.iter().all(|v| *v >= 0.0));
    let mut top: Vec<String> = (0..2).map(|r| t.text(r, "feature")).collect();
    top.sort();
    assert_eq!(top, ["lstat", "rm"], "{t:?}");
    assert!(
        out.has("summary.alpha has no effect"),
        "{:#?}",
        out.messages
    );
    let mean = shap_expected_value(&out);
    assert!((15.0..30.0).contains(&mean), "expected value {mean}");
    assert_eq!(figs.len(), 1);
    assert!(figs[0].title.contains("importance"), "{}", figs[0].title);
    png(&figs[0]);

    // Bar, shap_summary.* spelling, max_display.
    let (out, figs) = db
        .ok_with_figures(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.xgb
WITH shap_summary.plot_type=bar, shap_summary.max_display=5 USING TreeExplainer;"
        ))
        .await;
    assert_eq!(out.table().rows.len(), 13);
    assert_eq!(figs.len(), 1);
    png(&figs[0]);

    // Per-row values INTO a table: one column per feature; with the expected value they
    // give the prediction.
    let one =
        format!("SELECT * FROM {p}boston.test WHERE crim = (SELECT MIN(crim) FROM {p}boston.test)");
    let (out, _) = db
        .ok_with_figures(&format!(
            "{one} TO EXPLAIN {p}boston.xgb USING TreeExplainer INTO {p}boston.shap_one;"
        ))
        .await;
    let mean_one = shap_expected_value(&out);
    assert!((mean_one - mean).abs() < 1e-9, "{mean_one} vs {mean}");
    let (rows, _) = db
        .ok_with_figures(&format!("SELECT * FROM {p}boston.shap_one"))
        .await;
    let t = rows.table();
    let names: Vec<String> = t.columns.iter().map(|c| c.to_ascii_lowercase()).collect();
    assert_eq!(names.join(", "), FEATURES);
    assert_eq!(t.rows.len(), 1);
    let total: f64 = t.rows[0].iter().map(number).sum::<f64>() + mean_one;
    db.ok_with_figures(&format!(
        "{one} TO PREDICT {p}boston.pred_one.medv USING {p}boston.xgb;"
    ))
    .await;
    let (pred, _) = db
        .ok_with_figures(&format!("SELECT medv FROM {p}boston.pred_one"))
        .await;
    let predicted = pred.table().num(0, "medv");
    assert!(
        (total - predicted).abs() < 1e-4,
        "SHAP values + expected value = {total}, prediction {predicted}"
    );

    // All rows: as many as the SELECT gave.
    db.ok_with_figures(&format!(
        "SELECT * FROM {p}boston.test TO EXPLAIN {p}boston.xgb USING TreeExplainer INTO {p}boston.shap_all;"
    ))
    .await;
    let (n, _) = db
        .ok_with_figures(&format!("SELECT COUNT(*) AS n FROM {p}boston.shap_all"))
        .await;
    let (m, _) = db
        .ok_with_figures(&format!("SELECT COUNT(*) AS n FROM {p}boston.test"))
        .await;
    assert_eq!(n.table().num(0, "n"), m.table().num(0, "n"));
}

async fn forest_classifier(db: &Db) {
    let p = &db.p;
    db.ok_with_figures(&format!(
        "SELECT * FROM {p}iris.train TO TRAIN RandomForestClassifier
WITH model.n_estimators = 10 LABEL class INTO {p}iris.rf;"
    ))
    .await;
    let (out, figs) = db
        .ok_with_figures(&format!(
            "SELECT * FROM {p}iris.test TO EXPLAIN {p}iris.rf USING TreeExplainer;"
        ))
        .await;
    let t = out.table();
    assert_eq!(t.rows.len(), 4);
    let top = t.text(0, "feature");
    assert!(top.starts_with("petal"), "{t:?}");
    // Multi-output: stacked bars, as shap draws it.
    assert_eq!(figs.len(), 1);
    png(&figs[0]);
    db.ok_with_figures(&format!(
        "SELECT * FROM {p}iris.test TO EXPLAIN {p}iris.rf USING TreeExplainer INTO {p}iris.shap;"
    ))
    .await;
    let (rows, _) = db
        .ok_with_figures(&format!("SELECT * FROM {p}iris.shap"))
        .await;
    let t = rows.table();
    assert_eq!(t.columns.len(), 5, "{:?}", t.columns);
    assert!(t.columns[0].eq_ignore_ascii_case("class"));
    let (n, _) = db
        .ok_with_figures(&format!("SELECT COUNT(*) AS n FROM {p}iris.test"))
        .await;
    assert_eq!(t.rows.len() as f64, 3.0 * n.table().num(0, "n"));
}

async fn errors(db: &Db) {
    let p = &db.p;
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.xgb WITH summary.plot_type=\"pie\" USING TreeExplainer;"
        ))
        .await;
    assert!(m.contains("bar, dot or violin"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.xgb WITH summary.max_display=0 USING TreeExplainer;"
        ))
        .await;
    assert!(m.contains("positive integer"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.xgb WITH plots=force USING TreeExplainer;"
        ))
        .await;
    assert!(m.contains("summary.plot_type"), "{m}");
    db.ok_with_figures(&format!(
        "SELECT * FROM {p}boston.train TO TRAIN xgboost.gblinear
WITH objective=\"reg:squarederror\" LABEL medv INTO {p}boston.lin;"
    ))
    .await;
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.lin USING TreeExplainer;"
        ))
        .await;
    assert!(m.contains("gblinear"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.lin USING KernelExplainer;"
        ))
        .await;
    assert!(m.contains("KernelExplainer"), "{m}");
}

async fn all(kind: Kind) {
    if let Some(db) = Db::open(kind, "shap", "x", &["iris", "boston"]) {
        boosted_trees(&db).await;
        forest_classifier(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_sqlite() {
    all(Kind::Sqlite).await;
}

#[tokio::test]
async fn on_mariadb() {
    all(Kind::MariaDb).await;
}

#[tokio::test]
async fn on_postgresql() {
    all(Kind::Postgres).await;
}
