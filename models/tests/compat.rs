//! SQLFlow programs' estimator names, attributes and metric names: each new estimator
//! trains well, each attribute that should change the model does (and the model stays
//! good), runtime-only attributes are accepted with a notice, and training logs read
//! like TensorFlow's and XGBoost's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{Dataset, attrs};
use sqlflow_models::{
    AttrValue as V, Attrs, Column, Feature, ModelError, TrainOptions, TrainedModel, train,
    train_with, validate_attributes,
};

fn s(text: &str) -> V {
    V::Str(text.into())
}

fn units(v: &[i64]) -> V {
    V::List(v.iter().map(|i| V::Int(*i)).collect())
}

/// Trains with the test split as validation rows; returns the model and its log.
fn fit_logged(
    est: &str,
    a: &Attrs,
    train_set: &Dataset,
    test_set: &Dataset,
) -> (TrainedModel, Vec<String>) {
    let mut lines = Vec::new();
    let opts = TrainOptions {
        validation: Some((&test_set.features, &test_set.label)),
        ..TrainOptions::default()
    };
    let model = train_with(
        est,
        a,
        &train_set.features,
        Some(&train_set.label),
        &opts,
        &mut |l: &str| lines.push(l.to_string()),
    )
    .unwrap_or_else(|e| panic!("{est} {a:?}: {e}"));
    (model, lines)
}

fn fit(est: &str, a: &Attrs, data: &Dataset) -> TrainedModel {
    common::fit(est, a, &data.features, &data.label).unwrap_or_else(|e| panic!("{est} {a:?}: {e}"))
}

fn metric(model: &TrainedModel, data: &Dataset, name: &str) -> f64 {
    model
        .evaluate(&data.features, &data.label, &[name])
        .unwrap()[0]
        .1
}

fn proba(model: &TrainedModel, features: &[Column]) -> Vec<Vec<f64>> {
    model.predict_proba(features).unwrap()
}

fn bytes(model: &TrainedModel) -> Vec<u8> {
    model.to_bytes().unwrap()
}

/// The iris label as virginica (1) or not (0).
fn iris_binary(d: &Dataset) -> Dataset {
    Dataset {
        features: d.features.clone(),
        label: Column::new(
            "class",
            d.label
                .to_features()
                .iter()
                .map(|v| match v {
                    Some(Feature::Num(x)) => Some(Feature::Num(if *x == 2.0 { 1.0 } else { 0.0 })),
                    other => other.clone(),
                })
                .collect(),
        ),
    }
}

#[test]
fn every_estimator_name_trains_a_good_model() {
    let (itr, ite) = common::iris_split();
    let (btr, bte) = common::boston_split();
    let classifiers = [
        (
            "sqlflow_models.DNNClassifier",
            attrs(&[("train.epoch", V::Int(60))]),
        ),
        (
            "DNNLinearCombinedClassifier",
            attrs(&[("model.n_classes", V::Int(3)), ("train.epoch", V::Int(60))]),
        ),
        ("xgboost.XGBClassifier", Attrs::new()),
        (
            "xgboost.dart",
            attrs(&[
                ("objective", s("multi:softprob")),
                ("rate_drop", V::Float(0.1)),
            ]),
        ),
        (
            "xgboost.gblinear",
            attrs(&[
                ("objective", s("multi:softprob")),
                ("num_boost_round", V::Int(50)),
            ]),
        ),
        (
            "BoostedTreesClassifier",
            attrs(&[
                ("model.n_classes", V::Int(3)),
                ("model.n_trees", V::Int(30)),
            ]),
        ),
    ];
    for (est, a) in classifiers {
        let m = fit(est, &a, &itr);
        assert_eq!(m.estimator(), est);
        let acc = metric(&m, &ite, "Accuracy");
        assert!(acc >= 0.9, "{est}: iris accuracy {acc}");
    }
    let regressors = [
        (
            "sqlflow_models.DNNRegressor",
            attrs(&[("train.epoch", V::Int(100))]),
        ),
        (
            "DNNLinearCombinedRegressor",
            attrs(&[
                ("model.dnn_hidden_units", units(&[32, 16])),
                ("train.epoch", V::Int(100)),
                ("dnn_optimizer.learning_rate", V::Float(0.003)),
            ]),
        ),
        (
            "xgboost.XGBRegressor",
            attrs(&[
                ("n_estimators", V::Int(50)),
                ("learning_rate", V::Float(0.1)),
            ]),
        ),
        (
            "xgboost.dart",
            attrs(&[
                ("num_boost_round", V::Int(50)),
                ("eta", V::Float(0.1)),
                ("rate_drop", V::Float(0.1)),
            ]),
        ),
        (
            "xgboost.gblinear",
            attrs(&[("num_boost_round", V::Int(200))]),
        ),
        (
            "BoostedTreesRegressor",
            attrs(&[("model.n_trees", V::Int(50))]),
        ),
    ];
    for (est, a) in regressors {
        let m = fit(est, &a, &btr);
        let r2 = metric(&m, &bte, "R2");
        assert!(r2 > 0.6, "{est}: boston R2 {r2}");
        // saved and loaded, the model predicts the same
        let loaded = TrainedModel::from_bytes(&bytes(&m)).unwrap();
        assert_eq!(
            loaded.predict(&bte.features).unwrap(),
            m.predict(&bte.features).unwrap(),
            "{est}"
        );
    }
}

