//! One boosting round of each booster (trees, DART's dropout, gblinear's coordinate
//! descent) and the objectives' starting margins and gradients.

use super::{
    model::{Gbdt, LinearBooster},
    params::{DartParams, GbdtParams, Objective, Selector},
};
use crate::{
    binning::Binned,
    data::Matrix,
    dnn::softmax_in_place,
    monitor::Validation,
    rng::Rng,
    threads,
    tree::{RowStats, Tree, TreeParams, build_with_leaves},
};

/// Tree growing state shared by the rounds of one training.
pub(super) struct Grower<'a> {
    pub(super) p: &'a GbdtParams,
    pub(super) x: &'a Matrix,
    pub(super) binned: Option<&'a Binned>,
    pub(super) groups: usize,
    /// `colsample_bytree`'s feature count.
    pub(super) n_cols: usize,
}

/// One grown tree, and where its rows ended up: `(leaf, start, end)` into `rows`.
struct Grown {
    tree: Tree,
    leaves: Vec<(usize, usize, usize)>,
    rows: Vec<u32>,
}

impl Grower<'_> {
    /// Grows one tree per group on the gradients, appends them with weight `weight`
    /// (added to `margins` for the training rows). Returns the index of the first new tree.
    ///
    /// A round's trees are independent (same gradients, each its own random stream drawn
    /// from `rng`), so with several threads they grow side by side, as many at a time as
    /// there are threads, each tree's nodes sharing out the threads left over (a single
    /// tree per round: all of them). One join per batch of trees, not per node, keeps a
    /// busy machine from stalling every node on a descheduled thread.
    pub(super) fn round(
        &mut self,
        model: &mut Gbdt,
        g: &[f64],
        h: &[f64],
        rng: &mut Rng,
        weight: f64,
        margins: &mut [f64],
    ) -> usize {
        let (x, p, groups) = (self.x, self.p, self.groups);
        let n = x.rows;
        let first = model.trees.len();
        let Some(binned) = self.binned else {
            return first;
        };
        let rows: Vec<u32> = if p.subsample < 1.0 {
            (0..n as u32)
                .filter(|_| rng.next_f64() < p.subsample)
                .collect()
        } else {
            (0..n as u32).collect()
        };
        let tree_seed = rng.next_u64();
        let n_cols = self.n_cols;
        let grow = |c: usize, threads: usize| -> Grown {
            let mut rng = Rng::derive(tree_seed, c as u64);
            let gc: Vec<f64> = g.iter().skip(c).step_by(groups).copied().collect();
            let hc: Vec<f64> = h.iter().skip(c).step_by(groups).copied().collect();
            let features = if n_cols < x.cols {
                rng.sample_indices(x.cols, n_cols)
            } else {
                (0..x.cols).collect()
            };
            let stats = RowStats {
                g: &gc,
                h: &hc,
                k: 1,
            };
            let params = TreeParams {
                threads,
                ..p.tree.clone()
            };
            let mut rows = rows.clone();
            let mut leaves = Vec::new();
            let tree = build_with_leaves(
                binned,
                &mut rows,
                &stats,
                &features,
                &params,
                &mut rng,
                &mut leaves,
            );
            Grown { tree, leaves, rows }
        };
        let threads = p.tree.threads.max(1);
        let classes: Vec<usize> = (0..groups).collect();
        for batch in classes.chunks(threads) {
            let per_tree = threads / batch.len();
            let grown = threads::map(batch.len(), batch.len(), |i| grow(batch[i], per_tree));
            for (&c, done) in batch.iter().zip(grown) {
                let tree = done.tree;
                if done.rows.len() == n {
                    // Every row was in the tree: its leaf is known without walking the tree.
                    for &(node, start, end) in &done.leaves {
                        let value = weight * tree.leaf_value(node);
                        for &r in &done.rows[start..end] {
                            margins[r as usize * groups + c] += value;
                        }
                    }
                } else {
                    for r in 0..n {
                        margins[r * groups + c] += weight * tree.predict_row(x.row(r))[0];
                    }
                }
                model.trees.push(tree);
            }
        }
        first
    }
}

