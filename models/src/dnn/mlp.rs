//! The network as a model: training (epochs, mini-batches, optimizers, validation
//! reports), prediction, and the checks a loaded model must pass.

use serde::{Deserialize, Serialize};

use super::{
    flavor::DnnFlavor,
    layers::{Activation, BatchNorm, Head, Layer, Wide, affine, normalize_rows, softmax_rows},
};
use crate::{
    attrs::Resolved,
    data::{Labels, Matrix, Scaler, one_hot},
    embedding::{EmbeddingInput, Embeddings},
    error::{ModelError, Result},
    monitor::{Monitor, Throttle},
    optimizer::{Optimizer, OptimizerConfig},
    rng::Rng,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Mlp {
    pub(super) scaler: Scaler,
    pub(super) layers: Vec<Layer>,
    pub(super) head: Head,
    #[serde(default)]
    pub(super) activation: Activation,
    /// Empty, or one per hidden layer.
    #[serde(default)]
    pub(super) norms: Vec<BatchNorm>,
    /// Dropout rate of the hidden layers while training (0: none).
    #[serde(default)]
    pub(super) dropout: f64,
    /// Encoded columns feeding the network; `None`: all of them.
    #[serde(default)]
    pub(super) deep_inputs: Option<Vec<usize>>,
    #[serde(default)]
    pub(super) wide: Option<Wide>,
    /// Embedding tables (SQL's EMBEDDING), whose outputs follow the deep inputs.
    #[serde(default)]
    pub(super) embeddings: Option<Embeddings>,
}

/// Which encoded columns feed which part of wide and deep.
pub(crate) struct WideDeepInputs {
    pub deep: Vec<usize>,
    pub wide: Vec<usize>,
}

/// Everything [`Mlp::train`] needs besides the data.
pub(crate) struct DnnSetup<'a> {
    pub estimator: &'a str,
    pub flavor: &'a DnnFlavor,
    pub wide_deep: Option<WideDeepInputs>,
    /// Embedded encoded columns: they feed the network through their tables only.
    pub embeddings: Vec<EmbeddingInput>,
}

/// Training settings read from the attributes.
struct Settings {
    pub(super) epochs: usize,
    pub(super) batch: usize,
    /// 0: no limit.
    pub(super) max_steps: usize,
    pub(super) l2: f64,
}

