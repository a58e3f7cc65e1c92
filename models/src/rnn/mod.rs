//! `sqlflow_models.RNNBasedTimeSeriesModel`: the model zoo's recurrent forecaster.
//!
//! Each row is a window of the past, `model.n_in` time steps of `model.n_features`
//! values (the feature columns in order, step by step: SQLFlow reshapes them to
//! `(n_in, n_features)`), and its label the next `model.n_out` values, written as one
//! string of comma-separated numbers (`concat(col_11, ',', col_12)`). The network is the
//! zoo's: stacked recurrent layers of `model.stack_units` units (`model.model_type`:
//! Keras' `SimpleRNN`, `LSTM` or `GRU`; every layer but the last returns its whole
//! sequence), dropout of 0.2 on the last layer's output while training, and a dense
//! layer to `n_out` values; mean squared error, Adam at 0.001 unless the optimizer
//! attributes say otherwise, trained by backpropagation through time on shuffled
//! mini-batches. Initialization is Keras': Glorot-uniform input kernels, orthogonal
//! recurrent kernels, zero biases (an LSTM's forget gate at 1), the GRU with
//! `reset_after` (Keras 2's default, its recurrent bias inside the reset product).
//!
//! The inputs are used as they are, as SQLFlow's model does: the tutorial scales the
//! series to [0, 1] in SQL first.
//!
//! Compute is in `f32` through `matrixmultiply`: per layer, the input projection of all
//! time steps of a batch is one product and each step adds one `batch × units` times
//! `units × gates` product; backward, the weight gradients of all steps are one product
//! each. The optimizer keeps its `f64` copy of the weights (the one every neural model
//! here uses) and the `f32` weights follow it after each step.

mod gemm;

use serde::{Deserialize, Serialize};

use self::gemm::{View, gemm};
use crate::attrs::{AttrSpec, AttrType, DefaultValue, Resolved, spec};
use crate::data::Matrix;
use crate::dnn::TF_RUNTIME_SPECS;
use crate::error::{ModelError, Result};
use crate::monitor::{Monitor, Throttle};
use crate::optimizer::{OPTIMIZER_SPECS, Optimizer, OptimizerConfig, OptimizerKind};
use crate::rng::Rng;

pub(crate) const NAME: &str = "sqlflow_models.RNNBasedTimeSeriesModel";

/// The zoo's dropout after the last recurrent layer (not an attribute there either).
const DROPOUT: f32 = 0.2;

/// Rows per forward pass when predicting: bounds the activations kept in memory.
const PREDICT_CHUNK: usize = 256;

pub(crate) const MODEL_TYPES: &[&str] = &["rnn", "lstm", "gru"];

/// The attributes besides the optimizer's and TensorFlow's runtime ones.
const OWN_SPECS: &[AttrSpec] = &[
    AttrSpec {
        name: "model.stack_units",
        aliases: &[],
        // A bound keeps a typo (an extra zero) from exhausting memory.
        ty: AttrType::IntList { min: 1, max: 4096 },
        default: Some(DefaultValue::IntList(&[500, 500])),
    },
    AttrSpec {
        name: "model.n_in",
        aliases: &[],
        ty: AttrType::Int {
            min: 1,
            max: 100_000,
        },
        default: Some(DefaultValue::Int(7)),
    },
    AttrSpec {
        name: "model.n_out",
        aliases: &[],
        ty: AttrType::Int {
            min: 1,
            max: 100_000,
        },
        default: Some(DefaultValue::Int(1)),
    },
    AttrSpec {
        name: "model.n_features",
        aliases: &[],
        ty: AttrType::Int {
            min: 1,
            max: 100_000,
        },
        default: Some(DefaultValue::Int(1)),
    },
    spec::choice("model.model_type", MODEL_TYPES, "rnn"),
    spec::int("train.epoch", 1, 10),
    spec::int("train.batch_size", 1, 32),
    spec::seed("model.seed"),
];

