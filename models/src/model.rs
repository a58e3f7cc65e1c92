//! [`train`] and [`TrainedModel`]: the entry points the engine calls.

use serde::{Deserialize, Serialize};

use crate::arima::Arima;

mod evaluation;

use crate::attrs::{self, AttrValue, Attrs, Resolved};
use crate::data::{ClassLabel, Column, FeatureRef, LabelColumn, Labels, Matrix, Prediction};
use crate::dec::Dec;
use crate::dnn::{DnnSetup, Mlp, WideDeepInputs};
use crate::embedding::EmbeddingSpec;
use crate::error::{ModelError, Result};
use crate::estimator::{Estimator, Task, WIDE_DEEP_INPUTS};
use crate::features::FeatureEncoder;
use crate::forest::Forest;
use crate::gbdt::{Booster, Gbdt, GbdtParams, Objective, objective_name};
use crate::kmeans::KMeans;
use crate::labels::{encode_classes, fit_classes, list_classes, numeric_target, vector_target};
use crate::linear::Linear;
use crate::metrics::{self, Metric};
use crate::monitor::{Monitor, TrainingHistory, Validation, argmax};
use crate::optimizer::OptimizerConfig;
use crate::rnn::Rnn;
use crate::scorecard::{ScoreCard, ScoreCardRow};
use crate::svm::OneClassSvm;
pub use evaluation::{Evaluated, Evaluation};

/// A trained model with everything needed to use it on new rows: the feature encoding,
/// the classes, the effective attributes and the fitted parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    pub(crate) estimator: Estimator,
    /// Every attribute in effect (defaults included), under canonical names.
    pub(crate) attrs: Attrs,
    pub(crate) encoder: FeatureEncoder,
    pub(crate) label: Option<String>,
    pub(crate) classes: Option<Vec<ClassLabel>>,
    pub(crate) body: Body,
    /// AutoClassifier / AutoRegressor: what was tried and what won (the rest of the
    /// model is the winner's). Absent from other models' bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auto: Option<Box<crate::auto::AutoSearch>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Body {
    Dnn(Mlp),
    Linear(Linear),
    Gbdt(Gbdt),
    Forest(Forest),
    KMeans(KMeans),
    Dec(Dec),
    ScoreCard(ScoreCard),
    OneClassSvm(OneClassSvm),
    Rnn(Rnn),
    Arima(Arima),
}

/// The optional inputs of [`train_with`].
#[derive(Debug, Default, Clone)]
pub struct TrainOptions<'a> {
    /// Continue from this model (SQL's `USING`).
    pub warm_start: Option<&'a TrainedModel>,
    /// Held-out rows (`validation.select`): features (extra columns are ignored) and the
    /// label. Boosting reports its evaluation metrics on them every round and stops
    /// early on them (`early_stopping_rounds`); neural models report `metrics` on them
    /// every epoch.
    pub validation: Option<(&'a [Column], &'a LabelColumn)>,
    /// Metric names for the per-epoch validation report (`validation.metrics`, as the
    /// user wrote them); empty: accuracy or MSE.
    pub metrics: Vec<String>,
    /// `COLUMN ... FOR <input>` groups: (input, column names). Wide and deep reads
    /// `linear_feature_columns` and `dnn_feature_columns`; without groups every column
    /// feeds both parts. Other estimators ignore the groups.
    pub column_groups: Vec<(String, Vec<String>)>,
    /// Embedding tables DNNs learn over some input columns (SQL's EMBEDDING); other
    /// estimators use those columns as they are.
    pub embeddings: Vec<EmbeddingSpec>,
}

/// Trains `estimator` (a name such as `DNNClassifier` or `xgboost.gbtree`, matched
/// case-insensitively) on `features`, with `label` for supervised estimators (ignored by
/// `KMeans`). `warm_start` continues from an existing model of the same estimator and
/// feature columns (SQL's `USING`). `progress` receives human-readable progress lines
/// (per epoch, per boosting round, ...).
pub fn train(
    estimator: &str,
    attrs: &Attrs,
    features: &[Column],
    label: Option<&LabelColumn>,
    warm_start: Option<&TrainedModel>,
    progress: &mut dyn FnMut(&str),
) -> Result<TrainedModel> {
    let options = TrainOptions {
        warm_start,
        ..TrainOptions::default()
    };
    train_with(estimator, attrs, features, label, &options, progress)
}

/// Checks `attrs` against `estimator`'s table without training: the same errors
/// [`train`] would give, before any data is loaded. Returns one line per attribute that
/// is accepted but has no effect here (for the job's log).
pub fn validate_attributes(estimator: &str, attrs: &Attrs) -> Result<Vec<String>> {
    let est = Estimator::from_name(estimator)?;
    let resolved = attrs::resolve(est.name(), &est.specs(), attrs)?;
    check_combinations(est, &resolved)?;
    let mut notices = resolved.notices().to_vec();
    if est.is_auto() {
        notices.extend(crate::auto::notices(&resolved));
    }
    Ok(notices)
}

/// Checks between attributes that need no data: an optimizer's arguments must be ones
/// it takes.
fn check_combinations(est: Estimator, resolved: &Resolved) -> Result<()> {
    if let Some(flavor) = est.dnn_flavor() {
        let mut scratch = resolved.clone();
        for (key, prefix, kind, lr) in flavor.optimizers() {
            OptimizerConfig::from_attrs(est.name(), &mut scratch, key, prefix, (kind, lr))?;
        }
    }
    if est == Estimator::TimeSeriesRnn {
        let mut scratch = resolved.clone();
        OptimizerConfig::from_attrs(
            est.name(),
            &mut scratch,
            "model.optimizer",
            "optimizer.",
            crate::rnn::DEFAULT_OPTIMIZER,
        )?;
    }
    if est == Estimator::ArimaStl {
        crate::arima::check_attrs(resolved)?;
    }
    Ok(())
}