/// Adds `weight ×` the trees (round-major, `groups` per round) to `margins` of `x`.
pub(super) fn add_trees(
    trees: &[Tree],
    weight: f64,
    groups: usize,
    x: &Matrix,
    margins: &mut [f64],
) {
    for (i, tree) in trees.iter().enumerate() {
        let c = i % groups.max(1);
        for r in 0..x.rows {
            margins[r * groups + c] += weight * tree.predict_row(x.row(r))[0];
        }
    }
}

/// One DART round: drop some existing trees, fit the new ones to the gradients of the
/// remaining ensemble, then rescale (XGBoost's `normalize_type`).
#[allow(clippy::too_many_arguments)]
pub(super) fn dart_round(
    model: &mut Gbdt,
    grow: &mut Grower<'_>,
    valid: Option<&Validation>,
    vmargins: Option<&mut Vec<f64>>,
    margins: &mut [f64],
    y_class: &[usize],
    y_value: &[f64],
    g: &mut [f64],
    h: &mut [f64],
    round: usize,
) {
    const DART_STREAM: u64 = 0xDA27_0000_0000_0000;
    let p = grow.p;
    let (x, groups) = (grow.x, grow.groups);
    let mut drop_rng = Rng::derive(p.seed ^ DART_STREAM, round as u64);
    let dropped = select_dropped(&p.dart, &model.tree_weights, &mut drop_rng);
    // The ensemble without the dropped trees, on the training rows.
    let mut contribution = vec![0.0; margins.len()];
    for &t in &dropped {
        let c = t % groups.max(1);
        let w = model.tree_weights[t];
        for r in 0..x.rows {
            contribution[r * groups + c] += w * model.trees[t].predict_row(x.row(r))[0];
        }
    }
    let mut reduced: Vec<f64> = margins
        .iter()
        .zip(&contribution)
        .map(|(m, c)| m - c)
        .collect();
    // The loss of the reduced ensemble is not the round's metric.
    let _ = gradients(p, groups, &reduced, y_class, y_value, g, h);
    let k = dropped.len() as f64;
    // XGBoost divides the learning rate by the trees added per round.
    let lr = p.eta / groups.max(1) as f64;
    let (new_weight, dropped_factor) = match (dropped.is_empty(), p.dart.forest) {
        (true, _) => (1.0, 1.0),
        (false, false) => (1.0 / (k + lr), k / (k + lr)),
        (false, true) => (1.0 / (1.0 + lr), 1.0 / (1.0 + lr)),
    };
    let mut rng = Rng::derive(p.seed, round as u64);
    let first = grow.round(model, g, h, &mut rng, new_weight, &mut reduced);
    for (m, (r, c)) in margins.iter_mut().zip(reduced.iter().zip(&contribution)) {
        *m = r + dropped_factor * c;
    }
    let added = model.trees.len() - first;
    model
        .tree_weights
        .extend(std::iter::repeat_n(new_weight, added));
    for &t in &dropped {
        model.tree_weights[t] *= dropped_factor;
    }
    if let (Some(v), Some(vm)) = (valid, vmargins) {
        for &t in &dropped {
            let c = t % groups.max(1);
            // The tree's old weight was w / factor; remove the difference.
            let w_new = model.tree_weights[t];
            let w_old = if dropped_factor > 0.0 {
                w_new / dropped_factor
            } else {
                0.0
            };
            for r in 0..v.x.rows {
                vm[r * groups + c] += (w_new - w_old) * model.trees[t].predict_row(v.x.row(r))[0];
            }
        }
        add_trees(&model.trees[first..], new_weight, groups, &v.x, vm);
    }
}

/// The trees DART drops this round (XGBoost's `DropTrees`).
fn select_dropped(d: &DartParams, weights: &[f64], rng: &mut Rng) -> Vec<usize> {
    let mut out = Vec::new();
    if weights.is_empty() || (d.skip_drop > 0.0 && rng.next_f64() < d.skip_drop) {
        return out;
    }
    let sum: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let p = if d.weighted && sum > 0.0 {
            d.rate_drop * weights.len() as f64 * w / sum
        } else {
            d.rate_drop
        };
        if rng.next_f64() < p {
            out.push(i);
        }
    }
    if d.one_drop && out.is_empty() {
        let pick = if d.weighted && sum > 0.0 {
            let mut target = rng.next_f64() * sum;
            weights
                .iter()
                .position(|w| {
                    target -= w;
                    target < 0.0
                })
                .unwrap_or(weights.len() - 1)
        } else {
            rng.below(weights.len())
        };
        out.push(pick);
    }
    out
}

