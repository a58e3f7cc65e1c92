//! Growing a tree: level by level (with histogram subtraction) or loss-guided (best
//! gain first, up to `max_leaves`), on the features each node samples.

use crate::binning::Binned;
use crate::rng::Rng;

use super::model::Tree;
use super::split::{Ctx, NodeStats, Split, leaf_value, score};

#[derive(Debug, Clone)]
pub(crate) struct TreeParams {
    /// `usize::MAX`: unlimited.
    pub max_depth: usize,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub min_child_weight: f64,
    pub lambda: f64,
    pub alpha: f64,
    /// A split must gain more than this (on top of a tiny relative epsilon).
    pub min_gain: f64,
    /// Features tried per node (sampled anew at each node when fewer than allowed).
    pub max_features: usize,
    pub leaf_scale: f64,
    /// XGBoost's `colsample_bylevel` / `colsample_bynode`: the fraction of the tree's
    /// features each depth level samples, and each node from its level's.
    pub colsample_bylevel: f64,
    pub colsample_bynode: f64,
    /// XGBoost's `max_delta_step`: a leaf's weight (before `leaf_scale`) is clipped to
    /// ±this; 0: no clipping.
    pub max_delta_step: f64,
    /// XGBoost's `max_leaves` (0: no limit) and `grow_policy = lossguide` (split the
    /// node with the best gain first instead of level by level).
    pub max_leaves: usize,
    pub lossguide: bool,
    /// Threads a node's histogram may be built on (the tree is the same for any count).
    pub threads: usize,
}

impl TreeParams {
    /// CART settings: every feature at every node, no clipping, no leaf limit.
    pub fn cart(max_depth: usize, min_samples_split: usize, min_samples_leaf: usize) -> Self {
        TreeParams {
            max_depth,
            min_samples_split,
            min_samples_leaf,
            min_child_weight: 0.0,
            lambda: 0.0,
            alpha: 0.0,
            min_gain: 0.0,
            max_features: usize::MAX,
            leaf_scale: 1.0,
            colsample_bylevel: 1.0,
            colsample_bynode: 1.0,
            max_delta_step: 0.0,
            max_leaves: 0,
            lossguide: false,
            threads: 1,
        }
    }

    fn samples_columns(&self, allowed: usize) -> bool {
        self.max_features < allowed || self.colsample_bylevel < 1.0 || self.colsample_bynode < 1.0
    }
}

/// Per-row statistics the tree is grown on.
pub(crate) struct RowStats<'a> {
    /// `rows × k`.
    pub g: &'a [f64],
    pub h: &'a [f64],
    pub k: usize,
}

/// Grows one tree on `rows` (reordered in place). `allowed` lists the features this tree
/// may use (all, or XGBoost's `colsample_bytree` subset).
pub(crate) fn build(
    binned: &Binned,
    rows: &mut [u32],
    stats: &RowStats<'_>,
    allowed: &[usize],
    p: &TreeParams,
    rng: &mut Rng,
) -> Tree {
    let mut leaves = Vec::new();
    build_with(binned, rows, stats, allowed, p, rng, 2.5, &mut leaves)
}

/// Like [`build`], and also reports where each leaf's rows ended up: `(leaf node, start,
/// end)` into the reordered `rows`, so boosting can update its predictions without
/// walking the tree again.
pub(crate) fn build_with_leaves(
    binned: &Binned,
    rows: &mut [u32],
    stats: &RowStats<'_>,
    allowed: &[usize],
    p: &TreeParams,
    rng: &mut Rng,
    leaves: &mut Vec<(usize, usize, usize)>,
) -> Tree {
    leaves.clear();
    build_with(binned, rows, stats, allowed, p, rng, 2.5, leaves)
}

/// `build_with` with each node's cover recorded (the sum of `h` over its rows).
#[allow(clippy::too_many_arguments)]
fn build_with(
    binned: &Binned,
    rows: &mut [u32],
    stats: &RowStats<'_>,
    allowed: &[usize],
    p: &TreeParams,
    rng: &mut Rng,
    hist_factor: f64,
    leaves: &mut Vec<(usize, usize, usize)>,
) -> Tree {
    let mut tree = grow_tree(binned, rows, stats, allowed, p, rng, hist_factor, leaves);
    tree.set_covers(leaves, rows, stats.h);
    tree
}

