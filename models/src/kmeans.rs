//! `KMeans`: Lloyd's algorithm from a greedy k-means++ start (as scikit-learn), on the
//! encoded features as they are (not standardized, also as scikit-learn).

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, Resolved, spec};
use crate::data::{Matrix, column_moments};
use crate::error::{ModelError, Result};
use crate::optim::dist2;
use crate::rng::Rng;
use crate::threads::{self, THREADS};

pub(crate) const SPECS: &[AttrSpec] = &[
    spec::int("model.n_clusters", 1, 3),
    spec::int("model.max_iter", 1, 300),
    spec::non_negative("model.tol", 1e-4),
    spec::seed("model.seed"),
    THREADS,
];

/// Rows per block of work. Blocks, not threads, decide what is computed together, so
/// the centroids are the same bit for bit whatever the thread count.
const BLOCK: usize = 4096;

pub(crate) const SHAPE_ATTRS: &[&str] = &["model.n_clusters"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KMeans {
    /// `k × d`, row-major.
    centroids: Vec<f64>,
    k: usize,
    d: usize,
    /// Sum of squared distances to the nearest centroid on the training data.
    inertia: f64,
}

impl KMeans {
    pub fn train(
        x: &Matrix,
        attrs: &Resolved,
        warm: Option<&KMeans>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<KMeans> {
        let k = attrs.usize("model.n_clusters");
        if x.rows < k {
            return Err(ModelError::InvalidData(format!(
                "KMeans with model.n_clusters = {k} needs at least {k} rows, got {}",
                x.rows
            )));
        }
        let d = x.cols;
        let threads = threads::count(attrs);
        let mut rng = Rng::new(attrs.seed("model.seed"));
        let mut centroids = match warm {
            Some(w) if w.k == k && w.d == d => w.centroids.clone(),
            Some(_) => {
                return Err(ModelError::WarmStart(
                    "the existing model's cluster count or features differ".into(),
                ));
            }
            None => kmeans_plus_plus(x, k, &mut rng, threads),
        };
        // scikit-learn's tolerance: relative to the data's mean per-feature variance.
        let tol = attrs.float("model.tol") * mean_variance(x);
        let max_iter = attrs.usize("model.max_iter");
        let iterations = lloyd_hamerly(x, &mut centroids, k, max_iter, tol, threads);
        let inertia = inertia(x, &centroids, threads);
        if !inertia.is_finite() {
            return Err(ModelError::Training(
                "KMeans produced non-finite centroids".into(),
            ));
        }
        progress(&format!(
            "KMeans stopped after {iterations} iterations: inertia {inertia:.4}"
        ));
        Ok(KMeans {
            centroids,
            k,
            d,
            inertia,
        })
    }

    pub fn predict(&self, x: &Matrix) -> Vec<usize> {
        assignments(x, &self.centroids, threads::available())
    }

    pub fn check(&self, cols: usize) -> bool {
        self.d == cols
            && self.k > 0
            && self.centroids.len() == self.k.saturating_mul(self.d)
            && self.centroids.iter().all(|v| v.is_finite())
    }
}

/// scikit-learn's `KMeans(n_clusters=k, n_init=n_init)` with its defaults (300
/// iterations, tolerance 1e-4 of the mean variance): `n_init` greedy k-means++ starts,
/// each from its own seeded stream, keeping the run of least inertia. Returns the
/// centroids (`k × d`, row-major) and each row's cluster. `x.rows >= k` is the caller's.
pub(crate) fn best_of(
    x: &Matrix,
    k: usize,
    n_init: usize,
    seed: u64,
    threads: usize,
) -> (Vec<f64>, Vec<usize>) {
    let tol = 1e-4 * mean_variance(x);
    let mut best: Option<(f64, Vec<f64>)> = None;
    for run in 0..n_init.max(1) {
        let mut rng = Rng::derive(seed, run as u64);
        let mut centroids = kmeans_plus_plus(x, k, &mut rng, threads);
        lloyd_hamerly(x, &mut centroids, k, 300, tol, threads);
        let inertia = inertia(x, &centroids, threads);
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, centroids));
        }
    }
    let centroids = best.map(|(_, c)| c).unwrap_or_default();
    let assign = assignments(x, &centroids, threads);
    (centroids, assign)
}

/// Each row's nearest centroid.
fn assignments(x: &Matrix, centroids: &[f64], threads: usize) -> Vec<usize> {
    let mut assign = vec![0usize; x.rows];
    threads::map_row_blocks(threads, BLOCK, &mut assign, |first, part| {
        for (i, a) in part.iter_mut().enumerate() {
            *a = nearest(centroids, x.cols, x.row(first + i)).0;
        }
    });
    assign
}

