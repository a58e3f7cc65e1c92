//! Permutation importance for models without a built-in notion of importance (DNNs):
//! how much the score (accuracy or R2) drops when one column's values are shuffled,
//! averaged over a few seeded shuffles.

use crate::data::{Column, LabelColumn};
use crate::error::Result;
use crate::estimator::Task;
use crate::model::{TrainedModel, sort_importance};
use crate::rng::Rng;

const REPEATS: usize = 5;
const SEED: u64 = 0x5EED;

pub(crate) fn permutation_importance(
    model: &TrainedModel,
    features: &[Column],
    label: &LabelColumn,
) -> Result<Vec<(String, f64)>> {
    let metric = if model.task() == Task::Classification {
        "Accuracy"
    } else {
        "R2"
    };
    let mut columns: Vec<Column> = model
        .encoder
        .select(features)?
        .into_iter()
        .cloned()
        .collect();
    let score =
        |cols: &[Column]| -> Result<f64> { Ok(model.evaluate(cols, label, &[metric])?[0].1) };
    let baseline = score(&columns)?;
    let mut out = Vec::with_capacity(columns.len());
    for i in 0..columns.len() {
        let original = columns[i].values.clone();
        let mut order: Vec<usize> = (0..original.len()).collect();
        let mut drop = 0.0;
        for rep in 0..REPEATS {
            Rng::derive(SEED, (i * REPEATS + rep) as u64).shuffle(&mut order);
            columns[i].values = order.iter().map(|&j| original[j].clone()).collect();
            drop += baseline - score(&columns)?;
        }
        columns[i].values = original;
        out.push((columns[i].name.clone(), drop / REPEATS as f64));
    }
    Ok(sort_importance(out))
}
