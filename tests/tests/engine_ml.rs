//! SQLFlow's extended SQL end to end, through the server, the local runner and the CLI,
//! on SQLite and (when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set, as `.ci/run`
//! does) on MariaDB and PostgreSQL: the tutorial datasets loaded by `sqlflow demo-data`,
//! every model family trained, evaluated, used to predict and explained.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::{
    results::{Db, Kind, number, tables},
    sqlflow::cell::Value,
};

async fn every_model_family(db: &Db) {
    let p = &db.p;
    let classifiers = [
        (
            "dnn",
            "DNNClassifier",
            "model.n_classes = 3, model.hidden_units = [10, 20], train.epoch = 100, optimizer.learning_rate = 0.01",
        ),
        ("lin", "LinearClassifier", "model.n_classes = 3"),
        (
            "xgbc",
            "xgboost.gbtree",
            "objective = \"multi:softmax\", num_class = 3",
        ),
        (
            "xgbp",
            "xgboost.gbtree",
            "objective = \"multi:softprob\", num_class = 3, eta = 0.1, num_boost_round = 30",
        ),
        ("dtc", "DecisionTreeClassifier", "model.max_depth = 5"),
        ("rfc", "RandomForestClassifier", "model.n_estimators = 50"),
    ];
    let mut program = String::new();
    for (short, est, attrs) in classifiers {
        program.push_str(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN {est} WITH {attrs} LABEL class INTO sqlflow_models.{p}{short};\n\
             SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}{short} WITH validation.metrics = \"Accuracy\" LABEL class INTO {p}iris.eval_{short};\n\
             SELECT * FROM {p}iris.eval_{short};\n"
        ));
    }
    // SQLFlow's boston.test is the dataset's last 10 rows, whose prices vary so little
    // (and hold one outlier) that R2 there is negative even for good models. So the
    // regressors hold out the towns whose tax rate is a multiple of 5 (48 of
    // boston.train's 496 rows) and are judged on those; the minimum R2 of each is a
    // little under what it reaches (DNN 0.82, linear 0.44, boosting 0.76, tree 0.48,
    // forest 0.78): a linear model and a single tree generalise worst across towns, and
    // a model that learned nothing stays at or below 0.
    let regressors = [
        (
            "dnnr",
            "DNNRegressor",
            "model.hidden_units = [32, 16], train.epoch = 200, optimizer.learning_rate = 0.01",
            0.75,
        ),
        ("linr", "LinearRegressor", "model.l2_reg = 0.0", 0.4),
        (
            "xgbr",
            "xgboost.gbtree",
            "objective = \"reg:squarederror\", eta = 0.1, max_depth = 4, num_boost_round = 100",
            0.7,
        ),
        ("dtr", "DecisionTreeRegressor", "model.max_depth = 6", 0.4),
        (
            "rfr",
            "RandomForestRegressor",
            "model.n_estimators = 50",
            0.7,
        ),
    ];
    for (short, est, attrs, _) in regressors {
        program.push_str(&format!(
            "SELECT * FROM {p}boston.train WHERE tax % 5 <> 0 TO TRAIN {est} WITH {attrs} LABEL medv INTO sqlflow_models.{p}{short};\n\
             SELECT * FROM {p}boston.train WHERE tax % 5 = 0 TO EVALUATE sqlflow_models.{p}{short} WITH validation.metrics = \"R2\" LABEL medv INTO {p}boston.eval_{short};\n\
             SELECT * FROM {p}boston.eval_{short};\n"
        ));
    }
    let responses = db.succeeds(&program).await;
    let t = tables(&responses);
    assert_eq!(t.len(), classifiers.len() + regressors.len());
    for (i, (_, est, attrs)) in classifiers.iter().enumerate() {
        // PostgreSQL folds names to lower case, as it does for unquoted ones.
        assert!(
            t[i].columns[0].eq_ignore_ascii_case("Accuracy"),
            "{:?}",
            t[i].columns
        );
        // iris.test is SQLFlow's 10 rows; every family gets all 10 right, one miss is
        // allowed.
        let acc = number(&t[i].rows[0][0]);
        assert!(acc >= 0.9, "{est} ({attrs}): iris test accuracy {acc}");
    }
    for (i, (_, est, _, min_r2)) in regressors.iter().enumerate() {
        let t = &t[classifiers.len() + i];
        assert!(t.columns[0].eq_ignore_ascii_case("R2"), "{:?}", t.columns);
        let r2 = number(&t.rows[0][0]);
        assert!(r2 > *min_r2, "{est}: R2 {r2} on held-out boston towns");
    }
}

