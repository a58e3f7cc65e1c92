//! `xgboost.gbtree`: gradient-boosted trees with XGBoost's objectives, parameter names
//! and split gain (second-order, `lambda`/`alpha` regularized, `gamma` minimum gain,
//! `min_child_weight` on the hessian), on histogram-binned features like XGBoost's
//! `hist` method. Multi-class boosting grows one tree per class per round on the softmax
//! gradients.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, DefaultValue, Resolved, spec};
use crate::binning::Binned;
use crate::data::{Labels, Matrix};
use crate::dnn::{softmax_in_place, softmax_rows};
use crate::error::{ModelError, Result};
use crate::rng::Rng;
use crate::tree::{RowStats, Tree, TreeParams, accumulate, build_with_leaves};

pub(crate) const OBJECTIVES: &[&str] = &[
    "reg:squarederror",
    "binary:logistic",
    "multi:softmax",
    "multi:softprob",
];

const fn aliased(spec: AttrSpec, aliases: &'static [&'static str]) -> AttrSpec {
    AttrSpec { aliases, ..spec }
}

pub(crate) const SPECS: &[AttrSpec] = &[
    AttrSpec {
        name: "objective",
        aliases: &[],
        ty: AttrType::Choice(OBJECTIVES),
        default: Some(DefaultValue::Str("reg:squarederror")),
    },
    AttrSpec {
        name: "num_class",
        aliases: &[],
        ty: AttrType::Int {
            min: 2,
            max: i64::MAX,
        },
        default: None,
    },
    aliased(spec::fraction("eta", 0.3), &["learning_rate"]),
    spec::int("max_depth", 0, 6),
    aliased(
        spec::int("num_boost_round", 1, 10),
        &["train.num_boost_round", "n_estimators"],
    ),
    spec::fraction("subsample", 1.0),
    spec::fraction("colsample_bytree", 1.0),
    spec::non_negative("min_child_weight", 1.0),
    aliased(spec::non_negative("lambda", 1.0), &["reg_lambda"]),
    aliased(spec::non_negative("alpha", 0.0), &["reg_alpha"]),
    aliased(spec::non_negative("gamma", 0.0), &["min_split_loss"]),
    AttrSpec {
        name: "max_bin",
        aliases: &[],
        ty: AttrType::Int { min: 2, max: 65536 },
        default: Some(DefaultValue::Int(256)),
    },
    aliased(spec::seed("seed"), &["random_state"]),
];

