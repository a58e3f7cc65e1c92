//! Gradient boosting: XGBoost's `xgboost.gbtree` / `gblinear` / `dart` (and the
//! scikit-learn spellings `xgboost.XGBClassifier` / `XGBRegressor`) and TensorFlow's
//! `BoostedTreesClassifier` / `BoostedTreesRegressor`, all on one implementation with
//! XGBoost's objectives and algorithms:
//!
//! - `gbtree`: second-order split gain and leaf weights (`lambda`, `alpha`, `gamma`,
//!   `min_child_weight`, `max_delta_step`) on histogram-binned features like XGBoost's
//!   `hist` method, depth-wise or loss-guided growth, row and column sampling;
//!   multi-class grows one tree per class per round on the softmax gradients.
//! - `dart`: the same trees with DART's dropout (Rashmi & Gilad-Bachrach 2015) and
//!   XGBoost's tree/forest normalization.
//! - `gblinear`: a linear model fitted by XGBoost's coordinate descent on the same
//!   gradients, with elastic-net `lambda` / `alpha` (scaled by the row count, as XGBoost).
//!
//! Each round reports XGBoost's evaluation line (`[3] train-rmse:... validate-rmse:...`)
//! for the training rows and, with `validation.select`, the validation rows, which also
//! drive `early_stopping_rounds`.
//!
//! Its files: `params` (the attributes of each estimator's spelling, objectives and
//! boosters), `metric` (XGBoost's evaluation metrics), `model` (the boosted model:
//! training rounds, early stopping, prediction), `boost` (one round of each booster and
//! the objectives' gradients).

mod boost;
mod metric;
mod model;
mod params;

pub(crate) use model::Gbdt;
pub(crate) use params::{
    Booster, GbdtParams, Objective, XGB_SHAPE_ATTRS, XGB_SPECS, boosted_trees_specs, objective_name,
};