#[test]
fn unknown_estimator_lists_the_known_ones() {
    let (itr, _) = common::iris_split();
    for label in [Some(&itr.label), None] {
        let err = train(
            "xgboost.XGBRanker",
            &Attrs::new(),
            &itr.features,
            label,
            None,
            &mut |_| {},
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ModelError::UnknownEstimator { .. }), "{msg}");
        assert!(
            msg.contains("unknown estimator 'xgboost.XGBRanker'"),
            "{msg}"
        );
        for known in [
            "DNNLinearCombinedClassifier",
            "BoostedTreesRegressor",
            "xgboost.gblinear",
            "sqlflow_models.DNNClassifier",
        ] {
            assert!(msg.contains(known), "{known}: {msg}");
        }
    }
}

#[test]
fn optimizers_train_different_good_networks() {
    let (itr, ite) = common::iris_split();
    let base = [("model.n_classes", V::Int(3)), ("train.epoch", V::Int(60))];
    let mut seen: Vec<Vec<u8>> = Vec::new();
    for (opt, lr, extra) in [
        ("Adam", 0.01, None),
        ("SGD", 0.1, Some(("optimizer.momentum", V::Float(0.9)))),
        ("Adagrad", 0.1, None),
        ("RMSprop", 0.01, Some(("optimizer.rho", V::Float(0.8)))),
        (
            "Ftrl",
            0.1,
            Some(("optimizer.l2_regularization_strength", V::Float(0.001))),
        ),
    ] {
        let mut items: Vec<(&str, V)> = base.to_vec();
        items.push(("model.optimizer", s(opt)));
        items.push(("optimizer.learning_rate", V::Float(lr)));
        items.extend(extra);
        let m = fit("DNNClassifier", &attrs(&items), &itr);
        assert_eq!(m.attributes().get("model.optimizer"), Some(&s(opt)));
        let acc = metric(&m, &ite, "Accuracy");
        assert!(acc >= 0.9, "{opt}: accuracy {acc}");
        let b = bytes(&m);
        assert!(
            !seen.contains(&b),
            "{opt} trained the same network as another optimizer"
        );
        seen.push(b);
    }
    // an argument of another optimizer is an error naming the right ones
    let err = common::fit(
        "DNNClassifier",
        &attrs(&[
            ("model.n_classes", V::Int(3)),
            ("model.optimizer", s("Adagrad")),
            ("optimizer.beta_1", V::Float(0.8)),
        ]),
        &itr.features,
        &itr.label,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("optimizer.beta_1") && err.contains("optimizer.initial_accumulator_value"),
        "{err}"
    );
    let err = common::fit(
        "DNNClassifier",
        &attrs(&[("model.optimizer", s("Nadamax"))]),
        &itr.features,
        &itr.label,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("SGD, Adam, Adagrad, RMSprop, Ftrl"), "{err}");
}

