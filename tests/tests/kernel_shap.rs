//! `TO EXPLAIN ... USING KernelExplainer` / `DeepExplainer` end to end through the server:
//! the model-agnostic SHAP estimate for DNNs, wide-and-deep and linear models gives what
//! TreeExplainer gives for trees — the mean |SHAP| table, per-row values `INTO` a table
//! (a `class` column for classifiers) that add up with the expected value to the model's
//! output, the summary figure with `summary.*` — plus `explainer.nsamples` /
//! `explainer.seed` and errors. SQLite always; MariaDB and PostgreSQL when
//! SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::{
    results::{Db, Kind, number, shap_expected_value},
    sqlflow::Figure,
};

fn png(f: &Figure) {
    assert_eq!(f.mime_type, "image/png");
    assert!(f.data.starts_with(b"\x89PNG"), "not a PNG");
}

const FEATURES: &str = "crim, zn, indus, chas, nox, rm, age, dis, rad, tax, ptratio, b, lstat";

async fn regressors(db: &Db) {
    let p = &db.p;
    for (est, model, attrs) in [
        (
            "DNNRegressor",
            "dnn",
            "model.hidden_units = [8, 4], train.epoch = 20",
        ),
        (
            "DNNLinearCombinedRegressor",
            "wide",
            "model.hidden_units = [8, 4], train.epoch = 20",
        ),
        ("LinearRegressor", "lin", "train.epoch = 20"),
    ] {
        db.ok_with_figures(&format!(
            "SELECT * FROM {p}boston.train TO TRAIN {est} WITH {attrs}
COLUMN {FEATURES} LABEL medv INTO {p}boston.{model};"
        ))
        .await;
        // The table: mean |SHAP| per feature, largest first; the dot summary figure.
        let (out, figs) = db
            .ok_with_figures(&format!(
                "SELECT * FROM {p}boston.test TO EXPLAIN {p}boston.{model}
WITH summary.plot_type=\"dot\", summary.alpha=1 USING KernelExplainer;"
            ))
            .await;
        let t = out.table();
        assert_eq!(t.columns, ["feature", "importance"]);
        assert_eq!(t.rows.len(), 13);
        let imp = t.nums("importance");
        assert!(imp.windows(2).all(|w| w[0] >= w[1]), "{t:?}");
        assert!(imp.iter().all(|v| *v >= 0.0) && imp[0] > 0.0, "{t:?}");
        assert!(
            out.has("KernelExplainer: mean |SHAP value|"),
            "{:#?}",
            out.messages
        );
        assert!(
            out.has("summary.alpha has no effect"),
            "{:#?}",
            out.messages
        );
        let mean = shap_expected_value(&out);
        assert!((5.0..40.0).contains(&mean), "{est}: expected value {mean}");
        assert_eq!(figs.len(), 1);
        png(&figs[0]);

        // Per-row values INTO a table; with the expected value they give the prediction.
        // The background is the explained rows, so explain all test rows and compare one.
        let (out, figs) = db.ok_with_figures(&format!(
                "SELECT * FROM {p}boston.test TO EXPLAIN {p}boston.{model}
WITH explainer.seed = 3, shap_summary.plot_type=bar USING DeepExplainer INTO {p}boston.{model}_shap;"
            ),
        )
        .await;
        assert!(out.has("with DeepExplainer"), "{:#?}", out.messages);
        assert_eq!(figs.len(), 1);
        let mean = shap_expected_value(&out);
        let (rows, _) = db
            .ok_with_figures(&format!("SELECT * FROM {p}boston.{model}_shap"))
            .await;
        let t = rows.table();
        let names: Vec<String> = t.columns.iter().map(|c| c.to_ascii_lowercase()).collect();
        assert_eq!(names.join(", "), FEATURES);
        let (n, _) = db
            .ok_with_figures(&format!("SELECT COUNT(*) AS n FROM {p}boston.test"))
            .await;
        assert_eq!(t.rows.len() as f64, n.table().num(0, "n"));
        db.ok_with_figures(&format!(
                "SELECT * FROM {p}boston.test TO PREDICT {p}boston.{model}_pred.medv USING {p}boston.{model};"
            ),
        )
        .await;
        let (pred, _) = db
            .ok_with_figures(&format!("SELECT medv FROM {p}boston.{model}_pred"))
            .await;
        let predicted = pred.table().nums("medv");
        // Row order of a table without a key is not promised: compare the sorted totals.
        let mut totals: Vec<f64> = t
            .rows
            .iter()
            .map(|r| r.iter().map(number).sum::<f64>() + mean)
            .collect();
        let mut predicted = predicted.clone();
        totals.sort_by(f64::total_cmp);
        predicted.sort_by(f64::total_cmp);
        for (a, b) in totals.iter().zip(&predicted) {
            assert!(
                (a - b).abs() < 1e-4,
                "{est}: SHAP total {a}, prediction {b}"
            );
        }
    }
}

async fn classifier(db: &Db) {
    let p = &db.p;
    db.ok_with_figures(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 10], train.epoch = 20 LABEL class INTO {p}iris.dnn;"
        ),
    )
    .await;
    let (out, figs) = db.ok_with_figures(&format!(
            "SELECT * FROM {p}iris.test TO EXPLAIN {p}iris.dnn WITH explainer.nsamples = 500 USING DeepExplainer;"
        ),
    )
    .await;
    let t = out.table();
    assert_eq!(t.rows.len(), 4);
    // Multi-output: stacked bars, as shap draws it.
    assert_eq!(figs.len(), 1);
    png(&figs[0]);
    db.ok_with_figures(&format!(
        "SELECT * FROM {p}iris.test TO EXPLAIN {p}iris.dnn USING KernelExplainer INTO {p}iris.shap;"
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
    // Probabilities add to 1 and so do the expected values: each feature's values over
    // the classes add to 0, so all of them do.
    let total: f64 = t.rows.iter().flat_map(|r| r[1..].iter().map(number)).sum();
    assert!(total.abs() < 1e-6, "{total}");
}

async fn errors(db: &Db) {
    let p = &db.p;
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.test TO EXPLAIN {p}iris.dnn WITH explainer.nsamples = 0 USING KernelExplainer;"
        ))
        .await;
    assert!(m.contains("positive integer"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}boston.train TO EXPLAIN {p}boston.dnn WITH explainer.nsamples = 10000000 USING KernelExplainer;"
        ))
        .await;
    assert!(m.contains("fewer rows"), "{m}");
    db.ok_with_figures(&format!(
        "SELECT * FROM {p}iris.train TO TRAIN DecisionTreeClassifier LABEL class INTO {p}iris.tree;"
    ))
    .await;
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.test TO EXPLAIN {p}iris.tree USING KernelExplainer;"
        ))
        .await;
    assert!(m.contains("TreeExplainer"), "{m}");
}

async fn all(kind: Kind) {
    if let Some(db) = Db::open(kind, "kernel_shap", "k", &["iris", "boston"]) {
        regressors(&db).await;
        classifier(&db).await;
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
