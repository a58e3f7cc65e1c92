//! The attributes each spelling accepts (XGBoost's, TensorFlow's), the objectives and
//! boosters they select, and the settings of one boosting run.

use serde::{Deserialize, Serialize};

use super::metric::EvalMetric;
use crate::{
    attrs::{AttrSpec, AttrType, AttrValue, Resolved, spec, text_of},
    binning::MAX_BINS,
    dnn::TF_RUNTIME_SPECS,
    error::{ModelError, Result},
    tree::TreeParams,
};

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
         (coordinates are updated one after another, as coord_descent)",
    ),
    crate::threads::XGB_THREADS,
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
        crate::threads::THREADS,
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

    pub(super) fn is_multi(self) -> bool {
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

/// DART's settings (XGBoost's names).
#[derive(Debug, Clone)]
pub(crate) struct DartParams {
    pub(super) rate_drop: f64,
    pub(super) skip_drop: f64,
    pub(super) weighted: bool,
    pub(super) forest: bool,
    pub(super) one_drop: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Selector {
    Cyclic,
    Shuffle,
    Random,
}

/// How often a round's evaluation line is written.
#[derive(Debug, Clone, Copy)]
pub(super) enum Verbose {
    /// About 50 lines however many rounds.
    Throttled,
    Every(usize),
    Off,
}

/// Everything one boosting run needs, whichever estimator's attribute names gave it.
#[derive(Debug, Clone)]
pub(crate) struct GbdtParams {
    pub(super) objective: Objective,
    pub(super) booster: Booster,
    pub(super) rounds: usize,
    pub(super) eta: f64,
    pub(super) tree: TreeParams,
    pub(super) subsample: f64,
    pub(super) colsample_bytree: f64,
    pub(super) max_bin: usize,
    pub(super) seed: u64,
    pub(super) scale_pos_weight: f64,
    pub(super) base_score: Option<f64>,
    /// Start from the label mean / log-odds (XGBoost ≥ 2, TensorFlow's `center_bias`)
    /// rather than 0.
    pub(super) center_bias: bool,
    pub(super) eval_metrics: Vec<(String, EvalMetric)>,
    pub(super) early_stopping: usize,
    pub(super) verbose: Verbose,
    pub(super) dart: DartParams,
    /// gblinear's penalties (per row; scaled by the row count when applied, as XGBoost).
    pub(super) linear_lambda: f64,
    pub(super) linear_alpha: f64,
    pub(super) selector: Selector,
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
                threads: crate::threads::count(attrs),
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
                threads: crate::threads::count(attrs),
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

pub(super) fn bad(estimator: &str, name: &str, expected: &str, got: &str) -> ModelError {
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
}
