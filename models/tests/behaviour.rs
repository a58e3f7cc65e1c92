//! Data rules, errors, determinism, warm start and progress reporting.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{attrs, fit};
use sqlflow_models::{
    AttrValue, Attrs, ClassLabel, Column, Feature, ModelError, Prediction, Task, train,
};

fn iris3() -> Attrs {
    attrs(&[("model.n_classes", AttrValue::Int(3))])
}

fn quiet() -> impl FnMut(&str) {
    |_: &str| {}
}

fn str_col(name: &str, values: &[Option<&str>]) -> Column {
    Column::new(
        name,
        values
            .iter()
            .map(|v| v.map(|s| Feature::Str(s.to_string())))
            .collect(),
    )
}

fn num_col(name: &str, values: &[Option<f64>]) -> Column {
    Column::new(name, values.iter().map(|v| v.map(Feature::Num)).collect())
}

/// 60 rows: the label is "yes" exactly when color is red or size > 5.
fn categorical_data() -> (Vec<Column>, Column) {
    let colors = ["red", "green", "blue"];
    let mut color = Vec::new();
    let mut size = Vec::new();
    let mut label = Vec::new();
    for i in 0..60 {
        let c = colors[i % 3];
        let s = (i % 10) as f64;
        color.push(Some(c));
        size.push(Some(s));
        label.push(Some(if c == "red" || s > 5.0 { "yes" } else { "no" }));
    }
    (
        vec![str_col("color", &color), num_col("size", &size)],
        str_col("label", &label),
    )
}

#[test]
fn string_features_are_category_encoded() {
    let (features, label) = categorical_data();
    for (estimator, a) in [
        ("DecisionTreeClassifier", Attrs::new()),
        ("LinearClassifier", Attrs::new()),
        (
            "xgboost.gbtree",
            attrs(&[
                ("objective", AttrValue::Str("binary:logistic".into())),
                ("num_boost_round", AttrValue::Int(30)),
            ]),
        ),
        (
            "DNNClassifier",
            attrs(&[
                ("train.epoch", AttrValue::Int(300)),
                ("optimizer.learning_rate", AttrValue::Float(0.01)),
            ]),
        ),
    ] {
        let model = fit(estimator, &a, &features, &label).unwrap();
        let acc = model.evaluate(&features, &label, &["Accuracy"]).unwrap()[0].1;
        assert!(acc > 0.95, "{estimator}: accuracy {acc}");
        assert_eq!(model.feature_names(), vec!["color", "size"]);
    }
    let linear = fit("LinearClassifier", &Attrs::new(), &features, &label).unwrap();
    assert_eq!(
        linear.encoded_feature_names(),
        vec!["color=blue", "color=green", "color=red", "size"]
    );
}

#[test]
fn nulls_follow_the_documented_rules() {
    // y = 2x + 1 on x = 0..9 (mean 4.5 without the NULL row)
    let mut xs: Vec<Option<f64>> = (0..10).map(|i| Some(i as f64)).collect();
    let mut ys: Vec<Option<f64>> = (0..10).map(|i| Some(2.0 * i as f64 + 1.0)).collect();
    xs.push(None);
    ys.push(Some(10.0)); // = 2 * 4.5 + 1: the NULL row sits exactly at the mean
    let features = vec![num_col("x", &xs)];
    let label = num_col("y", &ys);
    let model = fit("LinearRegressor", &Attrs::new(), &features, &label).unwrap();
    let p = model
        .predict(&[num_col("x", &[None, Some(f64::NAN), Some(4.5)])])
        .unwrap();
    assert_eq!(p[0], p[2], "numeric NULL is the training mean");
    assert_eq!(p[1], p[2], "NaN is treated as NULL");
    match p[0] {
        Prediction::Value(v) => assert!((v - 10.0).abs() < 1e-9, "{v}"),
        ref other => panic!("{other:?}"),
    }

    // string NULL is its own category: here it alone marks the positive class
    let color = str_col(
        "color",
        &[
            Some("a"),
            None,
            Some("b"),
            None,
            Some("a"),
            None,
            Some("b"),
            None,
        ],
    );
    let label = num_col(
        "y",
        &[
            Some(0.0),
            Some(1.0),
            Some(0.0),
            Some(1.0),
            Some(0.0),
            Some(1.0),
            Some(0.0),
            Some(1.0),
        ],
    );
    for estimator in ["DecisionTreeClassifier", "LinearClassifier"] {
        let model = fit(
            estimator,
            &Attrs::new(),
            std::slice::from_ref(&color),
            &label,
        )
        .unwrap();
        let p = model
            .predict(&[str_col("color", &[None, Some("a")])])
            .unwrap();
        assert_eq!(
            p,
            vec![
                Prediction::Class(ClassLabel::Int(1)),
                Prediction::Class(ClassLabel::Int(0))
            ],
            "{estimator}"
        );
        // an unseen category is treated exactly like NULL
        let unseen = model
            .predict_proba(&[str_col("color", &[Some("zzz")])])
            .unwrap();
        let null = model.predict_proba(&[str_col("color", &[None])]).unwrap();
        assert_eq!(unseen, null, "{estimator}");
    }
}

