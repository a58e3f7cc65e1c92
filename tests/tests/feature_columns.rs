//! Feature columns end to end, through the server, the local runner and the CLI, on
//! SQLite and (when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set) on MariaDB and
//! PostgreSQL: SQLFlow tutorial-style programs with `CATEGORY_ID`, `EMBEDDING`,
//! `INDICATOR`, `BUCKET` and `CATEGORY_HASH` on the churn data (DNN, boosting, wide and
//! deep), `SELECT *` derivation on creditcard, `DENSE` and key:value columns made with
//! SQL from iris, what SHOW TRAIN says, and PREDICT applying the stored transform.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::{
    output_ok,
    results::{Db, Kind, Table, tables},
    sqlflow::cell::Value,
};

/// What these tests add to [`Db`]: results as tables and the responses' debug text,
/// the EVALUATE statement they repeat, and dropping what a run made.
trait FeatureColumns {
    /// Runs `sql`, which must succeed: its result tables and its responses as text.
    async fn ok_tables(&self, sql: &str) -> (Vec<Table>, String);
    /// Accuracy of model `m` on `select`, written into `{p}{into}`.
    fn evaluate(&self, select: &str, m: &str, label: &str, into: &str) -> String;
    /// Drops the datasets' schemas and `models` (nothing on SQLite).
    async fn cleanup(&self, models: &[&str]);
}

impl FeatureColumns for Db {
    async fn ok_tables(&self, sql: &str) -> (Vec<Table>, String) {
        let r = self.succeeds(sql).await;
        (tables(&r), format!("{r:?}"))
    }

    fn evaluate(&self, select: &str, m: &str, label: &str, into: &str) -> String {
        let p = &self.p;
        format!(
            "{select} TO EVALUATE sqlflow_models.{p}{m} WITH validation.metrics = \"Accuracy\" \
             LABEL {label} INTO {p}{into};\nSELECT * FROM {p}{into};\n"
        )
    }

    async fn cleanup(&self, models: &[&str]) {
        if self.kind == Kind::Sqlite {
            return;
        }
        let p = &self.p;
        let (drop, cascade) = match self.kind {
            Kind::MariaDb => ("DROP DATABASE IF EXISTS", ""),
            _ => ("DROP SCHEMA IF EXISTS", " CASCADE"),
        };
        let mut program = String::new();
        for s in ["iris", "churn", "creditcard"] {
            program.push_str(&format!("{drop} {p}{s}{cascade};\n"));
        }
        for m in models {
            program.push_str(&format!("DROP TABLE IF EXISTS sqlflow_models.{p}{m};\n"));
        }
        let _ = self.run(&program).await;
    }
}

/// The COLUMN clause of SQLFlow's churn examples: ids, strings, buckets and an embedding.
const CHURN_COLUMNS: &str = "SeniorCitizen, BUCKET(tenure, [6, 12, 24, 48]), MonthlyCharges,
       INDICATOR(CATEGORY_ID(Contract, 3)), EMBEDDING(CATEGORY_ID(PaymentMethod, 4), 2, mean),
       INDICATOR(InternetService), EMBEDDING(gender, 2), CATEGORY_HASH(PaperlessBilling, 8)";

