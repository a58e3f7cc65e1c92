//! Metrics over labelled rows that arrive a batch at a time (EVALUATE streams its
//! rows): what the metrics need from each row is kept (the label as a class index or a
//! number, the prediction or the class probabilities), never the rows' features.

use std::collections::BTreeMap;

use super::{
    Body, Metrics, TrainedModel, check_label_rows, is_ks, regression_metrics, task_kind,
    unknown_metric,
};
use crate::data::{Column, FeatureRef, LabelColumn};
use crate::error::{ModelError, Result};
use crate::estimator::Task;
use crate::labels::{encode_classes, numeric_target, vector_target};
use crate::metrics::{self, FlatProba, Metric, ProbaRows};
use crate::monitor::argmax;
use crate::scorecard::ks_statistic;

/// A model's evaluation in progress: [`TrainedModel::evaluation`], then
/// [`add`](Self::add) per batch of rows, then [`finish`](Self::finish).
pub struct Evaluation<'m> {
    model: &'m TrainedModel,
    /// Each metric under the name as asked, and how it is computed (None: KS).
    wanted: Vec<(String, Option<Metric>)>,
    seen: Seen,
    /// The label column's name, for messages.
    label: String,
}

/// What the rows so far gave, per kind of model.
enum Seen {
    /// Each row's class probabilities end to end: a million rows of two classes are 16 MB
    /// this way, 56 MB as a vector per row.
    Classes { truth: Vec<usize>, proba: FlatProba },
    /// A label value's id is its first appearance's order, across batches.
    Clusters {
        ids: BTreeMap<String, usize>,
        truth: Vec<usize>,
        clusters: Vec<usize>,
    },
    /// Regression, the forecasters (every value of a vector label), ARIMA.
    Values { truth: Vec<f64>, pred: Vec<f64> },
}

/// What an evaluation gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The metrics, in request order.
    pub metrics: Metrics,
    /// For a classifier: each row's class (an index into
    /// [`TrainedModel::classes`]) and class probabilities, what the metrics were
    /// computed from.
    pub classes: Option<(Vec<usize>, FlatProba)>,
}

impl TrainedModel {
    /// Starts an evaluation with `metric_names` (see [`evaluate`](Self::evaluate)); an
    /// unknown name is an error before any row is read.
    pub fn evaluation(&self, metric_names: &[&str]) -> Result<Evaluation<'_>> {
        let task = self.task();
        let kind = task_kind(task);
        let default = match task {
            Task::Classification | Task::OutlierDetection => "Accuracy",
            Task::Regression => "MSE",
            Task::Clustering => "ARI",
        };
        let requested: Vec<&str> = match (&self.body, metric_names.is_empty()) {
            (Body::Arima(_), true) => crate::arima::EVALUATE_METRICS.to_vec(),
            (_, true) => vec![default],
            (_, false) => metric_names.to_vec(),
        };
        // KS (Kolmogorov-Smirnov, the score card's metric) for two classes; MAPE (as a
        // fraction, as scikit-learn's mean_absolute_percentage_error) for ARIMA; the
        // others by name.
        let two_classes = self.classes.as_ref().is_some_and(|c| c.len() == 2);
        let arima = matches!(self.body, Body::Arima(_));
        let wanted = requested
            .iter()
            .map(|m| {
                if two_classes && is_ks(m) {
                    return Ok((m.trim().to_string(), None));
                }
                if arima && m.trim().eq_ignore_ascii_case("MAPE") {
                    return Ok((m.trim().to_string(), Some(Metric::Mape)));
                }
                metrics::lookup(m, kind)
                    .map(|metric| (m.trim().to_string(), Some(metric)))
                    .ok_or_else(|| unknown_metric(self.estimator(), m, kind))
            })
            .collect::<Result<Vec<_>>>()?;
        let seen = match (&self.body, &self.classes) {
            (Body::KMeans(_) | Body::Dec(_), _) => Seen::Clusters {
                ids: BTreeMap::new(),
                truth: Vec::new(),
                clusters: Vec::new(),
            },
            (Body::Arima(_), _) | (_, None) => Seen::Values {
                truth: Vec::new(),
                pred: Vec::new(),
            },
            (_, Some(classes)) => Seen::Classes {
                truth: Vec::new(),
                proba: FlatProba::new(classes.len()),
            },
        };
        Ok(Evaluation {
            model: self,
            wanted,
            seen,
            label: String::new(),
        })
    }
}