/// A node waiting to be split.
struct Pending {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    stats: NodeStats,
    /// The node's histogram over all allowed features, when it was derived by subtraction.
    hist: Option<Vec<f64>>,
}

/// `hist_factor`: see [`Ctx::hist_factor`] (tests force either path).
#[allow(clippy::too_many_arguments)]
fn grow_tree(
    binned: &Binned,
    rows: &mut [u32],
    stats: &RowStats<'_>,
    allowed: &[usize],
    p: &TreeParams,
    rng: &mut Rng,
    hist_factor: f64,
    leaves: &mut Vec<(usize, usize, usize)>,
) -> Tree {
    let k = stats.k;
    // Row counts per bin serve only `min_samples_leaf` > 1 and classification; without
    // them a bin is one add shorter (the hottest loop of boosting). Bins are then empty
    // when their weight is 0 (every row has a positive weight), and a child's row count
    // comes from the partition.
    let counts = k > 1 || p.min_samples_leaf > 1;
    let stride = k + 1 + usize::from(counts);
    let mut offsets = Vec::with_capacity(allowed.len());
    let mut total_bins = 0;
    for &f in allowed {
        offsets.push(total_bins * stride);
        total_bins += binned.n_bins(f);
    }
    let ctx = Ctx {
        binned,
        stats,
        allowed,
        p,
        k,
        stride,
        counts,
        offsets,
        hist_len: total_bins * stride,
        hist_factor,
        mean_bins: total_bins / allowed.len().max(1),
    };
    // Histogram subtraction (a child's histogram = parent's − sibling's) needs every
    // feature's histogram at every node, so it is off when nodes sample features.
    let subtract = !p.samples_columns(allowed.len());

    let mut tree = Tree {
        feature: Vec::new(),
        threshold: Vec::new(),
        left: Vec::new(),
        right: Vec::new(),
        gain: Vec::new(),
        values: Vec::new(),
        k,
        cover: Vec::new(),
    };
    let mut root = NodeStats {
        g: vec![0.0; k],
        h: 0.0,
        count: rows.len(),
    };
    for &r in rows.iter() {
        let r = r as usize;
        root.h += stats.h[r];
        root.g
            .iter_mut()
            .zip(&stats.g[r * k..(r + 1) * k])
            .for_each(|(a, b)| *a += b);
    }
    tree.leaf(leaf_value(&root, p));
    let mut levels: Vec<Option<Vec<usize>>> = Vec::new();
    if p.max_leaves > 0 || p.lossguide {
        return grow_guided(&ctx, tree, root, rows, rng, &mut levels, leaves);
    }
    let mut pool: Vec<Vec<f64>> = Vec::new();
    let mut scratch = Vec::new();
    let mut pairs: Vec<(u16, u32)> = Vec::new();
    let mut features: Vec<usize> = Vec::with_capacity(allowed.len());
    let mut stack = vec![Pending {
        node: 0,
        start: 0,
        end: rows.len(),
        depth: 0,
        stats: root,
        hist: None,
    }];
    while let Some(mut job) = stack.pop() {
        let n = job.end - job.start;
        if !ctx.splittable(n, job.depth) {
            pool.extend(job.hist.take());
            leaves.push((job.node, job.start, job.end));
            continue;
        }
        // Positions in `allowed` of the features tried at this node.
        node_features(p, allowed.len(), job.depth, rng, &mut levels, &mut features);
        let node_rows = &rows[job.start..job.end];
        let parent_score = score(&job.stats.g, job.stats.h, p);
        let hist_mode = ctx.hist_mode(n);
        let hist = if hist_mode {
            Some(match job.hist.take() {
                Some(h) => h,
                None => {
                    let mut h = pool.pop().unwrap_or_default();
                    ctx.fill_hist(&mut h, node_rows, &features);
                    h
                }
            })
        } else {
            pool.extend(job.hist.take());
            None
        };
        let threshold = p.min_gain + 1e-12 * parent_score.abs();
        let mut best: Option<Split> = None;
        for &fi in &features {
            let found = match &hist {
                Some(h) => ctx.split_from_hist(h, fi, &job.stats, parent_score),
                None => ctx.split_sorted(&mut pairs, fi, node_rows, &job.stats, parent_score),
            };
            if let Some(s) = found
                && s.gain > threshold
                && best.as_ref().is_none_or(|b| s.gain > b.gain)
            {
                best = Some(s);
            }
        }
        let Some(split) = best else {
            pool.extend(hist);
            leaves.push((job.node, job.start, job.end));
            continue;
        };
        let f = allowed[split.feature];
        let codes = binned.col(f);
        let mid = job.start
            + partition(
                &mut rows[job.start..job.end],
                &mut scratch,
                p.threads,
                |r| codes[r as usize] as usize <= split.bin,
            );
        let mut left = split.left;
        left.count = mid - job.start;
        let right = NodeStats {
            g: job
                .stats
                .g
                .iter()
                .zip(&left.g)
                .map(|(a, b)| a - b)
                .collect(),
            h: job.stats.h - left.h,
            count: job.end - mid,
        };
        let left_id = tree.leaf(leaf_value(&left, p));
        let right_id = tree.leaf(leaf_value(&right, p));
        tree.feature[job.node] = f as u32;
        tree.threshold[job.node] = binned.thresholds[f][split.bin];
        tree.left[job.node] = left_id as u32;
        tree.right[job.node] = right_id as u32;
        tree.gain[job.node] = split.gain;

        let (n_left, n_right) = (mid - job.start, job.end - mid);
        let depth = job.depth + 1;
        let (mut left_hist, mut right_hist) = (None, None);
        if let Some(mut parent_hist) = hist {
            let larger_left = n_left >= n_right;
            let (larger_n, smaller_range) = if larger_left {
                (n_left, mid..job.end)
            } else {
                (n_right, job.start..mid)
            };
            // Subtracting costs one pass over the whole histogram; it pays when the
            // larger child has more rows than a feature has bins.
            if subtract
                && ctx.splittable(larger_n, depth)
                && ctx.hist_mode(larger_n)
                && larger_n >= ctx.mean_bins
            {
                let mut small = pool.pop().unwrap_or_default();
                ctx.fill_hist(&mut small, &rows[smaller_range], &features);
                parent_hist
                    .iter_mut()
                    .zip(&small)
                    .for_each(|(p, s)| *p -= s);
                let small = if ctx.splittable(n - larger_n, depth) && ctx.hist_mode(n - larger_n) {
                    Some(small)
                } else {
                    pool.push(small);
                    None
                };
                if larger_left {
                    (left_hist, right_hist) = (Some(parent_hist), small);
                } else {
                    (left_hist, right_hist) = (small, Some(parent_hist));
                }
            } else {
                pool.push(parent_hist);
            }
        }
        stack.push(Pending {
            node: right_id,
            start: mid,
            end: job.end,
            depth,
            stats: right,
            hist: right_hist,
        });
        stack.push(Pending {
            node: left_id,
            start: job.start,
            end: mid,
            depth,
            stats: left,
            hist: left_hist,
        });
    }
    tree
}

