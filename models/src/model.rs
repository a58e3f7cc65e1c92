//! [`train`] and [`TrainedModel`]: the entry points the engine calls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attrs::{self, Attrs, Resolved};
use crate::data::{ClassLabel, Column, Feature, LabelColumn, Labels, Matrix, Prediction};
use crate::dnn::Mlp;
use crate::error::{ModelError, Result};
use crate::estimator::{Estimator, Task};
use crate::features::FeatureEncoder;
use crate::forest::Forest;
use crate::gbdt::{Gbdt, Objective};
use crate::kmeans::KMeans;
use crate::labels::{encode_classes, fit_classes, list_classes, numeric_target};
use crate::linear::Linear;
use crate::metrics;

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Body {
    Dnn(Mlp),
    Linear(Linear),
    Gbdt(Gbdt),
    Forest(Forest),
    KMeans(KMeans),
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
    let est = Estimator::from_name(estimator)?;
    let resolved = attrs::resolve(est.name(), est.specs(), attrs)?;
    let task = est.task(&resolved);
    if let Some(old) = warm_start {
        check_warm_start(est, &resolved, old, features)?;
    }
    let encoder = match warm_start {
        Some(old) => old.encoder.clone(),
        None => FeatureEncoder::fit(features, est.one_hot())?,
    };
    let x = encoder.transform(features)?;
    if x.rows == 0 {
        return Err(ModelError::InvalidData(
            "the training data has no rows; check the SELECT's WHERE clause".into(),
        ));
    }
    let label = match (task, label) {
        (Task::Clustering, _) => None,
        (_, Some(l)) => Some(l),
        (_, None) => {
            return Err(ModelError::InvalidLabel(format!(
                "{} needs a label: add LABEL <column> to the TO TRAIN statement",
                est.name()
            )));
        }
    };
    if let Some(l) = label {
        check_label_rows(l, x.rows)?;
    }
    let (classes, labels) = match (task, label) {
        (Task::Classification, Some(l)) => {
            let classes = match warm_start.and_then(|m| m.classes.clone()) {
                Some(c) => c,
                None => fit_classes(l)?,
            };
            check_class_count(est, &resolved, &classes, &l.name)?;
            let y = encode_classes(l, &classes)?;
            let n_classes = classes.len();
            (Some(classes), Labels::Classes { y, n_classes })
        }
        (Task::Regression, Some(l)) => {
            let y = numeric_target(l).map_err(|e| match (est, e) {
                (Estimator::XgboostGbtree, ModelError::InvalidLabel(msg)) => {
                    ModelError::InvalidLabel(format!(
                        "{msg}; with objective reg:squarederror the label must be numeric: \
                     set objective to binary:logistic or multi:softprob for class labels"
                    ))
                }
                (_, e) => e,
            })?;
            (None, Labels::Values(y))
        }
        _ => (None, Labels::None),
    };
    let warm_body = warm_start.map(|m| &m.body);
    let body = match est {
        Estimator::DnnClassifier | Estimator::DnnRegressor => {
            let warm = match warm_body {
                Some(Body::Dnn(m)) => Some(m),
                _ => None,
            };
            Body::Dnn(Mlp::train(&x, &labels, &resolved, warm, progress)?)
        }
        Estimator::LinearClassifier | Estimator::LinearRegressor => {
            let warm = match warm_body {
                Some(Body::Linear(m)) => Some(m),
                _ => None,
            };
            Body::Linear(Linear::train(&x, &labels, &resolved, warm, progress)?)
        }
        Estimator::XgboostGbtree => {
            let warm = match warm_body {
                Some(Body::Gbdt(m)) => Some(m),
                _ => None,
            };
            Body::Gbdt(Gbdt::train(&x, &labels, &resolved, warm, progress)?)
        }
        Estimator::DecisionTreeClassifier
        | Estimator::DecisionTreeRegressor
        | Estimator::RandomForestClassifier
        | Estimator::RandomForestRegressor => {
            let forest = matches!(
                est,
                Estimator::RandomForestClassifier | Estimator::RandomForestRegressor
            );
            let warm = match warm_body {
                Some(Body::Forest(m)) => Some(m),
                _ => None,
            };
            Body::Forest(Forest::train(
                &x, &labels, &resolved, forest, warm, progress,
            )?)
        }
        Estimator::KMeans => {
            let warm = match warm_body {
                Some(Body::KMeans(m)) => Some(m),
                _ => None,
            };
            Body::KMeans(KMeans::train(&x, &resolved, warm, progress)?)
        }
    };
    let model = TrainedModel {
        estimator: est,
        attrs: resolved.values().clone(),
        encoder,
        label: label.map(|l| l.name.clone()),
        classes,
        body,
    };
    // The same check loading applies: a model that trained must also save and load.
    if !model.check() {
        return Err(ModelError::Training(format!(
            "{} produced non-finite parameters (the optimization diverged); \
             lower the learning rate or scale the features",
            est.name()
        )));
    }
    Ok(model)
}