impl Evaluation<'_> {
    /// Predicts a batch of rows and keeps what the metrics need of them. Row numbers in
    /// errors count within the batch.
    pub fn add(&mut self, features: &[Column], label: &LabelColumn) -> Result<()> {
        let model = self.model;
        if self.label.is_empty() {
            self.label.clone_from(&label.name);
        }
        if let Body::Arima(m) = &model.body {
            let pred = model.arima_forecasts(m, features)?;
            check_label_rows(label, pred.len())?;
            let y = numeric_target(label)?;
            if let Seen::Values { truth, pred: p } = &mut self.seen {
                truth.extend(y);
                p.extend(pred);
            }
            return Ok(());
        }
        let x = model.encode(features)?;
        check_label_rows(label, x.rows)?;
        match (&mut self.seen, &model.body) {
            (
                Seen::Clusters {
                    ids,
                    truth,
                    clusters,
                },
                body,
            ) => {
                truth.extend(cluster_ids(label, ids)?);
                clusters.extend(match body {
                    Body::KMeans(m) => m.predict(&x),
                    Body::Dec(m) => m.predict(&x),
                    _ => Vec::new(),
                });
            }
            (Seen::Classes { truth, proba }, _) => {
                let classes = model.classes.as_deref().unwrap_or_default();
                let y = encode_classes(label, classes).map_err(|e| match (&model.body, e) {
                    (Body::OneClassSvm(_), ModelError::InvalidLabel(msg)) => {
                        ModelError::InvalidLabel(format!(
                            "{msg}; {} is evaluated against a label of 1 (inlier) / -1 \
                             (outlier), the values its PREDICT writes",
                            model.estimator()
                        ))
                    }
                    (_, e) => e,
                })?;
                truth.extend(y);
                for row in model.proba_for(features, &x)? {
                    proba.push(&row);
                }
            }
            // Every forecast value against its label value, as Keras' metrics average
            // over the outputs.
            (Seen::Values { truth, pred }, Body::Rnn(m)) => {
                truth.extend(vector_target(label, m.n_out(), model.estimator())?);
                pred.extend(m.predict(&x));
            }
            (Seen::Values { truth, pred }, _) => {
                truth.extend(numeric_target(label)?);
                pred.extend(model.values_of(&x)?);
            }
        }
        Ok(())
    }

    /// The metrics over every row added.
    pub fn finish(self) -> Result<Evaluated> {
        match self.seen {
            Seen::Clusters {
                truth, clusters, ..
            } => {
                let ari = metrics::adjusted_rand_index(&truth, &clusters);
                Ok(Evaluated {
                    metrics: self.wanted.into_iter().map(|(n, _)| (n, ari)).collect(),
                    classes: None,
                })
            }
            Seen::Classes { truth, proba } => {
                let k = self.model.classes.as_ref().map_or(0, Vec::len);
                let pred: Vec<usize> = (0..proba.rows()).map(|i| argmax(proba.row(i))).collect();
                let metrics = self
                    .wanted
                    .into_iter()
                    .map(|(n, metric)| {
                        let v = match metric {
                            Some(metric) => metric.classification(&truth, &proba, &pred, k),
                            None => {
                                let positive: Vec<bool> = truth.iter().map(|c| *c == 1).collect();
                                let p1: Vec<f64> = (0..proba.rows())
                                    .map(|i| proba.row(i).get(1).copied().unwrap_or(0.0))
                                    .collect();
                                ks_statistic(&positive, &p1)
                            }
                        };
                        let v = v.ok_or_else(|| {
                            ModelError::InvalidLabel(format!(
                                "{n} needs rows of at least two classes in '{}'; evaluate on more rows",
                                self.label
                            ))
                        })?;
                        Ok((n, v))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Evaluated {
                    metrics,
                    classes: Some((truth, proba)),
                })
            }
            Seen::Values { truth, pred } => Ok(Evaluated {
                metrics: regression_metrics(self.wanted, &truth, &pred),
                classes: None,
            }),
        }
    }
}

/// Each row's label as a cluster id, ids kept in `ids` so batches agree.
fn cluster_ids(label: &LabelColumn, ids: &mut BTreeMap<String, usize>) -> Result<Vec<usize>> {
    label
        .iter()
        .enumerate()
        .map(|(r, v)| {
            let key = match v {
                Some(FeatureRef::Num(x)) => format!("n{x}"),
                Some(FeatureRef::Str(s)) => format!("s{s}"),
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
