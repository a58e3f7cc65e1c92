//! Gradient-descent optimizers for the neural models, under Keras' names, arguments and
//! defaults (`model.optimizer = "Adagrad"`, `optimizer.learning_rate = 0.1`), as SQLFlow
//! passed them to `tf.keras.optimizers`.

use crate::attrs::{AttrSpec, AttrValue, Resolved, spec, text_of};
use crate::error::{ModelError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptimizerKind {
    Sgd,
    Adam,
    Adagrad,
    RmsProp,
    Ftrl,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::Adagrad => "Adagrad",
            OptimizerKind::RmsProp => "RMSprop",
            OptimizerKind::Ftrl => "Ftrl",
        }
    }

    fn from_name(name: &str) -> Option<OptimizerKind> {
        [
            OptimizerKind::Sgd,
            OptimizerKind::Adam,
            OptimizerKind::Adagrad,
            OptimizerKind::RmsProp,
            OptimizerKind::Ftrl,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// Keras' default learning rate of each optimizer.
    fn default_learning_rate(self) -> f64 {
        match self {
            OptimizerKind::Sgd => 0.01,
            _ => 0.001,
        }
    }

    /// The `optimizer.*` arguments this optimizer takes (besides `learning_rate`).
    fn arguments(self) -> &'static [&'static str] {
        match self {
            OptimizerKind::Sgd => &["momentum", "nesterov"],
            OptimizerKind::Adam => &["beta_1", "beta_2", "epsilon", "amsgrad"],
            OptimizerKind::Adagrad => &["initial_accumulator_value", "epsilon"],
            OptimizerKind::RmsProp => &["rho", "momentum", "epsilon", "centered"],
            OptimizerKind::Ftrl => &[
                "learning_rate_power",
                "initial_accumulator_value",
                "l1_regularization_strength",
                "l2_regularization_strength",
                "beta",
            ],
        }
    }
}

/// `model.optimizer` values: `Adam`, `"adam"`, `tf.keras.optimizers.Adam`, `Adam()`,
/// TF1's `AdamOptimizer` and `GradientDescentOptimizer` all name the same optimizer.
pub(crate) fn normalize_optimizer(value: &AttrValue) -> Option<AttrValue> {
    let text = text_of(value)?;
    let mut t = text.strip_suffix("()").unwrap_or(text).trim();
    if let Some(dot) = t.rfind('.') {
        t = &t[dot + 1..];
    }
    let lower = t.to_ascii_lowercase();
    let lower = lower.strip_suffix("optimizer").unwrap_or(&lower);
    let kind = match lower {
        "sgd" | "gradientdescent" => OptimizerKind::Sgd,
        "adam" => OptimizerKind::Adam,
        "adagrad" => OptimizerKind::Adagrad,
        "rmsprop" => OptimizerKind::RmsProp,
        "ftrl" => OptimizerKind::Ftrl,
        _ => return None,
    };
    Some(AttrValue::Str(kind.name().to_string()))
}

pub(crate) const OPTIMIZER_EXPECTED: &str =
    "one of SGD, Adam, Adagrad, RMSprop, Ftrl (tf.keras.optimizers names)";

