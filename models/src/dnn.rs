//! `DNNClassifier` / `DNNRegressor`: a multi-layer perceptron (ReLU hidden layers,
//! softmax + cross-entropy or linear + squared-error head) trained with Adam on shuffled
//! mini-batches. Inputs (and a regressor's target) are standardized internally; the
//! scalers are part of the model.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, DefaultValue, Resolved, spec};
use crate::data::{Labels, Matrix, Scaler, one_hot};
use crate::error::{ModelError, Result};
use crate::rng::Rng;

const COMMON: [AttrSpec; 6] = [
    AttrSpec {
        name: "model.hidden_units",
        aliases: &[],
        // A bound keeps a typo (an extra zero or two) from exhausting memory.
        ty: AttrType::IntList {
            min: 1,
            max: 100_000,
        },
        default: Some(DefaultValue::IntList(&[10, 20])),
    },
    spec::int("train.epoch", 1, 10),
    spec::int("train.batch_size", 1, 32),
    spec::positive("optimizer.learning_rate", 0.001),
    spec::non_negative("model.l2_reg", 0.0),
    spec::seed("model.seed"),
];

pub(crate) const CLASSIFIER_SPECS: &[AttrSpec] = &[
    COMMON[0],
    spec::int("model.n_classes", 2, 2),
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
];

pub(crate) const REGRESSOR_SPECS: &[AttrSpec] = &COMMON;

