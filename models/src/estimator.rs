//! The estimators users name after `TO TRAIN`, their attribute tables and what kind of
//! task each solves.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, AttrType, Resolved};
use crate::dnn::{self, DnnFlavor, TF_RUNTIME_SPECS};
use crate::error::{ModelError, Result};
use crate::gbdt::{self, Booster, Objective};
use crate::optimizer::OPTIMIZER_SPECS;
use crate::{arima, auto, dec, forest, kmeans, linear, rnn, scorecard, svm};

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Predicts a class (the original label value) and class probabilities.
    Classification,
    /// Predicts a number.
    Regression,
    /// Predicts a cluster id; trained without a label.
    Clustering,
    /// Predicts 1 (inlier) or -1 (outlier); trained without a label, evaluated against
    /// a label of 1 / -1.
    OutlierDetection,
}

/// What the engine needs to know about an estimator before it loads any data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EstimatorInfo {
    /// The canonical spelling (`DNNClassifier`, `xgboost.gbtree`, ...).
    pub name: &'static str,
    /// Supervised estimators need `LABEL`; clustering must not have one.
    pub needs_label: bool,
    /// The inputs `COLUMN ... FOR <input>` may name (wide and deep:
    /// `linear_feature_columns`, `dnn_feature_columns`); empty for single-input models.
    pub inputs: &'static [&'static str],
    /// The model reads the selected columns as they are (ARIMAWithSTLDecomposition's
    /// date column): no feature columns are derived or stored, and PREDICT hands it the
    /// query's columns unchanged.
    pub raw_columns: bool,
}

/// `COLUMN ... FOR` inputs of wide and deep, TensorFlow's argument names.
pub(crate) const WIDE_DEEP_INPUTS: &[&str] = &["linear_feature_columns", "dnn_feature_columns"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Estimator {
    #[serde(rename = "DNNClassifier")]
    DnnClassifier,
    #[serde(rename = "DNNRegressor")]
    DnnRegressor,
    #[serde(rename = "sqlflow_models.DNNClassifier")]
    KerasDnnClassifier,
    #[serde(rename = "sqlflow_models.DNNRegressor")]
    KerasDnnRegressor,
    #[serde(rename = "DNNLinearCombinedClassifier")]
    WideDeepClassifier,
    #[serde(rename = "DNNLinearCombinedRegressor")]
    WideDeepRegressor,
    LinearClassifier,
    LinearRegressor,
    #[serde(rename = "xgboost.gbtree")]
    XgboostGbtree,
    #[serde(rename = "xgboost.gblinear")]
    XgboostGblinear,
    #[serde(rename = "xgboost.dart")]
    XgboostDart,
    #[serde(rename = "xgboost.XGBClassifier")]
    XgbClassifier,
    #[serde(rename = "xgboost.XGBRegressor")]
    XgbRegressor,
    BoostedTreesClassifier,
    BoostedTreesRegressor,
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    KMeans,
    #[serde(rename = "sqlflow_models.ScoreCard")]
    ScoreCard,
    #[serde(rename = "sqlflow_models.OneClassSVM")]
    OneClassSvm,
    #[serde(rename = "sqlflow_models.AutoClassifier")]
    AutoClassifier,
    #[serde(rename = "sqlflow_models.AutoRegressor")]
    AutoRegressor,
    #[serde(rename = "sqlflow_models.DeepEmbeddingClusterModel")]
    DeepEmbeddingCluster,
    #[serde(rename = "sqlflow_models.RNNBasedTimeSeriesModel")]
    TimeSeriesRnn,
    #[serde(rename = "sqlflow_models.ARIMAWithSTLDecomposition")]
    ArimaStl,
}

const ALL: [Estimator; 27] = [
    Estimator::DnnClassifier,
    Estimator::DnnRegressor,
    Estimator::KerasDnnClassifier,
    Estimator::KerasDnnRegressor,
    Estimator::WideDeepClassifier,
    Estimator::WideDeepRegressor,
    Estimator::LinearClassifier,
    Estimator::LinearRegressor,
    Estimator::XgboostGbtree,
    Estimator::XgboostGblinear,
    Estimator::XgboostDart,
    Estimator::XgbClassifier,
    Estimator::XgbRegressor,
    Estimator::BoostedTreesClassifier,
    Estimator::BoostedTreesRegressor,
    Estimator::DecisionTreeClassifier,
    Estimator::DecisionTreeRegressor,
    Estimator::RandomForestClassifier,
    Estimator::RandomForestRegressor,
    Estimator::KMeans,
    Estimator::ScoreCard,
    Estimator::OneClassSvm,
    Estimator::AutoClassifier,
    Estimator::AutoRegressor,
    Estimator::DeepEmbeddingCluster,
    Estimator::TimeSeriesRnn,
    Estimator::ArimaStl,
];

/// The estimator names [`train`](crate::train) accepts (matched case-insensitively).
pub fn estimator_names() -> Vec<&'static str> {
    ALL.iter().map(|e| e.name()).collect()
}

