//! Embedding tables for DNN inputs (SQL's `EMBEDDING(<ids>, SIZE, COMBINER)`).
//!
//! The ids of a feature column reach the model as a one-hot, multi-hot or weighted
//! group of encoded columns. An embedding gives that group a table of
//! `columns × SIZE` weights, learned with the network: a row's embedding is the sum of
//! the table rows of its non-zero columns, each times its value, divided by 1 (`sum`),
//! by the sum of the values (`mean`) or by the root of the sum of their squares
//! (`sqrtn`), as TensorFlow's `embedding_column` combines. The `SIZE` numbers then feed
//! the first layer in place of the group.
//!
//! The network sees standardized inputs; the table reads the values as they were, undoing
//! the stored scaler, so a one-hot 1 weighs 1.

use serde::{Deserialize, Serialize};

use crate::data::Scaler;
use crate::rng::Rng;

/// How a row's several ids are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Combiner {
    #[default]
    Sum,
    Mean,
    Sqrtn,
}

impl Combiner {
    /// `sum`, `mean` or `sqrtn`, any case.
    pub fn from_name(name: &str) -> Option<Combiner> {
        match name.to_ascii_lowercase().as_str() {
            "sum" => Some(Combiner::Sum),
            "mean" => Some(Combiner::Mean),
            "sqrtn" => Some(Combiner::Sqrtn),
            _ => None,
        }
    }
}

/// An embedding a caller asks for: the input columns (by name) whose values index the
/// table, its size and combiner. Only DNN estimators learn embeddings; others ignore them.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingSpec {
    /// A categorical column (its one-hot encoding is the group), or numeric columns
    /// holding one id each (multi-hot counts or weights).
    pub columns: Vec<String>,
    pub dimension: usize,
    pub combiner: Combiner,
}

/// An [`EmbeddingSpec`] resolved to encoded matrix columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EmbeddingInput {
    pub inputs: Vec<usize>,
    pub dimension: usize,
    pub combiner: Combiner,
}

/// Resolves `specs` to encoded columns (`ranges`: each input column's encoded columns).
/// With wide and deep, only embeddings of deep columns (`deep`) are kept: the linear
/// part reads its columns as they are.
pub(crate) fn resolve(
    specs: &[EmbeddingSpec],
    ranges: &[(&str, std::ops::Range<usize>)],
    deep: Option<&[usize]>,
) -> crate::error::Result<Vec<EmbeddingInput>> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let mut inputs = Vec::new();
        for c in &spec.columns {
            let range = ranges
                .iter()
                .find(|(n, _)| n == c)
                .or_else(|| ranges.iter().find(|(n, _)| n.eq_ignore_ascii_case(c)))
                .map(|(_, r)| r.clone())
                .ok_or_else(|| {
                    crate::error::ModelError::InvalidData(format!(
                        "an embedding reads column '{c}', which is not a feature column"
                    ))
                })?;
            inputs.extend(range);
        }
        if spec.dimension == 0 || inputs.is_empty() {
            return Err(crate::error::ModelError::InvalidData(format!(
                "an embedding of {} needs a size of at least 1 and columns to read",
                spec.columns.join(", ")
            )));
        }
        if deep.is_none_or(|d| inputs.iter().all(|i| d.contains(i))) {
            out.push(EmbeddingInput {
                inputs,
                dimension: spec.dimension,
                combiner: spec.combiner,
            });
        }
    }
    Ok(out)
}

/// The tables of one network, in the order their outputs follow the dense inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Embeddings {
    tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Table {
    /// Encoded columns it reads, one table row each.
    inputs: Vec<usize>,
    dimension: usize,
    combiner: Combiner,
    /// `inputs.len() × dimension`, row-major.
    w: Vec<f64>,
}

/// One row's non-zero table rows: (table, table row, coefficient after combining).
pub(crate) type Active = Vec<(usize, usize, f64)>;

/// Values closer to zero than this are absent ids (undoing standardization leaves
/// rounding noise on zeros).
const ABSENT: f64 = 1e-9;

/// A standard normal draw cut at two standard deviations, as TensorFlow's
/// `truncated_normal` initializer.
fn truncated_normal(rng: &mut Rng) -> f64 {
    loop {
        let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
        let u2 = rng.next_f64();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        if z.abs() <= 2.0 {
            return z;
        }
    }
}