async fn predict_explain_show(db: &Db) {
    let p = &db.p;
    let responses = db
        .succeeds(&format!(
            "SELECT * FROM {p}iris.test TO PREDICT {p}iris.predicted.class USING sqlflow_models.{p}rfc;\n\
             SELECT count(*) AS n FROM {p}iris.predicted;\n\
             SELECT * FROM {p}iris.predicted;\n\
             SELECT * FROM {p}iris.test TO EXPLAIN sqlflow_models.{p}xgbc;\n\
             SELECT * FROM {p}boston.test TO EXPLAIN sqlflow_models.{p}linr USING LinearExplainer INTO {p}boston.why;\n\
             SELECT * FROM {p}boston.why;\n\
             SHOW TRAIN sqlflow_models.{p}dnn;"
        ))
        .await;
    let t = tables(&responses);
    assert_eq!(
        number(&t[0].rows[0][0]),
        10.0,
        "one prediction per test row"
    );
    assert_eq!(
        t[1].columns,
        [
            "sepal_length",
            "sepal_width",
            "petal_length",
            "petal_width",
            "class"
        ]
    );
    assert!(
        t[1].rows
            .iter()
            .all(|r| matches!(r[4], Some(Value::Int64(0..=2)))),
        "classes come back as the label's values: {:?}",
        t[1].rows[0]
    );
    // Gain importance: petal measurements separate iris classes.
    assert_eq!(t[2].columns, ["feature", "importance"]);
    let top = match &t[2].rows[0][0] {
        Some(Value::String(s)) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        top.starts_with("petal"),
        "most important iris feature: {top}"
    );
    assert_eq!(t[3].rows.len(), 13, "one importance per boston feature");
    // SHOW TRAIN: one row, a column per field.
    let show: Vec<(String, String)> = t[4]
        .columns
        .iter()
        .zip(&t[4].rows[0])
        .filter_map(|(k, v)| match v {
            Some(Value::String(v)) => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect();
    let get = |k: &str| {
        show.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    assert_eq!(get("Estimator"), "DNNClassifier");
    assert!(
        get("Train Statement").contains("TO TRAIN DNNClassifier"),
        "{show:?}"
    );
    assert!(
        get("Attributes").contains("model.hidden_units = [10, 20]"),
        "{show:?}"
    );
    assert_eq!(get("Label"), "class");
}

async fn strings_nulls_clusters_warm_start(db: &Db) {
    let p = &db.p;
    let responses = db
        .succeeds(&format!(
            // Strings are category-encoded, the label is Yes/No, and TotalCharges has
            // NULLs (SQLFlow's churn sample has none, so the newest customers lose theirs:
            // 16 of 82 rows).
            "SELECT gender, SeniorCitizen, tenure, InternetService, Contract, PaymentMethod, \
                    MonthlyCharges, CASE WHEN tenure < 6 THEN NULL ELSE TotalCharges END AS TotalCharges, \
                    Churn FROM {p}churn.train \
             TO TRAIN xgboost.gbtree WITH objective = \"binary:logistic\", num_boost_round = 20, \
                  validation.select = \"SELECT * FROM {p}churn.test\" \
             LABEL Churn INTO sqlflow_models.{p}churn;\n\
             SELECT * FROM {p}churn.test TO PREDICT {p}churn.predicted.Churn USING sqlflow_models.{p}churn;\n\
             SELECT Churn, count(*) AS n FROM {p}churn.predicted GROUP BY Churn ORDER BY Churn;\n\
             SELECT sepal_length, sepal_width, petal_length, petal_width FROM {p}iris.train \
             TO TRAIN KMeans WITH model.n_clusters = 3 INTO sqlflow_models.{p}km;\n\
             SELECT * FROM {p}iris.test TO PREDICT {p}iris.clusters.cluster USING sqlflow_models.{p}km;\n\
             SELECT cluster, count(*) AS n FROM {p}iris.clusters GROUP BY cluster ORDER BY cluster;\n\
             SELECT * FROM {p}boston.train TO TRAIN xgboost.gbtree \
             WITH objective = \"reg:squarederror\", num_boost_round = 10 \
             LABEL medv USING sqlflow_models.{p}xgbr INTO sqlflow_models.{p}xgbr_more;\n\
             SHOW TRAIN sqlflow_models.{p}xgbr_more;"
        ))
        .await;
    let t = tables(&responses);
    let labels: Vec<String> = t[0]
        .rows
        .iter()
        .map(|r| match &r[0] {
            Some(Value::String(s)) => s.clone(),
            other => panic!("predicted churn label {other:?}"),
        })
        .collect();
    assert!(labels.iter().all(|l| l == "Yes" || l == "No"), "{labels:?}");
    let clustered: f64 = t[1].rows.iter().map(|r| number(&r[1])).sum();
    assert_eq!(clustered, 10.0);
    assert!(
        t[1].rows.len() >= 2 && t[1].rows.len() <= 3,
        "{:?}",
        t[1].rows
    );
    let messages = format!("{responses:?}");
    assert!(
        messages.contains("validation: Accuracy="),
        "TRAIN reports validation metrics"
    );
    assert!(
        messages.contains("[0] train-logloss:"),
        "training progress (XGBoost's evaluation lines) reaches the client"
    );
    // Warm start added rounds to the earlier model's 100.
    let attrs = t[2]
        .columns
        .iter()
        .position(|c| c == "Attributes")
        .map(|i| format!("{:?}", t[2].rows[0][i]))
        .unwrap();
    assert!(attrs.contains("num_boost_round"), "{attrs}");
}

async fn errors_name_what_is_wrong(db: &Db) {
    let p = &db.p;
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier WITH model.n_classes = 3, model.hiden_units = [8] LABEL class INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(m.contains("model.hiden_units"), "{m}");
    assert!(
        m.contains("model.hidden_units"),
        "lists the accepted ones: {m}"
    );
    assert!(m.contains("validation.select"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier WITH train.epoch = 1, train.epoch = 2 LABEL class INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(m.contains("train.epoch is given twice"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN NoSuchModel LABEL class INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(
        m.contains("NoSuchModel") && m.contains("DNNClassifier"),
        "{m}"
    );
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier INTO sqlflow_models.{p}bad"
        ))
        .await;
    assert!(m.contains("LABEL"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.test TO EXPLAIN sqlflow_models.{p}dnn USING TreeExplainer"
        ))
        .await;
    assert!(m.contains("PermutationExplainer"), "{m}");
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.test TO PREDICT {p}iris.out.class USING sqlflow_models.{p}never_trained"
        ))
        .await;
    assert!(
        m.contains("cannot load model") && m.contains("TO TRAIN"),
        "{m}"
    );
    let m = db
        .fails(&format!(
            "SELECT sepal_length FROM {p}iris.test TO PREDICT {p}iris.out.class USING sqlflow_models.{p}dnn"
        ))
        .await;
    assert!(
        m.contains("sepal_width"),
        "names the missing feature column: {m}"
    );
}

/// PREDICT reads, predicts and sets aside a batch of rows at a time: 20 000 rows (more
/// than two batches) keep their order and their predictions, and a column that is NULL
/// in the whole first batch still gets the type of its later values. EVALUATE streams
/// too, its metrics over every batch.
async fn predict_streams_in_batches(db: &Db) {
    let p = &db.p;
    // 0..199, joined with itself for 20 000 numbers: MariaDB stops a recursion at
    // 1000 rows.
    let a = "WITH RECURSIVE a(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM a WHERE i < 199)";
    db.succeeds(&format!(
        "{a} SELECT i + 1 AS x, 2 * (i + 1) + 1 AS y FROM a WHERE i < 100 \
         TO TRAIN LinearRegressor WITH model.l2_reg = 0.0 LABEL y INTO sqlflow_models.{p}stream;\n\
         {a} SELECT x, CASE WHEN x > 10000 THEN x * 0.5 END AS half \
         FROM (SELECT h.i * 100 + l.i + 1 AS x FROM a h, a l WHERE l.i < 100) AS n \
         TO PREDICT {p}iris.streamed.y USING sqlflow_models.{p}stream;"
    ))
    .await;
    let out = db
        .ok(&format!(
            "SELECT COUNT(*) AS n, COUNT(half) AS halves FROM {p}iris.streamed;\n\
             SELECT x, half, y FROM {p}iris.streamed WHERE x IN (1, 8192, 8193, 16385, 20000) ORDER BY x"
        ))
        .await;
    assert_eq!(out.tables[0].metric("n"), 20_000.0);
    assert_eq!(out.tables[0].metric("halves"), 10_000.0);
    let t = &out.tables[1];
    assert_eq!(t.nums("x"), [1.0, 8192.0, 8193.0, 16385.0, 20000.0]);
    for (row, x) in t.nums("x").into_iter().enumerate() {
        let y = t.num(row, "y");
        assert!(
            (y - (2.0 * x + 1.0)).abs() < 1e-3 * x.max(1.0),
            "{x} -> {y}"
        );
    }
    // EVALUATE streams the same way: 20 000 labelled rows, metrics over all of them.
    let out = db
        .ok(&format!(
            "{a} SELECT x, 2 * x + 1 AS y FROM \
             (SELECT h.i * 100 + l.i + 1 AS x FROM a h, a l WHERE l.i < 100) AS n \
             TO EVALUATE sqlflow_models.{p}stream WITH validation.metrics = \"MAE,R2\" \
             LABEL y INTO {p}iris.stream_eval;\n\
             SELECT * FROM {p}iris.stream_eval"
        ))
        .await;
    assert!(
        out.messages.iter().any(|m| m.contains("on 20000 rows")),
        "{:?}",
        out.messages
    );
    let eval = &out.tables[0];
    assert!(eval.metric("MAE") < 0.05, "MAE {}", eval.metric("MAE"));
    assert!(eval.metric("R2") > 0.999_999, "R2 {}", eval.metric("R2"));
    let first = &t.rows[0][t.col("half")];
    assert!(
        matches!(first, None | Some(Value::Null(_))),
        "NULL stays NULL: {first:?}"
    );
    let late = &t.rows[4][t.col("half")];
    assert!(
        !matches!(late, Some(Value::String(_))) && number(late) == 10_000.0,
        "a column NULL through the first batch is typed by its later values: {late:?}"
    );
}

/// A server on `kind` with iris, boston and churn loaded under a unique prefix.
fn setup(kind: Kind) -> Option<Db> {
    Db::open(kind, "engine_ml", "t", &["iris", "boston", "churn"])
}

async fn cleanup(db: &Db) {
    if db.datasource.starts_with("sqlite") || db.datasource.is_empty() {
        return;
    }
    let p = &db.p;
    let drop = if db.datasource.starts_with("mysql") {
        "DROP DATABASE IF EXISTS"
    } else {
        "DROP SCHEMA IF EXISTS"
    };
    let cascade = if db.datasource.starts_with("postgres") {
        " CASCADE"
    } else {
        ""
    };
    let mut program = String::new();
    for s in ["iris", "boston", "churn"] {
        program.push_str(&format!("{drop} {p}{s}{cascade};\n"));
    }
    for m in [
        "dnn",
        "lin",
        "xgbc",
        "xgbp",
        "dtc",
        "rfc",
        "dnnr",
        "linr",
        "xgbr",
        "dtr",
        "rfr",
        "churn",
        "km",
        "xgbr_more",
    ] {
        program.push_str(&format!("DROP TABLE IF EXISTS sqlflow_models.{p}{m};\n"));
    }
    let _ = db.run(&program).await;
}

async fn whole_suite(kind: Kind) {
    let Some(db) = setup(kind) else {
        return;
    };
    every_model_family(&db).await;
    predict_explain_show(&db).await;
    strings_nulls_clusters_warm_start(&db).await;
    predict_streams_in_batches(&db).await;
    errors_name_what_is_wrong(&db).await;
    cleanup(&db).await;
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

#[tokio::test]
async fn a_model_from_a_newer_engine_is_refused_clearly() {
    let db = setup(Kind::Sqlite).unwrap();
    let p = &db.p;
    db.succeeds(&format!(
        "SELECT * FROM {p}iris.train TO TRAIN LinearClassifier WITH model.n_classes = 3 LABEL class INTO sqlflow_models.{p}future;\n\
         UPDATE sqlflow_models.{p}future SET content = CAST('{{\"store_format\": 99, \"engine_version\": \"9.0.0\"}}' AS BLOB) WHERE id = 0"
    ))
    .await;
    let m = db
        .fails(&format!(
            "SELECT * FROM {p}iris.test TO PREDICT {p}iris.out.class USING sqlflow_models.{p}future"
        ))
        .await;
    assert!(
        m.contains("format 99") && m.contains("9.0.0") && m.contains("upgrade"),
        "{m}"
    );
}
