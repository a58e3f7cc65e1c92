//! `train.threads`: the same model whatever the thread count, and the attribute's errors.
//!
//! The data is large enough for every parallel path to run with two threads (histograms
//! shared out by feature, partitions of large nodes, gradient and metric row blocks, trees
//! side by side), so a result that depended on the thread count would show here.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{Dataset, attrs};
use sqlflow_models::{AttrValue, ModelError, TrainedModel, validate_attributes};

/// The model's saved form without `train.threads`, the one attribute allowed to differ.
fn saved(m: &TrainedModel) -> serde_json::Value {
    let bytes = m.to_bytes().unwrap();
    // `SQLFMODL` and the format version come before the JSON.
    let mut v: serde_json::Value = serde_json::from_slice(&bytes[12..]).unwrap();
    let removed = v["attrs"]
        .as_object_mut()
        .expect("attrs is a map")
        .remove("train.threads");
    assert!(removed.is_some(), "train.threads is recorded");
    v
}

fn fit_with_threads(
    data: &Dataset,
    estimator: &str,
    base: &[(&str, AttrValue)],
    threads: i64,
) -> TrainedModel {
    let mut a = attrs(base);
    a.insert("train.threads".into(), AttrValue::Int(threads));
    common::fit(estimator, &a, &data.features, &data.label).unwrap()
}

/// Trains with 1, 2 and 3 threads and checks the three models are the same, bit for bit.
fn same_for_any_thread_count(data: &Dataset, estimator: &str, base: &[(&str, AttrValue)]) {
    let one = fit_with_threads(data, estimator, base, 1);
    let p1 = one.predict_proba(&data.features).ok();
    for threads in [2, 3] {
        let other = fit_with_threads(data, estimator, base, threads);
        assert!(
            saved(&one) == saved(&other),
            "{estimator}: {threads} threads trained another model"
        );
        assert_eq!(p1, other.predict_proba(&data.features).ok());
    }
}

/// 70,000 rows: a root node of more than 2^16 rows is partitioned in parallel.
fn big() -> (Dataset, Dataset) {
    common::synthetic(70_000, 11)
}

#[test]
fn boosting_is_the_same_on_any_thread_count() {
    let (reg, cls) = big();
    let rounds = [
        ("num_boost_round", AttrValue::Int(2)),
        ("max_depth", AttrValue::Int(4)),
    ];
    let mut multi = rounds.to_vec();
    multi.push(("objective", AttrValue::Str("multi:softprob".into())));
    same_for_any_thread_count(&cls, "xgboost.gbtree", &multi);
    // Row and column sampling, loss-guided growth and the regression gradients.
    let mut sampled = rounds.to_vec();
    sampled.extend([
        ("subsample", AttrValue::Float(0.8)),
        ("colsample_bytree", AttrValue::Float(0.7)),
        ("colsample_bynode", AttrValue::Float(0.8)),
        ("grow_policy", AttrValue::Str("lossguide".into())),
        ("max_leaves", AttrValue::Int(12)),
        ("eval_metric", AttrValue::Str("rmse,mae".into())),
    ]);
    same_for_any_thread_count(&reg, "xgboost.gbtree", &sampled);
}

#[test]
fn trees_and_forests_are_the_same_on_any_thread_count() {
    let (reg, cls) = big();
    // A lone tree shares its nodes' histograms out; a forest grows trees side by side.
    same_for_any_thread_count(
        &reg,
        "DecisionTreeRegressor",
        &[("model.max_depth", AttrValue::Int(6))],
    );
    let small = cls.rows(&(0..5_000).collect::<Vec<_>>());
    same_for_any_thread_count(
        &small,
        "RandomForestClassifier",
        &[
            ("model.n_estimators", AttrValue::Int(7)),
            ("model.max_depth", AttrValue::Int(5)),
        ],
    );
}

/// k-means assigns rows in blocks on every thread; its centroids, its inertia and its
/// clusters are the same whatever the thread count.
#[test]
fn kmeans_is_the_same_on_any_thread_count() {
    let (_, cls) = big();
    let fit = |threads: i64| {
        let mut a = attrs(&[("model.n_clusters", AttrValue::Int(8))]);
        a.insert("train.threads".into(), AttrValue::Int(threads));
        sqlflow_models::train("KMeans", &a, &cls.features, None, None, &mut |_| {}).unwrap()
    };
    let one = fit(1);
    let clusters = one.predict(&cls.features).unwrap();
    for threads in [2, 3] {
        let other = fit(threads);
        assert!(
            saved(&one) == saved(&other),
            "KMeans: {threads} threads trained another model"
        );
        assert_eq!(clusters, other.predict(&cls.features).unwrap());
    }
}

#[test]
fn the_attribute_is_checked_and_named() {
    for value in [
        AttrValue::Int(-2),
        AttrValue::Str("four".into()),
        AttrValue::Float(1.5),
    ] {
        let a = attrs(&[("train.threads", value.clone())]);
        let err = validate_attributes("xgboost.gbtree", &a).unwrap_err();
        match &err {
            ModelError::InvalidAttribute { name, expected, .. } => {
                assert_eq!(name, "train.threads");
                assert!(expected.contains("integer >= 0"), "{expected}");
            }
            other => panic!("{value}: {other}"),
        }
        assert!(err.to_string().contains("train.threads"), "{err}");
    }
    // 0 (every core) and XGBoost's spellings, scikit-learn's -1 included.
    for (key, v) in [("train.threads", 0), ("nthread", 2), ("n_jobs", -1)] {
        let a = attrs(&[(key, AttrValue::Int(v))]);
        let notices = validate_attributes("xgboost.XGBClassifier", &a).unwrap();
        assert!(notices.is_empty(), "{key}: {notices:?}");
    }
    for estimator in [
        "RandomForestRegressor",
        "DecisionTreeClassifier",
        "BoostedTreesClassifier",
    ] {
        let a = attrs(&[("train.threads", AttrValue::Int(2))]);
        assert!(validate_attributes(estimator, &a).is_ok(), "{estimator}");
    }
    // The same setting twice under two names is an error naming both.
    let a = attrs(&[
        ("nthread", AttrValue::Int(1)),
        ("n_jobs", AttrValue::Int(2)),
    ]);
    let err = validate_attributes("xgboost.gbtree", &a)
        .unwrap_err()
        .to_string();
    assert!(err.contains("train.threads"), "{err}");
}