fn check_warm_start(
    est: Estimator,
    resolved: &Resolved,
    old: &TrainedModel,
    features: &[Column],
) -> Result<()> {
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
    attrs::check_same(est.name(), &old.attrs, resolved, est.shape_attrs())?;
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
    if label.values.len() != rows {
        return Err(ModelError::InvalidLabel(format!(
            "label column '{}' has {} rows but the features have {}",
            label.name,
            label.values.len(),
            rows
        )));
    }
    Ok(())
}

fn check_class_count(
    est: Estimator,
    attrs: &Resolved,
    classes: &[ClassLabel],
    label: &str,
) -> Result<()> {
    let found = classes.len();
    let too_many = |limit: i64, attr: &str| {
        ModelError::InvalidLabel(format!(
            "label column '{label}' has {found} distinct values ({}) but {attr} = {limit}; set {attr} = {found}",
            list_classes(classes)
        ))
    };
    match est {
        Estimator::DnnClassifier | Estimator::LinearClassifier => {
            let n = attrs.int("model.n_classes");
            if found as i64 > n {
                return Err(too_many(n, "model.n_classes"));
            }
        }
        Estimator::XgboostGbtree => match Objective::from_name(attrs.str("objective")) {
            Objective::BinaryLogistic if found != 2 => {
                return Err(ModelError::InvalidLabel(format!(
                    "objective binary:logistic needs 2 classes but label column '{label}' has {found} ({}); \
                     use objective = \"multi:softprob\" with num_class = {found}",
                    list_classes(classes)
                )));
            }
            Objective::MultiSoftmax | Objective::MultiSoftprob => {
                if let Some(n) = attrs.opt_int("num_class")
                    && found as i64 > n
                {
                    return Err(too_many(n, "num_class"));
                }
            }
            _ => {}
        },
        _ => {}
    }
    Ok(())
}

/// Majority class per row.
fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

