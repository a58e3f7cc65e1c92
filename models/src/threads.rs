//! `train.threads` and the small amount of fork-join the models need, on
//! `std::thread::scope` (no thread pool, no dependency).
//!
//! Results never depend on the thread count: work is cut into parts whose boundaries
//! depend only on the data (fixed row blocks, one feature per part), each part computes
//! what it would alone, and parts are combined in their index order. So a model trained
//! with `train.threads = 1` is bit-identical to one trained with 2 or 16.

use crate::attrs::{AttrSpec, AttrType, AttrValue, Resolved};
use crate::data::whole_number;

/// `train.threads`: how many threads training may use. 0 or unset: the cores
/// [`std::thread::available_parallelism`] reports.
pub(crate) const THREADS: AttrSpec = AttrSpec {
    name: "train.threads",
    aliases: &[],
    ty: AttrType::Custom {
        expected: "an integer >= 0 (0: every core available to the job)",
        normalize: normalize_threads,
    },
    default: None,
};

/// XGBoost's spellings of the same setting (`nthread`, scikit-learn's `n_jobs`, where -1
/// means every core).
pub(crate) const XGB_THREADS: AttrSpec = AttrSpec {
    aliases: &["nthread", "n_jobs"],
    ..THREADS
};

fn normalize_threads(value: &AttrValue) -> Option<AttrValue> {
    let n = match value {
        AttrValue::Int(i) => *i,
        AttrValue::Float(f) => whole_number(*f)?,
        _ => return None,
    };
    match n {
        -1 => Some(AttrValue::Int(0)),
        n if n >= 0 => Some(AttrValue::Int(n)),
        _ => None,
    }
}

/// The thread count `train.threads` asks for: the value, or for 0 / unset what
/// `available_parallelism` reports. On Linux that is the CPU affinity mask (`taskset`,
/// a container's cpuset) further capped by a cgroup v2 / v1 CPU quota (`cpu.max`,
/// `cpu.cfs_quota_us`, rounded down, at least 1); other limits (a parent cgroup's quota
/// on cgroup v1, CPU shares or weights) are not seen. 1 when it cannot tell.
pub(crate) fn count(attrs: &Resolved) -> usize {
    match attrs.opt_int("train.threads") {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(1),
        _ => available(),
    }
}

