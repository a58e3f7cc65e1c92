//! `sqlflow_models.RNNBasedTimeSeriesModel` through the crate's public interface: the
//! comma-separated label in, `Prediction::Values` out, EVALUATE's metrics over every
//! forecast, and the saved model (format version 6) predicting bit for bit what the
//! trained one did.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_models::{AttrValue, Attrs, Column, ModelError, Prediction, TrainedModel, train};

const RNN: &str = "sqlflow_models.RNNBasedTimeSeriesModel";

/// Windows of 5 values of a seasonal series and, as the label, the next 3.
fn data(rows: usize) -> (Vec<Column>, Column) {
    let s: Vec<f64> = (0..rows + 8)
        .map(|i| 0.5 + 0.4 * (i as f64 * 0.6).sin())
        .collect();
    let features = (0..5)
        .map(|j| Column::numeric(format!("x{j}"), (0..rows).map(|r| s[r + j])))
        .collect();
    let label = Column::strings(
        "next",
        (0..rows).map(|r| format!("{},{},{}", s[r + 5], s[r + 6], s[r + 7])),
    );
    (features, label)
}

fn attrs(kind: &str) -> Attrs {
    Attrs::from([
        ("model.n_in".to_string(), AttrValue::Int(5)),
        ("model.n_out".to_string(), AttrValue::Int(3)),
        (
            "model.stack_units".to_string(),
            AttrValue::List(vec![AttrValue::Int(12), AttrValue::Int(6)]),
        ),
        ("model.model_type".to_string(), AttrValue::Str(kind.into())),
        ("train.epoch".to_string(), AttrValue::Int(25)),
        ("train.batch_size".to_string(), AttrValue::Int(8)),
        (
            "optimizer.learning_rate".to_string(),
            AttrValue::Float(0.01),
        ),
    ])
}

#[test]
fn forecasts_evaluates_and_round_trips() {
    let (features, label) = data(120);
    for kind in ["rnn", "lstm", "gru"] {
        let model = train(
            RNN,
            &attrs(kind),
            &features,
            Some(&label),
            None,
            &mut |_| {},
        )
        .unwrap();
        let predictions = model.predict(&features).unwrap();
        assert_eq!(predictions.len(), 120);
        assert!(
            predictions
                .iter()
                .all(|p| matches!(p, Prediction::Values(v) if v.len() == 3)),
            "{:?}",
            &predictions[..2]
        );
        let metrics = model
            .evaluate(&features, &label, &["MeanAbsoluteError", "MSE"])
            .unwrap();
        assert_eq!(metrics[0].0, "MeanAbsoluteError");
        assert!(metrics[0].1 < 0.1, "{kind}: {metrics:?}");

        let bytes = model.to_bytes().unwrap();
        assert_eq!(&bytes[8..12], &6u32.to_le_bytes());
        let loaded = TrainedModel::from_bytes(&bytes).unwrap();
        assert_eq!(loaded.predict(&features).unwrap(), predictions);
        // A build of format 5 never wrote this model.
        let mut older = bytes.clone();
        older[8..12].copy_from_slice(&5u32.to_le_bytes());
        assert!(matches!(
            TrainedModel::from_bytes(&older),
            Err(ModelError::Corrupt(m)) if m.contains("format version 5 cannot hold")
        ));
        // EXPLAIN: permutation importance over the window's columns.
        let importance = model.feature_importance(&features).unwrap();
        assert_eq!(importance.len(), 5);
    }
}

#[test]
fn labels_and_inputs_that_do_not_fit_are_errors() {
    let (features, label) = data(20);
    let mut values = label.to_features();
    values[6] = Some(sqlflow_models::Feature::Str("0.1,0.2".into()));
    let short = Column::new("next", values);
    let err = train(
        RNN,
        &attrs("gru"),
        &features,
        Some(&short),
        None,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("label column 'next' holds 2 value(s) at row 7"),
        "{err}"
    );
    let mut text = features.clone();
    text[2] = Column::strings("x2", vec!["a"; 20]);
    let err = train(RNN, &attrs("gru"), &text, Some(&label), None, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("column 'x2' holds a string at row 1"), "{err}");
    let model = train(
        RNN,
        &attrs("rnn"),
        &features,
        Some(&label),
        None,
        &mut |_| {},
    )
    .unwrap();
    let err = model
        .evaluate(&features, &Column::numeric("next", vec![1.0; 20]), &["MAE"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("is the number 1 at row 1"), "{err}");
    let err = train(
        RNN,
        &attrs("rnn"),
        &features,
        Some(&label),
        Some(&model),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("cannot continue training"), "{err}");
}