impl TrainedModel {
    /// The estimator's canonical name (`DNNClassifier`, `xgboost.gbtree`, ...).
    pub fn estimator(&self) -> &'static str {
        self.estimator.name()
    }

    pub fn task(&self) -> Task {
        match (&self.body, &self.classes) {
            (Body::KMeans(_), _) => Task::Clustering,
            (_, Some(_)) => Task::Classification,
            (_, None) => Task::Regression,
        }
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
            Body::KMeans(_) => {
                return Err(self.unsupported("predict_proba", "KMeans predicts cluster ids"));
            }
        })
    }

    fn values_of(&self, x: &Matrix) -> Result<Vec<f64>> {
        Ok(match &self.body {
            Body::Dnn(m) => m.predict_values(x),
            Body::Linear(m) => m.predict_values(x),
            Body::Gbdt(m) => m.predict_values(x),
            Body::Forest(m) => m.predict_values(x),
            Body::KMeans(_) => {
                return Err(self.unsupported("regression", "KMeans predicts cluster ids"));
            }
        })
    }

    /// One prediction per row: the class (original label value), the number, or the
    /// cluster id.
    pub fn predict(&self, features: &[Column]) -> Result<Vec<Prediction>> {
        let x = self.encode(features)?;
        match (&self.body, &self.classes) {
            (Body::KMeans(m), _) => {
                Ok(m.predict(&x).into_iter().map(Prediction::Cluster).collect())
            }
            (_, Some(classes)) => Ok(self
                .proba_of(&x)?
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

    /// Class probabilities per row, columns in the order of [`classes`](Self::classes).
    pub fn predict_proba(&self, features: &[Column]) -> Result<Vec<Vec<f64>>> {
        let x = self.encode(features)?;
        self.proba_of(&x)
    }

    /// Metrics of the model on labelled rows (names case-insensitive; empty = the
    /// default: Accuracy, MSE or ARI). Returns (canonical name, value) in request order.
    pub fn evaluate(
        &self,
        features: &[Column],
        label: &LabelColumn,
        metric_names: &[&str],
    ) -> Result<Vec<(String, f64)>> {
        let (valid, default): (&[&'static str], &str) = match self.task() {
            Task::Classification => (metrics::CLASSIFICATION_METRICS, "Accuracy"),
            Task::Regression => (metrics::REGRESSION_METRICS, "MSE"),
            Task::Clustering => (metrics::CLUSTERING_METRICS, "ARI"),
        };
        let requested: Vec<&str> = if metric_names.is_empty() {
            vec![default]
        } else {
            metric_names.to_vec()
        };
        let names = requested
            .iter()
            .map(|m| {
                metrics::canonical(m, valid).ok_or_else(|| ModelError::UnknownMetric {
                    estimator: self.estimator().to_string(),
                    name: m.to_string(),
                    valid: valid.join(", "),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let x = self.encode(features)?;
        check_label_rows(label, x.rows)?;
        match (&self.body, &self.classes) {
            (Body::KMeans(m), _) => {
                let truth = cluster_truth(label)?;
                let ari = metrics::adjusted_rand_index(&truth, &m.predict(&x));
                Ok(names.iter().map(|n| (n.to_string(), ari)).collect())
            }
            (_, Some(classes)) => {
                let y = encode_classes(label, classes)?;
                let proba = self.proba_of(&x)?;
                let pred: Vec<usize> = proba.iter().map(|p| argmax(p)).collect();
                let k = classes.len();
                names
                    .iter()
                    .map(|&n| {
                        let v = match n {
                            "Accuracy" => metrics::accuracy(&y, &pred),
                            "Precision" => metrics::precision(&y, &pred, k),
                            "Recall" => metrics::recall(&y, &pred, k),
                            "F1" => metrics::f1(&y, &pred, k),
                            _ => metrics::auc(&y, &proba, k).ok_or_else(|| {
                                ModelError::InvalidLabel(format!(
                                    "AUC needs rows of at least two classes in '{}'; evaluate on more rows",
                                    label.name
                                ))
                            })?,
                        };
                        Ok((n.to_string(), v))
                    })
                    .collect()
            }
            (_, None) => {
                let y = numeric_target(label)?;
                let pred = self.values_of(&x)?;
                Ok(names
                    .iter()
                    .map(|&n| {
                        let v = match n {
                            "MSE" => metrics::mse(&y, &pred),
                            "MAE" => metrics::mae(&y, &pred),
                            _ => metrics::r2(&y, &pred),
                        };
                        (n.to_string(), v)
                    })
                    .collect())
            }
        }
    }

    /// Feature importance, most important first (by absolute value):
    /// trees, forests and boosting: normalized total split gain per column;
    /// linear models: coefficients on standardized inputs per encoded column (signed for
    /// regression and two classes, mean |coefficient| over classes otherwise);
    /// DNNs: permutation importance (the drop in accuracy or R2 when a column is
    /// shuffled; needs `features` and `label`). KMeans: unsupported.
    pub fn feature_importance(
        &self,
        features: &[Column],
        label: Option<&LabelColumn>,
    ) -> Result<Vec<(String, f64)>> {
        let names = self.encoder.encoded_names();
        let width = self.encoder.width();
        let values = match &self.body {
            Body::Forest(m) => m.importance(width),
            Body::Gbdt(m) => m.importance(width),
            Body::Linear(m) => m.importance(),
            Body::Dnn(_) => {
                let label = label.ok_or_else(|| {
                    self.unsupported(
                        "feature importance without a label",
                        "permutation importance compares predictions with the label; pass the label column",
                    )
                })?;
                return crate::explain::permutation_importance(self, features, label);
            }
            Body::KMeans(_) => {
                return Err(self.unsupported(
                    "feature importance",
                    "a clustering model has no target to explain",
                ));
            }
        };
        Ok(sort_importance(names.into_iter().zip(values).collect()))
    }

    /// Internal consistency of a loaded model, so damaged bytes fail at load, not later.
    pub(crate) fn check(&self) -> bool {
        let cols = self.encoder.width();
        let classes = self.classes.as_ref().map(Vec::len);
        if !self.encoder.check() || self.encoder.one_hot() != self.estimator.one_hot() {
            return false;
        }
        if let Some(c) = &self.classes
            && (c.len() < 2 || c.windows(2).any(|w| w[0] >= w[1]))
        {
            return false;
        }
        match (&self.body, self.estimator) {
            (Body::Dnn(m), Estimator::DnnClassifier | Estimator::DnnRegressor) => {
                m.check(cols, classes.unwrap_or(1))
                    && (self.estimator == Estimator::DnnClassifier) == classes.is_some()
            }
            (Body::Linear(m), Estimator::LinearClassifier | Estimator::LinearRegressor) => {
                m.check(cols, classes)
                    && m.is_logistic() == (self.estimator == Estimator::LinearClassifier)
            }
            (Body::Gbdt(m), Estimator::XgboostGbtree) => {
                m.check(cols, classes) && m.objective().is_classification() == classes.is_some()
            }
            (
                Body::Forest(m),
                Estimator::DecisionTreeClassifier | Estimator::RandomForestClassifier,
            ) => classes.is_some_and(|k| m.check(cols, k)),
            (
                Body::Forest(m),
                Estimator::DecisionTreeRegressor | Estimator::RandomForestRegressor,
            ) => classes.is_none() && m.check(cols, 1),
            (Body::KMeans(m), Estimator::KMeans) => classes.is_none() && m.check(cols),
            _ => false,
        }
    }

    /// Number of trees (forests), boosting rounds (xgboost.gbtree); `None` otherwise.
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

/// Label values as cluster indices for ARI (any ints or strings, no NULLs).
fn cluster_truth(label: &LabelColumn) -> Result<Vec<usize>> {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    label
        .values
        .iter()
        .enumerate()
        .map(|(r, v)| {
            let key = match v {
                Some(Feature::Num(x)) => format!("n{x}"),
                Some(Feature::Str(s)) => format!("s{s}"),
                None => {
                    return Err(ModelError::InvalidLabel(format!(
                        "label column '{}' is NULL at row {}; filter such rows out",
                        label.name,
                        r + 1
                    )));
                }
            };
            let next = ids.len();
            Ok(*ids.entry(key).or_insert(next))
        })
        .collect()
}
