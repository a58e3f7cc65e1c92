//! Model-agnostic SHAP values (`USING KernelExplainer` / `DeepExplainer`) for models
//! without trees: DNNs, linear and wide-and-deep models. It is the sampling permutation
//! estimate of Štrumbelj and Kononenko ("Explaining prediction models and individual
//! predictions with feature contributions", 2014) of the interventional Shapley values
//! shap's `KernelExplainer` estimates: a coalition's value is the model's output with the
//! absent features taken from a background row, averaged over the background.
//!
//! For every background row `b` the estimate walks a few seeded permutations of the
//! features from `b` to the explained row `x`, switching one feature at a time to `x`'s
//! value, and credits each feature with the change of the output. The changes of one
//! walk add up to `f(x) − f(b)`, so each row's values plus the expected value (the mean
//! output over the background) give the model's output exactly (additivity, up to
//! rounding). Permutations come in antithetic pairs (a permutation and its reverse); when
//! all `F!` permutations cost no more than the sampled walks (few features, few background
//! rows or a large `nsamples`) every one is walked, which gives the exact Shapley values.
//! A model affine in its encoded inputs (linear regression) gets the exact
//! `w_i (x_i − E[x_i])` from any permutation.
//!
//! The background is the explained rows themselves when there are at most
//! [`BACKGROUND`] of them, else a seeded sample of that many. Each row costs about
//! `nsamples` model evaluations (default `2F + 2048`, shap's default), evaluated in
//! batches of one matrix per row.

use crate::data::Matrix;
use crate::error::{ModelError, Result};
use crate::rng::Rng;

/// Background rows at most.
pub const BACKGROUND: usize = 100;
/// Model evaluations (encoded rows) one statement may ask for.
pub const MAX_EVALUATIONS: usize = 20_000_000;
/// Every permutation is walked when there are at most this many (3 features), or when
/// they are no more than the walks `nsamples` asks for.
const EXACT_ALWAYS: usize = 6;

/// Default `nsamples` for `features` encoded features: `2F + 2048`, as shap's.
pub fn default_nsamples(features: usize) -> usize {
    2 * features + 2048
}

/// `(values rows × outputs × features, expected value per output)` of `x` under `model`
/// (rows of a matrix → one output vector per row).
pub(crate) fn sampling_shap(
    x: &Matrix,
    outputs: usize,
    nsamples: usize,
    seed: u64,
    model: &dyn Fn(&Matrix) -> Result<Vec<Vec<f64>>>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let f = x.cols;
    if x.rows == 0 {
        return Err(ModelError::InvalidData(
            "SHAP values need rows to explain; the SELECT returned none".into(),
        ));
    }
    let background = if x.rows <= BACKGROUND {
        x.clone()
    } else {
        let idx = Rng::derive(seed, 0xB6).sample_indices(x.rows, BACKGROUND);
        let mut m = Matrix::zeros(idx.len(), f);
        for (i, &r) in idx.iter().enumerate() {
            m.row_mut(i).copy_from_slice(x.row(r));
        }
        m
    };
    let base = checked(model(&background)?, background.rows, outputs)?;
    let mut expected = vec![0.0; outputs];
    for row in &base {
        expected.iter_mut().zip(row).for_each(|(e, v)| *e += v);
    }
    let nb = background.rows as f64;
    expected.iter_mut().for_each(|e| *e /= nb);
    if f == 0 {
        return Ok((Vec::new(), expected));
    }
    // Permutations per background row: every one when that costs no more than the
    // sampled walks `nsamples` asks for (exact Shapley values), else antithetic pairs.
    let walks = nsamples.max(1).div_ceil(f * background.rows).max(2);
    let all = (1..=f).try_fold(1usize, |acc, k| acc.checked_mul(k));
    let exact = all.is_some_and(|n| n <= walks.max(EXACT_ALWAYS));
    let per_background = match all {
        Some(n) if exact => n,
        _ => walks.next_multiple_of(2),
    };
    let per_row = background
        .rows
        .saturating_mul(per_background)
        .saturating_mul(f);
    let total = per_row.saturating_mul(x.rows);
    if total > MAX_EVALUATIONS {
        return Err(ModelError::InvalidData(format!(
            "SHAP values of {} rows × {f} features take {total} model evaluations ({per_row} \
             per row), more than the {MAX_EVALUATIONS} one statement computes; explain fewer \
             rows (a WHERE or LIMIT in the SELECT) or lower explainer.nsamples",
            x.rows
        )));
    }
    let perms = permutations(f, per_background, exact, seed);
    let mut values = vec![0.0; x.rows * outputs * f];
    let mut batch = Matrix::zeros(per_row, f);
    for r in 0..x.rows {
        let target = x.row(r);
        // Row k of the batch: background b, permutation p, after switching step s + 1.
        let mut k = 0;
        for b in 0..background.rows {
            for perm in &perms[b * per_background..(b + 1) * per_background] {
                let mut z = background.row(b).to_vec();
                for &i in perm {
                    z[i] = target[i];
                    batch.row_mut(k).copy_from_slice(&z);
                    k += 1;
                }
            }
        }
        let out = checked(model(&batch)?, per_row, outputs)?;
        let acc = &mut values[r * outputs * f..(r + 1) * outputs * f];
        let mut k = 0;
        for (b, prev0) in base.iter().enumerate() {
            for perm in &perms[b * per_background..(b + 1) * per_background] {
                let mut prev = prev0.as_slice();
                for &i in perm {
                    let now = &out[k];
                    for o in 0..outputs {
                        acc[o * f + i] += now[o] - prev[o];
                    }
                    prev = now;
                    k += 1;
                }
            }
        }
        let walks = (background.rows * per_background) as f64;
        acc.iter_mut().for_each(|v| *v /= walks);
    }
    Ok((values, expected))
}

fn checked(out: Vec<Vec<f64>>, rows: usize, outputs: usize) -> Result<Vec<Vec<f64>>> {
    if out.len() != rows || out.iter().any(|o| o.len() != outputs) {
        return Err(ModelError::Corrupt(format!(
            "the model gave {} outputs for {rows} rows, expected {outputs} each",
            out.len()
        )));
    }
    Ok(out)
}

/// `per_background` permutations for each background row: all of them (the same for
/// every row) when `exact`, else seeded antithetic pairs.
fn permutations(f: usize, per_background: usize, exact: bool, seed: u64) -> Vec<Vec<usize>> {
    if exact {
        let all = all_permutations(f);
        return (0..BACKGROUND).flat_map(|_| all.iter().cloned()).collect();
    }
    let mut rng = Rng::derive(seed, 0x9E);
    let mut out = Vec::with_capacity(per_background * BACKGROUND);
    for _ in 0..BACKGROUND {
        for _ in 0..per_background / 2 {
            let mut p: Vec<usize> = (0..f).collect();
            rng.shuffle(&mut p);
            let mut rev = p.clone();
            rev.reverse();
            out.push(p);
            out.push(rev);
        }
    }
    out
}

fn all_permutations(f: usize) -> Vec<Vec<usize>> {
    if f == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in all_permutations(f - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, f - 1);
            out.push(q);
        }
    }
    out
}
