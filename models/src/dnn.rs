//! Neural models: `DNNClassifier` / `DNNRegressor` (TensorFlow's canned estimators and
//! the Keras models `sqlflow_models.DNNClassifier` / `DNNRegressor`) and
//! `DNNLinearCombinedClassifier` / `Regressor` (wide and deep).
//!
//! One network: hidden layers (activation, then dropout, then batch normalization, in
//! the order TensorFlow's canned DNN applies them) and a softmax + cross-entropy or
//! linear + squared-error head. Wide and deep adds a linear part on its own columns
//! whose output is summed with the network's before the head; both parts train
//! together on the same loss, each with its own optimizer. Inputs (and a regressor's
//! target) are standardized internally; the scalers are part of the model.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, AttrValue, DefaultValue, Resolved, spec, text_of};
use crate::data::{Labels, Matrix, Scaler, one_hot};
use crate::embedding::{Active, EmbeddingInput, Embeddings};
use crate::error::{ModelError, Result};
use crate::monitor::{Monitor, Throttle};
use crate::optimizer::{
    DNN_OPTIMIZER_SPECS, LINEAR_OPTIMIZER_SPECS, OPTIMIZER_SPECS, Optimizer, OptimizerConfig,
    OptimizerKind,
};
use crate::rng::Rng;

/// Attributes of TensorFlow's runtime (distribution, checkpoints, logging cadence) that
/// every TensorFlow estimator accepts and that mean nothing in one in-process job.
pub(crate) const TF_RUNTIME_SPECS: &[AttrSpec] = &[
    spec::no_effect(
        "train.num_workers",
        "a job trains in one process; there are no distributed workers",
    ),
    spec::no_effect("train.num_ps", "there are no parameter servers"),
    spec::no_effect("train.worker_cpu", "there are no distributed workers"),
    spec::no_effect("train.worker_gpu", "there are no distributed workers"),
    spec::no_effect("train.ps_cpu", "there are no parameter servers"),
    spec::no_effect("train.ps_gpu", "there are no parameter servers"),
    spec::no_effect("train.num_evaluator", "validation runs in the training job"),
    spec::no_effect("train.evaluator_cpu", "validation runs in the training job"),
    spec::no_effect("train.evaluator_gpu", "validation runs in the training job"),
    spec::no_effect(
        "train.save_checkpoints_steps",
        "the model is saved once, into the INTO table, when training ends",
    ),
    spec::no_effect(
        "train.log_every_n_iter",
        "progress is logged once per epoch (at most about 50 lines)",
    ),
    spec::no_effect(
        "train.verbose",
        "progress is logged once per epoch (at most about 50 lines)",
    ),
    spec::no_effect("train.disk_cache", "the training rows are held in memory"),
    spec::no_effect(
        "model.config",
        "it configures TensorFlow's RunConfig, and TensorFlow does not run here",
    ),
    spec::no_effect(
        "model.model_dir",
        "the model is stored in the INTO table, not in a directory",
    ),
    spec::no_effect(
        "model.warm_start_from",
        "continue from a saved model with USING <model> instead",
    ),
    spec::no_effect(
        "model.input_layer_partitioner",
        "variables are not partitioned: training runs in one process",
    ),
];

pub(crate) const ACTIVATIONS: &str =
    "relu, relu6, elu, selu, tanh, sigmoid, softplus, softsign, leaky_relu, swish or linear";

/// `relu`, `"tf.nn.relu"`, `tf.keras.activations.relu` all name ReLU.
fn normalize_activation(value: &AttrValue) -> Option<AttrValue> {
    let text = text_of(value)?;
    let name = text.rsplit('.').next().unwrap_or(text).to_ascii_lowercase();
    Activation::from_name(&name).map(|a| AttrValue::Str(a.name().to_string()))
}

/// A rate in [0, 1): 1 would drop every unit.
fn normalize_rate(value: &AttrValue) -> Option<AttrValue> {
    let v = match value {
        AttrValue::Int(i) => *i as f64,
        AttrValue::Float(f) => *f,
        _ => return None,
    };
    (0.0..1.0).contains(&v).then_some(AttrValue::Float(v))
}

const fn hidden_units(name: &'static str, default: &'static [i64]) -> AttrSpec {
    AttrSpec {
        name,
        aliases: &[],
        // A bound keeps a typo (an extra zero or two) from exhausting memory.
        ty: AttrType::IntList {
            min: 1,
            max: 100_000,
        },
        default: Some(DefaultValue::IntList(default)),
    }
}

