//! Seasonal-trend decomposition by LOESS (Cleveland, Cleveland, McRae and Terpenning,
//! 1990), the inner loop as statsmodels' `STL` runs it with its defaults: seasonal
//! smoother 7, trend and low-pass windows worked out from the period, LOESS of degree 1
//! everywhere, jumps of 1, not robust: no outer pass and 5 inner passes. (Cleveland et
//! al. suggest 2 inner passes without robustness; statsmodels' `fit()` runs 5, and its
//! numbers are the ones SQLFlow's model used.) The arithmetic
//! follows the published Fortran (`stlstp`, `stless`, `stlest`, `stlss`, `stlfts`) step
//! for step, so the components agree with statsmodels' to rounding.

/// statsmodels' default seasonal smoother length.
pub const SEASONAL: usize = 7;
/// Inner passes of a non-robust fit: statsmodels' `STL.fit()` default when `robust` is
/// false.
const INNER: usize = 5;

/// A series split into seasonal, trend and remainder (`observed = seasonal + trend +
/// resid`).
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// The seasonal component.
    pub seasonal: Vec<f64>,
    /// The trend component.
    pub trend: Vec<f64>,
    /// What is left: observed − seasonal − trend.
    pub resid: Vec<f64>,
}

/// The smallest odd integer ≥ `x`.
fn odd_at_least(x: f64) -> usize {
    let n = x.ceil() as usize;
    if n.is_multiple_of(2) { n + 1 } else { n }
}

/// statsmodels' default trend window: the smallest odd integer ≥ 1.5·period / (1 −
/// 1.5 / seasonal).
pub fn trend_window(period: usize) -> usize {
    odd_at_least(1.5 * period as f64 / (1.0 - 1.5 / SEASONAL as f64))
}

/// statsmodels' default low-pass window: the smallest odd integer > period.
pub fn low_pass_window(period: usize) -> usize {
    let n = period + 1;
    if n.is_multiple_of(2) { n + 1 } else { n }
}

/// Decomposes `y` with seasonal period `period` (≥ 2; `y` at least two periods long,
/// finite values), statsmodels' `STL(y, period=period).fit()`.
pub fn stl(y: &[f64], period: usize) -> Decomposition {
    let n = y.len();
    let np = period.max(2);
    let (ns, nt, nl) = (SEASONAL, trend_window(np), low_pass_window(np));
    let mut trend = vec![0.0; n];
    let mut season = vec![0.0; n];
    let mut detrended = vec![0.0; n];
    let mut cycle = vec![0.0; n + 2 * np];
    for _ in 0..INNER {
        for i in 0..n {
            detrended[i] = y[i] - trend[i];
        }
        subseries(&detrended, np, ns, &mut cycle);
        let low = low_pass(&cycle, np);
        let low = loess(&low, nl);
        for i in 0..n {
            season[i] = cycle[np + i] - low[i];
        }
        let deseasoned: Vec<f64> = (0..n).map(|i| y[i] - season[i]).collect();
        trend = loess(&deseasoned, nt);
    }
    let resid = (0..n).map(|i| y[i] - season[i] - trend[i]).collect();
    Decomposition {
        seasonal: season,
        trend,
        resid,
    }
}

/// `stlss`: each cycle-subseries smoothed by LOESS and extended by one value at each
/// end; `out` (n + 2·np values) holds them back in time order.
fn subseries(y: &[f64], np: usize, ns: usize, out: &mut [f64]) {
    let n = y.len();
    let mut w = Vec::new();
    for j in 0..np {
        let sub: Vec<f64> = (j..n).step_by(np).map(|i| y[i]).collect();
        let k = sub.len();
        if k == 0 {
            continue;
        }
        let smooth = loess(&sub, ns);
        w.resize(k + 1, 0.0);
        let first = estimate(&sub, ns, 0.0, 1, ns.min(k), &mut w).unwrap_or(smooth[0]);
        let left = if k >= ns { k - ns + 1 } else { 1 };
        let last = estimate(&sub, ns, (k + 1) as f64, left, k, &mut w).unwrap_or(smooth[k - 1]);
        out[j] = first;
        for (m, v) in smooth.iter().enumerate() {
            out[(m + 1) * np + j] = *v;
        }
        out[(k + 1) * np + j] = last;
    }
}