#[test]
fn null_labels_are_an_error() {
    let features = vec![num_col("x", &[Some(1.0), Some(2.0)])];
    let label = num_col("y", &[Some(1.0), None]);
    let err = fit("LinearRegressor", &Attrs::new(), &features, &label).unwrap_err();
    assert!(err.to_string().contains("IS NOT NULL"), "{err}");
}

#[test]
fn missing_column_at_predict_names_it() {
    let (train_set, _) = common::iris_split();
    let model = fit(
        "DecisionTreeClassifier",
        &Attrs::new(),
        &train_set.features,
        &train_set.label,
    )
    .unwrap();
    let partial: Vec<Column> = train_set
        .features
        .iter()
        .filter(|c| c.name != "petal_width")
        .cloned()
        .collect();
    let err = model.predict(&partial).unwrap_err();
    match &err {
        ModelError::MissingColumn { name, .. } => assert_eq!(name, "petal_width"),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("petal_width"));
    // extra columns are ignored and order does not matter
    let mut shuffled: Vec<Column> = train_set.features.iter().rev().cloned().collect();
    shuffled.push(num_col("id", &vec![Some(1.0); 120]));
    assert_eq!(
        model.predict(&shuffled).unwrap(),
        model.predict(&train_set.features).unwrap()
    );
}

