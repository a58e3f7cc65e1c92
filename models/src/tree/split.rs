//! Finding a node's best split: the gain and leaf-weight formulas, and the sweep over
//! a histogram of binned features or over the node's rows sorted per feature.

use crate::binning::Binned;

use super::grow::{RowStats, TreeParams};

#[derive(Clone)]
pub(super) struct NodeStats {
    pub(super) g: Vec<f64>,
    pub(super) h: f64,
    pub(super) count: usize,
}

pub(super) struct Split {
    pub(super) feature: usize,
    pub(super) bin: usize,
    pub(super) gain: f64,
    pub(super) left: NodeStats,
}

fn soft_threshold(g: f64, alpha: f64) -> f64 {
    if g > alpha {
        g - alpha
    } else if g < -alpha {
        g + alpha
    } else {
        0.0
    }
}

/// The loss reduction a node with these sums stands for (XGBoost's `CalcGain`).
pub(super) fn score(g: &[f64], h: f64, p: &TreeParams) -> f64 {
    g.iter().map(|gi| score1(*gi, h, p)).sum()
}

fn score1(g: f64, h: f64, p: &TreeParams) -> f64 {
    let denom = h + p.lambda;
    if denom <= 0.0 {
        return 0.0;
    }
    let t = soft_threshold(g, p.alpha);
    if p.max_delta_step <= 0.0 {
        return t * t / denom;
    }
    // With a clipped weight w the reduction is -(2(G·w + α|w|) + (H + λ)w²), which is
    // T(G)²/(H + λ) when nothing is clipped.
    let w = clipped_weight(g, h, p);
    -(2.0 * (g * w + p.alpha * w.abs()) + denom * w * w)
}

/// The optimal leaf weight `-T(G)/(H + λ)`, clipped to `±max_delta_step`.
fn clipped_weight(g: f64, h: f64, p: &TreeParams) -> f64 {
    let denom = h + p.lambda;
    if denom <= 0.0 {
        return 0.0;
    }
    let w = -soft_threshold(g, p.alpha) / denom;
    if p.max_delta_step > 0.0 {
        w.clamp(-p.max_delta_step, p.max_delta_step)
    } else {
        w
    }
}

pub(super) fn leaf_value(s: &NodeStats, p: &TreeParams) -> Vec<f64> {
    s.g.iter()
        .map(|gi| -p.leaf_scale * clipped_weight(*gi, s.h, p))
        .collect()
}

/// What the builder needs at every node.
pub(super) struct Ctx<'a> {
    pub(super) binned: &'a Binned,
    pub(super) stats: &'a RowStats<'a>,
    pub(super) allowed: &'a [usize],
    pub(super) p: &'a TreeParams,
    pub(super) k: usize,
    /// f64s per histogram bin: `k` gradient sums, the weight sum, the row count.
    pub(super) stride: usize,
    /// Start of each allowed feature's bins in a histogram buffer.
    pub(super) offsets: Vec<usize>,
    pub(super) hist_len: usize,
    /// A node sweeps a histogram when `rows · log2(rows) >= hist_factor × mean bins per
    /// feature`, else it sorts its rows per feature: zeroing and sweeping every bin costs
    /// more than sorting a few rows (the small nodes of deep trees).
    pub(super) hist_factor: f64,
    pub(super) mean_bins: usize,
}

/// Running left-side sums while sweeping split candidates, and the best split so far.
struct Sweep<'a> {
    ctx: &'a Ctx<'a>,
    parent: &'a NodeStats,
    parent_score: f64,
    n: usize,
    g: Vec<f64>,
    h: f64,
    count: usize,
    best: Option<(usize, f64, f64, usize)>,
    best_g: Vec<f64>,
}

impl<'a> Sweep<'a> {
    fn new(ctx: &'a Ctx<'a>, parent: &'a NodeStats, parent_score: f64) -> Sweep<'a> {
        Sweep {
            ctx,
            parent,
            parent_score,
            n: parent.count,
            g: vec![0.0; ctx.k],
            h: 0.0,
            count: 0,
            best: None,
            best_g: vec![0.0; ctx.k],
        }
    }

    /// Rows of bins `<= bin` go left: is that the best split so far?
    fn consider(&mut self, bin: usize) {
        let p = self.ctx.p;
        let min_leaf = p.min_samples_leaf.max(1);
        if self.count < min_leaf || self.n - self.count < min_leaf {
            return;
        }
        let h_r = self.parent.h - self.h;
        if self.h < p.min_child_weight || h_r < p.min_child_weight {
            return;
        }
        let (den_l, den_r) = (self.h + p.lambda, h_r + p.lambda);
        if den_l <= 0.0 || den_r <= 0.0 {
            return;
        }
        let (mut sum_l, mut sum_r) = (0.0, 0.0);
        for (gl, gp) in self.g.iter().zip(&self.parent.g) {
            sum_l += score1(*gl, self.h, p);
            sum_r += score1(gp - gl, h_r, p);
        }
        let gain = sum_l + sum_r - self.parent_score;
        if self.best.is_none_or(|b| gain > b.1) {
            self.best = Some((bin, gain, self.h, self.count));
            self.best_g.copy_from_slice(&self.g);
        }
    }

    fn finish(self, feature: usize) -> Option<Split> {
        let best_g = self.best_g;
        self.best.map(|(bin, gain, h, count)| Split {
            feature,
            bin,
            gain,
            left: NodeStats {
                g: best_g,
                h,
                count,
            },
        })
    }
}

impl Ctx<'_> {
    pub(super) fn splittable(&self, n: usize, depth: usize) -> bool {
        depth < self.p.max_depth
            && n >= self.p.min_samples_split.max(2)
            && n >= 2 * self.p.min_samples_leaf
    }

