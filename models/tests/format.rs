//! Saved models: round trips, versioning, and robustness against damaged bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{attrs, fit};
use proptest::prelude::*;
use sqlflow_models::{AttrValue, Attrs, FORMAT_VERSION, ModelError, TrainedModel};

fn models() -> Vec<TrainedModel> {
    let (iris, _) = common::iris_split();
    let (boston, _) = common::boston_split();
    let strings = iris.label_as_strings(&common::IRIS_CLASSES);
    let small = |n| attrs(&[("model.n_estimators", AttrValue::Int(n))]);
    let cases: Vec<(
        &str,
        Attrs,
        &common::Dataset,
        Option<&sqlflow_models::Column>,
    )> = vec![
        (
            "DNNClassifier",
            attrs(&[
                ("model.n_classes", AttrValue::Int(3)),
                ("train.epoch", AttrValue::Int(5)),
            ]),
            &iris,
            Some(&strings),
        ),
        (
            "DNNRegressor",
            attrs(&[("train.epoch", AttrValue::Int(5))]),
            &boston,
            None,
        ),
        (
            "LinearClassifier",
            attrs(&[("model.n_classes", AttrValue::Int(3))]),
            &iris,
            None,
        ),
        ("LinearRegressor", Attrs::new(), &boston, None),
        (
            "xgboost.gbtree",
            attrs(&[("objective", AttrValue::Str("multi:softprob".into()))]),
            &iris,
            Some(&strings),
        ),
        ("xgboost.gbtree", Attrs::new(), &boston, None),
        ("DecisionTreeClassifier", Attrs::new(), &iris, None),
        ("DecisionTreeRegressor", Attrs::new(), &boston, None),
        ("RandomForestClassifier", small(5), &iris, None),
        ("RandomForestRegressor", small(5), &boston, None),
        ("KMeans", Attrs::new(), &iris, None),
    ];
    cases
        .into_iter()
        .map(|(est, a, data, label)| {
            fit(est, &a, &data.features, label.unwrap_or(&data.label)).unwrap()
        })
        .collect()
}

#[test]
fn round_trip_predicts_identically() {
    let iris = common::iris();
    let boston = common::boston();
    for model in models() {
        let bytes = model.to_bytes().unwrap();
        let loaded = TrainedModel::from_bytes(&bytes).unwrap();
        assert_eq!(loaded, model, "{}", model.estimator());
        let features = if model.feature_names().len() == 4 {
            &iris.features
        } else {
            &boston.features
        };
        assert_eq!(
            loaded.predict(features).unwrap(),
            model.predict(features).unwrap(),
            "{}",
            model.estimator()
        );
        if model.classes().is_some() {
            assert_eq!(
                loaded.predict_proba(features).unwrap(),
                model.predict_proba(features).unwrap()
            );
        }
        assert_eq!(loaded.to_bytes().unwrap(), bytes);
    }
}

#[test]
fn newer_format_is_a_clear_error() {
    let model = models().remove(6);
    let mut bytes = model.to_bytes().unwrap();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = TrainedModel::from_bytes(&bytes).unwrap_err();
    assert_eq!(
        err,
        ModelError::FormatTooNew {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "saved by sqlflow-models format {}; this build reads up to {}",
            FORMAT_VERSION + 1,
            FORMAT_VERSION
        )),
        "{msg}"
    );
}

#[test]
fn garbage_and_damaged_models_are_clear_errors() {
    for bytes in [
        &b""[..],
        b"hello",
        b"SQLFMODL",
        b"SQLFMODL\x01\x00\x00\x00",
        b"SQLFMODL\x01\x00\x00\x00{}",
        b"SQLFMODL\x00\x00\x00\x00{}",
    ] {
        let err = TrainedModel::from_bytes(bytes).unwrap_err();
        assert!(matches!(err, ModelError::Corrupt(_)), "{err}");
        assert!(
            err.to_string().contains("not a valid sqlflow-models model"),
            "{err}"
        );
    }
    // well-formed JSON that describes an impossible model (child index out of range)
    let model = models().remove(7);
    let json = String::from_utf8(model.to_bytes().unwrap()[12..].to_vec()).unwrap();
    let broken = json.replacen("\"left\":[1,", "\"left\":[100000,", 1);
    assert_ne!(broken, json);
    let mut bytes = b"SQLFMODL\x01\x00\x00\x00".to_vec();
    bytes.extend_from_slice(broken.as_bytes());
    let err = TrainedModel::from_bytes(&bytes).unwrap_err();
    assert!(err.to_string().contains("inconsistent"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), header in any::<bool>()) {
        let mut input = if header { b"SQLFMODL\x01\x00\x00\x00".to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        prop_assert!(TrainedModel::from_bytes(&input).is_err());
    }

    #[test]
    fn damaged_models_never_panic(which in 0usize..11, edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        thread_local! {
            static BLOBS: Vec<Vec<u8>> = models().iter().map(|m| m.to_bytes().unwrap()).collect();
        }
        let mut bytes = BLOBS.with(|b| b[which].clone());
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Either it still loads (e.g. a digit changed) and then it must work, or it is an error.
        if let Ok(model) = TrainedModel::from_bytes(&bytes) {
            let data = if model.feature_names().len() == 4 { common::iris() } else { common::boston() };
            let _ = model.predict(&data.features);
            let _ = model.predict_proba(&data.features);
            let _ = model.evaluate(&data.features, &data.label, &[]);
            let _ = model.feature_importance(&data.features);
        }
    }
}
