//! One histogram-based tree builder shared by decision trees, random forests and
//! gradient boosting.
//!
//! Every tree is grown on per-row statistics: a vector `g` (length `k`) and a weight `h`.
//! A split's gain is `score(left) + score(right) - score(parent)` with
//! `score = Σ_k T(G_k)² / (H + λ)` (`T` soft-thresholds by `α`), and a leaf's value is
//! `leaf_scale · T(G_k) / (H + λ)`. With `g = w·y`, `h = w`, `λ = α = 0` this is CART's
//! variance reduction (regression) and, on one-hot `y`, Gini (classification; leaves hold
//! class frequencies). With `g`, `h` the loss gradient and hessian and
//! `leaf_scale = -eta` it is XGBoost's exact gain formula.
//!
//! `model`: the fitted [`Tree`] and prediction with it; `grow`: growing one (level by
//! level or loss-guided) and sampling features; `split`: finding a node's best split
//! (the gain formulas, histograms or sorted rows).

mod grow;
mod model;
mod split;

pub(crate) use grow::{RowStats, TreeParams, build, build_with_leaves};
pub(crate) use model::{Tree, accumulate};