#[test]
fn dropout_batch_norm_and_activation_change_good_networks() {
    let (itr, ite) = common::iris_split();
    let (btr, bte) = common::boston_split();
    let plain_c = [
        ("model.n_classes", V::Int(3)),
        ("train.epoch", V::Int(60)),
        ("optimizer.learning_rate", V::Float(0.01)),
    ];
    let plain_r = [
        ("model.hidden_units", units(&[32, 16])),
        ("train.epoch", V::Int(60)),
        ("optimizer.learning_rate", V::Float(0.003)),
    ];
    let base_c = fit("DNNClassifier", &attrs(&plain_c), &itr);
    let base_r = fit("DNNRegressor", &attrs(&plain_r), &btr);
    for (key, value) in [
        ("model.dropout", V::Float(0.2)),
        ("model.batch_norm", V::Bool(true)),
        ("model.activation_fn", s("tanh")),
        ("model.activation", s("elu")),
    ] {
        let mut c: Vec<(&str, V)> = plain_c.to_vec();
        c.push((key, value.clone()));
        let m = fit("DNNClassifier", &attrs(&c), &itr);
        let acc = metric(&m, &ite, "Accuracy");
        assert!(acc >= 0.9, "{key}: accuracy {acc}");
        assert_ne!(
            proba(&m, &ite.features),
            proba(&base_c, &ite.features),
            "{key} has no effect"
        );
        let mut r: Vec<(&str, V)> = plain_r.to_vec();
        r.push((key, value));
        let m = fit("DNNRegressor", &attrs(&r), &btr);
        let r2 = metric(&m, &bte, "R2");
        assert!(r2 > 0.75, "{key}: R2 {r2}");
        assert_ne!(
            m.predict(&bte.features).unwrap(),
            base_r.predict(&bte.features).unwrap(),
            "{key}"
        );
    }
    // batch statistics are part of the saved model
    let mut c: Vec<(&str, V)> = plain_c.to_vec();
    c.push(("model.batch_norm", V::Bool(true)));
    let m = fit("DNNClassifier", &attrs(&c), &itr);
    let loaded = TrainedModel::from_bytes(&bytes(&m)).unwrap();
    assert_eq!(proba(&loaded, &ite.features), proba(&m, &ite.features));
    let err = common::fit(
        "DNNClassifier",
        &attrs(&[("model.dropout", V::Float(1.0))]),
        &itr.features,
        &itr.label,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model.dropout") && err.contains("[0, 1)"),
        "{err}"
    );
}

#[test]
fn max_steps_and_epochs_bound_training() {
    let (itr, ite) = common::iris_split();
    // 120 rows in batches of 32: 4 steps an epoch, so 10 steps end in epoch 3
    let a = attrs(&[
        ("model.n_classes", V::Int(3)),
        ("train.epoch", V::Int(50)),
        ("train.max_steps", V::Int(10)),
    ]);
    let (_, lines) = fit_logged("DNNClassifier", &a, &itr, &ite);
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("epoch 3/50: loss") && last.contains("train.max_steps = 10"),
        "{lines:?}"
    );
}

#[test]
fn epoch_lines_carry_validation_metrics_and_are_thinned_out() {
    let (itr, ite) = common::iris_split();
    let a = attrs(&[
        ("model.n_classes", V::Int(3)),
        ("train.epoch", V::Int(120)),
        ("optimizer.learning_rate", V::Float(0.01)),
    ]);
    let (_, lines) = fit_logged("DNNClassifier", &a, &itr, &ite);
    assert!(
        lines.len() <= 61 && lines.len() >= 40,
        "{} lines",
        lines.len()
    );
    assert!(lines[0].starts_with("epoch 1/120: loss "), "{}", lines[0]);
    let last = lines.last().unwrap();
    assert!(last.starts_with("epoch 120/120: loss "), "{last}");
    let acc: f64 = last.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(last.contains(", validate accuracy ") && acc > 0.9, "{last}");
    // with validation.metrics, those metrics under the names written
    let opts = TrainOptions {
        validation: Some((&ite.features, &ite.label)),
        metrics: vec!["SparseCategoricalAccuracy".into(), "f1_score".into()],
        ..TrainOptions::default()
    };
    let mut lines = Vec::new();
    train_with(
        "DNNClassifier",
        &a,
        &itr.features,
        Some(&itr.label),
        &opts,
        &mut |l: &str| lines.push(l.to_string()),
    )
    .unwrap();
    let last = lines.last().unwrap();
    assert!(
        last.contains("validate SparseCategoricalAccuracy 0.")
            && last.contains("validate f1_score 0."),
        "{last}"
    );
    let opts = TrainOptions {
        metrics: vec!["r2_score".into()],
        ..opts
    };
    let err = train_with(
        "DNNClassifier",
        &a,
        &itr.features,
        Some(&itr.label),
        &opts,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::UnknownMetric { .. }), "{err}");
}