/// The optimizer attribute and its arguments under `prefix` (`optimizer.`,
/// `dnn_optimizer.`, `linear_optimizer.`). Argument defaults depend on the optimizer, so
/// none is declared here.
macro_rules! optimizer_specs {
    ($model:literal, $prefix:literal) => {
        [
            $crate::attrs::spec::custom(
                $model,
                $crate::optimizer::OPTIMIZER_EXPECTED,
                $crate::optimizer::normalize_optimizer,
                None,
            ),
            spec::optional(spec::positive(concat!($prefix, "learning_rate"), 0.0)),
            spec::optional(spec::float(concat!($prefix, "momentum"), 0.0, 1.0, 0.0)),
            spec::optional(spec::bool(concat!($prefix, "nesterov"), false)),
            spec::optional(spec::float(concat!($prefix, "beta_1"), 0.0, 1.0, 0.0)),
            spec::optional(spec::float(concat!($prefix, "beta_2"), 0.0, 1.0, 0.0)),
            spec::optional(spec::positive(concat!($prefix, "epsilon"), 0.0)),
            spec::optional(spec::bool(concat!($prefix, "amsgrad"), false)),
            spec::optional(spec::float(concat!($prefix, "rho"), 0.0, 1.0, 0.0)),
            spec::optional(spec::bool(concat!($prefix, "centered"), false)),
            spec::optional(spec::non_negative(
                concat!($prefix, "initial_accumulator_value"),
                0.0,
            )),
            spec::optional(spec::non_negative(
                concat!($prefix, "l1_regularization_strength"),
                0.0,
            )),
            spec::optional(spec::non_negative(
                concat!($prefix, "l2_regularization_strength"),
                0.0,
            )),
            spec::optional(spec::float(
                concat!($prefix, "learning_rate_power"),
                f64::NEG_INFINITY,
                0.0,
                0.0,
            )),
            spec::optional(spec::non_negative(concat!($prefix, "beta"), 0.0)),
        ]
    };
}

pub(crate) const OPTIMIZER_SPECS: [AttrSpec; 15] =
    optimizer_specs!("model.optimizer", "optimizer.");
pub(crate) const DNN_OPTIMIZER_SPECS: [AttrSpec; 15] =
    optimizer_specs!("model.dnn_optimizer", "dnn_optimizer.");
pub(crate) const LINEAR_OPTIMIZER_SPECS: [AttrSpec; 15] =
    optimizer_specs!("model.linear_optimizer", "linear_optimizer.");

/// One optimizer's settings, Keras defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    amsgrad: bool,
    rho: f64,
    centered: bool,
    initial_accumulator: f64,
    l1: f64,
    l2: f64,
    lr_power: f64,
    beta: f64,
}

impl OptimizerConfig {
    /// Reads `model_key` (the optimizer) and `prefix*` (its arguments); `default` is the
    /// estimator's optimizer and learning rate when the user names none. The values used
    /// are recorded in `attrs`, so the saved model says which optimizer trained it.
    pub fn from_attrs(
        estimator: &str,
        attrs: &mut Resolved,
        model_key: &str,
        prefix: &str,
        default: (OptimizerKind, f64),
    ) -> Result<OptimizerConfig> {
        let kind = attrs
            .opt_str(model_key)
            .and_then(OptimizerKind::from_name)
            .unwrap_or(default.0);
        let arg = |name: &str| format!("{prefix}{name}");
        let allowed = kind.arguments();
        let all_args = OPTIMIZER_SPECS[1..]
            .iter()
            .filter_map(|s| s.name.strip_prefix("optimizer."));
        for name in all_args {
            if name != "learning_rate" && !allowed.contains(&name) && attrs.given(&arg(name)) {
                return Err(ModelError::InvalidAttribute {
                    estimator: estimator.to_string(),
                    name: arg(name),
                    expected: format!(
                        "an argument of {model_key} = {}, which takes {}learning_rate{}",
                        kind.name(),
                        prefix,
                        allowed
                            .iter()
                            .map(|a| format!(", {prefix}{a}"))
                            .collect::<String>()
                    ),
                    got: "an argument of another optimizer".to_string(),
                });
            }
        }
        let float = |name: &str, default: f64| attrs.opt_float(&arg(name)).unwrap_or(default);
        let flag = |name: &str| attrs.bool(&arg(name));
        let learning_rate =
            attrs
                .opt_float(&arg("learning_rate"))
                .unwrap_or(if kind == default.0 {
                    default.1
                } else {
                    kind.default_learning_rate()
                });
        let config = OptimizerConfig {
            kind,
            learning_rate,
            momentum: float("momentum", 0.0),
            nesterov: flag("nesterov"),
            beta_1: float("beta_1", 0.9),
            beta_2: float("beta_2", 0.999),
            epsilon: float("epsilon", 1e-7),
            amsgrad: flag("amsgrad"),
            rho: float("rho", 0.9),
            centered: flag("centered"),
            // Only Adagrad and Ftrl take a starting accumulator (0.1 in Keras and TF); Adam's
            // and RMSprop's second moments start at 0, as Keras', else their first steps
            // are divided by sqrt(0.1) instead of |g| and training crawls.
            initial_accumulator: match kind {
                OptimizerKind::Adagrad | OptimizerKind::Ftrl => {
                    float("initial_accumulator_value", 0.1)
                }
                OptimizerKind::Sgd | OptimizerKind::Adam | OptimizerKind::RmsProp => 0.0,
            },
            l1: float("l1_regularization_strength", 0.0),
            l2: float("l2_regularization_strength", 0.0),
            lr_power: float("learning_rate_power", -0.5),
            beta: float("beta", 0.0),
        };
        attrs.set(model_key, AttrValue::Str(kind.name().to_string()));
        attrs.set(&arg("learning_rate"), AttrValue::Float(learning_rate));
        Ok(config)
    }
}

