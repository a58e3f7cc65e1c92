//! `LinearClassifier` (logistic regression: sigmoid for two classes, softmax for more,
//! fitted by L-BFGS) and `LinearRegressor` (least squares, optional L2, solved exactly).
//! Inputs are standardized internally, so coefficients are comparable across features.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, DefaultValue, Resolved, spec};
use crate::data::{Labels, Matrix, Scaler};
use crate::dnn::softmax_in_place;
use crate::error::{ModelError, Result};
use crate::monitor::Monitor;
use crate::optim::{dot, lbfgs_traced, solve_spd};

pub(crate) const CLASSIFIER_SPECS: &[AttrSpec] = &[
    spec::int("model.n_classes", 2, 2),
    spec::non_negative("model.l2_reg", 0.0),
    spec::int("train.max_iter", 1, 100),
];

pub(crate) const REGRESSOR_SPECS: &[AttrSpec] = &[
    spec::non_negative("model.l2_reg", 0.0),
    // TensorFlow's multi-output regression; a SQL label column holds one number per row.
    AttrSpec {
        name: "model.label_dimension",
        aliases: &[],
        ty: AttrType::Int { min: 1, max: 1 },
        default: Some(DefaultValue::Int(1)),
    },
];

pub(crate) const SHAPE_ATTRS: &[&str] = &["model.n_classes"];

/// L-BFGS stops when no gradient component exceeds this (scikit-learn's default `tol`
/// for the same mean-loss objective).
const GRADIENT_TOL: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Linear {
    scaler: Scaler,
    /// `outputs × features`, row-major. One output for regression and for two classes.
    coef: Vec<f64>,
    intercept: Vec<f64>,
    outputs: usize,
    logistic: bool,
}

