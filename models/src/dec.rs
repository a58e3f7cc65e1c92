//! `sqlflow_models.DeepEmbeddingClusterModel`: deep embedded clustering (DEC, Xie,
//! Girshick and Farhadi, ICML 2016) trained as SQLFlow's model zoo trains it
//! (`sqlflow_models/deep_embedding_cluster.py`): attributes, defaults and phases are the
//! zoo's.
//!
//! 1. **Pretraining.** A dense autoencoder: encoder layers of `model.pretrain_dims` units,
//!    every one (the embedding too) with `model.pretrain_activation_func`; the decoder
//!    mirrors them and ends in a linear layer of the input width. Mean squared error,
//!    Keras' SGD at `model.pretrain_lr` with momentum 0.9, mini-batches of
//!    `model.pretrain_batch_size` (Keras' `fit` default, 32, which the zoo's `fit` call
//!    uses), rows shuffled every epoch, `model.pretrain_epochs` epochs; with
//!    `model.pretrain_use_callbacks` Keras' EarlyStopping and ReduceLROnPlateau on the
//!    epoch loss. `model.run_pretrain = false` keeps the initial encoder (the design doc's
//!    third case).
//! 2. **Centroids.** k-means on the embedding of every row, `model.kmeans_init` k-means++
//!    starts, the least inertia kept (scikit-learn's `KMeans(n_init=...)`).
//! 3. **Clustering.** Student's t soft assignment q (one degree of freedom, as the zoo's
//!    `ClusteringLayer`); every `model.update_interval` iterations the target
//!    p = (q² / cluster frequency), row-normalized, is recomputed on all rows, and with
//!    `model.train_use_tol` training stops once fewer than `model.tol` of the rows changed
//!    cluster since the previous update. Each iteration minimizes KL(P‖Q) (Keras' `kld`,
//!    mean over the batch) on the next `train.batch_size` rows in table order (the zoo's
//!    cycling slices) by SGD at `model.train_lr` with momentum 0.9, into the encoder and
//!    the centroids, for at most `model.train_max_iters` iterations.
//!
//! PREDICT gives the cluster of highest q, which is the nearest centroid in the
//! embedding. The zoo feeds the feature values as they are, and its defaults (SGD at a
//! learning rate of 1) assume them in [0, 1], as DEC's MNIST pixels and the tutorial's
//! min-max scaled power readings are: a column of kilowatts or money makes the
//! autoencoder diverge. So each column is min-max scaled to [0, 1] on the training rows
//! first (stored with the model), which leaves data in [0, 1] as the zoo sees it. Not
//! z-scores, as the other neural models use: their larger spread makes the zoo's
//! learning rate diverge too.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, AttrValue, DefaultValue, Resolved, spec, text_of};
use crate::data::{Matrix, Scaler};
use crate::dnn::{Activation, Layer, activation_spec, add_dense_grads, affine};
use crate::error::{ModelError, Result};
use crate::monitor::Monitor;
use crate::optim::dist2;
use crate::optimizer::{Optimizer, OptimizerConfig};
use crate::rng::Rng;

const NAME: &str = "sqlflow_models.DeepEmbeddingClusterModel";

/// Keras' SGD momentum in both of the zoo's optimizers.
const MOMENTUM: f64 = 0.9;

/// Keras' `kld` clips both distributions to [1e-7, 1].
const KLD_EPSILON: f64 = 1e-7;

const INITIALIZERS: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
];

/// `kld` in Keras' spellings: the zoo's default and the only loss DEC's target
/// distribution is meant for.
fn normalize_loss(value: &AttrValue) -> Option<AttrValue> {
    let text = text_of(value)?;
    let name = text
        .strip_suffix("()")
        .unwrap_or(text)
        .rsplit('.')
        .next()
        .unwrap_or(text)
        .to_ascii_lowercase();
    matches!(
        name.as_str(),
        "kld" | "kl_divergence" | "kullback_leibler_divergence" | "kldivergence"
    )
    .then(|| AttrValue::Str("kld".to_string()))
}