/// The estimator `name` means, for the engine's checks before training.
pub fn estimator_info(name: &str) -> Result<EstimatorInfo> {
    let est = Estimator::from_name(name)?;
    Ok(EstimatorInfo {
        name: est.name(),
        needs_label: !matches!(
            est,
            Estimator::KMeans | Estimator::OneClassSvm | Estimator::DeepEmbeddingCluster
        ),
        inputs: if est.is_wide_deep() {
            WIDE_DEEP_INPUTS
        } else {
            &[]
        },
        raw_columns: est == Estimator::ArimaStl,
    })
}

const LINEAR_SOLVED: &str = "the linear model is solved to the optimum on all rows at once \
     (L-BFGS for classifiers, exact least squares for regressors), so no optimizer, epoch or \
     batch is involved";

/// A linear model's `model.optimizer`, `optimizer.*`, `train.epoch`, ...: accepted, as
/// TensorFlow's `LinearClassifier` takes them, without effect.
fn linear_no_effect() -> impl Iterator<Item = AttrSpec> {
    OPTIMIZER_SPECS
        .iter()
        .map(|s| s.name)
        .chain(["train.epoch", "train.batch_size", "train.max_steps"])
        .map(|name| AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::NoEffect(LINEAR_SOLVED),
            default: None,
        })
}

impl Estimator {
    pub fn from_name(name: &str) -> Result<Estimator> {
        let name = name.trim();
        ALL.iter()
            .copied()
            .find(|e| e.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ModelError::UnknownEstimator {
                name: name.to_string(),
                supported: estimator_names().join(", "),
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            Estimator::DnnClassifier => "DNNClassifier",
            Estimator::DnnRegressor => "DNNRegressor",
            Estimator::KerasDnnClassifier => "sqlflow_models.DNNClassifier",
            Estimator::KerasDnnRegressor => "sqlflow_models.DNNRegressor",
            Estimator::WideDeepClassifier => "DNNLinearCombinedClassifier",
            Estimator::WideDeepRegressor => "DNNLinearCombinedRegressor",
            Estimator::LinearClassifier => "LinearClassifier",
            Estimator::LinearRegressor => "LinearRegressor",
            Estimator::XgboostGbtree => "xgboost.gbtree",
            Estimator::XgboostGblinear => "xgboost.gblinear",
            Estimator::XgboostDart => "xgboost.dart",
            Estimator::XgbClassifier => "xgboost.XGBClassifier",
            Estimator::XgbRegressor => "xgboost.XGBRegressor",
            Estimator::BoostedTreesClassifier => "BoostedTreesClassifier",
            Estimator::BoostedTreesRegressor => "BoostedTreesRegressor",
            Estimator::DecisionTreeClassifier => "DecisionTreeClassifier",
            Estimator::DecisionTreeRegressor => "DecisionTreeRegressor",
            Estimator::RandomForestClassifier => "RandomForestClassifier",
            Estimator::RandomForestRegressor => "RandomForestRegressor",
            Estimator::KMeans => "KMeans",
            Estimator::ScoreCard => "sqlflow_models.ScoreCard",
            Estimator::OneClassSvm => "sqlflow_models.OneClassSVM",
            Estimator::AutoClassifier => "sqlflow_models.AutoClassifier",
            Estimator::AutoRegressor => "sqlflow_models.AutoRegressor",
            Estimator::DeepEmbeddingCluster => "sqlflow_models.DeepEmbeddingClusterModel",
            Estimator::TimeSeriesRnn => rnn::NAME,
            Estimator::ArimaStl => arima::NAME,
        }
    }

    /// The neural estimators' attribute names and defaults.
    pub fn dnn_flavor(self) -> Option<&'static DnnFlavor> {
        match self {
            Estimator::DnnClassifier | Estimator::DnnRegressor => Some(&dnn::CANNED),
            Estimator::KerasDnnClassifier => Some(&dnn::KERAS_CLASSIFIER),
            Estimator::KerasDnnRegressor => Some(&dnn::KERAS_REGRESSOR),
            Estimator::WideDeepClassifier | Estimator::WideDeepRegressor => Some(&dnn::WIDE_DEEP),
            _ => None,
        }
    }