pub(crate) fn specs() -> Vec<AttrSpec> {
    OWN_SPECS
        .iter()
        .chain(OPTIMIZER_SPECS.iter())
        .chain(TF_RUNTIME_SPECS.iter())
        .copied()
        .collect()
}

/// The zoo's `optimizer()`: Adam at 0.001.
pub(crate) const DEFAULT_OPTIMIZER: (OptimizerKind, f64) = (OptimizerKind::Adam, 0.001);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CellKind {
    Rnn,
    Lstm,
    Gru,
}

impl CellKind {
    fn from_name(name: &str) -> Option<CellKind> {
        match name.to_ascii_lowercase().as_str() {
            "rnn" => Some(CellKind::Rnn),
            "lstm" => Some(CellKind::Lstm),
            "gru" => Some(CellKind::Gru),
            _ => None,
        }
    }

    /// Blocks of `units` columns in the kernels: Keras' order i, f, c, o (LSTM) and
    /// z, r, h (GRU).
    fn gates(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
}

/// One recurrent layer's weights, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Layer {
    input: usize,
    units: usize,
    /// `input × gates·units`.
    kernel: Vec<f32>,
    /// `units × gates·units`.
    recurrent: Vec<f32>,
    /// `gates·units`.
    bias: Vec<f32>,
    /// GRU only (`gates·units`): the bias added to `h·U` before the reset gate scales
    /// its candidate part. Empty for the other cells.
    recurrent_bias: Vec<f32>,
}

impl Layer {
    fn width(&self, kind: CellKind) -> usize {
        kind.gates() * self.units
    }
}

/// A trained recurrent forecaster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rnn {
    kind: CellKind,
    n_in: usize,
    n_features: usize,
    n_out: usize,
    layers: Vec<Layer>,
    /// `last units × n_out`.
    dense: Vec<f32>,
    dense_bias: Vec<f32>,
}

/// What a forward pass keeps of one layer for the backward pass (time-major: row
/// `t·batch + b` is step `t` of batch row `b`).
#[derive(Default)]
struct Cache {
    /// `T·B × gates·units`: the input projection plus bias, then (in place) the gates'
    /// activations (RNN: h; LSTM: i, f, g, o; GRU: z, r, candidate).
    gates: Vec<f32>,
    /// GRU only, `T·B × units`: `h·U_h + b_h` of each step, which the reset gate scaled.
    rec_h: Vec<f32>,
    /// `(T+1)·B × units`: the hidden states, starting from zeros.
    h: Vec<f32>,
    /// LSTM only, `(T+1)·B × units`: the cell states.
    c: Vec<f32>,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn attr_error(name: &str, expected: String, got: String) -> ModelError {
    ModelError::InvalidAttribute {
        estimator: NAME.to_string(),
        name: name.to_string(),
        expected,
        got,
    }
}

/// Standard normal draws (Box-Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn glorot(rng: &mut Rng, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    (0..fan_in * fan_out)
        .map(|_| ((rng.next_f64() * 2.0 - 1.0) * limit) as f32)
        .collect()
}

/// Keras' `Orthogonal` for a `rows × cols` kernel with rows ≤ cols: orthonormal rows
/// (Gram-Schmidt on Gaussian rows, twice for accuracy).
fn orthogonal(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut v: Vec<f64> = (0..cols).map(|_| normal(rng)).collect();
        for _ in 0..2 {
            for u in &q {
                let d: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= d * b);
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
        v.iter_mut().for_each(|a| *a /= norm);
        q.push(v);
    }
    q.into_iter().flatten().map(|v| v as f32).collect()
}

/// The settings training reads from the attributes.
struct Settings {
    epochs: usize,
    batch: usize,
    seed: u64,
    optimizer: OptimizerConfig,
}