/// `stlfts`: moving averages of length np, np and 3 (n + 2·np values in, n out).
fn low_pass(x: &[f64], np: usize) -> Vec<f64> {
    let a = moving_average(x, np);
    let b = moving_average(&a, np);
    moving_average(&b, 3)
}

/// `stlma`: the running mean of `len` values, kept as a running sum as the Fortran does.
fn moving_average(x: &[f64], len: usize) -> Vec<f64> {
    if x.len() < len {
        return Vec::new();
    }
    let flen = len as f64;
    let mut v: f64 = x[..len].iter().sum();
    let mut out = Vec::with_capacity(x.len() - len + 1);
    out.push(v / flen);
    for k in len..x.len() {
        v = v - x[k - len] + x[k];
        out.push(v / flen);
    }
    out
}

/// `stless` with jump 1: LOESS of degree 1 with window `len` at every point.
fn loess(y: &[f64], len: usize) -> Vec<f64> {
    let n = y.len();
    if n < 2 {
        return y.to_vec();
    }
    let mut out = vec![0.0; n];
    let mut w = vec![0.0; n + 1];
    if len >= n {
        for (i, o) in out.iter_mut().enumerate() {
            *o = estimate(y, len, (i + 1) as f64, 1, n, &mut w).unwrap_or(y[i]);
        }
        return out;
    }
    let nsh = len.div_ceil(2);
    let (mut left, mut right) = (1usize, len);
    for (i, o) in out.iter_mut().enumerate() {
        let pos = i + 1;
        if pos > nsh && right != n {
            left += 1;
            right += 1;
        }
        *o = estimate(y, len, pos as f64, left, right, &mut w).unwrap_or(y[i]);
    }
    out
}

/// `stlest`: the local linear fit at `xs` (1-based positions) from the points
/// `left..=right` with tricube weights; `None` when every weight is zero. `w` is scratch
/// space indexed by position.
fn estimate(
    y: &[f64],
    len: usize,
    xs: f64,
    left: usize,
    right: usize,
    w: &mut [f64],
) -> Option<f64> {
    let n = y.len();
    let range = n as f64 - 1.0;
    let mut h = (xs - left as f64).max(right as f64 - xs);
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let (h9, h1) = (0.999 * h, 0.001 * h);
    let mut a = 0.0;
    for (j, wj) in w.iter_mut().enumerate().take(right + 1).skip(left) {
        *wj = 0.0;
        let r = (j as f64 - xs).abs();
        if r <= h9 {
            *wj = if r <= h1 {
                1.0
            } else {
                (1.0 - (r / h).powi(3)).powi(3)
            };
            a += *wj;
        }
    }
    if a <= 0.0 {
        return None;
    }
    for wj in &mut w[left..=right] {
        *wj /= a;
    }
    if h > 0.0 {
        let a: f64 = (left..=right).map(|j| w[j] * j as f64).sum();
        let b = xs - a;
        let c: f64 = (left..=right).map(|j| w[j] * (j as f64 - a).powi(2)).sum();
        if c.sqrt() > 0.001 * range {
            let b = b / c;
            for (j, wj) in w.iter_mut().enumerate().take(right + 1).skip(left) {
                *wj *= b * (j as f64 - a) + 1.0;
            }
        }
    }
    Some((left..=right).map(|j| w[j] * y[j - 1]).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_statsmodels_defaults() {
        assert_eq!(trend_window(7), 15);
        assert_eq!(trend_window(30), 59);
        assert_eq!(trend_window(12), 23);
        assert_eq!(low_pass_window(7), 9);
        assert_eq!(low_pass_window(30), 31);
    }

    #[test]
    fn components_add_up() {
        let y: Vec<f64> = (0..60)
            .map(|i| i as f64 * 0.1 + (i as f64 * std::f64::consts::TAU / 7.0).sin())
            .collect();
        let d = stl(&y, 7);
        for (i, v) in y.iter().enumerate() {
            assert!((d.seasonal[i] + d.trend[i] + d.resid[i] - v).abs() < 1e-12);
        }
        let spread = d.resid.iter().fold(0.0f64, |m, r| m.max(r.abs()));
        assert!(spread < 0.2, "{spread}");
    }
}