/// The positions in `allowed` of the features a node at `depth` tries: all of them, a
/// forest's `max_features` sample, or XGBoost's per-level then per-node samples (a
/// level's sample is drawn once per tree, when the level is first reached).
fn node_features(
    p: &TreeParams,
    allowed: usize,
    depth: usize,
    rng: &mut Rng,
    levels: &mut Vec<Option<Vec<usize>>>,
    out: &mut Vec<usize>,
) {
    out.clear();
    if !p.samples_columns(allowed) {
        out.extend(0..allowed);
        return;
    }
    if p.colsample_bylevel >= 1.0 && p.colsample_bynode >= 1.0 {
        out.extend(rng.sample_indices(allowed, p.max_features));
        return;
    }
    let count =
        |fraction: f64, n: usize| ((fraction * n as f64).floor() as usize).clamp(1, n.max(1));
    let level: Vec<usize> = if p.colsample_bylevel < 1.0 {
        if levels.len() <= depth {
            levels.resize(depth + 1, None);
        }
        levels[depth]
            .get_or_insert_with(|| rng.sample_indices(allowed, count(p.colsample_bylevel, allowed)))
            .clone()
    } else {
        (0..allowed).collect()
    };
    if p.colsample_bynode < 1.0 {
        let picks = rng.sample_indices(level.len(), count(p.colsample_bynode, level.len()));
        out.extend(picks.into_iter().map(|i| level[i]));
    } else {
        out.extend(level);
    }
}

