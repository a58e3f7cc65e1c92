//! `sqlflow_models.OneClassSVM`: Schölkopf's one-class ν-SVM, solved as libsvm (and so
//! scikit-learn's `OneClassSVM`) solves it, on the encoded features as they are (not
//! standardized, as scikit-learn).
//!
//! The dual: minimize ½ αᵀQα subject to 0 ≤ αᵢ ≤ 1 and Σαᵢ = ν·l (l rows,
//! Qᵢⱼ = K(xᵢ, xⱼ)), started as libsvm starts it (the first ⌊ν·l⌋ multipliers at 1, the
//! next one at the remainder). SMO: each iteration picks the pair (i, j) by libsvm's
//! second-order working-set selection (i the most violating multiplier that may grow, j
//! the one that may shrink with the largest decrease of the objective), moves both
//! keeping their sum, and updates the gradient G = Qα with the two kernel rows. It stops
//! when the maximal violation m(α) − M(α) is below `model.tol` (libsvm's `eps`) or
//! after `model.max_iter` iterations (-1: libsvm's own cap, max(10⁷, 100·l)). ρ is
//! libsvm's: the mean gradient over the free multipliers (else the middle of the bounds).
//! The decision function is Σ αᵢ K(xᵢ, x) − ρ over the support vectors (αᵢ > 0);
//! PREDICT gives 1 where it is > 0 (inlier) and −1 otherwise, as libsvm.
//!
//! Memory: the kernel matrix is never built. Kernel rows are computed on demand and kept
//! in a least-recently-used cache of `model.cache_size` MB (scikit-learn's 200), so
//! memory is the data, a few vectors of l numbers and the cache. No shrinking (libsvm's
//! heuristic changes the path, not the optimum the tolerance allows).

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, AttrValue, DefaultValue, Resolved, spec, text_of};
use crate::data::Matrix;
use crate::error::{ModelError, Result};

const NAME: &str = "sqlflow_models.OneClassSVM";

pub(crate) const KERNELS: &[&str] = &["rbf", "linear", "poly", "sigmoid"];

fn gamma_value(value: &AttrValue) -> Option<AttrValue> {
    match value {
        AttrValue::Int(i) if *i >= 0 => Some(AttrValue::Float(*i as f64)),
        AttrValue::Float(f) if f.is_finite() && *f >= 0.0 => Some(AttrValue::Float(*f)),
        v => {
            let text = text_of(v)?.to_ascii_lowercase();
            matches!(text.as_str(), "scale" | "auto").then_some(AttrValue::Str(text))
        }
    }
}

const NO_SHRINKING: &str = "this SMO solver does not shrink the working set; shrinking only \
     changes how fast libsvm reaches the same optimum";
const NO_VERBOSE: &str = "the solver's progress is always in the job's log";

