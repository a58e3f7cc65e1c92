//! ARIMA(p, d, q) with a constant, by conditional sum of squares.
//!
//! The series is differenced d times; on the differenced series w the model is
//! `w_t − μ = Σ φ_i (w_{t−i} − μ) + e_t + Σ θ_j e_{t−j}` (the constant is the mean of the
//! differenced series: a drift when d > 0, as statsmodels' old `arima_model.ARIMA` that
//! SQLFlow's model called fitted it). The residuals are computed from t = p on with the
//! earlier ones taken as 0, and their sum of squares (CSS) is minimized.
//!
//! The search starts at Hannan and Rissanen's estimate (a long autoregression gives
//! residuals; w is regressed on its lags and the lagged residuals), repaired if it is
//! not stationary or not invertible, and is refined by Nelder–Mead in a space where every
//! point is a stationary and invertible model: the coefficients are written as partial
//! autocorrelations `tanh(x)` in (−1, 1) and turned into coefficients by the
//! Durbin–Levinson recursion (Jones 1980, what statsmodels' `transform_params` does).

use serde::{Deserialize, Serialize};

/// A fitted ARIMA model and the end of the series it was fitted on, which its
/// forecasts continue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArimaFit {
    /// (p, d, q).
    pub order: [usize; 3],
    /// μ, the mean of the d-times differenced series.
    pub constant: f64,
    /// φ_1..φ_p.
    pub ar: Vec<f64>,
    /// θ_1..θ_q.
    pub ma: Vec<f64>,
    /// The residual variance: CSS over the number of residuals summed.
    pub sigma2: f64,
    /// Nelder–Mead iterations taken.
    pub iterations: usize,
    /// The last value of each differencing level 0..d (level 0: the series itself).
    levels: Vec<f64>,
    /// The last p values of the differenced series, oldest first.
    w_tail: Vec<f64>,
    /// The last q residuals, oldest first.
    e_tail: Vec<f64>,
}

/// The fewest differenced values minus p a fit needs per parameter it estimates.
pub const ROWS_PER_PARAMETER: usize = 2;
/// The fewest residuals a fit sums, whatever the order.
pub const MIN_RESIDUALS: usize = 8;

/// Rows `fit` needs for an order: d + p + max(2·(p + q + 1), 8).
pub fn rows_needed(order: [usize; 3]) -> usize {
    let [p, d, q] = order;
    d + p + (ROWS_PER_PARAMETER * (p + q + 1)).max(MIN_RESIDUALS)
}

