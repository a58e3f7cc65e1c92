//! Tree SHAP (`TrainedModel::shap_values`): additivity for every tree family on the real
//! datasets, the dummy property, hostile input, models saved without node covers, and
//! (when Python's `shap` package is installed) equality with shap's TreeExplainer on the
//! same trees. The Shapley definition itself (every coalition on random trees) is checked
//! in the crate's unit tests (`src/shap.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::attrs;
use sqlflow_models::{AttrValue, Attrs, Column, Feature, Prediction, ShapValues, TrainedModel};

fn fit(estimator: &str, a: &Attrs, data: &common::Dataset) -> TrainedModel {
    common::fit(estimator, a, &data.features, &data.label)
        .unwrap_or_else(|e| panic!("{estimator}: {e}"))
}

fn int(i: i64) -> AttrValue {
    AttrValue::Int(i)
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.into())
}

fn regressors() -> Vec<(&'static str, Attrs)> {
    vec![
        ("DecisionTreeRegressor", attrs(&[])),
        (
            "RandomForestRegressor",
            attrs(&[("model.n_estimators", int(20))]),
        ),
        (
            "xgboost.gbtree",
            attrs(&[
                ("objective", s("reg:squarederror")),
                ("num_boost_round", int(30)),
                ("subsample", AttrValue::Float(0.8)),
                ("colsample_bytree", AttrValue::Float(0.7)),
            ]),
        ),
        (
            "xgboost.dart",
            attrs(&[
                ("objective", s("reg:squarederror")),
                ("num_boost_round", int(20)),
                ("rate_drop", AttrValue::Float(0.3)),
            ]),
        ),
        (
            "xgboost.XGBRegressor",
            attrs(&[("num_boost_round", int(15))]),
        ),
        (
            "BoostedTreesRegressor",
            attrs(&[("model.n_trees", int(20))]),
        ),
    ]
}

fn classifiers() -> Vec<(&'static str, Attrs)> {
    vec![
        ("DecisionTreeClassifier", attrs(&[])),
        (
            "RandomForestClassifier",
            attrs(&[("model.n_estimators", int(15))]),
        ),
        (
            "xgboost.gbtree",
            attrs(&[
                ("objective", s("multi:softprob")),
                ("num_class", int(3)),
                ("num_boost_round", int(20)),
            ]),
        ),
        (
            "xgboost.dart",
            attrs(&[
                ("objective", s("multi:softmax")),
                ("num_class", int(3)),
                ("num_boost_round", int(10)),
                ("rate_drop", AttrValue::Float(0.2)),
            ]),
        ),
        (
            "xgboost.XGBClassifier",
            attrs(&[
                ("objective", s("multi:softprob")),
                ("num_class", int(3)),
                ("num_boost_round", int(10)),
            ]),
        ),
        (
            "BoostedTreesClassifier",
            attrs(&[("model.n_classes", int(3)), ("model.n_trees", int(10))]),
        ),
    ]
}

/// The values plus the expected value, per row and output.
fn totals(v: &ShapValues) -> Vec<Vec<f64>> {
    (0..v.rows)
        .map(|r| {
            (0..v.outputs.len())
                .map(|o| v.row(r, o).iter().sum::<f64>() + v.expected_value[o])
                .collect()
        })
        .collect()
}

fn values(model: &TrainedModel, features: &[Column]) -> Vec<f64> {
    model
        .predict(features)
        .unwrap()
        .into_iter()
        .map(|p| match p {
            Prediction::Value(v) => v,
            other => panic!("not a value: {other:?}"),
        })
        .collect()
}