pub(crate) const SPECS: &[AttrSpec] = &[
    spec::choice("model.kernel", KERNELS, "rbf"),
    spec::custom(
        "model.gamma",
        "scale, auto or a number >= 0 (the kernel coefficient)",
        gamma_value,
        Some(DefaultValue::Str("scale")),
    ),
    spec::fraction("model.nu", 0.5),
    AttrSpec {
        name: "model.degree",
        aliases: &[],
        ty: AttrType::Int { min: 0, max: 1000 },
        default: Some(DefaultValue::Int(3)),
    },
    spec::float("model.coef0", f64::MIN, f64::MAX, 0.0),
    spec::positive("model.tol", 1e-3),
    spec::int("model.max_iter", -1, -1),
    spec::positive("model.cache_size", 200.0),
    AttrSpec {
        name: "model.shrinking",
        aliases: &[],
        ty: AttrType::NoEffect(NO_SHRINKING),
        default: None,
    },
    AttrSpec {
        name: "model.verbose",
        aliases: &[],
        ty: AttrType::NoEffect(NO_VERBOSE),
        default: None,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kernel {
    Rbf,
    Linear,
    Poly,
    Sigmoid,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct KernelParams {
    kernel: Kernel,
    /// The coefficient in effect ('scale' and 'auto' worked out from the training data).
    gamma: f64,
    degree: u32,
    coef0: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl KernelParams {
    fn eval(&self, a: &[f64], b: &[f64]) -> f64 {
        match self.kernel {
            Kernel::Rbf => {
                let d2: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                (-self.gamma * d2).exp()
            }
            Kernel::Linear => dot(a, b),
            Kernel::Poly => (self.gamma * dot(a, b) + self.coef0).powi(self.degree as i32),
            Kernel::Sigmoid => (self.gamma * dot(a, b) + self.coef0).tanh(),
        }
    }
}

/// A fitted one-class SVM: the support vectors, their multipliers and ρ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OneClassSvm {
    params: KernelParams,
    d: usize,
    /// `n_sv × d`, row-major.
    support: Vec<f64>,
    alpha: Vec<f64>,
    rho: f64,
    /// SMO iterations run.
    iterations: usize,
}

/// Kernel rows on demand, the least recently used evicted past the budget.
struct KernelCache<'a> {
    x: &'a Matrix,
    params: KernelParams,
    rows: Vec<Option<Vec<f64>>>,
    last_used: Vec<u64>,
    clock: u64,
    cached: usize,
    capacity: usize,
    computed: u64,
}

impl<'a> KernelCache<'a> {
    fn new(x: &'a Matrix, params: KernelParams, megabytes: f64) -> Self {
        let row_bytes = (x.rows * 8).max(1) as f64;
        let capacity = ((megabytes * 1024.0 * 1024.0 / row_bytes) as usize).max(2);
        KernelCache {
            x,
            params,
            rows: vec![None; x.rows],
            last_used: vec![0; x.rows],
            clock: 0,
            cached: 0,
            capacity,
            computed: 0,
        }
    }

    fn row(&mut self, i: usize) -> &[f64] {
        self.clock += 1;
        self.last_used[i] = self.clock;
        if self.rows[i].is_none() {
            if self.cached >= self.capacity {
                // Evict the least recently used row (a scan costs no more than the
                // row about to be computed).
                let victim = (0..self.rows.len())
                    .filter(|&r| self.rows[r].is_some())
                    .min_by_key(|&r| self.last_used[r]);
                if let Some(v) = victim {
                    self.rows[v] = None;
                    self.cached -= 1;
                }
            }
            let xi = self.x.row(i);
            let row: Vec<f64> = (0..self.x.rows)
                .map(|r| self.params.eval(xi, self.x.row(r)))
                .collect();
            self.computed += 1;
            self.rows[i] = Some(row);
            self.cached += 1;
        }
        self.rows[i].as_deref().unwrap_or(&[])
    }
}

const TAU: f64 = 1e-12;

impl OneClassSvm {
    pub fn train(
        x: &Matrix,
        attrs: &Resolved,
        progress: &mut dyn FnMut(&str),
    ) -> Result<OneClassSvm> {
        let (l, d) = (x.rows, x.cols);
        if x.data.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(format!(
                "{NAME}: a feature value is not a finite number after encoding; \
                 scale or filter the columns"
            )));
        }
        let params = kernel_params(x, attrs)?;
        let nu = attrs.float("model.nu");
        let tol = attrs.float("model.tol");
        let max_iter = match attrs.int("model.max_iter") {
            m if m > 0 => m as usize,
            _ => 10_000_000usize.max(l.saturating_mul(100)),
        };
        progress(&format!(
            "{NAME}: {l} rows, {d} features, kernel {} (gamma {}), nu {nu}; SMO until the \
             violation is below {tol}",
            attrs.str("model.kernel"),
            params.gamma
        ));
        let mut cache = KernelCache::new(x, params, attrs.float("model.cache_size"));
        let qd: Vec<f64> = (0..l).map(|i| params.eval(x.row(i), x.row(i))).collect();
        if qd.iter().any(|v| !v.is_finite()) {
            return Err(kernel_overflow());
        }
        // libsvm's start: the first ⌊ν·l⌋ at 1, the next at the rest.
        let total = nu * l as f64;
        let full = (total as usize).min(l);
        let mut alpha = vec![0.0; l];
        alpha[..full].iter_mut().for_each(|a| *a = 1.0);
        if full < l {
            alpha[full] = total - full as f64;
        }
        let mut grad = vec![0.0; l];
        for (i, &a) in alpha.iter().enumerate() {
            if a != 0.0 {
                let row = cache.row(i);
                grad.iter_mut().zip(row).for_each(|(g, q)| *g += a * q);
            }
        }
        if grad.iter().any(|v| !v.is_finite()) {
            return Err(kernel_overflow());
        }
        // Every 1,000 iterations, every 10,000 past 50,000, ...: about 50 lines a decade.
        let mut report_every = 1000usize;
        let mut next_report = report_every;
        let mut iterations = 0usize;
        let mut gap;
        let converged = loop {
            // i: may grow (α < 1), the largest −G; j: may shrink (α > 0), second order.
            let mut gmax = f64::NEG_INFINITY;
            let mut i_sel = usize::MAX;
            for t in 0..l {
                if alpha[t] < 1.0 && -grad[t] >= gmax {
                    gmax = -grad[t];
                    i_sel = t;
                }
            }
            let mut gmax2 = f64::NEG_INFINITY;
            let mut j_sel = usize::MAX;
            let mut obj_min = f64::INFINITY;
            if i_sel != usize::MAX {
                let qi_diag = qd[i_sel];
                let row_i = cache.row(i_sel);
                for t in 0..l {
                    if alpha[t] > 0.0 {
                        let b = gmax + grad[t];
                        if grad[t] >= gmax2 {
                            gmax2 = grad[t];
                        }
                        if b > 0.0 {
                            let a = qi_diag + qd[t] - 2.0 * row_i[t];
                            let a = if a > 0.0 { a } else { TAU };
                            let obj = -(b * b) / a;
                            if obj <= obj_min {
                                obj_min = obj;
                                j_sel = t;
                            }
                        }
                    }
                }
            }
            gap = gmax + gmax2;
            if gap < tol || j_sel == usize::MAX || i_sel == usize::MAX {
                break true;
            }
            if iterations >= max_iter {
                break false;
            }
            iterations += 1;
            let (i, j) = (i_sel, j_sel);
            let (old_i, old_j) = (alpha[i], alpha[j]);
            let q_ij = cache.row(i)[j];
            let quad = qd[i] + qd[j] - 2.0 * q_ij;
            let quad = if quad > 0.0 { quad } else { TAU };
            let delta = (grad[i] - grad[j]) / quad;
            let sum = alpha[i] + alpha[j];
            alpha[i] -= delta;
            alpha[j] += delta;
            // Back into the box [0, 1], keeping the sum (libsvm's clipping, C = 1).
            if sum > 1.0 {
                if alpha[i] > 1.0 {
                    alpha[i] = 1.0;
                    alpha[j] = sum - 1.0;
                }
            } else if alpha[j] < 0.0 {
                alpha[j] = 0.0;
                alpha[i] = sum;
            }
            if sum > 1.0 {
                if alpha[j] > 1.0 {
                    alpha[j] = 1.0;
                    alpha[i] = sum - 1.0;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = sum;
            }
            let (di, dj) = (alpha[i] - old_i, alpha[j] - old_j);
            {
                let row_i = cache.row(i);
                grad.iter_mut().zip(row_i).for_each(|(g, q)| *g += q * di);
            }
            {
                let row_j = cache.row(j);
                grad.iter_mut().zip(row_j).for_each(|(g, q)| *g += q * dj);
            }
            if iterations >= next_report {
                progress(&format!(
                    "SMO iteration {iterations}: violation {gap:.6} (stops below {tol})"
                ));
                if iterations >= 50 * report_every {
                    report_every *= 10;
                }
                next_report += report_every;
            }
        };
        let rho = calculate_rho(&alpha, &grad);
        let sv: Vec<usize> = (0..l).filter(|&i| alpha[i] > 0.0).collect();
        let bounded = sv.iter().filter(|&&i| alpha[i] >= 1.0).count();
        let mut support = Vec::with_capacity(sv.len() * d);
        for &i in &sv {
            support.extend_from_slice(x.row(i));
        }
        let alpha: Vec<f64> = sv.iter().map(|&i| alpha[i]).collect();
        let model = OneClassSvm {
            params,
            d,
            support,
            alpha,
            rho,
            iterations,
        };
        if !model.check(d) {
            return Err(kernel_overflow());
        }
        let outliers = model
            .decision_function(x)
            .iter()
            .filter(|v| **v <= 0.0)
            .count();
        let how = if converged {
            format!("converged (violation {:.6} < {tol})", gap.max(0.0))
        } else {
            format!(
                "stopped at model.max_iter (violation {gap:.6}, not below {tol}): the model \
                 may be inaccurate; raise model.max_iter"
            )
        };
        progress(&format!(
            "SMO {how} after {iterations} iterations ({} kernel rows computed): {} support \
             vectors ({bounded} at the bound), rho {rho:.6}; {outliers} of {l} training rows \
             ({:.2}%) are outliers (nu = {nu} bounds that fraction from above, up to rows on the \
             boundary)",
            cache.computed,
            model.alpha.len(),
            100.0 * outliers as f64 / l as f64
        ));
        Ok(model)
    }

    /// Σ αᵢ K(svᵢ, x) − ρ per row: > 0 inside the learned region.
    pub fn decision_function(&self, x: &Matrix) -> Vec<f64> {
        (0..x.rows)
            .map(|r| {
                let row = x.row(r);
                self.support
                    .chunks(self.d.max(1))
                    .zip(&self.alpha)
                    .map(|(s, a)| a * self.params.eval(s, row))
                    .sum::<f64>()
                    - self.rho
            })
            .collect()
    }

    pub fn check(&self, cols: usize) -> bool {
        let n = self.alpha.len();
        self.d == cols
            && n > 0
            && self.support.len() == n.saturating_mul(self.d)
            && self.support.iter().all(|v| v.is_finite())
            && self
                .alpha
                .iter()
                .all(|a| a.is_finite() && *a > 0.0 && *a <= 1.0)
            && self.rho.is_finite()
            && self.params.gamma.is_finite()
            && self.params.gamma >= 0.0
            && self.params.coef0.is_finite()
    }
}

fn kernel_overflow() -> ModelError {
    ModelError::InvalidData(format!(
        "{NAME}: the kernel values overflow (feature values or model.gamma / model.coef0 too \
         large); scale the features or lower model.gamma"
    ))
}

/// libsvm's ρ (all yᵢ = +1, C = 1): the mean gradient over the free multipliers, else
/// the middle of [max G at the upper bound, min G at 0].
fn calculate_rho(alpha: &[f64], grad: &[f64]) -> f64 {
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut free, mut sum_free) = (0usize, 0.0);
    for (a, g) in alpha.iter().zip(grad) {
        if *a >= 1.0 {
            lb = lb.max(*g);
        } else if *a <= 0.0 {
            ub = ub.min(*g);
        } else {
            free += 1;
            sum_free += g;
        }
    }
    if free > 0 {
        sum_free / free as f64
    } else if ub.is_infinite() || lb.is_infinite() {
        // ν = 1 puts every multiplier at the bound (libsvm's ρ is then infinite, and
        // scikit-learn refuses the model): the smallest ρ the KKT conditions allow, so
        // every training row is on or outside the boundary. (And the reverse, which the
        // equality constraint rules out, for completeness.)
        if lb.is_finite() { lb } else { ub }
    } else {
        (ub + lb) / 2.0
    }
}