pub(crate) const SPECS: &[AttrSpec] = &[
    spec::int("model.n_clusters", 1, 10),
    spec::int("model.kmeans_init", 1, 20),
    spec::bool("model.run_pretrain", true),
    spec::no_effect(
        "model.existed_pretrain_model",
        "the model zoo does not read it either (\"Not used now\"); the autoencoder is \
         pretrained on the SELECT's rows",
    ),
    AttrSpec {
        name: "model.pretrain_dims",
        aliases: &[],
        // A bound keeps a typo (an extra zero or two) from exhausting memory.
        ty: AttrType::IntList {
            min: 1,
            max: 100_000,
        },
        default: Some(DefaultValue::IntList(&[100, 100, 10])),
    },
    activation_spec("model.pretrain_activation_func"),
    spec::bool("model.pretrain_use_callbacks", false),
    spec::int("model.pretrain_cbearlystop_patience", 0, 30),
    spec::non_negative("model.pretrain_cbearlystop_mindelta", 1e-4),
    spec::int("model.pretrain_cbreduce_patience", 0, 10),
    spec::fraction("model.pretrain_cbreduce_factor", 0.1),
    spec::int("model.pretrain_epochs", 1, 30),
    spec::choice("model.pretrain_initializer", INITIALIZERS, "glorot_uniform"),
    spec::positive("model.pretrain_lr", 1.0),
    spec::int("model.pretrain_batch_size", 1, 32),
    spec::positive("model.train_lr", 0.01),
    spec::int("model.train_max_iters", 0, 8000),
    spec::int("model.update_interval", 1, 100),
    spec::bool("model.train_use_tol", true),
    spec::non_negative("model.tol", 1e-4),
    spec::custom(
        "model.loss",
        "kld (Keras' Kullback-Leibler divergence, the loss DEC minimizes)",
        normalize_loss,
        Some(DefaultValue::Str("kld")),
    ),
    // The zoo reads its batch from SQLFlow's train.batch_size; SQLFlow's model list
    // documents it as model.train_batch_size with a default of 256.
    spec::aliased(
        spec::int("train.batch_size", 1, 256),
        &["model.train_batch_size"],
    ),
    spec::no_effect(
        "train.epoch",
        "the zoo's clustering loop counts iterations (model.train_max_iters), not epochs",
    ),
    spec::seed("model.seed"),
];

pub(crate) const SHAPE_ATTRS: &[&str] = &["model.n_clusters", "model.pretrain_dims"];

/// A trained DEC model: the input scaler, the encoder and the centroids in its
/// embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Dec {
    scaler: Scaler,
    encoder: Vec<Layer>,
    activation: Activation,
    /// `k × embedding width`, row-major.
    centroids: Vec<f64>,
    k: usize,
}

fn invalid(name: &str, expected: &str, got: impl ToString) -> ModelError {
    ModelError::InvalidAttribute {
        estimator: NAME.to_string(),
        name: name.to_string(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// The dense layers of a stack and which of them apply the activation (all but the
/// autoencoder's output layer).
struct Stack<'a> {
    layers: &'a mut [Layer],
    activation: Activation,
    /// Layers from this index on are linear.
    linear_from: usize,
}

/// One mini-batch's values through a [`Stack`]: `outs[0]` the input, `outs[l + 1]` the
/// output of layer `l` (after its activation), `zs[l]` its pre-activation.
#[derive(Default)]
struct Pass {
    outs: Vec<Vec<f64>>,
    zs: Vec<Vec<f64>>,
}

impl Stack<'_> {
    fn forward(&self, input: &[f64], rows: usize, pass: &mut Pass) {
        pass.outs.resize_with(self.layers.len() + 1, Vec::new);
        pass.zs.resize_with(self.layers.len(), Vec::new);
        pass.outs[0].clear();
        pass.outs[0].extend_from_slice(input);
        for (l, layer) in self.layers.iter().enumerate() {
            let z = &mut pass.zs[l];
            z.clear();
            z.resize(rows * layer.n_out, 0.0);
            affine(&pass.outs[l], rows, layer, z);
            let out = &mut pass.outs[l + 1];
            out.clear();
            if l < self.linear_from {
                out.extend(z.iter().map(|v| self.activation.apply(*v)));
            } else {
                out.extend_from_slice(z);
            }
        }
    }

    /// Backpropagates `delta` (dLoss/d of the last layer's output, averaged over the
    /// batch already) into `grads` (w, b per layer).
    fn backward(&self, pass: &Pass, rows: usize, mut delta: Vec<f64>, grads: &mut [Vec<f64>]) {
        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            if l < self.linear_from {
                for ((d, z), a) in delta.iter_mut().zip(&pass.zs[l]).zip(&pass.outs[l + 1]) {
                    *d *= self.activation.derivative(*z, *a);
                }
            }
            let (gw_part, gb_part) = grads.split_at_mut(2 * l + 1);
            let (gw, gb) = (&mut gw_part[2 * l], &mut gb_part[0]);
            gw.iter_mut().for_each(|g| *g = 0.0);
            gb.iter_mut().for_each(|g| *g = 0.0);
            add_dense_grads(&pass.outs[l], &delta, rows, (n_in, n_out), gw, gb);
            if l == 0 {
                break;
            }
            let mut prev = vec![0.0; rows * n_in];
            for r in 0..rows {
                let dr = &delta[r * n_out..(r + 1) * n_out];
                for (i, p) in prev[r * n_in..(r + 1) * n_in].iter_mut().enumerate() {
                    *p = crate::optim::dot(&layer.w[i * n_out..(i + 1) * n_out], dr);
                }
            }
            delta = prev;
        }
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        self.layers
            .iter_mut()
            .flat_map(|l| [&mut l.w, &mut l.b].into_iter())
    }
}