#[test]
fn wide_and_deep_trains_both_parts_on_their_columns() {
    let (itr, ite) = common::iris_split();
    let groups = vec![
        (
            "linear_feature_columns".to_string(),
            vec!["petal_length".to_string(), "petal_width".to_string()],
        ),
        (
            "dnn_feature_columns".to_string(),
            vec!["sepal_length".to_string(), "sepal_width".to_string()],
        ),
    ];
    let a = attrs(&[
        ("model.n_classes", V::Int(3)),
        ("train.epoch", V::Int(60)),
        ("dnn_optimizer.learning_rate", V::Float(0.01)),
    ]);
    let opts = TrainOptions {
        column_groups: groups.clone(),
        ..TrainOptions::default()
    };
    let m = train_with(
        "DNNLinearCombinedClassifier",
        &a,
        &itr.features,
        Some(&itr.label),
        &opts,
        &mut |_| {},
    )
    .unwrap();
    assert!(metric(&m, &ite, "Accuracy") > 0.9);
    assert_eq!(
        m.attributes().get("model.linear_optimizer"),
        Some(&s("Ftrl"))
    );
    assert_eq!(
        m.attributes().get("model.dnn_optimizer"),
        Some(&s("Adagrad"))
    );
    // changing a column of either part changes the predictions: both parts are used
    let base = proba(&m, &ite.features);
    for column in ["petal_width", "sepal_width"] {
        let shifted: Vec<Column> = ite
            .features
            .iter()
            .map(|c| {
                if c.name == column {
                    Column::numeric(
                        c.name.clone(),
                        c.to_features().into_iter().map(|v| match v {
                            Some(Feature::Num(x)) => x + 1.0,
                            _ => 0.0,
                        }),
                    )
                } else {
                    c.clone()
                }
            })
            .collect();
        assert_ne!(
            proba(&m, &shifted),
            base,
            "{column} does not reach the model"
        );
    }
    // the linear part alone does better than the network alone on sepal columns: a
    // model whose linear part reads the petals beats one whose network is all it has
    let sepal_only = TrainOptions {
        column_groups: vec![(
            "dnn_feature_columns".to_string(),
            vec!["sepal_length".to_string(), "sepal_width".to_string()],
        )],
        ..TrainOptions::default()
    };
    let deep_only = train_with(
        "DNNLinearCombinedClassifier",
        &a,
        &itr.features,
        Some(&itr.label),
        &sepal_only,
        &mut |_| {},
    )
    .unwrap();
    assert!(metric(&deep_only, &ite, "Accuracy") < metric(&m, &ite, "Accuracy"));
    // an input wide and deep does not have is an error naming its inputs
    let bad = TrainOptions {
        column_groups: vec![(
            "embedding_columns".to_string(),
            vec!["petal_width".to_string()],
        )],
        ..TrainOptions::default()
    };
    let err = train_with(
        "DNNLinearCombinedClassifier",
        &a,
        &itr.features,
        Some(&itr.label),
        &bad,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("linear_feature_columns and dnn_feature_columns"),
        "{err}"
    );
    // saved and loaded, the split between the parts is kept
    let loaded = TrainedModel::from_bytes(&bytes(&m)).unwrap();
    assert_eq!(proba(&loaded, &ite.features), base);
}

#[test]
fn xgboost_rounds_are_logged_like_xgboost_and_stop_early() {
    let (btr, bte) = common::boston_split();
    let a = attrs(&[
        ("num_boost_round", V::Int(300)),
        ("eta", V::Float(0.3)),
        ("early_stopping_rounds", V::Int(5)),
    ]);
    let (m, lines) = fit_logged("xgboost.gbtree", &a, &btr, &bte);
    assert!(
        lines[0].starts_with("[0] train-rmse:") && lines[0].contains(" validate-rmse:"),
        "{lines:?}"
    );
    let stop = lines
        .iter()
        .find(|l| l.starts_with("early stopping"))
        .expect("an early-stopping line");
    let best: usize = stop
        .split("best round [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(m.n_iterations(), Some(best + 1), "{stop}");
    assert!(best < 290, "{stop}");
    assert!(metric(&m, &bte, "R2") > 0.8);
    // without validation rows there is nothing to watch
    let err = common::fit("xgboost.gbtree", &a, &btr.features, &btr.label)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("early_stopping_rounds") && err.contains("validation.select"),
        "{err}"
    );
    // eval_metric names the logged metrics; the last one drives early stopping
    let a = attrs(&[
        ("eval_metric", V::List(vec![s("mae"), s("rmse")])),
        ("num_boost_round", V::Int(3)),
    ]);
    let (_, lines) = fit_logged("xgboost.gbtree", &a, &btr, &bte);
    assert!(
        lines[2].starts_with("[2] train-mae:")
            && lines[2].contains("train-rmse:")
            && lines[2].contains("validate-rmse:"),
        "{lines:?}"
    );
    let err = common::fit(
        "xgboost.gbtree",
        &attrs(&[("eval_metric", s("mlogloss"))]),
        &btr.features,
        &btr.label,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("eval_metric") && err.contains("reg:squarederror"),
        "{err}"
    );
    // many rounds: about 50 lines, the last one always
    let (_, lines) = fit_logged(
        "xgboost.gbtree",
        &attrs(&[("num_boost_round", V::Int(200)), ("max_depth", V::Int(2))]),
        &btr,
        &bte,
    );
    assert!((50..=51).contains(&lines.len()), "{}", lines.len());
    assert!(lines.last().unwrap().starts_with("[199] "), "{lines:?}");
    let (_, lines) = fit_logged(
        "xgboost.gbtree",
        &attrs(&[("num_boost_round", V::Int(20)), ("verbose_eval", V::Int(5))]),
        &btr,
        &bte,
    );
    assert_eq!(lines.len(), 5, "{lines:?}");
}