/// The kernel and its coefficient: `scale` is 1 / (features · variance of all values)
/// (1 when that variance is 0), `auto` 1 / features, as scikit-learn.
fn kernel_params(x: &Matrix, attrs: &Resolved) -> Result<KernelParams> {
    let kernel = match attrs.str("model.kernel") {
        "linear" => Kernel::Linear,
        "poly" => Kernel::Poly,
        "sigmoid" => Kernel::Sigmoid,
        _ => Kernel::Rbf,
    };
    let d = x.cols.max(1) as f64;
    let gamma = match attrs.get("model.gamma") {
        Some(AttrValue::Str(s)) if s == "auto" => 1.0 / d,
        Some(AttrValue::Float(g)) => *g,
        Some(AttrValue::Int(g)) => *g as f64,
        _ => {
            let n = x.data.len().max(1) as f64;
            let mean = x.data.iter().sum::<f64>() / n;
            let var = x.data.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if !var.is_finite() {
                return Err(ModelError::InvalidData(format!(
                    "{NAME}: the features' variance overflows, so model.gamma = 'scale' has no \
                     value; scale the features or give model.gamma a number"
                )));
            }
            if var > 0.0 { 1.0 / (d * var) } else { 1.0 }
        }
    };
    let degree = u32::try_from(attrs.int("model.degree")).unwrap_or(3);
    Ok(KernelParams {
        kernel,
        gamma,
        degree,
        coef0: attrs.float("model.coef0"),
    })
}