impl Mlp {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        attrs: &mut Resolved,
        setup: &DnnSetup<'_>,
        warm: Option<&Mlp>,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Mlp> {
        let f = setup.flavor;
        let hidden = attrs.int_list(f.hidden);
        let activation = attrs
            .opt_str(f.activation)
            .and_then(Activation::from_name)
            .unwrap_or_default();
        let dropout = attrs.opt_float(f.dropout).unwrap_or(0.0);
        let batch_norm = attrs.bool("model.batch_norm");
        let (o, p, kind, lr) = f.optimizer;
        let deep_opt = OptimizerConfig::from_attrs(setup.estimator, attrs, o, p, (kind, lr))?;
        let wide_opt = match (f.linear_optimizer, &setup.wide_deep) {
            (Some((o, p, kind, lr)), Some(inputs)) => {
                // TensorFlow's default linear learning rate shrinks with the column count.
                let lr = lr.min(1.0 / (inputs.wide.len().max(1) as f64).sqrt());
                Some(OptimizerConfig::from_attrs(
                    setup.estimator,
                    attrs,
                    o,
                    p,
                    (kind, lr),
                )?)
            }
            _ => None,
        };
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
                if out != n_out || old.scaler.mean.len() != x.cols {
                    return Err(ModelError::WarmStart(
                        "the existing network's input or output size differs from this data".into(),
                    ));
                }
                // Checked on the network rather than the saved attributes, which models
                // saved before these attributes existed lack.
                if old.activation != activation || old.norms.is_empty() == batch_norm {
                    return Err(ModelError::WarmStart(format!(
                        "the existing network uses activation {} and batch_norm = {}; keep \
                         {} and model.batch_norm as they were, or train without USING",
                        old.activation.name(),
                        !old.norms.is_empty(),
                        f.activation
                    )));
                }
                Mlp {
                    head,
                    dropout,
                    ..old.clone()
                }
            }
            None => {
                let mut deep_inputs = setup.wide_deep.as_ref().map(|i| i.deep.clone());
                let embeddings = Embeddings::new(&setup.embeddings, &mut rng);
                if let Some(e) = &embeddings {
                    let embedded = e.columns();
                    let all = deep_inputs.take().unwrap_or_else(|| (0..x.cols).collect());
                    deep_inputs = Some(all.into_iter().filter(|c| !embedded.contains(c)).collect());
                }
                let n_in = deep_inputs.as_ref().map_or(x.cols, Vec::len)
                    + embeddings.as_ref().map_or(0, Embeddings::width);
                let mut sizes = vec![n_in];
                sizes.extend(&hidden);
                sizes.push(n_out);
                let layers = sizes
                    .windows(2)
                    .map(|w| {
                        // Glorot-uniform, as Keras' Dense layers and scikit-learn's MLP.
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
                let norms = if batch_norm {
                    hidden
                        .iter()
                        .map(|&h| BatchNorm {
                            gamma: vec![1.0; h],
                            beta: vec![0.0; h],
                            mean: vec![0.0; h],
                            var: vec![1.0; h],
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let wide = setup.wide_deep.as_ref().map(|i| Wide {
                    inputs: i.wide.clone(),
                    // TensorFlow's linear model starts at zero.
                    w: vec![0.0; i.wide.len() * n_out],
                });
                Mlp {
                    scaler: Scaler::fit(x),
                    layers,
                    head,
                    activation,
                    norms,
                    dropout,
                    deep_inputs,
                    wide,
                    embeddings,
                }
            }
        };
        let xs = model.scaler.transform(x);
        let settings = Settings {
            epochs: attrs.usize("train.epoch"),
            batch: attrs.usize("train.batch_size").max(1),
            max_steps: attrs.usize("train.max_steps"),
            l2: attrs.float("model.l2_reg"),
        };
        model.fit(
            &xs, &targets, n_out, &settings, deep_opt, wide_opt, &mut rng, monitor, progress,
        )?;
        Ok(model)
    }

    #[allow(clippy::too_many_arguments)]
    fn fit(
        &mut self,
        x: &Matrix,
        targets: &[f64],
        n_out: usize,
        s: &Settings,
        deep_opt: OptimizerConfig,
        wide_opt: Option<OptimizerConfig>,
        rng: &mut Rng,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let n = x.rows;
        let batch = s.batch.min(n).max(1);
        let deep_lr = deep_opt.learning_rate;
        let mut deep = {
            let tensors: Vec<&[f64]> = self.deep_params().map(|p| &p[..]).collect();
            Optimizer::new(deep_opt, &tensors)
        };
        let mut wide = match (&self.wide, wide_opt) {
            (Some(w), Some(cfg)) => Some(Optimizer::new(cfg, &[&w.w])),
            _ => None,
        };
        let mut buf = self.buffers(batch);
        let mut order: Vec<usize> = (0..n).collect();
        let softmax = matches!(self.head, Head::Softmax);
        let report_scale = match self.head {
            Head::Linear { y_scale, .. } => y_scale * y_scale,
            Head::Softmax => 1.0,
        };
        let throttle = Throttle::new(s.epochs);
        let mut steps = 0usize;
        for epoch in 0..s.epochs {
            rng.shuffle(&mut order);
            let (mut total, mut seen) = (0.0, 0usize);
            let mut stopped = false;
            for chunk in order.chunks(batch) {
                self.gather(&mut buf, x, chunk);
                self.forward_train(&mut buf, chunk.len(), rng);
                total += self.output_delta(&mut buf, chunk, targets, n_out, softmax);
                seen += chunk.len();
                self.backward(&mut buf, chunk.len(), s.l2);
                deep.begin_step();
                let grads = std::mem::take(&mut buf.grads);
                for (i, p) in self.deep_params_mut().enumerate() {
                    deep.update(i, p, &grads[i]);
                }
                buf.grads = grads;
                if let (Some(opt), Some(w)) = (wide.as_mut(), self.wide.as_mut()) {
                    opt.begin_step();
                    opt.update(0, &mut w.w, &buf.wide_grad);
                }
                steps += 1;
                if s.max_steps > 0 && steps >= s.max_steps {
                    stopped = true;
                    break;
                }
            }
            let loss = total / seen.max(1) as f64;
            let shown = if softmax {
                loss
            } else {
                2.0 * loss * report_scale
            };
            if !shown.is_finite() {
                return Err(ModelError::Training(format!(
                    "the loss became {shown} at epoch {}; lower the learning rate (now {deep_lr})",
                    epoch + 1
                )));
            }
            monitor.record("epoch", "loss", "train", epoch as u64 + 1, shown);
            if throttle.due(epoch) || stopped {
                let mut line = format!("epoch {}/{}: loss {shown:.4}", epoch + 1, s.epochs);
                if monitor.valid.is_some() {
                    let report = self.validation_report(x, monitor, epoch as u64 + 1);
                    line.push_str(", ");
                    line.push_str(&report);
                }
                if stopped {
                    line.push_str(&format!(" (stopped: train.max_steps = {})", s.max_steps));
                }
                progress(&line);
            }
            if stopped {
                break;
            }
        }
        self.refresh_norms(x);
        Ok(())
    }

    fn validation_report(&mut self, train_x: &Matrix, monitor: &Monitor<'_>, epoch: u64) -> String {
        self.refresh_norms(train_x);
        match monitor.valid {
            Some(v) if matches!(self.head, Head::Softmax) => {
                monitor.report(epoch, Some(&self.predict_proba(&v.x)), None)
            }
            Some(v) => monitor.report(epoch, None, Some(&self.predict_values(&v.x))),
            None => String::new(),
        }
    }

    /// Sets each batch norm's prediction-time statistics to those of `x` (standardized
    /// training rows) passed through the trained layers below it.
    fn refresh_norms(&mut self, x: &Matrix) {
        if self.norms.is_empty() {
            return;
        }
        let mut input = self.deep_columns(x);
        for l in 0..self.norms.len() {
            let layer = &self.layers[l];
            let mut out = vec![0.0; x.rows * layer.n_out];
            affine(&input, x.rows, layer, &mut out);
            out.iter_mut().for_each(|v| *v = self.activation.apply(*v));
            let h = layer.n_out;
            let (mut mean, mut var) = (vec![0.0; h], vec![0.0; h]);
            for row in out.chunks(h) {
                mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m /= x.rows.max(1) as f64);
            for row in out.chunks(h) {
                for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                    *s += (v - m) * (v - m);
                }
            }
            var.iter_mut().for_each(|s| *s /= x.rows.max(1) as f64);
            let norm = &mut self.norms[l];
            norm.mean = mean;
            norm.var = var;
            normalize_rows(&mut out, h, norm);
            input = out;
        }
    }

    /// The network's inputs of every row of `x`: all columns, or the deep ones.
    fn deep_columns(&self, x: &Matrix) -> Vec<f64> {
        match (&self.deep_inputs, &self.embeddings) {
            (None, _) => x.data.clone(),
            (Some(cols), None) => (0..x.rows)
                .flat_map(|r| cols.iter().map(move |&c| x.get(r, c)))
                .collect(),
            (Some(cols), Some(e)) => {
                let (n, width) = (cols.len(), e.width());
                let mut out = vec![0.0; x.rows * (n + width)];
                for (r, dst) in out.chunks_mut(n + width).enumerate() {
                    let row = x.row(r);
                    dst.iter_mut().zip(cols).for_each(|(d, &c)| *d = row[c]);
                    e.forward(row, &self.scaler, &mut dst[n..], None);
                }
                out
            }
        }
    }

    /// Parameters the deep optimizer updates, in a fixed order: w, b per layer, then
    /// gamma, beta per batch norm.
    pub(super) fn deep_params(&self) -> impl Iterator<Item = &Vec<f64>> {
        self.layers
            .iter()
            .flat_map(|l| [&l.w, &l.b])
            .chain(self.norms.iter().flat_map(|n| [&n.gamma, &n.beta]))
            .chain(self.embeddings.iter().flat_map(Embeddings::params))
    }

    fn deep_params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        self.layers
            .iter_mut()
            .flat_map(|l| [&mut l.w, &mut l.b])
            .chain(
                self.norms
                    .iter_mut()
                    .flat_map(|n| [&mut n.gamma, &mut n.beta]),
            )
            .chain(self.embeddings.iter_mut().flat_map(Embeddings::params_mut))
    }

    /// Raw outputs for all rows (`rows × n_out`).
    fn outputs(&self, x: &Matrix) -> (Vec<f64>, usize) {
        let k = self.layers.last().map_or(0, |l| l.n_out);
        let xs = self.scaler.transform(x);
        let mut input = self.deep_columns(&xs);
        let last = self.layers.len().saturating_sub(1);
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            out = vec![0.0; xs.rows * layer.n_out];
            affine(&input, xs.rows, layer, &mut out);
            if l < last {
                out.iter_mut().for_each(|v| *v = self.activation.apply(*v));
                if let Some(norm) = self.norms.get(l) {
                    normalize_rows(&mut out, layer.n_out, norm);
                }
                input = std::mem::take(&mut out);
            }
        }
        if let Some(w) = &self.wide {
            for r in 0..xs.rows {
                let row = xs.row(r);
                for (i, &c) in w.inputs.iter().enumerate() {
                    let xi = row[c];
                    out[r * k..(r + 1) * k]
                        .iter_mut()
                        .zip(&w.w[i * k..(i + 1) * k])
                        .for_each(|(o, wi)| *o += xi * wi);
                }
            }
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
        let deep_in = match (&self.deep_inputs, &self.embeddings) {
            (None, None) => cols,
            (Some(c), e)
                if c.iter().all(|&i| i < cols) && e.as_ref().is_none_or(|e| e.check(cols)) =>
            {
                c.len() + e.as_ref().map_or(0, Embeddings::width)
            }
            _ => return false,
        };
        let mut expect_in = deep_in;
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
        let hidden = self.layers.len().saturating_sub(1);
        let norms_ok = (self.norms.is_empty() || self.norms.len() == hidden)
            && self.norms.iter().zip(&self.layers).all(|(n, l)| {
                [&n.gamma, &n.beta, &n.mean, &n.var]
                    .iter()
                    .all(|v| v.len() == l.n_out && v.iter().all(|x| x.is_finite()))
                    && n.var.iter().all(|v| *v >= 0.0)
            });
        let wide_ok = self.wide.as_ref().is_none_or(|w| {
            w.inputs.iter().all(|&i| i < cols)
                && w.w.len() == w.inputs.len().saturating_mul(n_out)
                && w.w.iter().all(|v| v.is_finite())
        });
        let head_ok = match self.head {
            Head::Softmax => true,
            Head::Linear { y_mean, y_scale } => {
                y_mean.is_finite() && y_scale.is_finite() && y_scale > 0.0
            }
        };
        !self.layers.is_empty()
            && expect_in == n_out
            && head_ok
            && norms_ok
            && wide_ok
            && (0.0..1.0).contains(&self.dropout)
            && self.scaler.check(cols)
    }
}