#[test]
fn scale_pos_weight_and_base_score_shift_predictions() {
    let (itr, ite) = common::iris_split();
    let (tr, te) = (iris_binary(&itr), iris_binary(&ite));
    let mean_p = |m: &TrainedModel| {
        proba(m, &te.features).iter().map(|p| p[1]).sum::<f64>() / te.label.len() as f64
    };
    let base = attrs(&[
        ("objective", s("binary:logistic")),
        ("num_boost_round", V::Int(5)),
        ("max_depth", V::Int(1)),
    ]);
    let plain = fit("xgboost.gbtree", &base, &tr);
    let mut heavy = base.clone();
    heavy.insert("scale_pos_weight".into(), V::Float(10.0));
    let weighted = fit("xgboost.gbtree", &heavy, &tr);
    assert!(
        mean_p(&weighted) > mean_p(&plain) + 0.05,
        "{} vs {}",
        mean_p(&weighted),
        mean_p(&plain)
    );
    assert!(metric(&weighted, &te, "AUC") > 0.9);
    // base_score: the first margin (a probability for binary:logistic)
    let mut start = base.clone();
    start.insert("base_score".into(), V::Float(0.9));
    start.insert("num_boost_round".into(), V::Int(1));
    start.insert("eta".into(), V::Float(0.01));
    let m = fit("xgboost.gbtree", &start, &tr);
    assert!(mean_p(&m) > 0.85, "{}", mean_p(&m));
    start.insert("base_score".into(), V::Float(1.5));
    let err = common::fit("xgboost.gbtree", &start, &tr.features, &tr.label)
        .unwrap_err()
        .to_string();
    assert!(err.contains("base_score"), "{err}");
}

#[test]
fn tree_growth_attributes_change_good_models() {
    let (btr, bte) = common::boston_split();
    let base = [("num_boost_round", V::Int(40)), ("eta", V::Float(0.1))];
    let plain = fit("xgboost.gbtree", &attrs(&base), &btr);
    let plain_pred = plain.predict(&bte.features).unwrap();
    for extra in [
        vec![("grow_policy", s("lossguide")), ("max_leaves", V::Int(8))],
        vec![("max_leaves", V::Int(4))],
        vec![("colsample_bylevel", V::Float(0.5))],
        vec![("colsample_bynode", V::Float(0.5))],
        vec![("max_delta_step", V::Float(5.0))],
        vec![("min_child_weight", V::Float(10.0))],
        vec![("gamma", V::Float(50.0))],
        vec![("reg_alpha", V::Float(5.0))],
        vec![("tree_method", s("hist")), ("max_bin", V::Int(8))],
    ] {
        let mut a: Vec<(&str, V)> = base.to_vec();
        a.extend(extra.clone());
        let m = fit("xgboost.gbtree", &attrs(&a), &btr);
        assert_ne!(
            m.predict(&bte.features).unwrap(),
            plain_pred,
            "{extra:?} has no effect"
        );
        let r2 = metric(&m, &bte, "R2");
        assert!(r2 > 0.7, "{extra:?}: R2 {r2}");
    }
    // exact search tries every distinct value: boston's continuous columns have more than
    // 256, so its trees differ from hist's; iris has fewer, so there they are the same
    let mut exact: Vec<(&str, V)> = base.to_vec();
    exact.push(("tree_method", s("exact")));
    let m = fit("xgboost.gbtree", &attrs(&exact), &btr);
    assert_ne!(m.predict(&bte.features).unwrap(), plain_pred);
    assert!(metric(&m, &bte, "R2") > 0.8);
    let (itr, ite) = common::iris_split();
    let multi = |extra: Option<(&'static str, V)>| {
        let mut a = vec![("objective", s("multi:softprob"))];
        a.extend(extra);
        fit("xgboost.gbtree", &attrs(&a), &itr)
            .predict_proba(&ite.features)
            .unwrap()
    };
    assert_eq!(multi(Some(("tree_method", s("exact")))), multi(None));
}