/// Keras' initializers by name; biases start at zero, as Keras' Dense layers.
fn init_layer(n_in: usize, n_out: usize, initializer: &str, rng: &mut Rng) -> Layer {
    let (fan_in, fan_avg) = (n_in as f64, (n_in + n_out) as f64 / 2.0);
    let (fan, uniform) = match initializer {
        "glorot_normal" => (fan_avg, false),
        "he_uniform" => (fan_in / 2.0, true),
        "he_normal" => (fan_in / 2.0, false),
        "lecun_uniform" => (fan_in, true),
        "lecun_normal" => (fan_in, false),
        _ => (fan_avg, true),
    };
    let w = (0..n_in * n_out)
        .map(|_| {
            if uniform {
                (rng.next_f64() * 2.0 - 1.0) * (3.0 / fan).sqrt()
            } else {
                // Keras' truncated normal: cut at two standard deviations, the spread
                // corrected so the variance is still 1 / fan.
                let sd = (1.0 / fan).sqrt() / 0.879_625_661_034_239_8;
                loop {
                    let v = gaussian(rng);
                    if v.abs() <= 2.0 {
                        break v * sd;
                    }
                }
            }
        })
        .collect();
    Layer {
        n_in,
        n_out,
        w,
        b: vec![0.0; n_out],
    }
}

fn gaussian(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.next_f64();
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Student's t soft assignment (one degree of freedom) of each embedded row, `rows × k`.
fn soft_assign(z: &[f64], width: usize, centroids: &[f64], k: usize) -> Vec<f64> {
    let mut q = Vec::with_capacity(z.len() / width.max(1) * k);
    for row in z.chunks(width.max(1)) {
        let start = q.len();
        q.extend(
            centroids
                .chunks(width.max(1))
                .map(|c| 1.0 / (1.0 + dist2(row, c))),
        );
        let sum: f64 = q[start..].iter().sum();
        q[start..].iter_mut().for_each(|v| *v /= sum);
    }
    debug_assert_eq!(q.len() % k.max(1), 0);
    q
}

/// DEC's auxiliary target: q² over each cluster's soft frequency, row-normalized.
fn target_distribution(q: &[f64], k: usize) -> Vec<f64> {
    let mut freq = vec![0.0; k];
    for row in q.chunks(k) {
        freq.iter_mut().zip(row).for_each(|(f, v)| *f += v);
    }
    let mut p = Vec::with_capacity(q.len());
    for row in q.chunks(k) {
        let start = p.len();
        p.extend(
            row.iter()
                .zip(&freq)
                .map(|(v, f)| v * v / f.max(f64::MIN_POSITIVE)),
        );
        let sum: f64 = p[start..].iter().sum();
        p[start..].iter_mut().for_each(|v| *v /= sum);
    }
    p
}

fn argmax_rows(q: &[f64], k: usize) -> Vec<usize> {
    q.chunks(k)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (j, v)| {
                    if *v > best.1 { (j, *v) } else { best }
                })
                .0
        })
        .collect()
}