impl Linear {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        attrs: &Resolved,
        warm: Option<&Linear>,
        monitor: &Monitor<'_>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Linear> {
        let l2 = attrs.float("model.l2_reg");
        let scaler = warm.map_or_else(|| Scaler::fit(x), |w| w.scaler.clone());
        let xs = scaler.transform(x);
        match labels {
            Labels::Classes { y, n_classes } => {
                let outputs = if *n_classes == 2 { 1 } else { *n_classes };
                let d = x.cols;
                let mut params = vec![0.0; outputs * (d + 1)];
                if let Some(w) = warm {
                    if w.outputs != outputs || w.coef.len() != outputs * d {
                        return Err(ModelError::WarmStart(
                            "the existing model's classes or features differ from this data".into(),
                        ));
                    }
                    params[..outputs * d].copy_from_slice(&w.coef);
                    params[outputs * d..].copy_from_slice(&w.intercept);
                }
                let max_iter = attrs.usize("train.max_iter");
                let (loss, iters) = lbfgs_traced(
                    &mut params,
                    max_iter,
                    GRADIENT_TOL,
                    |p, g| logistic_loss(&xs, y, outputs, l2, p, g),
                    |iter, loss| monitor.record("iteration", "loss", "train", iter as u64, loss),
                );
                if !loss.is_finite() || params.iter().any(|v| !v.is_finite()) {
                    return Err(ModelError::Training(
                        "logistic regression diverged; set model.l2_reg > 0".into(),
                    ));
                }
                progress(&format!(
                    "L-BFGS stopped after {iters} iterations: loss (cross-entropy) {loss:.4}"
                ));
                let intercept = params.split_off(outputs * d);
                Ok(Linear {
                    scaler,
                    coef: params,
                    intercept,
                    outputs,
                    logistic: true,
                })
            }
            Labels::Values(y) => {
                // The exact solution does not depend on a starting point, so a warm start
                // keeps only the old model's encoding and scaling.
                let (coef, intercept) = least_squares(&xs, y, l2);
                let pred: Vec<f64> = (0..xs.rows)
                    .map(|r| dot(xs.row(r), &coef) + intercept)
                    .collect();
                let mse = crate::metrics::mse(y, &pred);
                if !mse.is_finite() {
                    return Err(ModelError::Training(
                        "least squares produced non-finite coefficients".into(),
                    ));
                }
                progress(&format!("least squares solved: training MSE {mse:.4}"));
                Ok(Linear {
                    scaler,
                    coef,
                    intercept: vec![intercept],
                    outputs: 1,
                    logistic: false,
                })
            }
            Labels::None => Err(ModelError::InvalidLabel(
                "a linear model needs a LABEL column".into(),
            )),
        }
    }

    fn margins(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let xs = self.scaler.transform(x);
        let d = xs.cols;
        (0..xs.rows)
            .map(|r| {
                (0..self.outputs)
                    .map(|k| dot(xs.row(r), &self.coef[k * d..(k + 1) * d]) + self.intercept[k])
                    .collect()
            })
            .collect()
    }

    pub fn predict_proba(&self, x: &Matrix) -> Vec<Vec<f64>> {
        self.margins(x)
            .into_iter()
            .map(|mut m| {
                if self.outputs == 1 {
                    let p = sigmoid(m[0]);
                    vec![1.0 - p, p]
                } else {
                    softmax_in_place(&mut m);
                    m
                }
            })
            .collect()
    }

    pub fn predict_values(&self, x: &Matrix) -> Vec<f64> {
        self.margins(x).into_iter().map(|m| m[0]).collect()
    }

    /// Coefficients on standardized inputs, per encoded column: signed for regression and
    /// two classes, the mean absolute value over classes otherwise.
    pub fn importance(&self) -> Vec<f64> {
        let d = self.scaler.mean.len();
        (0..d)
            .map(|j| {
                if self.outputs == 1 {
                    self.coef[j]
                } else {
                    (0..self.outputs)
                        .map(|k| self.coef[k * d + j].abs())
                        .sum::<f64>()
                        / self.outputs as f64
                }
            })
            .collect()
    }

    pub fn is_logistic(&self) -> bool {
        self.logistic
    }

    pub fn check(&self, cols: usize, classes: Option<usize>) -> bool {
        let outputs_ok = match classes {
            Some(2) => self.outputs == 1 && self.logistic,
            Some(k) => self.outputs == k && self.logistic,
            None => self.outputs == 1 && !self.logistic,
        };
        outputs_ok
            && self.scaler.check(cols)
            && self.coef.len() == self.outputs * cols
            && self.intercept.len() == self.outputs
            && self
                .coef
                .iter()
                .chain(&self.intercept)
                .all(|v| v.is_finite())
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Mean cross-entropy + l2/2·‖W‖² (intercepts unpenalized); writes the gradient.
fn logistic_loss(
    x: &Matrix,
    y: &[usize],
    outputs: usize,
    l2: f64,
    p: &[f64],
    g: &mut [f64],
) -> f64 {
    let d = x.cols;
    let n = x.rows as f64;
    let (w, b) = p.split_at(outputs * d);
    g.iter_mut().for_each(|v| *v = 0.0);
    let mut loss = 0.0;
    let mut z = vec![0.0; outputs];
    for r in 0..x.rows {
        let row = x.row(r);
        for k in 0..outputs {
            z[k] = dot(row, &w[k * d..(k + 1) * d]) + b[k];
        }
        if outputs == 1 {
            let t = if y[r] == 1 { 1.0 } else { 0.0 };
            // log(1 + e^z) - t·z, computed without overflow.
            loss += z[0].max(0.0) + (-z[0].abs()).exp().ln_1p() - t * z[0];
            z[0] = sigmoid(z[0]) - t;
        } else {
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            loss += lse - z[y[r]];
            for (k, zk) in z.iter_mut().enumerate() {
                *zk = (*zk - lse).exp() - if k == y[r] { 1.0 } else { 0.0 };
            }
        }
        let (gw, gb) = g.split_at_mut(outputs * d);
        for k in 0..outputs {
            let e = z[k];
            gw[k * d..(k + 1) * d]
                .iter_mut()
                .zip(row)
                .for_each(|(gi, xi)| *gi += e * xi);
            gb[k] += e;
        }
    }
    g.iter_mut().for_each(|v| *v /= n);
    let (gw, _) = g.split_at_mut(outputs * d);
    gw.iter_mut().zip(w).for_each(|(gi, wi)| *gi += l2 * wi);
    loss / n + 0.5 * l2 * dot(w, w)
}

/// Minimizes mean squared error/2 + l2/2·‖w‖² on standardized `x`: returns (w, intercept).
fn least_squares(x: &Matrix, y: &[f64], l2: f64) -> (Vec<f64>, f64) {
    let d = x.cols;
    let n = x.rows.max(1) as f64;
    let y_mean = y.iter().sum::<f64>() / n;
    // Standardized columns have mean 0, so centering y is enough to drop the intercept.
    let mut a = vec![0.0; d * d];
    let mut b = vec![0.0; d];
    for (r, yr) in y.iter().enumerate().take(x.rows) {
        let row = x.row(r);
        let t = yr - y_mean;
        for i in 0..d {
            b[i] += row[i] * t;
            let ai = &mut a[i * d..i * d + i + 1];
            ai.iter_mut()
                .zip(&row[..=i])
                .for_each(|(v, xj)| *v += row[i] * xj);
        }
    }
    for i in 0..d {
        for j in 0..i {
            a[j * d + i] = a[i * d + j];
        }
    }
    a.iter_mut().for_each(|v| *v /= n);
    b.iter_mut().for_each(|v| *v /= n);
    for i in 0..d {
        a[i * d + i] += l2;
    }
    (solve_spd(&a, &b, d), y_mean)
}