#[test]
fn boosters_are_real_and_interchangeable_by_name() {
    let (btr, bte) = common::boston_split();
    // gblinear is XGBoost's coordinate descent: after 1000 rounds at eta 0.5 XGBoost
    // 3.2.0 reaches R2 0.6578 on this split (as ordinary least squares, 0.6583)
    let lin = fit(
        "xgboost.gblinear",
        &attrs(&[("num_boost_round", V::Int(1000)), ("eta", V::Float(0.5))]),
        &btr,
    );
    let r2 = metric(&lin, &bte, "R2");
    assert!((r2 - 0.6578).abs() < 1e-3, "{r2}");
    // ... and after one round it has XGBoost's first weights: the bias stays at the
    // label mean and `chas` (a 0/1 column) moves most
    let one = fit(
        "xgboost.gblinear",
        &attrs(&[("num_boost_round", V::Int(1))]),
        &btr,
    );
    let imp = one.feature_importance(&[]).unwrap();
    assert_eq!(imp[0].0, "CHAS", "{imp:?}");
    // booster = "gblinear" on xgboost.gbtree is the same model
    let via_attr = fit(
        "xgboost.gbtree",
        &attrs(&[
            ("booster", s("gblinear")),
            ("num_boost_round", V::Int(1000)),
            ("eta", V::Float(0.5)),
        ]),
        &btr,
    );
    assert_eq!(
        via_attr.predict(&bte.features).unwrap(),
        lin.predict(&bte.features).unwrap()
    );
    // DART without dropping is plain boosting; with dropping another model
    let trees = [("num_boost_round", V::Int(30)), ("eta", V::Float(0.1))];
    let gbtree = fit("xgboost.gbtree", &attrs(&trees), &btr)
        .predict(&bte.features)
        .unwrap();
    let dart0 = fit("xgboost.dart", &attrs(&trees), &btr)
        .predict(&bte.features)
        .unwrap();
    assert_eq!(dart0, gbtree);
    let mut dropping: Vec<(&str, V)> = trees.to_vec();
    dropping.push(("rate_drop", V::Float(0.2)));
    let dart = fit("xgboost.dart", &attrs(&dropping), &btr);
    assert_ne!(dart.predict(&bte.features).unwrap(), gbtree);
    assert!(metric(&dart, &bte, "R2") > 0.8);
    let mut forest: Vec<(&str, V)> = dropping.clone();
    forest.push(("normalize_type", s("forest")));
    forest.push(("sample_type", s("weighted")));
    assert_ne!(
        fit("xgboost.dart", &attrs(&forest), &btr)
            .predict(&bte.features)
            .unwrap(),
        dart.predict(&bte.features).unwrap()
    );
}

#[test]
fn scikit_learn_spellings_pick_their_objective() {
    let (itr, ite) = common::iris_split();
    let multi = fit("xgboost.XGBClassifier", &Attrs::new(), &itr);
    assert_eq!(
        multi.attributes().get("objective"),
        Some(&s("multi:softprob"))
    );
    let binary = fit("xgboost.XGBClassifier", &Attrs::new(), &iris_binary(&itr));
    assert_eq!(
        binary.attributes().get("objective"),
        Some(&s("binary:logistic"))
    );
    assert!(metric(&binary, &iris_binary(&ite), "Accuracy") > 0.9);
    let err = common::fit(
        "xgboost.XGBClassifier",
        &attrs(&[("objective", s("reg:squarederror"))]),
        &itr.features,
        &itr.label,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("XGBRegressor"), "{err}");
    let (btr, _) = common::boston_split();
    let reg = fit(
        "xgboost.XGBRegressor",
        &attrs(&[("n_estimators", V::Int(5))]),
        &btr,
    );
    assert_eq!(
        (reg.n_iterations(), reg.attributes().get("booster")),
        (Some(5), Some(&s("gbtree")))
    );
}

