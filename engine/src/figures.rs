//! The pictures an extended statement sends before its end (`Figure` responses, PNG):
//! the loss and metric curves of `TO TRAIN`, the feature importance of `TO EXPLAIN`,
//! the confusion matrix and ROC curves of `TO EVALUATE` on a classifier. A picture that
//! cannot be drawn is a note in the log, never a failed statement.

use std::io::Write;

use sqlflow_figures::{self as draw, FigureError, Format, Panel, RocCurve, Series, SwarmFeature};
use sqlflow_models::{
    ClassLabel, Column as ModelColumn, FeatureRef, ShapValues, TrainingHistory, metrics::ProbaRows,
};
use sqlflow_proto::sqlflow::message::Kind;

use crate::output::{OutputError, RecordWriter};

/// The figures' `title`s: what each picture shows, one word or two.
pub const LOSS: &str = "loss";
pub const FEATURE_IMPORTANCE: &str = "feature importance";
pub const CONFUSION_MATRIX: &str = "confusion matrix";
pub const ROC: &str = "ROC";

const FORMAT: Format = Format::Png;

fn send<W: Write>(
    out: &mut RecordWriter<W>,
    title: &str,
    drawn: Result<Vec<u8>, FigureError>,
) -> Result<(), OutputError> {
    match drawn {
        Ok(data) => out.figure(title, FORMAT.mime_type(), data),
        Err(e) => out.message(format!("note: no {title} figure: {e}"), Kind::Log),
    }
}

/// After `TO TRAIN`: one panel per measured quantity (training loss, each validation or
/// evaluation metric), its lines the row sets (train, validate). Nothing for a model
/// trained without iterations.
pub fn training<W: Write>(
    out: &mut RecordWriter<W>,
    estimator: &str,
    history: &TrainingHistory,
) -> Result<(), OutputError> {
    if history.is_empty() {
        return Ok(());
    }
    let mut panels: Vec<Panel> = Vec::new();
    for s in &history.series {
        let series = Series {
            name: s.set.to_string(),
            points: s.points.iter().map(|&(x, y)| (x as f64, y)).collect(),
        };
        match panels.iter_mut().find(|p| p.metric == s.metric) {
            Some(p) => p.series.push(series),
            None => panels.push(Panel {
                metric: s.metric.clone(),
                series: vec![series],
            }),
        }
    }
    let step = if history.step.is_empty() {
        "step"
    } else {
        history.step
    };
    let heading = format!("{estimator}: training per {step}");
    send(
        out,
        LOSS,
        draw::training_curves(&heading, step, &panels, FORMAT),
    )
}

/// After `TO EXPLAIN`: the importance table as bars, the largest magnitudes first.
/// `max_display` / `sort`: SQLFlow's `summary.*` (20 and true by default).
pub fn importance<W: Write>(
    out: &mut RecordWriter<W>,
    model: &str,
    explainer: &str,
    importance: &[(String, f64)],
    max_display: usize,
    sort: bool,
) -> Result<(), OutputError> {
    let heading = format!("{model}: feature importance ({explainer})");
    send(
        out,
        FEATURE_IMPORTANCE,
        draw::feature_importance_with(&heading, importance, max_display, sort, FORMAT),
    )
}

/// After `TO EXPLAIN ... USING TreeExplainer` on a model with one output per class:
/// shap's multi-output bar chart, each feature's mean |SHAP value| per class stacked.
pub fn shap_bars<W: Write>(
    out: &mut RecordWriter<W>,
    model: &str,
    shap: &ShapValues,
    max_display: usize,
    sort: bool,
) -> Result<(), OutputError> {
    let (f, k) = (shap.features.len(), shap.outputs.len());
    let mut per: Vec<Vec<f64>> = vec![vec![0.0; k]; f];
    for r in 0..shap.rows {
        for (c, _) in shap.outputs.iter().enumerate() {
            for (j, v) in shap.row(r, c).iter().enumerate() {
                per[j][c] += v.abs();
            }
        }
    }
    let n = shap.rows.max(1) as f64;
    per.iter_mut().flatten().for_each(|v| *v /= n);
    let heading = format!("{model}: mean |SHAP value| per class (TreeExplainer)");
    send(
        out,
        FEATURE_IMPORTANCE,
        draw::stacked_importance(
            &heading,
            &shap.features,
            &shap.outputs,
            &per,
            max_display,
            sort,
            FORMAT,
        ),
    )
}