fn difference(x: &[f64]) -> Vec<f64> {
    x.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Partial autocorrelations in (−1, 1) → the coefficients of a stationary AR
/// polynomial (Durbin–Levinson).
fn pacf_to_coefficients(r: &[f64]) -> Vec<f64> {
    let mut a: Vec<f64> = Vec::with_capacity(r.len());
    for (k, &rk) in r.iter().enumerate() {
        let mut next: Vec<f64> = (0..k).map(|j| a[j] - rk * a[k - 1 - j]).collect();
        next.push(rk);
        a = next;
    }
    a
}

/// The inverse of [`pacf_to_coefficients`]; `None` when the polynomial is not
/// stationary (a partial autocorrelation reaches ±1).
fn coefficients_to_pacf(coefs: &[f64]) -> Option<Vec<f64>> {
    let mut a = coefs.to_vec();
    let mut r = vec![0.0; a.len()];
    for k in (0..a.len()).rev() {
        let rk = a[k];
        if !rk.is_finite() || rk.abs() >= 0.9999 {
            return None;
        }
        r[k] = rk;
        let scale = 1.0 - rk * rk;
        a = (0..k).map(|j| (a[j] + rk * a[k - 1 - j]) / scale).collect();
    }
    Some(r)
}

/// Partial autocorrelations of `coefs`, shrinking them toward zero (φ_i·0.9^i, a
/// root's modulus grows each time) until they are stationary.
fn repaired_pacf(coefs: &[f64]) -> Vec<f64> {
    let mut c = coefs.to_vec();
    for _ in 0..200 {
        if let Some(r) = coefficients_to_pacf(&c) {
            return r;
        }
        let mut f = 1.0;
        for v in &mut c {
            f *= 0.9;
            *v *= f;
        }
    }
    vec![0.0; coefs.len()]
}

/// Solves `a x = b` (n × n, row-major) by Gaussian elimination with partial pivoting;
/// `None` when singular.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[pivot * n + col].abs() < 1e-12 {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(pivot * n + k, col * n + k);
            }
            b.swap(pivot, col);
        }
        for row in col + 1..n {
            let f = a[row * n + col] / a[col * n + col];
            if f != 0.0 {
                for k in col..n {
                    a[row * n + k] -= f * a[col * n + k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row * n + row];
    }
    Some(x)
}

/// Least squares of `y` on the rows of `x` (each `k` wide), with a tiny ridge so that
/// collinear lags still give an answer.
fn least_squares(x: &[Vec<f64>], y: &[f64], k: usize) -> Vec<f64> {
    if k == 0 {
        return Vec::new();
    }
    let mut xtx = vec![0.0; k * k];
    let mut xty = vec![0.0; k];
    for (row, &target) in x.iter().zip(y) {
        for i in 0..k {
            xty[i] += row[i] * target;
            for j in 0..k {
                xtx[i * k + j] += row[i] * row[j];
            }
        }
    }
    let trace: f64 = (0..k).map(|i| xtx[i * k + i]).sum::<f64>() / k as f64;
    for i in 0..k {
        xtx[i * k + i] += 1e-8 * trace.max(1e-12);
    }
    solve(xtx, xty, k).unwrap_or_else(|| vec![0.0; k])
}

/// Hannan–Rissanen on the demeaned series `z`: (φ, θ).
fn hannan_rissanen(z: &[f64], p: usize, q: usize) -> (Vec<f64>, Vec<f64>) {
    let n = z.len();
    let lagged = |start: usize, k: usize, src: &[f64]| -> Vec<Vec<f64>> {
        (start..n)
            .map(|t| (1..=k).map(|i| src[t - i]).collect())
            .collect()
    };
    if q == 0 {
        let phi = least_squares(&lagged(p, p, z), &z[p..], p);
        return (phi, Vec::new());
    }
    // The long autoregression: long enough to whiten an ARMA, short enough to estimate.
    let m = (p + q)
        .max((10.0 * (n as f64).log10()).ceil() as usize)
        .min(n / 3)
        .max(1);
    let long = least_squares(&lagged(m, m, z), &z[m..], m);
    let mut e = vec![0.0; n];
    for t in m..n {
        e[t] = z[t] - (1..=m).map(|i| long[i - 1] * z[t - i]).sum::<f64>();
    }
    let start = (m + q).max(p);
    if start >= n {
        return (vec![0.0; p], vec![0.0; q]);
    }
    let rows: Vec<Vec<f64>> = (start..n)
        .map(|t| {
            (1..=p)
                .map(|i| z[t - i])
                .chain((1..=q).map(|j| e[t - j]))
                .collect()
        })
        .collect();
    let beta = least_squares(&rows, &z[start..], p + q);
    (beta[..p].to_vec(), beta[p..].to_vec())
}

/// The model's parameters as the optimizer sees them: μ = mean + spread·x₀, then the
/// AR and MA partial autocorrelations as tanh(x).
struct Space<'a> {
    w: &'a [f64],
    p: usize,
    mean: f64,
    spread: f64,
}

struct Params {
    mu: f64,
    ar: Vec<f64>,
    ma: Vec<f64>,
}

impl Space<'_> {
    fn params(&self, x: &[f64]) -> Params {
        let ar_r: Vec<f64> = x[1..1 + self.p].iter().map(|v| v.tanh()).collect();
        let ma_r: Vec<f64> = x[1 + self.p..].iter().map(|v| v.tanh()).collect();
        Params {
            mu: self.mean + self.spread * x[0],
            ar: pacf_to_coefficients(&ar_r),
            // θ(z) = 1 + Σθ_j z^j is invertible when −θ are stationary AR coefficients.
            ma: pacf_to_coefficients(&ma_r)
                .into_iter()
                .map(|v| -v)
                .collect(),
        }
    }

    fn point(&self, mu: f64, ar: &[f64], ma: &[f64]) -> Vec<f64> {
        let neg: Vec<f64> = ma.iter().map(|v| -v).collect();
        std::iter::once((mu - self.mean) / self.spread)
            .chain(repaired_pacf(ar).into_iter().map(f64::atanh))
            .chain(repaired_pacf(&neg).into_iter().map(f64::atanh))
            .collect()
    }

    fn css(&self, x: &[f64]) -> f64 {
        residuals(self.w, &self.params(x)).0
    }
}