impl Rnn {
    /// The shape attributes, checked against the encoded feature count `cols`.
    fn shape(attrs: &Resolved, cols: usize) -> Result<(CellKind, usize, usize, usize, Vec<usize>)> {
        let kind_name = attrs.str("model.model_type");
        let kind = CellKind::from_name(kind_name).ok_or_else(|| {
            attr_error(
                "model.model_type",
                format!("one of {}", MODEL_TYPES.join(", ")),
                kind_name.to_string(),
            )
        })?;
        let n_in = attrs.usize("model.n_in");
        let n_features = attrs.usize("model.n_features");
        let n_out = attrs.usize("model.n_out");
        if n_in.saturating_mul(n_features) != cols {
            return Err(attr_error(
                "model.n_in",
                format!(
                    "model.n_in × model.n_features equal to the number of feature columns \
                     ({cols}): each row is a window of n_in steps of n_features values"
                ),
                format!("model.n_in = {n_in}, model.n_features = {n_features}"),
            ));
        }
        let units = attrs.int_list("model.stack_units");
        Ok((kind, n_in, n_features, n_out, units))
    }

    /// Trains on `x` (rows of `n_in·n_features` values) and `y` (rows of `n_out` values,
    /// row-major), reporting each epoch's loss and the validation metrics.
    pub fn train(
        x: &Matrix,
        y: &[f64],
        attrs: &mut Resolved,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Rnn> {
        let (kind, n_in, n_features, n_out, units) = Rnn::shape(attrs, x.cols)?;
        if y.len() != x.rows * n_out {
            return Err(ModelError::InvalidLabel(format!(
                "{} label values for {} rows of model.n_out = {n_out}",
                y.len(),
                x.rows
            )));
        }
        let optimizer = OptimizerConfig::from_attrs(
            NAME,
            attrs,
            "model.optimizer",
            "optimizer.",
            DEFAULT_OPTIMIZER,
        )?;
        let settings = Settings {
            epochs: attrs.usize("train.epoch"),
            batch: attrs.usize("train.batch_size"),
            seed: attrs.seed("model.seed"),
            optimizer,
        };
        let mut rng = Rng::new(settings.seed);
        let mut model = Rnn::init(kind, n_in, n_features, n_out, &units, &mut rng);
        model.fit(x, y, &settings, &mut rng, monitor, progress)?;
        Ok(model)
    }

    fn init(
        kind: CellKind,
        n_in: usize,
        n_features: usize,
        n_out: usize,
        units: &[usize],
        rng: &mut Rng,
    ) -> Rnn {
        let g = kind.gates();
        let mut input = n_features;
        let mut layers = Vec::with_capacity(units.len());
        for &h in units {
            let mut bias = vec![0.0f32; g * h];
            if kind == CellKind::Lstm {
                // Keras' unit_forget_bias: the forget gate starts open.
                bias[h..2 * h].iter_mut().for_each(|b| *b = 1.0);
            }
            layers.push(Layer {
                input,
                units: h,
                kernel: glorot(rng, input, g * h),
                recurrent: orthogonal(rng, h, g * h),
                bias,
                recurrent_bias: if kind == CellKind::Gru {
                    vec![0.0; g * h]
                } else {
                    Vec::new()
                },
            });
            input = h;
        }
        Rnn {
            kind,
            n_in,
            n_features,
            n_out,
            layers,
            dense: glorot(rng, input, n_out),
            dense_bias: vec![0.0; n_out],
        }
    }

    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Every weight tensor, in a fixed order (the optimizer's and the gradients').
    fn tensors(&self) -> Vec<&Vec<f32>> {
        let mut v = Vec::new();
        for l in &self.layers {
            v.extend([&l.kernel, &l.recurrent, &l.bias]);
            if self.kind == CellKind::Gru {
                v.push(&l.recurrent_bias);
            }
        }
        v.extend([&self.dense, &self.dense_bias]);
        v
    }

    fn tensors_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let gru = self.kind == CellKind::Gru;
        let mut v = Vec::new();
        for l in &mut self.layers {
            v.push(&mut l.kernel);
            v.push(&mut l.recurrent);
            v.push(&mut l.bias);
            if gru {
                v.push(&mut l.recurrent_bias);
            }
        }
        v.push(&mut self.dense);
        v.push(&mut self.dense_bias);
        v
    }

