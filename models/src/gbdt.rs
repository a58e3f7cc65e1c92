//! Gradient boosting: XGBoost's `xgboost.gbtree` / `gblinear` / `dart` (and the
//! scikit-learn spellings `xgboost.XGBClassifier` / `XGBRegressor`) and TensorFlow's
//! `BoostedTreesClassifier` / `BoostedTreesRegressor`, all on one implementation with
//! XGBoost's objectives and algorithms:
//!
//! - `gbtree`: second-order split gain and leaf weights (`lambda`, `alpha`, `gamma`,
//!   `min_child_weight`, `max_delta_step`) on histogram-binned features like XGBoost's
//!   `hist` method, depth-wise or loss-guided growth, row and column sampling;
//!   multi-class grows one tree per class per round on the softmax gradients.
//! - `dart`: the same trees with DART's dropout (Rashmi & Gilad-Bachrach 2015) and
//!   XGBoost's tree/forest normalization.
//! - `gblinear`: a linear model fitted by XGBoost's coordinate descent on the same
//!   gradients, with elastic-net `lambda` / `alpha` (scaled by the row count, as XGBoost).
//!
//! Each round reports XGBoost's evaluation line (`[3] train-rmse:... validate-rmse:...`)
//! for the training rows and, with `validation.select`, the validation rows, which also
//! drive `early_stopping_rounds`.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, AttrValue, Resolved, spec, text_of};
use crate::binning::{Binned, MAX_BINS};
use crate::data::{Labels, Matrix};
use crate::dnn::{TF_RUNTIME_SPECS, softmax_in_place, softmax_rows};
use crate::error::{ModelError, Result};
use crate::metrics;
use crate::monitor::{Monitor, Throttle, Validation, argmax};
use crate::rng::Rng;
use crate::tree::{RowStats, Tree, TreeParams, accumulate, build_with_leaves};

pub(crate) const OBJECTIVES: &[&str] = &[
    "reg:squarederror",
    "reg:linear",
    "binary:logistic",
    "multi:softmax",
    "multi:softprob",
];

pub(crate) const BOOSTERS: &[&str] = &["gbtree", "gblinear", "dart"];

const EVAL_METRICS: &str = "XGBoost metric names: rmse, rmsle, mae, mape, logloss, error, \
     error@<threshold>, merror, mlogloss, auc, aucpr (one, a list, or comma-separated)";

/// `eval_metric`: one name, a list, or a comma-separated string; stored as a list.
fn normalize_eval_metric(value: &AttrValue) -> Option<AttrValue> {
    let texts: Vec<&str> = match value {
        AttrValue::List(items) => items.iter().map(text_of).collect::<Option<_>>()?,
        other => text_of(other)?.split(',').collect(),
    };
    let names: Vec<AttrValue> = texts
        .iter()
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .map(|t| EvalMetric::parse(&t).map(|_| AttrValue::Str(t)))
        .collect::<Option<_>>()?;
    (!names.is_empty()).then_some(AttrValue::List(names))
}

/// `verbose_eval`: true, false, or k (a line every k-th round).
fn normalize_verbose(value: &AttrValue) -> Option<AttrValue> {
    match value {
        AttrValue::Bool(b) => Some(AttrValue::Bool(*b)),
        AttrValue::Int(0) => Some(AttrValue::Bool(false)),
        AttrValue::Int(k) if *k > 0 => Some(AttrValue::Int(*k)),
        other => match text_of(other)?.to_ascii_lowercase().as_str() {
            "true" => Some(AttrValue::Bool(true)),
            "false" => Some(AttrValue::Bool(false)),
            _ => None,
        },
    }
}

/// XGBoost's parameters, shared by every `xgboost.*` estimator.
pub(crate) const XGB_SPECS: &[AttrSpec] = &[
    AttrSpec {
        name: "objective",
        aliases: &[],
        ty: AttrType::Choice(OBJECTIVES),
        default: None,
    },
    AttrSpec {
        name: "booster",
        aliases: &[],
        ty: AttrType::Choice(BOOSTERS),
        default: None,
    },
    AttrSpec {
        name: "num_class",
        aliases: &[],
        ty: AttrType::Int {
            min: 2,
            max: i64::MAX,
        },
        default: None,
    },
    spec::aliased(spec::fraction("eta", 0.3), &["learning_rate"]),
    spec::int("max_depth", 0, 6),
    spec::aliased(
        spec::int("num_boost_round", 1, 10),
        &["train.num_boost_round", "n_estimators"],
    ),
    spec::fraction("subsample", 1.0),
    spec::fraction("colsample_bytree", 1.0),
    spec::fraction("colsample_bylevel", 1.0),
    spec::fraction("colsample_bynode", 1.0),
    spec::non_negative("min_child_weight", 1.0),
    spec::aliased(spec::non_negative("lambda", 1.0), &["reg_lambda"]),
    spec::aliased(spec::non_negative("alpha", 0.0), &["reg_alpha"]),
    spec::aliased(spec::non_negative("gamma", 0.0), &["min_split_loss"]),
    spec::non_negative("max_delta_step", 0.0),
    AttrSpec {
        name: "max_bin",
        aliases: &[],
        ty: AttrType::Int { min: 2, max: 65536 },
        default: Some(crate::attrs::DefaultValue::Int(256)),
    },
    spec::int("max_leaves", 0, 0),
    spec::choice("grow_policy", &["depthwise", "lossguide"], "depthwise"),
    spec::choice("tree_method", &["auto", "exact", "approx", "hist"], "auto"),
    spec::positive("scale_pos_weight", 1.0),
    spec::optional(spec::float(
        "base_score",
        f64::NEG_INFINITY,
        f64::INFINITY,
        0.5,
    )),
    spec::custom("eval_metric", EVAL_METRICS, normalize_eval_metric, None),
    spec::aliased(
        spec::optional(spec::int("early_stopping_rounds", 1, 1)),
        &["train.early_stopping_rounds"],
    ),
    spec::aliased(
        spec::custom(
            "verbose_eval",
            "true, false or k (log every k-th round)",
            normalize_verbose,
            None,
        ),
        &["train.verbose_eval"],
    ),
    spec::aliased(spec::seed("seed"), &["random_state"]),
    spec::choice("sampling_method", &["uniform"], "uniform"),
    spec::float("rate_drop", 0.0, 1.0, 0.0),
    spec::float("skip_drop", 0.0, 1.0, 0.0),
    spec::choice("sample_type", &["uniform", "weighted"], "uniform"),
    spec::choice("normalize_type", &["tree", "forest"], "tree"),
    spec::bool("one_drop", false),
    spec::choice(
        "feature_selector",
        &["cyclic", "shuffle", "random"],
        "cyclic",
    ),
    spec::no_effect(
        "updater",
        "trees follow tree_method and grow_policy; gblinear always runs coordinate descent \
         (shotgun and coord_descent are the same on one thread)",
    ),
    spec::no_effect("nthread", "each job trains on one thread"),
    spec::no_effect("n_jobs", "each job trains on one thread"),
    spec::no_effect(
        "verbosity",
        "training logs one evaluation line per round (see verbose_eval)",
    ),
    spec::no_effect(
        "silent",
        "training logs one evaluation line per round (see verbose_eval)",
    ),
    spec::no_effect(
        "importance_type",
        "TO EXPLAIN reports each feature's total gain (gblinear: its weights)",
    ),
    spec::no_effect("missing", "SQL NULL is the missing value"),
    spec::no_effect("validate_parameters", "attributes are always validated"),
    spec::no_effect("predictor", "prediction runs on the CPU"),
    spec::no_effect("gpu_id", "training runs on the CPU"),
    spec::no_effect(
        "train.num_workers",
        "a job trains in one process; there are no distributed workers",
    ),
    spec::no_effect("train.disk_cache", "the training rows are held in memory"),
    spec::no_effect(
        "train.batch_size",
        "all rows train at once (SQLFlow used it to stream external memory)",
    ),
    spec::no_effect(
        "train.epoch",
        "all rows train at once; num_boost_round sets the rounds",
    ),
];

