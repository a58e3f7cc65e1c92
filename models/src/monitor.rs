//! What training reports while it runs: one line per epoch or boosting round, with
//! metrics on the held-out rows when `validation.select` gave some, thinned out so a
//! long training does not flood the job's log.

use std::cell::RefCell;

use crate::data::{Labels, Matrix};
use crate::metrics::Metric;

/// What a training measured as it went, for its loss and metric curves: the training
/// loss per epoch (neural models) or L-BFGS iteration (linear classifiers), the
/// evaluation metrics per boosting round, and the validation metrics where
/// `validation.select` gave rows. Empty for models trained without iterations (trees,
/// forests, k-means, least squares).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingHistory {
    /// What one step is: `epoch`, `round` or `iteration` (empty when nothing was recorded).
    pub step: &'static str,
    /// One series per quantity and row set, in the order they were first recorded.
    pub series: Vec<HistorySeries>,
}

/// One measured quantity on one set of rows, step by step.
#[derive(Debug, Clone, PartialEq)]
pub struct HistorySeries {
    /// `loss`, or a metric under the name the user wrote (`accuracy`, `mlogloss`).
    pub metric: String,
    /// Which rows: `train` or `validate`.
    pub set: &'static str,
    /// (step, value): epochs and iterations count from 1, boosting rounds from 0 (as
    /// XGBoost numbers them). A long training keeps an evenly thinned subset, at most
    /// [`MAX_HISTORY_POINTS`] points. Values may be NaN where a metric is undefined.
    pub points: Vec<(u64, f64)>,
    /// Record every `stride`-th step (doubles whenever the series is thinned).
    stride: u64,
    seen: u64,
}

/// Points kept per series: thinned by half past this.
pub const MAX_HISTORY_POINTS: usize = 10_000;

impl TrainingHistory {
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }

    pub(crate) fn record(
        &mut self,
        step: &'static str,
        metric: &str,
        set: &'static str,
        at: u64,
        value: f64,
    ) {
        self.step = step;
        let idx = match self
            .series
            .iter()
            .position(|s| s.metric == metric && s.set == set)
        {
            Some(i) => i,
            None => {
                self.series.push(HistorySeries {
                    metric: metric.to_string(),
                    set,
                    points: Vec::new(),
                    stride: 1,
                    seen: 0,
                });
                self.series.len() - 1
            }
        };
        let s = &mut self.series[idx];
        let due = s.seen.is_multiple_of(s.stride);
        s.seen += 1;
        if !due {
            return;
        }
        s.points.push((at, value));
        if s.points.len() >= MAX_HISTORY_POINTS {
            let mut i = 0;
            s.points.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            s.stride *= 2;
        }
    }
}

/// Held-out rows, encoded like the training rows.
pub(crate) struct Validation {
    pub x: Matrix,
    pub labels: Labels,
}

/// The validation rows and the metrics to report on them (each under the name the user
/// wrote in `validation.metrics`).
#[derive(Default)]
pub(crate) struct Monitor<'a> {
    pub valid: Option<&'a Validation>,
    pub metrics: Vec<(String, Metric)>,
    /// What the training measured, for [`crate::train_with_history`].
    pub history: RefCell<TrainingHistory>,
}

/// At most this many progress lines per training, plus the last one.
const MAX_LINES: usize = 50;

/// Which of `total` epochs or rounds get a line: all of them up to [`MAX_LINES`], else
/// every k-th so that about that many do, and always the first and the last.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Throttle {
    total: usize,
    every: usize,
}

impl Throttle {
    pub fn new(total: usize) -> Throttle {
        Throttle {
            total,
            every: total.div_ceil(MAX_LINES).max(1),
        }
    }

    /// With XGBoost's `verbose_eval = k`: every k-th line (and the last).
    pub fn every(total: usize, every: usize) -> Throttle {
        Throttle {
            total,
            every: every.max(1),
        }
    }

    /// `i` counts from 0.
    pub fn due(&self, i: usize) -> bool {
        i.is_multiple_of(self.every) || i + 1 == self.total
    }
}

impl Monitor<'_> {
    /// Records a value for the training's curves.
    pub fn record(&self, step: &'static str, metric: &str, set: &'static str, at: u64, value: f64) {
        self.history
            .borrow_mut()
            .record(step, metric, set, at, value);
    }

    /// `name value` pairs of the metrics on the validation rows, given the model's
    /// probabilities (classifiers) or values (regressors) for them; each is also recorded
    /// as epoch `epoch` of the validation curves.
    pub fn report(&self, epoch: u64, proba: Option<&[Vec<f64>]>, values: Option<&[f64]>) -> String {
        let Some(valid) = self.valid else {
            return String::new();
        };
        let mut parts = Vec::with_capacity(self.metrics.len());
        for (name, metric) in &self.metrics {
            let v = match (&valid.labels, proba, values) {
                (Labels::Classes { y, n_classes }, Some(p), _) => {
                    let pred: Vec<usize> = p.iter().map(|row| argmax(row)).collect();
                    metric.classification(y, p, &pred, *n_classes)
                }
                (Labels::Values(y), _, Some(v)) => metric.regression(y, v),
                _ => None,
            };
            self.record("epoch", name, "validate", epoch, v.unwrap_or(f64::NAN));
            match v {
                Some(v) => parts.push(format!("validate {name} {v:.4}")),
                None => parts.push(format!("validate {name} undefined")),
            }
        }
        parts.join(", ")
    }
}

pub(crate) fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_history_is_thinned_evenly() {
        let mut h = TrainingHistory::default();
        assert!(h.is_empty());
        let n = 5 * MAX_HISTORY_POINTS as u64;
        for i in 0..n {
            h.record("epoch", "loss", "train", i + 1, i as f64);
        }
        let points = &h.series[0].points;
        assert!(points.len() < MAX_HISTORY_POINTS && points.len() > MAX_HISTORY_POINTS / 4);
        assert_eq!(points[0], (1, 0.0));
        let gaps: Vec<u64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(
            gaps.iter().all(|&g| g == gaps[0]),
            "uneven: {:?}",
            &gaps[..10]
        );
        assert!(points.last().unwrap().0 > n - 2 * gaps[0]);
    }

    #[test]
    fn throttle_bounds_the_lines() {
        let lines = |total: usize| (0..total).filter(|&i| Throttle::new(total).due(i)).count();
        assert_eq!(lines(10), 10);
        assert_eq!(lines(50), 50);
        assert!(lines(51) <= 27, "{}", lines(51));
        assert!((50..=51).contains(&lines(1000)), "{}", lines(1000));
        let t = Throttle::new(1001);
        assert!(t.due(0) && t.due(1000));
        let k = Throttle::every(10, 3);
        let due: Vec<usize> = (0..10).filter(|&i| k.due(i)).collect();
        assert_eq!(due, vec![0, 3, 6, 9]);
    }
}