/// (CSS, residuals from t = p on, earlier ones 0).
fn residuals(w: &[f64], params: &Params) -> (f64, Vec<f64>) {
    let (p, q) = (params.ar.len(), params.ma.len());
    let mut e = vec![0.0; w.len()];
    let mut css = 0.0;
    for t in p..w.len() {
        let mut v = w[t] - params.mu;
        for i in 1..=p {
            v -= params.ar[i - 1] * (w[t - i] - params.mu);
        }
        for j in 1..=q.min(t) {
            v -= params.ma[j - 1] * e[t - j];
        }
        e[t] = v;
        css += v * v;
    }
    (css, e)
}

/// Nelder–Mead (reflection 1, expansion 2, contraction ½, shrink ½) from `x0`, steps
/// `step` along each axis; restarted from its best point until a restart no longer
/// improves. Returns the best point and the iterations taken.
fn nelder_mead(
    f: &dyn Fn(&[f64]) -> f64,
    x0: Vec<f64>,
    step: f64,
    max_iter: usize,
    report: &mut dyn FnMut(usize, f64),
) -> (Vec<f64>, usize) {
    let dim = x0.len();
    let mut best = x0;
    let mut best_f = f(&best);
    let mut total = 0usize;
    for _restart in 0..5 {
        let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(dim + 1);
        simplex.push((best.clone(), best_f));
        for i in 0..dim {
            let mut v = best.clone();
            v[i] += step;
            let fv = f(&v);
            simplex.push((v, fv));
        }
        let start_f = best_f;
        let mut iter = 0;
        while iter < max_iter {
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let (lo, hi) = (simplex[0].1, simplex[dim].1);
            if (hi - lo).abs() <= 1e-12 * (lo.abs() + 1e-12) {
                break;
            }
            iter += 1;
            if (total + iter).is_multiple_of(200) {
                report(total + iter, lo);
            }
            let centroid: Vec<f64> = (0..dim)
                .map(|k| simplex[..dim].iter().map(|(v, _)| v[k]).sum::<f64>() / dim as f64)
                .collect();
            let along = |t: f64| -> Vec<f64> {
                (0..dim)
                    .map(|k| centroid[k] + t * (simplex[dim].0[k] - centroid[k]))
                    .collect()
            };
            let xr = along(-1.0);
            let fr = f(&xr);
            if fr < simplex[0].1 {
                let xe = along(-2.0);
                let fe = f(&xe);
                simplex[dim] = if fe < fr { (xe, fe) } else { (xr, fr) };
            } else if fr < simplex[dim - 1].1 {
                simplex[dim] = (xr, fr);
            } else {
                let (xc, fc) = if fr < simplex[dim].1 {
                    let xc = along(-0.5);
                    let fc = f(&xc);
                    (xc, fc)
                } else {
                    let xc = along(0.5);
                    let fc = f(&xc);
                    (xc, fc)
                };
                if fc < simplex[dim].1.min(fr) {
                    simplex[dim] = (xc, fc);
                } else {
                    let x0 = simplex[0].0.clone();
                    for (v, fv) in simplex.iter_mut().skip(1) {
                        for k in 0..dim {
                            v[k] = x0[k] + 0.5 * (v[k] - x0[k]);
                        }
                        *fv = f(v);
                    }
                }
            }
        }
        total += iter;
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (x, fx) = simplex.swap_remove(0);
        let improved = fx < start_f - 1e-10 * start_f.abs();
        if fx <= best_f {
            best = x;
            best_f = fx;
        }
        if !improved {
            break;
        }
    }
    (best, total)
}