    pub fn is_wide_deep(self) -> bool {
        matches!(
            self,
            Estimator::WideDeepClassifier | Estimator::WideDeepRegressor
        )
    }

    /// The booster an `xgboost.*` estimator trains when `booster` is not given.
    pub fn xgboost_booster(self) -> Option<Booster> {
        match self {
            Estimator::XgboostGbtree | Estimator::XgbClassifier | Estimator::XgbRegressor => {
                Some(Booster::Gbtree)
            }
            Estimator::XgboostGblinear => Some(Booster::Gblinear),
            Estimator::XgboostDart => Some(Booster::Dart),
            _ => None,
        }
    }

    pub fn is_boosted_trees(self) -> bool {
        matches!(
            self,
            Estimator::BoostedTreesClassifier | Estimator::BoostedTreesRegressor
        )
    }

    pub fn specs(self) -> Vec<AttrSpec> {
        if let Some(flavor) = self.dnn_flavor() {
            return flavor.specs(self.task_if_fixed() == Some(Task::Classification));
        }
        match self {
            Estimator::LinearClassifier => linear::CLASSIFIER_SPECS
                .iter()
                .copied()
                .chain(linear_no_effect())
                .chain(TF_RUNTIME_SPECS.iter().copied())
                .collect(),
            Estimator::LinearRegressor => linear::REGRESSOR_SPECS
                .iter()
                .copied()
                .chain(linear_no_effect())
                .chain(TF_RUNTIME_SPECS.iter().copied())
                .collect(),
            Estimator::BoostedTreesClassifier => gbdt::boosted_trees_specs(true),
            Estimator::BoostedTreesRegressor => gbdt::boosted_trees_specs(false),
            Estimator::DecisionTreeClassifier | Estimator::DecisionTreeRegressor => {
                forest::TREE_SPECS.to_vec()
            }
            Estimator::RandomForestClassifier => forest::FOREST_CLASSIFIER_SPECS.to_vec(),
            Estimator::RandomForestRegressor => forest::FOREST_REGRESSOR_SPECS.to_vec(),
            Estimator::KMeans => kmeans::SPECS.to_vec(),
            Estimator::ScoreCard => scorecard::SPECS.to_vec(),
            Estimator::OneClassSvm => svm::SPECS.to_vec(),
            Estimator::AutoClassifier => auto::specs(true),
            Estimator::AutoRegressor => auto::specs(false),
            Estimator::DeepEmbeddingCluster => dec::SPECS
                .iter()
                .copied()
                .chain(TF_RUNTIME_SPECS.iter().copied())
                .collect(),
            Estimator::TimeSeriesRnn => rnn::specs(),
            Estimator::ArimaStl => arima::SPECS.to_vec(),
            _ => gbdt::XGB_SPECS.to_vec(),
        }
    }