#[test]
fn boosted_trees_read_tensorflows_names() {
    let (btr, bte) = common::boston_split();
    let a = attrs(&[
        ("model.n_trees", V::Int(20)),
        ("model.max_depth", V::Int(3)),
        ("model.learning_rate", V::Float(0.3)),
        ("model.l2_regularization", V::Float(1.0)),
        ("model.n_batches_per_layer", V::Int(1)),
    ]);
    let m = fit("BoostedTreesRegressor", &a, &btr);
    assert_eq!(m.n_iterations(), Some(20));
    assert!(metric(&m, &bte, "R2") > 0.8);
    let mut centered = a.clone();
    centered.insert("model.center_bias".into(), V::Bool(true));
    let c = fit("BoostedTreesRegressor", &centered, &btr);
    assert_ne!(
        c.predict(&bte.features).unwrap(),
        m.predict(&bte.features).unwrap()
    );
    let mut pruned = a.clone();
    pruned.insert("model.pruning_mode".into(), s("pre"));
    pruned.insert("model.tree_complexity".into(), V::Float(100.0));
    assert_ne!(
        fit("BoostedTreesRegressor", &pruned, &btr)
            .predict(&bte.features)
            .unwrap(),
        m.predict(&bte.features).unwrap()
    );
    let notices = validate_attributes("BoostedTreesRegressor", &a).unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("model.n_batches_per_layer has no effect here"),
        "{notices:?}"
    );
}

#[test]
fn runtime_attributes_are_accepted_with_a_notice_and_typos_are_errors() {
    let a = attrs(&[
        ("model.n_classes", V::Int(3)),
        ("train.num_workers", V::Int(4)),
        ("train.save_checkpoints_steps", V::Int(100)),
        ("train.log_every_n_iter", V::Int(10)),
        ("model.config", s("{}")),
    ]);
    let notices = validate_attributes("DNNClassifier", &a).unwrap();
    assert_eq!(notices.len(), 4, "{notices:?}");
    assert!(
        notices.iter().all(|n| n.contains("has no effect here: ")),
        "{notices:?}"
    );
    let (itr, ite) = common::iris_split();
    let m = fit("DNNClassifier", &a, &itr);
    assert!(
        m.attributes().get("train.num_workers").is_none(),
        "dropped, not stored"
    );
    let _ = metric(&m, &ite, "Accuracy");
    // `nthread` is no longer among them: it is `train.threads` (tests/threads.rs).
    for (est, key) in [
        ("xgboost.gbtree", "verbosity"),
        ("xgboost.gbtree", "train.disk_cache"),
        ("LinearClassifier", "model.optimizer"),
        ("LinearRegressor", "train.epoch"),
    ] {
        let notices = validate_attributes(est, &attrs(&[(key, V::Int(1))])).unwrap();
        assert_eq!(notices.len(), 1, "{est} {key}");
    }
    let err = validate_attributes("DNNClassifier", &attrs(&[("train.num_worker", V::Int(4))]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::UnknownAttribute { .. }), "{msg}");
    assert!(
        msg.contains("model.batch_norm (default false)")
            && msg.contains("accepted without effect: ")
            && msg.contains("train.num_workers"),
        "{msg}"
    );
}

