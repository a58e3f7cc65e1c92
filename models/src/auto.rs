//! `sqlflow_models.AutoClassifier` / `sqlflow_models.AutoRegressor`: a search over our
//! own families and a few of their hyper-parameters. Each candidate trains on a
//! deterministic split of the training rows (stratified by class for classifiers; or
//! on all rows when `validation.select` gives held-out rows) and is scored on the
//! held-out rows; the best (ties: the earlier, simpler candidate) is refitted on all
//! rows. The stored model is the winner's, so PREDICT, EVALUATE and EXPLAIN work as for
//! its family, with the search ([`AutoSearch`]) kept alongside for SHOW TRAIN.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::attrs::{self, AttrSpec, AttrType, AttrValue, Attrs, DefaultValue, Resolved, spec};
use crate::data::{Column, FeatureRef, LabelColumn};
use crate::error::{ModelError, Result};
use crate::estimator::Estimator;
use crate::labels::fit_classes;
use crate::metrics::{self, Metric};
use crate::model::{TrainOptions, TrainedModel, train_with_history};
use crate::monitor::TrainingHistory;
use crate::rng::Rng;

/// What was tried and what won, saved with the winner's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoSearch {
    /// `sqlflow_models.AutoClassifier` or `sqlflow_models.AutoRegressor`.
    pub estimator: String,
    /// The metric the candidates were ranked by (as named), and its direction.
    pub metric: String,
    pub higher_is_better: bool,
    /// Which rows validated the candidates.
    pub validated_on: String,
    pub trials: Vec<AutoTrial>,
    /// Index into `trials` of the winner.
    pub winner: usize,
}

/// One candidate of the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoTrial {
    pub estimator: String,
    /// The candidate's own attributes, `name=value` separated by spaces.
    pub attributes: String,
    /// The validation metric; `None` when the candidate failed.
    pub score: Option<f64>,
    pub seconds: f64,
    /// Why the candidate failed.
    pub error: Option<String>,
}

const TRAIN_EPOCH_NOTE: &str = "train.epoch and train.batch_size apply to the DNN candidates; \
     the other families do not train in epochs";

fn classification_metric(v: &AttrValue) -> Option<AttrValue> {
    let s = attrs::text_of(v)?;
    metrics::lookup(s, "classification").map(|_| AttrValue::Str(s.trim().to_string()))
}

fn regression_metric(v: &AttrValue) -> Option<AttrValue> {
    let s = attrs::text_of(v)?;
    metrics::lookup(s, "regression").map(|_| AttrValue::Str(s.trim().to_string()))
}

const CLASSIFICATION_METRIC: &str = "a classification metric name (accuracy, f1, auc, ...)";
const REGRESSION_METRIC: &str = "a regression metric name (r2, mse, mae, ...)";

/// The attribute table of AutoClassifier (`classifier`) or AutoRegressor.
pub(crate) fn specs(classifier: bool) -> Vec<AttrSpec> {
    let mut specs = vec![
        spec::int("model.max_trials", 1, 12),
        AttrSpec {
            name: "model.time_budget_seconds",
            aliases: &["model.time_budget"],
            ty: AttrType::Float {
                min: 0.0,
                max: f64::INFINITY,
                min_open: true,
            },
            default: Some(DefaultValue::Float(60.0)),
        },
        AttrSpec {
            name: "model.validation_fraction",
            aliases: &[],
            ty: AttrType::Float {
                min: 0.05,
                max: 0.5,
                min_open: false,
            },
            default: Some(DefaultValue::Float(0.2)),
        },
        spec::seed("model.seed"),
        spec::int("train.epoch", 1, 10),
        spec::int("train.batch_size", 1, 32),
    ];
    if classifier {
        specs.push(AttrSpec {
            name: "model.n_classes",
            aliases: &[],
            ty: AttrType::Int {
                min: 2,
                max: i64::MAX,
            },
            default: None,
        });
        specs.push(spec::custom(
            "model.metric",
            CLASSIFICATION_METRIC,
            classification_metric,
            Some(DefaultValue::Str("accuracy")),
        ));
    } else {
        specs.push(spec::custom(
            "model.metric",
            REGRESSION_METRIC,
            regression_metric,
            Some(DefaultValue::Str("r2")),
        ));
    }
    specs.extend(
        [
            "model.optimizer",
            "optimizer.learning_rate",
            "model.loss",
            "train.verbose",
        ]
        .map(|name| {
            spec::no_effect(
                name,
                "each candidate uses its own settings (see SHOW TRAIN for what was tried)",
            )
        }),
    );
    specs
}

/// Notes for the job's log beyond the table's own.
pub(crate) fn notices(resolved: &Resolved) -> Vec<String> {
    let mut notes = Vec::new();
    if resolved.given("train.epoch") || resolved.given("train.batch_size") {
        notes.push(TRAIN_EPOCH_NOTE.to_string());
    }
    notes
}