/// A node waiting in [`grow_guided`]'s frontier with its best split.
struct Candidate {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    stats: NodeStats,
    split: Split,
}

/// The order [`grow_guided`] expands nodes in: the best gain first (`lossguide`), or
/// level by level in creation order (`depthwise` with `max_leaves`).
#[derive(PartialEq)]
struct Priority(f64, std::cmp::Reverse<usize>);

impl Eq for Priority {}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Nodes with a split waiting to be applied, best [`Priority`] first.
struct Frontier {
    heap: std::collections::BinaryHeap<(Priority, usize)>,
    waiting: Vec<Option<Candidate>>,
    lossguide: bool,
}

impl Frontier {
    fn push(&mut self, c: Candidate) {
        let key = if self.lossguide {
            c.split.gain
        } else {
            -(c.depth as f64)
        };
        let id = self.waiting.len();
        self.heap.push((Priority(key, std::cmp::Reverse(id)), id));
        self.waiting.push(Some(c));
    }

    fn pop(&mut self) -> Option<Candidate> {
        while let Some((_, id)) = self.heap.pop() {
            if let Some(c) = self.waiting.get_mut(id).and_then(Option::take) {
                return Some(c);
            }
        }
        None
    }
}

/// Grows the tree node by node in [`Priority`] order until no node gains from a split or
/// `max_leaves` leaves exist. Each node's split is found when the node is created (its
/// gain decides its turn), from its own histogram or sorted rows: no histogram
/// subtraction, which would keep one histogram per waiting node.
fn grow_guided(
    ctx: &Ctx<'_>,
    mut tree: Tree,
    root: NodeStats,
    rows: &mut [u32],
    rng: &mut Rng,
    levels: &mut Vec<Option<Vec<usize>>>,
    leaves: &mut Vec<(usize, usize, usize)>,
) -> Tree {
    let p = ctx.p;
    let mut hist = Vec::new();
    let mut pairs = Vec::new();
    let mut features = Vec::new();
    let mut find =
        |rows: &[u32], depth: usize, stats: &NodeStats, rng: &mut Rng| -> Option<Split> {
            if !ctx.splittable(rows.len(), depth) {
                return None;
            }
            node_features(p, ctx.allowed.len(), depth, rng, levels, &mut features);
            let parent_score = score(&stats.g, stats.h, p);
            let threshold = p.min_gain + 1e-12 * parent_score.abs();
            let hist_mode = ctx.hist_mode(rows.len());
            if hist_mode {
                ctx.fill_hist(&mut hist, rows, &features);
            }
            let mut best: Option<Split> = None;
            for &fi in &features {
                let found = if hist_mode {
                    ctx.split_from_hist(&hist, fi, stats, parent_score)
                } else {
                    ctx.split_sorted(&mut pairs, fi, rows, stats, parent_score)
                };
                if let Some(s) = found
                    && s.gain > threshold
                    && best.as_ref().is_none_or(|b| s.gain > b.gain)
                {
                    best = Some(s);
                }
            }
            best
        };
    let mut scratch = Vec::new();
    let mut frontier = Frontier {
        heap: std::collections::BinaryHeap::new(),
        waiting: Vec::new(),
        lossguide: p.lossguide,
    };
    let n = rows.len();
    match find(rows, 0, &root, rng) {
        Some(split) => frontier.push(Candidate {
            node: 0,
            start: 0,
            end: n,
            depth: 0,
            stats: root,
            split,
        }),
        None => leaves.push((0, 0, n)),
    }
    let mut n_leaves = 1usize;
    while let Some(c) = frontier.pop() {
        if p.max_leaves > 0 && n_leaves >= p.max_leaves {
            leaves.push((c.node, c.start, c.end));
            continue;
        }
        let split = c.split;
        let f = ctx.allowed[split.feature];
        let codes = ctx.binned.col(f);
        let mid = c.start
            + partition(&mut rows[c.start..c.end], &mut scratch, p.threads, |r| {
                codes[r as usize] as usize <= split.bin
            });
        let mut left = split.left;
        left.count = mid - c.start;
        let right = NodeStats {
            g: c.stats.g.iter().zip(&left.g).map(|(a, b)| a - b).collect(),
            h: c.stats.h - left.h,
            count: c.end - mid,
        };
        let left_id = tree.leaf(leaf_value(&left, p));
        let right_id = tree.leaf(leaf_value(&right, p));
        tree.feature[c.node] = f as u32;
        tree.threshold[c.node] = ctx.binned.thresholds[f][split.bin];
        tree.left[c.node] = left_id as u32;
        tree.right[c.node] = right_id as u32;
        tree.gain[c.node] = split.gain;
        n_leaves += 1;
        for (node, start, end, stats) in
            [(left_id, c.start, mid, left), (right_id, mid, c.end, right)]
        {
            match find(&rows[start..end], c.depth + 1, &stats, rng) {
                Some(split) => frontier.push(Candidate {
                    node,
                    start,
                    end,
                    depth: c.depth + 1,
                    stats,
                    split,
                }),
                None => leaves.push((node, start, end)),
            }
        }
    }
    tree
}