/// After `TO EXPLAIN ... USING TreeExplainer` (one output): shap's summary plot, a dot
/// per explained row and feature at its SHAP value, colored by the feature's value
/// (`features`' column of that name; gray where the encoded feature is not a column).
pub fn shap_summary<W: Write>(
    out: &mut RecordWriter<W>,
    model: &str,
    shap: &ShapValues,
    features: &[ModelColumn],
    max_display: usize,
    sort: bool,
) -> Result<(), OutputError> {
    let swarm: Vec<SwarmFeature> = shap
        .features
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let column = features.iter().find(|c| &c.name == name);
            SwarmFeature {
                name: name.clone(),
                shap: (0..shap.rows).map(|r| shap.row(r, 0)[j]).collect(),
                value: (0..shap.rows)
                    .map(|r| match column.and_then(|c| c.get(r)) {
                        Some(FeatureRef::Num(v)) => Some(v),
                        _ => None,
                    })
                    .collect(),
            }
        })
        .collect();
    let heading = format!("{model}: SHAP summary (TreeExplainer, {})", shap.outputs[0]);
    send(
        out,
        FEATURE_IMPORTANCE,
        draw::shap_summary(&heading, &swarm, max_display, sort, FORMAT),
    )
}

/// After `TO EVALUATE` on a classifier: the confusion matrix of its predictions (the
/// most probable class) and the ROC curve of its probabilities (binary: of the second
/// class; more classes: one against the rest for each), from each row's true class (an
/// index into `classes`) and class probabilities. Nothing for regressors and clustering.
pub fn evaluation<W: Write>(
    out: &mut RecordWriter<W>,
    model_name: &str,
    classes: &[ClassLabel],
    truth: &[usize],
    proba: &impl ProbaRows,
) -> Result<(), OutputError> {
    if truth.len() != proba.rows() {
        return Ok(());
    }
    let k = classes.len();
    let names: Vec<String> = classes.iter().map(ToString::to_string).collect();
    let mut counts = vec![vec![0u64; k]; k];
    for (i, t) in truth.iter().enumerate() {
        if let Some(row) = counts.get_mut(*t)
            && let Some(cell) = row.get_mut(argmax(proba.row(i)))
        {
            *cell += 1;
        }
    }
    let rows = truth.len();
    send(
        out,
        CONFUSION_MATRIX,
        draw::confusion_matrix(
            &format!("{model_name}: confusion matrix ({rows} rows)"),
            &names,
            &counts,
            FORMAT,
        ),
    )?;
    let score = |c: usize| -> Vec<f64> {
        (0..proba.rows())
            .map(|i| proba.row(i).get(c).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let curves: Vec<RocCurve> = if k == 2 {
        let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
        draw::roc_curve(&names[1], &positive, &score(1))
            .into_iter()
            .collect()
    } else {
        // The classes with the most rows when there are more than a figure shows.
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(counts[c].iter().sum::<u64>()));
        order.truncate(draw::MAX_ROC_CURVES);
        order.sort_unstable();
        order
            .into_iter()
            .filter_map(|c| {
                let positive: Vec<bool> = truth.iter().map(|&t| t == c).collect();
                draw::roc_curve(&names[c], &positive, &score(c))
            })
            .collect()
    };
    let heading = if k == 2 {
        format!("{model_name}: ROC ({} vs {})", names[1], names[0])
    } else if k > draw::MAX_ROC_CURVES {
        format!(
            "{model_name}: ROC, class against the rest ({} most frequent of {k})",
            draw::MAX_ROC_CURVES
        )
    } else {
        format!("{model_name}: ROC, each class against the rest")
    };
    send(out, ROC, draw::roc_curves(&heading, &curves, FORMAT))
}

/// The predicted class: the first of the most probable, as the models predict.
fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}
