//! Pre-binning of features for histogram tree building.
//!
//! A feature with at most `max_bins` distinct training values gets one bin per value, so
//! split search over bins is exactly the classic sorted-value search (thresholds are the
//! midpoints between neighbouring values, as in scikit-learn). Features with more
//! distinct values get equal-frequency bins.

use crate::data::Matrix;

pub(crate) struct Binned {
    pub rows: usize,
    /// Bin code per (feature, row), feature-major.
    codes: Vec<u16>,
    /// Per feature: ascending split thresholds; bin `b` holds values `<= thresholds[b]`
    /// and `> thresholds[b - 1]`. A feature has `thresholds.len() + 1` bins.
    pub thresholds: Vec<Vec<f64>>,
}

pub(crate) const MAX_BINS: usize = u16::MAX as usize + 1;

impl Binned {
    pub fn new(x: &Matrix, max_bins: usize) -> Binned {
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let mut codes = vec![0u16; x.rows * x.cols];
        let mut thresholds = Vec::with_capacity(x.cols);
        let mut column: Vec<(f64, u32)> = Vec::with_capacity(x.rows);
        for f in 0..x.cols {
            column.clear();
            column.extend((0..x.rows).map(|r| (x.get(r, f), r as u32)));
            column.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let cuts = cut_points(&column, max_bins);
            // Sorted values walk the cuts once instead of a binary search per value.
            let out = &mut codes[f * x.rows..(f + 1) * x.rows];
            let mut bin = 0usize;
            for &(v, r) in &column {
                while bin < cuts.len() && cuts[bin] < v {
                    bin += 1;
                }
                out[r as usize] = bin as u16;
            }
            thresholds.push(cuts);
        }
        Binned {
            rows: x.rows,
            codes,
            thresholds,
        }
    }

    pub fn n_bins(&self, f: usize) -> usize {
        self.thresholds[f].len() + 1
    }

    pub fn col(&self, f: usize) -> &[u16] {
        &self.codes[f * self.rows..(f + 1) * self.rows]
    }
}

/// Thresholds between neighbouring distinct values, at most `max_bins - 1` of them.
fn cut_points(sorted: &[(f64, u32)], max_bins: usize) -> Vec<f64> {
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &(v, _) in sorted {
        match distinct.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let midpoint = |a: f64, b: f64| {
        let m = a + (b - a) / 2.0;
        // Neighbouring floats: the midpoint may round up to `b`, which must stay right.
        if m < b { m } else { a }
    };
    if distinct.len() <= max_bins {
        return distinct
            .windows(2)
            .map(|w| midpoint(w[0].0, w[1].0))
            .collect();
    }
    let n = sorted.len() as f64;
    let mut cuts = Vec::with_capacity(max_bins - 1);
    let mut seen = 0usize;
    for w in distinct.windows(2) {
        seen += w[0].1;
        let next_target = (cuts.len() + 1) as f64 * n / max_bins as f64;
        if seen as f64 >= next_target && cuts.len() + 1 < max_bins {
            cuts.push(midpoint(w[0].0, w[1].0));
        }
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_bins_for_few_values() {
        let x = Matrix {
            rows: 5,
            cols: 1,
            data: vec![3.0, 1.0, 2.0, 1.0, 3.0],
        };
        let b = Binned::new(&x, 256);
        assert_eq!(b.thresholds[0], vec![1.5, 2.5]);
        assert_eq!(b.col(0), &[2, 0, 1, 0, 2]);
    }

    #[test]
    fn quantile_bins_for_many_values() {
        let x = Matrix {
            rows: 1000,
            cols: 1,
            data: (0..1000).map(|i| i as f64).collect(),
        };
        let b = Binned::new(&x, 10);
        assert_eq!(b.n_bins(0), 10);
        let codes = b.col(0);
        assert!(codes.windows(2).all(|w| w[0] <= w[1]));
        // every training value lies on the right side of every threshold
        for (r, &c) in codes.iter().enumerate() {
            let v = r as f64;
            if (c as usize) < b.thresholds[0].len() {
                assert!(v <= b.thresholds[0][c as usize]);
            }
            if c > 0 {
                assert!(v > b.thresholds[0][c as usize - 1]);
            }
        }
    }
}
