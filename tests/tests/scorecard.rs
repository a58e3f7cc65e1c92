//! `sqlflow_models.ScoreCard` end to end, through the server on the "give me some credit"
//! rows of `sqlflow demo-data scorecard`: TRAIN prints the card (as SQLFlow's model did)
//! and validates with AUC and KS, PREDICT writes the class, the score and the probability,
//! EVALUATE reports KS, EXPLAIN and SHOW TRAIN give the card, and mistakes are errors
//! naming the attribute or the data. SQLite always; MariaDB and PostgreSQL when
//! SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::{
    results::{Db, Kind, Table, number},
    sqlflow::cell::Value,
};

const CARD_COLUMNS: [&str; 7] = ["feature", "bin", "rows", "bad_rate", "woe", "points", "iv"];

/// The card's rows of one feature.
fn feature_rows<'a>(card: &'a Table, feature: &str) -> Vec<&'a Vec<Option<Value>>> {
    let f = card.col("feature");
    card.rows
        .iter()
        .filter(|r| matches!(&r[f], Some(Value::String(s)) if s == feature))
        .collect()
}

async fn scorecard(db: &Db) {
    let p = &db.p;
    // Train on four fifths of the rows by age, validate on the rest.
    let train = format!("SELECT * FROM {p}scorecard.train WHERE age % 5 <> 0");
    let held_out = format!("SELECT * FROM {p}scorecard.train WHERE age % 5 = 0");
    let n_train = db
        .ok(&format!(
            "SELECT COUNT(*) AS n FROM {p}scorecard.train WHERE age % 5 <> 0"
        ))
        .await
        .table()
        .num(0, "n");
    let out = db
        .ok(&format!(
            "{train}
TO TRAIN sqlflow_models.ScoreCard
WITH validation.select = \"{held_out}\"
LABEL serious_dlqin2yrs
INTO {p}scorecard.my_card;"
        ))
        .await;
    // The card, as SQLFlow's model printed it.
    assert!(out.has("TARGET SCORE: 600"), "{:#?}", out.messages);
    assert!(
        out.messages.iter().any(|m| m.starts_with("age (")),
        "{:#?}",
        out.messages
    );
    assert!(out.has("age: 5 bins, IV "), "{:#?}", out.messages);
    assert!(out.has("L-BFGS stopped after"), "{:#?}", out.messages);
    let validation = out.line("validation: ");
    assert!(
        validation.contains("AUC=") && validation.contains("KS="),
        "{validation}"
    );

    // PREDICT: the class, the score and the probability of "bad".
    db.ok(&format!(
        "{held_out} TO PREDICT {p}scorecard.predict.serious_dlqin2yrs USING {p}scorecard.my_card;"
    ))
    .await;
    let predicted = db.ok(&format!("SELECT * FROM {p}scorecard.predict")).await;
    let t = predicted.table();
    let n_held = 2000 - n_train as usize;
    assert_eq!(t.rows.len(), n_held);
    assert_eq!(t.columns.len(), 13, "{:?}", t.columns);
    let (scores, proba, class) = (
        t.nums("score"),
        t.nums("probability"),
        t.nums("serious_dlqin2yrs"),
    );
    let factor = 20.0 / 2f64.ln();
    let offset = 600.0 - factor * 20f64.ln();
    for ((s, p), c) in scores.iter().zip(&proba).zip(&class) {
        assert!(*p > 0.0 && *p < 1.0 && s.fract() == 0.0, "{s} {p}");
        assert_eq!(*c, if *p >= 0.5 { 1.0 } else { 0.0 });
        // The score is offset − factor·ln(odds of bad), within the card's rounding.
        let exact = offset - factor * (p / (1.0 - p)).ln();
        assert!((s - exact).abs() <= 5.0, "score {s} vs {exact}");
    }

    // EVALUATE: KS beside AUC by default.
    let eval = db
        .ok(&format!(
            "{held_out} TO EVALUATE {p}scorecard.my_card LABEL serious_dlqin2yrs INTO {p}scorecard.eval;
SELECT * FROM {p}scorecard.eval;"
        ))
        .await;
    let e = eval.table();
    let (auc, ks) = (e.metric("AUC"), e.metric("KS"));
    eprintln!("ScoreCard on {p}scorecard.train, held out by age % 5 = 0: AUC {auc:.4}, KS {ks:.4}");
    assert!(auc > 0.75 && ks > 0.35, "AUC {auc}, KS {ks}");

    // EXPLAIN: the card (and INTO a table), SHOW TRAIN: the model, then its card.
    let explained = db
        .ok(&format!("{train} TO EXPLAIN {p}scorecard.my_card;"))
        .await;
    let card = explained.table();
    check_card_rows(card, n_train);
    db.ok(&format!(
        "{train} TO EXPLAIN {p}scorecard.my_card INTO {p}scorecard.card;"
    ))
    .await;
    let stored = db.ok(&format!("SELECT * FROM {p}scorecard.card")).await;
    assert_eq!(stored.table().rows.len(), card.rows.len());
    let shown = db.ok(&format!("SHOW TRAIN {p}scorecard.my_card;")).await;
    assert_eq!(shown.tables.len(), 2, "{:#?}", shown.tables);
    assert_eq!(
        shown.tables[0].text(0, "Estimator"),
        "sqlflow_models.ScoreCard"
    );
    assert_eq!(shown.tables[1].rows.len(), card.rows.len());
    check_card_rows(&shown.tables[1], n_train);
}