impl OptimizerConfig {
    /// Keras' `SGD(learning_rate, momentum)`, for a model whose optimizer is fixed rather
    /// than chosen by attributes (the zoo's DEC trains with SGD and momentum 0.9).
    pub fn sgd(learning_rate: f64, momentum: f64) -> OptimizerConfig {
        OptimizerConfig {
            kind: OptimizerKind::Sgd,
            learning_rate,
            momentum,
            nesterov: false,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            rho: 0.9,
            centered: false,
            initial_accumulator: 0.0,
            l1: 0.0,
            l2: 0.0,
            lr_power: -0.5,
            beta: 0.0,
        }
    }
}

/// Per-parameter state of one optimizer over a list of parameter tensors.
pub(crate) struct Optimizer {
    cfg: OptimizerConfig,
    step: i32,
    /// Per tensor: first moment / velocity / Ftrl's `z`.
    a: Vec<Vec<f64>>,
    /// Per tensor: second moment / accumulator / Ftrl's `n`.
    b: Vec<Vec<f64>>,
    /// Per tensor: AMSGrad's running maximum / centered RMSprop's mean gradient.
    c: Vec<Vec<f64>>,
}

impl Optimizer {
    /// State for tensors of the given sizes. Ftrl needs the starting weights: its
    /// closed-form update reconstructs them from `z` and `n`.
    pub fn new(cfg: OptimizerConfig, tensors: &[&[f64]]) -> Optimizer {
        let zeros = || {
            tensors
                .iter()
                .map(|t| vec![0.0; t.len()])
                .collect::<Vec<_>>()
        };
        let init = cfg.initial_accumulator;
        let b = tensors.iter().map(|t| vec![init; t.len()]).collect();
        let mut a = zeros();
        if cfg.kind == OptimizerKind::Ftrl {
            // Choose z so that the first closed-form step reproduces the current weights
            // (before the gradient), as a warm-started Ftrl would.
            for (z, w) in a.iter_mut().zip(tensors) {
                let sigma =
                    init.powf(-cfg.lr_power) / cfg.learning_rate + cfg.beta / cfg.learning_rate;
                let quadratic = sigma + 2.0 * cfg.l2;
                for (zi, wi) in z.iter_mut().zip(w.iter()) {
                    // (f64::signum(0.0) is 1, which would start a zero weight at -l1.)
                    *zi = if *wi == 0.0 {
                        0.0
                    } else {
                        -wi * quadratic - wi.signum() * cfg.l1
                    };
                }
            }
        }
        Optimizer {
            cfg,
            step: 0,
            a,
            b,
            c: zeros(),
        }
    }

