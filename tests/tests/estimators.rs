//! SQLFlow users' programs run unchanged: TensorFlow's, Keras' and XGBoost's estimator
//! names and attributes, Keras and scikit-learn metric names, and training logs, through
//! the server on the tutorial datasets of `sqlflow demo-data`. SQLite always; MariaDB and
//! PostgreSQL (a cheaper part) when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set.
//! The programs are written as SQLFlow's tutorials and tests wrote them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::results::{Db, Kind};

/// Boston's thirteen features.
const BOSTON: &str = "crim, zn, indus, chas, nox, rm, age, dis, rad, tax, ptratio, b, lstat";

/// boston.train's rows ordered by `crim`, every fifth (`op` "=") or the others ("<>"):
/// a held-out fifth that SQLite, MariaDB and PostgreSQL all compute the same way (the
/// tutorial's boston.test has too few rows to tell a good model from a bad one).
fn boston_rows(p: &str, op: &str) -> String {
    format!(
        "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (ORDER BY crim) AS rn FROM {p}boston.train) AS t WHERE rn % 5 {op} 0"
    )
}

/// TensorFlow's canned estimators with the attributes SQLFlow's tests set, including
/// the ones that only tuned TensorFlow's runtime.
async fn tensorflow_estimators(db: &Db) {
    let p = &db.p;
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}iris.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20],
     train.batch_size = 10, train.epoch = 6,
     train.max_steps = 200,
     train.save_checkpoints_steps=10,
     train.log_every_n_iter=20,
     validation.start_delay_secs=10, validation.throttle_secs=10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.{p}my_dnn_model;"
        ))
        .await;
    for attr in [
        "train.save_checkpoints_steps",
        "train.log_every_n_iter",
        "validation.start_delay_secs",
        "validation.throttle_secs",
    ] {
        assert!(
            out.has(&format!("note: {attr} has no effect here: ")),
            "{attr}: {:#?}",
            out.messages
        );
    }
    assert!(out.line("epoch 6/6: loss ").len() > 10);

    // optimizer, batch norm, dropout and activation; per-epoch validation lines
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20],
     model.optimizer = \"Adagrad\", optimizer.learning_rate = 0.1,
     model.batch_norm = True, model.dropout = 0.1, model.activation_fn = \"tanh\",
     train.epoch = 40,
     validation.select = \"SELECT * FROM {p}iris.test\",
     validation.metrics = \"Accuracy,SparseCategoricalAccuracy\"
LABEL class INTO sqlflow_models.{p}dnn_opt;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}dnn_opt
WITH validation.metrics = \"Accuracy,accuracy_score,f1_score,CategoricalCrossentropy\"
LABEL class INTO {p}iris.eval_dnn_opt;
SELECT * FROM {p}iris.eval_dnn_opt;"
        ))
        .await;
    let last = out.line("epoch 40/40: loss ");
    assert!(
        last.contains(", validate Accuracy 0.") || last.contains(", validate Accuracy 1."),
        "{last}"
    );
    assert!(
        last.contains("validate SparseCategoricalAccuracy "),
        "{last}"
    );
    let t = &out.tables[0];
    for name in [
        "Accuracy",
        "accuracy_score",
        "f1_score",
        "CategoricalCrossentropy",
    ] {
        assert!(
            t.columns.iter().any(|c| c.eq_ignore_ascii_case(name)),
            "{name} named as written: {:?}",
            t.columns
        );
    }
    assert!(t.metric("Accuracy") >= 0.9, "{:?}", t.rows);
    assert_eq!(t.metric("Accuracy"), t.metric("accuracy_score"));

    // wide and deep: COLUMN ... FOR picks the columns of each part; first as SQLFlow's
    // test wrote it (two epochs), then trained long enough to be good
    let wide_deep = |epochs: u32, extra: &str| {
        format!(
            "SELECT * FROM {p}iris.train
TO TRAIN DNNLinearCombinedClassifier
WITH model.n_classes = 3, model.dnn_hidden_units = [10, 20], train.batch_size = 10, train.epoch = {epochs}{extra}
COLUMN sepal_length, sepal_width FOR linear_feature_columns
COLUMN petal_length, petal_width FOR dnn_feature_columns
LABEL class
INTO sqlflow_models.{p}wide_deep_{epochs};"
        )
    };
    db.ok(&wide_deep(2, "")).await;
    let out = db
        .ok(&format!(
            "{}\nSELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}wide_deep_30 \
             WITH validation.metrics = \"Accuracy\" LABEL class INTO {p}iris.eval_wd;\n\
             SELECT * FROM {p}iris.eval_wd;",
            wide_deep(30, ", dnn_optimizer.learning_rate = 0.01")
        ))
        .await;
    assert!(
        out.tables[0].metric("Accuracy") >= 0.85,
        "{:?}",
        out.tables[0]
    );
    assert!(!out.has("has no effect on DNNLinearCombinedClassifier"));

    // Keras' sqlflow_models.DNNClassifier, as SQLFlow's custom-model test trains it
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}iris.train
TO TRAIN sqlflow_models.DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20], train.batch_size = 10, train.epoch=20
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.{p}my_dnn_model_custom;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}my_dnn_model_custom
WITH validation.metrics = \"Accuracy\" LABEL class INTO {p}iris.eval_keras;
SELECT * FROM {p}iris.eval_keras;"
        ))
        .await;
    assert!(
        out.tables[0].metric("Accuracy") >= 0.9,
        "{:?}",
        out.tables[0]
    );

    // TensorFlow's boosted trees on two classes, as SQLFlow's test trains them
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}iris.train WHERE class < 2
TO TRAIN BoostedTreesClassifier
WITH model.n_batches_per_layer = 1, model.center_bias = True, train.batch_size = 100, train.epoch = 10,
     validation.select = \"SELECT * FROM {p}iris.test WHERE class < 2\"