    fn fit(
        &mut self,
        x: &Matrix,
        y: &[f64],
        s: &Settings,
        rng: &mut Rng,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let n = x.rows;
        let batch = s.batch.min(n).max(1);
        let lr = s.optimizer.learning_rate;
        let mut master: Vec<Vec<f64>> = self
            .tensors()
            .iter()
            .map(|t| t.iter().map(|v| f64::from(*v)).collect())
            .collect();
        let mut opt = {
            let views: Vec<&[f64]> = master.iter().map(Vec::as_slice).collect();
            Optimizer::new(s.optimizer.clone(), &views)
        };
        let mut grads: Vec<Vec<f32>> = self.tensors().iter().map(|t| vec![0.0; t.len()]).collect();
        let mut grad64: Vec<f64> = Vec::new();
        let mut caches: Vec<Cache> = self.layers.iter().map(|_| Cache::default()).collect();
        let mut seq = Vec::new();
        let mut target = Vec::new();
        let mut order: Vec<usize> = (0..n).collect();
        let throttle = Throttle::new(s.epochs);
        for epoch in 0..s.epochs {
            rng.shuffle(&mut order);
            let mut total = 0.0f64;
            for chunk in order.chunks(batch) {
                self.gather(x, chunk, &mut seq);
                target.clear();
                for &r in chunk {
                    target.extend(
                        y[r * self.n_out..(r + 1) * self.n_out]
                            .iter()
                            .map(|v| *v as f32),
                    );
                }
                total += self.step(&seq, &target, chunk.len(), rng, &mut caches, &mut grads);
                opt.begin_step();
                for (i, (w, g)) in master.iter_mut().zip(&grads).enumerate() {
                    grad64.clear();
                    grad64.extend(g.iter().map(|v| f64::from(*v)));
                    opt.update(i, w, &grad64);
                }
                for (t, w) in self.tensors_mut().into_iter().zip(&master) {
                    t.iter_mut().zip(w).for_each(|(t, w)| *t = *w as f32);
                }
            }
            let loss = total / n as f64;
            if !loss.is_finite() {
                return Err(ModelError::Training(format!(
                    "the loss became {loss} at epoch {}; lower the learning rate (now {lr}) or \
                     scale the series (to [0, 1], as SQLFlow's tutorial does)",
                    epoch + 1
                )));
            }
            monitor.record("epoch", "loss", "train", epoch as u64 + 1, loss);
            if throttle.due(epoch) {
                let mut line = format!("epoch {}/{}: loss {loss:.4}", epoch + 1, s.epochs);
                if let Some(v) = monitor.valid {
                    line.push_str(", ");
                    line.push_str(&monitor.report(
                        epoch as u64 + 1,
                        None,
                        Some(&self.predict(&v.x)),
                    ));
                }
                progress(&line);
            }
        }
        Ok(())
    }

    /// Rows `rows` of `x` as a time-major sequence: `seq[(t·B + b)·F + f]`.
    fn gather(&self, x: &Matrix, rows: &[usize], seq: &mut Vec<f32>) {
        let (b, f) = (rows.len(), self.n_features);
        seq.clear();
        seq.resize(self.n_in * b * f, 0.0);
        for (bi, &r) in rows.iter().enumerate() {
            let row = x.row(r);
            for t in 0..self.n_in {
                let dst = (t * b + bi) * f;
                for (d, v) in seq[dst..dst + f].iter_mut().zip(&row[t * f..(t + 1) * f]) {
                    *d = *v as f32;
                }
            }
        }
    }

