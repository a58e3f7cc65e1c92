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
    /// The same codes row-major (`rows × features`), one byte each when every feature
    /// has at most 256 bins: histograms are built row by row, each row's gradient read
    /// once for all its features (XGBoost's layout).
    by_row: RowCodes,
    /// Per feature: ascending split thresholds; bin `b` holds values `<= thresholds[b]`
    /// and `> thresholds[b - 1]`. A feature has `thresholds.len() + 1` bins.
    pub thresholds: Vec<Vec<f64>>,
}

/// Row-major bin codes in the narrowest type that holds them.
pub(crate) enum RowCodes {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

pub(crate) const MAX_BINS: usize = u16::MAX as usize + 1;

impl Binned {
    #[cfg(test)]
    pub fn new(x: &Matrix, max_bins: usize) -> Binned {
        Binned::with_threads(x, max_bins, 1)
    }

    /// Bins every feature, features spread over `threads` threads (the result does not
    /// depend on it).
    pub fn with_threads(x: &Matrix, max_bins: usize, threads: usize) -> Binned {
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let per_feature = crate::threads::map(threads, x.cols, |f| {
            bin_feature(
                (0..x.rows).map(|r| (x.get(r, f), r as u32)).collect(),
                max_bins,
            )
        });
        Binned::assemble(x.rows, per_feature)
    }

    /// Bins `cols` features of `rows` rows whose values `column(f)` makes one feature at
    /// a time, as (value, row) for every row in row order, so that no more than
    /// `threads` features' values exist at once (never the whole matrix). The bins are those [`with_threads`](Self::with_threads) gives the
    /// matrix of the same columns; the first error in feature order is returned.
    pub fn from_columns<E: Send>(
        rows: usize,
        cols: usize,
        max_bins: usize,
        threads: usize,
        column: impl Fn(usize) -> Result<Vec<(f64, u32)>, E> + Sync,
    ) -> Result<Binned, E> {
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let per_feature = crate::threads::map(threads, cols, |f| {
            column(f).map(|values| bin_feature(values, max_bins))
        });
        Ok(Binned::assemble(
            rows,
            per_feature.into_iter().collect::<Result<Vec<_>, E>>()?,
        ))
    }

    fn assemble(rows: usize, per_feature: Vec<(Vec<u16>, Vec<f64>)>) -> Binned {
        let cols = per_feature.len();
        let mut codes = Vec::with_capacity(rows * cols);
        let mut thresholds = Vec::with_capacity(cols);
        for (c, t) in per_feature {
            codes.extend_from_slice(&c);
            thresholds.push(t);
        }
        let narrow = thresholds.iter().all(|t| t.len() < 256);
        let transpose = |out: &mut dyn FnMut(u16)| {
            for r in 0..rows {
                for f in 0..cols {
                    out(codes[f * rows + r]);
                }
            }
        };
        let by_row = if narrow {
            let mut v = Vec::with_capacity(rows * cols);
            // `narrow`: every code is below 256.
            transpose(&mut |c| v.push(c as u8));
            RowCodes::U8(v)
        } else {
            let mut v = Vec::with_capacity(rows * cols);
            transpose(&mut |c| v.push(c));
            RowCodes::U16(v)
        };
        Binned {
            rows,
            codes,
            by_row,
            thresholds,
        }
    }

    pub fn n_bins(&self, f: usize) -> usize {
        self.thresholds[f].len() + 1
    }

    pub fn n_features(&self) -> usize {
        self.thresholds.len()
    }

    pub fn col(&self, f: usize) -> &[u16] {
        &self.codes[f * self.rows..(f + 1) * self.rows]
    }

    pub fn by_row(&self) -> &RowCodes {
        &self.by_row
    }
}

/// One feature's codes (by row) and thresholds from its (value, row) pairs.
fn bin_feature(mut column: Vec<(f64, u32)>, max_bins: usize) -> (Vec<u16>, Vec<f64>) {
    column.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let cuts = cut_points(column.iter().copied(), max_bins);
    // Sorted values walk the cuts once instead of a binary search per value.
    let mut out = vec![0u16; column.len()];
    let mut bin = 0usize;
    for &(v, r) in &column {
        while bin < cuts.len() && cuts[bin] < v {
            bin += 1;
        }
        out[r as usize] = bin as u16;
    }
    (out, cuts)
}

/// Thresholds between neighbouring distinct values, at most `max_bins - 1` of them.
fn cut_points(sorted: impl ExactSizeIterator<Item = (f64, u32)>, max_bins: usize) -> Vec<f64> {
    let n = sorted.len() as f64;
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for (v, _) in sorted {
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
        assert!(matches!(b.by_row(), RowCodes::U8(v) if v == &[2, 0, 1, 0, 2]));
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
        let wide = Binned::with_threads(&x, 300, 2);
        assert_eq!(wide.n_bins(0), 300);
        assert!(matches!(wide.by_row(), RowCodes::U16(v) if v == wide.col(0)));
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
