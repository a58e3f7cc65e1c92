//! Accuracy of every estimator on the real datasets (shared splits: iris 120/30,
//! boston 400/106; see testdata/README.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::attrs;
use sqlflow_models::{AttrValue, Attrs, ClassLabel, Prediction, TrainedModel, train};

fn fit(estimator: &str, a: &Attrs, data: &common::Dataset) -> TrainedModel {
    common::fit(estimator, a, &data.features, &data.label)
        .unwrap_or_else(|e| panic!("{estimator}: {e}"))
}

fn metric(model: &TrainedModel, data: &common::Dataset, name: &str) -> f64 {
    model
        .evaluate(&data.features, &data.label, &[name])
        .unwrap()[0]
        .1
}

fn iris_classifiers() -> Vec<(&'static str, &'static str, Attrs)> {
    vec![
        (
            "DNNClassifier",
            "DNNClassifier",
            attrs(&[
                ("model.n_classes", AttrValue::Int(3)),
                (
                    "model.hidden_units",
                    AttrValue::List(vec![AttrValue::Int(10), AttrValue::Int(20)]),
                ),
                ("train.epoch", AttrValue::Int(200)),
                ("optimizer.learning_rate", AttrValue::Float(0.01)),
            ]),
        ),
        (
            "LinearClassifier",
            "LinearClassifier",
            attrs(&[("model.n_classes", AttrValue::Int(3))]),
        ),
        (
            "xgboost multi:softmax",
            "xgboost.gbtree",
            attrs(&[
                ("objective", AttrValue::Str("multi:softmax".into())),
                ("num_class", AttrValue::Int(3)),
                ("train.num_boost_round", AttrValue::Int(30)),
            ]),
        ),
        (
            "xgboost multi:softprob",
            "xgboost.gbtree",
            attrs(&[
                ("objective", AttrValue::Str("multi:softprob".into())),
                ("num_class", AttrValue::Int(3)),
                ("eta", AttrValue::Float(0.1)),
                ("subsample", AttrValue::Float(0.8)),
                ("colsample_bytree", AttrValue::Float(0.75)),
                ("num_boost_round", AttrValue::Int(50)),
            ]),
        ),
        (
            "DecisionTreeClassifier",
            "DecisionTreeClassifier",
            Attrs::new(),
        ),
        (
            "RandomForestClassifier",
            "RandomForestClassifier",
            attrs(&[("model.n_estimators", AttrValue::Int(50))]),
        ),
    ]
}

#[test]
fn iris_classifiers_above_90_percent() {
    let (train_set, test_set) = common::iris_split();
    for (label, estimator, a) in iris_classifiers() {
        let model = fit(estimator, &a, &train_set);
        let acc = metric(&model, &test_set, "Accuracy");
        assert!(acc > 0.9, "{label}: accuracy {acc}");
        // predictions are the original integer classes; probabilities sum to 1
        let preds = model.predict(&test_set.features).unwrap();
        assert!(
            preds
                .iter()
                .all(|p| matches!(p, Prediction::Class(ClassLabel::Int(0..=2)))),
            "{label}"
        );
        for p in model.predict_proba(&test_set.features).unwrap() {
            assert_eq!(p.len(), 3);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{label}: {p:?}");
        }
    }
}

#[test]
fn boston_regressors_r2_above_0_6() {
    let (train_set, test_set) = common::boston_split();
    let cases = vec![
        (
            "DNNRegressor",
            attrs(&[
                (
                    "model.hidden_units",
                    AttrValue::List(vec![AttrValue::Int(32), AttrValue::Int(16)]),
                ),
                ("train.epoch", AttrValue::Int(100)),
                ("optimizer.learning_rate", AttrValue::Float(0.003)),
            ]),
        ),
        ("LinearRegressor", Attrs::new()),
        (
            "xgboost.gbtree",
            attrs(&[
                ("objective", AttrValue::Str("reg:squarederror".into())),
                ("eta", AttrValue::Float(0.1)),
                ("num_boost_round", AttrValue::Int(100)),
            ]),
        ),
        ("DecisionTreeRegressor", Attrs::new()),
        (
            "RandomForestRegressor",
            attrs(&[("model.n_estimators", AttrValue::Int(50))]),
        ),
    ];
    for (estimator, a) in cases {
        let model = fit(estimator, &a, &train_set);
        let r2 = metric(&model, &test_set, "R2");
        assert!(r2 > 0.6, "{estimator}: R2 {r2}");
        let preds = model.predict(&test_set.features).unwrap();
        assert!(
            preds
                .iter()
                .all(|p| matches!(p, Prediction::Value(v) if v.is_finite()))
        );
        assert!(model.predict_proba(&test_set.features).is_err());
    }
}