LABEL class
INTO sqlflow_models.{p}boosted_trees_model;
SELECT * FROM {p}iris.test WHERE class < 2 TO EVALUATE sqlflow_models.{p}boosted_trees_model
WITH validation.metrics = \"Accuracy,AUC,roc_auc_score\" LABEL class INTO {p}iris.eval_bt;
SELECT * FROM {p}iris.eval_bt;"
        ))
        .await;
    assert!(out.has("note: model.n_batches_per_layer has no effect here"));
    assert!(out.has("note: train.epoch has no effect here"));
    assert!(
        out.line("[99] train-logloss:")
            .contains("validate-logloss:")
    );
    let t = &out.tables[0];
    assert!(
        t.metric("Accuracy") >= 0.95 && t.metric("AUC") >= 0.95,
        "{t:?}"
    );
    assert_eq!(t.metric("AUC"), t.metric("roc_auc_score"));

    // regressors with Keras metric names, held out by a split every database computes
    let (fit, held_out) = (boston_rows(p, "<>"), boston_rows(p, "="));
    let out = db
        .ok(&format!(
            "{fit} TO TRAIN DNNRegressor
WITH model.hidden_units = [32, 16], optimizer.learning_rate = 0.01, train.epoch = 100,
     validation.select = \"{held_out}\"
COLUMN {BOSTON} LABEL medv INTO sqlflow_models.{p}dnn_reg;
{fit} TO TRAIN LinearRegressor WITH model.optimizer = \"Ftrl\"
COLUMN {BOSTON} LABEL medv INTO sqlflow_models.{p}lin_reg;
{held_out} TO EVALUATE sqlflow_models.{p}dnn_reg
WITH validation.metrics = \"MeanSquaredError,MeanAbsoluteError,r2_score\" LABEL medv INTO {p}boston.eval_dnn;
SELECT * FROM {p}boston.eval_dnn;
{held_out} TO EVALUATE sqlflow_models.{p}lin_reg
WITH validation.metrics = \"r2_score\" LABEL medv INTO {p}boston.eval_lin;
SELECT * FROM {p}boston.eval_lin;"
        ))
        .await;
    assert!(out.line("epoch 100/100: loss ").contains(", validate mse "));
    assert!(out.has("note: model.optimizer has no effect here"));
    assert!(
        out.tables[0].metric("r2_score") > 0.6,
        "{:?}",
        out.tables[0]
    );
    assert!(
        out.tables[1].metric("r2_score") > 0.6,
        "{:?}",
        out.tables[1]
    );
}

