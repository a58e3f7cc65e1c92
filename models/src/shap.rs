//! Exact Tree SHAP (Lundberg, Erion and Lee, "Consistent individualized feature
//! attribution for tree ensembles", Algorithm 2): the Shapley values of one tree's output
//! where a coalition's value is the tree's expectation with the absent features
//! integrated out by the training weight of each branch (the node covers), which is
//! shap's `TreeExplainer(feature_perturbation="tree_path_dependent")`. It runs in
//! `O(leaves · depth²)` per row and tree by following each root-to-leaf path once and
//! keeping, for every subset size, the proportion of permutations that reach the leaf.
//!
//! Per row the values and the expected value add up to the tree's output (additivity);
//! ensembles add (boosting, weighted by DART's tree weights) or average (forests) the
//! per-tree values, as their predictions do.

use crate::data::Matrix;
use crate::tree::Tree;

/// At most this many values (rows × outputs × features, 8 bytes each) in one call.
pub(crate) const MAX_VALUES: usize = 50_000_000;

/// Per-row SHAP values of a model's raw output.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapValues {
    /// The encoded feature names, one value per feature.
    pub features: Vec<String>,
    /// What is explained, one entry per output: `"value"` (a regressor's prediction),
    /// a class label (a forest's probability or a multi-class booster's margin of that
    /// class), or `"margin"` (a binary booster's log-odds of the second class).
    pub outputs: Vec<String>,
    /// The expected output per output: what the values of a row add to.
    pub expected_value: Vec<f64>,
    /// `rows × outputs × features`.
    pub values: Vec<f64>,
    pub rows: usize,
}

impl ShapValues {
    /// The values of `row` for `output` (one per feature).
    pub fn row(&self, row: usize, output: usize) -> &[f64] {
        let f = self.features.len();
        let start = (row * self.outputs.len() + output) * f;
        &self.values[start..start + f]
    }

    /// Mean |SHAP| per feature over the rows, summed over the outputs (the length of
    /// shap's stacked bars in a multi-class summary plot).
    pub fn mean_abs(&self) -> Vec<f64> {
        let f = self.features.len();
        let mut out = vec![0.0; f];
        if self.rows == 0 || f == 0 {
            return out;
        }
        for chunk in self.values.chunks(f) {
            out.iter_mut().zip(chunk).for_each(|(o, v)| *o += v.abs());
        }
        let n = self.rows as f64;
        out.iter_mut().for_each(|o| *o /= n);
        out
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    /// `usize::MAX` for the root's placeholder.
    feature: usize,
    zero_fraction: f64,
    one_fraction: f64,
    pweight: f64,
}

fn extend_path(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: usize) {
    path[depth] = PathElement {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        pweight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let d1 = (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64 / d1;
        path[i].pweight = zero * path[i].pweight * (depth - i) as f64 / d1;
    }
}

fn unwind_path(path: &mut [PathElement], depth: usize, index: usize) {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next_one = path[depth].pweight;
    let d1 = (depth + 1) as f64;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].pweight;
            path[i].pweight = next_one * d1 / ((i + 1) as f64 * one);
            next_one = tmp - path[i].pweight * zero * (depth - i) as f64 / d1;
        } else {
            path[i].pweight = path[i].pweight * d1 / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

/// The total permutation weight of the path with element `index` taken out.
fn unwound_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next_one = path[depth].pweight;
    let d1 = (depth + 1) as f64;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = next_one * d1 / ((i + 1) as f64 * one);
            total += tmp;
            next_one = path[i].pweight - tmp * zero * (depth - i) as f64 / d1;
        } else if zero != 0.0 {
            total += path[i].pweight / zero * d1 / (depth - i) as f64;
        }
    }
    total
}

/// One tree prepared for explaining: covers and depth.
struct TreeShap<'a> {
    tree: &'a Tree,
    cover: Vec<f64>,
    depth: usize,
}

