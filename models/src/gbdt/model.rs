//! The boosted model: training round by round with evaluation lines and early stopping,
//! prediction, importance, and the checks a loaded model must pass.

use serde::{Deserialize, Serialize};

use super::{
    boost::{Grower, add_trees, dart_round, gradients, initial_margin, linear_round, sigmoid},
    metric::EvalMetric,
    params::{Booster, GbdtParams, Objective, Verbose, bad},
};
use crate::{
    binning::Binned,
    data::{Labels, Matrix},
    dnn::softmax_rows,
    error::{ModelError, Result},
    monitor::{Monitor, Throttle},
    rng::Rng,
    tree::{Tree, accumulate},
};

/// gblinear's model: `cols × groups` weights (feature-major) and a bias per group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinearBooster {
    pub(super) w: Vec<f64>,
    pub(super) bias: Vec<f64>,
    pub(super) rounds: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Gbdt {
    pub(super) objective: Objective,
    /// Trees per round: the class count for multi-class, else 1.
    pub(super) groups: usize,
    pub(super) base_margin: Vec<f64>,
    /// Round-major: round `r`, group `c` is `trees[r * groups + c]`. Leaf values already
    /// include the learning rate.
    pub(super) trees: Vec<Tree>,
    #[serde(default)]
    pub(super) booster: Booster,
    /// DART: each tree's weight; empty: every tree weighs 1.
    #[serde(default)]
    pub(super) tree_weights: Vec<f64>,
    #[serde(default)]
    pub(super) linear: Option<LinearBooster>,
}

/// What an early stop goes back to.
struct Best {
    pub(super) round: usize,
    pub(super) score: f64,
    pub(super) trees: usize,
    pub(super) weights: Vec<f64>,
    pub(super) linear: Option<LinearBooster>,
}