impl Embeddings {
    /// Tables for `inputs` (none: `None`, drawing nothing from `rng`), initialized as
    /// TensorFlow's embedding columns: truncated normal with deviation 1/√size.
    pub fn new(inputs: &[EmbeddingInput], rng: &mut Rng) -> Option<Embeddings> {
        if inputs.is_empty() {
            return None;
        }
        let tables = inputs
            .iter()
            .map(|e| {
                let sd = 1.0 / (e.dimension.max(1) as f64).sqrt();
                Table {
                    inputs: e.inputs.clone(),
                    dimension: e.dimension,
                    combiner: e.combiner,
                    w: (0..e.inputs.len() * e.dimension)
                        .map(|_| truncated_normal(rng) * sd)
                        .collect(),
                }
            })
            .collect();
        Some(Embeddings { tables })
    }

    /// Outputs per row: the sum of the sizes.
    pub fn width(&self) -> usize {
        self.tables.iter().map(|t| t.dimension).sum()
    }

    /// Every encoded column a table reads.
    pub fn columns(&self) -> Vec<usize> {
        self.tables
            .iter()
            .flat_map(|t| t.inputs.iter().copied())
            .collect()
    }

    /// Writes the embeddings of one standardized row into `out` (`width()` long) and,
    /// when training, which table rows it used into `active`.
    pub fn forward(
        &self,
        row: &[f64],
        scaler: &Scaler,
        out: &mut [f64],
        mut active: Option<&mut Active>,
    ) {
        out.iter_mut().for_each(|v| *v = 0.0);
        if let Some(a) = active.as_deref_mut() {
            a.clear();
        }
        let mut offset = 0;
        let mut present: Vec<(usize, f64)> = Vec::new();
        for (t, table) in self.tables.iter().enumerate() {
            let d = table.dimension;
            present.clear();
            for (k, &c) in table.inputs.iter().enumerate() {
                let (Some(&z), Some(&m), Some(&s)) =
                    (row.get(c), scaler.mean.get(c), scaler.scale.get(c))
                else {
                    continue;
                };
                let v = z * s + m;
                if v.abs() > ABSENT {
                    present.push((k, v));
                }
            }
            let norm = match table.combiner {
                Combiner::Sum => 1.0,
                Combiner::Mean => present.iter().map(|(_, v)| v).sum(),
                Combiner::Sqrtn => present.iter().map(|(_, v)| v * v).sum::<f64>().sqrt(),
            };
            if norm > 0.0 && norm.is_finite() {
                let dst = &mut out[offset..offset + d];
                for &(k, v) in &present {
                    let coef = v / norm;
                    dst.iter_mut()
                        .zip(&table.w[k * d..(k + 1) * d])
                        .for_each(|(o, w)| *o += coef * w);
                    if let Some(a) = active.as_deref_mut() {
                        a.push((t, k, coef));
                    }
                }
            }
            offset += d;
        }
    }

    /// Adds the gradient of one row to the tables' gradients, given the gradient of the
    /// loss with respect to the row's embedding outputs.
    pub fn backward(&self, active: &Active, d_out: &[f64], grads: &mut [Vec<f64>]) {
        let offsets: Vec<usize> = self
            .tables
            .iter()
            .scan(0, |o, t| {
                let here = *o;
                *o += t.dimension;
                Some(here)
            })
            .collect();
        for &(t, k, coef) in active {
            let (Some(table), Some(g), Some(&off)) =
                (self.tables.get(t), grads.get_mut(t), offsets.get(t))
            else {
                continue;
            };
            let d = table.dimension;
            g[k * d..(k + 1) * d]
                .iter_mut()
                .zip(&d_out[off..off + d])
                .for_each(|(g, v)| *g += coef * v);
        }
    }