/// [`train`] with held-out rows, validation metrics and column groups.
pub fn train_with(
    estimator: &str,
    attrs: &Attrs,
    features: &[Column],
    label: Option<&LabelColumn>,
    options: &TrainOptions<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<TrainedModel> {
    train_with_history(estimator, attrs, features, label, options, progress).map(|(m, _)| m)
}

/// [`train_with`], also returning what training measured as it went (the data of its
/// loss and metric curves; empty for models trained without iterations).
pub fn train_with_history(
    estimator: &str,
    attrs: &Attrs,
    features: &[Column],
    label: Option<&LabelColumn>,
    options: &TrainOptions<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(TrainedModel, TrainingHistory)> {
    train_inputs(
        estimator,
        attrs,
        Inputs::Borrowed(features),
        label,
        options,
        progress,
    )
}

/// [`train_with_history`] given the feature columns to keep: the same model, but a
/// model that needs them only until it has encoded them (the trees, once binned) lets
/// them go, so that a large training set is not held twice while training.
pub fn train_owned(
    estimator: &str,
    attrs: &Attrs,
    features: Vec<Column>,
    label: Option<&LabelColumn>,
    options: &TrainOptions<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(TrainedModel, TrainingHistory)> {
    train_inputs(
        estimator,
        attrs,
        Inputs::Owned(features),
        label,
        options,
        progress,
    )
}

/// Feature columns lent or given to training.
enum Inputs<'a> {
    Borrowed(&'a [Column]),
    Owned(Vec<Column>),
}

impl Inputs<'_> {
    fn as_slice(&self) -> &[Column] {
        match self {
            Inputs::Borrowed(c) => c,
            Inputs::Owned(c) => c,
        }
    }

    /// Frees owned columns; they read as none afterwards.
    fn release(&mut self) {
        if let Inputs::Owned(c) = self {
            *c = Vec::new();
        }
    }
}

/// Bins the encoder's columns for the trees. Columns given rather than lent are freed one
/// by one, each as soon as it is binned, so the columns and their bins never all exist at
/// once: the peak of training a tree is then about the raw columns, not more.
fn bin_columns(
    encoder: &FeatureEncoder,
    inputs: &mut Inputs<'_>,
    resolved: &attrs::Resolved,
) -> Result<crate::binning::Binned> {
    let selected = encoder.select(inputs.as_slice())?;
    let rows = crate::features::row_count(&selected)?;
    let cols = selected.len();
    let positions: Vec<Option<usize>> = selected
        .iter()
        .map(|sel| inputs.as_slice().iter().position(|c| std::ptr::eq(c, *sel)))
        .collect();
    let distinct = positions
        .iter()
        .flatten()
        .collect::<std::collections::HashSet<_>>()
        .len()
        == cols;
    if !distinct || matches!(inputs, Inputs::Borrowed(_)) {
        return Forest::bin(rows, cols, resolved, |j| {
            encoder.encoded_column(&selected, j)
        });
    }
    let Inputs::Owned(owned) = inputs else {
        return Err(ModelError::Training("lent columns cannot be freed".into()));
    };
    let mut all: Vec<Option<Column>> = std::mem::take(owned).into_iter().map(Some).collect();
    let slots: Vec<std::sync::Mutex<Option<Column>>> = positions
        .iter()
        .map(|p| std::sync::Mutex::new(p.and_then(|i| all.get_mut(i)?.take())))
        .collect();
    // The columns no input needs go now.
    drop(all);
    Forest::bin(rows, cols, resolved, |j| {
        let col = slots
            .get(j)
            .and_then(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
            })
            .ok_or_else(|| ModelError::InvalidData(format!("input column {} is missing", j + 1)))?;
        encoder.encoded_column_of(&col, j, rows)
    })
}

fn train_inputs(
    estimator: &str,
    attrs: &Attrs,
    mut inputs: Inputs<'_>,
    label: Option<&LabelColumn>,
    options: &TrainOptions<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(TrainedModel, TrainingHistory)> {
    let features = inputs.as_slice();
    let est = Estimator::from_name(estimator)?;
    if est.is_auto() {
        return crate::auto::train(est, attrs, features, label, options, progress);
    }
    let mut resolved = attrs::resolve(est.name(), &est.specs(), attrs)?;
    check_combinations(est, &resolved)?;
    if est == Estimator::ArimaStl {
        return train_arima(est, resolved, features, label, options, progress);
    }
    let task = est.task(&resolved);
    let warm_start = options.warm_start;
    if let Some(old) = warm_start {
        check_warm_start(est, old, features)?;
    }
    let encoder = match warm_start {
        Some(old) => old.encoder.clone(),
        None => FeatureEncoder::fit(features, est.one_hot(&resolved))?,
    };
    let encoded = if Forest::estimates(est) && encoder.one_column_each() {
        // Trees see bins only: binned a column at a time, the encoded matrix (8 bytes
        // a cell) never exists.
        let binned = bin_columns(&encoder, &mut inputs, &resolved)?;
        inputs.release();
        Encoded::Binned(binned)
    } else {
        Encoded::Matrix(encoder.transform(features)?)
    };
    // Empty when released above: only the matrix models read the columns again.
    let features = inputs.as_slice();
    let rows = match &encoded {
        Encoded::Matrix(x) => x.rows,
        Encoded::Binned(b) => b.rows,
    };
    if rows == 0 {
        return Err(ModelError::InvalidData(
            "the training data has no rows; check the SELECT's WHERE clause".into(),
        ));
    }
    let label = match (task, label) {
        (Task::Clustering | Task::OutlierDetection, _) => None,
        (_, Some(l)) => Some(l),
        (_, None) => {
            return Err(ModelError::InvalidLabel(format!(
                "{} needs a label: add LABEL <column> to the TO TRAIN statement",
                est.name()
            )));
        }
    };
    if let Some(l) = label {
        check_label_rows(l, rows)?;
    }
    let (classes, labels) = match (task, label) {
        (Task::Classification, Some(l)) => {
            let classes = match warm_start.and_then(|m| m.classes.clone()) {
                Some(c) => c,
                None => fit_classes(l)?,
            };
            let y = encode_classes(l, &classes)?;
            let n_classes = classes.len();
            (Some(classes), Labels::Classes { y, n_classes })
        }
        (Task::Regression, Some(l)) if est == Estimator::TimeSeriesRnn => (
            None,
            Labels::Values(vector_target(l, resolved.usize("model.n_out"), est.name())?),
        ),
        (Task::Regression, Some(l)) => {
            let y = numeric_target(l).map_err(|e| match (est.xgboost_booster(), e) {
                (Some(_), ModelError::InvalidLabel(msg)) => ModelError::InvalidLabel(format!(
                    "{msg}; with objective reg:squarederror the label must be numeric: \
                     set objective to binary:logistic or multi:softprob for class labels"
                )),
                (_, e) => e,
            })?;
            (None, Labels::Values(y))
        }
        // PREDICT's values, as classes so EVALUATE compares them with a 1 / -1 label.
        (Task::OutlierDetection, _) => (
            Some(vec![ClassLabel::Int(-1), ClassLabel::Int(1)]),
            Labels::None,
        ),
        _ => (None, Labels::None),
    };
    let objective = settle_objective(est, &mut resolved, classes.as_deref())?;
    if let (Some(c), Some(l)) = (&classes, label) {
        check_class_count(est, &resolved, objective, c, &l.name)?;
    }
    if let Some(old) = warm_start {
        attrs::check_same(est.name(), &old.attrs, &resolved, est.shape_attrs())?;
    }
    let validation = match options.validation {
        Some((vf, vl)) => {
            let vector = (est == Estimator::TimeSeriesRnn)
                .then(|| (resolved.usize("model.n_out"), est.name()));
            Some(encode_validation(
                &encoder,
                vf,
                vl,
                classes.as_deref(),
                vector,
            )?)
        }
        None => None,
    };
    let monitor = Monitor {
        valid: validation.as_ref(),
        metrics: monitor_metrics(est, task, &options.metrics)?,
        history: Default::default(),
    };
    let warm_body = warm_start.map(|m| &m.body);
    let forest_warm = match warm_body {
        Some(Body::Forest(m)) => Some(m),
        _ => None,
    };
    let train_forest = |binned: &crate::binning::Binned, progress: &mut dyn FnMut(&str)| {
        Forest::train_binned(
            binned,
            &labels,
            &resolved,
            Forest::is_forest(est),
            forest_warm,
            progress,
        )
        .map(Body::Forest)
    };
    let body = match encoded {
        Encoded::Binned(binned) => train_forest(&binned, progress)?,
        Encoded::Matrix(x) => {
            if est.dnn_flavor().is_some() {
                let warm = match warm_body {
                    Some(Body::Dnn(m)) => Some(m),
                    _ => None,
                };
                let wide_deep = if est.is_wide_deep() {
                    Some(wide_deep_inputs(&encoder, &options.column_groups)?)
                } else {
                    None
                };
                let embeddings = crate::embedding::resolve(
                    &options.embeddings,
                    &encoder.column_ranges(),
                    wide_deep.as_ref().map(|w| w.deep.as_slice()),
                )?;
                let setup = DnnSetup {
                    estimator: est.name(),
                    flavor: est.dnn_flavor().unwrap_or(&crate::dnn::CANNED),
                    wide_deep,
                    embeddings,
                };
                Body::Dnn(Mlp::train(
                    &x,
                    &labels,
                    &mut resolved,
                    &setup,
                    warm,
                    &monitor,
                    progress,
                )?)
            } else if let Some(objective) = objective {
                let warm = match warm_body {
                    Some(Body::Gbdt(m)) => Some(m),
                    _ => None,
                };
                let params = if est.is_boosted_trees() {
                    GbdtParams::boosted_trees(&resolved, objective)
                } else {
                    let booster = est.booster(&resolved).unwrap_or_default();
                    GbdtParams::xgboost(est.name(), &resolved, objective, booster)?
                };
                Body::Gbdt(Gbdt::train(
                    &x,
                    &labels,
                    &params,
                    warm,
                    &monitor,
                    est.name(),
                    progress,
                )?)
            } else {
                match est {
                    Estimator::LinearClassifier | Estimator::LinearRegressor => {
                        let warm = match warm_body {
                            Some(Body::Linear(m)) => Some(m),
                            _ => None,
                        };
                        Body::Linear(Linear::train(
                            &x, &labels, &resolved, warm, &monitor, progress,
                        )?)
                    }
                    Estimator::KMeans => {
                        let warm = match warm_body {
                            Some(Body::KMeans(m)) => Some(m),
                            _ => None,
                        };
                        Body::KMeans(KMeans::train(&x, &resolved, warm, progress)?)
                    }
                    Estimator::DeepEmbeddingCluster => {
                        Body::Dec(Dec::train(&x, &resolved, &monitor, progress)?)
                    }
                    Estimator::OneClassSvm => {
                        Body::OneClassSvm(OneClassSvm::train(&x, &resolved, progress)?)
                    }
                    Estimator::TimeSeriesRnn => {
                        check_numeric(est, features)?;
                        let Labels::Values(y) = &labels else {
                            return Err(ModelError::InvalidLabel(format!(
                                "{} needs a label of model.n_out numbers per row",
                                est.name()
                            )));
                        };
                        Body::Rnn(Rnn::train(&x, y, &mut resolved, &monitor, progress)?)
                    }
                    Estimator::ScoreCard => {
                        let bad: Vec<bool> = match &labels {
                            Labels::Classes { y, .. } => y.iter().map(|c| *c == 1).collect(),
                            _ => Vec::new(),
                        };
                        // Two classes (checked above): the second is "bad".
                        let name = label.map_or("label", |l| l.name.as_str());
                        let class = |i: usize| {
                            classes
                                .as_ref()
                                .and_then(|c| c.get(i))
                                .map_or_else(String::new, |c| format!("{name} = {c}"))
                        };
                        Body::ScoreCard(ScoreCard::train(
                            est.name(),
                            &encoder.select(features)?,
                            &bad,
                            (&class(0), &class(1)),
                            &resolved,
                            &monitor,
                            progress,
                        )?)
                    }
                    _ => train_forest(&Forest::bin_matrix(&x, &resolved), progress)?,
                }
            }
        }
    };
    let model = TrainedModel {
        estimator: est,
        attrs: resolved.values().clone(),
        encoder,
        label: label.map(|l| l.name.clone()),
        classes,
        body,
        auto: None,
    };
    // The same check loading applies: a model that trained must also save and load.
    if !model.check() {
        return Err(ModelError::Training(format!(
            "{} produced non-finite parameters (the optimization diverged); \
             lower the learning rate or scale the features",
            est.name()
        )));
    }
    Ok((model, monitor.history.into_inner()))
}

/// A training set as the model reads it.
enum Encoded {
    Matrix(Matrix),
    /// Tree models' bins (see [`Forest::bin`]).
    Binned(crate::binning::Binned),
}

/// The boosting objective: given, or what the estimator implies (`XGBClassifier`:
/// `binary:logistic` for two classes, else `multi:softprob`, as XGBoost's scikit-learn
/// model picks; TensorFlow's boosted trees likewise). Recorded in the attributes of the
/// `xgboost.*` estimators. `None` for estimators that are not boosting.
fn settle_objective(
    est: Estimator,
    attrs: &mut Resolved,
    classes: Option<&[ClassLabel]>,
) -> Result<Option<Objective>> {
    let by_classes = |k: usize| {
        if k == 2 {
            Objective::BinaryLogistic
        } else {
            Objective::MultiSoftprob
        }
    };
    if est.is_boosted_trees() {
        return Ok(Some(
            classes.map_or(Objective::SquaredError, |c| by_classes(c.len())),
        ));
    }
    let Some(booster) = est.booster(attrs) else {
        return Ok(None);
    };
    let given = attrs.opt_str("objective").map(Objective::from_name);
    let objective = match (est, given) {
        (Estimator::XgbClassifier, Some(o)) if !o.is_classification() => {
            return Err(ModelError::InvalidAttribute {
                estimator: est.name().to_string(),
                name: "objective".into(),
                expected:
                    "a classification objective (binary:logistic, multi:softmax, multi:softprob); \
                           use xgboost.XGBRegressor for regression"
                        .into(),
                got: objective_name(o).into(),
            });
        }
        (Estimator::XgbRegressor, Some(o)) if o.is_classification() => {
            return Err(ModelError::InvalidAttribute {
                estimator: est.name().to_string(),
                name: "objective".into(),
                expected: "a regression objective (reg:squarederror); use xgboost.XGBClassifier \
                           for classes"
                    .into(),
                got: objective_name(o).into(),
            });
        }
        (_, Some(o)) => o,
        (Estimator::XgbClassifier, None) => by_classes(classes.map_or(2, <[_]>::len)),
        (_, None) => Objective::SquaredError,
    };
    attrs.set(
        "objective",
        AttrValue::Str(
            attrs
                .opt_str("objective")
                .unwrap_or(objective_name(objective))
                .to_string(),
        ),
    );
    let booster_name = match booster {
        Booster::Gbtree => "gbtree",
        Booster::Gblinear => "gblinear",
        Booster::Dart => "dart",
    };
    attrs.set("booster", AttrValue::Str(booster_name.into()));
    Ok(Some(objective))
}

/// ARIMAWithSTLDecomposition: a date column and the label, no encoded matrix. The
/// encoder only records the date column, so PREDICT finds it by name.
fn train_arima(
    est: Estimator,
    mut resolved: Resolved,
    features: &[Column],
    label: Option<&LabelColumn>,
    options: &TrainOptions<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(TrainedModel, TrainingHistory)> {
    if let Some(old) = options.warm_start {
        check_warm_start(est, old, features)?;
    }
    let Some(label) = label else {
        return Err(ModelError::InvalidLabel(format!(
            "{} needs a label: add LABEL <column> (the values) to the TO TRAIN statement",
            est.name()
        )));
    };
    let body = Arima::train(features, label, &mut resolved, progress)?;
    let model = TrainedModel {
        estimator: est,
        attrs: resolved.values().clone(),
        encoder: FeatureEncoder::fit(features, false)?,
        label: Some(label.name.clone()),
        classes: None,
        body: Body::Arima(body),
        auto: None,
    };
    if !model.check() {
        return Err(ModelError::Training(format!(
            "{} produced non-finite parameters; check the values for outliers",
            est.name()
        )));
    }
    Ok((model, TrainingHistory::default()))
}

/// The encoded columns each part of wide and deep reads, from `COLUMN ... FOR` groups.
fn wide_deep_inputs(
    encoder: &FeatureEncoder,
    groups: &[(String, Vec<String>)],
) -> Result<WideDeepInputs> {
    let ranges = encoder.column_ranges();
    let all: Vec<usize> = (0..encoder.width()).collect();
    let is_default = |input: &str| input.eq_ignore_ascii_case("feature_columns");
    if groups.iter().all(|(input, _)| is_default(input)) {
        return Ok(WideDeepInputs {
            deep: all.clone(),
            wide: all,
        });
    }
    let (mut deep, mut wide) = (Vec::new(), Vec::new());
    for (input, columns) in groups {
        let (to_wide, to_deep) = match input.to_ascii_lowercase().as_str() {
            "linear_feature_columns" => (true, false),
            "dnn_feature_columns" => (false, true),
            // Columns listed without FOR feed both parts.
            "feature_columns" => (true, true),
            _ => {
                return Err(ModelError::InvalidData(format!(
                    "COLUMN ... FOR {input}: a wide and deep model has the inputs {}",
                    WIDE_DEEP_INPUTS.join(" and ")
                )));
            }
        };
        for c in columns {
            let range = ranges
                .iter()
                .find(|(n, _)| *n == c)
                .or_else(|| ranges.iter().find(|(n, _)| n.eq_ignore_ascii_case(c)))
                .map(|(_, r)| r.clone())
                .ok_or_else(|| {
                    ModelError::InvalidData(format!(
                        "COLUMN {c} FOR {input}: no feature column is named {c}"
                    ))
                })?;
            if to_wide {
                wide.extend(range.clone());
            }
            if to_deep {
                deep.extend(range);
            }
        }
    }
    deep.sort_unstable();
    deep.dedup();
    wide.sort_unstable();
    wide.dedup();
    if deep.is_empty() && wide.is_empty() {
        return Err(ModelError::InvalidData(
            "wide and deep needs columns FOR linear_feature_columns or dnn_feature_columns".into(),
        ));
    }
    Ok(WideDeepInputs { deep, wide })
}

/// A model that reads its input as a window of numbers (RNNBasedTimeSeriesModel): a
/// string column would become category codes, which no window holds.
fn check_numeric(est: Estimator, features: &[Column]) -> Result<()> {
    for c in features {
        if let Some(r) = c.iter().position(|v| matches!(v, Some(FeatureRef::Str(_)))) {
            return Err(ModelError::InvalidData(format!(
                "{} reads numeric windows, but column '{}' holds a string at row {}; select \
                 numeric columns (or CAST them)",
                est.name(),
                c.name,
                r + 1
            )));
        }
    }
    Ok(())
}

/// The held-out rows encoded like the training rows; `vector`: the label holds that
/// many numbers per row (a forecaster's, named for messages).
fn encode_validation(
    encoder: &FeatureEncoder,
    features: &[Column],
    label: &LabelColumn,
    classes: Option<&[ClassLabel]>,
    vector: Option<(usize, &str)>,
) -> Result<Validation> {
    let context = |e: ModelError| match e {
        ModelError::MissingColumn { name, expected } => ModelError::InvalidData(format!(
            "validation.select has no column '{name}'; it must select the training columns ({expected})"
        )),
        ModelError::InvalidLabel(msg) => {
            ModelError::InvalidLabel(format!("in the validation rows: {msg}"))
        }
        e => e,
    };
    let x = encoder.transform(features).map_err(context)?;
    check_label_rows(label, x.rows)?;
    let labels = match (classes, vector) {
        (Some(c), _) => Labels::Classes {
            y: encode_classes(label, c).map_err(context)?,
            n_classes: c.len(),
        },
        (None, Some((n, model))) => {
            Labels::Values(vector_target(label, n, model).map_err(context)?)
        }
        (None, None) => Labels::Values(numeric_target(label).map_err(context)?),
    };
    Ok(Validation { x, labels })
}

/// The metrics a neural model reports per epoch on the validation rows.
fn monitor_metrics(est: Estimator, task: Task, names: &[String]) -> Result<Vec<(String, Metric)>> {
    let kind = task_kind(task);
    if names.is_empty() {
        return Ok(match task {
            Task::Classification => vec![("accuracy".into(), Metric::Accuracy)],
            Task::Regression => vec![("mse".into(), Metric::Mse)],
            Task::Clustering | Task::OutlierDetection => Vec::new(),
        });
    }
    names
        .iter()
        .map(|n| {
            metrics::lookup(n, kind)
                .map(|m| (n.trim().to_string(), m))
                .ok_or_else(|| unknown_metric(est.name(), n, kind))
        })
        .collect()
}

fn task_kind(task: Task) -> &'static str {
    match task {
        Task::Classification | Task::OutlierDetection => "classification",
        Task::Regression => "regression",
        Task::Clustering => "clustering",
    }
}

fn unknown_metric(estimator: &str, name: &str, kind: &str) -> ModelError {
    let mut valid = metrics::names(kind);
    if kind == "classification" {
        valid.push("KS (two classes)");
    }
    ModelError::UnknownMetric {
        estimator: estimator.to_string(),
        name: name.to_string(),
        valid: valid.join(", "),
    }
}

/// The Kolmogorov-Smirnov statistic's names: a score card's usual metric.
fn is_ks(name: &str) -> bool {
    ["KS", "ks_statistic", "kolmogorov_smirnov"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name.trim()))
}

fn check_warm_start(est: Estimator, old: &TrainedModel, features: &[Column]) -> Result<()> {
    if old.estimator != est {
        return Err(ModelError::WarmStart(format!(
            "the existing model is a {}, not a {}; train a new model without USING",
            old.estimator.name(),
            est.name()
        )));
    }
    if !est.supports_warm_start() {
        return Err(ModelError::WarmStart(format!(
            "{} cannot continue training an existing model; train without USING",
            est.name()
        )));
    }
    let trained = old.encoder.column_names();
    old.encoder.select(features).map_err(|e| match e {
        ModelError::MissingColumn { name, .. } => ModelError::WarmStart(format!(
            "the existing model was trained on columns {} but '{name}' is not in this SELECT",
            trained.join(", ")
        )),
        e => e,
    })?;
    if let Some(extra) = features
        .iter()
        .find(|c| !trained.iter().any(|t| t.eq_ignore_ascii_case(&c.name)))
    {
        return Err(ModelError::WarmStart(format!(
            "column '{}' was not among the existing model's columns ({}); select the same columns",
            extra.name,
            trained.join(", ")
        )));
    }
    Ok(())
}

fn check_label_rows(label: &LabelColumn, rows: usize) -> Result<()> {
    if label.len() != rows {
        return Err(ModelError::InvalidLabel(format!(
            "label column '{}' has {} rows but the features have {}",
            label.name,
            label.len(),
            rows
        )));
    }
    Ok(())
}

fn check_class_count(
    est: Estimator,
    attrs: &Resolved,
    objective: Option<Objective>,
    classes: &[ClassLabel],
    label: &str,
) -> Result<()> {
    let found = classes.len();
    if est == Estimator::ScoreCard && found != 2 {
        return Err(ModelError::InvalidLabel(format!(
            "{} needs a label of 2 classes (good, bad: the second is bad) but '{label}' has \
             {found} ({})",
            est.name(),
            list_classes(classes)
        )));
    }
    let too_many = |limit: i64, attr: &str| {
        ModelError::InvalidLabel(format!(
            "label column '{label}' has {found} distinct values ({}) but {attr} = {limit}; set {attr} = {found}",
            list_classes(classes)
        ))
    };
    if est.is_boosted_trees() || est.dnn_flavor().is_some() || est == Estimator::LinearClassifier {
        let n = attrs.int("model.n_classes");
        if found as i64 > n {
            return Err(too_many(n, "model.n_classes"));
        }
        return Ok(());
    }
    match objective {
        Some(Objective::BinaryLogistic) if found != 2 => Err(ModelError::InvalidLabel(format!(
            "objective binary:logistic needs 2 classes but label column '{label}' has {found} ({}); \
             use objective = \"multi:softprob\" with num_class = {found}",
            list_classes(classes)
        ))),
        Some(Objective::MultiSoftmax | Objective::MultiSoftprob) => {
            match attrs.opt_int("num_class") {
                Some(n) if found as i64 > n => Err(too_many(n, "num_class")),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Metric values by name, in the order asked for.
pub type Metrics = Vec<(String, f64)>;

impl TrainedModel {
    /// The estimator's canonical name (`DNNClassifier`, `xgboost.gbtree`, ...).
    pub fn estimator(&self) -> &'static str {
        self.estimator.name()
    }

    pub fn task(&self) -> Task {
        match (&self.body, &self.classes) {
            (Body::KMeans(_) | Body::Dec(_), _) => Task::Clustering,
            (Body::OneClassSvm(_), _) => Task::OutlierDetection,
            (_, Some(_)) => Task::Classification,
            (_, None) => Task::Regression,
        }
    }

    /// AutoClassifier / AutoRegressor: the candidates tried, their validation metric and
    /// the winner (whose estimator [`estimator`](Self::estimator) names). `None` for
    /// models trained directly.
    pub fn auto_search(&self) -> Option<&crate::AutoSearch> {
        self.auto.as_deref()
    }

    /// Every attribute in effect when the model was trained, defaults included.
    pub fn attributes(&self) -> &Attrs {
        &self.attrs
    }

    /// The feature columns, in training order; predict needs columns of these names.
    pub fn feature_names(&self) -> Vec<&str> {
        self.encoder.column_names()
    }

    /// The numeric columns the model sees (`color=red` for one-hot categories).
    pub fn encoded_feature_names(&self) -> Vec<String> {
        self.encoder.encoded_names()
    }

    /// The label column's name at training time (`None` for KMeans).
    pub fn label_name(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// A classifier's classes, in the order of [`predict_proba`](Self::predict_proba)'s columns.
    pub fn classes(&self) -> Option<&[ClassLabel]> {
        self.classes.as_deref()
    }

    fn encode(&self, features: &[Column]) -> Result<Matrix> {
        self.encoder.transform(features)
    }

    fn unsupported(&self, operation: &str, hint: &str) -> ModelError {
        ModelError::Unsupported {
            estimator: self.estimator().to_string(),
            operation: operation.to_string(),
            hint: hint.to_string(),
        }
    }

    fn proba_of(&self, x: &Matrix) -> Result<Vec<Vec<f64>>> {
        if self.classes.is_none() {
            return Err(self.unsupported("predict_proba", "the model is not a classifier"));
        }
        Ok(match &self.body {
            Body::Dnn(m) => m.predict_proba(x),
            Body::Linear(m) => m.predict_proba(x),
            Body::Gbdt(m) => m.predict_proba(x),
            Body::Forest(m) => m.predict_proba(x),
            Body::KMeans(_) | Body::Dec(_) => {
                return Err(
                    self.unsupported("predict_proba", "a clustering model predicts cluster ids")
                );
            }
            // A logistic of the decision value: it ranks rows as the decision function
            // does (AUC), but is not a calibrated probability.
            Body::OneClassSvm(m) => m
                .decision_function(x)
                .into_iter()
                .map(|v| {
                    let inlier = 1.0 / (1.0 + (-v).exp());
                    vec![1.0 - inlier, inlier]
                })
                .collect(),
            Body::ScoreCard(_) => {
                return Err(self.unsupported(
                    "probabilities of encoded rows",
                    "a score card bins the columns as they are",
                ));
            }
            Body::Rnn(_) | Body::Arima(_) => {
                return Err(self.unsupported("predict_proba", "the model forecasts numbers"));
            }
        })
    }

    /// Class probabilities of `features` (already encoded as `x`): a score card reads the
    /// columns themselves (its bins keep NULLs apart), other models the encoded matrix.
    fn proba_for(&self, features: &[Column], x: &Matrix) -> Result<Vec<Vec<f64>>> {
        match &self.body {
            Body::ScoreCard(m) => Ok(m
                .predict_bad(&self.encoder.select(features)?)?
                .into_iter()
                .map(|p| vec![1.0 - p, p])
                .collect()),
            _ => self.proba_of(x),
        }
    }

    /// What explanations measure per row: a classifier's class probabilities, a
    /// regressor's value (one column).
    pub(crate) fn outputs(&self, features: &[Column]) -> Result<Vec<Vec<f64>>> {
        self.outputs_of(&self.encode(features)?)
    }

    fn outputs_of(&self, x: &Matrix) -> Result<Vec<Vec<f64>>> {
        if let Body::Rnn(m) = &self.body {
            return Ok(m
                .predict(x)
                .chunks(m.n_out())
                .map(<[f64]>::to_vec)
                .collect());
        }
        if self.classes.is_some() {
            self.proba_of(x)
        } else {
            Ok(self.values_of(x)?.into_iter().map(|v| vec![v]).collect())
        }
    }

    fn values_of(&self, x: &Matrix) -> Result<Vec<f64>> {
        Ok(match &self.body {
            Body::Dnn(m) => m.predict_values(x),
            Body::Linear(m) => m.predict_values(x),
            Body::Gbdt(m) => m.predict_values(x),
            Body::Forest(m) => m.predict_values(x),
            Body::KMeans(_) | Body::Dec(_) => {
                return Err(
                    self.unsupported("regression", "a clustering model predicts cluster ids")
                );
            }
            Body::ScoreCard(_) => {
                return Err(self.unsupported("regression", "a score card is a classifier"));
            }
            Body::OneClassSvm(_) => {
                return Err(self.unsupported("regression", "OneClassSVM predicts 1 / -1"));
            }
            Body::Rnn(_) => {
                return Err(self.unsupported(
                    "one value per row",
                    "it forecasts model.n_out values per row",
                ));
            }
            Body::Arima(_) => {
                return Err(self.unsupported(
                    "values of encoded rows",
                    "it forecasts from each row's date; use PREDICT",
                ));
            }
        })
    }

    /// One prediction per row: the class (original label value), the number, or the
    /// cluster id.
    pub fn predict(&self, features: &[Column]) -> Result<Vec<Prediction>> {
        if let Body::Arima(m) = &self.body {
            return Ok(self
                .arima_forecasts(m, features)?
                .into_iter()
                .map(Prediction::Value)
                .collect());
        }
        let x = self.encode(features)?;
        match (&self.body, &self.classes) {
            (Body::KMeans(m), _) => {
                Ok(m.predict(&x).into_iter().map(Prediction::Cluster).collect())
            }
            (Body::Dec(m), _) => Ok(m.predict(&x).into_iter().map(Prediction::Cluster).collect()),
            (Body::Rnn(m), _) => Ok(m
                .predict(&x)
                .chunks(m.n_out())
                .map(|v| Prediction::Values(v.to_vec()))
                .collect()),
            // libsvm: 1 where the decision value is > 0, else -1.
            (Body::OneClassSvm(m), _) => Ok(m
                .decision_function(&x)
                .into_iter()
                .map(|v| Prediction::Class(ClassLabel::Int(if v > 0.0 { 1 } else { -1 })))
                .collect()),
            (_, Some(classes)) => Ok(self
                .proba_for(features, &x)?
                .iter()
                .map(|p| Prediction::Class(classes[argmax(p).min(classes.len() - 1)].clone()))
                .collect()),
            (_, None) => Ok(self
                .values_of(&x)?
                .into_iter()
                .map(Prediction::Value)
                .collect()),
        }
    }

    /// ARIMAWithSTLDecomposition's forecast for each row's date.
    fn arima_forecasts(&self, m: &Arima, features: &[Column]) -> Result<Vec<f64>> {
        let selected = self.encoder.select(features)?;
        let Some(column) = selected.first() else {
            return Err(ModelError::Corrupt("the model names no date column".into()));
        };
        m.predict(column)
    }

    /// `sqlflow_models.ARIMAWithSTLDecomposition`: the forecast TRAIN computed for
    /// `model.forecast_start..=model.forecast_end`, (date in `model.date_format`,
    /// value) per step. `None` for other models.
    pub fn forecast_table(&self) -> Option<Vec<(String, f64)>> {
        match &self.body {
            Body::Arima(m) => Some(m.forecast_table()),
            _ => None,
        }
    }

    /// The metrics EVALUATE reports when none are named, where the model has its own
    /// (ARIMAWithSTLDecomposition: MAE, MSE, MAPE); `None`: the task's defaults.
    pub fn default_metrics(&self) -> Option<&'static [&'static str]> {
        match &self.body {
            Body::Arima(_) => Some(crate::arima::EVALUATE_METRICS),
            _ => None,
        }
    }

    /// Class probabilities per row, columns in the order of [`classes`](Self::classes).
    pub fn predict_proba(&self, features: &[Column]) -> Result<Vec<Vec<f64>>> {
        let x = self.encode(features)?;
        self.proba_for(features, &x)
    }

    /// A score card's score per row (the sum of the points of the row's bins; higher is
    /// less risky). Other models: [`ModelError::Unsupported`].
    pub fn predict_scores(&self, features: &[Column]) -> Result<Vec<f64>> {
        match &self.body {
            Body::ScoreCard(m) => {
                // Encoding checks the columns' types as for every model.
                self.encode(features)?;
                m.scores(&self.encoder.select(features)?)
            }
            _ => Err(self.unsupported("scores", "only sqlflow_models.ScoreCard gives scores")),
        }
    }

    /// `sqlflow_models.OneClassSVM`'s decision function per row (scikit-learn's
    /// `decision_function`): Σ αᵢ K(svᵢ, x) − ρ, > 0 for inliers. Other models:
    /// [`ModelError::Unsupported`].
    pub fn decision_function(&self, features: &[Column]) -> Result<Vec<f64>> {
        match &self.body {
            Body::OneClassSvm(m) => Ok(m.decision_function(&self.encode(features)?)),
            _ => Err(self.unsupported(
                "decision_function",
                "only sqlflow_models.OneClassSVM has a decision function",
            )),
        }
    }

    /// A score card's card: per feature its bins, WoE, points and the feature's
    /// information value. `None` for other models.
    pub fn score_card(&self) -> Option<Vec<ScoreCardRow>> {
        match &self.body {
            Body::ScoreCard(m) => Some(m.rows()),
            _ => None,
        }
    }

    /// Metrics of the model on labelled rows, in request order, each under the name as
    /// given (trimmed). Names are matched case-insensitively and may be Keras'
    /// (`SparseCategoricalAccuracy`, `MeanAbsoluteError`, ...) or scikit-learn's
    /// (`accuracy_score`, `r2_score`, ...), see [`metrics::names`]; empty means
    /// `Accuracy`, `MSE` or `ARI`.
    pub fn evaluate(
        &self,
        features: &[Column],
        label: &LabelColumn,
        metric_names: &[&str],
    ) -> Result<Vec<(String, f64)>> {
        self.evaluate_with_proba(features, label, metric_names)
            .map(|(metrics, _)| metrics)
    }

    /// [`evaluate`](Self::evaluate), with a classifier's class probabilities on the rows
    /// (what its metrics were computed from), so a caller that also draws them (a
    /// confusion matrix, ROC curves) does not predict the rows a second time.
    pub fn evaluate_with_proba(
        &self,
        features: &[Column],
        label: &LabelColumn,
        metric_names: &[&str],
    ) -> Result<(Metrics, Option<Vec<Vec<f64>>>)> {
        let mut evaluation = self.evaluation(metric_names)?;
        evaluation.add(features, label)?;
        let done = evaluation.finish()?;
        Ok((done.metrics, done.classes.map(|(_, proba)| proba.to_rows())))
    }

    /// Feature importance, most important first (by absolute value):
    /// trees, forests and boosting: normalized total split gain per column;
    /// linear models: coefficients on standardized inputs per encoded column (signed for
    /// regression and two classes, mean |coefficient| over classes otherwise);
    /// DNNs: permutation importance on `features` (how far the predictions move when a
    /// column is shuffled; no label needed, see [`crate::explain`]). KMeans: unsupported.
    pub fn feature_importance(&self, features: &[Column]) -> Result<Vec<(String, f64)>> {
        let names = self.encoder.encoded_names();
        let width = self.encoder.width();
        let values = match &self.body {
            Body::Forest(m) => m.importance(width),
            Body::Gbdt(m) => m.importance(width),
            Body::Linear(m) => m.importance(),
            Body::Dnn(_) | Body::Rnn(_) => {
                return crate::explain::permutation_importance(self, features);
            }
            Body::Arima(_) => {
                return Err(self.unsupported(
                    "feature importance",
                    "its one input is the date; SHOW TRAIN lists the fitted coefficients' \
                     attributes and TRAIN's log the coefficients",
                ));
            }
            // A score card's features by information value.
            Body::ScoreCard(m) => return Ok(sort_importance(m.information_values())),
            Body::KMeans(_) | Body::Dec(_) => {
                return Err(self.unsupported(
                    "feature importance",
                    "a clustering model has no target to explain",
                ));
            }
            Body::OneClassSvm(_) => {
                return Err(self.unsupported(
                    "feature importance",
                    "a kernel one-class SVM has no per-feature weights; use PREDICT's \
                     decision_function",
                ));
            }
        };
        Ok(sort_importance(names.into_iter().zip(values).collect()))
    }

    /// Exact Tree SHAP values (shap's `TreeExplainer`, path-dependent perturbation) of
    /// every row of `features`, per encoded feature, with the expected value: forests
    /// and decision trees explain the prediction (a classifier's class probabilities,
    /// one output per class); boosted trees explain the margin (one output for
    /// regression and two classes, the log-odds of the second; one per class otherwise),
    /// as shap does for XGBoost. Each row's values plus the expected value give that
    /// output. Other models: unsupported.
    pub fn shap_values(&self, features: &[Column]) -> Result<crate::ShapValues> {
        let x = self.encode(features)?;
        let outputs = self.classes.as_ref().map_or(1, Vec::len);
        let count = x.rows.saturating_mul(x.cols).saturating_mul(outputs);
        if count > crate::shap::MAX_VALUES {
            return Err(ModelError::InvalidData(format!(
                "SHAP values of {} rows × {} features × {outputs} outputs are more than the {} \
                 one statement computes; explain a sample of the rows (a WHERE or LIMIT in the \
                 SELECT)",
                x.rows,
                x.cols,
                crate::shap::MAX_VALUES
            )));
        }
        let (values, expected) = match &self.body {
            Body::Forest(m) => m.shap(&x),
            Body::Gbdt(m) => m.shap(&x).ok_or_else(|| {
                self.unsupported(
                    "TreeExplainer",
                    "booster gblinear has no trees; leave USING out for its coefficients",
                )
            })?,
            _ => {
                return Err(self.unsupported(
                    "TreeExplainer",
                    "Tree SHAP needs trees, forests or boosted trees; leave USING out for this \
                     model's own importance",
                ));
            }
        };
        let class_names = || -> Vec<String> {
            self.classes
                .iter()
                .flatten()
                .map(|c| c.to_string())
                .collect()
        };
        let outputs = match (&self.body, expected.len()) {
            (Body::Gbdt(_), 1) if self.classes.is_some() => vec!["margin".to_string()],
            (_, 1) if self.classes.is_none() => vec!["value".to_string()],
            _ => class_names(),
        };
        let names = self.encoder.encoded_names();
        if names.len() != x.cols {
            return Err(ModelError::Corrupt(format!(
                "the model names {} encoded features but encodes {}",
                names.len(),
                x.cols
            )));
        }
        Ok(crate::ShapValues {
            features: names,
            outputs,
            expected_value: expected,
            values,
            rows: x.rows,
        })
    }

    /// Model-agnostic SHAP values (`USING KernelExplainer` / `DeepExplainer`; module
    /// `kernel_shap`): the sampling permutation estimate of the interventional Shapley
    /// values of every row of `features` per encoded feature, against a background of at
    /// most 100 of the rows (all of them when there are no more; else a sample seeded by
    /// `seed`). A classifier explains each class's probability, a regressor its value.
    /// About `nsamples` model evaluations per row (default `2F + 2048`); each row's
    /// values plus the expected value give the output. Tree models, KMeans, OneClassSVM
    /// and score cards: unsupported (trees have exact [`shap_values`](Self::shap_values)).
    pub fn sampled_shap_values(
        &self,
        features: &[Column],
        nsamples: Option<usize>,
        seed: u64,
    ) -> Result<crate::ShapValues> {
        if !matches!(self.body, Body::Dnn(_) | Body::Linear(_)) {
            return Err(self.unsupported(
                "KernelExplainer",
                "the model-agnostic estimate serves DNNs, linear and wide-and-deep models; \
                 use TreeExplainer for trees, or leave USING out",
            ));
        }
        let x = self.encode(features)?;
        let names = self.encoder.encoded_names();
        if names.len() != x.cols {
            return Err(ModelError::Corrupt(format!(
                "the model names {} encoded features but encodes {}",
                names.len(),
                x.cols
            )));
        }
        let outputs: Vec<String> = match &self.classes {
            Some(classes) => classes.iter().map(|c| c.to_string()).collect(),
            None => vec!["value".to_string()],
        };
        let eval = |m: &Matrix| self.outputs_of(m);
        let nsamples = nsamples.unwrap_or_else(|| crate::kernel_shap::default_nsamples(x.cols));
        let (values, expected) =
            crate::kernel_shap::sampling_shap(&x, outputs.len(), nsamples, seed, &eval)?;
        Ok(crate::ShapValues {
            features: names,
            outputs,
            expected_value: expected,
            values,
            rows: x.rows,
        })
    }

    /// Internal consistency of a loaded model, so damaged bytes fail at load, not later.
    pub(crate) fn check(&self) -> bool {
        let cols = self.encoder.width();
        let classes = self.classes.as_ref().map(Vec::len);
        let est = self.estimator;
        let one_hot = match &self.body {
            Body::Gbdt(m) => m.booster() == Booster::Gblinear,
            _ => {
                est.dnn_flavor().is_some()
                    || matches!(
                        est,
                        Estimator::LinearClassifier
                            | Estimator::LinearRegressor
                            | Estimator::KMeans
                            | Estimator::OneClassSvm
                            | Estimator::DeepEmbeddingCluster
                    )
            }
        };
        if !self.encoder.check()
            || self.encoder.one_hot() != one_hot
            || self
                .auto
                .as_ref()
                .is_some_and(|a| a.winner >= a.trials.len())
        {
            return false;
        }
        if let Some(c) = &self.classes
            && (c.len() < 2 || c.windows(2).any(|w| w[0] >= w[1]))
        {
            return false;
        }
        let dnn_classifier = matches!(
            est,
            Estimator::DnnClassifier
                | Estimator::KerasDnnClassifier
                | Estimator::WideDeepClassifier
        );
        match &self.body {
            Body::Dnn(m) if est.dnn_flavor().is_some() => {
                m.check(cols, classes.unwrap_or(1)) && dnn_classifier == classes.is_some()
            }
            Body::Linear(m)
                if matches!(
                    est,
                    Estimator::LinearClassifier | Estimator::LinearRegressor
                ) =>
            {
                m.check(cols, classes) && m.is_logistic() == (est == Estimator::LinearClassifier)
            }
            Body::Gbdt(m) if est.xgboost_booster().is_some() || est.is_boosted_trees() => {
                m.check(cols, classes) && m.objective().is_classification() == classes.is_some()
            }
            Body::Forest(m)
                if matches!(
                    est,
                    Estimator::DecisionTreeClassifier | Estimator::RandomForestClassifier
                ) =>
            {
                classes.is_some_and(|k| m.check(cols, k))
            }
            Body::Forest(m)
                if matches!(
                    est,
                    Estimator::DecisionTreeRegressor | Estimator::RandomForestRegressor
                ) =>
            {
                classes.is_none() && m.check(cols, 1)
            }
            Body::KMeans(m) if est == Estimator::KMeans => classes.is_none() && m.check(cols),
            Body::Dec(m) if est == Estimator::DeepEmbeddingCluster => {
                classes.is_none() && m.check(cols)
            }
            Body::OneClassSvm(m) if est == Estimator::OneClassSvm => {
                self.classes.as_deref() == Some(&[ClassLabel::Int(-1), ClassLabel::Int(1)])
                    && m.check(cols)
            }
            Body::ScoreCard(m) if est == Estimator::ScoreCard => {
                classes.is_some_and(|k| k == 2) && m.check(&self.encoder.column_names())
            }
            Body::Rnn(m) if est == Estimator::TimeSeriesRnn => classes.is_none() && m.check(cols),
            Body::Arima(m) if est == Estimator::ArimaStl => {
                classes.is_none() && self.encoder.column_names().len() == 1 && m.check()
            }
            _ => false,
        }
    }

    /// Number of trees (forests), boosting rounds (boosting); `None` otherwise.
    pub fn n_iterations(&self) -> Option<usize> {
        match &self.body {
            Body::Forest(m) => Some(m.n_trees()),
            Body::Gbdt(m) => Some(m.rounds()),
            _ => None,
        }
    }
}

pub(crate) fn sort_importance(mut v: Vec<(String, f64)>) -> Vec<(String, f64)> {
    v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Each wanted regression metric of `pred` against `y`; NaN where it is undefined.
fn regression_metrics(
    wanted: Vec<(String, Option<metrics::Metric>)>,
    y: &[f64],
    pred: &[f64],
) -> Vec<(String, f64)> {
    wanted
        .into_iter()
        .map(|(n, metric)| {
            let v = metric
                .and_then(|m| m.regression(y, pred))
                .unwrap_or(f64::NAN);
            (n, v)
        })
        .collect()
}
