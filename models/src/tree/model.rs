//! The fitted tree: parallel node arrays, prediction, gains and the checks a loaded
//! model must pass.

use serde::{Deserialize, Serialize};

use crate::data::Matrix;

pub(super) const LEAF: u32 = u32::MAX;

/// A fitted tree, stored as parallel arrays (compact when serialized).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    pub(super) feature: Vec<u32>,
    pub(super) threshold: Vec<f64>,
    pub(super) left: Vec<u32>,
    pub(super) right: Vec<u32>,
    pub(super) gain: Vec<f64>,
    /// `nodes × k`: leaf outputs.
    pub(super) values: Vec<f64>,
    pub(super) k: usize,
    /// Per node: the training weight that reached it (Σ hessian for boosting, the
    /// bootstrap-weighted row count for CART), as XGBoost's `cover` and scikit-learn's
    /// `weighted_n_node_samples`; Tree SHAP weighs the unknown branch by it. Empty in
    /// models saved before it was recorded (older builds ignore the field, so the format
    /// version is unchanged); SHAP then estimates it from the explained rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) cover: Vec<f64>,
}

impl Tree {
    pub(super) fn leaf(&mut self, value: Vec<f64>) -> usize {
        self.feature.push(LEAF);
        self.threshold.push(0.0);
        self.left.push(0);
        self.right.push(0);
        self.gain.push(0.0);
        self.values.extend(value);
        self.feature.len() - 1
    }

    /// A tree from its arrays (tests build trees by hand): `cover` may be empty.
    #[cfg(test)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        feature: Vec<u32>,
        threshold: Vec<f64>,
        left: Vec<u32>,
        right: Vec<u32>,
        values: Vec<f64>,
        k: usize,
        cover: Vec<f64>,
    ) -> Tree {
        let gain = vec![0.0; feature.len()];
        Tree {
            feature,
            threshold,
            left,
            right,
            gain,
            values,
            k,
            cover,
        }
    }

    pub fn n_nodes(&self) -> usize {
        self.feature.len()
    }

    /// The leaf output for one encoded row.
    pub fn predict_row(&self, row: &[f64]) -> &[f64] {
        let mut node = 0usize;
        while self.feature[node] != LEAF {
            let f = self.feature[node] as usize;
            node = if row[f] <= self.threshold[node] {
                self.left[node]
            } else {
                self.right[node]
            } as usize;
        }
        &self.values[node * self.k..(node + 1) * self.k]
    }

    /// Records each node's cover from where the rows ended up: `leaves` holds (leaf
    /// node, start, end) into `rows`, `h` each row's weight. Internal nodes sum their
    /// children (children come after their parent).
    pub(crate) fn set_covers(&mut self, leaves: &[(usize, usize, usize)], rows: &[u32], h: &[f64]) {
        let n = self.n_nodes();
        let mut cover = vec![0.0; n];
        for &(node, start, end) in leaves {
            if let (Some(c), Some(rs)) = (cover.get_mut(node), rows.get(start..end)) {
                *c = rs
                    .iter()
                    .map(|&r| h.get(r as usize).copied().unwrap_or(0.0))
                    .sum();
            }
        }
        for i in (0..n).rev() {
            if self.feature[i] != LEAF {
                cover[i] = cover[self.left[i] as usize] + cover[self.right[i] as usize];
            }
        }
        self.cover = cover;
    }

    /// Node covers: the stored ones, or (older models) how many of `x`'s rows pass
    /// through each node.
    pub(crate) fn covers_or_count(&self, x: &crate::data::Matrix) -> Vec<f64> {
        if self.cover.len() == self.n_nodes() {
            return self.cover.clone();
        }
        let mut cover = vec![0.0; self.n_nodes()];
        for r in 0..x.rows {
            let row = x.row(r);
            let mut node = 0usize;
            cover[0] += 1.0;
            while self.feature[node] != LEAF {
                node = self.child(node, row);
                cover[node] += 1.0;
            }
        }
        cover
    }

    /// The child of split `node` that `row` goes to (NaN goes right, as in prediction).
    pub(crate) fn child(&self, node: usize, row: &[f64]) -> usize {
        let f = self.feature[node] as usize;
        (if row[f] <= self.threshold[node] {
            self.left[node]
        } else {
            self.right[node]
        }) as usize
    }

    /// `None` for a leaf, else (feature, left, right).
    pub(crate) fn split_of(&self, node: usize) -> Option<(usize, usize, usize)> {
        (self.feature[node] != LEAF).then(|| {
            (
                self.feature[node] as usize,
                self.left[node] as usize,
                self.right[node] as usize,
            )
        })
    }

    /// The `k` outputs of `node`.
    pub(crate) fn node_values(&self, node: usize) -> &[f64] {
        &self.values[node * self.k..(node + 1) * self.k]
    }

    pub(crate) fn outputs(&self) -> usize {
        self.k
    }

    /// First output of `node` (boosting trees have one).
    pub fn leaf_value(&self, node: usize) -> f64 {
        self.values[node * self.k]
    }

    /// Adds each split's gain to its feature.
    pub fn add_gains(&self, importance: &mut [f64]) {
        for (f, g) in self.feature.iter().zip(&self.gain) {
            if let Some(slot) = importance.get_mut(*f as usize) {
                *slot += g;
            }
        }
    }

    /// Structural checks for loaded models: every path ends in a leaf, indices are in range.
    pub fn check(&self, cols: usize, k: usize) -> bool {
        let n = self.feature.len();
        n > 0
            && self.k == k
            && self.threshold.len() == n
            && self.left.len() == n
            && self.right.len() == n
            && self.gain.len() == n
            && self.values.len() == n.saturating_mul(k)
            && (self.cover.is_empty()
                || (self.cover.len() == n && self.cover.iter().all(|c| c.is_finite() && *c >= 0.0)))
            && self
                .values
                .iter()
                .chain(&self.threshold)
                .all(|v| v.is_finite())
            && (0..n).all(|i| {
                self.feature[i] == LEAF
                    || ((self.feature[i] as usize) < cols
                        // children after their parent: traversal always terminates
                        && (self.left[i] as usize) > i
                        && (self.right[i] as usize) > i
                        && (self.left[i] as usize) < n
                        && (self.right[i] as usize) < n)
            })
    }
}

/// Predicts every row of `x` with `tree`, adding `scale ×` the leaf value to `out`
/// (`rows × k`).
pub(crate) fn accumulate(tree: &Tree, x: &Matrix, scale: f64, out: &mut [f64]) {
    let k = tree.k;
    for r in 0..x.rows {
        let v = tree.predict_row(x.row(r));
        out[r * k..(r + 1) * k]
            .iter_mut()
            .zip(v)
            .for_each(|(o, vi)| *o += scale * vi);
    }
}
