//! XGBoost's evaluation metrics (`eval_metric`), as its evaluation lines name them.

use super::{boost::sigmoid, params::Objective};
use crate::{data::Labels, dnn::softmax_rows, metrics, monitor::argmax};

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
    pub(super) fn parse(name: &str) -> Option<EvalMetric> {
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
    pub(super) fn default_for(objective: Objective) -> (&'static str, EvalMetric) {
        match objective {
            Objective::SquaredError => ("rmse", EvalMetric::Rmse),
            Objective::BinaryLogistic => ("logloss", EvalMetric::LogLoss),
            _ => ("mlogloss", EvalMetric::MLogLoss),
        }
    }

    pub(super) fn higher_is_better(self) -> bool {
        matches!(self, EvalMetric::Auc | EvalMetric::AucPr)
    }

    pub(super) fn applies(self, objective: Objective) -> bool {
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
    pub(super) fn compute(
        self,
        objective: Objective,
        groups: usize,
        margins: &[f64],
        labels: &Labels,
    ) -> f64 {
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