/// Attributes a warm start must keep: they fix the network's shape.
pub(crate) const SHAPE_ATTRS: &[&str] = &["model.hidden_units", "model.n_classes"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Layer {
    n_in: usize,
    n_out: usize,
    /// Row-major `n_in × n_out`.
    w: Vec<f64>,
    b: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Head {
    Softmax,
    /// The network predicts the standardized target.
    Linear {
        y_mean: f64,
        y_scale: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Mlp {
    scaler: Scaler,
    layers: Vec<Layer>,
    head: Head,
}

struct Adam {
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
    t: i32,
}

/// Per-layer buffers for one mini-batch, reused across batches.
struct Buffers {
    /// `acts[0]` is the input batch, `acts[l + 1]` the output of layer `l`.
    acts: Vec<Vec<f64>>,
    deltas: Vec<Vec<f64>>,
    /// Gradients in the same layout as the parameters (w then b per layer).
    grads: Vec<Vec<f64>>,
}

impl Mlp {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        attrs: &Resolved,
        warm: Option<&Mlp>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Mlp> {
        let hidden = attrs.int_list("model.hidden_units");
        let epochs = attrs.usize("train.epoch");
        let batch = attrs.usize("train.batch_size").max(1);
        let lr = attrs.float("optimizer.learning_rate");
        let l2 = attrs.float("model.l2_reg");
        let mut rng = Rng::new(attrs.seed("model.seed"));

        let (n_out, targets, head) = match labels {
            Labels::Classes { y, n_classes } => (*n_classes, one_hot(y, *n_classes), Head::Softmax),
            Labels::Values(y) => {
                let (y_mean, y_scale) = match warm.map(|m| &m.head) {
                    Some(Head::Linear { y_mean, y_scale }) => (*y_mean, *y_scale),
                    _ => {
                        let target = Matrix {
                            rows: y.len(),
                            cols: 1,
                            data: y.clone(),
                        };
                        let s = Scaler::fit(&target);
                        (s.mean[0], s.scale[0])
                    }
                };
                let head = Head::Linear { y_mean, y_scale };
                (1, y.iter().map(|v| (v - y_mean) / y_scale).collect(), head)
            }
            Labels::None => {
                return Err(ModelError::InvalidLabel(
                    "a DNN model needs a LABEL column".into(),
                ));
            }
        };

        let mut model = match warm {
            Some(old) => {
                let out = old.layers.last().map_or(0, |l| l.n_out);
                if out != n_out || old.layers.first().map(|l| l.n_in) != Some(x.cols) {
                    return Err(ModelError::WarmStart(
                        "the existing network's input or output size differs from this data".into(),
                    ));
                }
                Mlp {
                    head,
                    ..old.clone()
                }
            }
            None => {
                let mut sizes = vec![x.cols];
                sizes.extend(&hidden);
                sizes.push(n_out);
                let layers = sizes
                    .windows(2)
                    .map(|w| {
                        // Glorot-uniform, as scikit-learn's MLP does for ReLU networks.
                        let bound = (6.0 / (w[0] + w[1]) as f64).sqrt();
                        let mut init = |n: usize| {
                            (0..n)
                                .map(|_| (rng.next_f64() * 2.0 - 1.0) * bound)
                                .collect()
                        };
                        Layer {
                            n_in: w[0],
                            n_out: w[1],
                            w: init(w[0] * w[1]),
                            b: init(w[1]),
                        }
                    })
                    .collect();
                Mlp {
                    scaler: Scaler::fit(x),
                    layers,
                    head,
                }
            }
        };
        let xs = model.scaler.transform(x);
        model.fit(
            &xs, &targets, n_out, epochs, batch, lr, l2, &mut rng, progress,
        )?;
        Ok(model)
    }

    #[allow(clippy::too_many_arguments)]
    fn fit(
        &mut self,
        x: &Matrix,
        targets: &[f64],
        n_out: usize,
        epochs: usize,
        batch: usize,
        lr: f64,
        l2: f64,
        rng: &mut Rng,
        progress: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let n = x.rows;
        let batch = batch.min(n).max(1);
        let mut adam = Adam {
            m: self.zero_params(),
            v: self.zero_params(),
            t: 0,
        };
        let mut buf = Buffers {
            acts: self.activations(batch),
            deltas: self
                .layers
                .iter()
                .map(|l| vec![0.0; l.n_out * batch])
                .collect(),
            grads: self.zero_params(),
        };
        let mut order: Vec<usize> = (0..n).collect();
        let softmax = matches!(self.head, Head::Softmax);
        let report_scale = match self.head {
            Head::Linear { y_scale, .. } => y_scale * y_scale,
            Head::Softmax => 1.0,
        };
        for epoch in 0..epochs {
            rng.shuffle(&mut order);
            let mut total = 0.0;
            for chunk in order.chunks(batch) {
                let bs = chunk.len();
                for (i, &r) in chunk.iter().enumerate() {
                    buf.acts[0][i * x.cols..(i + 1) * x.cols].copy_from_slice(x.row(r));
                }
                self.forward(&mut buf.acts, bs);
                total += self.output_delta(&mut buf, chunk, targets, n_out, softmax);
                self.backward(&mut buf, bs, l2);
                adam.t += 1;
                self.adam_step(&mut adam, &buf.grads, lr);
            }
            let loss = total / n as f64;
            let shown = if softmax {
                loss
            } else {
                2.0 * loss * report_scale
            };
            if !shown.is_finite() {
                return Err(ModelError::Training(format!(
                    "the loss became {shown} at epoch {}; lower optimizer.learning_rate (now {lr})",
                    epoch + 1
                )));
            }
            let what = if softmax { "cross-entropy" } else { "MSE" };
            progress(&format!(
                "epoch {}/{epochs}: loss ({what}) {shown:.4}",
                epoch + 1
            ));
        }
        Ok(())
    }

    /// Zeros shaped like the parameters, in their fixed order: w0, b0, w1, b1, ...
    fn zero_params(&self) -> Vec<Vec<f64>> {
        self.layers
            .iter()
            .flat_map(|l| [vec![0.0; l.w.len()], vec![0.0; l.b.len()]])
            .collect()
    }

    /// Activation buffers for `rows` rows: the input, then each layer's output.
    fn activations(&self, rows: usize) -> Vec<Vec<f64>> {
        let n_in = self.layers.first().map_or(0, |l| l.n_in);
        std::iter::once(n_in)
            .chain(self.layers.iter().map(|l| l.n_out))
            .map(|w| vec![0.0; w * rows])
            .collect()
    }

    fn forward(&self, acts: &mut [Vec<f64>], rows: usize) {
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (inputs, outputs) = acts.split_at_mut(l + 1);
            let (a, z) = (&inputs[l], &mut outputs[0]);
            for r in 0..rows {
                let out = &mut z[r * layer.n_out..(r + 1) * layer.n_out];
                out.copy_from_slice(&layer.b);
                for (i, &ai) in a[r * layer.n_in..(r + 1) * layer.n_in].iter().enumerate() {
                    if ai != 0.0 {
                        let w = &layer.w[i * layer.n_out..(i + 1) * layer.n_out];
                        out.iter_mut().zip(w).for_each(|(o, wj)| *o += ai * wj);
                    }
                }
                if l < last {
                    out.iter_mut().for_each(|o| *o = o.max(0.0));
                }
            }
        }
    }

    /// Writes dLoss/dOutput (averaged over the batch) into the last delta buffer and
    /// returns the batch's summed loss.
    fn output_delta(
        &self,
        buf: &mut Buffers,
        rows: &[usize],
        targets: &[f64],
        k: usize,
        softmax: bool,
    ) -> f64 {
        let (out, delta) = match (buf.acts.last_mut(), buf.deltas.last_mut()) {
            (Some(o), Some(d)) => (o, d),
            _ => return 0.0,
        };
        let scale = 1.0 / rows.len() as f64;
        let mut loss = 0.0;
        for (i, &r) in rows.iter().enumerate() {
            let o = &mut out[i * k..(i + 1) * k];
            let t = &targets[r * k..(r + 1) * k];
            let d = &mut delta[i * k..(i + 1) * k];
            if softmax {
                softmax_in_place(o);
                for j in 0..k {
                    if t[j] > 0.0 {
                        loss -= o[j].max(1e-300).ln();
                    }
                    d[j] = (o[j] - t[j]) * scale;
                }
            } else {
                for j in 0..k {
                    let e = o[j] - t[j];
                    loss += 0.5 * e * e;
                    d[j] = e * scale;
                }
            }
        }
        loss
    }

    fn backward(&self, buf: &mut Buffers, rows: usize, l2: f64) {
        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            {
                let (gw_part, gb_part) = buf.grads.split_at_mut(2 * l + 1);
                let (gw, gb) = (&mut gw_part[2 * l], &mut gb_part[0]);
                gw.iter_mut().zip(&layer.w).for_each(|(g, w)| *g = l2 * w);
                gb.iter_mut().for_each(|g| *g = 0.0);
                let (a, d) = (&buf.acts[l], &buf.deltas[l]);
                for r in 0..rows {
                    let dr = &d[r * n_out..(r + 1) * n_out];
                    gb.iter_mut().zip(dr).for_each(|(g, v)| *g += v);
                    for (i, &ai) in a[r * n_in..(r + 1) * n_in].iter().enumerate() {
                        if ai != 0.0 {
                            gw[i * n_out..(i + 1) * n_out]
                                .iter_mut()
                                .zip(dr)
                                .for_each(|(g, v)| *g += ai * v);
                        }
                    }
                }
            }
            if l == 0 {
                break;
            }
            let (lower, upper) = buf.deltas.split_at_mut(l);
            let (prev, d) = (&mut lower[l - 1], &upper[0]);
            let a = &buf.acts[l];
            for r in 0..rows {
                let dr = &d[r * n_out..(r + 1) * n_out];
                for i in 0..n_in {
                    // ReLU: no gradient where the unit was off.
                    prev[r * n_in + i] = if a[r * n_in + i] > 0.0 {
                        crate::optim::dot(&layer.w[i * n_out..(i + 1) * n_out], dr)
                    } else {
                        0.0
                    };
                }
            }
        }
    }

    fn adam_step(&mut self, adam: &mut Adam, grads: &[Vec<f64>], lr: f64) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        let lr_t = lr * (1.0 - B2.powi(adam.t)).sqrt() / (1.0 - B1.powi(adam.t));
        let params = self.layers.iter_mut().flat_map(|l| [&mut l.w, &mut l.b]);
        for (((p, g), m), v) in params.zip(grads).zip(&mut adam.m).zip(&mut adam.v) {
            for j in 0..p.len() {
                m[j] = B1 * m[j] + (1.0 - B1) * g[j];
                v[j] = B2 * v[j] + (1.0 - B2) * g[j] * g[j];
                p[j] -= lr_t * m[j] / (v[j].sqrt() + EPS);
            }
        }
    }

    /// Raw network outputs for all rows (`rows × n_out`).
    fn outputs(&self, x: &Matrix) -> (Vec<f64>, usize) {
        const CHUNK: usize = 512;
        let k = self.layers.last().map_or(0, |l| l.n_out);
        let xs = self.scaler.transform(x);
        let mut out = Vec::with_capacity(x.rows * k);
        let mut acts = self.activations(CHUNK);
        let mut start = 0;
        while start < x.rows {
            let rows = CHUNK.min(x.rows - start);
            acts[0][..rows * x.cols]
                .copy_from_slice(&xs.data[start * x.cols..(start + rows) * x.cols]);
            self.forward(&mut acts, rows);
            if let Some(last) = acts.last() {
                out.extend_from_slice(&last[..rows * k]);
            }
            start += rows;
        }
        (out, k)
    }

    pub fn predict_proba(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let (out, k) = self.outputs(x);
        softmax_rows(&out, k)
    }

    pub fn predict_values(&self, x: &Matrix) -> Vec<f64> {
        let (out, _) = self.outputs(x);
        match self.head {
            Head::Linear { y_mean, y_scale } => out.iter().map(|v| v * y_scale + y_mean).collect(),
            Head::Softmax => out,
        }
    }

    pub fn check(&self, cols: usize, n_out: usize) -> bool {
        let mut expect_in = cols;
        for l in &self.layers {
            if l.n_in != expect_in
                || l.w.len() != l.n_in.saturating_mul(l.n_out)
                || l.b.len() != l.n_out
                || l.n_out == 0
                || l.w.iter().chain(&l.b).any(|v| !v.is_finite())
            {
                return false;
            }
            expect_in = l.n_out;
        }
        let head_ok = match self.head {
            Head::Softmax => true,
            Head::Linear { y_mean, y_scale } => {
                y_mean.is_finite() && y_scale.is_finite() && y_scale > 0.0
            }
        };
        !self.layers.is_empty() && expect_in == n_out && head_ok && self.scaler.check(cols)
    }
}

pub(crate) fn softmax_in_place(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    v.iter_mut().for_each(|x| *x /= sum);
}

/// Softmax of each row of `k` scores in `scores` (`rows × k`).
pub(crate) fn softmax_rows(scores: &[f64], k: usize) -> Vec<Vec<f64>> {
    scores
        .chunks(k.max(1))
        .map(|row| {
            let mut p = row.to_vec();
            softmax_in_place(&mut p);
            p
        })
        .collect()
}