/// KL(P‖Q) of a batch (Keras' `kld`, mean over rows) and its gradients: with respect to
/// each embedded row (`dz`, `rows × width`) and the centroids (`dmu`, `k × width`). With
/// one degree of freedom, dKL/dz_i = 2 Σ_j (p_ij − q_ij)(z_i − μ_j) / (1 + ‖z_i − μ_j‖²)
/// and dKL/dμ_j is the negated sum of the same terms over the rows.
fn kld_gradients(
    z: &[f64],
    p: &[f64],
    centroids: &[f64],
    k: usize,
    width: usize,
    dz: &mut [f64],
    dmu: &mut [f64],
) -> f64 {
    let rows = z.len() / width.max(1);
    let scale = 1.0 / rows.max(1) as f64;
    let q = soft_assign(z, width, centroids, k);
    dmu.iter_mut().for_each(|v| *v = 0.0);
    let mut loss = 0.0;
    for r in 0..rows {
        let zr = &z[r * width..(r + 1) * width];
        let dzr = &mut dz[r * width..(r + 1) * width];
        dzr.iter_mut().for_each(|v| *v = 0.0);
        for j in 0..k {
            let (pj, qj) = (p[r * k + j], q[r * k + j]);
            let (pc, qc) = (pj.clamp(KLD_EPSILON, 1.0), qj.clamp(KLD_EPSILON, 1.0));
            loss += pc * (pc / qc).ln();
            let mu = &centroids[j * width..(j + 1) * width];
            let coef = 2.0 * scale * (pj - qj) / (1.0 + dist2(zr, mu));
            let dmuj = &mut dmu[j * width..(j + 1) * width];
            for ((d, m), (zv, mv)) in dzr.iter_mut().zip(dmuj.iter_mut()).zip(zr.iter().zip(mu)) {
                let g = coef * (zv - mv);
                *d += g;
                *m -= g;
            }
        }
    }
    loss * scale
}

/// Keras' `EarlyStopping` / `ReduceLROnPlateau` on the epoch loss: a loss counts as
/// better only when it beats the best so far by more than `min_delta`.
struct Plateau {
    best: f64,
    wait: usize,
    patience: usize,
    min_delta: f64,
}

impl Plateau {
    fn new(patience: usize, min_delta: f64) -> Plateau {
        Plateau {
            best: f64::INFINITY,
            wait: 0,
            patience,
            min_delta,
        }
    }

    /// Whether the loss has not improved for `patience` epochs (the count restarts).
    fn stalled(&mut self, loss: f64) -> bool {
        if loss < self.best - self.min_delta {
            self.best = loss;
            self.wait = 0;
            return false;
        }
        self.wait += 1;
        if self.wait >= self.patience {
            self.wait = 0;
            return true;
        }
        false
    }
}

/// How often progress lines come: about 50 per phase.
fn every(total: usize) -> usize {
    total.div_ceil(50).max(1)
}

