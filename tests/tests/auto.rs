//! `sqlflow_models.AutoClassifier` / `AutoRegressor` end to end, through the server on
//! the iris and boston tutorials' tables: TRAIN logs one line per trial and the winner,
//! the stored model is the winner's (PREDICT, EVALUATE, EXPLAIN as for its family),
//! SHOW TRAIN names both estimators and lists the trials, `validation.select` replaces
//! the split, and mistakes are errors naming the attribute. SQLite always; MariaDB and
//! PostgreSQL when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::results::{Db, Kind};

const IRIS_COLUMNS: &str = "sepal_length, sepal_width, petal_length, petal_width";

async fn classifier(db: &Db) {
    let p = &db.p;
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN sqlflow_models.AutoClassifier WITH
  model.n_classes = 3, train.epoch = 10, model.max_trials = 6
COLUMN {IRIS_COLUMNS} LABEL class INTO sqlflow_models.{p}auto;"
        ))
        .await;
    assert!(out.has("DNN candidates"), "{:#?}", out.messages);
    let trials: Vec<&String> = out
        .messages
        .iter()
        .filter(|m| m.starts_with("trial "))
        .collect();
    assert_eq!(trials.len(), 6, "{:#?}", out.messages);
    assert!(
        trials[1].starts_with(
            "trial 2/6: xgboost.XGBClassifier max_depth=3 eta=0.3 num_boost_round=50 → validate accuracy "
        ),
        "{trials:#?}"
    );
    let best = out.line("best: trial ");
    eprintln!("{:?}: {best}", db.kind);

    let shown = db.ok(&format!("SHOW TRAIN sqlflow_models.{p}auto;")).await;
    assert_eq!(shown.tables.len(), 2, "{:#?}", shown.tables);
    let estimator = shown.tables[0].text(0, "Estimator");
    assert!(
        estimator.starts_with("sqlflow_models.AutoClassifier → "),
        "{estimator}"
    );
    let t = &shown.tables[1];
    assert_eq!(t.rows.len(), 6);
    let winners: Vec<usize> = (0..6)
        .filter(|&r| t.text(r, "result") == "winner")
        .collect();
    assert_eq!(winners.len(), 1, "{t:?}");
    let winner = t.text(winners[0], "estimator");
    assert!(estimator.ends_with(&winner), "{estimator} / {winner}");
    let scores = t.nums("validation_accuracy");
    assert!(
        scores.iter().all(|s| *s <= scores[winners[0]]),
        "{scores:?}"
    );

    let eval = db
        .ok(&format!(
            "SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}auto
WITH validation.metrics = \"Accuracy\" LABEL class INTO {p}iris.auto_eval;
SELECT * FROM {p}iris.auto_eval;"
        ))
        .await;
    let acc = eval.tables.last().unwrap().metric("Accuracy");
    eprintln!(
        "{:?}: AutoClassifier ({winner}) accuracy on iris.test {acc}",
        db.kind
    );
    assert!(acc >= 0.9, "{acc}");
    let predicted = db
        .ok(&format!(
            "SELECT * FROM {p}iris.test TO PREDICT {p}iris.auto_pred.class USING sqlflow_models.{p}auto;
SELECT class FROM {p}iris.auto_pred;"
        ))
        .await;
    let classes = predicted.tables.last().unwrap().nums("class");
    assert_eq!(classes.len(), 10);
    assert!(classes.iter().all(|c| [0.0, 1.0, 2.0].contains(c)));
    db.ok(&format!(
        "SELECT * FROM {p}iris.test TO EXPLAIN sqlflow_models.{p}auto;"
    ))
    .await;
}

async fn regressor(db: &Db) {
    let p = &db.p;
    // Held-out rows given: the candidates train on all training rows, no refit.
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}boston.train WHERE tax % 5 <> 0 TO TRAIN sqlflow_models.AutoRegressor
WITH model.max_trials = 5,
  validation.select = \"SELECT * FROM {p}boston.train WHERE tax % 5 = 0\"
LABEL medv INTO sqlflow_models.{p}autor;"
        ))
        .await;
    assert!(
        out.has("ranked by validation r2 on validation.select (48 rows)"),
        "{:#?}",
        out.messages
    );
    let best = out.line("best: trial ").to_string();
    assert!(!best.contains("on all rows"), "{best}");
    let shown = db.ok(&format!("SHOW TRAIN sqlflow_models.{p}autor;")).await;
    let estimator = shown.tables[0].text(0, "Estimator");
    assert!(
        estimator.starts_with("sqlflow_models.AutoRegressor → "),
        "{estimator}"
    );
    assert_eq!(shown.tables[1].rows.len(), 5);
    let eval = db
        .ok(&format!(
            "SELECT * FROM {p}boston.train WHERE tax % 5 = 0 TO EVALUATE sqlflow_models.{p}autor
WITH validation.metrics = \"R2\" LABEL medv INTO {p}boston.autor_eval;
SELECT * FROM {p}boston.autor_eval;"
        ))
        .await;
    let r2 = eval.tables.last().unwrap().metric("R2");
    eprintln!(
        "{:?}: AutoRegressor ({estimator}) R2 on held-out towns {r2}; {best}",
        db.kind
    );
    assert!(r2 > 0.7, "{r2}");
}

async fn errors(db: &Db) {
    let p = &db.p;
    let train = |with: &str| {
        format!(
            "SELECT * FROM {p}iris.train TO TRAIN sqlflow_models.AutoClassifier WITH {with}
LABEL class INTO sqlflow_models.{p}bad;"
        )
    };
    let msg = db.fails(&train("model.max_trials = 0")).await;
    assert!(msg.contains("'model.max_trials'"), "{msg}");
    let msg = db.fails(&train("model.metric = \"r2\"")).await;
    assert!(msg.contains("'model.metric'"), "{msg}");
    let msg = db.fails(&train("model.n_classes = 2")).await;
    assert!(msg.contains("model.n_classes = 3"), "{msg}");
    let msg = db
        .fails(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN sqlflow_models.AutoClassifier
INTO sqlflow_models.{p}bad;"
        ))
        .await;
    assert!(msg.contains("add LABEL"), "{msg}");
}

#[tokio::test]
async fn on_sqlite() {
    if let Some(db) = Db::open(Kind::Sqlite, "auto", "a", &["iris", "boston"]) {
        classifier(&db).await;
        regressor(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_mariadb() {
    if let Some(db) = Db::open(Kind::MariaDb, "auto", "a", &["iris", "boston"]) {
        classifier(&db).await;
        regressor(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_postgresql() {
    if let Some(db) = Db::open(Kind::Postgres, "auto", "a", &["iris", "boston"]) {
        classifier(&db).await;
        regressor(&db).await;
        errors(&db).await;
    }
}
