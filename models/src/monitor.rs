//! What training reports while it runs: one line per epoch or boosting round, with
//! metrics on the held-out rows when `validation.select` gave some, thinned out so a
//! long training does not flood the job's log.

use crate::data::{Labels, Matrix};
use crate::metrics::Metric;

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
    /// `name value` pairs of the metrics on the validation rows, given the model's
    /// probabilities (classifiers) or values (regressors) for them.
    pub fn report(&self, proba: Option<&[Vec<f64>]>, values: Option<&[f64]>) -> String {
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
