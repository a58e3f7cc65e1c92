//! Finding a node's best split: the gain and leaf-weight formulas, and the sweep over
//! a histogram of binned features or over the node's rows sorted per feature.

use crate::binning::{Binned, RowCodes};

/// A node's histogram is shared out over threads from this many (row, feature) updates:
/// below it, starting a thread costs more than the work it takes over.
const PARALLEL_UPDATES: usize = 1 << 16;

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

/// The gain of a split with sums `gl`, `hl` on the left of a node with `gp`, `hp` (one
/// output, no L1, no clipping: the histogram sweeps' fast case); `None` where either
/// side is too light.
#[inline]
fn scalar_gain(
    p: &TreeParams,
    gl: f64,
    hl: f64,
    gp: f64,
    hp: f64,
    parent_score: f64,
) -> Option<f64> {
    let hr = hp - hl;
    let (den_l, den_r) = (hl + p.lambda, hr + p.lambda);
    if hl < p.min_child_weight || hr < p.min_child_weight || den_l <= 0.0 || den_r <= 0.0 {
        return None;
    }
    let gr = gp - gl;
    Some((gl * gl) / den_l + (gr * gr) / den_r - parent_score)
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
    /// f64s per histogram bin: `k` gradient sums, the weight sum, and with `counts` the
    /// row count.
    pub(super) stride: usize,
    pub(super) counts: bool,
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

    /// Rows of bins `<= bin` go left: is that the best split so far? Without row counts
    /// (see [`Ctx::counts`]) each side needs a positive weight instead of a row.
    fn consider(&mut self, bin: usize) {
        let p = self.ctx.p;
        let h_r = self.parent.h - self.h;
        if self.ctx.counts {
            let min_leaf = p.min_samples_leaf.max(1);
            if self.count < min_leaf || self.n - self.count < min_leaf {
                return;
            }
        } else if self.h <= 0.0 || h_r <= 0.0 {
            return;
        }
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

    /// Histogram of `rows` for the features at positions `features` in `allowed`. A
    /// large node's features are shared out over `p.threads` threads, each filling its
    /// features' bins from every row in order, so the sums are the same for any count.
    pub(super) fn fill_hist(&self, hist: &mut Vec<f64>, rows: &[u32], features: &[usize]) {
        hist.resize(self.hist_len, 0.0);
        let mut feats = features.to_vec();
        // Ascending positions own ascending stretches of `hist`, which can then be split.
        feats.sort_unstable();
        let threads = if rows.len() * feats.len() >= PARALLEL_UPDATES {
            self.p.threads.clamp(1, feats.len().max(1))
        } else {
            1
        };
        if threads == 1 {
            self.hist_part(hist, 0, rows, &feats);
            return;
        }
        let per = feats.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut rest: &mut [f64] = hist;
            let mut base = 0;
            let mut groups = feats.chunks(per).peekable();
            while let Some(group) = groups.next() {
                let last = group[group.len() - 1];
                let end = self.offsets[last] + self.binned.n_bins(self.allowed[last]) * self.stride;
                let (mine, tail) = std::mem::take(&mut rest).split_at_mut(end - base);
                rest = tail;
                let start = base;
                base = end;
                if groups.peek().is_some() {
                    scope.spawn(move || self.hist_part(mine, start, rows, group));
                } else {
                    self.hist_part(mine, start, rows, group);
                }
            }
        });
    }

    /// Fills the bins of features `feats` (ascending positions in `allowed`) in `out`,
    /// which starts at index `base` of the whole histogram.
    fn hist_part(&self, out: &mut [f64], base: usize, rows: &[u32], feats: &[usize]) {
        // (the feature's column, where its bins start in `out`)
        let cols: Vec<(usize, usize)> = feats
            .iter()
            .map(|&fi| (self.allowed[fi], self.offsets[fi] - base))
            .collect();
        for &(c, off) in &cols {
            out[off..off + self.binned.n_bins(c) * self.stride].fill(0.0);
        }
        match self.binned.by_row() {
            RowCodes::U8(codes) => self.accumulate(codes, out, rows, &cols),
            RowCodes::U16(codes) => self.accumulate(codes, out, rows, &cols),
        }
    }

    /// Row by row: each row's statistics are read once and added to the bin of each
    /// feature in `cols`. Rows come in ascending order (partitions keep it), so the reads
    /// walk memory forward.
    fn accumulate<C: Copy + Into<usize>>(
        &self,
        codes: &[C],
        out: &mut [f64],
        rows: &[u32],
        cols: &[(usize, usize)],
    ) {
        let nf = self.binned.n_features();
        let (k, stride) = (self.k, self.stride);
        let (g, h) = (self.stats.g, self.stats.h);
        if k == 1 && !self.counts {
            for &r in rows {
                let r = r as usize;
                let (gr, hr) = (g[r], h[r]);
                let row = &codes[r * nf..(r + 1) * nf];
                for &(c, off) in cols {
                    let b = off + row[c].into() * 2;
                    let cell = &mut out[b..b + 2];
                    cell[0] += gr;
                    cell[1] += hr;
                }
            }
        } else if k == 1 {
            for &r in rows {
                let r = r as usize;
                let (gr, hr) = (g[r], h[r]);
                let row = &codes[r * nf..(r + 1) * nf];
                for &(c, off) in cols {
                    let b = off + row[c].into() * 3;
                    let cell = &mut out[b..b + 3];
                    cell[0] += gr;
                    cell[1] += hr;
                    cell[2] += 1.0;
                }
            }
        } else {
            for &r in rows {
                let r = r as usize;
                let (gr, hr) = (&g[r * k..(r + 1) * k], h[r]);
                let row = &codes[r * nf..(r + 1) * nf];
                for &(c, off) in cols {
                    let b = off + row[c].into() * stride;
                    let cell = &mut out[b..b + stride];
                    cell[..k].iter_mut().zip(gr).for_each(|(a, v)| *a += v);
                    cell[k] += hr;
                    cell[k + 1] += 1.0;
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
            return if self.counts {
                self.split_from_hist_scalar(region, nb, fi, parent, parent_score)
            } else {
                self.split_from_hist_weights(region, nb, fi, parent, parent_score)
            };
        }
        let mut sweep = Sweep::new(self, parent, parent_score);
        for b in 0..nb - 1 {
            let bin = &region[b * stride..(b + 1) * stride];
            if self.counts {
                let count = bin[k + 1] as usize;
                if count == 0 {
                    continue;
                }
                sweep.count += count;
                if sweep.count >= sweep.n {
                    break;
                }
            } else if bin[k] == 0.0 {
                continue;
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
            if cl < min_leaf || n - cl < min_leaf {
                continue;
            }
            let Some(gain) = scalar_gain(p, gl, hl, gp, hp, parent_score) else {
                continue;
            };
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

    /// [`split_from_hist_scalar`](Self::split_from_hist_scalar) on bins without row
    /// counts (boosting): a bin of weight 0 is empty, and each side needs a positive
    /// weight.
    fn split_from_hist_weights(
        &self,
        region: &[f64],
        nb: usize,
        fi: usize,
        parent: &NodeStats,
        parent_score: f64,
    ) -> Option<Split> {
        let p = self.p;
        let (gp, hp) = (parent.g[0], parent.h);
        let (mut gl, mut hl) = (0.0, 0.0);
        let (mut best_gain, mut best_bin) = (f64::NEG_INFINITY, usize::MAX);
        let (mut best_g, mut best_h) = (0.0, 0.0);
        for (b, bin) in region.chunks_exact(2).take(nb - 1).enumerate() {
            if bin[1] == 0.0 {
                continue;
            }
            gl += bin[0];
            hl += bin[1];
            if hl <= 0.0 || hp - hl <= 0.0 {
                continue;
            }
            let Some(gain) = scalar_gain(p, gl, hl, gp, hp, parent_score) else {
                continue;
            };
            if gain > best_gain {
                (best_gain, best_bin, best_g, best_h) = (gain, b, gl, hl);
            }
        }
        (best_bin != usize::MAX).then(|| Split {
            feature: fi,
            bin: best_bin,
            gain: best_gain,
            left: NodeStats {
                g: vec![best_g],
                h: best_h,
                // Set from the partition.
                count: 0,
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