    pub(super) fn hist_mode(&self, n: usize) -> bool {
        let n = n as f64;
        n * n.max(1.0).log2() >= self.hist_factor * self.mean_bins as f64
    }

    /// Histogram of `rows` for the features at positions `features` in `allowed`.
    pub(super) fn fill_hist(&self, hist: &mut Vec<f64>, rows: &[u32], features: &[usize]) {
        hist.resize(self.hist_len, 0.0);
        let (k, stride) = (self.k, self.stride);
        let (g, h) = (self.stats.g, self.stats.h);
        for &fi in features {
            let f = self.allowed[fi];
            let region =
                &mut hist[self.offsets[fi]..self.offsets[fi] + self.binned.n_bins(f) * stride];
            region.iter_mut().for_each(|v| *v = 0.0);
            let codes = self.binned.col(f);
            if k == 1 {
                for &r in rows {
                    let r = r as usize;
                    let b = codes[r] as usize * 3;
                    region[b] += g[r];
                    region[b + 1] += h[r];
                    region[b + 2] += 1.0;
                }
            } else {
                for &r in rows {
                    let r = r as usize;
                    let b = codes[r] as usize * stride;
                    region[b..b + k]
                        .iter_mut()
                        .zip(&g[r * k..(r + 1) * k])
                        .for_each(|(a, v)| *a += v);
                    region[b + k] += h[r];
                    region[b + k + 1] += 1.0;
                }
            }
        }
    }

    pub(super) fn split_from_hist(
        &self,
        hist: &[f64],
        fi: usize,
        parent: &NodeStats,
        parent_score: f64,
    ) -> Option<Split> {
        let nb = self.binned.n_bins(self.allowed[fi]);
        if nb < 2 {
            return None;
        }
        let (k, stride) = (self.k, self.stride);
        let region = &hist[self.offsets[fi]..self.offsets[fi] + nb * stride];
        if k == 1 && self.p.alpha == 0.0 && self.p.max_delta_step <= 0.0 {
            return self.split_from_hist_scalar(region, nb, fi, parent, parent_score);
        }
        let mut sweep = Sweep::new(self, parent, parent_score);
        for b in 0..nb - 1 {
            let bin = &region[b * stride..(b + 1) * stride];
            let count = bin[k + 1] as usize;
            if count == 0 {
                continue;
            }
            sweep.count += count;
            if sweep.count >= sweep.n {
                break;
            }
            sweep.h += bin[k];
            sweep.g.iter_mut().zip(&bin[..k]).for_each(|(a, v)| *a += v);
            sweep.consider(b);
        }
        sweep.finish(fi)
    }

    /// [`split_from_hist`](Self::split_from_hist) for one output and no L1 term (boosting,
    /// regression trees): the same arithmetic on scalars, which the sweep's
    /// general-case vectors slow down.
    fn split_from_hist_scalar(
        &self,
        region: &[f64],
        nb: usize,
        fi: usize,
        parent: &NodeStats,
        parent_score: f64,
    ) -> Option<Split> {
        // The hottest loop of boosting: counts stay f64 (exact below 2^53) and the best
        // candidate lives in plain locals.
        let p = self.p;
        let min_leaf = p.min_samples_leaf.max(1) as f64;
        let (gp, hp, n) = (parent.g[0], parent.h, parent.count as f64);
        let (mut gl, mut hl, mut cl) = (0.0, 0.0, 0.0);
        let (mut best_gain, mut best_bin) = (f64::NEG_INFINITY, usize::MAX);
        let (mut best_g, mut best_h, mut best_c) = (0.0, 0.0, 0.0);
        for (b, bin) in region.chunks_exact(3).take(nb - 1).enumerate() {
            let c = bin[2];
            if c == 0.0 {
                continue;
            }
            cl += c;
            if cl >= n {
                break;
            }
            gl += bin[0];
            hl += bin[1];
            let hr = hp - hl;
            let (den_l, den_r) = (hl + p.lambda, hr + p.lambda);
            if cl < min_leaf
                || n - cl < min_leaf
                || hl < p.min_child_weight
                || hr < p.min_child_weight
                || den_l <= 0.0
                || den_r <= 0.0
            {
                continue;
            }
            let gr = gp - gl;
            let gain = (gl * gl) / den_l + (gr * gr) / den_r - parent_score;
            if gain > best_gain {
                (best_gain, best_bin, best_g, best_h, best_c) = (gain, b, gl, hl, cl);
            }
        }
        (best_bin != usize::MAX).then(|| Split {
            feature: fi,
            bin: best_bin,
            gain: best_gain,
            left: NodeStats {
                g: vec![best_g],
                h: best_h,
                count: best_c as usize,
            },
        })
    }

    pub(super) fn split_sorted(
        &self,
        pairs: &mut Vec<(u16, u32)>,
        fi: usize,
        rows: &[u32],
        parent: &NodeStats,
        parent_score: f64,
    ) -> Option<Split> {
        let f = self.allowed[fi];
        if self.binned.n_bins(f) < 2 {
            return None;
        }
        let k = self.k;
        let codes = self.binned.col(f);
        pairs.clear();
        pairs.extend(rows.iter().map(|&r| (codes[r as usize], r)));
        pairs.sort_unstable();
        let mut sweep = Sweep::new(self, parent, parent_score);
        for i in 0..pairs.len() {
            let (bin, r) = pairs[i];
            let r = r as usize;
            sweep.count += 1;
            sweep.h += self.stats.h[r];
            sweep
                .g
                .iter_mut()
                .zip(&self.stats.g[r * k..(r + 1) * k])
                .for_each(|(a, v)| *a += v);
            if i + 1 < pairs.len() && pairs[i + 1].0 != bin {
                sweep.consider(bin as usize);
            }
        }
        sweep.finish(fi)
    }
}