#[test]
fn linear_regressor_matches_ordinary_least_squares() {
    // scikit-learn's LinearRegression on the same split gives R2 0.6583 (bench/sklearn_baseline.py).
    let (train_set, test_set) = common::boston_split();
    let model = fit("LinearRegressor", &Attrs::new(), &train_set);
    let r2 = metric(&model, &test_set, "R2");
    assert!((r2 - 0.6583).abs() < 5e-5, "R2 {r2}");
}

#[test]
fn binary_logistic_with_string_labels() {
    let (train_set, test_set) = common::iris_split();
    let to_binary = |d: &common::Dataset| {
        let names = ["other", "other", "virginica"];
        d.label_as_strings(&names)
    };
    let (ytr, yte) = (to_binary(&train_set), to_binary(&test_set));
    let a = attrs(&[
        ("objective", AttrValue::Ident("binary:logistic".into())),
        ("num_boost_round", AttrValue::Int(20)),
    ]);
    for (estimator, a) in [
        ("xgboost.gbtree", a),
        ("LinearClassifier", Attrs::new()),
        ("DecisionTreeClassifier", Attrs::new()),
    ] {
        let model = common::fit(estimator, &a, &train_set.features, &ytr).unwrap();
        assert_eq!(
            model.classes().unwrap(),
            &[
                ClassLabel::Str("other".into()),
                ClassLabel::Str("virginica".into())
            ]
        );
        let m = model
            .evaluate(&test_set.features, &yte, &["accuracy", "AUC", "f1"])
            .unwrap();
        assert_eq!(m[0].0, "accuracy", "named as the user wrote it");
        assert!(m[0].1 > 0.9, "{estimator}: {m:?}");
        assert!(m[1].1 > 0.9, "{estimator}: {m:?}");
        let preds = model.predict(&test_set.features).unwrap();
        let right = preds
            .iter()
            .zip(&yte.to_features())
            .filter(|(p, t)| match (p, t) {
                (Prediction::Class(ClassLabel::Str(a)), Some(sqlflow_models::Feature::Str(b))) => {
                    a == b
                }
                _ => false,
            })
            .count();
        assert!(right as f64 / preds.len() as f64 > 0.9, "{estimator}");
    }
}

#[test]
fn kmeans_finds_the_iris_species() {
    let iris = common::iris();
    let a = attrs(&[("model.n_clusters", AttrValue::Int(3))]);
    let model = train("KMeans", &a, &iris.features, None, None, &mut |_| {}).unwrap();
    let preds = model.predict(&iris.features).unwrap();
    assert!(
        preds
            .iter()
            .all(|p| matches!(p, Prediction::Cluster(0..=2)))
    );
    let ari = model
        .evaluate(&iris.features, &iris.label, &["ARI"])
        .unwrap()[0]
        .1;
    // scikit-learn's KMeans reaches 0.73 on all 150 rows.
    assert!(ari > 0.7, "ARI {ari}");
}

#[test]
fn tree_importance_prefers_petal_features() {
    let iris = common::iris();
    for (estimator, a) in [
        ("DecisionTreeClassifier", Attrs::new()),
        (
            "RandomForestClassifier",
            attrs(&[("model.n_estimators", AttrValue::Int(30))]),
        ),
        (
            "xgboost.gbtree",
            attrs(&[
                ("objective", AttrValue::Str("multi:softprob".into())),
                ("num_class", AttrValue::Int(3)),
            ]),
        ),
    ] {
        let model = fit(estimator, &a, &iris);
        let imp = model.feature_importance(&[]).unwrap();
        assert_eq!(imp.len(), 4);
        let top: Vec<&str> = imp.iter().take(2).map(|(n, _)| n.as_str()).collect();
        assert!(
            top.iter().all(|n| n.starts_with("petal")),
            "{estimator}: {imp:?}"
        );
        let sum: f64 = imp.iter().map(|(_, v)| v).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{estimator}: {imp:?}");
    }
}

#[test]
fn linear_and_dnn_importance() {
    let iris = common::iris();
    let model = fit(
        "LinearClassifier",
        &attrs(&[("model.n_classes", AttrValue::Int(3))]),
        &iris,
    );
    let imp = model.feature_importance(&[]).unwrap();
    assert_eq!(imp.len(), 4);
    assert!(imp[0].0.starts_with("petal"), "{imp:?}");

    let dnn = fit(
        "DNNClassifier",
        &attrs(&[
            ("model.n_classes", AttrValue::Int(3)),
            ("train.epoch", AttrValue::Int(100)),
            ("optimizer.learning_rate", AttrValue::Float(0.01)),
        ]),
        &iris,
    );
    // No label needed: the ranking comes from how far predictions move. Deterministic.
    assert!(dnn.feature_importance(&[]).is_err());
    let imp = dnn.feature_importance(&iris.features).unwrap();
    assert_eq!(imp, dnn.feature_importance(&iris.features).unwrap());
    assert_eq!(imp.len(), 4);
    assert!(imp[0].0.starts_with("petal") && imp[0].1 > 0.1, "{imp:?}");
    assert!(imp.iter().all(|(_, v)| *v >= 0.0), "{imp:?}");
}