#[test]
fn keras_and_scikit_learn_metric_names() {
    let (itr, ite) = common::iris_split();
    let m = fit(
        "xgboost.gbtree",
        &attrs(&[("objective", s("multi:softprob"))]),
        &itr,
    );
    let names = [
        "Accuracy",
        "accuracy_score",
        "SparseCategoricalAccuracy",
        "CategoricalAccuracy",
        "Precision",
        "precision_score",
        "Recall",
        "recall_score",
        "F1",
        "f1_score",
        "AUC",
        "roc_auc_score",
        "log_loss",
        "SparseCategoricalCrossentropy",
        "balanced_accuracy_score",
        "cohen_kappa_score",
        "matthews_corrcoef",
        "zero_one_loss",
        "TruePositives",
    ];
    let got = m.evaluate(&ite.features, &ite.label, &names).unwrap();
    let value = |n: &str| got.iter().find(|(k, _)| k == n).unwrap().1;
    assert_eq!(
        got.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        names.to_vec(),
        "named as written"
    );
    for (a, b) in [
        ("Accuracy", "accuracy_score"),
        ("Accuracy", "SparseCategoricalAccuracy"),
        ("Precision", "precision_score"),
        ("F1", "f1_score"),
        ("AUC", "roc_auc_score"),
        ("log_loss", "SparseCategoricalCrossentropy"),
    ] {
        assert_eq!(value(a), value(b), "{a} vs {b}");
    }
    assert!((value("zero_one_loss") - (1.0 - value("Accuracy"))).abs() < 1e-12);
    assert_eq!(value("TruePositives"), value("Accuracy") * 30.0);
    let (btr, bte) = common::boston_split();
    let r = fit("LinearRegressor", &Attrs::new(), &btr);
    let names = [
        "MeanSquaredError",
        "mean_squared_error",
        "MSE",
        "MeanAbsoluteError",
        "mean_absolute_error",
        "RootMeanSquaredError",
        "r2_score",
        "MeanAbsolutePercentageError",
        "mean_absolute_percentage_error",
        "explained_variance_score",
    ];
    let got = r.evaluate(&bte.features, &bte.label, &names).unwrap();
    assert_eq!(got[0].1, got[1].1);
    assert_eq!(got[0].1, got[2].1);
    assert_eq!(got[3].1, got[4].1);
    assert!((got[5].1 - got[0].1.sqrt()).abs() < 1e-12);
    assert!(
        (got[7].1 - 100.0 * got[8].1).abs() < 1e-6,
        "Keras' MAPE is in percent"
    );
    assert!((got[6].1 - 0.6583).abs() < 1e-4);
}

#[test]
fn new_estimators_continue_with_using() {
    let (itr, _) = common::iris_split();
    let a = attrs(&[
        ("objective", s("multi:softprob")),
        ("num_boost_round", V::Int(5)),
    ]);
    for est in ["xgboost.dart", "xgboost.gblinear"] {
        let m = fit(est, &a, &itr);
        let more = train(
            est,
            &a,
            &itr.features,
            Some(&itr.label),
            Some(&m),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(more.n_iterations(), Some(10), "{est}");
    }
    let wd = attrs(&[("model.n_classes", V::Int(3)), ("train.epoch", V::Int(2))]);
    let m = fit("DNNLinearCombinedClassifier", &wd, &itr);
    let more = train(
        "DNNLinearCombinedClassifier",
        &wd,
        &itr.features,
        Some(&itr.label),
        Some(&m),
        &mut |_| {},
    )
    .unwrap();
    assert_ne!(bytes(&more), bytes(&m));
    // a network's activation is part of its shape
    let mut other = wd.clone();
    other.insert("model.dnn_activation_fn".into(), s("tanh"));
    let err = train(
        "DNNLinearCombinedClassifier",
        &other,
        &itr.features,
        Some(&itr.label),
        Some(&m),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::WarmStart(_)), "{err}");
}

#[test]
fn models_saved_in_format_1_still_load() {
    // Format 1 had none of the new fields; they default to what format 1 meant.
    let (itr, ite) = common::iris_split();
    for (est, a, new_fields) in [
        (
            "DNNClassifier",
            attrs(&[("model.n_classes", V::Int(3)), ("train.epoch", V::Int(3))]),
            &[
                ",\"activation\":\"Relu\"",
                ",\"norms\":[]",
                ",\"dropout\":0.0",
                ",\"deep_inputs\":null",
                ",\"wide\":null",
            ][..],
        ),
        (
            "xgboost.gbtree",
            attrs(&[("objective", s("multi:softprob"))]),
            &[
                ",\"booster\":\"Gbtree\"",
                ",\"tree_weights\":[]",
                ",\"linear\":null",
            ][..],
        ),
    ] {
        let m = fit(est, &a, &itr);
        let json = String::from_utf8(bytes(&m)[12..].to_vec()).unwrap();
        let mut old = json.clone();
        for field in new_fields {
            assert!(old.contains(field), "{est}: {field} not in {json}");
            old = old.replacen(field, "", 1);
        }
        let mut v1 = b"SQLFMODL\x01\x00\x00\x00".to_vec();
        v1.extend_from_slice(old.as_bytes());
        let loaded = TrainedModel::from_bytes(&v1).unwrap_or_else(|e| panic!("{est}: {e}"));
        assert_eq!(
            proba(&loaded, &ite.features),
            proba(&m, &ite.features),
            "{est}"
        );
    }
}