#[test]
fn attribute_errors_name_the_attribute() {
    let (train_set, _) = common::iris_split();
    let run = |est: &str, a: Attrs| fit(est, &a, &train_set.features, &train_set.label);

    let err = run(
        "DNNClassifier",
        attrs(&[("model.hiden_units", AttrValue::Int(3))]),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::UnknownAttribute { .. }), "{msg}");
    assert!(
        msg.contains("'model.hiden_units'")
            && msg.contains("model.hidden_units (default [10, 20])"),
        "{msg}"
    );
    assert!(
        msg.contains("train.epoch") && msg.contains("optimizer.learning_rate"),
        "{msg}"
    );

    let err = run(
        "DNNClassifier",
        attrs(&[("train.epoch", AttrValue::Str("ten".into()))]),
    )
    .unwrap_err();
    assert!(
        matches!(err, ModelError::InvalidAttribute { ref name, .. } if name == "train.epoch"),
        "{err}"
    );
    assert!(err.to_string().contains("an integer >= 1"), "{err}");

    let err = run("xgboost.gbtree", attrs(&[("eta", AttrValue::Float(1.5))])).unwrap_err();
    assert!(
        err.to_string().contains("'eta'") && err.to_string().contains("(0, 1]"),
        "{err}"
    );

    let err = run(
        "xgboost.gbtree",
        attrs(&[("objective", AttrValue::Str("multi:foo".into()))]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("multi:softprob"), "{err}");

    let err = run(
        "xgboost.gbtree",
        attrs(&[
            ("num_boost_round", AttrValue::Int(5)),
            ("train.num_boost_round", AttrValue::Int(6)),
        ]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("num_boost_round"), "{err}");

    let err = run("DNNClasifier", Attrs::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("supported estimators: DNNClassifier"),
        "{err}"
    );

    // names are case-insensitive
    assert!(
        run(
            "decisiontreeclassifier",
            attrs(&[("MODEL.MAX_DEPTH", AttrValue::Int(2))])
        )
        .is_ok()
    );
    assert_eq!(
        sqlflow_models::accepted_attributes("kmeans").unwrap()[0],
        ("model.n_clusters", Some("3".into()))
    );
}

#[test]
fn class_count_must_agree_with_the_data() {
    let (train_set, _) = common::iris_split();
    for (est, a, attr) in [
        ("DNNClassifier", Attrs::new(), "model.n_classes = 2"),
        ("LinearClassifier", Attrs::new(), "model.n_classes = 2"),
        (
            "xgboost.gbtree",
            attrs(&[
                ("objective", AttrValue::Str("multi:softmax".into())),
                ("num_class", AttrValue::Int(2)),
            ]),
            "num_class = 2",
        ),
        (
            "xgboost.gbtree",
            attrs(&[("objective", AttrValue::Str("binary:logistic".into()))]),
            "multi:softprob",
        ),
    ] {
        let err = fit(est, &a, &train_set.features, &train_set.label).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ModelError::InvalidLabel(_)) && msg.contains(attr) && msg.contains("3"),
            "{est}: {msg}"
        );
    }
    // a regression objective on string labels says what to do
    let strings = train_set.label_as_strings(&common::IRIS_CLASSES);
    let err = fit(
        "xgboost.gbtree",
        &Attrs::new(),
        &train_set.features,
        &strings,
    )
    .unwrap_err();
    assert!(err.to_string().contains("objective"), "{err}");
    // a label is required for supervised models
    let err = train(
        "DNNRegressor",
        &Attrs::new(),
        &train_set.features,
        None,
        None,
        &mut quiet(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("LABEL"), "{err}");
}

#[test]
fn unknown_metric_lists_valid_ones() {
    let (train_set, test_set) = common::iris_split();
    let model = fit(
        "LinearClassifier",
        &iris3(),
        &train_set.features,
        &train_set.label,
    )
    .unwrap();
    let err = model
        .evaluate(&test_set.features, &test_set.label, &["MSE"])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Accuracy, Precision, Recall, F1, AUC"),
        "{err}"
    );
    let all = model
        .evaluate(
            &test_set.features,
            &test_set.label,
            &["Accuracy", "precision", "RECALL", "F1", "auc"],
        )
        .unwrap();
    // each metric comes back under the name as the user wrote it
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["Accuracy", "precision", "RECALL", "F1", "auc"]);
    assert!(all.iter().all(|(_, v)| (0.9..=1.0).contains(v)), "{all:?}");
    assert_eq!(
        model
            .evaluate(&test_set.features, &test_set.label, &[])
            .unwrap()[0]
            .0,
        "Accuracy"
    );
}