fn check_card_rows(card: &Table, n_train: f64) {
    let columns: Vec<String> = card
        .columns
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    assert_eq!(columns, CARD_COLUMNS, "{card:?}");
    let age = feature_rows(card, "age");
    assert_eq!(age.len(), 5, "{card:?}");
    let rows = card.col("rows");
    let in_age: f64 = age.iter().map(|r| number(&r[rows])).sum();
    assert_eq!(in_age, n_train, "age's bins hold every training row");
    let features: std::collections::BTreeSet<String> = (0..card.rows.len())
        .map(|i| card.text(i, "feature"))
        .collect();
    assert_eq!(features.len(), 10, "{features:?}");
    assert!(card.nums("woe").iter().all(|w| w.is_finite()));
    assert!(card.nums("points").iter().all(|p| p.fract() == 0.0));
}

async fn errors(db: &Db) {
    let p = &db.p;
    let msg = db
        .fails(&format!(
            "SELECT * FROM {p}scorecard.train TO TRAIN sqlflow_models.ScoreCard
WITH model.pf_bin_size = 0 LABEL serious_dlqin2yrs INTO {p}scorecard.bad;"
        ))
        .await;
    assert!(
        msg.contains("attribute 'model.pf_bin_size' of sqlflow_models.ScoreCard: expected an integer in [1, 1000], got 0"),
        "{msg}"
    );
    let msg = db
        .fails(&format!(
            "SELECT * FROM {p}scorecard.train TO TRAIN sqlflow_models.ScoreCard
WITH model.bins = 3 LABEL serious_dlqin2yrs INTO {p}scorecard.bad;"
        ))
        .await;
    assert!(msg.contains("model.pf_bin_size (default 5)"), "{msg}");
    let msg = db
        .fails(&format!(
            "SELECT * FROM {p}scorecard.train WHERE serious_dlqin2yrs = 0
TO TRAIN sqlflow_models.ScoreCard LABEL serious_dlqin2yrs INTO {p}scorecard.bad;"
        ))
        .await;
    assert!(msg.contains("has 1 distinct value"), "{msg}");
    let msg = db
        .fails(&format!(
            "SELECT * FROM {p}scorecard.train TO TRAIN sqlflow_models.ScoreCard
LABEL serious_dlqin2yrs USING {p}scorecard.my_card INTO {p}scorecard.bad;"
        ))
        .await;
    assert!(msg.contains("cannot continue training"), "{msg}");
}

#[tokio::test]
async fn on_sqlite() {
    if let Some(db) = Db::open(Kind::Sqlite, "scorecard", "s", &["scorecard"]) {
        scorecard(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_mariadb() {
    if let Some(db) = Db::open(Kind::MariaDb, "scorecard", "s", &["scorecard"]) {
        scorecard(&db).await;
        errors(&db).await;
    }
}

#[tokio::test]
async fn on_postgresql() {
    if let Some(db) = Db::open(Kind::Postgres, "scorecard", "s", &["scorecard"]) {
        scorecard(&db).await;
        errors(&db).await;
    }
}