/// XGBoost's estimator names and parameters, its evaluation lines and early stopping.
async fn xgboost_programs(db: &Db) {
    let p = &db.p;
    // SQLFlow's boston tutorial
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}boston.train
TO TRAIN xgboost.gbtree
WITH
    objective=\"reg:squarederror\",
    train.num_boost_round = 30,
    validation.select=\"SELECT * FROM {p}boston.test\"
LABEL medv
INTO sqlflow_models.{p}my_xgb_regression_model;
SELECT * FROM {p}boston.test TO EVALUATE sqlflow_models.{p}my_xgb_regression_model
WITH validation.metrics=\"mean_absolute_error,mean_squared_error,r2_score\"
LABEL medv INTO {p}boston.eval_xgb;
SELECT * FROM {p}boston.eval_xgb;"
        ))
        .await;
    let last = out.line("[29] train-rmse:");
    assert!(last.contains(" validate-rmse:"), "{last}");
    assert!(out.line("[0] train-rmse:").contains(" validate-rmse:"));
    assert!(
        out.tables[0].metric("mean_absolute_error") < 5.0,
        "{:?}",
        out.tables[0]
    );
    let (fit, held_out) = (boston_rows(p, "<>"), boston_rows(p, "="));
    let out = db
        .ok(&format!(
            "{fit} TO TRAIN xgboost.gbtree WITH objective=\"reg:squarederror\", train.num_boost_round = 30
COLUMN {BOSTON} LABEL medv INTO sqlflow_models.{p}xgb_held_out;
{held_out} TO EVALUATE sqlflow_models.{p}xgb_held_out WITH validation.metrics=\"r2_score\"
LABEL medv INTO {p}boston.eval_xgb_held_out;
SELECT * FROM {p}boston.eval_xgb_held_out;"
        ))
        .await;
    assert!(
        out.tables[0].metric("r2_score") > 0.75,
        "{:?}",
        out.tables[0]
    );

    // early stopping on the validation rows, XGBoost's scikit-learn spelling
    let out = db
        .ok(&format!(
            "{fit} TO TRAIN xgboost.XGBRegressor
WITH n_estimators = 500, learning_rate = 0.3, max_depth = 4,
     early_stopping_rounds = 5, eval_metric = \"mae\",
     validation.select = \"{held_out}\"
COLUMN {BOSTON} LABEL medv INTO sqlflow_models.{p}xgb_early;"
        ))
        .await;
    let stop = out.line("early stopping: validate-mae has not improved for 5 rounds");
    assert!(stop.contains("best round ["), "{stop}");
    assert!(
        !out.has("[499] "),
        "trained all rounds: {:#?}",
        out.messages
    );

    // iris with SQLFlow's xgboost tutorial, and the other boosters
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN xgboost.gbtree
WITH objective=\"multi:softprob\", train.num_boost_round = 30, eta = 0.4, num_class = 3
LABEL class INTO sqlflow_models.{p}my_xgboost_model;
SELECT * FROM {p}iris.train TO TRAIN xgboost.dart
WITH objective=\"multi:softprob\", num_class = 3, rate_drop = 0.1, num_boost_round = 20
LABEL class INTO sqlflow_models.{p}xgb_dart;
SELECT * FROM {p}iris.train TO TRAIN xgboost.gblinear
WITH objective=\"multi:softprob\", num_class = 3, num_boost_round = 50
LABEL class INTO sqlflow_models.{p}xgb_linear;
SELECT * FROM {p}iris.train TO TRAIN xgboost.XGBClassifier
WITH n_estimators = 20, max_depth = 3, subsample = 0.9, colsample_bynode = 0.8, grow_policy = \"lossguide\", max_leaves = 6
LABEL class INTO sqlflow_models.{p}xgb_sklearn;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}my_xgboost_model WITH validation.metrics=\"accuracy_score\" LABEL class INTO {p}iris.e1;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}xgb_dart WITH validation.metrics=\"accuracy_score\" LABEL class INTO {p}iris.e2;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}xgb_linear WITH validation.metrics=\"accuracy_score\" LABEL class INTO {p}iris.e3;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}xgb_sklearn WITH validation.metrics=\"accuracy_score\" LABEL class INTO {p}iris.e4;
SELECT * FROM {p}iris.e1; SELECT * FROM {p}iris.e2; SELECT * FROM {p}iris.e3; SELECT * FROM {p}iris.e4;"
        ))
        .await;
    for (t, est) in out
        .tables
        .iter()
        .zip(["gbtree", "dart", "gblinear", "XGBClassifier"])
    {
        assert!(t.metric("accuracy_score") >= 0.9, "{est}: {t:?}");
    }

    // SQLFlow's binary test with eval_metric and external memory
    let out = db
        .ok(&format!(
            "SELECT * FROM {p}iris.train WHERE class in (0, 1) TO TRAIN xgboost.gbtree
WITH objective=\"binary:logistic\", eval_metric=auc, train.disk_cache=True
LABEL class
INTO sqlflow_models.{p}my_xgb_binary_classification_model;"
        ))
        .await;
    assert!(out.has("note: train.disk_cache has no effect here"));
    assert!(out.line("[9] train-auc:").len() > 10);
}