    /// The forward pass of every layer over `b` rows of `seq`, keeping what backward needs.
    fn forward(&self, seq: &[f32], b: usize, caches: &mut [Cache]) {
        let t_len = self.n_in;
        for (li, layer) in self.layers.iter().enumerate() {
            let (below, rest) = caches.split_at_mut(li);
            let cache = &mut rest[0];
            let input: &[f32] = match below.last() {
                Some(prev) => &prev.h[b * prev_units(&self.layers, li)..],
                None => seq,
            };
            self.forward_layer(layer, input, b, t_len, cache);
        }
    }

    fn forward_layer(&self, l: &Layer, input: &[f32], b: usize, t_len: usize, c: &mut Cache) {
        let (h, w) = (l.units, l.width(self.kind));
        let rows = t_len * b;
        c.gates.clear();
        c.gates.resize(rows * w, 0.0);
        for row in c.gates.chunks_exact_mut(w) {
            row.copy_from_slice(&l.bias);
        }
        gemm(
            1.0,
            View::new(input, rows, l.input),
            View::new(&l.kernel, l.input, w),
            1.0,
            &mut c.gates,
        );
        c.h.clear();
        c.h.resize((t_len + 1) * b * h, 0.0);
        let lstm = self.kind == CellKind::Lstm;
        let gru = self.kind == CellKind::Gru;
        c.c.clear();
        if lstm {
            c.c.resize((t_len + 1) * b * h, 0.0);
        }
        c.rec_h.clear();
        if gru {
            c.rec_h.resize(rows * h, 0.0);
        }
        let mut rec = vec![0.0f32; b * w];
        for t in 0..t_len {
            let (h_prev, h_next) = c.h[t * b * h..(t + 2) * b * h].split_at_mut(b * h);
            if gru {
                for row in rec.chunks_exact_mut(w) {
                    row.copy_from_slice(&l.recurrent_bias);
                }
                gemm(
                    1.0,
                    View::new(h_prev, b, h),
                    View::new(&l.recurrent, h, w),
                    1.0,
                    &mut rec,
                );
            } else {
                gemm(
                    1.0,
                    View::new(h_prev, b, h),
                    View::new(&l.recurrent, h, w),
                    0.0,
                    &mut rec,
                );
            }
            let gates = &mut c.gates[t * b * w..(t + 1) * b * w];
            match self.kind {
                CellKind::Rnn => {
                    for ((g, r), hn) in gates.iter_mut().zip(&rec).zip(h_next.iter_mut()) {
                        *g = (*g + r).tanh();
                        *hn = *g;
                    }
                }
                CellKind::Lstm => {
                    let (c_prev, c_next) = c.c[t * b * h..(t + 2) * b * h].split_at_mut(b * h);
                    for bi in 0..b {
                        let g = &mut gates[bi * w..(bi + 1) * w];
                        let r = &rec[bi * w..(bi + 1) * w];
                        for j in 0..h {
                            let i = sigmoid(g[j] + r[j]);
                            let f = sigmoid(g[h + j] + r[h + j]);
                            let cand = (g[2 * h + j] + r[2 * h + j]).tanh();
                            let o = sigmoid(g[3 * h + j] + r[3 * h + j]);
                            let cell = f * c_prev[bi * h + j] + i * cand;
                            c_next[bi * h + j] = cell;
                            h_next[bi * h + j] = o * cell.tanh();
                            g[j] = i;
                            g[h + j] = f;
                            g[2 * h + j] = cand;
                            g[3 * h + j] = o;
                        }
                    }
                }
                CellKind::Gru => {
                    let rec_h = &mut c.rec_h[t * b * h..(t + 1) * b * h];
                    for bi in 0..b {
                        let g = &mut gates[bi * w..(bi + 1) * w];
                        let r = &rec[bi * w..(bi + 1) * w];
                        for j in 0..h {
                            let z = sigmoid(g[j] + r[j]);
                            let reset = sigmoid(g[h + j] + r[h + j]);
                            let cand = (g[2 * h + j] + reset * r[2 * h + j]).tanh();
                            rec_h[bi * h + j] = r[2 * h + j];
                            h_next[bi * h + j] = z * h_prev[bi * h + j] + (1.0 - z) * cand;
                            g[j] = z;
                            g[h + j] = reset;
                            g[2 * h + j] = cand;
                        }
                    }
                }
            }
        }
    }