impl<'a> TreeShap<'a> {
    /// `x`: the rows being explained, used for the covers of models saved without them.
    fn new(tree: &'a Tree, x: &Matrix) -> TreeShap<'a> {
        let cover = tree.covers_or_count(x);
        let depth = depth_of(tree, 0);
        TreeShap { tree, cover, depth }
    }

    /// The fraction of the weight at split `node` that goes to `child` (0.5 each when the
    /// node saw no weight, so the fractions always sum to 1 and additivity holds).
    fn fraction(&self, node: usize, child: usize) -> f64 {
        let Some((_, l, r)) = self.tree.split_of(node) else {
            return 1.0;
        };
        let total = self.cover[l] + self.cover[r];
        if total > 0.0 && total.is_finite() {
            self.cover[child] / total
        } else {
            0.5
        }
    }

    /// The tree's expected output per output (`k`): its leaves weighted by the
    /// fraction of the weight reaching them.
    fn expected(&self) -> Vec<f64> {
        let k = self.tree.outputs();
        let mut out = vec![0.0; k];
        let mut stack = vec![(0usize, 1.0f64)];
        while let Some((node, w)) = stack.pop() {
            match self.tree.split_of(node) {
                None => out
                    .iter_mut()
                    .zip(self.tree.node_values(node))
                    .for_each(|(o, v)| *o += w * v),
                Some((_, l, r)) => {
                    stack.push((l, w * self.fraction(node, l)));
                    stack.push((r, w * self.fraction(node, r)));
                }
            }
        }
        out
    }

    /// Adds `scale ×` this tree's SHAP values of `row` to `phi` (`outputs × features`,
    /// output-major).
    fn add_row(&self, row: &[f64], scale: f64, phi: &mut [f64], buf: &mut Vec<PathElement>) {
        let need = (self.depth + 2) * (self.depth + 3) / 2;
        if buf.len() < need {
            buf.resize(need, PathElement::default());
        }
        let ctx = Ctx {
            t: self,
            row,
            scale,
            features: row.len(),
        };
        ctx.recurse(0, buf, 0, 1.0, 1.0, usize::MAX, phi);
    }
}

fn depth_of(tree: &Tree, root: usize) -> usize {
    let mut max = 0;
    let mut stack = vec![(root, 0usize)];
    while let Some((node, d)) = stack.pop() {
        max = max.max(d);
        if let Some((_, l, r)) = tree.split_of(node) {
            stack.push((l, d + 1));
            stack.push((r, d + 1));
        }
    }
    max
}

struct Ctx<'a, 'b> {
    t: &'b TreeShap<'a>,
    row: &'b [f64],
    scale: f64,
    features: usize,
}

impl Ctx<'_, '_> {
    /// `buf[..depth]` holds the parent's path; this node's path is built in place
    /// after extending it, and the children's go after it.
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &self,
        node: usize,
        buf: &mut [PathElement],
        mut depth: usize,
        zero: f64,
        one: f64,
        feature: usize,
        phi: &mut [f64],
    ) {
        extend_path(buf, depth, zero, one, feature);
        let tree = self.t.tree;
        match tree.split_of(node) {
            None => {
                let values = tree.node_values(node);
                for i in 1..=depth {
                    let el = buf[i];
                    let w = unwound_sum(buf, depth, i) * (el.one_fraction - el.zero_fraction);
                    for (k, v) in values.iter().enumerate() {
                        phi[k * self.features + el.feature] += self.scale * w * v;
                    }
                }
            }
            Some((f, l, r)) => {
                let hot = tree.child(node, self.row);
                let cold = if hot == l { r } else { l };
                let hot_zero = self.t.fraction(node, hot);
                let cold_zero = self.t.fraction(node, cold);
                let (mut in_zero, mut in_one) = (1.0, 1.0);
                if let Some(index) = (1..=depth).find(|&i| buf[i].feature == f) {
                    in_zero = buf[index].zero_fraction;
                    in_one = buf[index].one_fraction;
                    unwind_path(buf, depth, index);
                    depth -= 1;
                }
                let (path, rest) = buf.split_at_mut(depth + 1);
                // A branch no coalition reaches (no weight when the feature is absent,
                // and not the row's way) adds nothing; following it would divide by 0.
                for (child, zero, one) in [
                    (hot, hot_zero * in_zero, in_one),
                    (cold, cold_zero * in_zero, 0.0),
                ] {
                    if zero == 0.0 && one == 0.0 {
                        continue;
                    }
                    rest[..depth + 1].copy_from_slice(path);
                    self.recurse(child, rest, depth + 1, zero, one, f, phi);
                }
            }
        }
    }
}