/// Churn (SQLFlow's 82 training rows, 62 of them "No") on a DNN, boosting and wide and
/// deep. The 10 test rows hold one "Yes", so they are used for predictions, and the fit
/// is judged on the training rows: well above the 0.76 of always answering "No".
async fn churn(db: &Db) {
    let p = &db.p;
    let train = format!("SELECT * FROM {p}churn.train ORDER BY customerID");
    let mut program = format!(
        "{train} TO TRAIN DNNClassifier
WITH model.n_classes = 2, model.hidden_units = [16], train.epoch = 100, optimizer.learning_rate = 0.1
COLUMN {CHURN_COLUMNS}
LABEL Churn INTO sqlflow_models.{p}churn_dnn;
{train} TO TRAIN xgboost.gbtree
WITH objective = \"binary:logistic\", num_boost_round = 20, max_depth = 2, eta = 0.3
COLUMN {CHURN_COLUMNS}
LABEL Churn INTO sqlflow_models.{p}churn_xgb;
{train} TO TRAIN DNNLinearCombinedClassifier
WITH model.n_classes = 2, model.dnn_hidden_units = [8], train.epoch = 100
COLUMN INDICATOR(CATEGORY_ID(Contract, 3)), INDICATOR(InternetService), SeniorCitizen FOR linear_feature_columns
COLUMN EMBEDDING(CATEGORY_ID(PaymentMethod, 4), 2, sqrtn), BUCKET(tenure, [6, 12, 24, 48]), MonthlyCharges FOR dnn_feature_columns
LABEL Churn INTO sqlflow_models.{p}churn_wd;
"
    );
    for m in ["churn_dnn", "churn_xgb", "churn_wd"] {
        program.push_str(&db.evaluate(&train, m, "Churn", &format!("churn.fit_{m}")));
    }
    program.push_str(&format!(
        "SELECT * FROM {p}churn.test TO PREDICT {p}churn.predicted.Churn USING sqlflow_models.{p}churn_dnn;
SELECT Churn FROM {p}churn.predicted;
SHOW TRAIN sqlflow_models.{p}churn_dnn;
SHOW TRAIN sqlflow_models.{p}churn_wd;"
    ));
    let (t, log) = db.ok_tables(&program).await;
    assert_eq!(t.len(), 6, "{:?}", db.kind);
    for (table, (m, min)) in
        t.iter()
            .zip([("DNN", 0.85), ("xgboost", 0.85), ("wide and deep", 0.85)])
    {
        let acc = table.metric("Accuracy");
        assert!(
            acc >= min,
            "{:?}: {m} fits churn with accuracy {acc}",
            db.kind
        );
    }
    let predicted: Vec<String> = t[3]
        .column("Churn")
        .iter()
        .map(|v| match v {
            Some(Value::String(s)) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(predicted.len(), 10);
    assert!(
        predicted.iter().all(|c| c == "Yes" || c == "No"),
        "{predicted:?}"
    );
    // SHOW TRAIN names the feature columns, derived values filled in.
    let shown = t[4].text(0, "Feature Columns");
    assert_eq!(
        shown.to_ascii_lowercase(),
        "numeric(seniorcitizen), bucket(tenure, [6, 12, 24, 48]), numeric(monthlycharges), \
         indicator(category_id(contract, 3)), embedding(category_id(paymentmethod, 4), 2, mean), \
         indicator(category_id(internetservice, 3)), embedding(category_id(gender, 2), 2, sum), \
         category_hash(paperlessbilling, 8)",
        "{:?}",
        db.kind
    );
    assert!(
        t[4].text(0, "Train Statement")
            .contains("EMBEDDING(CATEGORY_ID(PaymentMethod, 4), 2, mean)")
    );
    let wd = t[5].text(0, "Feature Columns").to_ascii_lowercase();
    assert!(
        wd.starts_with("linear_feature_columns: indicator(category_id(contract, 3))")
            && wd.contains(
                "; dnn_feature_columns: embedding(category_id(paymentmethod, 4), 2, sqrtn)"
            ),
        "{wd}"
    );
    assert!(
        log.contains("EMBEDDING tables are learned by DNN models only"),
        "boosting says what it does with EMBEDDING"
    );
}

/// PREDICT applies the transform stored with the model to new rows, including its checks.
async fn predict_uses_the_stored_transform(db: &Db) {
    let p = &db.p;
    let (t, _) = db
        .ok_tables(&format!(
            "SELECT * FROM {p}churn.train ORDER BY customerID TO TRAIN DNNClassifier
WITH model.n_classes = 2, model.hidden_units = [8], train.epoch = 30
COLUMN CATEGORY_ID(SeniorCitizen, 2), BUCKET(tenure, [12, 48]), INDICATOR(Contract)
LABEL Churn INTO sqlflow_models.{p}churn_ids;
CREATE TABLE {p}churn.fresh AS SELECT * FROM {p}churn.test WHERE customerID = '9191-MYQKX';
UPDATE {p}churn.fresh SET Contract = 'Three year', tenure = 500;
SELECT * FROM {p}churn.fresh TO PREDICT {p}churn.fresh_out.Churn USING sqlflow_models.{p}churn_ids;
SELECT * FROM {p}churn.fresh_out;"
        ))
        .await;
    // An unseen contract and a tenure past the last boundary still predict.
    assert_eq!(t[0].rows.len(), 1, "{:?}", db.kind);
    assert!(matches!(t[0].column("Churn")[0], Some(Value::String(s)) if s == "Yes" || s == "No"));
    // The stored CATEGORY_ID still checks its range on new rows.
    let m = db
        .fails(&format!(
            "UPDATE {p}churn.fresh SET SeniorCitizen = 5;
SELECT * FROM {p}churn.fresh TO PREDICT {p}churn.fresh_out.Churn USING sqlflow_models.{p}churn_ids;"
        ))
        .await;
    assert!(
        m.to_ascii_lowercase()
            .contains("category_id(seniorcitizen, 2): value 5 in row 1 is outside 0..2"),
        "{:?}: {m}",
        db.kind
    );
    let m = db
        .fails(&format!(
            "SELECT tenure, Churn FROM {p}churn.test TO PREDICT {p}churn.fresh_out.Churn USING sqlflow_models.{p}churn_ids;"
        ))
        .await;
    assert!(
        m.to_ascii_lowercase()
            .contains("the query has no column seniorcitizen"),
        "{:?}: {m}",
        db.kind
    );
}

/// SQLFlow's fraud tutorial: `SELECT *` with no COLUMN clause, every column derived.
async fn creditcard_derivation(db: &Db) {
    let p = &db.p;
    let fit = format!("SELECT * FROM {p}creditcard.creditcard WHERE time % 5 <> 0");
    let held_out = format!("SELECT * FROM {p}creditcard.creditcard WHERE time % 5 = 0");
    let mut program = format!(
        "{fit} ORDER BY time, amount TO TRAIN DNNClassifier
WITH model.n_classes = 2, model.hidden_units = [64, 16], train.epoch = 20, optimizer.learning_rate = 0.05
LABEL class INTO sqlflow_models.{p}fraud_dnn;
{fit} TO TRAIN xgboost.gbtree
WITH objective = \"binary:logistic\", num_boost_round = 30
LABEL class INTO sqlflow_models.{p}fraud_xgb;
"
    );
    program.push_str(&db.evaluate(&held_out, "fraud_dnn", "class", "creditcard.e_dnn"));
    program.push_str(&db.evaluate(&held_out, "fraud_xgb", "class", "creditcard.e_xgb"));
    program.push_str(&format!("SHOW TRAIN sqlflow_models.{p}fraud_xgb;"));
    let (t, _) = db.ok_tables(&program).await;
    // Balanced classes: 0.5 is chance; scikit-learn's MLP and XGBoost reach about 0.94.
    for (table, m) in t.iter().zip(["DNN", "xgboost"]) {
        let acc = table.metric("Accuracy");
        assert!(
            acc >= 0.9,
            "{:?}: {m} on held-out creditcard rows: {acc}",
            db.kind
        );
    }
    let shown = t[2].text(0, "Feature Columns").to_ascii_lowercase();
    assert!(
        shown.starts_with("numeric(time), numeric(v1), numeric(v2)")
            && shown.ends_with("numeric(v28), numeric(amount)"),
        "{shown}"
    );
}

/// A comma-separated column and a key:value column made with SQL from iris: derived as
/// DENSE and SPARSE, or spelled out.
async fn dense_and_sparse_columns(db: &Db) {
    let p = &db.p;
    let mut program = String::new();
    for split in ["train", "test"] {
        program.push_str(&format!(
            "CREATE TABLE {p}iris.dense_{split} AS SELECT
  CONCAT(sepal_length, ',', sepal_width, ',', petal_length, ',', petal_width) AS features,
  CONCAT('0:', sepal_length, ' 1:', sepal_width, ' 2:', petal_length, ' 3:', petal_width) AS kv,
  class FROM {p}iris.{split};
"
        ));
    }
    let train = format!("SELECT features, class FROM {p}iris.dense_train ORDER BY features");
    let test = format!("SELECT * FROM {p}iris.dense_test");
    program.push_str(&format!(
        "{train} TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 10], train.epoch = 100, optimizer.learning_rate = 0.1
LABEL class INTO sqlflow_models.{p}iris_dense_dnn;
{train} TO TRAIN xgboost.gbtree WITH objective = \"multi:softprob\", num_class = 3
COLUMN DENSE(features, 4, COMMA)
LABEL class INTO sqlflow_models.{p}iris_dense_xgb;
SELECT kv, class FROM {p}iris.dense_train TO TRAIN xgboost.gbtree WITH objective = \"multi:softprob\", num_class = 3
COLUMN SPARSE(kv)
LABEL class INTO sqlflow_models.{p}iris_kv_xgb;
"
    ));
    for m in ["iris_dense_dnn", "iris_dense_xgb", "iris_kv_xgb"] {
        program.push_str(&db.evaluate(&test, m, "class", &format!("iris.e_{m}")));
    }
    program.push_str(&format!(
        "{test} TO PREDICT {p}iris.dense_pred.class USING sqlflow_models.{p}iris_dense_dnn;
SELECT class FROM {p}iris.dense_pred;
SHOW TRAIN sqlflow_models.{p}iris_dense_dnn;
SHOW TRAIN sqlflow_models.{p}iris_kv_xgb;"
    ));
    let (t, _) = db.ok_tables(&program).await;
    // iris.test is SQLFlow's 10 rows; one miss is allowed.
    for (table, m) in t.iter().zip(["derived DENSE", "DENSE", "SPARSE"]) {
        let acc = table.metric("Accuracy");
        assert!(acc >= 0.9, "{:?}: {m} on iris.test: {acc}", db.kind);
    }
    assert_eq!(t[3].rows.len(), 10);
    assert_eq!(t[4].text(0, "Feature Columns"), "DENSE(features, 4)");
    assert_eq!(
        t[4].text(0, "Features"),
        "features_0, features_1, features_2, features_3"
    );
    assert_eq!(
        t[5].text(0, "Feature Columns"),
        "SPARSE(kv, 4, \",\", int, \":\", float)"
    );
}

async fn errors_name_the_column_and_function(db: &Db) {
    let p = &db.p;
    let m = db
        .fails(&format!(
            "SELECT '1,2' AS c, 1 AS y UNION ALL SELECT '1,2,3', 0
TO TRAIN xgboost.gbtree WITH objective = \"binary:logistic\" LABEL y INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(
        m.contains(
            "column c holds comma-separated numbers, but row 1 has 2 of them and row 2 has 3"
        ),
        "{:?}: {m}",
        db.kind
    );
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}churn.train TO TRAIN DNNClassifier COLUMN CATEGORY_ID(tenure, 10)
LABEL Churn INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(
        m.to_ascii_lowercase()
            .contains("category_id(tenure, 10): value")
            && m.contains("is outside 0..10"),
        "{:?}: {m}",
        db.kind
    );
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}churn.train TO TRAIN DNNClassifier COLUMN EMBEDDING(gender, 2, max)
LABEL Churn INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(
        m.contains("EMBEDDING's combiner is sum, mean or sqrtn; found 'max'"),
        "{:?}: {m}",
        db.kind
    );
}

/// The CLI prints SHOW TRAIN's feature columns.
fn cli_shows_feature_columns(db: &Db) {
    let p = &db.p;
    let out = output_ok(
        db.server
            .cli()
            .args(["-e", &format!("SHOW TRAIN sqlflow_models.{p}churn_xgb")])
            .env("SQLFLOW_DATASOURCE", &db.datasource),
    );
    let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(text.contains("feature columns"), "{text}");
    assert!(
        text.contains("embedding(category_id(paymentmethod, 4), 2, mean)"),
        "{text}"
    );
}

async fn whole_suite(kind: Kind) {
    let Some(db) = Db::open(
        kind,
        "feature_columns",
        "fc",
        &["iris", "churn", "creditcard"],
    ) else {
        return;
    };
    churn(&db).await;
    predict_uses_the_stored_transform(&db).await;
    creditcard_derivation(&db).await;
    dense_and_sparse_columns(&db).await;
    errors_name_the_column_and_function(&db).await;
    cli_shows_feature_columns(&db);
    db.cleanup(&[
        "churn_dnn",
        "churn_xgb",
        "churn_wd",
        "churn_ids",
        "fraud_dnn",
        "fraud_xgb",
        "iris_dense_dnn",
        "iris_dense_xgb",
        "iris_kv_xgb",
    ])
    .await;
}

#[tokio::test]
async fn on_sqlite() {
    whole_suite(Kind::Sqlite).await;
}

#[tokio::test]
async fn on_mariadb() {
    whole_suite(Kind::MariaDb).await;
}

#[tokio::test]
async fn on_postgresql() {
    whole_suite(Kind::Postgres).await;
}