    /// One mini-batch: forward, loss, backward. Fills `grads` (the mean squared error's
    /// gradient, in [`tensors`](Self::tensors)' order) and returns the batch's summed loss
    /// (mean over the outputs, summed over rows).
    fn step(
        &self,
        seq: &[f32],
        target: &[f32],
        b: usize,
        rng: &mut Rng,
        caches: &mut [Cache],
        grads: &mut [Vec<f32>],
    ) -> f64 {
        self.forward(seq, b, caches);
        let last = self.layers.len() - 1;
        let h = self.layers[last].units;
        let t_len = self.n_in;
        let top = &caches[last].h[t_len * b * h..(t_len + 1) * b * h];
        let keep = 1.0 - DROPOUT;
        let mask: Vec<f32> = (0..b * h)
            .map(|_| {
                if (rng.next_f64() as f32) < DROPOUT {
                    0.0
                } else {
                    1.0 / keep
                }
            })
            .collect();
        let dropped: Vec<f32> = top.iter().zip(&mask).map(|(v, m)| v * m).collect();
        let n_out = self.n_out;
        let mut out = vec![0.0f32; b * n_out];
        for row in out.chunks_exact_mut(n_out) {
            row.copy_from_slice(&self.dense_bias);
        }
        gemm(
            1.0,
            View::new(&dropped, b, h),
            View::new(&self.dense, h, n_out),
            1.0,
            &mut out,
        );
        let mut loss = 0.0f64;
        let scale = 2.0 / (b * n_out) as f32;
        let mut d_out = vec![0.0f32; b * n_out];
        for ((d, o), t) in d_out.iter_mut().zip(&out).zip(target) {
            let e = o - t;
            loss += f64::from(e) * f64::from(e) / n_out as f64;
            *d = scale * e;
        }
        let nt = grads.len();
        let (layer_grads, dense_grads) = grads.split_at_mut(nt - 2);
        gemm(
            1.0,
            View::new(&dropped, b, h).t(),
            View::new(&d_out, b, n_out),
            0.0,
            &mut dense_grads[0],
        );
        column_sums(&d_out, n_out, &mut dense_grads[1]);
        // The gradient reaching each layer's hidden states, step by step (time-major).
        let mut d_h = vec![0.0f32; t_len * b * h];
        let last_step = &mut d_h[(t_len - 1) * b * h..];
        gemm(
            1.0,
            View::new(&d_out, b, n_out),
            View::new(&self.dense, h, n_out).t(),
            0.0,
            last_step,
        );
        last_step.iter_mut().zip(&mask).for_each(|(d, m)| *d *= m);
        let per_layer = if self.kind == CellKind::Gru { 4 } else { 3 };
        for li in (0..self.layers.len()).rev() {
            let (below, rest) = caches.split_at(li);
            let input: &[f32] = match below.last() {
                Some(prev) => &prev.h[b * prev_units(&self.layers, li)..],
                None => seq,
            };
            let g = &mut layer_grads[li * per_layer..(li + 1) * per_layer];
            d_h = self.backward_layer(&self.layers[li], input, &rest[0], &d_h, b, g, li > 0);
        }
        loss
    }