/// SHAP values of `trees` (with weights) on every row of `x`: `rows × k × cols` and
/// the expected value per output. `k` is each tree's output count; `group_of(i)` says
/// which output tree `i` adds to when trees have one output (boosting's groups).
pub(crate) fn ensemble(
    trees: &[(&Tree, f64, usize)],
    k: usize,
    x: &Matrix,
) -> (Vec<f64>, Vec<f64>) {
    let cols = x.cols;
    let prepared: Vec<(TreeShap<'_>, f64, usize)> = trees
        .iter()
        .map(|&(t, w, g)| (TreeShap::new(t, x), w, g))
        .collect();
    let mut expected = vec![0.0; k];
    for (t, w, g) in &prepared {
        let e = t.expected();
        if e.len() == k {
            expected.iter_mut().zip(&e).for_each(|(a, b)| *a += w * b);
        } else if let Some(slot) = expected.get_mut(*g) {
            *slot += w * e.first().copied().unwrap_or(0.0);
        }
    }
    let mut values = vec![0.0; x.rows * k * cols];
    let mut buf = Vec::new();
    let mut one = vec![0.0; cols];
    for r in 0..x.rows {
        let row = x.row(r);
        let phi = &mut values[r * k * cols..(r + 1) * k * cols];
        for (t, w, g) in &prepared {
            if t.tree.outputs() == k {
                t.add_row(row, *w, phi, &mut buf);
            } else {
                one.iter_mut().for_each(|v| *v = 0.0);
                t.add_row(row, *w, &mut one, &mut buf);
                phi[g * cols..(g + 1) * cols]
                    .iter_mut()
                    .zip(&one)
                    .for_each(|(a, b)| *a += b);
            }
        }
    }
    (values, expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    const LEAF: u32 = u32::MAX;

    /// A random tree of `depth` over `m` features (features repeat along paths), with
    /// `k` outputs and covers (some zero when `zeros`); nodes in preorder.
    fn random_tree(rng: &mut Rng, depth: usize, m: usize, k: usize, zeros: bool) -> Tree {
        struct B {
            feature: Vec<u32>,
            threshold: Vec<f64>,
            left: Vec<u32>,
            right: Vec<u32>,
            values: Vec<f64>,
            cover: Vec<f64>,
        }
        fn grow(b: &mut B, rng: &mut Rng, d: usize, m: usize, k: usize, zeros: bool) -> usize {
            let id = b.feature.len();
            b.feature.push(LEAF);
            b.threshold.push(0.0);
            b.left.push(0);
            b.right.push(0);
            b.cover.push(0.0);
            for _ in 0..k {
                b.values.push(rng.next_f64() * 10.0 - 5.0);
            }
            if d > 0 && rng.next_f64() < 0.85 {
                b.feature[id] = rng.below(m) as u32;
                b.threshold[id] = rng.next_f64();
                let l = grow(b, rng, d - 1, m, k, zeros);
                let r = grow(b, rng, d - 1, m, k, zeros);
                b.left[id] = l as u32;
                b.right[id] = r as u32;
                b.cover[id] = b.cover[l] + b.cover[r];
            } else {
                b.cover[id] = if zeros && rng.next_f64() < 0.2 {
                    0.0
                } else {
                    1.0 + rng.below(20) as f64
                };
            }
            id
        }
        let mut b = B {
            feature: vec![],
            threshold: vec![],
            left: vec![],
            right: vec![],
            values: vec![],
            cover: vec![],
        };
        grow(&mut b, rng, depth, m, k, zeros);
        Tree::from_parts(
            b.feature,
            b.threshold,
            b.left,
            b.right,
            b.values,
            k,
            b.cover,
        )
    }

    /// The path-dependent value of coalition `s` (bit mask): follow `x` on features in
    /// `s`, average the branches by their weight otherwise.
    fn value(t: &TreeShap<'_>, node: usize, x: &[f64], s: u32, out: usize) -> f64 {
        match t.tree.split_of(node) {
            None => t.tree.node_values(node)[out],
            Some((f, l, r)) => {
                if s & (1 << f) != 0 {
                    value(t, t.tree.child(node, x), x, s, out)
                } else {
                    t.fraction(node, l) * value(t, l, x, s, out)
                        + t.fraction(node, r) * value(t, r, x, s, out)
                }
            }
        }
    }

    /// Shapley values by their definition: every coalition, weighted.
    fn brute_force(t: &TreeShap<'_>, x: &[f64], m: usize, out: usize) -> Vec<f64> {
        let fact = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
        let mut phi = vec![0.0; m];
        for (i, p) in phi.iter_mut().enumerate() {
            for s in 0u32..(1 << m) {
                if s & (1 << i) != 0 {
                    continue;
                }
                let size = s.count_ones() as usize;
                let w = fact(size) * fact(m - size - 1) / fact(m);
                *p += w * (value(t, 0, x, s | (1 << i), out) - value(t, 0, x, s, out));
            }
        }
        phi
    }

    fn matrix(rows: Vec<Vec<f64>>) -> Matrix {
        Matrix {
            rows: rows.len(),
            cols: rows.first().map_or(0, Vec::len),
            data: rows.into_iter().flatten().collect(),
        }
    }

    #[test]
    fn tree_shap_equals_the_shapley_definition_on_random_trees() {
        let mut rng = Rng::new(7);
        for case in 0..300 {
            let m = 1 + case % 5;
            let k = 1 + case % 3;
            let tree = random_tree(&mut rng, 1 + case % 7, m, k, case % 4 == 0);
            let rows: Vec<Vec<f64>> = (0..4)
                .map(|r| {
                    (0..m)
                        .map(|j| {
                            if (r + j + case) % 11 == 0 {
                                f64::NAN
                            } else {
                                rng.next_f64()
                            }
                        })
                        .collect()
                })
                .collect();
            let x = matrix(rows.clone());
            let t = TreeShap::new(&tree, &x);
            let expected = t.expected();
            let mut buf = Vec::new();
            for row in &rows {
                let mut phi = vec![0.0; k * m];
                t.add_row(row, 1.0, &mut phi, &mut buf);
                for out in 0..k {
                    let want = brute_force(&t, row, m, out);
                    let got = &phi[out * m..(out + 1) * m];
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g - w).abs() < 1e-9, "case {case}: {got:?} vs {want:?}");
                    }
                    // Additivity: the values and the expected value give the output.
                    let total: f64 = got.iter().sum::<f64>() + expected[out];
                    let pred = tree.predict_row(row)[out];
                    assert!(
                        (total - pred).abs() < 1e-9,
                        "case {case}: {total} vs {pred}"
                    );
                    // The empty coalition is the expected value.
                    assert!((value(&t, 0, row, 0, out) - expected[out]).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn a_one_node_tree_attributes_nothing() {
        let tree = Tree::from_parts(
            vec![LEAF],
            vec![0.0],
            vec![0],
            vec![0],
            vec![3.5],
            1,
            vec![],
        );
        let x = matrix(vec![vec![1.0, f64::NAN]]);
        let (values, expected) = ensemble(&[(&tree, 1.0, 0)], 1, &x);
        assert_eq!(values, vec![0.0, 0.0]);
        assert_eq!(expected, vec![3.5]);
    }

    #[test]
    fn a_textbook_tree() {
        // x0 <= 0.5 ? (x1 <= 0.5 ? 1 : 2) : 4, covers 10 = 6 (3 + 3) + 4.
        let tree = Tree::from_parts(
            vec![0, 1, LEAF, LEAF, LEAF],
            vec![0.5, 0.5, 0.0, 0.0, 0.0],
            vec![1, 2, 0, 0, 0],
            vec![4, 3, 0, 0, 0],
            vec![0.0, 0.0, 1.0, 2.0, 4.0],
            1,
            vec![10.0, 6.0, 3.0, 3.0, 4.0],
        );
        let x = matrix(vec![vec![0.0, 0.0]]);
        let (values, expected) = ensemble(&[(&tree, 1.0, 0)], 1, &x);
        // E = 0.3·1 + 0.3·2 + 0.4·4 = 2.5; v({0}) = 1.5, v({1}) = 0.6·1 + 1.6 = 2.2,
        // v({0,1}) = 1. φ0 = ½(1.5 − 2.5) + ½(1 − 2.2) = −1.1, φ1 = ½(−0.3) + ½(−0.5) = −0.4.
        assert!((expected[0] - 2.5).abs() < 1e-12);
        assert!((values[0] + 1.1).abs() < 1e-12, "{values:?}");
        assert!((values[1] + 0.4).abs() < 1e-12, "{values:?}");
    }
}