impl Dec {
    pub fn train(
        x: &Matrix,
        attrs: &Resolved,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Dec> {
        let k = attrs.usize("model.n_clusters");
        if x.rows < k {
            return Err(invalid(
                "model.n_clusters",
                &format!("at most the number of training rows ({})", x.rows),
                k,
            ));
        }
        if x.data.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(format!(
                "{NAME}: a feature value is not a finite number after encoding; scale or \
                 filter the columns"
            )));
        }
        let dims = attrs.int_list("model.pretrain_dims");
        if attrs.float("model.pretrain_cbreduce_factor") >= 1.0 {
            return Err(invalid(
                "model.pretrain_cbreduce_factor",
                "a number in (0, 1) (Keras' ReduceLROnPlateau needs a factor below 1)",
                attrs.float("model.pretrain_cbreduce_factor"),
            ));
        }
        let activation = attrs
            .opt_str("model.pretrain_activation_func")
            .and_then(Activation::from_name)
            .unwrap_or_default();
        let mut rng = Rng::new(attrs.seed("model.seed"));
        let scaler = min_max(x);
        let xs = scaler.transform(x);
        let initializer = attrs.str("model.pretrain_initializer");
        let mut sizes = vec![x.cols];
        sizes.extend(&dims);
        let mut layers: Vec<Layer> = sizes
            .windows(2)
            .map(|w| init_layer(w[0], w[1], initializer, &mut rng))
            .collect();
        let n_encoder = layers.len();
        let width = dims.last().copied().unwrap_or(x.cols);
        progress(&format!(
            "{NAME}: {} rows, {} features, encoder {:?} ({}), {k} clusters",
            x.rows,
            x.cols,
            dims,
            activation.name()
        ));
        if attrs.bool("model.run_pretrain") {
            let mut decoder: Vec<usize> = sizes.iter().rev().copied().collect();
            decoder.remove(0);
            let mut prev = width;
            for &n in &decoder {
                layers.push(init_layer(prev, n, initializer, &mut rng));
                prev = n;
            }
            pretrain(&xs, &mut layers, activation, attrs, &mut rng, progress)?;
            layers.truncate(n_encoder);
        } else {
            progress("model.run_pretrain = false: clustering on the initial encoder");
        }
        let mut model = Dec {
            scaler,
            encoder: layers,
            activation,
            centroids: Vec::new(),
            k,
        };
        let embedded = Matrix {
            rows: x.rows,
            cols: width,
            data: model.embed(&xs),
        };
        let (centroids, assign) = crate::kmeans::best_of(
            &embedded,
            k,
            attrs.usize("model.kmeans_init"),
            attrs.seed("model.seed"),
            // The same centroids on any thread count.
            crate::threads::available(),
        );
        model.centroids = centroids;
        progress(&format!(
            "k-means on the embedding ({} starts): cluster sizes {:?}",
            attrs.usize("model.kmeans_init"),
            sizes_of(&assign, k)
        ));
        model.cluster(&xs, assign, attrs, monitor, progress)?;
        if !model.check(x.cols) {
            return Err(ModelError::Training(format!(
                "{NAME} produced non-finite parameters (the optimization diverged); lower \
                 model.train_lr or model.pretrain_lr"
            )));
        }
        Ok(model)
    }

    /// The embedding of scaled rows, `rows × width`.
    fn embed(&self, xs: &Matrix) -> Vec<f64> {
        let mut input = xs.data.clone();
        for layer in &self.encoder {
            let mut out = vec![0.0; xs.rows * layer.n_out];
            affine(&input, xs.rows, layer, &mut out);
            out.iter_mut().for_each(|v| *v = self.activation.apply(*v));
            input = out;
        }
        input
    }

    fn width(&self) -> usize {
        self.encoder.last().map_or(0, |l| l.n_out)
    }

    /// DEC's phase 3 from the k-means assignment `last`.
    fn cluster(
        &mut self,
        xs: &Matrix,
        mut last: Vec<usize>,
        attrs: &Resolved,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let (n, k, width) = (xs.rows, self.k, self.width());
        let max_iters = attrs.usize("model.train_max_iters");
        let interval = attrs.usize("model.update_interval").max(1);
        let batch = attrs.usize("train.batch_size").max(1);
        let use_tol = attrs.bool("model.train_use_tol");
        let tol = attrs.float("model.tol");
        let lr = attrs.float("model.train_lr");
        let mut stack = Stack {
            layers: &mut self.encoder,
            activation: self.activation,
            linear_from: usize::MAX,
        };
        let mut opt = {
            let mut tensors: Vec<&[f64]> = stack
                .layers
                .iter()
                .flat_map(|l| [&l.w[..], &l.b[..]])
                .collect();
            tensors.push(&self.centroids);
            Optimizer::new(OptimizerConfig::sgd(lr, MOMENTUM), &tensors)
        };
        let mut grads: Vec<Vec<f64>> = stack
            .layers
            .iter()
            .flat_map(|l| [vec![0.0; l.w.len()], vec![0.0; l.b.len()]])
            .collect();
        let mut dmu = vec![0.0; self.centroids.len()];
        let mut pass = Pass::default();
        let mut p = Vec::new();
        let (mut index, mut loss_sum, mut loss_count) = (0usize, 0.0, 0usize);
        let updates = max_iters.div_ceil(interval);
        let report = every(updates);
        let mut stop = format!("stopped at model.train_max_iters = {max_iters}");
        let mut ran = 0;
        for ite in 0..max_iters {
            if ite % interval == 0 {
                let mut embedded = Vec::with_capacity(n * width);
                for chunk in (0..n).collect::<Vec<_>>().chunks(4096) {
                    let rows = gather(xs, chunk);
                    stack.forward(&rows, chunk.len(), &mut pass);
                    embedded.extend_from_slice(&pass.outs[stack.layers.len()]);
                }
                let q = soft_assign(&embedded, width, &self.centroids, k);
                p = target_distribution(&q, k);
                let pred = argmax_rows(&q, k);
                let moved = pred.iter().zip(&last).filter(|(a, b)| a != b).count();
                let changed = moved as f64 / n as f64;
                last = pred;
                let update = ite / interval;
                let loss = (loss_count > 0).then(|| loss_sum / loss_count as f64);
                if let Some(l) = loss {
                    if !l.is_finite() {
                        return Err(ModelError::Training(format!(
                            "{NAME}: the clustering loss became {l} at iteration {ite}; lower \
                             model.train_lr (now {lr})"
                        )));
                    }
                    monitor.record("iteration", "loss", "train", ite as u64, l);
                }
                if update.is_multiple_of(report) {
                    progress(&format!(
                        "clustering iteration {ite}/{max_iters}: KL loss {}, {changed:.4} of \
                         the assignments changed (stops below model.tol = {tol})",
                        loss.map_or_else(|| "-".to_string(), |l| format!("{l:.6}"))
                    ));
                }
                (loss_sum, loss_count) = (0.0, 0);
                if use_tol && ite > 0 && changed < tol {
                    stop = format!(
                        "stopped at iteration {ite}: {changed:.4} of the assignments changed, \
                         below model.tol = {tol}"
                    );
                    break;
                }
            }
            // The zoo's slices in table order; where it would take an empty slice (the
            // rows divide evenly) this starts over instead of training on nothing.
            if index * batch >= n {
                index = 0;
            }
            let (start, end) = (index * batch, ((index + 1) * batch).min(n));
            index = if (index + 1) * batch <= n {
                index + 1
            } else {
                0
            };
            let chunk: Vec<usize> = (start..end).collect();
            let rows = gather(xs, &chunk);
            stack.forward(&rows, chunk.len(), &mut pass);
            let z = &pass.outs[stack.layers.len()];
            let batch_p: Vec<f64> = p[start * k..end * k].to_vec();
            let mut dz = vec![0.0; z.len()];
            let loss = kld_gradients(z, &batch_p, &self.centroids, k, width, &mut dz, &mut dmu);
            loss_sum += loss;
            loss_count += 1;
            stack.backward(&pass, chunk.len(), dz, &mut grads);
            opt.begin_step();
            for (i, param) in stack.params_mut().enumerate() {
                opt.update(i, param, &grads[i]);
            }
            opt.update(grads.len(), &mut self.centroids, &dmu);
            ran = ite + 1;
        }
        progress(&format!(
            "clustering {stop} after {ran} iterations; cluster sizes {:?}",
            sizes_of(&self.assign(xs), k)
        ));
        Ok(())
    }

    pub fn predict(&self, x: &Matrix) -> Vec<usize> {
        self.assign(&self.scaler.transform(x))
    }

    /// Each scaled row's cluster.
    fn assign(&self, xs: &Matrix) -> Vec<usize> {
        let width = self.width();
        let z = self.embed(xs);
        // q decreases with the distance to a centroid, so its largest entry is the
        // nearest centroid's.
        z.chunks(width.max(1))
            .map(|row| {
                self.centroids
                    .chunks(width.max(1))
                    .enumerate()
                    .fold((0, f64::INFINITY), |best, (j, c)| {
                        let d = dist2(row, c);
                        if d < best.1 { (j, d) } else { best }
                    })
                    .0
            })
            .collect()
    }

    pub fn check(&self, cols: usize) -> bool {
        let mut expect = cols;
        for l in &self.encoder {
            if l.n_in != expect
                || l.n_out == 0
                || l.w.len() != l.n_in.saturating_mul(l.n_out)
                || l.b.len() != l.n_out
                || l.w.iter().chain(&l.b).any(|v| !v.is_finite())
            {
                return false;
            }
            expect = l.n_out;
        }
        !self.encoder.is_empty()
            && self.k > 0
            && self.centroids.len() == self.k.saturating_mul(expect)
            && self.centroids.iter().all(|v| v.is_finite())
            && self.scaler.check(cols)
    }
}

