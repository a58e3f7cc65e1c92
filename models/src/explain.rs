//! Permutation importance for models without a built-in notion of importance (DNNs).
//!
//! It needs no label: a column's importance is how far the model's output moves when
//! that column's values are shuffled among the rows, averaged over rows and a few seeded
//! shuffles (for classifiers the total variation distance between the two probability
//! vectors, so 0 to 1; for regressors the absolute change in the prediction, in the
//! label's unit). Like SHAP's mean |value|, which SQLFlow showed for these models, it
//! ranks what the model relies on, so it can explain rows whose label is unknown
//! (a Kaggle test set, tomorrow's customers) and is never negative.

use crate::data::Column;
use crate::error::{ModelError, Result};
use crate::estimator::Task;
use crate::model::{TrainedModel, sort_importance};
use crate::rng::Rng;

const REPEATS: usize = 5;
const SEED: u64 = 0x5EED;

pub(crate) fn permutation_importance(
    model: &TrainedModel,
    features: &[Column],
) -> Result<Vec<(String, f64)>> {
    let mut columns: Vec<Column> = model
        .encoder
        .select(features)?
        .into_iter()
        .cloned()
        .collect();
    let rows = columns.first().map_or(0, Column::len);
    if rows == 0 {
        return Err(ModelError::InvalidData(
            "permutation importance needs rows to explain; the SELECT returned none".into(),
        ));
    }
    let classify = model.task() == Task::Classification;
    let outputs = |cols: &[Column]| model.outputs(cols);
    let baseline = outputs(&columns)?;
    let mut out = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        let original = columns[i].clone();
        let mut order: Vec<usize> = (0..original.len()).collect();
        let mut moved = 0.0;
        for rep in 0..REPEATS {
            Rng::derive(SEED, (i * REPEATS + rep) as u64).shuffle(&mut order);
            columns[i] = original.take_rows(&order);
            let shuffled = outputs(&columns)?;
            moved += baseline
                .iter()
                .zip(&shuffled)
                .map(|(a, b)| distance(a, b, classify))
                .sum::<f64>();
        }
        columns[i] = original;
        out.push((columns[i].name.clone(), moved / (REPEATS * rows) as f64));
    }
    Ok(sort_importance(out))
}

fn distance(a: &[f64], b: &[f64], classify: bool) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum();
    let d = if classify { d / 2.0 } else { d };
    if d.is_finite() { d } else { 0.0 }
}