impl Gbdt {
    pub fn train(
        x: &Matrix,
        labels: &Labels,
        p: &GbdtParams,
        warm: Option<&Gbdt>,
        monitor: &Monitor<'_>,
        estimator: &str,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Gbdt> {
        let valid = monitor.valid;
        let objective = p.objective;
        let n = x.rows;
        let (groups, y_class, y_value): (usize, &[usize], &[f64]) = match (objective, labels) {
            (Objective::SquaredError, Labels::Values(y)) => (1, &[], y),
            (Objective::BinaryLogistic, Labels::Classes { y, .. }) => (1, y, &[]),
            (_, Labels::Classes { y, n_classes }) => (*n_classes, y, &[]),
            _ => {
                return Err(ModelError::InvalidLabel(format!(
                    "{estimator} needs a LABEL column"
                )));
            }
        };
        if p.early_stopping > 0 && valid.is_none() {
            return Err(bad(
                estimator,
                "early_stopping_rounds",
                "validation rows to watch: add validation.select = \"SELECT ...\" to the WITH clause",
                &p.early_stopping.to_string(),
            ));
        }
        let mut model = match warm {
            Some(old) => {
                if old.objective != objective || old.groups != groups || old.booster != p.booster {
                    return Err(ModelError::WarmStart(
                        "the existing model's objective, booster or class count differs from this data"
                            .into(),
                    ));
                }
                old.clone()
            }
            None => Gbdt {
                objective,
                groups,
                base_margin: initial_margin(p, groups, y_class, y_value),
                trees: Vec::new(),
                booster: p.booster,
                tree_weights: Vec::new(),
                linear: (p.booster == Booster::Gblinear).then(|| LinearBooster {
                    w: vec![0.0; x.cols * groups],
                    bias: vec![0.0; groups],
                    rounds: 0,
                }),
            },
        };
        if model.booster == Booster::Dart && model.tree_weights.len() != model.trees.len() {
            model.tree_weights = vec![1.0; model.trees.len()];
        }
        let first_round = model.rounds();
        let mut margins = model.margins(x);
        let mut vmargins = valid.map(|v| model.margins(&v.x));
        let binned = (p.booster != Booster::Gblinear)
            .then(|| Binned::with_threads(x, p.max_bin, p.tree.threads));
        let (mut g, mut h) = (vec![0.0; n * groups], vec![0.0; n * groups]);
        let throttle = match p.verbose {
            Verbose::Throttled => Some(Throttle::new(p.rounds)),
            Verbose::Every(k) => Some(Throttle::every(p.rounds, k)),
            Verbose::Off => None,
        };
        let mut best: Option<Best> = None;
        // gbtree computes each round's gradients at the end of the round before (with the
        // round's default metric from the same pass); these are round 0's.
        let mut fused_metric = None;
        if p.booster == Booster::Gbtree && p.rounds > 0 {
            gradients(p, groups, &margins, y_class, y_value, &mut g, &mut h);
        }
        let mut grow = Grower {
            p,
            x,
            binned: binned.as_ref(),
            groups,
            n_cols: ((p.colsample_bytree * x.cols as f64).floor() as usize).clamp(1, x.cols.max(1)),
        };
        for round in 0..p.rounds {
            let global = first_round + round;
            let mut rng = Rng::derive(p.seed, global as u64);
            match p.booster {
                Booster::Gbtree => {
                    let new = grow.round(&mut model, &g, &h, &mut rng, 1.0, &mut margins);
                    fused_metric = Some(gradients(
                        p, groups, &margins, y_class, y_value, &mut g, &mut h,
                    ));
                    if let (Some(v), Some(vm)) = (valid, vmargins.as_mut()) {
                        add_trees(&model.trees[new..], 1.0, groups, &v.x, vm);
                    }
                }
                Booster::Dart => self::dart_round(
                    &mut model,
                    &mut grow,
                    valid,
                    vmargins.as_mut(),
                    &mut margins,
                    y_class,
                    y_value,
                    &mut g,
                    &mut h,
                    global,
                ),
                Booster::Gblinear => {
                    gradients(p, groups, &margins, y_class, y_value, &mut g, &mut h);
                    if let Some(lin) = model.linear.as_mut() {
                        linear_round(p, lin, x, groups, &mut g, &h, &mut margins, &mut rng);
                    }
                    if let (Some(v), Some(vm)) = (valid, vmargins.as_mut()) {
                        *vm = model.margins(&v.x);
                    }
                }
            }
            let default_metric = EvalMetric::default_for(objective).1;
            let train_scores: Vec<f64> = p
                .eval_metrics
                .iter()
                .map(|(_, m)| match fused_metric {
                    Some(v) if *m == default_metric => v,
                    _ => m.compute(objective, groups, &margins, labels, p.tree.threads),
                })
                .collect();
            // A metric may be infinite on its own (mape with a zero label); the margins
            // becoming so is divergence.
            if margins.iter().any(|m| !m.is_finite()) {
                return Err(ModelError::Training(format!(
                    "the training loss became infinite or NaN at round {global}; lower eta"
                )));
            }
            let valid_scores: Option<Vec<f64>> = valid.zip(vmargins.as_ref()).map(|(v, vm)| {
                p.eval_metrics
                    .iter()
                    .map(|(_, m)| m.compute(objective, groups, vm, &v.labels, p.tree.threads))
                    .collect()
            });
            for (set, scores) in [
                ("train", Some(&train_scores)),
                ("validate", valid_scores.as_ref()),
            ] {
                for ((name, _), v) in p.eval_metrics.iter().zip(scores.into_iter().flatten()) {
                    monitor.record("round", name, set, global as u64, *v);
                }
            }
            let line = || {
                let mut line = format!("[{global}]");
                for (set, scores) in [
                    ("train", Some(&train_scores)),
                    ("validate", valid_scores.as_ref()),
                ] {
                    if let Some(scores) = scores {
                        for ((name, _), v) in p.eval_metrics.iter().zip(scores.iter()) {
                            line.push_str(&format!(" {set}-{name}:{v:.5}"));
                        }
                    }
                }
                line
            };
            let mut stop = false;
            if p.early_stopping > 0
                && let (Some(scores), Some((name, metric))) = (&valid_scores, p.eval_metrics.last())
            {
                // XGBoost watches the last metric on the last evaluation set.
                let score = scores.last().copied().unwrap_or(f64::NAN);
                let better = best.as_ref().is_none_or(|b| {
                    if metric.higher_is_better() {
                        score > b.score
                    } else {
                        score < b.score
                    }
                });
                if better {
                    best = Some(Best {
                        round: global,
                        score,
                        trees: model.trees.len(),
                        weights: model.tree_weights.clone(),
                        linear: model.linear.clone(),
                    });
                } else if let Some(b) = &best
                    && global - b.round >= p.early_stopping
                {
                    progress(&line());
                    progress(&format!(
                        "early stopping: validate-{name} has not improved for {} rounds; best round [{}] validate-{name}:{:.5}; the model keeps rounds 0 to {}",
                        p.early_stopping, b.round, b.score, b.round
                    ));
                    stop = true;
                }
            }
            if stop {
                if let Some(b) = best.take() {
                    model.trees.truncate(b.trees);
                    model.tree_weights = b.weights;
                    model.linear = b.linear;
                }
                break;
            }
            if throttle.is_some_and(|t| t.due(round)) {
                progress(&line());
            }
        }
        // Rounds ran out before the patience did: still predict with the best round, as
        // XGBoost's scikit-learn models do after early stopping.
        if let Some(b) = best
            && b.round + 1 < first_round + p.rounds
        {
            progress(&format!(
                "best round [{}] validate-{}:{:.5}; the model keeps rounds 0 to {}",
                b.round,
                p.eval_metrics.last().map_or("", |(n, _)| n.as_str()),
                b.score,
                b.round
            ));
            model.trees.truncate(b.trees);
            model.tree_weights = b.weights;
            model.linear = b.linear;
        }
        Ok(model)
    }

    /// Raw scores (`rows × groups`).
    fn margins(&self, x: &Matrix) -> Vec<f64> {
        let g = self.groups.max(1);
        let mut out: Vec<f64> = (0..x.rows)
            .flat_map(|_| self.base_margin.iter().copied())
            .collect();
        if let Some(lin) = &self.linear {
            for r in 0..x.rows {
                let row = x.row(r);
                for c in 0..g {
                    let mut m = lin.bias[c];
                    for (j, v) in row.iter().enumerate() {
                        m += v * lin.w[j * g + c];
                    }
                    out[r * g + c] += m;
                }
            }
        }
        let mut per_group = vec![0.0; x.rows];
        for c in 0..g {
            per_group.iter_mut().for_each(|v| *v = 0.0);
            for (i, tree) in self.trees.iter().enumerate().skip(c).step_by(g) {
                let w = self.tree_weights.get(i).copied().unwrap_or(1.0);
                accumulate(tree, x, w, &mut per_group);
            }
            for r in 0..x.rows {
                out[r * g + c] += per_group[r];
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

    /// Trees: total split gain per feature (DART: weighted by the tree's weight);
    /// gblinear: |weight| summed over classes. Normalized to sum 1.
    pub fn importance(&self, cols: usize) -> Vec<f64> {
        let mut imp = vec![0.0; cols];
        if let Some(lin) = &self.linear {
            let g = self.groups.max(1);
            for (j, v) in imp.iter_mut().enumerate() {
                *v = (0..g)
                    .map(|c| lin.w.get(j * g + c).map_or(0.0, |w| w.abs()))
                    .sum();
            }
        }
        for (i, tree) in self.trees.iter().enumerate() {
            let w = self.tree_weights.get(i).copied().unwrap_or(1.0);
            let mut t = vec![0.0; cols];
            tree.add_gains(&mut t);
            imp.iter_mut().zip(&t).for_each(|(a, b)| *a += w * b);
        }
        let sum: f64 = imp.iter().sum();
        if sum > 0.0 {
            imp.iter_mut().for_each(|v| *v /= sum);
        }
        imp
    }

    /// Tree SHAP of the margin (`rows × groups × cols`, as shap explains XGBoost) and
    /// its expected value (the base margin included). `None` for gblinear.
    pub fn shap(&self, x: &Matrix) -> Option<(Vec<f64>, Vec<f64>)> {
        if self.linear.is_some() {
            return None;
        }
        let g = self.groups.max(1);
        let trees: Vec<(&Tree, f64, usize)> = self
            .trees
            .iter()
            .enumerate()
            .map(|(i, t)| (t, self.tree_weights.get(i).copied().unwrap_or(1.0), i % g))
            .collect();
        let (values, mut expected) = crate::shap::ensemble(&trees, g, x);
        expected
            .iter_mut()
            .zip(&self.base_margin)
            .for_each(|(e, b)| *e += b);
        Some((values, expected))
    }

    pub fn objective(&self) -> Objective {
        self.objective
    }

    pub fn booster(&self) -> Booster {
        self.booster
    }

    pub fn rounds(&self) -> usize {
        match &self.linear {
            Some(lin) => lin.rounds,
            None => self.trees.len() / self.groups.max(1),
        }
    }

    pub fn check(&self, cols: usize, classes: Option<usize>) -> bool {
        let groups_ok = match (self.objective, classes) {
            (Objective::SquaredError, None) | (Objective::BinaryLogistic, Some(2)) => {
                self.groups == 1
            }
            (Objective::MultiSoftmax | Objective::MultiSoftprob, Some(k)) => self.groups == k,
            _ => false,
        };
        let booster_ok = match (self.booster, &self.linear) {
            (Booster::Gblinear, Some(lin)) => {
                self.trees.is_empty()
                    && lin.w.len() == cols.saturating_mul(self.groups)
                    && lin.bias.len() == self.groups
                    && lin.w.iter().chain(&lin.bias).all(|v| v.is_finite())
            }
            (Booster::Gbtree, None) => self.tree_weights.is_empty(),
            (Booster::Dart, None) => {
                self.tree_weights.len() == self.trees.len()
                    && self.tree_weights.iter().all(|w| w.is_finite())
            }
            _ => false,
        };
        groups_ok
            && booster_ok
            && self.base_margin.len() == self.groups
            && self.base_margin.iter().all(|v| v.is_finite())
            && self.trees.len().is_multiple_of(self.groups.max(1))
            && self.trees.iter().all(|t| t.check(cols, 1))
    }
}
