//! The one call into `matrixmultiply`: C = α·op(A)·op(B) + β·C on row-major `f32` slices,
//! with every bound checked before the unsafe call.

/// A row-major matrix view, optionally read transposed.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    /// Read as its transpose (`cols × rows`).
    pub t: bool,
}

impl<'a> View<'a> {
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> View<'a> {
        View {
            data,
            rows,
            cols,
            t: false,
        }
    }

    pub fn t(self) -> View<'a> {
        View { t: !self.t, ..self }
    }

    /// (rows, cols) as read, and the (row, column) strides of that reading.
    fn shape(&self) -> (usize, usize, isize, isize) {
        let (rs, cs) = (self.cols as isize, 1isize);
        if self.t {
            (self.cols, self.rows, cs, rs)
        } else {
            (self.rows, self.cols, rs, cs)
        }
    }
}

/// `c` (`m × n`, row-major) = `alpha`·a·b + `beta`·c. Shapes that do not fit are a bug in
/// the caller: they panic here rather than touch memory out of bounds.
pub(super) fn gemm(alpha: f32, a: View<'_>, b: View<'_>, beta: f32, c: &mut [f32]) {
    let (m, k, rsa, csa) = a.shape();
    let (k2, n, rsb, csb) = b.shape();
    assert!(
        k == k2
            && a.data.len() >= a.rows * a.cols
            && b.data.len() >= b.rows * b.cols
            && c.len() >= m * n,
        "gemm shapes: {m}×{k} · {k2}×{n} into {}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c[..m * n].iter_mut().for_each(|v| *v *= beta);
        return;
    }
    // matrixmultiply spreads the rows of C over its threads, so the long side goes
    // first: Cᵀ = Bᵀ·Aᵀ when C has fewer rows than columns (a mini-batch times a
    // weight matrix).
    let (rsc, csc) = (n as isize, 1isize);
    #[allow(unsafe_code)]
    // SAFETY: the assert above checks that every element the strides address lies within
    // the slices (a: m×k read with strides inside a rows×cols buffer, likewise b; c is
    // m×n contiguous), and `c` is borrowed mutably, so it aliases neither input.
    unsafe {
        if m >= n {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                alpha,
                a.data.as_ptr(),
                rsa,
                csa,
                b.data.as_ptr(),
                rsb,
                csb,
                beta,
                c.as_mut_ptr(),
                rsc,
                csc,
            );
        } else {
            matrixmultiply::sgemm(
                n,
                k,
                m,
                alpha,
                b.data.as_ptr(),
                csb,
                rsb,
                a.data.as_ptr(),
                csa,
                rsa,
                beta,
                c.as_mut_ptr(),
                csc,
                rsc,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut t = vec![0.0; x.len()];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = x[r * cols + c];
            }
        }
        t
    }

    #[test]
    fn every_orientation_matches_the_naive_product() {
        for (m, k, n) in [(3, 4, 5), (7, 2, 1), (1, 6, 9), (10, 13, 40), (40, 13, 10)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want = naive(&a, &b, m, k, n);
            let at = transpose(&a, m, k);
            let bt = transpose(&b, k, n);
            for (va, vb) in [
                (View::new(&a, m, k), View::new(&b, k, n)),
                (View::new(&at, k, m).t(), View::new(&b, k, n)),
                (View::new(&a, m, k), View::new(&bt, n, k).t()),
                (View::new(&at, k, m).t(), View::new(&bt, n, k).t()),
            ] {
                let mut c = vec![1.0; m * n];
                gemm(1.0, va, vb, 1.0, &mut c);
                for (got, want) in c.iter().zip(&want) {
                    assert!((got - 1.0 - want).abs() < 1e-4, "{m}×{k}×{n}: {got} {want}");
                }
            }
        }
    }
}