/// One gblinear round: XGBoost's coordinate descent (the bias of each group first, then
/// each feature's weight by a Newton step with elastic-net penalties), updating the
/// gradients and margins after every coordinate.
#[allow(clippy::too_many_arguments)]
pub(super) fn linear_round(
    p: &GbdtParams,
    lin: &mut LinearBooster,
    x: &Matrix,
    groups: usize,
    g: &mut [f64],
    h: &[f64],
    margins: &mut [f64],
    rng: &mut Rng,
) {
    let n = x.rows;
    // XGBoost scales the penalties by the total instance weight (the row count).
    let (lambda, alpha) = (p.linear_lambda * n as f64, p.linear_alpha * n as f64);
    for c in 0..groups {
        let (mut sg, mut sh) = (0.0, 0.0);
        for r in 0..n {
            if h[r * groups + c] >= 0.0 {
                sg += g[r * groups + c];
                sh += h[r * groups + c];
            }
        }
        if sh > 1e-5 {
            let db = p.eta * (-sg / sh);
            lin.bias[c] += db;
            for r in 0..n {
                let i = r * groups + c;
                g[i] += h[i] * db;
                margins[i] += db;
            }
        }
    }
    let order: Vec<usize> = match p.selector {
        Selector::Cyclic => (0..x.cols).collect(),
        Selector::Shuffle => {
            let mut o: Vec<usize> = (0..x.cols).collect();
            rng.shuffle(&mut o);
            o
        }
        Selector::Random => (0..x.cols).map(|_| rng.below(x.cols.max(1))).collect(),
    };
    for j in order {
        for c in 0..groups {
            let (mut sg, mut sh) = (0.0, 0.0);
            for r in 0..n {
                let i = r * groups + c;
                if h[i] < 0.0 {
                    continue;
                }
                let v = x.get(r, j);
                sg += g[i] * v;
                sh += h[i] * v * v;
            }
            let w = &mut lin.w[j * groups + c];
            let dw = p.eta * coordinate_delta(sg, sh, *w, alpha, lambda);
            if dw == 0.0 {
                continue;
            }
            *w += dw;
            for r in 0..n {
                let i = r * groups + c;
                let v = x.get(r, j);
                g[i] += h[i] * v * dw;
                margins[i] += v * dw;
            }
        }
    }
    lin.rounds += 1;
}

/// XGBoost's elastic-net Newton step for one weight (`CoordinateDelta`).
fn coordinate_delta(sum_grad: f64, sum_hess: f64, w: f64, alpha: f64, lambda: f64) -> f64 {
    if sum_hess < 1e-5 {
        return 0.0;
    }
    let grad_l2 = sum_grad + lambda * w;
    let hess_l2 = sum_hess + lambda;
    let tmp = w - grad_l2 / hess_l2;
    if tmp >= 0.0 {
        (-(grad_l2 + alpha) / hess_l2).max(-w)
    } else {
        (-(grad_l2 - alpha) / hess_l2).min(-w)
    }
}

pub(super) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The first margin: `base_score` when given (a probability for binary:logistic);
/// otherwise, with `center_bias`, the data's mean (regression) or log-odds (binary), as
/// XGBoost ≥ 2 estimates it; else 0. Multi-class starts every class at 0.
pub(super) fn initial_margin(
    p: &GbdtParams,
    groups: usize,
    y_class: &[usize],
    y_value: &[f64],
) -> Vec<f64> {
    let logit = |q: f64| {
        let q = q.clamp(1e-6, 1.0 - 1e-6);
        (q / (1.0 - q)).ln()
    };
    match (p.objective, p.base_score) {
        (Objective::SquaredError, Some(b)) => vec![b],
        (Objective::BinaryLogistic, Some(b)) => vec![logit(b)],
        (_, Some(b)) => vec![b; groups],
        (_, None) if !p.center_bias => vec![0.0; groups],
        (Objective::SquaredError, None) => {
            vec![y_value.iter().sum::<f64>() / y_value.len().max(1) as f64]
        }
        (Objective::BinaryLogistic, None) => {
            let q =
                y_class.iter().filter(|&&c| c == 1).count() as f64 / y_class.len().max(1) as f64;
            vec![logit(q)]
        }
        _ => vec![0.0; groups],
    }
}

