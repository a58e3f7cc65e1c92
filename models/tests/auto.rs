//! sqlflow_models.AutoClassifier / AutoRegressor: the search on iris and boston, its
//! record, determinism, budgets and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{attrs, boston_split, iris_split};
use sqlflow_models::{AttrValue, Attrs, ModelError, TrainOptions, TrainedModel, train_with};

fn auto(
    name: &str,
    a: &Attrs,
    d: &common::Dataset,
    lines: &mut Vec<String>,
) -> Result<TrainedModel, ModelError> {
    train_with(
        name,
        a,
        &d.features,
        Some(&d.label),
        &TrainOptions::default(),
        &mut |l| lines.push(l.to_string()),
    )
}

/// Each family with its defaults (plus `extra` where it takes it) on the same split: the
/// best test metric, printed with the others.
fn single_families(
    names: &[&str],
    extra: &Attrs,
    train: &common::Dataset,
    test: &common::Dataset,
    metric: &str,
) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for name in names {
        let a = if name.contains("Linear") || name.contains("DNN") {
            extra.clone()
        } else {
            Attrs::new()
        };
        let m = common::fit(name, &a, &train.features, &train.label).unwrap();
        let v = m.evaluate(&test.features, &test.label, &[metric]).unwrap()[0].1;
        eprintln!("  single family {name} (defaults): test {metric} {v:.4}");
        best = best.max(v);
    }
    best
}