/// Attributes a warm start must keep: they fix the model's shape. (The booster is
/// compared with the saved model's own, which models saved before `booster` existed
/// have too.)
pub(crate) const XGB_SHAPE_ATTRS: &[&str] = &["objective"];

/// TensorFlow's `BoostedTrees*` parameters.
pub(crate) fn boosted_trees_specs(classifier: bool) -> Vec<AttrSpec> {
    let mut specs = vec![
        spec::int("model.n_trees", 1, 100),
        spec::int("model.max_depth", 1, 6),
        spec::positive("model.learning_rate", 0.1),
        spec::non_negative("model.l1_regularization", 0.0),
        spec::non_negative("model.l2_regularization", 0.0),
        spec::non_negative("model.tree_complexity", 0.0),
        spec::non_negative("model.min_node_weight", 0.0),
        spec::bool("model.center_bias", false),
        spec::choice("model.pruning_mode", &["none", "pre", "post"], "none"),
        spec::fraction("model.quantile_sketch_epsilon", 0.01),
    ];
    if classifier {
        specs.push(spec::int("model.n_classes", 2, 2));
    } else {
        specs.push(AttrSpec {
            ty: AttrType::Int { min: 1, max: 1 },
            ..spec::int("model.label_dimension", 1, 1)
        });
    }
    specs.extend([
        spec::no_effect(
            "model.n_batches_per_layer",
            "each tree layer is grown on all rows at once",
        ),
        spec::no_effect(
            "model.train_in_memory",
            "the training rows are held in memory",
        ),
        spec::no_effect(
            "train.epoch",
            "all rows train at once; model.n_trees sets the trees",
        ),
        spec::no_effect("train.batch_size", "all rows train at once"),
        spec::no_effect(
            "train.max_steps",
            "training grows model.n_trees trees; limit those instead",
        ),
    ]);
    specs.extend_from_slice(TF_RUNTIME_SPECS);
    specs
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Objective {
    SquaredError,
    BinaryLogistic,
    MultiSoftmax,
    MultiSoftprob,
}

impl Objective {
    pub fn from_name(name: &str) -> Objective {
        match name {
            "binary:logistic" => Objective::BinaryLogistic,
            "multi:softmax" => Objective::MultiSoftmax,
            "multi:softprob" => Objective::MultiSoftprob,
            _ => Objective::SquaredError,
        }
    }

    pub fn is_classification(self) -> bool {
        self != Objective::SquaredError
    }

    fn is_multi(self) -> bool {
        matches!(self, Objective::MultiSoftmax | Objective::MultiSoftprob)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) enum Booster {
    #[default]
    Gbtree,
    Gblinear,
    Dart,
}

impl Booster {
    pub fn from_name(name: &str) -> Booster {
        match name {
            "gblinear" => Booster::Gblinear,
            "dart" => Booster::Dart,
            _ => Booster::Gbtree,
        }
    }
}

/// XGBoost's evaluation metrics (`eval_metric`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum EvalMetric {
    Rmse,
    Rmsle,
    Mae,
    Mape,
    LogLoss,
    /// Binary error rate at a probability threshold (`error`, `error@0.7`).
    Error(f64),
    MError,
    MLogLoss,
    Auc,
    AucPr,
}

impl EvalMetric {
    fn parse(name: &str) -> Option<EvalMetric> {
        Some(match name {
            "rmse" => EvalMetric::Rmse,
            "rmsle" => EvalMetric::Rmsle,
            "mae" => EvalMetric::Mae,
            "mape" => EvalMetric::Mape,
            "logloss" => EvalMetric::LogLoss,
            "error" => EvalMetric::Error(0.5),
            "merror" => EvalMetric::MError,
            "mlogloss" => EvalMetric::MLogLoss,
            "auc" => EvalMetric::Auc,
            "aucpr" => EvalMetric::AucPr,
            other => {
                let t: f64 = other.strip_prefix("error@")?.parse().ok()?;
                if !(0.0..=1.0).contains(&t) {
                    return None;
                }
                EvalMetric::Error(t)
            }
        })
    }

    /// XGBoost's default metric for an objective.
    fn default_for(objective: Objective) -> (&'static str, EvalMetric) {
        match objective {
            Objective::SquaredError => ("rmse", EvalMetric::Rmse),
            Objective::BinaryLogistic => ("logloss", EvalMetric::LogLoss),
            _ => ("mlogloss", EvalMetric::MLogLoss),
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(self, EvalMetric::Auc | EvalMetric::AucPr)
    }

    fn applies(self, objective: Objective) -> bool {
        match self {
            EvalMetric::Rmse | EvalMetric::Mae => !objective.is_multi(),
            EvalMetric::Rmsle | EvalMetric::Mape => objective == Objective::SquaredError,
            EvalMetric::LogLoss | EvalMetric::Error(_) | EvalMetric::AucPr => {
                objective == Objective::BinaryLogistic
            }
            EvalMetric::MError | EvalMetric::MLogLoss => objective.is_multi(),
            EvalMetric::Auc => objective.is_classification(),
        }
    }

    /// The metric of `margins` (`rows × groups`) against `labels`, on the transformed
    /// predictions (probabilities for the logistic objectives), as XGBoost computes it.
    fn compute(self, objective: Objective, groups: usize, margins: &[f64], labels: &Labels) -> f64 {
        let mean = |it: &mut dyn Iterator<Item = f64>, n: usize| it.sum::<f64>() / n.max(1) as f64;
        match labels {
            Labels::Values(y) => {
                let pairs = || margins.iter().zip(y.iter());
                match self {
                    EvalMetric::Rmse => {
                        mean(&mut pairs().map(|(p, t)| (p - t) * (p - t)), y.len()).sqrt()
                    }
                    EvalMetric::Rmsle => mean(
                        &mut pairs().map(|(p, t)| {
                            let d = p.max(-1.0 + 1e-16).ln_1p() - t.ln_1p();
                            d * d
                        }),
                        y.len(),
                    )
                    .sqrt(),
                    EvalMetric::Mae => mean(&mut pairs().map(|(p, t)| (p - t).abs()), y.len()),
                    _ => mean(&mut pairs().map(|(p, t)| ((t - p) / t).abs()), y.len()),
                }
            }
            Labels::Classes { y, n_classes } if objective == Objective::BinaryLogistic => {
                let p: Vec<f64> = margins.iter().map(|m| sigmoid(*m)).collect();
                let t = |r: usize| if y[r] == 1 { 1.0 } else { 0.0 };
                let n = y.len();
                match self {
                    EvalMetric::Rmse => mean(&mut (0..n).map(|r| (p[r] - t(r)).powi(2)), n).sqrt(),
                    EvalMetric::Mae => mean(&mut (0..n).map(|r| (p[r] - t(r)).abs()), n),
                    EvalMetric::LogLoss => mean(
                        &mut (0..n).map(|r| {
                            let pr = p[r].clamp(1e-16, 1.0 - 1e-16);
                            -(t(r) * pr.ln() + (1.0 - t(r)) * (1.0 - pr).ln())
                        }),
                        n,
                    ),
                    EvalMetric::Error(th) => mean(
                        &mut (0..n).map(|r| f64::from(u8::from((p[r] > th) != (y[r] == 1)))),
                        n,
                    ),
                    EvalMetric::Auc => {
                        let pos: Vec<bool> = y.iter().map(|&c| c == 1).collect();
                        metrics::binary_auc(&pos, &p).unwrap_or(f64::NAN)
                    }
                    _ => {
                        let proba: Vec<Vec<f64>> = p.iter().map(|q| vec![1.0 - q, *q]).collect();
                        metrics::average_precision(y, &proba, *n_classes).unwrap_or(f64::NAN)
                    }
                }
            }
            Labels::Classes { y, n_classes } => {
                let proba = softmax_rows(margins, groups);
                match self {
                    EvalMetric::MError => mean(
                        &mut y
                            .iter()
                            .zip(&proba)
                            .map(|(t, p)| f64::from(u8::from(argmax(p) != *t))),
                        y.len(),
                    ),
                    EvalMetric::MLogLoss => metrics::log_loss(y, &proba),
                    _ => multi_auc(y, &proba, *n_classes),
                }
            }
            Labels::None => f64::NAN,
        }
    }
}

/// XGBoost's multi-class AUC: one-vs-rest AUCs weighted by class prevalence.
fn multi_auc(y: &[usize], proba: &[Vec<f64>], k: usize) -> f64 {
    let (mut sum, mut weight) = (0.0, 0.0);
    for c in 0..k {
        let pos: Vec<bool> = y.iter().map(|&t| t == c).collect();
        let scores: Vec<f64> = proba
            .iter()
            .map(|p| p.get(c).copied().unwrap_or(0.0))
            .collect();
        if let Some(a) = metrics::binary_auc(&pos, &scores) {
            let w = pos.iter().filter(|&&b| b).count() as f64;
            sum += w * a;
            weight += w;
        }
    }
    if weight > 0.0 { sum / weight } else { f64::NAN }
}

/// DART's settings (XGBoost's names).
#[derive(Debug, Clone)]
pub(crate) struct DartParams {
    rate_drop: f64,
    skip_drop: f64,
    weighted: bool,
    forest: bool,
    one_drop: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Selector {
    Cyclic,
    Shuffle,
    Random,
}

/// How often a round's evaluation line is written.
#[derive(Debug, Clone, Copy)]
enum Verbose {
    /// About 50 lines however many rounds.
    Throttled,
    Every(usize),
    Off,
}

/// Everything one boosting run needs, whichever estimator's attribute names gave it.
#[derive(Debug, Clone)]
pub(crate) struct GbdtParams {
    objective: Objective,
    booster: Booster,
    rounds: usize,
    eta: f64,
    tree: TreeParams,
    subsample: f64,
    colsample_bytree: f64,
    max_bin: usize,
    seed: u64,
    scale_pos_weight: f64,
    base_score: Option<f64>,
    /// Start from the label mean / log-odds (XGBoost ≥ 2, TensorFlow's `center_bias`)
    /// rather than 0.
    center_bias: bool,
    eval_metrics: Vec<(String, EvalMetric)>,
    early_stopping: usize,
    verbose: Verbose,
    dart: DartParams,
    /// gblinear's penalties (per row; scaled by the row count when applied, as XGBoost).
    linear_lambda: f64,
    linear_alpha: f64,
    selector: Selector,
}

impl GbdtParams {
    /// From XGBoost's attribute names. `objective` and `booster` were settled by the
    /// estimator (see `estimator.rs`).
    pub fn xgboost(
        estimator: &str,
        attrs: &Resolved,
        objective: Objective,
        booster: Booster,
    ) -> Result<GbdtParams> {
        // XGBoost's linear updater defaults to a learning rate of 0.5 (trees: 0.3).
        let eta = if booster == Booster::Gblinear && !attrs.given("eta") {
            0.5
        } else {
            attrs.float("eta")
        };
        let max_bin = if attrs.str("tree_method") == "exact" {
            // Every distinct value a split candidate: exact greedy search.
            MAX_BINS
        } else {
            attrs.usize("max_bin")
        };
        let mut eval_metrics = Vec::new();
        if let Some(AttrValue::List(names)) = attrs.get("eval_metric") {
            for name in names.iter().filter_map(text_of) {
                let metric = EvalMetric::parse(name)
                    .ok_or_else(|| bad(estimator, "eval_metric", EVAL_METRICS, name))?;
                if !metric.applies(objective) {
                    return Err(bad(
                        estimator,
                        "eval_metric",
                        &format!("a metric for objective {}", objective_name(objective)),
                        name,
                    ));
                }
                eval_metrics.push((name.to_string(), metric));
            }
        }
        if eval_metrics.is_empty() {
            let (name, m) = EvalMetric::default_for(objective);
            eval_metrics.push((name.to_string(), m));
        }
        let base_score = attrs.opt_float("base_score");
        if let (Some(b), Objective::BinaryLogistic) = (base_score, objective)
            && !(b > 0.0 && b < 1.0)
        {
            return Err(bad(
                estimator,
                "base_score",
                "a probability in (0, 1) for binary:logistic",
                &b.to_string(),
            ));
        }
        let verbose = match attrs.get("verbose_eval") {
            Some(AttrValue::Bool(false)) => Verbose::Off,
            Some(AttrValue::Int(k)) => Verbose::Every(usize::try_from(*k).unwrap_or(1)),
            _ => Verbose::Throttled,
        };
        // gblinear's L2 defaults to 0 in XGBoost (trees: 1).
        let linear_lambda = if attrs.given("lambda") {
            attrs.float("lambda")
        } else {
            0.0
        };
        Ok(GbdtParams {
            objective,
            booster,
            rounds: attrs.usize("num_boost_round"),
            eta,
            tree: TreeParams {
                max_depth: match attrs.usize("max_depth") {
                    0 => usize::MAX,
                    d => d,
                },
                min_samples_split: 2,
                min_samples_leaf: 1,
                min_child_weight: attrs.float("min_child_weight"),
                lambda: attrs.float("lambda"),
                alpha: attrs.float("alpha"),
                // XGBoost's kRtEps: splits must gain at least this much.
                min_gain: attrs.float("gamma") + 1e-6,
                max_features: usize::MAX,
                leaf_scale: -eta,
                colsample_bylevel: attrs.float("colsample_bylevel"),
                colsample_bynode: attrs.float("colsample_bynode"),
                max_delta_step: attrs.float("max_delta_step"),
                max_leaves: attrs.usize("max_leaves"),
                lossguide: attrs.str("grow_policy") == "lossguide",
            },
            subsample: attrs.float("subsample"),
            colsample_bytree: attrs.float("colsample_bytree"),
            max_bin,
            seed: attrs.seed("seed"),
            scale_pos_weight: attrs.float("scale_pos_weight"),
            base_score,
            center_bias: true,
            eval_metrics,
            early_stopping: attrs
                .opt_int("early_stopping_rounds")
                .map_or(0, |v| usize::try_from(v).unwrap_or(0)),
            verbose,
            dart: DartParams {
                rate_drop: attrs.float("rate_drop"),
                skip_drop: attrs.float("skip_drop"),
                weighted: attrs.str("sample_type") == "weighted",
                forest: attrs.str("normalize_type") == "forest",
                one_drop: attrs.bool("one_drop"),
            },
            linear_lambda,
            linear_alpha: attrs.float("alpha"),
            selector: match attrs.str("feature_selector") {
                "shuffle" => Selector::Shuffle,
                "random" => Selector::Random,
                _ => Selector::Cyclic,
            },
        })
    }

    /// From TensorFlow's `BoostedTrees*` names: `n_trees` rounds, `l1`/`l2_regularization`
    /// as `alpha`/`lambda`, `tree_complexity` as the minimum split gain (`gamma`),
    /// `min_node_weight` as `min_child_weight` (both on the hessian), `center_bias` as a
    /// data-derived first margin, and `quantile_sketch_epsilon` as `1/epsilon` bins.
    pub fn boosted_trees(attrs: &Resolved, objective: Objective) -> GbdtParams {
        let eta = attrs.float("model.learning_rate");
        let eps = attrs.float("model.quantile_sketch_epsilon");
        let gamma = if attrs.str("model.pruning_mode") == "none" {
            0.0
        } else {
            attrs.float("model.tree_complexity")
        };
        GbdtParams {
            objective,
            booster: Booster::Gbtree,
            rounds: attrs.usize("model.n_trees"),
            eta,
            tree: TreeParams {
                max_depth: attrs.usize("model.max_depth").max(1),
                min_samples_split: 2,
                min_samples_leaf: 1,
                min_child_weight: attrs.float("model.min_node_weight"),
                lambda: attrs.float("model.l2_regularization"),
                alpha: attrs.float("model.l1_regularization"),
                min_gain: gamma + 1e-6,
                max_features: usize::MAX,
                leaf_scale: -eta,
                colsample_bylevel: 1.0,
                colsample_bynode: 1.0,
                max_delta_step: 0.0,
                max_leaves: 0,
                lossguide: false,
            },
            subsample: 1.0,
            colsample_bytree: 1.0,
            max_bin: ((1.0 / eps).ceil() as usize).clamp(2, MAX_BINS),
            seed: 0,
            scale_pos_weight: 1.0,
            base_score: None,
            center_bias: attrs.bool("model.center_bias"),
            eval_metrics: vec![{
                let (n, m) = EvalMetric::default_for(objective);
                (n.to_string(), m)
            }],
            early_stopping: 0,
            verbose: Verbose::Throttled,
            dart: DartParams {
                rate_drop: 0.0,
                skip_drop: 0.0,
                weighted: false,
                forest: false,
                one_drop: false,
            },
            linear_lambda: 0.0,
            linear_alpha: 0.0,
            selector: Selector::Cyclic,
        }
    }
}

fn bad(estimator: &str, name: &str, expected: &str, got: &str) -> ModelError {
    ModelError::InvalidAttribute {
        estimator: estimator.to_string(),
        name: name.to_string(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

pub(crate) fn objective_name(o: Objective) -> &'static str {
    match o {
        Objective::SquaredError => "reg:squarederror",
        Objective::BinaryLogistic => "binary:logistic",
        Objective::MultiSoftmax => "multi:softmax",
        Objective::MultiSoftprob => "multi:softprob",
    }
}

/// gblinear's model: `cols × groups` weights (feature-major) and a bias per group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinearBooster {
    w: Vec<f64>,
    bias: Vec<f64>,
    rounds: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Gbdt {
    objective: Objective,
    /// Trees per round: the class count for multi-class, else 1.
    groups: usize,
    base_margin: Vec<f64>,
    /// Round-major: round `r`, group `c` is `trees[r * groups + c]`. Leaf values already
    /// include the learning rate.
    trees: Vec<Tree>,
    #[serde(default)]
    booster: Booster,
    /// DART: each tree's weight; empty: every tree weighs 1.
    #[serde(default)]
    tree_weights: Vec<f64>,
    #[serde(default)]
    linear: Option<LinearBooster>,
}

/// What an early stop goes back to.
struct Best {
    round: usize,
    score: f64,
    trees: usize,
    weights: Vec<f64>,
    linear: Option<LinearBooster>,
}

impl Gbdt {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        p: &GbdtParams,
        warm: Option<&Gbdt>,
        monitor: &Monitor,
        estimator: &str,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Gbdt> {
        let valid = monitor.valid;
        let objective = p.objective;
        let n = x.rows;
        let (groups, y_class, y_value): (usize, &[usize], &[f64]) = match (objective, labels) {
            (Objective::SquaredError, Labels::Values(y)) => (1, &[], y),
            (Objective::BinaryLogistic, Labels::Classes { y, .. }) => (1, y, &[]),
            (_, Labels::Classes { y, n_classes }) => (*n_classes, y, &[]),
            _ => {
                return Err(ModelError::InvalidLabel(format!(
                    "{estimator} needs a LABEL column"
                )));
            }
        };
        if p.early_stopping > 0 && valid.is_none() {
            return Err(bad(
                estimator,
                "early_stopping_rounds",
                "validation rows to watch: add validation.select = \"SELECT ...\" to the WITH clause",
                &p.early_stopping.to_string(),
            ));
        }
        let mut model = match warm {
            Some(old) => {
                if old.objective != objective || old.groups != groups || old.booster != p.booster {
                    return Err(ModelError::WarmStart(
                        "the existing model's objective, booster or class count differs from this data"
                            .into(),
                    ));
                }
                old.clone()
            }
            None => Gbdt {
                objective,
                groups,
                base_margin: initial_margin(p, groups, y_class, y_value),
                trees: Vec::new(),
                booster: p.booster,
                tree_weights: Vec::new(),
                linear: (p.booster == Booster::Gblinear).then(|| LinearBooster {
                    w: vec![0.0; x.cols * groups],
                    bias: vec![0.0; groups],
                    rounds: 0,
                }),
            },
        };
        if model.booster == Booster::Dart && model.tree_weights.len() != model.trees.len() {
            model.tree_weights = vec![1.0; model.trees.len()];
        }
        let first_round = model.rounds();
        let mut margins = model.margins(x);
        let mut vmargins = valid.map(|v| model.margins(&v.x));
        let binned = (p.booster != Booster::Gblinear).then(|| Binned::new(x, p.max_bin));
        let (mut g, mut h) = (vec![0.0; n * groups], vec![0.0; n * groups]);
        let throttle = match p.verbose {
            Verbose::Throttled => Some(Throttle::new(p.rounds)),
            Verbose::Every(k) => Some(Throttle::every(p.rounds, k)),
            Verbose::Off => None,
        };
        let mut best: Option<Best> = None;
        let mut grow = Grower {
            p,
            x,
            binned: binned.as_ref(),
            groups,
            n_cols: ((p.colsample_bytree * x.cols as f64).floor() as usize).clamp(1, x.cols.max(1)),
            gc: vec![0.0; n],
            hc: vec![0.0; n],
            leaves: Vec::new(),
        };
        for round in 0..p.rounds {
            let global = first_round + round;
            let mut rng = Rng::derive(p.seed, global as u64);
            match p.booster {
                Booster::Gbtree => {
                    gradients(p, groups, &margins, y_class, y_value, &mut g, &mut h);
                    let new = grow.round(&mut model, &g, &h, &mut rng, 1.0, &mut margins);
                    if let (Some(v), Some(vm)) = (valid, vmargins.as_mut()) {
                        add_trees(&model.trees[new..], 1.0, groups, &v.x, vm);
                    }
                }
                Booster::Dart => self::dart_round(
                    &mut model,
                    &mut grow,
                    valid,
                    vmargins.as_mut(),
                    &mut margins,
                    y_class,
                    y_value,
                    &mut g,
                    &mut h,
                    global,
                ),
                Booster::Gblinear => {
                    gradients(p, groups, &margins, y_class, y_value, &mut g, &mut h);
                    if let Some(lin) = model.linear.as_mut() {
                        linear_round(p, lin, x, groups, &mut g, &h, &mut margins, &mut rng);
                    }
                    if let (Some(v), Some(vm)) = (valid, vmargins.as_mut()) {
                        *vm = model.margins(&v.x);
                    }
                }
            }
            let train_scores: Vec<f64> = p
                .eval_metrics
                .iter()
                .map(|(_, m)| m.compute(objective, groups, &margins, labels))
                .collect();
            // A metric may be infinite on its own (mape with a zero label); the margins
            // becoming so is divergence.
            if margins.iter().any(|m| !m.is_finite()) {
                return Err(ModelError::Training(format!(
                    "the training loss became infinite or NaN at round {global}; lower eta"
                )));
            }
            let valid_scores: Option<Vec<f64>> = valid.zip(vmargins.as_ref()).map(|(v, vm)| {
                p.eval_metrics
                    .iter()
                    .map(|(_, m)| m.compute(objective, groups, vm, &v.labels))
                    .collect()
            });
            for (set, scores) in [
                ("train", Some(&train_scores)),
                ("validate", valid_scores.as_ref()),
            ] {
                for ((name, _), v) in p.eval_metrics.iter().zip(scores.into_iter().flatten()) {
                    monitor.record("round", name, set, global as u64, *v);
                }
            }
            let line = || {
                let mut line = format!("[{global}]");
                for (set, scores) in [
                    ("train", Some(&train_scores)),
                    ("validate", valid_scores.as_ref()),
                ] {
                    if let Some(scores) = scores {
                        for ((name, _), v) in p.eval_metrics.iter().zip(scores.iter()) {
                            line.push_str(&format!(" {set}-{name}:{v:.5}"));
                        }
                    }
                }
                line
            };
            let mut stop = false;
            if p.early_stopping > 0
                && let (Some(scores), Some((name, metric))) = (&valid_scores, p.eval_metrics.last())
            {
                // XGBoost watches the last metric on the last evaluation set.
                let score = scores.last().copied().unwrap_or(f64::NAN);
                let better = best.as_ref().is_none_or(|b| {
                    if metric.higher_is_better() {
                        score > b.score
                    } else {
                        score < b.score
                    }
                });
                if better {
                    best = Some(Best {
                        round: global,
                        score,
                        trees: model.trees.len(),
                        weights: model.tree_weights.clone(),
                        linear: model.linear.clone(),
                    });
                } else if let Some(b) = &best
                    && global - b.round >= p.early_stopping
                {
                    progress(&line());
                    progress(&format!(
                        "early stopping: validate-{name} has not improved for {} rounds; best round [{}] validate-{name}:{:.5}; the model keeps rounds 0 to {}",
                        p.early_stopping, b.round, b.score, b.round
                    ));
                    stop = true;
                }
            }
            if stop {
                if let Some(b) = best.take() {
                    model.trees.truncate(b.trees);
                    model.tree_weights = b.weights;
                    model.linear = b.linear;
                }
                break;
            }
            if throttle.is_some_and(|t| t.due(round)) {
                progress(&line());
            }
        }
        // Rounds ran out before the patience did: still predict with the best round, as
        // XGBoost's scikit-learn models do after early stopping.
        if let Some(b) = best
            && b.round + 1 < first_round + p.rounds
        {
            progress(&format!(
                "best round [{}] validate-{}:{:.5}; the model keeps rounds 0 to {}",
                b.round,
                p.eval_metrics.last().map_or("", |(n, _)| n.as_str()),
                b.score,
                b.round
            ));
            model.trees.truncate(b.trees);
            model.tree_weights = b.weights;
            model.linear = b.linear;
        }
        Ok(model)
    }

    /// Raw scores (`rows × groups`).
    fn margins(&self, x: &Matrix) -> Vec<f64> {
        let g = self.groups.max(1);
        let mut out: Vec<f64> = (0..x.rows)
            .flat_map(|_| self.base_margin.iter().copied())
            .collect();
        if let Some(lin) = &self.linear {
            for r in 0..x.rows {
                let row = x.row(r);
                for c in 0..g {
                    let mut m = lin.bias[c];
                    for (j, v) in row.iter().enumerate() {
                        m += v * lin.w[j * g + c];
                    }
                    out[r * g + c] += m;
                }
            }
        }
        let mut per_group = vec![0.0; x.rows];
        for c in 0..g {
            per_group.iter_mut().for_each(|v| *v = 0.0);
            for (i, tree) in self.trees.iter().enumerate().skip(c).step_by(g) {
                let w = self.tree_weights.get(i).copied().unwrap_or(1.0);
                accumulate(tree, x, w, &mut per_group);
            }
            for r in 0..x.rows {
                out[r * g + c] += per_group[r];
            }
        }
        out
    }

    pub fn predict_proba(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let m = self.margins(x);
        if self.groups == 1 {
            m.iter()
                .map(|z| {
                    let p = sigmoid(*z);
                    vec![1.0 - p, p]
                })
                .collect()
        } else {
            softmax_rows(&m, self.groups)
        }
    }

    pub fn predict_values(&self, x: &Matrix) -> Vec<f64> {
        self.margins(x)
    }

    /// Trees: total split gain per feature (DART: weighted by the tree's weight);
    /// gblinear: |weight| summed over classes. Normalized to sum 1.
    pub fn importance(&self, cols: usize) -> Vec<f64> {
        let mut imp = vec![0.0; cols];
        if let Some(lin) = &self.linear {
            let g = self.groups.max(1);
            for (j, v) in imp.iter_mut().enumerate() {
                *v = (0..g)
                    .map(|c| lin.w.get(j * g + c).map_or(0.0, |w| w.abs()))
                    .sum();
            }
        }
        for (i, tree) in self.trees.iter().enumerate() {
            let w = self.tree_weights.get(i).copied().unwrap_or(1.0);
            let mut t = vec![0.0; cols];
            tree.add_gains(&mut t);
            imp.iter_mut().zip(&t).for_each(|(a, b)| *a += w * b);
        }
        let sum: f64 = imp.iter().sum();
        if sum > 0.0 {
            imp.iter_mut().for_each(|v| *v /= sum);
        }
        imp
    }

    pub fn objective(&self) -> Objective {
        self.objective
    }

    pub fn booster(&self) -> Booster {
        self.booster
    }

    pub fn rounds(&self) -> usize {
        match &self.linear {
            Some(lin) => lin.rounds,
            None => self.trees.len() / self.groups.max(1),
        }
    }

    pub fn check(&self, cols: usize, classes: Option<usize>) -> bool {
        let groups_ok = match (self.objective, classes) {
            (Objective::SquaredError, None) | (Objective::BinaryLogistic, Some(2)) => {
                self.groups == 1
            }
            (Objective::MultiSoftmax | Objective::MultiSoftprob, Some(k)) => self.groups == k,
            _ => false,
        };
        let booster_ok = match (self.booster, &self.linear) {
            (Booster::Gblinear, Some(lin)) => {
                self.trees.is_empty()
                    && lin.w.len() == cols.saturating_mul(self.groups)
                    && lin.bias.len() == self.groups
                    && lin.w.iter().chain(&lin.bias).all(|v| v.is_finite())
            }
            (Booster::Gbtree, None) => self.tree_weights.is_empty(),
            (Booster::Dart, None) => {
                self.tree_weights.len() == self.trees.len()
                    && self.tree_weights.iter().all(|w| w.is_finite())
            }
            _ => false,
        };
        groups_ok
            && booster_ok
            && self.base_margin.len() == self.groups
            && self.base_margin.iter().all(|v| v.is_finite())
            && self.trees.len().is_multiple_of(self.groups.max(1))
            && self.trees.iter().all(|t| t.check(cols, 1))
    }
}

/// Tree growing state shared by the rounds of one training.
struct Grower<'a> {
    p: &'a GbdtParams,
    x: &'a Matrix,
    binned: Option<&'a Binned>,
    groups: usize,
    /// `colsample_bytree`'s feature count.
    n_cols: usize,
    gc: Vec<f64>,
    hc: Vec<f64>,
    leaves: Vec<(usize, usize, usize)>,
}

impl Grower<'_> {
    /// Grows one tree per group on the gradients, appends them with weight `weight`
    /// (added to `margins` for the training rows). Returns the index of the first new tree.
    fn round(
        &mut self,
        model: &mut Gbdt,
        g: &[f64],
        h: &[f64],
        rng: &mut Rng,
        weight: f64,
        margins: &mut [f64],
    ) -> usize {
        let (x, p, groups) = (self.x, self.p, self.groups);
        let n = x.rows;
        let first = model.trees.len();
        let Some(binned) = self.binned else {
            return first;
        };
        let rows: Vec<u32> = if p.subsample < 1.0 {
            (0..n as u32)
                .filter(|_| rng.next_f64() < p.subsample)
                .collect()
        } else {
            (0..n as u32).collect()
        };
        let all_features: Vec<usize> = (0..x.cols).collect();
        for c in 0..groups {
            for r in 0..n {
                self.gc[r] = g[r * groups + c];
                self.hc[r] = h[r * groups + c];
            }
            let features = if self.n_cols < x.cols {
                rng.sample_indices(x.cols, self.n_cols)
            } else {
                all_features.clone()
            };
            let stats = RowStats {
                g: &self.gc,
                h: &self.hc,
                k: 1,
            };
            let mut tree_rows = rows.clone();
            let tree = build_with_leaves(
                binned,
                &mut tree_rows,
                &stats,
                &features,
                &p.tree,
                rng,
                &mut self.leaves,
            );
            if tree_rows.len() == n {
                // Every row was in the tree: its leaf is known without walking the tree.
                for &(node, start, end) in &self.leaves {
                    let value = weight * tree.leaf_value(node);
                    for &r in &tree_rows[start..end] {
                        margins[r as usize * groups + c] += value;
                    }
                }
            } else {
                for r in 0..n {
                    margins[r * groups + c] += weight * tree.predict_row(x.row(r))[0];
                }
            }
            model.trees.push(tree);
        }
        first
    }
}

/// Adds `weight ×` the trees (round-major, `groups` per round) to `margins` of `x`.
fn add_trees(trees: &[Tree], weight: f64, groups: usize, x: &Matrix, margins: &mut [f64]) {
    for (i, tree) in trees.iter().enumerate() {
        let c = i % groups.max(1);
        for r in 0..x.rows {
            margins[r * groups + c] += weight * tree.predict_row(x.row(r))[0];
        }
    }
}

/// One DART round: drop some existing trees, fit the new ones to the gradients of the
/// remaining ensemble, then rescale (XGBoost's `normalize_type`).
#[allow(clippy::too_many_arguments)]
fn dart_round(
    model: &mut Gbdt,
    grow: &mut Grower,
    valid: Option<&Validation>,
    vmargins: Option<&mut Vec<f64>>,
    margins: &mut [f64],
    y_class: &[usize],
    y_value: &[f64],
    g: &mut [f64],
    h: &mut [f64],
    round: usize,
) {
    const DART_STREAM: u64 = 0xDA27_0000_0000_0000;
    let p = grow.p;
    let (x, groups) = (grow.x, grow.groups);
    let mut drop_rng = Rng::derive(p.seed ^ DART_STREAM, round as u64);
    let dropped = select_dropped(&p.dart, &model.tree_weights, &mut drop_rng);
    // The ensemble without the dropped trees, on the training rows.
    let mut contribution = vec![0.0; margins.len()];
    for &t in &dropped {
        let c = t % groups.max(1);
        let w = model.tree_weights[t];
        for r in 0..x.rows {
            contribution[r * groups + c] += w * model.trees[t].predict_row(x.row(r))[0];
        }
    }
    let mut reduced: Vec<f64> = margins
        .iter()
        .zip(&contribution)
        .map(|(m, c)| m - c)
        .collect();
    gradients(p, groups, &reduced, y_class, y_value, g, h);
    let k = dropped.len() as f64;
    // XGBoost divides the learning rate by the trees added per round.
    let lr = p.eta / groups.max(1) as f64;
    let (new_weight, dropped_factor) = match (dropped.is_empty(), p.dart.forest) {
        (true, _) => (1.0, 1.0),
        (false, false) => (1.0 / (k + lr), k / (k + lr)),
        (false, true) => (1.0 / (1.0 + lr), 1.0 / (1.0 + lr)),
    };
    let mut rng = Rng::derive(p.seed, round as u64);
    let first = grow.round(model, g, h, &mut rng, new_weight, &mut reduced);
    for (m, (r, c)) in margins.iter_mut().zip(reduced.iter().zip(&contribution)) {
        *m = r + dropped_factor * c;
    }
    let added = model.trees.len() - first;
    model
        .tree_weights
        .extend(std::iter::repeat_n(new_weight, added));
    for &t in &dropped {
        model.tree_weights[t] *= dropped_factor;
    }
    if let (Some(v), Some(vm)) = (valid, vmargins) {
        for &t in &dropped {
            let c = t % groups.max(1);
            // The tree's old weight was w / factor; remove the difference.
            let w_new = model.tree_weights[t];
            let w_old = if dropped_factor > 0.0 {
                w_new / dropped_factor
            } else {
                0.0
            };
            for r in 0..v.x.rows {
                vm[r * groups + c] += (w_new - w_old) * model.trees[t].predict_row(v.x.row(r))[0];
            }
        }
        add_trees(&model.trees[first..], new_weight, groups, &v.x, vm);
    }
}

/// The trees DART drops this round (XGBoost's `DropTrees`).
fn select_dropped(d: &DartParams, weights: &[f64], rng: &mut Rng) -> Vec<usize> {
    let mut out = Vec::new();
    if weights.is_empty() || (d.skip_drop > 0.0 && rng.next_f64() < d.skip_drop) {
        return out;
    }
    let sum: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let p = if d.weighted && sum > 0.0 {
            d.rate_drop * weights.len() as f64 * w / sum
        } else {
            d.rate_drop
        };
        if rng.next_f64() < p {
            out.push(i);
        }
    }
    if d.one_drop && out.is_empty() {
        let pick = if d.weighted && sum > 0.0 {
            let mut target = rng.next_f64() * sum;
            weights
                .iter()
                .position(|w| {
                    target -= w;
                    target < 0.0
                })
                .unwrap_or(weights.len() - 1)
        } else {
            rng.below(weights.len())
        };
        out.push(pick);
    }
    out
}

/// One gblinear round: XGBoost's coordinate descent (the bias of each group first, then
/// each feature's weight by a Newton step with elastic-net penalties), updating the
/// gradients and margins after every coordinate.
#[allow(clippy::too_many_arguments)]
fn linear_round(
    p: &GbdtParams,
    lin: &mut LinearBooster,
    x: &Matrix,
    groups: usize,
    g: &mut [f64],
    h: &[f64],
    margins: &mut [f64],
    rng: &mut Rng,
) {
    let n = x.rows;
    // XGBoost scales the penalties by the total instance weight (the row count).
    let (lambda, alpha) = (p.linear_lambda * n as f64, p.linear_alpha * n as f64);
    for c in 0..groups {
        let (mut sg, mut sh) = (0.0, 0.0);
        for r in 0..n {
            if h[r * groups + c] >= 0.0 {
                sg += g[r * groups + c];
                sh += h[r * groups + c];
            }
        }
        if sh > 1e-5 {
            let db = p.eta * (-sg / sh);
            lin.bias[c] += db;
            for r in 0..n {
                let i = r * groups + c;
                g[i] += h[i] * db;
                margins[i] += db;
            }
        }
    }
    let order: Vec<usize> = match p.selector {
        Selector::Cyclic => (0..x.cols).collect(),
        Selector::Shuffle => {
            let mut o: Vec<usize> = (0..x.cols).collect();
            rng.shuffle(&mut o);
            o
        }
        Selector::Random => (0..x.cols).map(|_| rng.below(x.cols.max(1))).collect(),
    };
    for j in order {
        for c in 0..groups {
            let (mut sg, mut sh) = (0.0, 0.0);
            for r in 0..n {
                let i = r * groups + c;
                if h[i] < 0.0 {
                    continue;
                }
                let v = x.get(r, j);
                sg += g[i] * v;
                sh += h[i] * v * v;
            }
            let w = &mut lin.w[j * groups + c];
            let dw = p.eta * coordinate_delta(sg, sh, *w, alpha, lambda);
            if dw == 0.0 {
                continue;
            }
            *w += dw;
            for r in 0..n {
                let i = r * groups + c;
                let v = x.get(r, j);
                g[i] += h[i] * v * dw;
                margins[i] += v * dw;
            }
        }
    }
    lin.rounds += 1;
}

/// XGBoost's elastic-net Newton step for one weight (`CoordinateDelta`).
fn coordinate_delta(sum_grad: f64, sum_hess: f64, w: f64, alpha: f64, lambda: f64) -> f64 {
    if sum_hess < 1e-5 {
        return 0.0;
    }
    let grad_l2 = sum_grad + lambda * w;
    let hess_l2 = sum_hess + lambda;
    let tmp = w - grad_l2 / hess_l2;
    if tmp >= 0.0 {
        (-(grad_l2 + alpha) / hess_l2).max(-w)
    } else {
        (-(grad_l2 - alpha) / hess_l2).min(-w)
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The first margin: `base_score` when given (a probability for binary:logistic);
/// otherwise, with `center_bias`, the data's mean (regression) or log-odds (binary), as
/// XGBoost ≥ 2 estimates it; else 0. Multi-class starts every class at 0.
fn initial_margin(p: &GbdtParams, groups: usize, y_class: &[usize], y_value: &[f64]) -> Vec<f64> {
    let logit = |q: f64| {
        let q = q.clamp(1e-6, 1.0 - 1e-6);
        (q / (1.0 - q)).ln()
    };
    match (p.objective, p.base_score) {
        (Objective::SquaredError, Some(b)) => vec![b],
        (Objective::BinaryLogistic, Some(b)) => vec![logit(b)],
        (_, Some(b)) => vec![b; groups],
        (_, None) if !p.center_bias => vec![0.0; groups],
        (Objective::SquaredError, None) => {
            vec![y_value.iter().sum::<f64>() / y_value.len().max(1) as f64]
        }
        (Objective::BinaryLogistic, None) => {
            let q =
                y_class.iter().filter(|&&c| c == 1).count() as f64 / y_class.len().max(1) as f64;
            vec![logit(q)]
        }
        _ => vec![0.0; groups],
    }
}

/// Fills gradients and hessians (`rows × groups`) of the loss at `margins`;
/// `scale_pos_weight` weighs the positive rows of binary:logistic.
fn gradients(
    p: &GbdtParams,
    groups: usize,
    margins: &[f64],
    y_class: &[usize],
    y_value: &[f64],
    g: &mut [f64],
    h: &mut [f64],
) {
    const MIN_HESS: f64 = 1e-16;
    let n = margins.len() / groups.max(1);
    match p.objective {
        Objective::SquaredError => {
            for r in 0..n {
                g[r] = margins[r] - y_value[r];
                h[r] = 1.0;
            }
        }
        Objective::BinaryLogistic => {
            for r in 0..n {
                let q = sigmoid(margins[r]);
                let (t, w) = if y_class[r] == 1 {
                    (1.0, p.scale_pos_weight)
                } else {
                    (0.0, 1.0)
                };
                g[r] = w * (q - t);
                h[r] = w * (q * (1.0 - q)).max(MIN_HESS);
            }
        }
        Objective::MultiSoftmax | Objective::MultiSoftprob => {
            let mut q = vec![0.0; groups];
            for r in 0..n {
                q.copy_from_slice(&margins[r * groups..(r + 1) * groups]);
                softmax_in_place(&mut q);
                for c in 0..groups {
                    let t = if y_class[r] == c { 1.0 } else { 0.0 };
                    g[r * groups + c] = q[c] - t;
                    // XGBoost's softmax hessian, factor 2 included.
                    h[r * groups + c] = (2.0 * q[c] * (1.0 - q[c])).max(MIN_HESS);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_metric_spellings() {
        let norm = |v: AttrValue| normalize_eval_metric(&v);
        assert_eq!(
            norm(AttrValue::Str("AUC, logloss".into())),
            Some(AttrValue::List(vec![
                AttrValue::Str("auc".into()),
                AttrValue::Str("logloss".into())
            ]))
        );
        assert!(norm(AttrValue::Ident("error@0.7".into())).is_some());
        assert!(norm(AttrValue::Ident("error@7".into())).is_none());
        assert!(norm(AttrValue::Str("accuracy".into())).is_none());
    }

    #[test]
    fn coordinate_delta_is_xgboosts() {
        // No penalty: the Newton step -G/H.
        assert_eq!(coordinate_delta(2.0, 4.0, 0.0, 0.0, 0.0), -0.5);
        // An L1 penalty larger than the gradient keeps a zero weight at zero.
        assert_eq!(coordinate_delta(2.0, 4.0, 0.0, 3.0, 0.0), 0.0);
        // ... and pulls a positive weight no further than zero.
        assert_eq!(coordinate_delta(0.0, 1.0, 0.5, 10.0, 0.0), -0.5);
    }

    #[test]
    fn dart_drops_at_the_rate() {
        let d = DartParams {
            rate_drop: 0.3,
            skip_drop: 0.0,
            weighted: false,
            forest: false,
            one_drop: false,
        };
        let mut rng = Rng::new(1);
        let total: usize = (0..200)
            .map(|_| select_dropped(&d, &[1.0; 10], &mut rng).len())
            .sum();
        assert!((500..700).contains(&total), "{total}");
        let skip = DartParams {
            skip_drop: 1.0,
            ..d.clone()
        };
        assert!(select_dropped(&skip, &[1.0; 10], &mut rng).is_empty());
        let one = DartParams {
            rate_drop: 0.0,
            one_drop: true,
            ..d
        };
        assert_eq!(select_dropped(&one, &[1.0; 10], &mut rng).len(), 1);
    }
}