    /// Backpropagation through time for one layer: `d_h` is the loss's gradient with
    /// respect to each step's output; fills the layer's gradients and returns the
    /// gradient with respect to its input sequence (when `want_input`).
    #[allow(clippy::too_many_arguments)]
    fn backward_layer(
        &self,
        l: &Layer,
        input: &[f32],
        c: &Cache,
        d_h: &[f32],
        b: usize,
        grads: &mut [Vec<f32>],
        want_input: bool,
    ) -> Vec<f32> {
        let (h, w) = (l.units, l.width(self.kind));
        let t_len = self.n_in;
        let rows = t_len * b;
        let gru = self.kind == CellKind::Gru;
        let mut d_pre = vec![0.0f32; rows * w];
        // GRU: the gradient of h·U + b_r differs from that of the input projection in
        // the candidate block (scaled by the reset gate).
        let mut d_rec = if gru {
            vec![0.0f32; rows * w]
        } else {
            Vec::new()
        };
        let mut carry = vec![0.0f32; b * h];
        let mut carry_c = vec![0.0f32; b * h];
        let mut direct = vec![0.0f32; b * h];
        for t in (0..t_len).rev() {
            let gates = &c.gates[t * b * w..(t + 1) * b * w];
            let dp = &mut d_pre[t * b * w..(t + 1) * b * w];
            let d_step = &d_h[t * b * h..(t + 1) * b * h];
            match self.kind {
                CellKind::Rnn => {
                    for ((dp, g), (dh, carry)) in
                        dp.iter_mut().zip(gates).zip(d_step.iter().zip(&carry))
                    {
                        *dp = (dh + carry) * (1.0 - g * g);
                    }
                }
                CellKind::Lstm => {
                    let c_prev = &c.c[t * b * h..(t + 1) * b * h];
                    let c_now = &c.c[(t + 1) * b * h..(t + 2) * b * h];
                    for bi in 0..b {
                        let g = &gates[bi * w..(bi + 1) * w];
                        let dp = &mut dp[bi * w..(bi + 1) * w];
                        for j in 0..h {
                            let k = bi * h + j;
                            let (i, f, cand, o) = (g[j], g[h + j], g[2 * h + j], g[3 * h + j]);
                            let dh = d_step[k] + carry[k];
                            let tc = c_now[k].tanh();
                            let dc = carry_c[k] + dh * o * (1.0 - tc * tc);
                            dp[j] = dc * cand * i * (1.0 - i);
                            dp[h + j] = dc * c_prev[k] * f * (1.0 - f);
                            dp[2 * h + j] = dc * i * (1.0 - cand * cand);
                            dp[3 * h + j] = dh * tc * o * (1.0 - o);
                            carry_c[k] = dc * f;
                        }
                    }
                }
                CellKind::Gru => {
                    let h_prev = &c.h[t * b * h..(t + 1) * b * h];
                    let rec_h = &c.rec_h[t * b * h..(t + 1) * b * h];
                    let dr = &mut d_rec[t * b * w..(t + 1) * b * w];
                    for bi in 0..b {
                        let g = &gates[bi * w..(bi + 1) * w];
                        let dp = &mut dp[bi * w..(bi + 1) * w];
                        let dr = &mut dr[bi * w..(bi + 1) * w];
                        for j in 0..h {
                            let k = bi * h + j;
                            let (z, reset, cand) = (g[j], g[h + j], g[2 * h + j]);
                            let dh = d_step[k] + carry[k];
                            let d_cand = dh * (1.0 - z) * (1.0 - cand * cand);
                            let dz = dh * (h_prev[k] - cand) * z * (1.0 - z);
                            let d_reset = d_cand * rec_h[k] * reset * (1.0 - reset);
                            dp[j] = dz;
                            dp[h + j] = d_reset;
                            dp[2 * h + j] = d_cand;
                            dr[j] = dz;
                            dr[h + j] = d_reset;
                            dr[2 * h + j] = d_cand * reset;
                            direct[k] = dh * z;
                        }
                    }
                }
            }
            if t == 0 {
                // The state before the first step is the constant zero: nothing flows back.
                break;
            }
            let d_r: &[f32] = if gru {
                &d_rec[t * b * w..(t + 1) * b * w]
            } else {
                &d_pre[t * b * w..(t + 1) * b * w]
            };
            gemm(
                1.0,
                View::new(d_r, b, w),
                View::new(&l.recurrent, h, w).t(),
                0.0,
                &mut carry,
            );
            if gru {
                carry.iter_mut().zip(&direct).for_each(|(c, d)| *c += d);
            }
        }
        let d_r: &[f32] = if gru { &d_rec } else { &d_pre };
        gemm(
            1.0,
            View::new(input, rows, l.input).t(),
            View::new(&d_pre, rows, w),
            0.0,
            &mut grads[0],
        );
        // Σₜ hₜ₋₁ᵀ·dRₜ over t ≥ 1 (h₋₁ = 0 adds nothing).
        let later = (t_len - 1) * b;
        gemm(
            1.0,
            View::new(&c.h[b * h..(b + later) * h], later, h).t(),
            View::new(&d_r[b * w..], later, w),
            0.0,
            &mut grads[1],
        );
        column_sums(&d_pre, w, &mut grads[2]);
        if gru {
            column_sums(&d_rec, w, &mut grads[3]);
        }
        if !want_input {
            return Vec::new();
        }
        let mut d_input = vec![0.0f32; rows * l.input];
        gemm(
            1.0,
            View::new(&d_pre, rows, w),
            View::new(&l.kernel, l.input, w).t(),
            0.0,
            &mut d_input,
        );
        d_input
    }

