//! The estimators users name after `TO TRAIN`, their attribute tables and what kind of
//! task each solves.

use serde::{Deserialize, Serialize};

use crate::attrs::{AttrSpec, Resolved};
use crate::error::{ModelError, Result};
use crate::gbdt::Objective;
use crate::{dnn, forest, gbdt, kmeans, linear};

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Predicts a class (the original label value) and class probabilities.
    Classification,
    /// Predicts a number.
    Regression,
    /// Predicts a cluster id; trained without a label.
    Clustering,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Estimator {
    #[serde(rename = "DNNClassifier")]
    DnnClassifier,
    #[serde(rename = "DNNRegressor")]
    DnnRegressor,
    LinearClassifier,
    LinearRegressor,
    #[serde(rename = "xgboost.gbtree")]
    XgboostGbtree,
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    KMeans,
}

const ALL: [Estimator; 10] = [
    Estimator::DnnClassifier,
    Estimator::DnnRegressor,
    Estimator::LinearClassifier,
    Estimator::LinearRegressor,
    Estimator::XgboostGbtree,
    Estimator::DecisionTreeClassifier,
    Estimator::DecisionTreeRegressor,
    Estimator::RandomForestClassifier,
    Estimator::RandomForestRegressor,
    Estimator::KMeans,
];

/// The estimator names [`train`](crate::train) accepts (matched case-insensitively).
pub fn estimator_names() -> Vec<&'static str> {
    ALL.iter().map(|e| e.name()).collect()
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
            Estimator::LinearClassifier => "LinearClassifier",
            Estimator::LinearRegressor => "LinearRegressor",
            Estimator::XgboostGbtree => "xgboost.gbtree",
            Estimator::DecisionTreeClassifier => "DecisionTreeClassifier",
            Estimator::DecisionTreeRegressor => "DecisionTreeRegressor",
            Estimator::RandomForestClassifier => "RandomForestClassifier",
            Estimator::RandomForestRegressor => "RandomForestRegressor",
            Estimator::KMeans => "KMeans",
        }
    }

    pub fn specs(self) -> &'static [AttrSpec] {
        match self {
            Estimator::DnnClassifier => dnn::CLASSIFIER_SPECS,
            Estimator::DnnRegressor => dnn::REGRESSOR_SPECS,
            Estimator::LinearClassifier => linear::CLASSIFIER_SPECS,
            Estimator::LinearRegressor => linear::REGRESSOR_SPECS,
            Estimator::XgboostGbtree => gbdt::SPECS,
            Estimator::DecisionTreeClassifier | Estimator::DecisionTreeRegressor => {
                forest::TREE_SPECS
            }
            Estimator::RandomForestClassifier => forest::FOREST_CLASSIFIER_SPECS,
            Estimator::RandomForestRegressor => forest::FOREST_REGRESSOR_SPECS,
            Estimator::KMeans => kmeans::SPECS,
        }
    }

    /// Attributes that fix a model's shape, so a warm start cannot change them.
    pub fn shape_attrs(self) -> &'static [&'static str] {
        match self {
            Estimator::DnnClassifier | Estimator::DnnRegressor => dnn::SHAPE_ATTRS,
            Estimator::LinearClassifier | Estimator::LinearRegressor => linear::SHAPE_ATTRS,
            Estimator::XgboostGbtree => gbdt::SHAPE_ATTRS,
            Estimator::KMeans => kmeans::SHAPE_ATTRS,
            _ => &[],
        }
    }

    pub fn task(self, attrs: &Resolved) -> Task {
        match self {
            Estimator::DnnClassifier
            | Estimator::LinearClassifier
            | Estimator::DecisionTreeClassifier
            | Estimator::RandomForestClassifier => Task::Classification,
            Estimator::DnnRegressor
            | Estimator::LinearRegressor
            | Estimator::DecisionTreeRegressor
            | Estimator::RandomForestRegressor => Task::Regression,
            Estimator::XgboostGbtree
                if Objective::from_name(attrs.str("objective")).is_classification() =>
            {
                Task::Classification
            }
            Estimator::XgboostGbtree => Task::Regression,
            Estimator::KMeans => Task::Clustering,
        }
    }

    /// Neural, linear and distance-based models need one-hot categories; trees split
    /// ordinal codes directly.
    pub fn one_hot(self) -> bool {
        matches!(
            self,
            Estimator::DnnClassifier
                | Estimator::DnnRegressor
                | Estimator::LinearClassifier
                | Estimator::LinearRegressor
                | Estimator::KMeans
        )
    }

    pub fn supports_warm_start(self) -> bool {
        !matches!(
            self,
            Estimator::DecisionTreeClassifier | Estimator::DecisionTreeRegressor
        )
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
            let resolved = resolve(est.name(), specs, &Attrs::new()).unwrap();
            for shape in est.shape_attrs() {
                assert!(
                    specs.iter().any(|s| s.name == *shape)
                        || est == Estimator::LinearRegressor
                        || est == Estimator::DnnRegressor,
                    "{}: {shape}",
                    est.name()
                );
            }
            let _ = est.task(&resolved);
            assert_eq!(
                Estimator::from_name(&est.name().to_ascii_uppercase()).unwrap(),
                est
            );
        }
    }
}