/// What users get wrong is named, with the accepted alternatives.
async fn errors(db: &Db) {
    let p = &db.p;
    for label in ["LABEL class ", ""] {
        let m = db
            .fails(&format!(
                "SELECT * FROM {p}iris.train TO TRAIN xgboost.XGBRanker WITH n_estimators = 3 {label}INTO sqlflow_models.{p}bad"
            ))
            .await;
        assert!(
            m.contains("unknown estimator 'xgboost.XGBRanker'")
                && m.contains("DNNLinearCombinedClassifier")
                && m.contains("xgboost.XGBClassifier"),
            "{label}: {m}"
        );
    }
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier WITH model.n_classes = 3, train.num_worker = 2 LABEL class INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(
        m.contains("'train.num_worker'")
            && m.contains("model.batch_norm")
            && m.contains("train.num_workers"),
        "{m}"
    );
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier WITH model.n_classes = 3, validation.step = 2 LABEL class INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(m.contains("validation.steps"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}boston.train TO TRAIN xgboost.gbtree WITH early_stopping_rounds = 3 LABEL medv INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(m.contains("validation.select"), "{m}");
}

async fn cleanup(db: &Db) {
    if db.datasource.is_empty() || db.datasource.starts_with("sqlite") {
        return;
    }
    let p = &db.p;
    let (drop, cascade) = if db.datasource.starts_with("mysql") {
        ("DROP DATABASE IF EXISTS", "")
    } else {
        ("DROP SCHEMA IF EXISTS", " CASCADE")
    };
    let mut program = format!("{drop} {p}iris{cascade};\n{drop} {p}boston{cascade};\n");
    for m in [
        "my_dnn_model",
        "dnn_opt",
        "wide_deep_2",
        "wide_deep_30",
        "my_dnn_model_custom",
        "boosted_trees_model",
        "dnn_reg",
        "lin_reg",
        "my_xgb_regression_model",
        "xgb_early",
        "xgb_held_out",
        "my_xgboost_model",
        "xgb_dart",
        "xgb_linear",
        "xgb_sklearn",
        "my_xgb_binary_classification_model",
    ] {
        program.push_str(&format!("DROP TABLE IF EXISTS sqlflow_models.{p}{m};\n"));
    }
    let _ = db.run(&program).await;
}

#[tokio::test]
async fn on_sqlite() {
    let db = Db::open(Kind::Sqlite, "estimators", "e", &["iris", "boston"]).unwrap();
    tensorflow_estimators(&db).await;
    xgboost_programs(&db).await;
    errors(&db).await;
}

/// The XGBoost programs (cheap) on the other databases: the same logs and metrics
/// whatever stores the data and the models.
async fn other_database(kind: Kind) {
    if let Some(db) = Db::open(kind, "estimators", "e", &["iris", "boston"]) {
        xgboost_programs(&db).await;
        errors(&db).await;
        cleanup(&db).await;
    }
}

#[tokio::test]
async fn on_mariadb() {
    other_database(Kind::MariaDb).await;
}

#[tokio::test]
async fn on_postgresql() {
    other_database(Kind::Postgres).await;
}
