//! `sqlflow_models.OneClassSVM` end to end, through the server on the fraud tutorial's
//! rows (`sqlflow demo-data creditcard`): TRAIN without LABEL logs the SMO solver,
//! PREDICT writes 1 (inlier) / -1 (outlier) in the column named and scikit-learn's
//! `decision_function` beside it, EVALUATE compares with a label of 1 / -1, the model
//! store round trip, and mistakes are errors saying why. scikit-learn 1.9.1's
//! `OneClassSVM()` on the same 29 columns (v1..v28, amount; 984 rows) gives 492
//! outliers and an AUC of 0.6521 for "not fraud" against the decision values
//! (`models/bench/one_class_svm_baseline.py` has the comparison on other columns).
//! SQLite always; MariaDB and PostgreSQL when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES
//! are set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::results::{Db, Kind};

fn features() -> String {
    let mut cols: Vec<String> = (1..=28).map(|i| format!("v{i}")).collect();
    cols.push("amount".into());
    cols.join(", ")
}

async fn one_class_svm(db: &Db) {
    let p = &db.p;
    let select = format!("SELECT {} FROM {p}creditcard.creditcard", features());
    let out = db
        .ok(&format!(
            "{select}
TO TRAIN sqlflow_models.OneClassSVM
WITH model.nu = 0.5, model.kernel = rbf, model.gamma = \"scale\"
INTO {p}creditcard.ocsvm;"
        ))
        .await;
    let start = out.line("sqlflow_models.OneClassSVM: 984 rows, 29 features, kernel rbf");
    assert!(start.contains("nu 0.5"), "{start}");
    let done = out.line("SMO converged");
    assert!(
        done.contains("support vectors") && done.contains("rho"),
        "{done}"
    );

    // PREDICT: the column named, 1 / -1, and the decision value (> 0 for inliers).
    db.ok(&format!(
        "SELECT class, {} FROM {p}creditcard.creditcard
TO PREDICT {p}creditcard.scored.is_inlier USING {p}creditcard.ocsvm;",
        features()
    ))
    .await;
    let scored = db
        .ok(&format!(
            "SELECT is_inlier, decision_function, class FROM {p}creditcard.scored"
        ))
        .await;
    let t = scored.table();
    assert_eq!(t.rows.len(), 984);
    let (inlier, decision) = (t.nums("is_inlier"), t.nums("decision_function"));
    for (i, d) in inlier.iter().zip(&decision) {
        assert_eq!(*i, if *d > 0.0 { 1.0 } else { -1.0 }, "{i} {d}");
    }
    let outliers = inlier.iter().filter(|v| **v == -1.0).count();
    // scikit-learn: 492 (MariaDB keeps the tutorial's FLOAT columns in single
    // precision, which may move a row on the margin).
    assert!(outliers.abs_diff(492) <= 5, "{outliers} outliers");

    // EVALUATE against "not fraud" as 1 / -1: AUC of the decision values.
    let eval = db
        .ok(&format!(
            "SELECT {}, CASE WHEN class = 0 THEN 1 ELSE -1 END AS normal
FROM {p}creditcard.creditcard
TO EVALUATE {p}creditcard.ocsvm WITH validation.metrics = \"Accuracy,AUC\"
LABEL normal INTO {p}creditcard.ocsvm_eval;
SELECT * FROM {p}creditcard.ocsvm_eval;",
            features()
        ))
        .await;
    let e = eval.tables.last().unwrap();
    let (accuracy, auc) = (e.metric("Accuracy"), e.metric("AUC"));
    eprintln!("OneClassSVM on {p}creditcard.creditcard: accuracy {accuracy:.4}, AUC {auc:.4}");
    assert!((auc - 0.6521).abs() < 0.01, "AUC {auc}");
    assert!((accuracy - 0.6159).abs() < 0.01, "accuracy {accuracy}");

    // SHOW TRAIN: the stored model.
    let shown = db.ok(&format!("SHOW TRAIN {p}creditcard.ocsvm;")).await;
    assert_eq!(
        shown.tables[0].text(0, "Estimator"),
        "sqlflow_models.OneClassSVM"
    );
}

async fn errors(db: &Db) {
    let p = &db.p;
    let select = format!("SELECT {} FROM {p}creditcard.creditcard", features());
    let msg = db
        .fails(&format!(
            "SELECT * FROM {p}creditcard.creditcard TO TRAIN sqlflow_models.OneClassSVM
LABEL class INTO {p}creditcard.bad;"
        ))
        .await;
    assert!(msg.contains("is unsupervised: remove LABEL"), "{msg}");
    let msg = db
        .fails(&format!(
            "{select} TO TRAIN sqlflow_models.OneClassSVM WITH model.nu = 0
INTO {p}creditcard.bad;"
        ))
        .await;
    assert!(
        msg.contains("'model.nu' of sqlflow_models.OneClassSVM: expected a number in (0, 1]"),
        "{msg}"
    );
    let msg = db
        .fails(&format!(
            "{select} TO TRAIN sqlflow_models.OneClassSVM WITH model.kernel = precomputed
INTO {p}creditcard.bad;"
        ))
        .await;
    assert!(msg.contains("one of rbf, linear, poly, sigmoid"), "{msg}");
    // PREDICT needs a column name (`TO PREDICT table.column`): there is no label to
    // name it after. (It fails before writing the table.)
    let msg = db
        .fails(&format!(
            "{select} TO PREDICT {p}ocsvm_unnamed USING {p}creditcard.ocsvm;"
        ))
        .await;
    assert!(
        msg.contains("has no label to name the result column"),
        "{msg}"
    );
    // EXPLAIN: no per-feature weights to explain; USING: no warm start.
    let msg = db
        .fails(&format!("{select} TO EXPLAIN {p}creditcard.ocsvm;"))
        .await;
    assert!(msg.contains("no per-feature weights"), "{msg}");
    let msg = db
        .fails(&format!(
            "{select} TO TRAIN sqlflow_models.OneClassSVM USING {p}creditcard.ocsvm
INTO {p}creditcard.bad;"
        ))
        .await;
    assert!(msg.contains("cannot continue training"), "{msg}");
    // EVALUATE against 0 / 1: says what the label must hold.
    let msg = db
        .fails(&format!(
            "SELECT * FROM {p}creditcard.creditcard TO EVALUATE {p}creditcard.ocsvm
LABEL class INTO {p}creditcard.bad;"
        ))
        .await;
    assert!(msg.contains("1 (inlier) / -1 (outlier)"), "{msg}");
}

#[tokio::test]
async fn on_sqlite() {
    if let Some(db) = Db::open(Kind::Sqlite, "one-class SVM", "o", &["creditcard"]) {
        one_class_svm(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_mariadb() {
    if let Some(db) = Db::open(Kind::MariaDb, "one-class SVM", "o", &["creditcard"]) {
        one_class_svm(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_postgresql() {
    if let Some(db) = Db::open(Kind::Postgres, "one-class SVM", "o", &["creditcard"]) {
        one_class_svm(&db).await;
        errors(&db).await;
    }
}