fn higher_is_better(m: Metric) -> bool {
    !matches!(
        m,
        Metric::LogLoss
            | Metric::ZeroOneLoss
            | Metric::Brier
            | Metric::FalsePositives
            | Metric::FalseNegatives
            | Metric::Mse
            | Metric::Rmse
            | Metric::Mae
            | Metric::MapePercent
            | Metric::Mape
            | Metric::Msle
            | Metric::MedianAbsoluteError
            | Metric::MaxError
    )
}

type Candidate = (Estimator, Vec<(&'static str, AttrValue)>);

fn int(v: i64) -> AttrValue {
    AttrValue::Int(v)
}
fn float(v: f64) -> AttrValue {
    AttrValue::Float(v)
}
fn list(v: &[i64]) -> AttrValue {
    AttrValue::List(v.iter().map(|i| AttrValue::Int(*i)).collect())
}
fn text(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}

/// The candidates, in the order they are tried: one of each family first, so a small
/// budget still covers every family, then other settings.
fn candidates(classifier: bool, resolved: &Resolved, n_classes: i64) -> Vec<Candidate> {
    use Estimator as E;
    let (linear, xgb, forest, tree, dnn) = if classifier {
        (
            E::LinearClassifier,
            E::XgbClassifier,
            E::RandomForestClassifier,
            E::DecisionTreeClassifier,
            E::DnnClassifier,
        )
    } else {
        (
            E::LinearRegressor,
            E::XgbRegressor,
            E::RandomForestRegressor,
            E::DecisionTreeRegressor,
            E::DnnRegressor,
        )
    };
    let seed = resolved.int("model.seed");
    let epoch = resolved.int("train.epoch");
    let batch = resolved.int("train.batch_size");
    let mut n = Vec::new();
    if classifier {
        n.push(("model.n_classes", int(n_classes)));
    }
    let with = |extra: Vec<(&'static str, AttrValue)>| -> Vec<(&'static str, AttrValue)> {
        n.iter().cloned().chain(extra).collect()
    };
    let xgb_attrs = |depth: i64, eta: f64, rounds: i64| {
        vec![
            ("max_depth", int(depth)),
            ("eta", float(eta)),
            ("num_boost_round", int(rounds)),
            ("seed", int(seed)),
        ]
    };
    let dnn_attrs = |hidden: &[i64], optimizer: Option<(&str, f64)>| {
        let mut a = vec![
            ("model.hidden_units", list(hidden)),
            ("train.epoch", int(epoch)),
            ("train.batch_size", int(batch)),
            ("model.seed", int(seed)),
        ];
        if let Some((opt, lr)) = optimizer {
            a.push(("model.optimizer", text(opt)));
            a.push(("optimizer.learning_rate", float(lr)));
        }
        with(a)
    };
    vec![
        (linear, with(Vec::new())),
        (xgb, xgb_attrs(3, 0.3, 50)),
        (
            forest,
            vec![("model.n_estimators", int(100)), ("model.seed", int(seed))],
        ),
        (dnn, dnn_attrs(&[10, 20], None)),
        (xgb, xgb_attrs(6, 0.1, 100)),
        (tree, vec![("model.max_depth", int(5))]),
        (dnn, dnn_attrs(&[64, 32], Some(("Adam", 0.01)))),
        (xgb, xgb_attrs(2, 0.1, 200)),
        (
            forest,
            vec![
                ("model.n_estimators", int(300)),
                ("model.min_samples_leaf", int(3)),
                ("model.seed", int(seed)),
            ],
        ),
        (xgb, xgb_attrs(4, 0.3, 100)),
        (linear, with(vec![("model.l2_reg", float(1.0))])),
        (tree, vec![("model.max_depth", int(0))]),
    ]
}

/// The estimator and its candidate attributes, as a trial line shows them.
fn titled(est: Estimator, attrs: &[(&'static str, AttrValue)]) -> String {
    let d = describe(attrs);
    if d.is_empty() {
        est.name().to_string()
    } else {
        format!("{} {d}", est.name())
    }
}

fn describe(attrs: &[(&'static str, AttrValue)]) -> String {
    attrs
        .iter()
        .filter(|(k, _)| !matches!(*k, "model.seed" | "seed" | "model.n_classes"))
        .map(|(k, v)| format!("{}={v}", k.trim_start_matches("model.")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn take(col: &Column, rows: &[usize]) -> Column {
    col.take_rows(rows)
}

fn label_key(v: Option<FeatureRef<'_>>) -> String {
    match v {
        Some(FeatureRef::Num(x)) => format!("n{x}"),
        Some(FeatureRef::Str(s)) => format!("s{s}"),
        None => String::new(),
    }
}

/// (train rows, validation rows): a seeded shuffle, stratified by class for classifiers
/// (each class gives its share, at least one row when it has two).
fn split(
    label: &LabelColumn,
    classifier: bool,
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let n = label.len();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in 0..n {
        let key = if classifier {
            label_key(label.get(r))
        } else {
            String::new()
        };
        groups.entry(key).or_default().push(r);
    }
    let mut rng = Rng::new(seed);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (_, mut rows) in groups {
        rng.shuffle(&mut rows);
        let k = if rows.len() < 2 {
            0
        } else {
            ((rows.len() as f64 * fraction).round() as usize).clamp(1, rows.len() - 1)
        };
        valid.extend_from_slice(&rows[..k]);
        train.extend_from_slice(&rows[k..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

/// Trains AutoClassifier / AutoRegressor (`est`): the search, then the winner on all rows.
pub(crate) fn train(
    est: Estimator,
    attrs: &Attrs,
    features: &[Column],
    label: Option<&LabelColumn>,
    options: &TrainOptions<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(TrainedModel, TrainingHistory)> {
    let classifier = est == Estimator::AutoClassifier;
    let resolved = attrs::resolve(est.name(), &est.specs(), attrs)?;
    if options.warm_start.is_some() {
        return Err(ModelError::WarmStart(format!(
            "{} searches anew each time and cannot continue an existing model; train \
             without USING, or continue the winner with its own estimator (SHOW TRAIN names it)",
            est.name()
        )));
    }
    let Some(label) = label else {
        return Err(ModelError::InvalidLabel(format!(
            "{} needs a label: add LABEL <column> to the TO TRAIN statement",
            est.name()
        )));
    };
    let rows = label.len();
    if rows < 5 && options.validation.is_none() {
        return Err(ModelError::InvalidData(format!(
            "{} holds out rows to compare candidates and needs at least 5 training rows \
             (it has {rows}); give validation.select or more rows",
            est.name()
        )));
    }
    let n_classes = if classifier {
        let found = fit_classes(label)?.len() as i64;
        match resolved.opt_int("model.n_classes") {
            Some(n) if found > n => {
                return Err(ModelError::InvalidLabel(format!(
                    "label column '{}' has {found} distinct values but model.n_classes = {n}; \
                     set model.n_classes = {found}",
                    label.name
                )));
            }
            Some(n) => n,
            None => found,
        }
    } else {
        0
    };
    // The ranking metric: model.metric, else the first validation.metrics entry.
    let kind = if classifier {
        "classification"
    } else {
        "regression"
    };
    let metric_name = match (resolved.given("model.metric"), options.metrics.first()) {
        (false, Some(m)) if metrics::lookup(m, kind).is_some() => m.trim().to_string(),
        _ => resolved.str("model.metric").to_string(),
    };
    let metric =
        metrics::lookup(&metric_name, kind).ok_or_else(|| ModelError::InvalidAttribute {
            estimator: est.name().to_string(),
            name: "model.metric".into(),
            expected: if classifier {
                CLASSIFICATION_METRIC
            } else {
                REGRESSION_METRIC
            }
            .into(),
            got: metric_name.clone(),
        })?;
    let higher = higher_is_better(metric);
    let seed = resolved.seed("model.seed");
    let max_trials = resolved.usize("model.max_trials");
    let budget = resolved.float("model.time_budget_seconds");
    let fraction = resolved.float("model.validation_fraction");

    // The candidates' training and validation rows.
    let params = (metric_name, higher, max_trials, budget, n_classes);
    match options.validation {
        Some((vx, vy)) => search_and_refit(
            est,
            &resolved,
            Search {
                fit: (features, label),
                valid: (vx, vy),
                validated_on: format!("validation.select ({} rows)", vy.len()),
                refit: false,
            },
            (features, label),
            options,
            params,
            progress,
        ),
        None => {
            let (tr, va) = split(label, classifier, fraction, seed);
            let part_x: Vec<Column> = features.iter().map(|c| take(c, &tr)).collect();
            let part_y = take(label, &tr);
            let val_x: Vec<Column> = features.iter().map(|c| take(c, &va)).collect();
            let val_y = take(label, &va);
            let validated_on = format!(
                "{} of {rows} training rows held out ({}seed {seed})",
                va.len(),
                if classifier { "stratified, " } else { "" }
            );
            search_and_refit(
                est,
                &resolved,
                Search {
                    fit: (&part_x, &part_y),
                    valid: (&val_x, &val_y),
                    validated_on,
                    refit: true,
                },
                (features, label),
                options,
                params,
                progress,
            )
        }
    }
}

struct Search<'a> {
    fit: (&'a [Column], &'a LabelColumn),
    valid: (&'a [Column], &'a LabelColumn),
    validated_on: String,
    /// The candidates trained on part of the rows: train the winner again on all.
    refit: bool,
}

fn search_and_refit(
    est: Estimator,
    resolved: &Resolved,
    search: Search<'_>,
    all: (&[Column], &LabelColumn),
    options: &TrainOptions<'_>,
    (metric_name, higher, max_trials, budget, n_classes): (String, bool, usize, f64, i64),
    progress: &mut dyn FnMut(&str),
) -> Result<(TrainedModel, TrainingHistory)> {
    let classifier = est == Estimator::AutoClassifier;
    let mut list = candidates(classifier, resolved, n_classes);
    list.truncate(max_trials);
    let total = list.len();
    progress(&format!(
        "{}: up to {total} trials within {budget} s, ranked by validation {metric_name} on {}",
        est.name(),
        search.validated_on
    ));
    let started = Instant::now();
    let candidate_options = TrainOptions {
        warm_start: None,
        validation: if search.refit {
            None
        } else {
            options.validation
        },
        metrics: Vec::new(),
        column_groups: options.column_groups.clone(),
        embeddings: options.embeddings.clone(),
    };
    let mut trials: Vec<AutoTrial> = Vec::new();
    let mut best: Option<(usize, f64, TrainedModel, TrainingHistory)> = None;
    for (i, (cand, cand_attrs)) in list.iter().enumerate() {
        let elapsed = started.elapsed().as_secs_f64();
        if i > 0 && elapsed >= budget {
            progress(&format!(
                "time budget of {budget} s spent after {i} trials ({elapsed:.1} s); not starting \
                 the other {}",
                total - i
            ));
            break;
        }
        let attrs: Attrs = cand_attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let t0 = Instant::now();
        let outcome = train_with_history(
            cand.name(),
            &attrs,
            search.fit.0,
            Some(search.fit.1),
            &candidate_options,
            &mut |_| {},
        )
        .and_then(|(m, h)| {
            let v = m
                .evaluate(search.valid.0, search.valid.1, &[metric_name.as_str()])?
                .first()
                .map_or(f64::NAN, |(_, v)| *v);
            Ok((m, h, v))
        });
        let seconds = t0.elapsed().as_secs_f64();
        let described = describe(cand_attrs);
        let trial = match outcome {
            Ok((m, h, v)) if v.is_finite() => {
                progress(&format!(
                    "trial {}/{total}: {} → validate {metric_name} {v:.4} ({seconds:.2} s)",
                    i + 1,
                    titled(*cand, cand_attrs)
                ));
                let better = best
                    .as_ref()
                    .is_none_or(|(_, b, _, _)| if higher { v > *b } else { v < *b });
                if better {
                    best = Some((i, v, m, h));
                }
                AutoTrial {
                    estimator: cand.name().to_string(),
                    attributes: described,
                    score: Some(v),
                    seconds,
                    error: None,
                }
            }
            other => {
                let why = match other {
                    Err(e) => e.to_string(),
                    Ok(_) => format!("validation {metric_name} is not a number"),
                };
                progress(&format!(
                    "trial {}/{total}: {} → failed: {why} ({seconds:.2} s)",
                    i + 1,
                    titled(*cand, cand_attrs)
                ));
                AutoTrial {
                    estimator: cand.name().to_string(),
                    attributes: described,
                    score: None,
                    seconds,
                    error: Some(why),
                }
            }
        };
        trials.push(trial);
    }
    let Some((winner, score, model, history)) = best else {
        let why: Vec<String> = trials
            .iter()
            .map(|t| {
                format!(
                    "{} {}: {}",
                    t.estimator,
                    t.attributes,
                    t.error.as_deref().unwrap_or("")
                )
            })
            .collect();
        return Err(ModelError::Training(format!(
            "{}: no candidate trained ({})",
            est.name(),
            why.join("; ")
        )));
    };
    let (cand, cand_attrs) = &list[winner];
    progress(&format!(
        "best: trial {}/{total} {} with validation {metric_name} {score:.4}{}",
        winner + 1,
        titled(*cand, cand_attrs),
        if search.refit {
            "; training it on all rows"
        } else {
            ""
        }
    ));
    let (mut model, history) = if search.refit {
        let attrs: Attrs = cand_attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let refit_options = TrainOptions {
            warm_start: None,
            ..options.clone()
        };
        train_with_history(
            cand.name(),
            &attrs,
            all.0,
            Some(all.1),
            &refit_options,
            progress,
        )?
    } else {
        (model, history)
    };
    model.auto = Some(Box::new(AutoSearch {
        estimator: est.name().to_string(),
        metric: metric_name,
        higher_is_better: higher,
        validated_on: search.validated_on,
        trials,
        winner,
    }));
    Ok((model, history))
}