pub(crate) const SHAPE_ATTRS: &[&str] = &["objective"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Objective {
    SquaredError,
    BinaryLogistic,
    MultiSoftmax,
    MultiSoftprob,
}

impl Objective {
    pub fn from_name(name: &str) -> Objective {
        match name {
            "binary:logistic" => Objective::BinaryLogistic,
            "multi:softmax" => Objective::MultiSoftmax,
            "multi:softprob" => Objective::MultiSoftprob,
            _ => Objective::SquaredError,
        }
    }

    pub fn is_classification(self) -> bool {
        self != Objective::SquaredError
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Gbdt {
    objective: Objective,
    /// Trees per round: the class count for multi-class, else 1.
    groups: usize,
    base_margin: Vec<f64>,
    /// Round-major: round `r`, group `c` is `trees[r * groups + c]`. Leaf values already
    /// include the learning rate.
    trees: Vec<Tree>,
}

impl Gbdt {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        attrs: &Resolved,
        warm: Option<&Gbdt>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Gbdt> {
        let objective = Objective::from_name(attrs.str("objective"));
        let n = x.rows;
        let (groups, y_class, y_value): (usize, &[usize], &[f64]) = match (objective, labels) {
            (Objective::SquaredError, Labels::Values(y)) => (1, &[], y),
            (Objective::BinaryLogistic, Labels::Classes { y, .. }) => (1, y, &[]),
            (_, Labels::Classes { y, n_classes }) => (*n_classes, y, &[]),
            _ => {
                return Err(ModelError::InvalidLabel(
                    "xgboost.gbtree needs a LABEL column".into(),
                ));
            }
        };
        let eta = attrs.float("eta");
        let rounds = attrs.usize("num_boost_round");
        let subsample = attrs.float("subsample");
        let colsample = attrs.float("colsample_bytree");
        let params = TreeParams {
            max_depth: match attrs.usize("max_depth") {
                0 => usize::MAX,
                d => d,
            },
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_child_weight: attrs.float("min_child_weight"),
            lambda: attrs.float("lambda"),
            alpha: attrs.float("alpha"),
            // XGBoost's kRtEps: splits must gain at least this much.
            min_gain: attrs.float("gamma") + 1e-6,
            max_features: usize::MAX,
            leaf_scale: -eta,
        };
        let mut model = match warm {
            Some(old) => {
                if old.objective != objective || old.groups != groups {
                    return Err(ModelError::WarmStart(
                        "the existing model's objective or class count differs from this data"
                            .into(),
                    ));
                }
                old.clone()
            }
            None => Gbdt {
                objective,
                groups,
                base_margin: initial_margin(objective, groups, y_class, y_value),
                trees: Vec::new(),
            },
        };
        let mut margins = model.margins(x);
        let binned = Binned::new(x, attrs.usize("max_bin"));
        let first_round = model.trees.len() / groups;
        let seed = attrs.seed("seed");
        let (mut g, mut h) = (vec![0.0; n * groups], vec![0.0; n * groups]);
        let (mut gc, mut hc) = (vec![0.0; n], vec![0.0; n]);
        let all_features: Vec<usize> = (0..x.cols).collect();
        let mut leaves = Vec::new();
        let n_cols = ((colsample * x.cols as f64).floor() as usize).clamp(1, x.cols.max(1));
        let loss_name = match objective {
            Objective::SquaredError => "rmse",
            Objective::BinaryLogistic => "logloss",
            _ => "mlogloss",
        };
        for round in 0..=rounds {
            // The loss computed with round r's gradients is the loss after round r - 1.
            let loss = gradients(
                objective, groups, &margins, y_class, y_value, &mut g, &mut h,
            );
            if !loss.is_finite() {
                return Err(ModelError::Training(format!(
                    "the training loss became {loss} after round {round}; lower eta"
                )));
            }
            if round > 0 {
                progress(&format!(
                    "round {round}/{rounds}: train-{loss_name} {loss:.4}"
                ));
            }
            if round == rounds {
                break;
            }
            let mut rng = Rng::derive(seed, (first_round + round) as u64);
            let rows: Vec<u32> = if subsample < 1.0 {
                (0..n as u32)
                    .filter(|_| rng.next_f64() < subsample)
                    .collect()
            } else {
                (0..n as u32).collect()
            };
            for c in 0..groups {
                for r in 0..n {
                    gc[r] = g[r * groups + c];
                    hc[r] = h[r * groups + c];
                }
                let features = if n_cols < x.cols {
                    rng.sample_indices(x.cols, n_cols)
                } else {
                    all_features.clone()
                };
                let stats = RowStats {
                    g: &gc,
                    h: &hc,
                    k: 1,
                };
                let mut tree_rows = rows.clone();
                let tree = build_with_leaves(
                    &binned,
                    &mut tree_rows,
                    &stats,
                    &features,
                    &params,
                    &mut rng,
                    &mut leaves,
                );
                if tree_rows.len() == n {
                    // Every row was in the tree: its leaf is known without walking the tree.
                    for &(node, start, end) in &leaves {
                        let value = tree.leaf_value(node);
                        for &r in &tree_rows[start..end] {
                            margins[r as usize * groups + c] += value;
                        }
                    }
                } else {
                    for r in 0..n {
                        margins[r * groups + c] += tree.predict_row(x.row(r))[0];
                    }
                }
                model.trees.push(tree);
            }
        }
        Ok(model)
    }

    /// Raw scores (`rows × groups`).
    fn margins(&self, x: &Matrix) -> Vec<f64> {
        let mut out: Vec<f64> = (0..x.rows)
            .flat_map(|_| self.base_margin.iter().copied())
            .collect();
        let mut per_group = vec![0.0; x.rows];
        for c in 0..self.groups {
            per_group.iter_mut().for_each(|v| *v = 0.0);
            for tree in self.trees.iter().skip(c).step_by(self.groups.max(1)) {
                accumulate(tree, x, 1.0, &mut per_group);
            }
            for r in 0..x.rows {
                out[r * self.groups + c] += per_group[r];
            }
        }
        out
    }

    pub fn predict_proba(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let m = self.margins(x);
        if self.groups == 1 {
            m.iter()
                .map(|z| {
                    let p = sigmoid(*z);
                    vec![1.0 - p, p]
                })
                .collect()
        } else {
            softmax_rows(&m, self.groups)
        }
    }

    pub fn predict_values(&self, x: &Matrix) -> Vec<f64> {
        self.margins(x)
    }

    /// Total split gain per feature, normalized to sum 1.
    pub fn importance(&self, cols: usize) -> Vec<f64> {
        let mut imp = vec![0.0; cols];
        for tree in &self.trees {
            tree.add_gains(&mut imp);
        }
        let sum: f64 = imp.iter().sum();
        if sum > 0.0 {
            imp.iter_mut().for_each(|v| *v /= sum);
        }
        imp
    }

    pub fn objective(&self) -> Objective {
        self.objective
    }

    pub fn rounds(&self) -> usize {
        self.trees.len() / self.groups.max(1)
    }

    pub fn check(&self, cols: usize, classes: Option<usize>) -> bool {
        let groups_ok = match (self.objective, classes) {
            (Objective::SquaredError, None) | (Objective::BinaryLogistic, Some(2)) => {
                self.groups == 1
            }
            (Objective::MultiSoftmax | Objective::MultiSoftprob, Some(k)) => self.groups == k,
            _ => false,
        };
        groups_ok
            && self.base_margin.len() == self.groups
            && self.base_margin.iter().all(|v| v.is_finite())
            && self.trees.len().is_multiple_of(self.groups.max(1))
            && self.trees.iter().all(|t| t.check(cols, 1))
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// XGBoost ≥ 2 starts from the data's mean (regression) or its log-odds (binary)
/// rather than a fixed 0.5; multi-class starts every class at 0.
fn initial_margin(
    objective: Objective,
    groups: usize,
    y_class: &[usize],
    y_value: &[f64],
) -> Vec<f64> {
    match objective {
        Objective::SquaredError => vec![y_value.iter().sum::<f64>() / y_value.len().max(1) as f64],
        Objective::BinaryLogistic => {
            let p =
                y_class.iter().filter(|&&c| c == 1).count() as f64 / y_class.len().max(1) as f64;
            let p = p.clamp(1e-6, 1.0 - 1e-6);
            vec![(p / (1.0 - p)).ln()]
        }
        _ => vec![0.0; groups],
    }
}

/// Fills gradients and hessians (`rows × groups`) and returns the current training loss
/// (RMSE, logloss or mlogloss) for progress reports.
fn gradients(
    objective: Objective,
    groups: usize,
    margins: &[f64],
    y_class: &[usize],
    y_value: &[f64],
    g: &mut [f64],
    h: &mut [f64],
) -> f64 {
    const MIN_HESS: f64 = 1e-16;
    let n = margins.len() / groups.max(1);
    let mut loss = 0.0;
    match objective {
        Objective::SquaredError => {
            for r in 0..n {
                let e = margins[r] - y_value[r];
                g[r] = e;
                h[r] = 1.0;
                loss += e * e;
            }
            (loss / n.max(1) as f64).sqrt()
        }
        Objective::BinaryLogistic => {
            for r in 0..n {
                let p = sigmoid(margins[r]);
                let t = if y_class[r] == 1 { 1.0 } else { 0.0 };
                g[r] = p - t;
                h[r] = (p * (1.0 - p)).max(MIN_HESS);
                let pt = if t > 0.0 { p } else { 1.0 - p };
                loss -= pt.max(1e-16).ln();
            }
            loss / n.max(1) as f64
        }
        Objective::MultiSoftmax | Objective::MultiSoftprob => {
            let mut p = vec![0.0; groups];
            for r in 0..n {
                p.copy_from_slice(&margins[r * groups..(r + 1) * groups]);
                softmax_in_place(&mut p);
                for c in 0..groups {
                    let t = if y_class[r] == c { 1.0 } else { 0.0 };
                    g[r * groups + c] = p[c] - t;
                    // XGBoost's softmax hessian, factor 2 included.
                    h[r * groups + c] = (2.0 * p[c] * (1.0 - p[c])).max(MIN_HESS);
                }
                loss -= p[y_class[r]].max(1e-16).ln();
            }
            loss / n.max(1) as f64
        }
    }
}