const fn activation(name: &'static str) -> AttrSpec {
    spec::custom(
        name,
        ACTIVATIONS,
        normalize_activation,
        Some(DefaultValue::Str("relu")),
    )
}

const fn dropout(name: &'static str) -> AttrSpec {
    spec::custom(
        name,
        "a number in [0, 1) (the probability of dropping a unit)",
        normalize_rate,
        Some(DefaultValue::Float(0.0)),
    )
}

/// Shared by every neural estimator: how long and how it trains.
const TRAINING: [AttrSpec; 5] = [
    spec::int("train.epoch", 1, 10),
    spec::int("train.batch_size", 1, 32),
    spec::int("train.max_steps", 0, 0),
    spec::non_negative("model.l2_reg", 0.0),
    spec::seed("model.seed"),
];

/// Which attributes and defaults a neural estimator uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DnnFlavor {
    hidden: &'static str,
    hidden_default: &'static [i64],
    n_classes_default: i64,
    activation: &'static str,
    dropout: &'static str,
    /// The optimizer attribute, its argument prefix, and the default (optimizer,
    /// learning rate) when the user names none.
    optimizer: (&'static str, &'static str, OptimizerKind, f64),
    /// Wide and deep only: the linear part's optimizer.
    linear_optimizer: Option<(&'static str, &'static str, OptimizerKind, f64)>,
}

/// TensorFlow's canned `DNNClassifier` / `DNNRegressor`: Adagrad at 0.05 unless told
/// otherwise, and `optimizer.learning_rate` alone sets Adagrad's rate, as SQLFlow built
/// `Adagrad(learning_rate=...)` when only the rate was given.
pub(crate) const CANNED: DnnFlavor = DnnFlavor {
    hidden: "model.hidden_units",
    hidden_default: &[10, 20],
    n_classes_default: 2,
    activation: "model.activation_fn",
    dropout: "model.dropout",
    optimizer: (
        "model.optimizer",
        "optimizer.",
        OptimizerKind::Adagrad,
        0.05,
    ),
    linear_optimizer: None,
};

/// The Keras models `sqlflow_models.DNNClassifier` / `DNNRegressor`: their own
/// defaults (10-10 hidden units, 3 classes, Adagrad at 0.1 / 0.01).
pub(crate) const KERAS_CLASSIFIER: DnnFlavor = DnnFlavor {
    hidden_default: &[10, 10],
    n_classes_default: 3,
    activation: "model.activation",
    optimizer: ("model.optimizer", "optimizer.", OptimizerKind::Adagrad, 0.1),
    ..CANNED
};

pub(crate) const KERAS_REGRESSOR: DnnFlavor = DnnFlavor {
    optimizer: (
        "model.optimizer",
        "optimizer.",
        OptimizerKind::Adagrad,
        0.01,
    ),
    ..KERAS_CLASSIFIER
};

/// `DNNLinearCombined*`: TensorFlow's `dnn_*` names and two optimizers, Adagrad for the
/// network and Ftrl for the linear part as TensorFlow's. TensorFlow's rates there
/// (0.001 and 0.005) barely move a model in the few epochs SQL users run, so the
/// network starts at the canned DNN's 0.05 and the linear part at the canned linear
/// model's min(0.2, 1/√columns).
pub(crate) const WIDE_DEEP: DnnFlavor = DnnFlavor {
    hidden: "model.dnn_hidden_units",
    hidden_default: &[10, 20],
    n_classes_default: 2,
    activation: "model.dnn_activation_fn",
    dropout: "model.dnn_dropout",
    optimizer: (
        "model.dnn_optimizer",
        "dnn_optimizer.",
        OptimizerKind::Adagrad,
        0.05,
    ),
    linear_optimizer: Some((
        "model.linear_optimizer",
        "linear_optimizer.",
        OptimizerKind::Ftrl,
        0.2,
    )),
};

impl DnnFlavor {
    /// The optimizers (attribute, argument prefix, default optimizer and learning rate).
    pub fn optimizers(
        &self,
    ) -> impl Iterator<Item = (&'static str, &'static str, OptimizerKind, f64)> {
        std::iter::once(self.optimizer).chain(self.linear_optimizer)
    }