/// Σ squared distance to the nearest centroid, summed block by block in block order.
fn inertia(x: &Matrix, centroids: &[f64], threads: usize) -> f64 {
    threads::sum_blocks(threads, x.rows, BLOCK, |rows| {
        rows.map(|r| nearest(centroids, x.cols, x.row(r)).1).sum()
    })
}

fn nearest(centroids: &[f64], d: usize, row: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centroid) in centroids.chunks(d.max(1)).enumerate() {
        let dd = dist2(row, centroid);
        if dd < best.1 {
            best = (c, dd);
        }
    }
    best
}

/// Nearest and second-nearest centroid distances (not squared) for one row.
fn two_nearest(centroids: &[f64], d: usize, row: &[f64]) -> (usize, f64, f64) {
    let (mut best, mut d1, mut d2) = (0, f64::INFINITY, f64::INFINITY);
    let k = centroids.len() / d.max(1);
    for c in 0..k {
        let dd = dist2(row, &centroids[c * d..(c + 1) * d]);
        if dd < d1 {
            (best, d2, d1) = (c, d1, dd);
        } else if dd < d2 {
            d2 = dd;
        }
    }
    (best, d1.sqrt(), d2.sqrt())
}

/// A row's cluster and Hamerly's bounds: `upper` on the distance to its own centroid,
/// `lower` on the distance to every other.
#[derive(Debug, Clone, Copy, Default)]
struct RowState {
    cluster: usize,
    upper: f64,
    lower: f64,
}

/// Lloyd's iterations with Hamerly's bounds: a row whose distance to its centroid is
/// below a lower bound on the distance to every other centroid keeps its cluster
/// without computing any distance, which makes the late iterations cheap. Gives the
/// same result as plain Lloyd. Stops when the centroids move less than `tol` (sum of
/// squared shifts) or no row changes cluster. Returns the iterations run.
///
/// Rows are assigned in blocks on up to `threads` threads; the cluster sums are then
/// updated with the moved rows in row order, as one thread would.
fn lloyd_hamerly(
    x: &Matrix,
    centroids: &mut [f64],
    k: usize,
    max_iter: usize,
    tol: f64,
    threads: usize,
) -> usize {
    let (n, d) = (x.rows, x.cols);
    let mut rows = vec![RowState::default(); n];
    let reset = |centroids: &[f64], rows: &mut [RowState]| {
        threads::map_row_blocks(threads, BLOCK, rows, |first, part| {
            for (i, s) in part.iter_mut().enumerate() {
                let (cluster, upper, lower) = two_nearest(centroids, d, x.row(first + i));
                *s = RowState {
                    cluster,
                    upper,
                    lower,
                };
            }
        });
    };
    reset(centroids, &mut rows);
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    let mut shifts = vec![0.0; k];
    let mut half_gap = vec![0.0; k];
    let mut new = vec![0.0; d];
    // Cluster sums are kept up to date as rows move, so each update costs O(k·d) plus
    // the moved rows, not a pass over all rows.
    let recount = |rows: &[RowState], sums: &mut [f64], counts: &mut [usize]| {
        sums.iter_mut().for_each(|v| *v = 0.0);
        counts.iter_mut().for_each(|v| *v = 0);
        for (r, s) in rows.iter().enumerate() {
            let c = s.cluster;
            counts[c] += 1;
            sums[c * d..(c + 1) * d]
                .iter_mut()
                .zip(x.row(r))
                .for_each(|(s, v)| *s += v);
        }
    };
    recount(&rows, &mut sums, &mut counts);
    for iteration in 1..=max_iter {
        let mut relocated = false;
        let mut total_shift = 0.0;
        for c in 0..k {
            if counts[c] > 0 {
                new.iter_mut()
                    .zip(&sums[c * d..(c + 1) * d])
                    .for_each(|(v, s)| *v = s / counts[c] as f64);
            } else {
                // An empty cluster takes the row farthest from its centroid.
                let far = (0..n)
                    .max_by(|&a, &b| rows[a].upper.total_cmp(&rows[b].upper))
                    .unwrap_or(0);
                rows[far].upper = 0.0;
                new.copy_from_slice(x.row(far));
                relocated = true;
            }
            let moved = dist2(&new, &centroids[c * d..(c + 1) * d]);
            shifts[c] = moved.sqrt();
            total_shift += moved;
            centroids[c * d..(c + 1) * d].copy_from_slice(&new);
        }
        if total_shift <= tol {
            return iteration;
        }
        if relocated {
            reset(centroids, &mut rows);
            recount(&rows, &mut sums, &mut counts);
            continue;
        }
        let max_shift = shifts.iter().copied().fold(0.0, f64::max);
        for c in 0..k {
            half_gap[c] = 0.5
                * (0..k)
                    .filter(|&o| o != c)
                    .map(|o| {
                        dist2(
                            &centroids[c * d..(c + 1) * d],
                            &centroids[o * d..(o + 1) * d],
                        )
                        .sqrt()
                    })
                    .fold(f64::INFINITY, f64::min);
        }
        let centroids = &*centroids;
        let (shifts, half_gap) = (&shifts, &half_gap);
        // Each block's moves: (row, from, to).
        let moves = threads::map_row_blocks(threads, BLOCK, &mut rows, |first, part| {
            let mut moves = Vec::new();
            for (i, s) in part.iter_mut().enumerate() {
                let r = first + i;
                s.upper += shifts[s.cluster];
                s.lower -= max_shift;
                let bound = half_gap[s.cluster].max(s.lower);
                if s.upper <= bound {
                    continue;
                }
                let a = s.cluster;
                s.upper = dist2(x.row(r), &centroids[a * d..(a + 1) * d]).sqrt();
                if s.upper <= bound {
                    continue;
                }
                // The distance to the own centroid is fresh (`upper`): only the others
                // remain.
                let (mut best, mut d1, mut d2) = (a, s.upper, f64::INFINITY);
                for c in (0..k).filter(|&c| c != a) {
                    let dc = dist2(x.row(r), &centroids[c * d..(c + 1) * d]).sqrt();
                    if dc < d1 {
                        (best, d2, d1) = (c, d1, dc);
                    } else if dc < d2 {
                        d2 = dc;
                    }
                }
                if best != a {
                    moves.push((r, a, best));
                }
                *s = RowState {
                    cluster: best,
                    upper: d1,
                    lower: d2,
                };
            }
            moves
        });
        let mut changed = 0usize;
        for (r, from, to) in moves.into_iter().flatten() {
            changed += 1;
            let row = x.row(r);
            sums[from * d..(from + 1) * d]
                .iter_mut()
                .zip(row)
                .for_each(|(s, v)| *s -= v);
            sums[to * d..(to + 1) * d]
                .iter_mut()
                .zip(row)
                .for_each(|(s, v)| *s += v);
            counts[from] -= 1;
            counts[to] += 1;
        }
        if changed == 0 {
            return iteration;
        }
    }
    max_iter
}