    /// A schedule's new rate (Keras' ReduceLROnPlateau), keeping the accumulated state.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.cfg.learning_rate = learning_rate;
    }

    /// Call once per mini-batch, before the tensors' updates.
    pub fn begin_step(&mut self) {
        self.step = self.step.saturating_add(1);
    }

    /// Applies the gradient `g` of tensor `i` to `w`.
    pub fn update(&mut self, i: usize, w: &mut [f64], g: &[f64]) {
        let c = &self.cfg;
        let lr = c.learning_rate;
        let (a, b, m) = (&mut self.a[i], &mut self.b[i], &mut self.c[i]);
        match c.kind {
            OptimizerKind::Sgd => {
                if c.momentum == 0.0 {
                    w.iter_mut().zip(g).for_each(|(w, g)| *w -= lr * g);
                } else {
                    for j in 0..w.len() {
                        a[j] = c.momentum * a[j] - lr * g[j];
                        w[j] += if c.nesterov {
                            c.momentum * a[j] - lr * g[j]
                        } else {
                            a[j]
                        };
                    }
                }
            }
            OptimizerKind::Adam => {
                let t = self.step.max(1);
                let lr_t = lr * (1.0 - c.beta_2.powi(t)).sqrt() / (1.0 - c.beta_1.powi(t));
                for j in 0..w.len() {
                    a[j] = c.beta_1 * a[j] + (1.0 - c.beta_1) * g[j];
                    b[j] = c.beta_2 * b[j] + (1.0 - c.beta_2) * g[j] * g[j];
                    let v = if c.amsgrad {
                        m[j] = m[j].max(b[j]);
                        m[j]
                    } else {
                        b[j]
                    };
                    w[j] -= lr_t * a[j] / (v.sqrt() + c.epsilon);
                }
            }
            OptimizerKind::Adagrad => {
                for j in 0..w.len() {
                    b[j] += g[j] * g[j];
                    w[j] -= lr * g[j] / (b[j].sqrt() + c.epsilon);
                }
            }
            OptimizerKind::RmsProp => {
                for j in 0..w.len() {
                    b[j] = c.rho * b[j] + (1.0 - c.rho) * g[j] * g[j];
                    let mut denom = b[j];
                    if c.centered {
                        m[j] = c.rho * m[j] + (1.0 - c.rho) * g[j];
                        denom -= m[j] * m[j];
                    }
                    let step = lr * g[j] / (denom.max(0.0).sqrt() + c.epsilon);
                    if c.momentum > 0.0 {
                        a[j] = c.momentum * a[j] + step;
                        w[j] -= a[j];
                    } else {
                        w[j] -= step;
                    }
                }
            }
            OptimizerKind::Ftrl => {
                // FTRL-Proximal (McMahan et al. 2013) as tf.keras.optimizers.Ftrl applies it.
                let p = -c.lr_power;
                for j in 0..w.len() {
                    let n_new = b[j] + g[j] * g[j];
                    let sigma = (n_new.powf(p) - b[j].powf(p)) / lr;
                    a[j] += g[j] - sigma * w[j];
                    b[j] = n_new;
                    let quadratic = n_new.powf(p) / lr + c.beta / lr + 2.0 * c.l2;
                    w[j] = if a[j].abs() <= c.l1 || quadratic <= 0.0 {
                        0.0
                    } else {
                        (a[j].signum() * c.l1 - a[j]) / quadratic
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{Attrs, resolve};

    fn config(kind: &str, extra: &[(&str, AttrValue)]) -> Result<OptimizerConfig> {
        let mut attrs = Attrs::new();
        attrs.insert("model.optimizer".into(), AttrValue::Ident(kind.into()));
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.clone());
        }
        let mut r = resolve("X", &OPTIMIZER_SPECS, &attrs)?;
        OptimizerConfig::from_attrs(
            "X",
            &mut r,
            "model.optimizer",
            "optimizer.",
            (OptimizerKind::Adam, 0.001),
        )
    }

    /// Minimizes (w - 3)² from 0; every optimizer must get close.
    fn minimize(cfg: OptimizerConfig, steps: usize) -> f64 {
        let mut w = vec![0.0];
        let mut opt = Optimizer::new(cfg, &[&w]);
        for _ in 0..steps {
            let g = vec![2.0 * (w[0] - 3.0)];
            opt.begin_step();
            opt.update(0, &mut w, &g);
        }
        w[0]
    }

    #[test]
    fn names_in_many_spellings() {
        for (spelling, want) in [
            ("adam", "Adam"),
            ("tf.keras.optimizers.Adagrad", "Adagrad"),
            ("RMSProp", "RMSprop"),
            ("GradientDescentOptimizer", "SGD"),
            ("Ftrl()", "Ftrl"),
        ] {
            assert_eq!(
                normalize_optimizer(&AttrValue::Str(spelling.into())),
                Some(AttrValue::Str(want.into())),
                "{spelling}"
            );
        }
        assert_eq!(normalize_optimizer(&AttrValue::Str("Nadamm".into())), None);
    }

    #[test]
    fn every_optimizer_converges() {
        for (kind, lr, steps) in [
            ("SGD", 0.1, 200),
            ("Adam", 0.1, 500),
            ("Adagrad", 1.0, 500),
            ("RMSprop", 0.05, 500),
            ("Ftrl", 1.0, 500),
        ] {
            let cfg = config(kind, &[("optimizer.learning_rate", AttrValue::Float(lr))]).unwrap();
            let w = minimize(cfg, steps);
            assert!((w - 3.0).abs() < 0.05, "{kind}: {w}");
        }
        let momentum = config(
            "SGD",
            &[
                ("optimizer.learning_rate", AttrValue::Float(0.01)),
                ("optimizer.momentum", AttrValue::Float(0.9)),
                ("optimizer.nesterov", AttrValue::Bool(true)),
            ],
        )
        .unwrap();
        assert!((minimize(momentum, 300) - 3.0).abs() < 0.05);
    }

    #[test]
    fn first_steps_are_kerass() {
        // Keras' Adam starts its second moment at 0, so with bias correction the first
        // step is lr·g/(|g| + ε) ≈ lr whatever the gradient's size; RMSprop's is
        // lr·g/sqrt((1 − ρ)·g²). Starting at Adagrad's 0.1 instead made a small gradient's
        // step 300 times smaller (issue 9: Adam DNNs at 0.78 on iris against 0.93).
        for (kind, want) in [("Adam", 0.01), ("RMSprop", 0.01 / (0.1f64).sqrt())] {
            let cfg = config(kind, &[("optimizer.learning_rate", AttrValue::Float(0.01))]);
            let mut opt = Optimizer::new(cfg.unwrap(), &[&[0.0, 0.0]]);
            let mut w = vec![0.0, 0.0];
            opt.begin_step();
            opt.update(0, &mut w, &[1e-3, 10.0]);
            for moved in w {
                assert!((moved.abs() - want).abs() < want * 0.01, "{kind}: {moved}");
            }
        }
    }

    #[test]
    fn ftrl_l1_zeroes_a_weak_weight() {
        // A gradient of at most 2·3 = 6 per step cannot beat an L1 strength of 1000.
        let cfg = config(
            "Ftrl",
            &[
                ("optimizer.learning_rate", AttrValue::Float(1.0)),
                (
                    "optimizer.l1_regularization_strength",
                    AttrValue::Float(1000.0),
                ),
            ],
        )
        .unwrap();
        assert_eq!(minimize(cfg, 50), 0.0);
    }

    #[test]
    fn defaults_and_misplaced_arguments() {
        let sgd = config("SGD", &[]).unwrap();
        assert_eq!(sgd.learning_rate, 0.01);
        let adam = config("Adam", &[]).unwrap();
        assert_eq!((adam.learning_rate, adam.epsilon), (0.001, 1e-7));
        let err = config("Adam", &[("optimizer.momentum", AttrValue::Float(0.9))]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("optimizer.momentum") && msg.contains("optimizer.beta_1"),
            "{msg}"
        );
    }
}