/// Moves the rows satisfying `goes_left` to the front, both sides keeping their order
/// (so histograms read rows in ascending order); returns how many go left. `scratch`
/// holds the right side meanwhile. A stable partition is unique, so sharing a large node
/// out over `threads` threads (each partitions a stretch, then the stretches are joined
/// in order) gives the same rows.
fn partition(
    rows: &mut [u32],
    scratch: &mut Vec<u32>,
    threads: usize,
    goes_left: impl Fn(u32) -> bool + Sync,
) -> usize {
    const PARALLEL_ROWS: usize = 1 << 16;
    scratch.clear();
    scratch.resize(rows.len(), 0);
    // Stretches of at least half the threshold: a huge `train.threads` spawns no more.
    let threads = threads.clamp(1, (2 * rows.len() / PARALLEL_ROWS).max(1));
    if threads == 1 {
        let left = partition_run(rows, scratch, &goes_left);
        let right = rows.len() - left;
        rows[left..].copy_from_slice(&scratch[..right]);
        return left;
    }
    let per = rows.len().div_ceil(threads);
    let goes_left = &goes_left;
    let lefts: Vec<usize> = std::thread::scope(|scope| {
        let mut parts = rows.chunks_mut(per).zip(scratch.chunks_mut(per));
        let first = parts.next();
        let handles: Vec<_> = parts
            .map(|(r, s)| scope.spawn(move || partition_run(r, s, goes_left)))
            .collect();
        let mut lefts = vec![first.map_or(0, |(r, s)| partition_run(r, s, goes_left))];
        for h in handles {
            match h.join() {
                Ok(l) => lefts.push(l),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        lefts
    });
    // Stretch i is [its lefts | stale] in `rows`, its rights at the front of its stretch
    // of `scratch`: lefts slide down (never onto a later stretch's unread lefts), then
    // the rights follow.
    let mut at = 0;
    for (i, &l) in lefts.iter().enumerate() {
        rows.copy_within(i * per..i * per + l, at);
        at += l;
    }
    let left_total = at;
    for (i, &l) in lefts.iter().enumerate() {
        let len = per.min(rows.len() - i * per);
        let right = len - l;
        rows[at..at + right].copy_from_slice(&scratch[i * per..i * per + right]);
        at += right;
    }
    left_total
}

/// Stable partition of `rows`: the lefts to its front (returned: how many), the rights
/// to the front of `scratch` (as long as `rows`).
fn partition_run(rows: &mut [u32], scratch: &mut [u32], goes_left: &impl Fn(u32) -> bool) -> usize {
    let (mut left, mut right) = (0, 0);
    for j in 0..rows.len() {
        let r = rows[j];
        // Both writes happen and one counter moves: no branch to mispredict.
        let l = goes_left(r);
        rows[left] = r;
        scratch[right] = r;
        left += usize::from(l);
        right += usize::from(!l);
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Matrix;
    use crate::tree::model::LEAF;

    fn params() -> TreeParams {
        TreeParams::cart(usize::MAX, 2, 1)
    }

    /// A tree on every row with `hist_factor` (0: always histograms, infinity: always
    /// sorting).
    fn grow_all_rows(
        binned: &Binned,
        stats: &RowStats<'_>,
        allowed: &[usize],
        p: &TreeParams,
        hist_factor: f64,
    ) -> Tree {
        let mut rows: Vec<u32> = (0..binned.rows as u32).collect();
        build_with(
            binned,
            &mut rows,
            stats,
            allowed,
            p,
            &mut Rng::new(0),
            hist_factor,
            &mut Vec::new(),
        )
    }

    #[test]
    fn partition_is_stable_whatever_the_threads() {
        let n = 200_000u32;
        let keep = |r: u32| (r.wrapping_mul(2_654_435_761) >> 7).is_multiple_of(3);
        let rows: Vec<u32> = (0..n).filter(|r| !r.is_multiple_of(5)).collect();
        let want: Vec<u32> = rows
            .iter()
            .copied()
            .filter(|&r| keep(r))
            .chain(rows.iter().copied().filter(|&r| !keep(r)))
            .collect();
        for threads in [1, 2, 3] {
            let mut got = rows.clone();
            let left = partition(&mut got, &mut Vec::new(), threads, keep);
            assert_eq!(left, rows.iter().filter(|&&r| keep(r)).count());
            assert!(got == want, "{threads} threads");
        }
    }

    #[test]
    fn regression_tree_fits_a_step() {
        let x = Matrix {
            rows: 6,
            cols: 1,
            data: vec![1.0, 2.0, 3.0, 10.0, 11.0, 12.0],
        };
        let y = [0.0, 0.0, 0.0, 5.0, 5.0, 5.0];
        let h = [1.0; 6];
        let binned = Binned::new(&x, 256);
        let mut rows: Vec<u32> = (0..6).collect();
        let stats = RowStats { g: &y, h: &h, k: 1 };
        let tree = build(
            &binned,
            &mut rows,
            &stats,
            &[0],
            &params(),
            &mut Rng::new(0),
        );
        assert_eq!(tree.n_nodes(), 3);
        assert_eq!(tree.threshold[0], 6.5);
        assert_eq!(tree.predict_row(&[2.5]), &[0.0]);
        assert_eq!(tree.predict_row(&[7.0]), &[5.0]);
        assert!(tree.check(1, 1));
    }

    #[test]
    fn sorted_and_histogram_paths_agree() {
        let mut rng = Rng::new(3);
        let n = 300;
        let x = Matrix {
            rows: n,
            cols: 2,
            data: (0..2 * n).map(|_| rng.next_f64() * 10.0).collect(),
        };
        let y: Vec<f64> = (0..n)
            .map(|r| (x.get(r, 0)).sin() + 0.3 * x.get(r, 1))
            .collect();
        let h = vec![1.0; n];
        let binned = Binned::new(&x, 1024);
        let stats = RowStats { g: &y, h: &h, k: 1 };
        let grow = |factor| grow_all_rows(&binned, &stats, &[0, 1], &params(), factor);
        let (hist, sorted) = (grow(0.0), grow(f64::INFINITY));
        assert!(hist.n_nodes() > 100);
        for (r, yr) in y.iter().enumerate() {
            assert_eq!(hist.predict_row(x.row(r)), sorted.predict_row(x.row(r)));
            // a fully grown tree isolates every row (right children's sums come from a
            // subtraction, hence the tolerance)
            assert!((hist.predict_row(x.row(r))[0] - yr).abs() < 1e-9);
        }
    }

    #[test]
    fn boosting_style_trees_agree_across_paths() {
        let mut rng = Rng::new(5);
        let n = 2000;
        let x = Matrix {
            rows: n,
            cols: 3,
            data: (0..3 * n)
                .map(|_| (rng.next_f64() * 50.0).floor())
                .collect(),
        };
        let g: Vec<f64> = (0..n)
            .map(|r| x.get(r, 0) * 0.01 - x.get(r, 1) * x.get(r, 2) * 0.001 + rng.next_f64())
            .collect();
        let h: Vec<f64> = (0..n).map(|_| 0.2 + rng.next_f64()).collect();
        let binned = Binned::new(&x, 256);
        let stats = RowStats { g: &g, h: &h, k: 1 };
        let p = TreeParams {
            max_depth: 6,
            min_child_weight: 1.0,
            lambda: 1.0,
            min_gain: 1e-6,
            leaf_scale: -0.3,
            ..params()
        };
        let grow = |factor| grow_all_rows(&binned, &stats, &[0, 1, 2], &p, factor);
        let (hist, sorted, mixed) = (grow(0.0), grow(f64::INFINITY), grow(2.5));
        assert!(hist.n_nodes() > 50, "{}", hist.n_nodes());
        assert_eq!(hist.feature, sorted.feature);
        assert_eq!(hist.threshold, sorted.threshold);
        assert_eq!(mixed.threshold, sorted.threshold);
    }

    fn reachable_leaves(t: &Tree) -> usize {
        let mut stack = vec![0usize];
        let mut leaves = 0;
        while let Some(n) = stack.pop() {
            if t.feature[n] == LEAF {
                leaves += 1;
            } else {
                stack.push(t.left[n] as usize);
                stack.push(t.right[n] as usize);
            }
        }
        leaves
    }

    #[test]
    fn leaf_limits_and_loss_guided_growth() {
        let mut rng = Rng::new(11);
        let n = 400;
        let x = Matrix {
            rows: n,
            cols: 2,
            // x0 takes two values, so its step is found exactly
            data: (0..2 * n)
                .map(|i| {
                    let u = rng.next_f64();
                    if i % 2 == 0 {
                        if u < 0.5 { 0.25 } else { 0.75 }
                    } else {
                        u
                    }
                })
                .collect(),
        };
        // a strong step on x0, a weak one on x1
        let y: Vec<f64> = (0..n)
            .map(|r| {
                10.0 * f64::from(u8::from(x.get(r, 0) > 0.5))
                    + f64::from(u8::from(x.get(r, 1) > 0.3))
            })
            .collect();
        let h = vec![1.0; n];
        let binned = Binned::new(&x, 64);
        let stats = RowStats { g: &y, h: &h, k: 1 };
        let grow = |p: &TreeParams| {
            let mut leaves = Vec::new();
            let mut rows: Vec<u32> = (0..n as u32).collect();
            let t = build_with_leaves(
                &binned,
                &mut rows,
                &stats,
                &[0, 1],
                p,
                &mut Rng::new(0),
                &mut leaves,
            );
            let covered: usize = leaves.iter().map(|(_, a, b)| b - a).sum();
            assert_eq!(covered, n, "every row ends in one reported leaf");
            assert_eq!(leaves.len(), reachable_leaves(&t));
            t
        };
        let limited = |max_leaves, lossguide| TreeParams {
            max_leaves,
            lossguide,
            ..params()
        };
        // two leaves: the one split with the most gain, on x0 at 0.5
        let two = grow(&limited(2, true));
        assert_eq!(reachable_leaves(&two), 2);
        assert_eq!(two.feature[0], 0);
        for p in [limited(3, true), limited(3, false)] {
            assert_eq!(reachable_leaves(&grow(&p)), 3, "lossguide {}", p.lossguide);
        }
        let seven = reachable_leaves(&grow(&limited(7, true)));
        assert!((4..=7).contains(&seven), "{seven}");
        // loss-guided: the second split is x1's, in the half with the larger gain, not
        // another x0 split
        let three = grow(&limited(3, true));
        let split_features: Vec<u32> = three
            .feature
            .iter()
            .copied()
            .filter(|f| *f != LEAF)
            .collect();
        assert_eq!(split_features, vec![0, 1]);
        // without a limit both policies grow the same partition
        let depth3 = |lossguide| TreeParams {
            max_depth: 3,
            lossguide,
            ..params()
        };
        let (a, b) = (grow(&depth3(false)), grow(&depth3(true)));
        for r in 0..n {
            assert_eq!(a.predict_row(x.row(r)), b.predict_row(x.row(r)));
        }
    }
}
