//! `DecisionTree{Classifier,Regressor}` and `RandomForest{Classifier,Regressor}`: CART
//! trees (Gini / squared error) on binned features; a forest averages bootstrapped trees
//! that try a random subset of features at each node. A decision tree is a forest of
//! one tree without bootstrap.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, AttrValue, DefaultValue, Resolved, spec};
use crate::binning::Binned;
use crate::data::{Labels, Matrix, one_hot};
use crate::error::{ModelError, Result};
use crate::rng::Rng;
use crate::tree::{RowStats, Tree, TreeParams, accumulate, build};

/// Distinct values per feature split exactly; more are binned by quantile.
const MAX_BINS: usize = 1024;

const fn max_features(default: &'static str) -> AttrSpec {
    AttrSpec {
        name: "model.max_features",
        aliases: &[],
        ty: AttrType::MaxFeatures,
        default: Some(DefaultValue::Str(default)),
    }
}

const MAX_DEPTH: AttrSpec = spec::int("model.max_depth", 0, 0);
const MIN_SPLIT: AttrSpec = spec::int("model.min_samples_split", 2, 2);
const MIN_LEAF: AttrSpec = spec::int("model.min_samples_leaf", 1, 1);
const SEED: AttrSpec = spec::seed("model.seed");

pub(crate) const TREE_SPECS: &[AttrSpec] =
    &[MAX_DEPTH, MIN_SPLIT, MIN_LEAF, max_features("all"), SEED];

const fn forest_specs(max_features_default: &'static str) -> [AttrSpec; 7] {
    [
        spec::int("model.n_estimators", 1, 100),
        MAX_DEPTH,
        MIN_SPLIT,
        MIN_LEAF,
        max_features(max_features_default),
        spec::bool("model.bootstrap", true),
        SEED,
    ]
}

pub(crate) const FOREST_CLASSIFIER_SPECS: &[AttrSpec] = &forest_specs("sqrt");
pub(crate) const FOREST_REGRESSOR_SPECS: &[AttrSpec] = &forest_specs("all");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Forest {
    trees: Vec<Tree>,
    /// Outputs per tree: class count for classifiers, 1 for regressors.
    k: usize,
}

/// How many features `model.max_features` means for `d` features.
pub(crate) fn resolve_max_features(value: Option<&AttrValue>, d: usize) -> usize {
    let n = match value {
        Some(AttrValue::Str(s)) if s == "sqrt" => (d as f64).sqrt().floor() as usize,
        Some(AttrValue::Str(s)) if s == "log2" => (d as f64).log2().floor() as usize,
        Some(AttrValue::Int(i)) => usize::try_from(*i).unwrap_or(d),
        Some(AttrValue::Float(f)) => (f * d as f64).floor() as usize,
        _ => d,
    };
    n.clamp(1, d.max(1))
}

impl Forest {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        attrs: &Resolved,
        forest: bool,
        warm: Option<&Forest>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Forest> {
        let (k, base): (usize, Vec<f64>) = match labels {
            Labels::Classes { y, n_classes } => (*n_classes, one_hot(y, *n_classes)),
            Labels::Values(y) => (1, y.clone()),
            Labels::None => {
                return Err(ModelError::InvalidLabel(
                    "a tree model needs a LABEL column".into(),
                ));
            }
        };
        let (n_trees, bootstrap) = if forest {
            (
                attrs.usize("model.n_estimators"),
                matches!(attrs.get("model.bootstrap"), Some(AttrValue::Bool(true))),
            )
        } else {
            (1, false)
        };
        let max_depth = match attrs.usize("model.max_depth") {
            0 => usize::MAX,
            d => d,
        };
        let params = TreeParams {
            max_features: resolve_max_features(attrs.get("model.max_features"), x.cols),
            ..TreeParams::cart(
                max_depth,
                attrs.usize("model.min_samples_split"),
                attrs.usize("model.min_samples_leaf"),
            )
        };
        let seed = attrs.seed("model.seed");
        let binned = Binned::new(x, MAX_BINS);
        let allowed: Vec<usize> = (0..x.cols).collect();
        let mut trees = warm.map_or_else(Vec::new, |w| w.trees.clone());
        let first = trees.len();
        let n = x.rows;
        // Without bootstrap every row counts once: `g = base`, `h = 1` for every tree.
        let (mut g, mut h) = (base.clone(), vec![1.0; n]);
        let mut counts = vec![0u32; n];
        for t in 0..n_trees {
            let mut rng = Rng::derive(seed, (first + t) as u64);
            let mut rows: Vec<u32> = if bootstrap {
                counts.iter_mut().for_each(|c| *c = 0);
                for _ in 0..n {
                    counts[rng.below(n)] += 1;
                }
                for r in 0..n {
                    let w = counts[r] as f64;
                    h[r] = w;
                    g[r * k..(r + 1) * k]
                        .iter_mut()
                        .zip(&base[r * k..(r + 1) * k])
                        .for_each(|(a, b)| *a = w * b);
                }
                (0..n as u32).filter(|&r| counts[r as usize] > 0).collect()
            } else {
                (0..n as u32).collect()
            };
            let stats = RowStats { g: &g, h: &h, k };
            trees.push(build(
                &binned, &mut rows, &stats, &allowed, &params, &mut rng,
            ));
            if forest && ((t + 1) % 10 == 0 || t + 1 == n_trees) {
                progress(&format!("tree {}/{}", t + 1, n_trees));
            }
        }
        if !forest {
            progress(&format!(
                "tree grown: {} nodes",
                trees.first().map_or(0, Tree::n_nodes)
            ));
        }
        Ok(Forest { trees, k })
    }

    /// Mean tree output per row (`rows × k`): class frequencies or values.
    pub fn predict_raw(&self, x: &Matrix) -> Vec<f64> {
        let mut out = vec![0.0; x.rows * self.k];
        let scale = 1.0 / self.trees.len().max(1) as f64;
        for tree in &self.trees {
            accumulate(tree, x, scale, &mut out);
        }
        out
    }

    pub fn predict_proba(&self, x: &Matrix) -> Vec<Vec<f64>> {
        self.predict_raw(x)
            .chunks(self.k.max(1))
            .map(<[f64]>::to_vec)
            .collect()
    }

    pub fn predict_values(&self, x: &Matrix) -> Vec<f64> {
        self.predict_raw(x)
    }

    /// Impurity decrease per feature, normalized per tree and averaged (as scikit-learn).
    pub fn importance(&self, cols: usize) -> Vec<f64> {
        let mut total = vec![0.0; cols];
        for tree in &self.trees {
            let mut imp = vec![0.0; cols];
            tree.add_gains(&mut imp);
            let sum: f64 = imp.iter().sum();
            if sum > 0.0 {
                total.iter_mut().zip(&imp).for_each(|(t, i)| *t += i / sum);
            }
        }
        let n = self.trees.len().max(1) as f64;
        total.iter_mut().for_each(|t| *t /= n);
        total
    }

    /// Tree SHAP of the mean tree output (`rows × k × cols`) and its expected value.
    pub fn shap(&self, x: &Matrix) -> (Vec<f64>, Vec<f64>) {
        let w = 1.0 / self.trees.len().max(1) as f64;
        let trees: Vec<(&Tree, f64, usize)> = self.trees.iter().map(|t| (t, w, 0)).collect();
        crate::shap::ensemble(&trees, self.k, x)
    }

    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    pub fn check(&self, cols: usize, k: usize) -> bool {
        self.k == k && !self.trees.is_empty() && self.trees.iter().all(|t| t.check(cols, k))
    }
}