#[test]
fn auto_classifier_on_iris() {
    let (train, test) = iris_split();
    let mut lines = Vec::new();
    let a = attrs(&[
        ("model.n_classes", AttrValue::Int(3)),
        ("train.epoch", AttrValue::Int(10)),
    ]);
    let m = auto("sqlflow_models.AutoClassifier", &a, &train, &mut lines).unwrap();
    let search = m.auto_search().unwrap();
    assert_eq!(search.estimator, "sqlflow_models.AutoClassifier");
    assert_eq!(search.trials.len(), 12);
    assert_eq!(m.estimator(), search.trials[search.winner].estimator);
    let trial_lines = lines.iter().filter(|l| l.starts_with("trial ")).count();
    assert_eq!(trial_lines, 12, "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("trial 2/12: xgboost.XGBClassifier max_depth=3 eta=0.3 num_boost_round=50 → validate accuracy ")), "{lines:#?}");
    let best = search.trials[search.winner].score.unwrap();
    assert!(
        search
            .trials
            .iter()
            .all(|t| t.score.is_none_or(|s| s <= best))
    );
    let acc = m
        .evaluate(&test.features, &test.label, &["accuracy"])
        .unwrap()[0]
        .1;
    eprintln!(
        "iris: winner {} ({}), validate {best:.4}, test accuracy {acc:.4}",
        m.estimator(),
        search.trials[search.winner].attributes
    );
    for t in &search.trials {
        eprintln!(
            "  {} {} → {:?} ({:.2} s)",
            t.estimator, t.attributes, t.score, t.seconds
        );
    }
    assert!(acc >= 0.9, "{acc}");
    let best_single = single_families(
        &[
            "LinearClassifier",
            "xgboost.XGBClassifier",
            "RandomForestClassifier",
            "DNNClassifier",
        ],
        &attrs(&[("model.n_classes", AttrValue::Int(3))]),
        &train,
        &test,
        "accuracy",
    );
    assert!(acc >= best_single - 0.05, "{acc} vs {best_single}");
    // saved and loaded with its search; the same seed gives the same model
    let back = TrainedModel::from_bytes(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(back.auto_search(), m.auto_search());
    assert_eq!(
        back.predict(&test.features).unwrap(),
        m.predict(&test.features).unwrap()
    );
    let again = auto("sqlflow_models.autoclassifier", &a, &train, &mut Vec::new()).unwrap();
    assert_eq!(
        again.predict(&test.features).unwrap(),
        m.predict(&test.features).unwrap()
    );
    assert_eq!(again.auto_search().unwrap().winner, search.winner);
}

#[test]
fn auto_regressor_on_boston() {
    let (train, test) = boston_split();
    let mut lines = Vec::new();
    let m = auto(
        "sqlflow_models.AutoRegressor",
        &Attrs::new(),
        &train,
        &mut lines,
    )
    .unwrap();
    let search = m.auto_search().unwrap();
    assert_eq!(search.metric, "r2");
    let best = search.trials[search.winner].score.unwrap();
    let r2 = m.evaluate(&test.features, &test.label, &["r2"]).unwrap()[0].1;
    eprintln!(
        "boston: winner {} ({}), validate r2 {best:.4}, test r2 {r2:.4}",
        m.estimator(),
        search.trials[search.winner].attributes
    );
    for t in &search.trials {
        eprintln!(
            "  {} {} → {:?} ({:.2} s)",
            t.estimator, t.attributes, t.score, t.seconds
        );
    }
    assert!(r2 >= 0.8, "{r2}");
    let best_single = single_families(
        &[
            "LinearRegressor",
            "xgboost.XGBRegressor",
            "RandomForestRegressor",
            "DNNRegressor",
        ],
        &Attrs::new(),
        &train,
        &test,
        "r2",
    );
    assert!(r2 >= best_single - 0.05, "{r2} vs {best_single}");
    assert!(m.estimator().contains("Regressor"), "{}", m.estimator());
}

#[test]
fn budgets_metric_and_validation_rows() {
    let (train, test) = iris_split();
    let a = attrs(&[
        ("model.max_trials", AttrValue::Int(3)),
        ("model.metric", AttrValue::Str("f1".into())),
    ]);
    let mut lines = Vec::new();
    let m = auto("sqlflow_models.AutoClassifier", &a, &train, &mut lines).unwrap();
    assert_eq!(m.auto_search().unwrap().trials.len(), 3);
    assert_eq!(m.auto_search().unwrap().metric, "f1");
    // A tiny time budget: the first trial always runs, then the search stops.
    let a = attrs(&[("model.time_budget_seconds", AttrValue::Float(1e-9))]);
    let mut lines = Vec::new();
    let m = auto("sqlflow_models.AutoClassifier", &a, &train, &mut lines).unwrap();
    assert_eq!(m.auto_search().unwrap().trials.len(), 1);
    assert!(
        lines.iter().any(|l| l.contains("time budget")),
        "{lines:#?}"
    );
    // Held-out rows given: no split, no refit.
    let options = TrainOptions {
        validation: Some((&test.features, &test.label)),
        ..TrainOptions::default()
    };
    let a = attrs(&[("model.max_trials", AttrValue::Int(4))]);
    let m = train_with(
        "sqlflow_models.AutoClassifier",
        &a,
        &train.features,
        Some(&train.label),
        &options,
        &mut |_| {},
    )
    .unwrap();
    assert!(
        m.auto_search()
            .unwrap()
            .validated_on
            .starts_with("validation.select (30 rows)")
    );
}

#[test]
fn errors_name_the_attributes() {
    let (train, _) = iris_split();
    let err = |a: Attrs| {
        auto("sqlflow_models.AutoClassifier", &a, &train, &mut Vec::new())
            .unwrap_err()
            .to_string()
    };
    let e = err(attrs(&[("model.max_trials", AttrValue::Int(0))]));
    assert!(e.contains("model.max_trials"), "{e}");
    let e = err(attrs(&[("model.metric", AttrValue::Str("r2".into()))]));
    assert!(e.contains("model.metric"), "{e}");
    let e = err(attrs(&[("model.n_classes", AttrValue::Int(2))]));
    assert!(e.contains("model.n_classes = 3"), "{e}");
    let e = err(attrs(&[("model.nope", AttrValue::Int(2))]));
    assert!(e.contains("model.nope"), "{e}");
    let notes = sqlflow_models::validate_attributes(
        "sqlflow_models.AutoClassifier",
        &attrs(&[("train.epoch", AttrValue::Int(10))]),
    )
    .unwrap();
    assert!(
        notes.iter().any(|n| n.contains("DNN candidates")),
        "{notes:?}"
    );
    let info = sqlflow_models::estimator_info("sqlflow_models.AutoRegressor").unwrap();
    assert!(info.needs_label);
}