    /// Attributes that fix a model's shape, so a warm start cannot change them.
    pub fn shape_attrs(self) -> &'static [&'static str] {
        match self {
            Estimator::WideDeepClassifier | Estimator::WideDeepRegressor => {
                &["model.dnn_hidden_units", "model.n_classes"]
            }
            Estimator::DnnClassifier
            | Estimator::DnnRegressor
            | Estimator::KerasDnnClassifier
            | Estimator::KerasDnnRegressor => &["model.hidden_units", "model.n_classes"],
            Estimator::LinearClassifier | Estimator::LinearRegressor => linear::SHAPE_ATTRS,
            Estimator::BoostedTreesClassifier | Estimator::BoostedTreesRegressor => {
                &["model.n_classes"]
            }
            Estimator::KMeans => kmeans::SHAPE_ATTRS,
            Estimator::DeepEmbeddingCluster => dec::SHAPE_ATTRS,
            e if e.xgboost_booster().is_some() => gbdt::XGB_SHAPE_ATTRS,
            _ => &[],
        }
    }

    /// The task, when the name alone decides it (not for `xgboost.gbtree` & co., whose
    /// `objective` does).
    fn task_if_fixed(self) -> Option<Task> {
        Some(match self {
            Estimator::DnnClassifier
            | Estimator::KerasDnnClassifier
            | Estimator::WideDeepClassifier
            | Estimator::LinearClassifier
            | Estimator::XgbClassifier
            | Estimator::BoostedTreesClassifier
            | Estimator::DecisionTreeClassifier
            | Estimator::RandomForestClassifier
            | Estimator::ScoreCard
            | Estimator::AutoClassifier => Task::Classification,
            Estimator::DnnRegressor
            | Estimator::KerasDnnRegressor
            | Estimator::WideDeepRegressor
            | Estimator::LinearRegressor
            | Estimator::XgbRegressor
            | Estimator::BoostedTreesRegressor
            | Estimator::DecisionTreeRegressor
            | Estimator::RandomForestRegressor
            | Estimator::AutoRegressor
            | Estimator::TimeSeriesRnn
            | Estimator::ArimaStl => Task::Regression,
            Estimator::KMeans | Estimator::DeepEmbeddingCluster => Task::Clustering,
            Estimator::OneClassSvm => Task::OutlierDetection,
            Estimator::XgboostGbtree | Estimator::XgboostGblinear | Estimator::XgboostDart => {
                return None;
            }
        })
    }

    pub fn task(self, attrs: &Resolved) -> Task {
        self.task_if_fixed().unwrap_or_else(|| {
            match attrs.opt_str("objective").map(Objective::from_name) {
                Some(o) if o.is_classification() => Task::Classification,
                _ => Task::Regression,
            }
        })
    }

    /// The booster in effect for an `xgboost.*` estimator.
    pub fn booster(self, attrs: &Resolved) -> Option<Booster> {
        let default = self.xgboost_booster()?;
        Some(attrs.opt_str("booster").map_or(default, Booster::from_name))
    }

    /// Neural, linear and distance-based models (and XGBoost's linear booster) need
    /// one-hot categories; trees split ordinal codes directly.
    pub fn one_hot(self, attrs: &Resolved) -> bool {
        self.dnn_flavor().is_some()
            || matches!(
                self,
                Estimator::LinearClassifier
                    | Estimator::LinearRegressor
                    | Estimator::KMeans
                    | Estimator::OneClassSvm
                    | Estimator::DeepEmbeddingCluster
            )
            || self.booster(attrs) == Some(Booster::Gblinear)
    }

    pub fn supports_warm_start(self) -> bool {
        !matches!(
            self,
            Estimator::DecisionTreeClassifier
                | Estimator::DecisionTreeRegressor
                | Estimator::ScoreCard
                | Estimator::OneClassSvm
                | Estimator::AutoClassifier
                | Estimator::AutoRegressor
                | Estimator::DeepEmbeddingCluster
                | Estimator::TimeSeriesRnn
                | Estimator::ArimaStl
        )
    }

    /// `sqlflow_models.AutoClassifier` / `AutoRegressor`: a search over the others.
    pub fn is_auto(self) -> bool {
        matches!(self, Estimator::AutoClassifier | Estimator::AutoRegressor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{Attrs, resolve};

    #[test]
    fn every_spec_table_is_consistent() {
        for est in ALL {
            let specs = est.specs();
            let mut names: Vec<&str> = specs
                .iter()
                .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
                .collect();
            let total = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(
                names.len(),
                total,
                "{}: a name or alias appears twice",
                est.name()
            );
            let resolved = resolve(est.name(), &specs, &Attrs::new()).unwrap();
            for shape in est.shape_attrs() {
                assert!(
                    specs.iter().any(|s| s.name == *shape)
                        || matches!(
                            est,
                            Estimator::LinearRegressor
                                | Estimator::DnnRegressor
                                | Estimator::KerasDnnRegressor
                                | Estimator::WideDeepRegressor
                                | Estimator::BoostedTreesRegressor
                        ),
                    "{}: {shape}",
                    est.name()
                );
            }
            let _ = est.task(&resolved);
            assert_eq!(
                Estimator::from_name(&est.name().to_ascii_uppercase()).unwrap(),
                est
            );
            // the saved name is the name users write
            let json = serde_json::to_string(&est).unwrap();
            assert_eq!(json, format!("\"{}\"", est.name()));
        }
    }

    #[test]
    fn info_for_the_engine() {
        let km = estimator_info("kmeans").unwrap();
        assert!(!km.needs_label && km.inputs.is_empty());
        let wd = estimator_info("dnnlinearcombinedclassifier").unwrap();
        assert_eq!(wd.name, "DNNLinearCombinedClassifier");
        assert_eq!(wd.inputs, WIDE_DEEP_INPUTS);
        let err = estimator_info("NoSuchModel").unwrap_err().to_string();
        assert!(
            err.contains("unknown estimator 'NoSuchModel'") && err.contains("xgboost.dart"),
            "{err}"
        );
    }
}
