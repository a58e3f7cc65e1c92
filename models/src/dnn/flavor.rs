//! The estimators' attributes: TensorFlow's canned DNNs, the Keras models, wide and
//! deep, and the runtime attributes every TensorFlow estimator accepts.

use super::layers::Activation;
use crate::{
    attrs::{AttrSpec, AttrType, AttrValue, DefaultValue, spec, text_of},
    optimizer::{DNN_OPTIMIZER_SPECS, LINEAR_OPTIMIZER_SPECS, OPTIMIZER_SPECS, OptimizerKind},
};

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
pub(super) fn normalize_activation(value: &AttrValue) -> Option<AttrValue> {
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

pub(crate) const fn activation(name: &'static str) -> AttrSpec {
    spec::custom(
        name,
        ACTIVATIONS,
        normalize_activation,
        Some(DefaultValue::Str("relu")),
    )
}

pub(super) const fn dropout(name: &'static str) -> AttrSpec {
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
    pub(super) hidden: &'static str,
    pub(super) hidden_default: &'static [i64],
    pub(super) n_classes_default: i64,
    pub(super) activation: &'static str,
    pub(super) dropout: &'static str,
    /// The optimizer attribute, its argument prefix, and the default (optimizer,
    /// learning rate) when the user names none.
    pub(super) optimizer: (&'static str, &'static str, OptimizerKind, f64),
    /// Wide and deep only: the linear part's optimizer.
    pub(super) linear_optimizer: Option<(&'static str, &'static str, OptimizerKind, f64)>,
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
