//! `DecisionTree{Classifier,Regressor}` and `RandomForest{Classifier,Regressor}`: CART
//! trees (Gini / squared error) on binned features; a forest averages bootstrapped trees
//! that try a random subset of features at each node. A decision tree is a forest of
//! one tree without bootstrap.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, AttrValue, DefaultValue, Resolved, spec};
use crate::binning::Binned;
use crate::data::{Labels, Matrix, one_hot};
use crate::error::{ModelError, Result};
use crate::estimator::Estimator;
use crate::rng::Rng;
use crate::threads::{self, THREADS};
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

pub(crate) const TREE_SPECS: &[AttrSpec] = &[
    MAX_DEPTH,
    MIN_SPLIT,
    MIN_LEAF,
    max_features("all"),
    SEED,
    THREADS,
];

const fn forest_specs(max_features_default: &'static str) -> [AttrSpec; 8] {
    [
        spec::int("model.n_estimators", 1, 100),
        MAX_DEPTH,
        MIN_SPLIT,
        MIN_LEAF,
        max_features(max_features_default),
        spec::bool("model.bootstrap", true),
        SEED,
        THREADS,
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
    /// The estimators trained here.
    pub fn estimates(est: Estimator) -> bool {
        matches!(
            est,
            Estimator::DecisionTreeClassifier
                | Estimator::DecisionTreeRegressor
                | Estimator::RandomForestClassifier
                | Estimator::RandomForestRegressor
        )
    }

    /// Whether `est` is a forest rather than one tree.
    pub fn is_forest(est: Estimator) -> bool {
        matches!(
            est,
            Estimator::RandomForestClassifier | Estimator::RandomForestRegressor
        )
    }

    /// The bins a tree model trains on, for `cols` features of `rows` rows whose
    /// encoded (value, row) pairs `column(j)` gives one feature at a time.
    pub fn bin(
        rows: usize,
        cols: usize,
        attrs: &Resolved,
        column: impl Fn(usize) -> Result<Vec<(f64, u32)>> + Sync,
    ) -> Result<Binned> {
        Binned::from_columns(rows, cols, MAX_BINS, threads::count(attrs), column)
    }

    /// Bins an encoded matrix (columns one-hot encoded, so not binned one by one).
    pub fn bin_matrix(x: &Matrix, attrs: &Resolved) -> Binned {
        Binned::with_threads(x, MAX_BINS, threads::count(attrs))
    }

    /// Trains on features already binned (by [`Forest::bin`] or from a matrix).
    pub fn train_binned(
        binned: &Binned,
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
            max_features: resolve_max_features(
                attrs.get("model.max_features"),
                binned.n_features(),
            ),
            ..TreeParams::cart(
                max_depth,
                attrs.usize("model.min_samples_split"),
                attrs.usize("model.min_samples_leaf"),
            )
        };
        let seed = attrs.seed("model.seed");
        let threads = threads::count(attrs);
        let allowed: Vec<usize> = (0..binned.n_features()).collect();
        let mut trees = warm.map_or_else(Vec::new, |w| w.trees.clone());
        let first = trees.len();
        let n = binned.rows;
        // Trees grow side by side, one per thread; a lone tree (or a forest of fewer
        // trees than threads) shares each node's histogram out instead.
        let params = TreeParams {
            threads: if n_trees >= threads { 1 } else { threads },
            ..params
        };
        let ones = vec![1.0; n];
        // Each tree draws from its own stream, so it is the same tree on any thread.
        let grow_one = |t: usize| -> Tree {
            let mut rng = Rng::derive(seed, (first + t) as u64);
            if !bootstrap {
                // Every row counts once: `g = base`, `h = 1`.
                let mut rows: Vec<u32> = (0..n as u32).collect();
                let stats = RowStats {
                    g: &base,
                    h: &ones,
                    k,
                };
                return build(binned, &mut rows, &stats, &allowed, &params, &mut rng);
            }
            let mut counts = vec![0u32; n];
            for _ in 0..n {
                counts[rng.below(n)] += 1;
            }
            let h: Vec<f64> = counts.iter().map(|&c| f64::from(c)).collect();
            let g: Vec<f64> = base
                .chunks(k.max(1))
                .zip(&h)
                .flat_map(|(b, w)| b.iter().map(move |v| w * v))
                .collect();
            let mut rows: Vec<u32> = (0..n as u32).filter(|&r| counts[r as usize] > 0).collect();
            let stats = RowStats { g: &g, h: &h, k };
            build(binned, &mut rows, &stats, &allowed, &params, &mut rng)
        };
        // Batches of ten trees between progress lines.
        let mut done = 0;
        while done < n_trees {
            let batch = (n_trees - done).min(10);
            trees.extend(threads::map(threads, batch, |i| grow_one(done + i)));
            done += batch;
            if forest {
                progress(&format!("tree {done}/{n_trees}"));
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