    /// The tables' weights, for the network's optimizer.
    pub fn params(&self) -> impl Iterator<Item = &Vec<f64>> {
        self.tables.iter().map(|t| &t.w)
    }

    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        self.tables.iter_mut().map(|t| &mut t.w)
    }

    /// A loaded network's tables fit its `cols` encoded columns.
    pub fn check(&self, cols: usize) -> bool {
        !self.tables.is_empty()
            && self.tables.iter().all(|t| {
                t.dimension > 0
                    && t.inputs.iter().all(|&c| c < cols)
                    && t.w.len() == t.inputs.len().saturating_mul(t.dimension)
                    && t.w.iter().all(|v| v.is_finite())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_table(combiner: Combiner) -> Embeddings {
        Embeddings {
            tables: vec![Table {
                inputs: vec![0, 2],
                dimension: 2,
                combiner,
                w: vec![1.0, 2.0, 10.0, 20.0],
            }],
        }
    }

    #[test]
    fn combiners_weigh_the_rows_as_tensorflow_does() {
        // Column 1 is not embedded; the scaler maps raw values to z-scores.
        let scaler = Scaler {
            mean: vec![0.5, 0.0, 1.0],
            scale: vec![0.5, 1.0, 2.0],
        };
        // Raw values: column 0 = 1, column 2 = 3.
        let row = [1.0, 7.0, 1.0];
        for (combiner, want) in [
            (Combiner::Sum, [31.0, 62.0]),
            (Combiner::Mean, [31.0 / 4.0, 62.0 / 4.0]),
            (Combiner::Sqrtn, [31.0 / 10f64.sqrt(), 62.0 / 10f64.sqrt()]),
        ] {
            let e = one_table(combiner);
            let mut out = [0.0; 2];
            let mut active = Active::new();
            e.forward(&row, &scaler, &mut out, Some(&mut active));
            assert!(
                out.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
                "{combiner:?}: {out:?}"
            );
            // The gradient of a table row is its coefficient times the output gradient.
            let mut grads = vec![vec![0.0; 4]];
            e.backward(&active, &[1.0, -1.0], &mut grads);
            let coef = |v: f64| match combiner {
                Combiner::Sum => v,
                Combiner::Mean => v / 4.0,
                Combiner::Sqrtn => v / 10f64.sqrt(),
            };
            let want = [coef(1.0), -coef(1.0), coef(3.0), -coef(3.0)];
            assert!(
                grads[0]
                    .iter()
                    .zip(want)
                    .all(|(a, b)| (a - b).abs() < 1e-12),
                "{combiner:?}: {grads:?}"
            );
        }
        // A row without ids embeds to zeros.
        let e = one_table(Combiner::Mean);
        let mut out = [9.0; 2];
        e.forward(&[-1.0, 0.0, -0.5], &scaler, &mut out, None);
        assert_eq!(out, [0.0, 0.0]);
    }

    /// 40 categories whose class is their number's parity: a DNN reaches it only through
    /// the embedding (there is no other input), learns the table, and saves it.
    #[test]
    fn a_dnn_learns_its_embedding_table() {
        use crate::{AttrValue, Attrs, Column, TrainOptions, TrainedModel, model::Body};
        let cats: Vec<String> = (0..400).map(|i| format!("c{:02}", i % 40)).collect();
        let labels: Vec<f64> = (0..400).map(|i| f64::from(i % 40 % 2)).collect();
        let features = vec![Column::strings("cat", cats)];
        let label = Column::numeric("y", labels);
        let mut attrs = Attrs::new();
        attrs.insert(
            "model.hidden_units".into(),
            AttrValue::List(vec![AttrValue::Int(8)]),
        );
        attrs.insert("train.epoch".into(), AttrValue::Int(60));
        attrs.insert("optimizer.learning_rate".into(), AttrValue::Float(0.1));
        let options = TrainOptions {
            embeddings: vec![EmbeddingSpec {
                columns: vec!["cat".into()],
                dimension: 3,
                combiner: Combiner::Mean,
            }],
            ..TrainOptions::default()
        };
        let model = crate::train_with(
            "DNNClassifier",
            &attrs,
            &features,
            Some(&label),
            &options,
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let Body::Dnn(mlp) = &model.body else {
            panic!("not a DNN")
        };
        let learned = format!("{mlp:?}");
        assert!(learned.contains("embeddings: Some"), "{learned:.300}");
        let acc = model
            .evaluate(&features, &label, &["Accuracy"])
            .unwrap_or_else(|e| panic!("{e}"))[0]
            .1;
        assert!(acc > 0.99, "accuracy through a 3-wide embedding: {acc}");
        let bytes = model.to_bytes().unwrap_or_else(|e| panic!("{e}"));
        let back = TrainedModel::from_bytes(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, model);
        // The first layer reads 3 embedding outputs, not 40 one-hot columns.
        assert!(learned.contains("n_in: 3"), "{learned:.300}");
    }

    #[test]
    fn initialization_is_seeded_and_checked() {
        let inputs = [EmbeddingInput {
            inputs: vec![0, 1, 2],
            dimension: 4,
            combiner: Combiner::Sum,
        }];
        let a = Embeddings::new(&inputs, &mut Rng::new(7));
        assert_eq!(a, Embeddings::new(&inputs, &mut Rng::new(7)));
        let a = a.unwrap_or_else(|| panic!("a table"));
        assert_eq!(a.width(), 4);
        assert!(a.params().flatten().all(|w| w.abs() <= 2.0 / 2.0));
        assert!(a.check(3) && !a.check(2));
        assert_eq!(Embeddings::new(&[], &mut Rng::new(7)), None);
    }
}