    /// The estimator's attribute table; `classifier` picks `model.n_classes` over
    /// `model.label_dimension`.
    pub fn specs(&self, classifier: bool) -> Vec<AttrSpec> {
        let wide = self.linear_optimizer.is_some();
        let mut specs = vec![hidden_units(self.hidden, self.hidden_default)];
        if classifier {
            specs.push(spec::int("model.n_classes", 2, self.n_classes_default));
        } else {
            specs.push(AttrSpec {
                ty: AttrType::Int { min: 1, max: 1 },
                ..spec::int("model.label_dimension", 1, 1)
            });
        }
        let act = activation(self.activation);
        let drop = dropout(self.dropout);
        if wide {
            specs.push(spec::aliased(
                act,
                &["model.activation_fn", "model.activation"],
            ));
            specs.push(spec::aliased(drop, &["model.dropout"]));
            specs[0] = spec::aliased(specs[0], &["model.hidden_units"]);
        } else if self.activation == "model.activation" {
            specs.push(spec::aliased(act, &["model.activation_fn"]));
            specs.push(drop);
        } else {
            specs.push(spec::aliased(act, &["model.activation"]));
            specs.push(drop);
        }
        specs.push(spec::bool("model.batch_norm", false));
        specs.extend(TRAINING);
        if wide {
            specs.extend(DNN_OPTIMIZER_SPECS);
            specs.extend(LINEAR_OPTIMIZER_SPECS);
            specs.push(spec::no_effect(
                "model.linear_sparse_combiner",
                "categorical columns are one-hot encoded, so there are no sparse ids to combine",
            ));
        } else {
            specs.extend(OPTIMIZER_SPECS);
        }
        specs.extend_from_slice(TF_RUNTIME_SPECS);
        specs
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) enum Activation {
    #[default]
    Relu,
    Relu6,
    Elu,
    Selu,
    Tanh,
    Sigmoid,
    Softplus,
    Softsign,
    LeakyRelu,
    Swish,
    Linear,
}

const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// `tf.nn.leaky_relu`'s default slope.
const LEAKY_SLOPE: f64 = 0.2;

impl Activation {
    fn from_name(name: &str) -> Option<Activation> {
        Some(match name {
            "relu" => Activation::Relu,
            "relu6" => Activation::Relu6,
            "elu" => Activation::Elu,
            "selu" => Activation::Selu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "leaky_relu" => Activation::LeakyRelu,
            "swish" | "silu" => Activation::Swish,
            "linear" | "none" | "identity" => Activation::Linear,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Swish => "swish",
            Activation::Linear => "linear",
        }
    }

    fn apply(self, z: f64) -> f64 {
        match self {
            Activation::Relu => z.max(0.0),
            Activation::Relu6 => z.clamp(0.0, 6.0),
            Activation::Elu => {
                if z > 0.0 {
                    z
                } else {
                    z.exp_m1()
                }
            }
            Activation::Selu => SELU_SCALE * if z > 0.0 { z } else { SELU_ALPHA * z.exp_m1() },
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Activation::Softsign => z / (1.0 + z.abs()),
            Activation::LeakyRelu => {
                if z > 0.0 {
                    z
                } else {
                    LEAKY_SLOPE * z
                }
            }
            Activation::Swish => z * sigmoid(z),
            Activation::Linear => z,
        }
    }

    /// d activation / dz at `z`, given `a = apply(z)`.
    fn derivative(self, z: f64, a: f64) -> f64 {
        match self {
            Activation::Relu => f64::from(u8::from(z > 0.0)),
            Activation::Relu6 => f64::from(u8::from(z > 0.0 && z < 6.0)),
            Activation::Elu => {
                if z > 0.0 {
                    1.0
                } else {
                    a + 1.0
                }
            }
            Activation::Selu => {
                if z > 0.0 {
                    SELU_SCALE
                } else {
                    a + SELU_SCALE * SELU_ALPHA
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Sigmoid => a * (1.0 - a),
            Activation::Softplus => sigmoid(z),
            Activation::Softsign => {
                let d = 1.0 + z.abs();
                1.0 / (d * d)
            }
            Activation::LeakyRelu => {
                if z > 0.0 {
                    1.0
                } else {
                    LEAKY_SLOPE
                }
            }
            Activation::Swish => {
                let s = sigmoid(z);
                s + z * s * (1.0 - s)
            }
            Activation::Linear => 1.0,
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Batch normalization after a hidden layer: `gamma · (x − mean) / sqrt(var + ε) + beta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BatchNorm {
    gamma: Vec<f64>,
    beta: Vec<f64>,
    /// The statistics used at prediction time: those of the whole training set, computed
    /// after training. TensorFlow keeps a moving average instead (momentum 0.999), which
    /// after a short training is still close to its initial 0/1 and predicts badly.
    mean: Vec<f64>,
    var: Vec<f64>,
}

/// Keras' and TensorFlow's `BatchNormalization` epsilon.
const BN_EPS: f64 = 1e-3;

/// The linear ("wide") part of wide and deep: a linear map of its own columns, added to
/// the network's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Wide {
    /// Encoded columns it reads.
    inputs: Vec<usize>,
    /// `inputs.len() × n_out`, row-major.
    w: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Mlp {
    scaler: Scaler,
    layers: Vec<Layer>,
    head: Head,
    #[serde(default)]
    activation: Activation,
    /// Empty, or one per hidden layer.
    #[serde(default)]
    norms: Vec<BatchNorm>,
    /// Dropout rate of the hidden layers while training (0: none).
    #[serde(default)]
    dropout: f64,
    /// Encoded columns feeding the network; `None`: all of them.
    #[serde(default)]
    deep_inputs: Option<Vec<usize>>,
    #[serde(default)]
    wide: Option<Wide>,
    /// Embedding tables (SQL's EMBEDDING), whose outputs follow the deep inputs.
    #[serde(default)]
    embeddings: Option<Embeddings>,
}

/// Which encoded columns feed which part of wide and deep.
pub(crate) struct WideDeepInputs {
    pub deep: Vec<usize>,
    pub wide: Vec<usize>,
}

/// Per-layer buffers for one mini-batch, reused across batches.
struct Buffers {
    /// `inputs[l]`: the input of layer `l` (`inputs[0]` the deep columns of the batch).
    inputs: Vec<Vec<f64>>,
    /// Pre-activations of the hidden layers; the output layer's logits last.
    z: Vec<Vec<f64>>,
    /// Hidden layers: activations, before dropout.
    a: Vec<Vec<f64>>,
    /// Hidden layers: dropout multipliers (0 or 1/keep).
    mask: Vec<Vec<f64>>,
    /// Hidden layers with batch norm: the normalized values and 1/std per unit.
    xhat: Vec<Vec<f64>>,
    inv_std: Vec<Vec<f64>>,
    /// The batch's wide columns.
    wide_in: Vec<f64>,
    /// dLoss/d(layer output), per layer.
    delta: Vec<Vec<f64>>,
    /// Gradients shaped like the parameters: w, b per layer, then gamma, beta per norm.
    grads: Vec<Vec<f64>>,
    wide_grad: Vec<f64>,
    /// Per batch row, the embedding table rows it used.
    emb_active: Vec<Active>,
}

/// Everything [`Mlp::train`] needs besides the data.
pub(crate) struct DnnSetup<'a> {
    pub estimator: &'a str,
    pub flavor: &'a DnnFlavor,
    pub wide_deep: Option<WideDeepInputs>,
    /// Embedded encoded columns: they feed the network through their tables only.
    pub embeddings: Vec<EmbeddingInput>,
}

impl Mlp {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        attrs: &mut Resolved,
        setup: &DnnSetup,
        warm: Option<&Mlp>,
        monitor: &Monitor,
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
        monitor: &Monitor,
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

    fn validation_report(&mut self, train_x: &Matrix, monitor: &Monitor, epoch: u64) -> String {
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
    fn deep_params(&self) -> impl Iterator<Item = &Vec<f64>> {
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

    fn buffers(&self, rows: usize) -> Buffers {
        let hidden = self.layers.len().saturating_sub(1);
        let widths = |f: &dyn Fn(&Layer) -> usize| -> Vec<Vec<f64>> {
            self.layers.iter().map(|l| vec![0.0; f(l) * rows]).collect()
        };
        let n_out = self.layers.last().map_or(0, |l| l.n_out);
        Buffers {
            inputs: widths(&|l| l.n_in),
            z: widths(&|l| l.n_out),
            a: widths(&|l| l.n_out)[..hidden].to_vec(),
            mask: widths(&|l| l.n_out)[..hidden].to_vec(),
            xhat: widths(&|l| l.n_out)[..self.norms.len()].to_vec(),
            inv_std: self
                .norms
                .iter()
                .map(|n| vec![0.0; n.gamma.len()])
                .collect(),
            wide_in: vec![0.0; self.wide.as_ref().map_or(0, |w| w.inputs.len()) * rows],
            delta: widths(&|l| l.n_out),
            grads: self.deep_params().map(|p| vec![0.0; p.len()]).collect(),
            wide_grad: vec![0.0; self.wide.as_ref().map_or(0, |w| w.inputs.len()) * n_out],
            emb_active: vec![Active::new(); rows],
        }
    }

    /// Copies the batch's rows into the input buffers.
    fn gather(&self, buf: &mut Buffers, x: &Matrix, rows: &[usize]) {
        let n_in = self.layers.first().map_or(0, |l| l.n_in);
        for (i, &r) in rows.iter().enumerate() {
            let row = x.row(r);
            let dst = &mut buf.inputs[0][i * n_in..(i + 1) * n_in];
            match &self.deep_inputs {
                None => dst.copy_from_slice(row),
                Some(cols) => dst.iter_mut().zip(cols).for_each(|(d, &c)| *d = row[c]),
            }
            if let (Some(e), Some(cols)) = (&self.embeddings, &self.deep_inputs) {
                let active = buf.emb_active.get_mut(i);
                e.forward(row, &self.scaler, &mut dst[cols.len()..], active);
            }
            if let Some(w) = &self.wide {
                let k = w.inputs.len();
                buf.wide_in[i * k..(i + 1) * k]
                    .iter_mut()
                    .zip(&w.inputs)
                    .for_each(|(d, &c)| *d = row[c]);
            }
        }
    }

    fn forward_train(&self, buf: &mut Buffers, rows: usize, rng: &mut Rng) {
        let last = self.layers.len() - 1;
        let keep = 1.0 - self.dropout;
        for (l, layer) in self.layers.iter().enumerate() {
            let h = layer.n_out;
            let z = &mut buf.z[l][..rows * h];
            z.iter_mut().for_each(|v| *v = 0.0);
            affine(&buf.inputs[l][..rows * layer.n_in], rows, layer, z);
            if l == last {
                break;
            }
            let (a, mask) = (&mut buf.a[l], &mut buf.mask[l]);
            for j in 0..rows * h {
                a[j] = self.activation.apply(z[j]);
                mask[j] = if self.dropout > 0.0 {
                    if rng.next_f64() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    }
                } else {
                    1.0
                };
            }
            let next = &mut buf.inputs[l + 1][..rows * h];
            next.iter_mut()
                .zip(a.iter().zip(mask.iter()))
                .for_each(|(o, (a, m))| *o = a * m);
            if let Some(norm) = self.norms.get(l) {
                batch_normalize(next, rows, h, norm, &mut buf.xhat[l], &mut buf.inv_std[l]);
            }
        }
        if let Some(w) = &self.wide {
            let n_out = self.layers[last].n_out;
            let k = w.inputs.len();
            let out = &mut buf.z[last];
            for r in 0..rows {
                for (i, &xi) in buf.wide_in[r * k..(r + 1) * k].iter().enumerate() {
                    if xi != 0.0 {
                        out[r * n_out..(r + 1) * n_out]
                            .iter_mut()
                            .zip(&w.w[i * n_out..(i + 1) * n_out])
                            .for_each(|(o, wi)| *o += xi * wi);
                    }
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
        let (out, delta) = match (buf.z.last_mut(), buf.delta.last_mut()) {
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
        let n_layers = self.layers.len();
        if let Some(w) = &self.wide {
            let n_out = self.layers[n_layers - 1].n_out;
            let k = w.inputs.len();
            let d = &buf.delta[n_layers - 1];
            let g = &mut buf.wide_grad;
            g.iter_mut().zip(&w.w).for_each(|(g, w)| *g = l2 * w);
            for r in 0..rows {
                let dr = &d[r * n_out..(r + 1) * n_out];
                for (i, &xi) in buf.wide_in[r * k..(r + 1) * k].iter().enumerate() {
                    if xi != 0.0 {
                        g[i * n_out..(i + 1) * n_out]
                            .iter_mut()
                            .zip(dr)
                            .for_each(|(g, v)| *g += xi * v);
                    }
                }
            }
        }
        let norm_base = 2 * n_layers;
        for l in (0..n_layers).rev() {
            let layer = &self.layers[l];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            {
                let (gw_part, gb_part) = buf.grads.split_at_mut(2 * l + 1);
                let (gw, gb) = (&mut gw_part[2 * l], &mut gb_part[0]);
                gw.iter_mut().zip(&layer.w).for_each(|(g, w)| *g = l2 * w);
                gb.iter_mut().for_each(|g| *g = 0.0);
                let (a, d) = (&buf.inputs[l], &buf.delta[l]);
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
                self.embedding_backward(buf, rows);
                break;
            }
            // dLoss/d(input of layer l) = delta · Wᵀ, then back through batch norm,
            // dropout and the activation of hidden layer l - 1.
            let h = n_in;
            let (lower, upper) = buf.delta.split_at_mut(l);
            let (prev, d) = (&mut lower[l - 1], &upper[0]);
            for r in 0..rows {
                let dr = &d[r * n_out..(r + 1) * n_out];
                for i in 0..h {
                    prev[r * h + i] = crate::optim::dot(&layer.w[i * n_out..(i + 1) * n_out], dr);
                }
            }
            let hl = l - 1;
            if let Some(norm) = self.norms.get(hl) {
                let (gg, gb) = {
                    let (left, right) = buf.grads.split_at_mut(norm_base + 2 * hl + 1);
                    (&mut left[norm_base + 2 * hl], &mut right[0])
                };
                batch_norm_backward(
                    &mut prev[..rows * h],
                    rows,
                    h,
                    norm,
                    &buf.xhat[hl],
                    &buf.inv_std[hl],
                    gg,
                    gb,
                );
            }
            let (z, a, mask) = (&buf.z[hl], &buf.a[hl], &buf.mask[hl]);
            for j in 0..rows * h {
                prev[j] *= mask[j] * self.activation.derivative(z[j], a[j]);
            }
        }
    }

    /// The embedding tables' gradients: the loss's gradient at the first layer's
    /// embedding inputs (delta · Wᵀ for those rows of W), spread over the table rows each
    /// batch row used.
    fn embedding_backward(&self, buf: &mut Buffers, rows: usize) {
        let (Some(e), Some(cols), Some(layer)) =
            (&self.embeddings, &self.deep_inputs, self.layers.first())
        else {
            return;
        };
        let (n_dense, n_out, width) = (cols.len(), layer.n_out, e.width());
        let base = 2 * self.layers.len() + 2 * self.norms.len();
        let Some(grads) = buf.grads.get_mut(base..) else {
            return;
        };
        grads
            .iter_mut()
            .for_each(|g| g.iter_mut().for_each(|v| *v = 0.0));
        let mut d_emb = vec![0.0; width];
        for r in 0..rows {
            let dr = &buf.delta[0][r * n_out..(r + 1) * n_out];
            for (j, d) in d_emb.iter_mut().enumerate() {
                let i = n_dense + j;
                *d = crate::optim::dot(&layer.w[i * n_out..(i + 1) * n_out], dr);
            }
            if let Some(active) = buf.emb_active.get(r) {
                e.backward(active, &d_emb, grads);
            }
        }
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

/// Training settings read from the attributes.
struct Settings {
    epochs: usize,
    batch: usize,
    /// 0: no limit.
    max_steps: usize,
    l2: f64,
}

/// `out[r] += input[r] · W + b` for `rows` rows.
fn affine(input: &[f64], rows: usize, layer: &Layer, out: &mut [f64]) {
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    for r in 0..rows {
        let o = &mut out[r * n_out..(r + 1) * n_out];
        o.iter_mut().zip(&layer.b).for_each(|(o, b)| *o += b);
        for (i, &ai) in input[r * n_in..(r + 1) * n_in].iter().enumerate() {
            // One-hot columns are mostly zero: skipping them is the cheap sparse product.
            if ai != 0.0 {
                let w = &layer.w[i * n_out..(i + 1) * n_out];
                o.iter_mut().zip(w).for_each(|(o, wj)| *o += ai * wj);
            }
        }
    }
}

/// Training-time batch normalization of `v` (`rows × h`) with the batch's statistics.
fn batch_normalize(
    v: &mut [f64],
    rows: usize,
    h: usize,
    norm: &BatchNorm,
    xhat: &mut [f64],
    inv_std: &mut [f64],
) {
    let n = rows.max(1) as f64;
    for j in 0..h {
        let mean = (0..rows).map(|r| v[r * h + j]).sum::<f64>() / n;
        let var = (0..rows)
            .map(|r| (v[r * h + j] - mean).powi(2))
            .sum::<f64>()
            / n;
        let inv = 1.0 / (var + BN_EPS).sqrt();
        inv_std[j] = inv;
        for r in 0..rows {
            let x = (v[r * h + j] - mean) * inv;
            xhat[r * h + j] = x;
            v[r * h + j] = norm.gamma[j] * x + norm.beta[j];
        }
    }
}

/// Back through training-time batch normalization: `g` holds dLoss/d(output) and
/// becomes dLoss/d(input); the gamma and beta gradients are written.
#[allow(clippy::too_many_arguments)]
fn batch_norm_backward(
    g: &mut [f64],
    rows: usize,
    h: usize,
    norm: &BatchNorm,
    xhat: &[f64],
    inv_std: &[f64],
    g_gamma: &mut [f64],
    g_beta: &mut [f64],
) {
    let n = rows.max(1) as f64;
    for j in 0..h {
        let (mut sum_g, mut sum_gx) = (0.0, 0.0);
        for r in 0..rows {
            sum_g += g[r * h + j];
            sum_gx += g[r * h + j] * xhat[r * h + j];
        }
        g_gamma[j] = sum_gx;
        g_beta[j] = sum_g;
        let scale = norm.gamma[j] * inv_std[j] / n;
        for r in 0..rows {
            let i = r * h + j;
            g[i] = scale * (n * g[i] - sum_g - xhat[i] * sum_gx);
        }
    }
}

/// Prediction-time batch normalization with the stored statistics.
fn normalize_rows(v: &mut [f64], h: usize, norm: &BatchNorm) {
    for row in v.chunks_mut(h) {
        for (j, x) in row.iter_mut().enumerate() {
            *x = norm.gamma[j] * (*x - norm.mean[j]) / (norm.var[j] + BN_EPS).sqrt() + norm.beta[j];
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_derivatives_match_finite_differences() {
        for name in [
            "relu",
            "relu6",
            "elu",
            "selu",
            "tanh",
            "sigmoid",
            "softplus",
            "softsign",
            "leaky_relu",
            "swish",
            "linear",
        ] {
            let act = Activation::from_name(name).unwrap();
            assert_eq!(act.name(), name);
            for z in [-2.3, -0.4, 0.7, 3.1] {
                let h = 1e-6;
                let numeric = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let analytic = act.derivative(z, act.apply(z));
                assert!((numeric - analytic).abs() < 1e-5, "{name} at {z}");
            }
        }
        assert_eq!(
            normalize_activation(&AttrValue::Str("tf.nn.tanh".into())),
            Some(AttrValue::Str("tanh".into()))
        );
    }

    #[test]
    fn batch_norm_backward_matches_finite_differences() {
        let (rows, h) = (4, 2);
        let input = vec![0.3, -1.0, 2.0, 0.5, -0.7, 1.5, 1.1, -0.2];
        let norm = BatchNorm {
            gamma: vec![1.5, 0.7],
            beta: vec![0.1, -0.3],
            mean: vec![0.0; 2],
            var: vec![1.0; 2],
        };
        // loss = Σ c_i · out_i with fixed weights c
        let c: Vec<f64> = (0..rows * h).map(|i| (i as f64 * 0.37).sin()).collect();
        let loss = |x: &[f64]| {
            let mut v = x.to_vec();
            let (mut xhat, mut inv) = (vec![0.0; rows * h], vec![0.0; h]);
            batch_normalize(&mut v, rows, h, &norm, &mut xhat, &mut inv);
            v.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>()
        };
        let mut v = input.clone();
        let (mut xhat, mut inv) = (vec![0.0; rows * h], vec![0.0; h]);
        batch_normalize(&mut v, rows, h, &norm, &mut xhat, &mut inv);
        let mut g = c.clone();
        let (mut gg, mut gb) = (vec![0.0; h], vec![0.0; h]);
        batch_norm_backward(&mut g, rows, h, &norm, &xhat, &inv, &mut gg, &mut gb);
        for i in 0..rows * h {
            let mut plus = input.clone();
            plus[i] += 1e-6;
            let mut minus = input.clone();
            minus[i] -= 1e-6;
            let numeric = (loss(&plus) - loss(&minus)) / 2e-6;
            assert!((numeric - g[i]).abs() < 1e-5, "{i}: {numeric} vs {}", g[i]);
        }
    }
}