#[test]
fn evaluate_matches_hand_computed_metrics() {
    // A depth-1 tree on x splits at 2.5: predicts 0 for x <= 2.5, else 1.
    let features = vec![num_col("x", &[Some(1.0), Some(2.0), Some(3.0), Some(4.0)])];
    let label = num_col("y", &[Some(0.0), Some(0.0), Some(1.0), Some(1.0)]);
    let model = fit("DecisionTreeClassifier", &Attrs::new(), &features, &label).unwrap();
    // on new rows: x = 1, 3, 4, 2 with truth 0, 0, 1, 1 -> predictions 0, 1, 1, 0
    let test = vec![num_col("x", &[Some(1.0), Some(3.0), Some(4.0), Some(2.0)])];
    let truth = num_col("y", &[Some(0.0), Some(0.0), Some(1.0), Some(1.0)]);
    let m = model
        .evaluate(
            &test,
            &truth,
            &["Accuracy", "Precision", "Recall", "F1", "AUC"],
        )
        .unwrap();
    let values: Vec<f64> = m.iter().map(|(_, v)| *v).collect();
    assert_eq!(values, vec![0.5, 0.5, 0.5, 0.5, 0.5]);

    let reg = fit(
        "DecisionTreeRegressor",
        &Attrs::new(),
        &features,
        &num_col("y", &[Some(1.0), Some(2.0), Some(3.0), Some(4.0)]),
    )
    .unwrap();
    let m = reg
        .evaluate(
            &features,
            &num_col("y", &[Some(2.0), Some(2.0), Some(3.0), Some(3.0)]),
            &["MSE", "MAE", "R2"],
        )
        .unwrap();
    // predictions 1, 2, 3, 4 against 2, 2, 3, 3: errors 1, 0, 0, 1
    assert_eq!(m[0].1, 0.5);
    assert_eq!(m[1].1, 0.5);
    assert_eq!(m[2].1, -1.0);
}

fn all_estimators() -> Vec<(&'static str, Attrs)> {
    vec![
        (
            "DNNClassifier",
            attrs(&[
                ("model.n_classes", AttrValue::Int(3)),
                ("train.epoch", AttrValue::Int(20)),
            ]),
        ),
        ("LinearClassifier", iris3()),
        (
            "xgboost.gbtree",
            attrs(&[
                ("objective", AttrValue::Str("multi:softprob".into())),
                ("subsample", AttrValue::Float(0.7)),
                ("colsample_bytree", AttrValue::Float(0.5)),
            ]),
        ),
        (
            "DecisionTreeClassifier",
            attrs(&[("model.max_features", AttrValue::Ident("sqrt".into()))]),
        ),
        (
            "RandomForestClassifier",
            attrs(&[("model.n_estimators", AttrValue::Int(10))]),
        ),
        ("KMeans", Attrs::new()),
    ]
}

#[test]
fn same_seed_same_model_other_seed_other_model() {
    let (train_set, test_set) = common::iris_split();
    for (est, a) in all_estimators() {
        let fit_iris = |a: &Attrs| fit(est, a, &train_set.features, &train_set.label).unwrap();
        let (m1, m2) = (fit_iris(&a), fit_iris(&a));
        assert_eq!(m1.to_bytes().unwrap(), m2.to_bytes().unwrap(), "{est}");
        if est == "LinearClassifier" {
            continue; // no randomness
        }
        let key = if est == "xgboost.gbtree" {
            "seed"
        } else {
            "model.seed"
        };
        let mut other = a.clone();
        other.insert(key.to_string(), AttrValue::Int(7));
        let m3 = fit_iris(&other);
        assert_ne!(
            m1.to_bytes().unwrap(),
            m3.to_bytes().unwrap(),
            "{est}: the seed has no effect"
        );
        assert_eq!(m3.attributes().get(key), Some(&AttrValue::Int(7)));
        let _ = m3.predict(&test_set.features).unwrap();
    }
}

#[test]
fn progress_reports_the_loss_per_epoch() {
    let (train_set, _) = common::iris_split();
    let mut lines = Vec::new();
    let a = attrs(&[
        ("model.n_classes", AttrValue::Int(3)),
        ("train.epoch", AttrValue::Int(5)),
    ]);
    train(
        "DNNClassifier",
        &a,
        &train_set.features,
        Some(&train_set.label),
        None,
        &mut |l: &str| lines.push(l.to_string()),
    )
    .unwrap();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines[0].starts_with("epoch 1/5: loss"), "{lines:?}");
    assert!(lines[4].starts_with("epoch 5/5: loss"), "{lines:?}");
    let mut rounds = Vec::new();
    let a = attrs(&[
        ("objective", AttrValue::Str("multi:softprob".into())),
        ("num_boost_round", AttrValue::Int(3)),
    ]);
    train(
        "xgboost.gbtree",
        &a,
        &train_set.features,
        Some(&train_set.label),
        None,
        &mut |l: &str| rounds.push(l.to_string()),
    )
    .unwrap();
    // XGBoost's evaluation lines, rounds counted from 0
    assert_eq!(rounds.len(), 3);
    assert!(rounds[0].starts_with("[0] train-mlogloss:"), "{rounds:?}");
    assert!(rounds[2].starts_with("[2] train-mlogloss:"), "{rounds:?}");
}