/// Maps each column's training range onto [0, 1] (a constant column is shifted to 0).
fn min_max(x: &Matrix) -> Scaler {
    let mut lo = vec![f64::INFINITY; x.cols];
    let mut hi = vec![f64::NEG_INFINITY; x.cols];
    for r in 0..x.rows {
        for ((l, h), v) in lo.iter_mut().zip(hi.iter_mut()).zip(x.row(r)) {
            *l = l.min(*v);
            *h = h.max(*v);
        }
    }
    let scale = lo
        .iter()
        .zip(&hi)
        .map(|(l, h)| if h - l > 1e-12 { h - l } else { 1.0 })
        .collect();
    Scaler { mean: lo, scale }
}

fn gather(x: &Matrix, rows: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * x.cols);
    for &r in rows {
        out.extend_from_slice(x.row(r));
    }
    out
}

fn sizes_of(assign: &[usize], k: usize) -> Vec<usize> {
    let mut sizes = vec![0; k];
    for &a in assign {
        if let Some(s) = sizes.get_mut(a) {
            *s += 1;
        }
    }
    sizes
}

/// Phase 1: the autoencoder `layers` (the encoder's, then the decoder's) learns to
/// reproduce the standardized rows.
fn pretrain(
    xs: &Matrix,
    layers: &mut [Layer],
    activation: Activation,
    attrs: &Resolved,
    rng: &mut Rng,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let (n, d) = (xs.rows, xs.cols);
    let epochs = attrs.usize("model.pretrain_epochs");
    let batch = attrs.usize("model.pretrain_batch_size").clamp(1, n.max(1));
    let mut lr = attrs.float("model.pretrain_lr");
    let callbacks = attrs.bool("model.pretrain_use_callbacks");
    let mut early = Plateau::new(
        attrs.usize("model.pretrain_cbearlystop_patience"),
        attrs.float("model.pretrain_cbearlystop_mindelta"),
    );
    // ReduceLROnPlateau's own min_delta default.
    let mut reduce = Plateau::new(attrs.usize("model.pretrain_cbreduce_patience"), 1e-4);
    let factor = attrs.float("model.pretrain_cbreduce_factor");
    let n_layers = layers.len();
    let mut stack = Stack {
        layers,
        activation,
        linear_from: n_layers - 1,
    };
    let mut opt = {
        let tensors: Vec<&[f64]> = stack
            .layers
            .iter()
            .flat_map(|l| [&l.w[..], &l.b[..]])
            .collect();
        Optimizer::new(OptimizerConfig::sgd(lr, MOMENTUM), &tensors)
    };
    let mut grads: Vec<Vec<f64>> = stack
        .layers
        .iter()
        .flat_map(|l| [vec![0.0; l.w.len()], vec![0.0; l.b.len()]])
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut pass = Pass::default();
    let report = every(epochs);
    for epoch in 0..epochs {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for chunk in order.chunks(batch) {
            let rows = gather(xs, chunk);
            stack.forward(&rows, chunk.len(), &mut pass);
            let out = &pass.outs[n_layers];
            // Keras' mse: the mean over the features, then over the batch.
            let scale = 1.0 / (d * chunk.len()) as f64;
            let mut delta = vec![0.0; out.len()];
            for ((dl, o), t) in delta.iter_mut().zip(out).zip(&rows) {
                let e = o - t;
                total += e * e / d as f64;
                *dl = 2.0 * e * scale;
            }
            stack.backward(&pass, chunk.len(), delta, &mut grads);
            opt.begin_step();
            for (i, param) in stack.params_mut().enumerate() {
                opt.update(i, param, &grads[i]);
            }
        }
        let loss = total / n as f64;
        if !loss.is_finite() {
            return Err(ModelError::Training(format!(
                "{NAME}: the autoencoder's loss became {loss} at epoch {}; lower \
                 model.pretrain_lr (now {lr})",
                epoch + 1
            )));
        }
        let last = epoch + 1 == epochs;
        let mut note = String::new();
        if callbacks {
            if early.stalled(loss) {
                note = format!(
                    " (EarlyStopping: no improvement over {} epochs)",
                    early.patience
                );
            } else if reduce.stalled(loss) {
                lr *= factor;
                opt.set_learning_rate(lr);
                note = format!(" (ReduceLROnPlateau: learning rate now {lr})");
            }
        }
        let stopping = note.starts_with(" (Early");
        if epoch % report == 0 || last || !note.is_empty() {
            progress(&format!(
                "autoencoder epoch {}/{epochs}: loss {loss:.6}{note}",
                epoch + 1
            ));
        }
        if stopping {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kld_gradients_match_finite_differences() {
        let (k, width, rows) = (3, 2, 4);
        let z = vec![0.3, -1.0, 2.0, 0.5, -0.7, 1.5, 1.1, -0.2];
        let mu = vec![0.0, 0.0, 1.0, 1.0, -1.0, 0.5];
        let p = target_distribution(&soft_assign(&z, width, &mu, k), k);
        let (mut dz, mut dmu) = (vec![0.0; rows * width], vec![0.0; k * width]);
        kld_gradients(&z, &p, &mu, k, width, &mut dz, &mut dmu);
        let loss = |z: &[f64], mu: &[f64]| {
            let (mut a, mut b) = (vec![0.0; rows * width], vec![0.0; k * width]);
            kld_gradients(z, &p, mu, k, width, &mut a, &mut b)
        };
        let h = 1e-6;
        for i in 0..z.len() {
            let (mut plus, mut minus) = (z.clone(), z.clone());
            plus[i] += h;
            minus[i] -= h;
            let numeric = (loss(&plus, &mu) - loss(&minus, &mu)) / (2.0 * h);
            assert!(
                (numeric - dz[i]).abs() < 1e-6,
                "z {i}: {numeric} vs {}",
                dz[i]
            );
        }
        for i in 0..mu.len() {
            let (mut plus, mut minus) = (mu.clone(), mu.clone());
            plus[i] += h;
            minus[i] -= h;
            let numeric = (loss(&z, &plus) - loss(&z, &minus)) / (2.0 * h);
            assert!(
                (numeric - dmu[i]).abs() < 1e-6,
                "mu {i}: {numeric} vs {}",
                dmu[i]
            );
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(7);
        let mut layers = vec![
            init_layer(3, 4, "glorot_uniform", &mut rng),
            init_layer(4, 2, "glorot_normal", &mut rng),
        ];
        let input = vec![0.5, -1.2, 0.3, 1.0, 0.2, -0.4];
        let c = [0.7, -1.3, 0.4, 0.9];
        let loss = |layers: &mut [Layer]| {
            let stack = Stack {
                layers,
                activation: Activation::Tanh,
                linear_from: 1,
            };
            let mut pass = Pass::default();
            stack.forward(&input, 2, &mut pass);
            pass.outs[2].iter().zip(&c).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut grads: Vec<Vec<f64>> = layers
            .iter()
            .flat_map(|l| [vec![0.0; l.w.len()], vec![0.0; l.b.len()]])
            .collect();
        {
            let stack = Stack {
                layers: &mut layers,
                activation: Activation::Tanh,
                linear_from: 1,
            };
            let mut pass = Pass::default();
            stack.forward(&input, 2, &mut pass);
            stack.backward(&pass, 2, c.to_vec(), &mut grads);
        }
        for l in 0..2 {
            for (i, analytic) in grads[2 * l].iter().enumerate() {
                let mut plus = layers.clone();
                plus[l].w[i] += 1e-6;
                let mut minus = layers.clone();
                minus[l].w[i] -= 1e-6;
                let numeric = (loss(&mut plus) - loss(&mut minus)) / 2e-6;
                assert!((numeric - analytic).abs() < 1e-6, "w{l}[{i}]");
            }
        }
    }

    #[test]
    fn target_sharpens_and_rows_sum_to_one() {
        let q = vec![0.6, 0.3, 0.1, 0.2, 0.5, 0.3];
        let p = target_distribution(&q, 3);
        for (row_p, row_q) in p.chunks(3).zip(q.chunks(3)) {
            assert!((row_p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let (ip, iq) = (argmax_rows(row_p, 3)[0], argmax_rows(row_q, 3)[0]);
            assert_eq!(ip, iq);
            assert!(row_p[ip] > row_q[iq]);
        }
    }
}