fn mean_variance(x: &Matrix) -> f64 {
    let (_, var) = column_moments(x);
    var.iter().sum::<f64>() / x.cols.max(1) as f64
}

/// Greedy k-means++: each new centre is the best of `2 + ln k` candidates drawn with
/// probability proportional to the squared distance to the centres so far.
fn kmeans_plus_plus(x: &Matrix, k: usize, rng: &mut Rng, threads: usize) -> Vec<f64> {
    let d = x.cols;
    let n = x.rows;
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centroids = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centroids.extend_from_slice(x.row(first));
    let mut closest = vec![0.0; n];
    threads::map_row_blocks(threads, BLOCK, &mut closest, |start, part| {
        for (i, c) in part.iter_mut().enumerate() {
            *c = dist2(x.row(start + i), x.row(first));
        }
    });
    let mut candidate_dist = vec![0.0; n];
    let mut best_dist = vec![0.0; n];
    for _ in 1..k {
        let potential: f64 = closest.iter().sum();
        let mut best: Option<(f64, usize)> = None;
        for _ in 0..trials {
            let target = rng.next_f64() * potential;
            let mut acc = 0.0;
            let mut pick = n - 1;
            for (r, dd) in closest.iter().enumerate() {
                acc += dd;
                if acc > target {
                    pick = r;
                    break;
                }
            }
            let closest = &closest;
            threads::map_row_blocks(threads, BLOCK, &mut candidate_dist, |start, part| {
                for (i, c) in part.iter_mut().enumerate() {
                    let r = start + i;
                    *c = closest[r].min(dist2(x.row(r), x.row(pick)));
                }
            });
            // Summed on one thread, in row order: the same potential on any thread count.
            let pot: f64 = candidate_dist.iter().sum();
            if best.is_none_or(|b| pot < b.0) {
                best = Some((pot, pick));
                std::mem::swap(&mut best_dist, &mut candidate_dist);
            }
        }
        if let Some((_, pick)) = best {
            centroids.extend_from_slice(x.row(pick));
            std::mem::swap(&mut closest, &mut best_dist);
        }
    }
    centroids
}