#[test]
fn warm_start_continues_training() {
    let (train_set, test_set) = common::iris_split();
    let fit = |est: &str, a: &Attrs, warm| {
        train(
            est,
            a,
            &train_set.features,
            Some(&train_set.label),
            warm,
            &mut quiet(),
        )
    };

    // DNN: more epochs from the saved weights lower the loss further
    let a = attrs(&[
        ("model.n_classes", AttrValue::Int(3)),
        ("train.epoch", AttrValue::Int(3)),
    ]);
    let first = fit("DNNClassifier", &a, None).unwrap();
    let last_loss = |m: Option<&sqlflow_models::TrainedModel>| {
        let mut line = String::new();
        train(
            "DNNClassifier",
            &a,
            &train_set.features,
            Some(&train_set.label),
            m,
            &mut |l: &str| line = l.to_string(),
        )
        .unwrap();
        line.rsplit(' ').next().unwrap().parse::<f64>().unwrap()
    };
    let (fresh, continued) = (last_loss(None), last_loss(Some(&first)));
    assert!(
        continued < fresh,
        "warm start did not continue: {continued} >= {fresh}"
    );

    // boosting adds rounds, forests add trees
    let a = attrs(&[
        ("objective", AttrValue::Str("multi:softprob".into())),
        ("num_boost_round", AttrValue::Int(4)),
    ]);
    let m = fit("xgboost.gbtree", &a, None).unwrap();
    let m2 = fit("xgboost.gbtree", &a, Some(&m)).unwrap();
    assert_eq!((m.n_iterations(), m2.n_iterations()), (Some(4), Some(8)));
    let rf = fit(
        "RandomForestClassifier",
        &attrs(&[("model.n_estimators", AttrValue::Int(5))]),
        None,
    )
    .unwrap();
    let rf2 = fit(
        "RandomForestClassifier",
        &attrs(&[("model.n_estimators", AttrValue::Int(5))]),
        Some(&rf),
    )
    .unwrap();
    assert_eq!(rf2.n_iterations(), Some(10));
    // linear and KMeans start from the old solution
    let lin = fit("LinearClassifier", &iris3(), None).unwrap();
    let lin2 = fit("LinearClassifier", &iris3(), Some(&lin)).unwrap();
    assert!(
        lin2.evaluate(&test_set.features, &test_set.label, &["Accuracy"])
            .unwrap()[0]
            .1
            > 0.9
    );

    // mismatches are clear errors
    let err = fit("RandomForestClassifier", &Attrs::new(), Some(&m)).unwrap_err();
    assert!(
        err.to_string()
            .contains("xgboost.gbtree, not a RandomForestClassifier"),
        "{err}"
    );
    let err = fit(
        "xgboost.gbtree",
        &attrs(&[("objective", AttrValue::Str("multi:softmax".into()))]),
        Some(&m),
    )
    .unwrap_err();
    assert!(err.to_string().contains("'objective'"), "{err}");
    let err = fit(
        "DNNClassifier",
        &attrs(&[
            ("model.n_classes", AttrValue::Int(3)),
            ("model.hidden_units", AttrValue::Int(5)),
        ]),
        Some(&first),
    )
    .unwrap_err();
    assert!(err.to_string().contains("model.hidden_units"), "{err}");
    let fewer: Vec<Column> = train_set.features[..3].to_vec();
    let err = train(
        "xgboost.gbtree",
        &a,
        &fewer,
        Some(&train_set.label),
        Some(&m),
        &mut quiet(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ModelError::WarmStart(_)) && err.to_string().contains("petal_width"),
        "{err}"
    );
    let mut more = train_set.features.clone();
    more.push(num_col("extra", &vec![Some(0.0); 120]));
    let err = train(
        "xgboost.gbtree",
        &a,
        &more,
        Some(&train_set.label),
        Some(&m),
        &mut quiet(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("'extra'"), "{err}");
    let dt = fit("DecisionTreeClassifier", &Attrs::new(), None).unwrap();
    assert!(fit("DecisionTreeClassifier", &Attrs::new(), Some(&dt)).is_err());
}

#[test]
fn metadata_accessors() {
    let (train_set, _) = common::iris_split();
    let strings = train_set.label_as_strings(&common::IRIS_CLASSES);
    let m = fit(
        "RandomForestClassifier",
        &attrs(&[("model.n_estimators", AttrValue::Int(3))]),
        &train_set.features,
        &strings,
    )
    .unwrap();
    assert_eq!(m.estimator(), "RandomForestClassifier");
    assert_eq!(m.task(), Task::Classification);
    assert_eq!(m.label_name(), Some("class"));
    assert_eq!(m.feature_names(), common::IRIS_FEATURES.to_vec());
    assert_eq!(m.classes().unwrap().len(), 3);
    assert_eq!(
        m.attributes().get("model.max_features"),
        Some(&AttrValue::Str("sqrt".into()))
    );
    assert_eq!(
        m.attributes().get("model.n_estimators"),
        Some(&AttrValue::Int(3))
    );
    let km = train(
        "KMeans",
        &Attrs::new(),
        &train_set.features,
        None,
        None,
        &mut quiet(),
    )
    .unwrap();
    assert_eq!(
        (km.task(), km.label_name(), km.classes()),
        (Task::Clustering, None, None)
    );
    assert!(km.feature_importance(&train_set.features).is_err());
}

#[test]
fn models_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<sqlflow_models::TrainedModel>();
    assert_send_sync::<ModelError>();
}