    /// The `n_out` forecasts of every row, row-major (`rows × n_out`).
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let mut out = Vec::with_capacity(x.rows * self.n_out);
        let mut caches: Vec<Cache> = self.layers.iter().map(|_| Cache::default()).collect();
        let mut seq = Vec::new();
        let rows: Vec<usize> = (0..x.rows).collect();
        let last = self.layers.len() - 1;
        let h = self.layers[last].units;
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let b = chunk.len();
            self.gather(x, chunk, &mut seq);
            self.forward(&seq, b, &mut caches);
            let top = &caches[last].h[self.n_in * b * h..(self.n_in + 1) * b * h];
            let mut y = vec![0.0f32; b * self.n_out];
            for row in y.chunks_exact_mut(self.n_out) {
                row.copy_from_slice(&self.dense_bias);
            }
            gemm(
                1.0,
                View::new(top, b, h),
                View::new(&self.dense, h, self.n_out),
                1.0,
                &mut y,
            );
            out.extend(y.iter().map(|v| f64::from(*v)));
        }
        out
    }

    /// Internal consistency of a loaded model with `cols` encoded feature columns.
    pub fn check(&self, cols: usize) -> bool {
        let g = self.kind.gates();
        let gru = self.kind == CellKind::Gru;
        let mut input = self.n_features;
        for l in &self.layers {
            if l.input != input
                || l.units == 0
                || l.kernel.len() != l.input * g * l.units
                || l.recurrent.len() != l.units * g * l.units
                || l.bias.len() != g * l.units
                || l.recurrent_bias.len() != if gru { g * l.units } else { 0 }
            {
                return false;
            }
            input = l.units;
        }
        !self.layers.is_empty()
            && self.n_out > 0
            && self.n_in.checked_mul(self.n_features) == Some(cols)
            && self.dense.len() == input * self.n_out
            && self.dense_bias.len() == self.n_out
            && self
                .tensors()
                .iter()
                .all(|t| t.iter().all(|v| v.is_finite()))
    }
}

fn prev_units(layers: &[Layer], li: usize) -> usize {
    layers[li - 1].units
}

/// Sums of the columns of a row-major matrix `width` wide, into `out`.
fn column_sums(m: &[f32], width: usize, out: &mut [f32]) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for row in m.chunks_exact(width) {
        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
    }
}

#[cfg(test)]
mod tests;