/// Fills gradients and hessians (`rows × groups`) of the loss at `margins`;
/// `scale_pos_weight` weighs the positive rows of binary:logistic. Returns, from the same
/// pass, the objective's default evaluation metric at `margins` (rmse, logloss, mlogloss:
/// see [`EvalMetric::default_for`](super::metric::EvalMetric::default_for)), so a round
/// computes its probabilities once. Rows are shared out over `p.tree.threads` threads in
/// fixed blocks summed in order: the same values for any thread count.
pub(super) fn gradients(
    p: &GbdtParams,
    groups: usize,
    margins: &[f64],
    y_class: &[usize],
    y_value: &[f64],
    g: &mut [f64],
    h: &mut [f64],
) -> f64 {
    const MIN_HESS: f64 = 1e-16;
    const BLOCK: usize = 8192;
    let groups = groups.max(1);
    let n = margins.len() / groups;
    let (g, h) = (&mut g[..n * groups], &mut h[..n * groups]);
    let sums = threads::map_row_blocks2(p.tree.threads, groups, BLOCK, g, h, |first, g, h| {
        let rows = first..first + g.len() / groups;
        let mut loss = 0.0;
        match p.objective {
            Objective::SquaredError => {
                for (i, r) in rows.enumerate() {
                    let d = margins[r] - y_value[r];
                    g[i] = d;
                    h[i] = 1.0;
                    loss += d * d;
                }
            }
            Objective::BinaryLogistic => {
                for (i, r) in rows.enumerate() {
                    let q = sigmoid(margins[r]);
                    let positive = y_class[r] == 1;
                    let (t, w) = if positive {
                        (1.0, p.scale_pos_weight)
                    } else {
                        (0.0, 1.0)
                    };
                    g[i] = w * (q - t);
                    h[i] = w * (q * (1.0 - q)).max(MIN_HESS);
                    let pr = q.clamp(1e-16, 1.0 - 1e-16);
                    loss -= if positive { pr.ln() } else { (1.0 - pr).ln() };
                }
            }
            Objective::MultiSoftmax | Objective::MultiSoftprob => {
                let mut q = vec![0.0; groups];
                for (i, r) in rows.enumerate() {
                    q.copy_from_slice(&margins[r * groups..(r + 1) * groups]);
                    softmax_in_place(&mut q);
                    for c in 0..groups {
                        let t = if y_class[r] == c { 1.0 } else { 0.0 };
                        g[i * groups + c] = q[c] - t;
                        // XGBoost's softmax hessian, factor 2 included.
                        h[i * groups + c] = (2.0 * q[c] * (1.0 - q[c])).max(MIN_HESS);
                    }
                    loss -= q.get(y_class[r]).map_or(0.0, |v| v.clamp(1e-15, 1.0)).ln();
                }
            }
        }
        loss
    });
    let mean = sums.iter().sum::<f64>() / n.max(1) as f64;
    if p.objective == Objective::SquaredError {
        mean.sqrt()
    } else {
        mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinate_delta_is_xgboosts() {
        // No penalty: the Newton step -G/H.
        assert_eq!(coordinate_delta(2.0, 4.0, 0.0, 0.0, 0.0), -0.5);
        // An L1 penalty larger than the gradient keeps a zero weight at zero.
        assert_eq!(coordinate_delta(2.0, 4.0, 0.0, 3.0, 0.0), 0.0);
        // ... and pulls a positive weight no further than zero.
        assert_eq!(coordinate_delta(0.0, 1.0, 0.5, 10.0, 0.0), -0.5);
    }

    #[test]
    fn dart_drops_at_the_rate() {
        let d = DartParams {
            rate_drop: 0.3,
            skip_drop: 0.0,
            weighted: false,
            forest: false,
            one_drop: false,
        };
        let mut rng = Rng::new(1);
        let total: usize = (0..200)
            .map(|_| select_dropped(&d, &[1.0; 10], &mut rng).len())
            .sum();
        assert!((500..700).contains(&total), "{total}");
        let skip = DartParams {
            skip_drop: 1.0,
            ..d.clone()
        };
        assert!(select_dropped(&skip, &[1.0; 10], &mut rng).is_empty());
        let one = DartParams {
            rate_drop: 0.0,
            one_drop: true,
            ..d
        };
        assert_eq!(select_dropped(&one, &[1.0; 10], &mut rng).len(), 1);
    }
}