#[test]
fn edge_cases_are_errors_or_work_never_panics() {
    let estimators = [
        ("DNNRegressor", Attrs::new()),
        ("LinearRegressor", Attrs::new()),
        ("xgboost.gbtree", Attrs::new()),
        ("DecisionTreeRegressor", Attrs::new()),
        (
            "RandomForestRegressor",
            attrs(&[("model.n_estimators", AttrValue::Int(3))]),
        ),
        ("KMeans", attrs(&[("model.n_clusters", AttrValue::Int(1))])),
    ];
    // one row, a constant column and an all-NULL column
    let one = vec![num_col("a", &[Some(1.0)]), num_col("b", &[None])];
    let y = num_col("y", &[Some(3.0)]);
    for (est, a) in &estimators {
        let model = fit(est, a, &one, &y).unwrap_or_else(|e| panic!("{est}: {e}"));
        let p = model
            .predict(&[
                num_col("a", &[Some(5.0), None]),
                num_col("b", &[Some(2.0), None]),
            ])
            .unwrap();
        assert_eq!(p.len(), 2, "{est}");
        // zero rows in, zero predictions out
        assert!(
            model
                .predict(&[num_col("a", &[]), num_col("b", &[])])
                .unwrap()
                .is_empty(),
            "{est}"
        );
    }
    // no rows, no columns, ragged columns
    for features in [
        vec![num_col("a", &[])],
        vec![],
        vec![num_col("a", &[Some(1.0)]), num_col("b", &[])],
    ] {
        let err = fit(
            "LinearRegressor",
            &Attrs::new(),
            &features,
            &num_col("y", &[]),
        )
        .unwrap_err();
        assert!(matches!(err, ModelError::InvalidData(_)), "{err}");
    }
    // label length mismatch, more clusters than rows, a duplicated column name
    let err = fit(
        "LinearRegressor",
        &Attrs::new(),
        &one,
        &num_col("y", &[Some(1.0), Some(2.0)]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("rows"), "{err}");
    let err = train("KMeans", &Attrs::new(), &one, None, None, &mut quiet()).unwrap_err();
    assert!(err.to_string().contains("model.n_clusters = 3"), "{err}");
    let dup = vec![num_col("a", &[Some(1.0)]), num_col("a", &[Some(2.0)])];
    let err = fit("LinearRegressor", &Attrs::new(), &dup, &y).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    // a diverging DNN is a training error, not NaN predictions
    let (train_set, _) = common::boston_split();
    let wild = attrs(&[
        ("optimizer.learning_rate", AttrValue::Float(1e6)),
        ("train.epoch", AttrValue::Int(50)),
    ]);
    match fit("DNNRegressor", &wild, &train_set.features, &train_set.label) {
        Ok(m) => assert!(
            m.predict(&train_set.features)
                .unwrap()
                .iter()
                .all(|p| matches!(p, Prediction::Value(v) if v.is_finite()))
        ),
        Err(e) => assert!(matches!(e, ModelError::Training(_)), "{e}"),
    }
}

/// EVALUATE streams its rows: an evaluation fed in batches gives the metrics (and a
/// classifier's classes and probabilities) of one fed all rows at once, for each kind
/// of model (classes, values, clusters whose label values first appear in a later
/// batch).
#[test]
fn an_evaluation_in_batches_equals_one_over_all_rows() {
    let (reg, cls) = common::synthetic(3_000, 5);
    let cases: [(&str, Attrs, &common::Dataset, &[&str]); 3] = [
        (
            "DecisionTreeClassifier",
            attrs(&[("model.max_depth", AttrValue::Int(4))]),
            &cls,
            &["Accuracy", "AUC", "log_loss"],
        ),
        ("LinearRegressor", Attrs::new(), &reg, &["MSE", "MAE", "R2"]),
        (
            "KMeans",
            attrs(&[("model.n_clusters", AttrValue::Int(3))]),
            &cls,
            &["ARI"],
        ),
    ];
    for (estimator, a, data, metrics) in cases {
        let label = (estimator != "KMeans").then_some(&data.label);
        let model = train(estimator, &a, &data.features, label, None, &mut quiet()).unwrap();
        let mut whole = model.evaluation(metrics).unwrap();
        whole.add(&data.features, &data.label).unwrap();
        let whole = whole.finish().unwrap();
        let mut parts = model.evaluation(metrics).unwrap();
        // Sorted by label first, so some label values only appear in later batches.
        let mut order: Vec<usize> = (0..data.label.len()).collect();
        order.sort_by(|&i, &j| {
            format!("{:?}", data.label.get(i)).cmp(&format!("{:?}", data.label.get(j)))
        });
        for chunk in order.chunks(700) {
            let batch = data.rows(chunk);
            parts.add(&batch.features, &batch.label).unwrap();
        }
        let parts = parts.finish().unwrap();
        // Rows were reordered: the same multiset of per-row results, so the same
        // metrics up to summation order.
        assert_eq!(whole.metrics.len(), parts.metrics.len(), "{estimator}");
        for ((n, a), (m, b)) in whole.metrics.iter().zip(&parts.metrics) {
            assert_eq!(n, m);
            assert!((a - b).abs() < 1e-9, "{estimator} {n}: {a} vs {b}");
        }
        assert_eq!(whole.classes.is_some(), estimator.ends_with("Classifier"));
        if let (Some((t1, _)), Some((t2, _))) = (&whole.classes, &parts.classes) {
            let mut a = t1.clone();
            let mut b = t2.clone();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "{estimator}: the same classes");
        }
    }
    // An unknown metric is refused before any row is read.
    let model = train(
        "KMeans",
        &Attrs::new(),
        &cls.features,
        None,
        None,
        &mut quiet(),
    )
    .unwrap();
    assert!(matches!(
        model.evaluation(&["Accuracy"]),
        Err(ModelError::UnknownMetric { .. })
    ));
}
