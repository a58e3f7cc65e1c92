//! What training measured as it went (`train_with_history`), the data of the loss and
//! metric curves the engine draws: per epoch for neural models, per round for boosting,
//! per L-BFGS iteration for linear classifiers, nothing for models without iterations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{attrs, iris_split};
use sqlflow_models::{AttrValue, Attrs, TrainOptions, TrainingHistory, train_with_history};

fn history(estimator: &str, a: &Attrs, with_validation: bool) -> TrainingHistory {
    let (fit, held_out) = iris_split();
    let options = TrainOptions {
        validation: with_validation.then_some((held_out.features.as_slice(), &held_out.label)),
        ..TrainOptions::default()
    };
    let (_, h) = train_with_history(
        estimator,
        a,
        &fit.features,
        Some(&fit.label),
        &options,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{estimator}: {e}"));
    h
}

fn series(h: &TrainingHistory) -> Vec<(&str, &str, usize)> {
    h.series
        .iter()
        .map(|s| (s.metric.as_str(), s.set, s.points.len()))
        .collect()
}

#[test]
fn neural_models_record_every_epochs_loss_and_the_validation_metrics() {
    let a = attrs(&[
        ("model.n_classes", AttrValue::Int(3)),
        ("train.epoch", AttrValue::Int(120)),
    ]);
    let h = history("DNNClassifier", &a, true);
    assert_eq!(h.step, "epoch");
    // The loss every epoch; validation on the epochs that get a progress line.
    let s = series(&h);
    assert_eq!(s[0], ("loss", "train", 120));
    assert_eq!((s[1].0, s[1].1), ("accuracy", "validate"));
    assert!((40..=61).contains(&s[1].2), "{s:?}");
    let loss = &h.series[0].points;
    assert_eq!((loss[0].0, loss[119].0), (1, 120));
    assert!(loss[119].1 < loss[0].1, "{loss:?}");
    // Without validation rows: the loss alone.
    let h = history("DNNClassifier", &a, false);
    assert_eq!(series(&h), [("loss", "train", 120)]);
}

#[test]
fn boosting_records_its_metrics_on_train_and_validation_rows_every_round() {
    let a = attrs(&[
        ("objective", AttrValue::Str("multi:softprob".into())),
        ("num_class", AttrValue::Int(3)),
        ("train.num_boost_round", AttrValue::Int(15)),
    ]);
    let h = history("xgboost.gbtree", &a, true);
    assert_eq!(h.step, "round");
    assert_eq!(
        series(&h),
        [("mlogloss", "train", 15), ("mlogloss", "validate", 15)]
    );
    // Rounds count from 0, as XGBoost's log does.
    assert_eq!(h.series[0].points[0].0, 0);
    assert_eq!(h.series[0].points[14].0, 14);
    assert!(h.series[0].points[14].1 < h.series[0].points[0].1);
}

#[test]
fn linear_classifiers_record_lbfgs_iterations() {
    let a = attrs(&[("model.n_classes", AttrValue::Int(3))]);
    let h = history("LinearClassifier", &a, false);
    assert_eq!(h.step, "iteration");
    let loss = &h.series[0].points;
    assert_eq!((h.series[0].metric.as_str(), loss[0].0), ("loss", 0));
    assert!(
        loss.len() > 2 && loss.last().unwrap().1 < loss[0].1,
        "{loss:?}"
    );
}

#[test]
fn models_without_iterations_record_nothing() {
    for est in ["DecisionTreeClassifier", "RandomForestClassifier"] {
        assert!(history(est, &Attrs::new(), true).is_empty(), "{est}");
    }
    assert!(history("LinearRegressor", &Attrs::new(), false).is_empty());
}