pub(crate) fn available() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// `f(part)` for `part` in `0..parts`, on up to `threads` threads; the results in part
/// order. Thread `t` takes parts `t, t + threads, ...`, so costs that grow with the index
/// are shared evenly.
pub(crate) fn map<T: Send>(threads: usize, parts: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, parts.max(1));
    if threads == 1 {
        return (0..parts).map(f).collect();
    }
    let f = &f;
    let mut slots: Vec<Option<T>> = (0..parts).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..parts)
                        .step_by(threads)
                        .map(|i| (i, f(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for i in (0..parts).step_by(threads) {
            slots[i] = Some(f(i));
        }
        for h in handles {
            // A panicking part is a bug; re-raise it here rather than lose its result.
            match h.join() {
                Ok(done) => done.into_iter().for_each(|(i, v)| slots[i] = Some(v)),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
    });
    slots.into_iter().flatten().collect()
}

/// `f(first row, a rows, b rows)` for each block of `block` rows of `a` and `b`
/// (`rows × width` each), blocks shared out over up to `threads` threads in contiguous
/// runs; the results in block order. Block boundaries depend only on `block`, so a sum of
/// the results is the same for any thread count. Small inputs stay on the calling thread.
pub(crate) fn map_row_blocks2<A: Send, B: Send, T: Send>(
    threads: usize,
    width: usize,
    block: usize,
    a: &mut [A],
    b: &mut [B],
    f: impl Fn(usize, &mut [A], &mut [B]) -> T + Sync,
) -> Vec<T> {
    let width = width.max(1);
    let step = block.max(1) * width;
    let n_blocks = a.len().div_ceil(step);
    let threads = if a.len() < MIN_PARALLEL_ELEMENTS {
        1
    } else {
        threads.clamp(1, n_blocks.max(1))
    };
    let run = |first_block: usize, a: &mut [A], b: &mut [B]| -> Vec<T> {
        a.chunks_mut(step)
            .zip(b.chunks_mut(step))
            .enumerate()
            .map(|(i, (ca, cb))| f((first_block + i) * block.max(1), ca, cb))
            .collect()
    };
    if threads == 1 {
        return run(0, a, b);
    }
    let per = n_blocks.div_ceil(threads) * step;
    let run = &run;
    std::thread::scope(|scope| {
        let mut parts = a.chunks_mut(per).zip(b.chunks_mut(per)).enumerate();
        let first = parts.next();
        let handles: Vec<_> = parts
            .map(|(t, (ca, cb))| scope.spawn(move || run(t * per / step, ca, cb)))
            .collect();
        let mut out = first.map_or_else(Vec::new, |(_, (ca, cb))| run(0, ca, cb));
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}

/// [`map_row_blocks2`] over one slice of per-row values (width 1).
pub(crate) fn map_row_blocks<A: Send, T: Send>(
    threads: usize,
    block: usize,
    a: &mut [A],
    f: impl Fn(usize, &mut [A]) -> T + Sync,
) -> Vec<T> {
    // Zero-sized: allocates nothing.
    let mut none = vec![(); a.len()];
    map_row_blocks2(threads, 1, block, a, &mut none, |first, a, _| f(first, a))
}

/// Below this many elements a pass over rows is not worth a thread.
const MIN_PARALLEL_ELEMENTS: usize = 1 << 15;

/// Σ `f(block)` over `0..n` cut into fixed blocks of `block`, blocks summed in order: the
/// same number whatever the thread count.
pub(crate) fn sum_blocks(
    threads: usize,
    n: usize,
    block: usize,
    f: impl Fn(std::ops::Range<usize>) -> f64 + Sync,
) -> f64 {
    let block = block.max(1);
    let parts = n.div_ceil(block);
    map(threads, parts, |i| f(i * block..((i + 1) * block).min(n)))
        .into_iter()
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_part_order() {
        for threads in [1, 2, 3, 8] {
            let v = map(threads, 10, |i| i * i);
            assert_eq!(v, (0..10).map(|i| i * i).collect::<Vec<_>>(), "{threads}");
        }
        assert!(map(4, 0, |i| i).is_empty());
    }

    #[test]
    fn blocks_see_their_index_whatever_the_threads() {
        let values: Vec<f64> = (0..1000).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let sum = |t| sum_blocks(t, values.len(), 64, |r| values[r].iter().sum());
        assert_eq!(sum(1).to_bits(), sum(2).to_bits());
        assert_eq!(sum(1).to_bits(), sum(7).to_bits());
        // Two rows of width 3 per block; big enough to be shared out.
        let n = MIN_PARALLEL_ELEMENTS * 2;
        for threads in [1, 2, 3] {
            let (mut a, mut b) = (vec![0usize; n], vec![0usize; n]);
            let firsts = map_row_blocks2(threads, 2, 1000, &mut a, &mut b, |first, a, b| {
                a.iter_mut().for_each(|v| *v = first);
                b.iter_mut().for_each(|v| *v = a.len());
                first
            });
            let want: Vec<usize> = (0..n.div_ceil(2000)).map(|i| i * 1000).collect();
            assert_eq!(firsts, want, "{threads}");
            assert!(a.iter().enumerate().all(|(i, v)| *v == i / 2000 * 1000));
            assert_eq!(b[n - 1], n % 2000);
        }
    }

    #[test]
    fn threads_attribute_values() {
        assert_eq!(
            normalize_threads(&AttrValue::Int(2)),
            Some(AttrValue::Int(2))
        );
        assert_eq!(
            normalize_threads(&AttrValue::Int(-1)),
            Some(AttrValue::Int(0))
        );
        assert_eq!(
            normalize_threads(&AttrValue::Float(3.0)),
            Some(AttrValue::Int(3))
        );
        assert_eq!(normalize_threads(&AttrValue::Int(-2)), None);
        assert_eq!(normalize_threads(&AttrValue::Str("4".into())), None);
        assert!(available() >= 1);
    }
}
