//! Numerical building blocks: L-BFGS for smooth convex losses and a Cholesky solver.

/// Minimizes `f` (which returns the loss and writes the gradient) from `x`, in place.
/// Returns (final loss, iterations used).
#[cfg(test)]
pub(crate) fn lbfgs(
    x: &mut [f64],
    max_iter: usize,
    tol: f64,
    f: impl FnMut(&[f64], &mut [f64]) -> f64,
) -> (f64, usize) {
    lbfgs_traced(x, max_iter, tol, f, |_, _| {})
}

/// [`lbfgs`], telling `on_step` the loss at the start (iteration 0) and after each
/// iteration.
pub(crate) fn lbfgs_traced(
    x: &mut [f64],
    max_iter: usize,
    tol: f64,
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    mut on_step: impl FnMut(usize, f64),
) -> (f64, usize) {
    const HISTORY: usize = 10;
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut loss = f(x, &mut g);
    on_step(0, loss);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let (mut x_new, mut g_new, mut dir) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut alpha = [0.0; HISTORY];
    for iter in 0..max_iter {
        if max_abs(&g) < tol {
            return (loss, iter);
        }
        // Two-loop recursion: dir = -H·g.
        dir.iter_mut().zip(&g).for_each(|(d, gi)| *d = -gi);
        for i in (0..s_hist.len()).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &dir);
            axpy(-alpha[i], &y_hist[i], &mut dir);
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(y)) => dot(s, y) / dot(y, y).max(1e-300),
            _ => 1.0 / norm(&g).max(1e-12),
        };
        dir.iter_mut().for_each(|d| *d *= gamma);
        for i in 0..s_hist.len() {
            let beta = rho[i] * dot(&y_hist[i], &dir);
            axpy(alpha[i] - beta, &s_hist[i], &mut dir);
        }
        let mut slope = dot(&g, &dir);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            let g_norm = norm(&g).max(1e-12);
            dir.iter_mut().zip(&g).for_each(|(d, gi)| *d = -gi / g_norm);
            slope = dot(&g, &dir);
        }
        // Backtracking line search (Armijo).
        let mut step = 1.0;
        let mut accepted = false;
        let mut new_loss = loss;
        for _ in 0..40 {
            x_new
                .iter_mut()
                .zip(x.iter())
                .zip(&dir)
                .for_each(|((xn, xi), d)| *xn = xi + step * d);
            new_loss = f(&x_new, &mut g_new);
            if new_loss.is_finite() && new_loss <= loss + 1e-4 * step * slope {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            return (loss, iter);
        }
        let s: Vec<f64> = x_new.iter().zip(x.iter()).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        let improvement = loss - new_loss;
        loss = new_loss;
        on_step(iter + 1, loss);
        if sy > 1e-12 * norm(&s) * norm(&y) {
            if s_hist.len() == HISTORY {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            rho.push(1.0 / sy);
            s_hist.push(s);
            y_hist.push(y);
        }
        if improvement <= 1e-14 * loss.abs().max(1.0) {
            return (loss, iter + 1);
        }
    }
    (loss, max_iter)
}

/// Dot product, vectorizable (see [`sum_pairs`]).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    sum_pairs(a, b, |x, y| x * y)
}

/// Squared Euclidean distance, vectorizable like [`dot`].
pub(crate) fn dist2(a: &[f64], b: &[f64]) -> f64 {
    sum_pairs(a, b, |x, y| (x - y) * (x - y))
}

/// `Σ term(a[i], b[i])` with four independent accumulators, so the compiler can vectorize
/// it (a single running sum must be added in order). Deterministic: the order is fixed.
#[inline(always)]
fn sum_pairs(a: &[f64], b: &[f64], term: impl Fn(f64, f64) -> f64) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += term(x[i], y[i]);
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        sum += term(*x, *y);
    }
    sum
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += a * xi);
}

/// Solves `a·x = b` for a symmetric positive semi-definite `a` (n×n, row-major).
/// A singular system (e.g. collinear columns) gets a tiny ridge, which picks a
/// small-norm solution instead of failing.
pub(crate) fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let trace: f64 = (0..n).map(|i| a[i * n + i]).sum::<f64>().max(1e-300);
    let mut jitter = 0.0;
    for _ in 0..12 {
        if let Some(x) = cholesky_solve(a, b, n, jitter) {
            return x;
        }
        jitter = if jitter == 0.0 {
            1e-12 * trace / n as f64
        } else {
            jitter * 10.0
        };
    }
    vec![0.0; n]
}

fn cholesky_solve(a: &[f64], b: &[f64], n: usize, jitter: f64) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    let diag_tol = 1e-10 * (0..n).map(|i| a[i * n + i]).fold(0.0, f64::max).max(1e-300);
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j] + if i == j { jitter } else { 0.0 };
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= diag_tol {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lbfgs_finds_quadratic_minimum() {
        let mut x = vec![5.0, -3.0];
        let (loss, _) = lbfgs(&mut x, 100, 1e-10, |x, g| {
            g[0] = 2.0 * (x[0] - 1.0);
            g[1] = 20.0 * (x[1] + 2.0);
            (x[0] - 1.0).powi(2) + 10.0 * (x[1] + 2.0).powi(2)
        });
        assert!(loss < 1e-16, "{loss}");
        assert!((x[0] - 1.0).abs() < 1e-6 && (x[1] + 2.0).abs() < 1e-6);
    }

    #[test]
    fn spd_solve_and_singular_fallback() {
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0], 2);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        let x = solve_spd(&[1.0, 1.0, 1.0, 1.0], &[2.0, 2.0], 2);
        assert!((x[0] + x[1] - 2.0).abs() < 1e-6, "{x:?}");
    }
}
