//! Rust-native models behind SQLFlow's `TO TRAIN / PREDICT / EVALUATE / EXPLAIN`: they
//! train on in-memory columns, predict, evaluate, explain and (de)serialize, and know
//! nothing of databases, SQL, gRPC or the server.
//!
//! # Contents
//! - [`train`] / [`train_with`] (validation rows, metrics, `COLUMN ... FOR` groups) /
//!   [`train_with_history`] (also the loss and metric curves: [`TrainingHistory`]) →
//!   [`TrainedModel`] (`predict`, `predict_proba`, `evaluate`, `feature_importance`,
//!   `shap_values` → [`ShapValues`], exact Tree SHAP in module `shap`,
//!   `sampled_shap_values`, the model-agnostic estimate (KernelExplainer) in `kernel_shap`,
//!   `to_bytes` / `from_bytes`, metadata accessors); [`validate_attributes`] and
//!   [`estimator_info`] for checks before any data is read.
//! - Inputs: [`Column`] of optional [`Feature`]s (NULL = `None`), [`LabelColumn`];
//!   attributes [`Attrs`] of [`AttrValue`]s. Outputs: [`Prediction`], [`ClassLabel`].
//! - [`ModelError`]: every failure, worded for the SQL user.
//! - [`metrics`]: Accuracy, Precision, Recall, F1, AUC, MSE, MAE, R2, ARI, ..., also under
//!   Keras' and scikit-learn's names.
//!
//! # Estimators (names matched case-insensitively)
//! | name | task | module |
//! |---|---|---|
//! | `DNNClassifier`, `DNNRegressor`, `sqlflow_models.DNN*` | MLP, TensorFlow/Keras optimizers | `dnn`, `optimizer` |
//! | `DNNLinearCombinedClassifier`, `DNNLinearCombinedRegressor` | wide and deep | `dnn` |
//! | `LinearClassifier`, `LinearRegressor` | logistic (L-BFGS) / least squares | `linear` |
//! | `xgboost.gbtree`, `.dart`, `.gblinear`, `.XGBClassifier`, `.XGBRegressor` | XGBoost's boosters | `gbdt`, `tree` |
//! | `BoostedTreesClassifier`, `BoostedTreesRegressor` | TensorFlow's names on gbtree | `gbdt` |
//! | `DecisionTreeClassifier`, `DecisionTreeRegressor` | CART | `forest`, `tree` |
//! | `RandomForestClassifier`, `RandomForestRegressor` | bagged CART | `forest`, `tree` |
//! | `KMeans` | k-means++ / Lloyd | `kmeans` |
//! | `sqlflow_models.ScoreCard` | credit score card: quantile bins, WoE/IV, logistic regression, points | `scorecard` |
//! | `sqlflow_models.OneClassSVM` | one-class ν-SVM by SMO (libsvm's), outliers -1 / inliers 1 | `svm` |
//! | `sqlflow_models.DeepEmbeddingClusterModel` | deep embedded clustering: autoencoder pretraining, k-means, KL(P‖Q) refinement; cluster ids | `dec` |
//! | `sqlflow_models.RNNBasedTimeSeriesModel` | stacked SimpleRNN / LSTM / GRU over a window, `n_out` values ahead (comma-separated label and prediction), BPTT on f32 `matrixmultiply` products | `rnn` |
//! | `sqlflow_models.ARIMAWithSTLDecomposition` | STL per seasonal period, ARIMA(p,d,q) with a constant by conditional sum of squares on the min-max normalized remainder; forecasts by date | `arima` |
//! | `sqlflow_models.AutoClassifier`, `sqlflow_models.AutoRegressor` | search over the families above on held-out rows; stores the winner | `auto` |
//!
//! Each estimator's accepted attributes, defaults and ranges are in its module's spec
//! table (listed in the crate's `README.md`, and at run time by [`accepted_attributes`]);
//! an unknown or ill-typed attribute is an error that lists the accepted ones.
//!
//! # Data rules
//! See the `features` module: numeric NULL → training mean; string NULL → its own
//! category; unseen category → treated as NULL; columns matched by name at predict time.
//! Labels: classes are the sorted distinct label values (integers or strings);
//! predictions map back to them.
//!
//! # Determinism
//! Every random choice comes from a seed attribute (`model.seed`, or `seed` for the
//! `xgboost.*` estimators; default 0), so the same data and attributes give the same model.
//!
//! # Saved models
//! [`TrainedModel::to_bytes`] writes a versioned format ([`FORMAT_VERSION`]); see the
//! `format` module.

pub mod arima;
mod attrs;
mod auto;
mod binning;
mod data;
mod dec;
mod dnn;
mod embedding;
mod error;
mod estimator;
mod explain;
mod features;
mod forest;
mod format;
mod gbdt;
mod kernel_shap;
mod kmeans;
mod labels;
mod linear;
pub mod metrics;
mod model;
mod monitor;
mod optim;
mod optimizer;
mod rng;
mod rnn;
mod scorecard;
mod shap;
mod svm;
mod threads;
mod tree;

pub use attrs::{AttrValue, Attrs};
pub use auto::{AutoSearch, AutoTrial};
pub use data::{ClassLabel, Column, Feature, FeatureRef, LabelColumn, Prediction};
pub use embedding::{Combiner, EmbeddingSpec};
pub use error::{ModelError, Result};
pub use estimator::{EstimatorInfo, Task, estimator_info, estimator_names};
pub use format::FORMAT_VERSION;
pub use kernel_shap::{
    BACKGROUND as SHAP_BACKGROUND, MAX_EVALUATIONS as SHAP_MAX_EVALUATIONS,
    default_nsamples as shap_default_nsamples,
};
pub use labels::encode_classes as class_indices;
pub use model::{
    Evaluated, Evaluation, TrainOptions, TrainedModel, train, train_owned, train_with,
    train_with_history, validate_attributes,
};
pub use monitor::{HistorySeries, MAX_HISTORY_POINTS, TrainingHistory};
pub use scorecard::ScoreCardRow;
pub use shap::ShapValues;

/// The attributes `estimator` accepts: (name, default rendered as SQL, or `None` when the
/// default is worked out from the data). For help texts and documentation.
pub fn accepted_attributes(estimator: &str) -> Result<Vec<(&'static str, Option<String>)>> {
    let est = estimator::Estimator::from_name(estimator)?;
    Ok(attrs::describe(&est.specs()))
}
