//! XGBoost's evaluation metrics (`eval_metric`), as its evaluation lines name them.

use super::{boost::sigmoid, params::Objective};
use crate::{data::Labels, dnn::softmax_rows, metrics, threads};

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
    /// Means are summed over fixed row blocks on up to `threads` threads, blocks in
    /// order: the same value for any thread count.
    pub(super) fn compute(
        self,
        objective: Objective,
        groups: usize,
        margins: &[f64],
        labels: &Labels,
        threads: usize,
    ) -> f64 {
        let mean = |n: usize, per_row: &(dyn Fn(usize) -> f64 + Sync)| {
            threads::sum_blocks(threads, n, ROW_BLOCK, |rows| rows.map(per_row).sum())
                / n.max(1) as f64
        };
        match labels {
            Labels::Values(y) => {
                let n = y.len();
                let (p, t) = (|r: usize| margins[r], |r: usize| y[r]);
                match self {
                    EvalMetric::Rmse => mean(n, &|r| (p(r) - t(r)) * (p(r) - t(r))).sqrt(),
                    EvalMetric::Rmsle => mean(n, &|r| {
                        let d = p(r).max(-1.0 + 1e-16).ln_1p() - t(r).ln_1p();
                        d * d
                    })
                    .sqrt(),
                    EvalMetric::Mae => mean(n, &|r| (p(r) - t(r)).abs()),
                    _ => mean(n, &|r| ((t(r) - p(r)) / t(r)).abs()),
                }
            }
            Labels::Classes { y, n_classes } if objective == Objective::BinaryLogistic => {
                let n = y.len();
                let p = |r: usize| sigmoid(margins[r]);
                let t = |r: usize| if y[r] == 1 { 1.0 } else { 0.0 };
                match self {
                    EvalMetric::Rmse => mean(n, &|r| (p(r) - t(r)).powi(2)).sqrt(),
                    EvalMetric::Mae => mean(n, &|r| (p(r) - t(r)).abs()),
                    EvalMetric::LogLoss => mean(n, &|r| {
                        let pr = p(r).clamp(1e-16, 1.0 - 1e-16);
                        -(t(r) * pr.ln() + (1.0 - t(r)) * (1.0 - pr).ln())
                    }),
                    EvalMetric::Error(th) => {
                        mean(n, &|r| f64::from(u8::from((p(r) > th) != (y[r] == 1))))
                    }
                    EvalMetric::Auc => {
                        let p: Vec<f64> = (0..n).map(p).collect();
                        let pos: Vec<bool> = y.iter().map(|&c| c == 1).collect();
                        metrics::binary_auc(&pos, &p).unwrap_or(f64::NAN)
                    }
                    _ => {
                        let proba: Vec<Vec<f64>> = (0..n).map(|r| vec![1.0 - p(r), p(r)]).collect();
                        metrics::average_precision(y, &proba, *n_classes).unwrap_or(f64::NAN)
                    }
                }
            }
            Labels::Classes { y, n_classes } => {
                let g = groups.max(1);
                match self {
                    // Per row on the stack: one softmax, no allocation.
                    EvalMetric::MError | EvalMetric::MLogLoss => {
                        let per_row = |r: usize| {
                            let m = &margins[r * g..(r + 1) * g];
                            let max = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            let sum: f64 = m.iter().map(|v| (v - max).exp()).sum();
                            if self == EvalMetric::MLogLoss {
                                let q = m.get(y[r]).map_or(0.0, |v| (v - max).exp() / sum);
                                -q.clamp(1e-15, 1.0).ln()
                            } else {
                                // The first largest probability, as argmax over them.
                                let mut best = (0, f64::NEG_INFINITY);
                                for (c, v) in m.iter().enumerate() {
                                    let q = (v - max).exp() / sum;
                                    if q > best.1 {
                                        best = (c, q);
                                    }
                                }
                                f64::from(u8::from(best.0 != y[r]))
                            }
                        };
                        mean(y.len(), &per_row)
                    }
                    _ => multi_auc(y, &softmax_rows(margins, groups), *n_classes),
                }
            }
            Labels::None => f64::NAN,
        }
    }
}

/// Rows per block of a metric's sum.
const ROW_BLOCK: usize = 8192;

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