impl ArimaFit {
    /// Fits ARIMA(`order`) with a constant to `y` (finite values; at least
    /// [`rows_needed`] of them, which the caller checks). `progress` receives the CSS as
    /// the optimizer goes.
    pub fn fit(y: &[f64], order: [usize; 3], progress: &mut dyn FnMut(&str)) -> ArimaFit {
        let [p, d, q] = order;
        let mut levels = Vec::with_capacity(d);
        let mut w = y.to_vec();
        for _ in 0..d {
            levels.push(w.last().copied().unwrap_or(0.0));
            w = difference(&w);
        }
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n.max(1.0);
        let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1.0);
        let spread = if var.sqrt() > 0.0 && var.is_finite() {
            var.sqrt()
        } else {
            1.0
        };
        let z: Vec<f64> = w.iter().map(|v| v - mean).collect();
        let (phi0, theta0) = hannan_rissanen(&z, p, q);
        let space = Space {
            w: &w,
            p,
            mean,
            spread,
        };
        let x0 = space.point(mean, &phi0, &theta0);
        let start = space.params(&x0);
        progress(&format!(
            "ARIMA({p},{d},{q}): Hannan–Rissanen start ar=[{}] ma=[{}], CSS {:.6}",
            join(&start.ar),
            join(&start.ma),
            space.css(&x0)
        ));
        let f = |x: &[f64]| {
            let v = space.css(x);
            if v.is_finite() { v } else { f64::MAX }
        };
        let max_iter = 400 * (1 + p + q);
        let mut report = |it: usize, css: f64| {
            progress(&format!("ARIMA({p},{d},{q}): iteration {it}, CSS {css:.6}"));
        };
        let (x, iterations) = nelder_mead(&f, x0, 0.1, max_iter, &mut report);
        let params = space.params(&x);
        let (css, e) = residuals(&w, &params);
        let summed = w.len().saturating_sub(p).max(1);
        let w_tail = w[w.len().saturating_sub(p)..].to_vec();
        let e_tail = e[e.len().saturating_sub(q)..].to_vec();
        let fit = ArimaFit {
            order,
            constant: params.mu,
            ar: params.ar,
            ma: params.ma,
            sigma2: css / summed as f64,
            iterations,
            levels,
            w_tail,
            e_tail,
        };
        progress(&format!(
            "ARIMA({p},{d},{q}): {iterations} iterations, const {:.6}, ar=[{}], ma=[{}], \
             sigma2 {:.6e}",
            fit.constant,
            join(&fit.ar),
            join(&fit.ma),
            fit.sigma2
        ));
        fit
    }

    /// The next `h` values of the series (levels, differencing undone): the recursion
    /// with future residuals at 0.
    pub fn forecast(&self, h: usize) -> Vec<f64> {
        let [p, d, q] = self.order;
        let mut w: Vec<f64> = self.w_tail.clone();
        let mut e: Vec<f64> = self.e_tail.clone();
        let w0 = w.len();
        for _ in 0..h {
            let t = w.len();
            let mut v = self.constant;
            for i in 1..=p.min(t) {
                v += self.ar[i - 1] * (w[t - i] - self.constant);
            }
            let te = e.len();
            for j in 1..=q.min(te) {
                v += self.ma[j - 1] * e[te - j];
            }
            w.push(v);
            e.push(0.0);
        }
        let mut out = w.split_off(w0);
        // Undo the differencing: each level is the running sum of the one below,
        // continuing from that level's last value.
        for level in (0..d).rev() {
            let mut last = self.levels[level];
            for v in &mut out {
                last += *v;
                *v = last;
            }
        }
        out
    }

    /// Finite parameters of the shapes the order says.
    pub(crate) fn check(&self) -> bool {
        let [p, d, q] = self.order;
        self.ar.len() == p
            && self.ma.len() == q
            && self.levels.len() == d
            && self.w_tail.len() <= p
            && self.e_tail.len() <= q
            && [self.constant, self.sigma2]
                .iter()
                .chain(&self.ar)
                .chain(&self.ma)
                .chain(&self.levels)
                .chain(&self.w_tail)
                .chain(&self.e_tail)
                .all(|v| v.is_finite())
    }
}

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.6}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacf_round_trip() {
        let r = [0.5, -0.3, 0.2];
        let a = pacf_to_coefficients(&r);
        let back = coefficients_to_pacf(&a).unwrap_or_default();
        for (x, y) in r.iter().zip(&back) {
            assert!((x - y).abs() < 1e-12);
        }
        // φ = 1.2: not stationary; repaired into (−1, 1).
        assert!(coefficients_to_pacf(&[1.2]).is_none());
        assert!(repaired_pacf(&[1.2])[0].abs() < 1.0);
    }

    #[test]
    fn forecast_undoes_differencing() {
        let y: Vec<f64> = (0..40).map(|i| 2.0 * i as f64 + 1.0).collect();
        let fit = ArimaFit::fit(&y, [0, 1, 0], &mut |_| {});
        let f = fit.forecast(3);
        assert!(
            (f[0] - 81.0).abs() < 1e-6 && (f[2] - 85.0).abs() < 1e-6,
            "{f:?}"
        );
    }
}