fn softmax(m: &[f64]) -> Vec<f64> {
    let max = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = m.iter().map(|v| (v - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn regressors_add_up_to_the_prediction_on_boston() {
    let (train, test) = common::boston_split();
    for (est, a) in regressors() {
        let model = fit(est, &a, &train);
        let v = model.shap_values(&test.features).unwrap();
        assert_eq!(v.outputs, ["value"], "{est}");
        assert_eq!(v.features.len(), 13);
        assert_eq!(v.rows, 106);
        let pred = values(&model, &test.features);
        let mut worst: f64 = 0.0;
        for (t, p) in totals(&v).iter().zip(&pred) {
            worst = worst.max((t[0] - p).abs());
        }
        assert!(worst < 1e-6, "{est}: additivity off by {worst}");
        // Most of the explanation lands on the features boston is known for.
        let imp = v.mean_abs();
        let top = imp
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| v.features[i].as_str())
            .unwrap();
        assert!(["LSTAT", "RM"].contains(&top), "{est}: top feature {top}");
    }
}

#[test]
fn classifiers_add_up_to_probabilities_or_margins_on_iris() {
    let (train, test) = common::iris_split();
    for (est, a) in classifiers() {
        let model = fit(est, &a, &train);
        let v = model.shap_values(&test.features).unwrap();
        assert_eq!(v.outputs.len(), 3, "{est}");
        let proba = model.predict_proba(&test.features).unwrap();
        let boosted = !est.contains("Tree") || est.starts_with("Boosted");
        let boosted = boosted && !est.contains("Forest");
        for (t, p) in totals(&v).iter().zip(&proba) {
            // Forests explain probabilities, boosting its margins (softmax gives them).
            let got = if boosted { softmax(t) } else { t.clone() };
            for (g, want) in got.iter().zip(p) {
                assert!((g - want).abs() < 1e-9, "{est}: {got:?} vs {p:?}");
            }
        }
    }
}

#[test]
fn binary_boosting_explains_the_log_odds() {
    let (train, test) = common::iris_split();
    let binary = |d: &common::Dataset| common::Dataset {
        features: d.features.clone(),
        label: Column::new(
            "virginica",
            d.label
                .to_features()
                .iter()
                .map(|v| match v {
                    Some(Feature::Num(c)) => Some(Feature::Num(f64::from(*c == 2.0))),
                    other => other.clone(),
                })
                .collect(),
        ),
    };
    let model = fit(
        "xgboost.gbtree",
        &attrs(&[
            ("objective", s("binary:logistic")),
            ("num_boost_round", int(15)),
        ]),
        &binary(&train),
    );
    let test = binary(&test);
    let v = model.shap_values(&test.features).unwrap();
    assert_eq!(v.outputs, ["margin"]);
    let proba = model.predict_proba(&test.features).unwrap();
    for (t, p) in totals(&v).iter().zip(&proba) {
        let sig = 1.0 / (1.0 + (-t[0]).exp());
        assert!((sig - p[1]).abs() < 1e-9, "{sig} vs {p:?}");
    }
}

#[test]
fn a_column_the_trees_never_split_on_gets_zero() {
    let (mut train, mut test) = common::boston_split();
    let constant = |n: usize| Column::numeric("const", std::iter::repeat_n(1.0, n));
    train.features.push(constant(400));
    test.features.push(constant(106));
    for (est, a) in regressors() {
        let model = fit(est, &a, &train);
        let v = model.shap_values(&test.features).unwrap();
        assert_eq!(v.features.last().map(String::as_str), Some("const"));
        assert!(
            (0..v.rows).all(|r| v.row(r, 0)[13] == 0.0),
            "{est}: the dummy column got a value"
        );
    }
}

#[test]
fn a_constant_label_gives_a_one_node_tree_and_no_attribution() {
    let (mut train, test) = common::boston_split();
    train.label = Column::numeric("y", std::iter::repeat_n(7.0, 400));
    for (est, a) in [
        ("DecisionTreeRegressor", attrs(&[])),
        (
            "RandomForestRegressor",
            attrs(&[("model.n_estimators", int(3))]),
        ),
    ] {
        let model = fit(est, &a, &train);
        let v = model.shap_values(&test.features).unwrap();
        assert!(v.values.iter().all(|x| *x == 0.0), "{est}");
        assert!((v.expected_value[0] - 7.0).abs() < 1e-12, "{est}");
    }
}

#[test]
fn nulls_nans_and_no_rows() {
    let (train, test) = common::boston_split();
    let model = fit("xgboost.gbtree", &regressors()[2].1, &train);
    let mut hostile = test.features.clone();
    for (i, c) in hostile.iter_mut().enumerate() {
        let mut values = c.to_features();
        for (r, v) in values.iter_mut().enumerate() {
            if (r + i) % 3 == 0 {
                *v = None;
            } else if (r + i) % 5 == 0 {
                *v = Some(Feature::Num(f64::NAN));
            }
        }
        *c = Column::new(c.name.clone(), values);
    }
    // Whatever the encoder makes of NULL and NaN, the values stay finite and add up.
    match model.shap_values(&hostile) {
        Ok(v) => {
            assert!(v.values.iter().all(|x| x.is_finite()));
            let pred = values(&model, &hostile);
            for (t, p) in totals(&v).iter().zip(&pred) {
                assert!((t[0] - p).abs() < 1e-6);
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let empty: Vec<Column> = test
        .features
        .iter()
        .map(|c| Column::new(c.name.clone(), vec![]))
        .collect();
    if let Ok(v) = model.shap_values(&empty) {
        assert_eq!(v.rows, 0);
        assert!(v.mean_abs().iter().all(|x| *x == 0.0));
    }
}

#[test]
fn models_without_other_trees_are_refused() {
    let (train, test) = common::boston_split();
    for (est, a) in [
        ("LinearRegressor", attrs(&[])),
        (
            "xgboost.gblinear",
            attrs(&[("objective", s("reg:squarederror"))]),
        ),
    ] {
        let model = fit(est, &a, &train);
        let err = model.shap_values(&test.features).unwrap_err().to_string();
        assert!(err.contains("TreeExplainer"), "{est}: {err}");
    }
}

/// Removes every `"cover":[...]` from a saved model, as models saved before covers were.
fn without_covers(bytes: &[u8]) -> Vec<u8> {
    let (head, json) = bytes.split_at(12);
    let mut value: serde_json::Value = serde_json::from_slice(json).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("cover");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    let mut out = head.to_vec();
    out.extend(serde_json::to_vec(&value).unwrap());
    out
}

#[test]
fn models_saved_without_covers_load_and_still_add_up() {
    let (train, test) = common::boston_split();
    for (est, a) in regressors() {
        let model = fit(est, &a, &train);
        let bytes = model.to_bytes().unwrap();
        assert!(
            String::from_utf8_lossy(&bytes).contains("\"cover\""),
            "{est}"
        );
        let old = TrainedModel::from_bytes(&without_covers(&bytes)).unwrap();
        let v = old.shap_values(&test.features).unwrap();
        let pred = values(&old, &test.features);
        for (t, p) in totals(&v).iter().zip(&pred) {
            assert!((t[0] - p).abs() < 1e-6, "{est}");
        }
        // The covers are what changed: the saved model's own differ.
        let new = model.shap_values(&test.features).unwrap();
        assert_ne!(new.values, v.values, "{est}");
    }
}

/// The Python side: our saved trees as shap's dictionary model, explained by shap's
/// C++ Tree SHAP; prints the largest absolute difference from our values.
const SHAP_CHECK: &str = r#"
import json, sys
import numpy as np
import shap
model = json.loads(open(sys.argv[1], 'rb').read()[12:])
x = np.loadtxt(sys.argv[2], delimiter=',', ndmin=2)
ours = np.loadtxt(sys.argv[3], delimiter=',', ndmin=2)
expected_ours = np.loadtxt(sys.argv[4], delimiter=',', ndmin=1)
body = model['body']
if 'Forest' in body:
    f = body['Forest']; k = f['k']; trees = f['trees']
    weights = [1.0 / len(trees)] * len(trees); groups = [None] * len(trees); base = [0.0] * k
else:
    g = body['Gbdt']; k = g['groups']; trees = g['trees']
    weights = g.get('tree_weights') or [1.0] * len(trees)
    groups = [i % k for i in range(len(trees))]; base = g['base_margin']
out = []
for t, w, grp in zip(trees, weights, groups):
    n = len(t['feature']); leaf = [f == 4294967295 for f in t['feature']]
    vals = np.array(t['values'], dtype=float).reshape(n, t['k']) * w
    if grp is not None:
        full = np.zeros((n, k)); full[:, grp] = vals[:, 0]; vals = full
    left = np.array([-1 if l else c for l, c in zip(leaf, t['left'])])
    right = np.array([-1 if l else c for l, c in zip(leaf, t['right'])])
    out.append({'children_left': left, 'children_right': right, 'children_default': right,
                'features': np.array([0 if l else f for l, f in zip(leaf, t['feature'])]),
                'thresholds': np.array(t['threshold'], dtype=float), 'values': vals,
                'node_sample_weight': np.array(t['cover'], dtype=float)})
explainer = shap.TreeExplainer({'trees': out, 'base_offset': np.array(base, dtype=float)},
                               feature_perturbation='tree_path_dependent')
sv = explainer.shap_values(x, check_additivity=False)
sv = np.asarray(sv)
if sv.ndim == 3 and sv.shape[0] == k and sv.shape[1] == x.shape[0]:
    sv = np.transpose(sv, (1, 0, 2))  # older shap: a list per output
elif sv.ndim == 3:
    sv = np.transpose(sv, (0, 2, 1))  # shap >= 0.45: rows x features x outputs
sv = sv.reshape(x.shape[0], -1)
ev = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
print(max(np.abs(sv - ours).max(), np.abs(ev - expected_ours).max()))
"#;

fn python_with_shap() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import shap, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn csv(rows: impl Iterator<Item = Vec<f64>>) -> String {
    rows.map(|r| {
        r.iter()
            .map(|v| format!("{v:e}"))
            .collect::<Vec<_>>()
            .join(",")
    })
    .collect::<Vec<_>>()
    .join("\n")
}

fn check_against_shap(name: &str, model: &TrainedModel, data: &common::Dataset) -> f64 {
    let dir = std::env::temp_dir().join(format!("sqlflow-shap-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let v = model.shap_values(&data.features).unwrap();
    let x = (0..v.rows).map(|r| {
        data.features
            .iter()
            .map(
                |c| match &c.get(r).map(sqlflow_models::FeatureRef::to_feature) {
                    Some(Feature::Num(x)) => *x,
                    _ => f64::NAN,
                },
            )
            .collect()
    });
    let ours = (0..v.rows).map(|r| {
        (0..v.outputs.len())
            .flat_map(|o| v.row(r, o).to_vec())
            .collect()
    });
    let files = ["model.bin", "x.csv", "ours.csv", "expected.csv"].map(|f| dir.join(f));
    std::fs::write(&files[0], model.to_bytes().unwrap()).unwrap();
    std::fs::write(&files[1], csv(x)).unwrap();
    std::fs::write(&files[2], csv(ours)).unwrap();
    std::fs::write(&files[3], csv(std::iter::once(v.expected_value.clone()))).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(SHAP_CHECK)
        .args(&files)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    eprintln!("{name}: largest difference from shap.TreeExplainer {diff:e}");
    diff
}

#[test]
fn equals_the_shap_package_on_the_same_trees() {
    if !python_with_shap() {
        eprintln!("skipped: python3 with the shap package is not installed (pip install shap)");
        return;
    }
    let (train, test) = common::boston_split();
    for (est, a) in regressors() {
        let model = fit(est, &a, &train);
        assert!(check_against_shap(&est.replace('.', "_"), &model, &test) < 1e-9);
    }
    let (train, test) = common::iris_split();
    for (est, a) in classifiers() {
        let model = fit(est, &a, &train);
        assert!(check_against_shap(&format!("{}_c", est.replace('.', "_")), &model, &test) < 1e-9);
    }
}

#[test]
fn a_hundred_deep_trees_on_every_boston_row_in_reasonable_time() {
    let data = common::boston();
    let model = fit("RandomForestRegressor", &attrs(&[]), &data);
    let start = std::time::Instant::now();
    let v = model.shap_values(&data.features).unwrap();
    let took = start.elapsed();
    eprintln!("RandomForestRegressor (100 trees, no depth limit), 506 rows: {took:?}");
    assert_eq!(v.rows, 506);
    let pred = values(&model, &data.features);
    for (t, p) in totals(&v).iter().zip(&pred) {
        assert!((t[0] - p).abs() < 1e-6);
    }
}
