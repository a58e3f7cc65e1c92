//! Label columns: classes for classifiers (integers or strings, stored with the model so
//! predictions map back to the original values) and numeric targets for regressors.

use crate::data::{ClassLabel, FeatureRef, LabelColumn, whole_number};
use crate::error::{ModelError, Result};

fn null_label(label: &LabelColumn, row: usize) -> ModelError {
    ModelError::InvalidLabel(format!(
        "label column '{}' is NULL at row {}; filter such rows out (WHERE {} IS NOT NULL)",
        label.name,
        row + 1,
        label.name
    ))
}

fn to_class(label: &LabelColumn, row: usize, v: Option<FeatureRef<'_>>) -> Result<ClassLabel> {
    match v {
        None => Err(null_label(label, row)),
        Some(FeatureRef::Str(s)) => Ok(ClassLabel::Str(s.to_string())),
        Some(FeatureRef::Num(x)) => whole_number(x).map(ClassLabel::Int).ok_or_else(|| {
            ModelError::InvalidLabel(format!(
                "a classifier needs integer or string labels but '{}' is {x} at row {}; \
                 use a regressor for a continuous target",
                label.name,
                row + 1
            ))
        }),
    }
}

/// The distinct classes of a label column, sorted (integers numerically, strings
/// lexicographically).
pub(crate) fn fit_classes(label: &LabelColumn) -> Result<Vec<ClassLabel>> {
    // Distinct values only: a label of many rows holds few classes.
    let mut distinct = std::collections::BTreeSet::new();
    for (r, v) in label.iter().enumerate() {
        distinct.insert(to_class(label, r, v)?);
    }
    let classes: Vec<ClassLabel> = distinct.into_iter().collect();
    if let (Some(ClassLabel::Int(_)), Some(ClassLabel::Str(_))) = (classes.first(), classes.last())
    {
        return Err(ModelError::InvalidLabel(format!(
            "label column '{}' mixes numbers and strings; cast it to one type",
            label.name
        )));
    }
    if classes.len() < 2 {
        return Err(ModelError::InvalidLabel(format!(
            "label column '{}' has {} distinct value(s); a classifier needs at least 2 classes",
            label.name,
            classes.len()
        )));
    }
    Ok(classes)
}

/// Class index per row (into `classes`, a classifier's [`crate::TrainedModel::classes`]);
/// a value that is not one of `classes` is an error.
pub fn encode_classes(label: &LabelColumn, classes: &[ClassLabel]) -> Result<Vec<usize>> {
    label
        .iter()
        .enumerate()
        .map(|(r, v)| {
            let c = to_class(label, r, v)?;
            classes.binary_search(&c).map_err(|_| {
                ModelError::InvalidLabel(format!(
                    "label '{}' = {c} at row {} is not one of the model's classes ({})",
                    label.name,
                    r + 1,
                    list_classes(classes)
                ))
            })
        })
        .collect()
}

pub(crate) fn list_classes(classes: &[ClassLabel]) -> String {
    const SHOW: usize = 20;
    let mut s: Vec<String> = classes.iter().take(SHOW).map(ToString::to_string).collect();
    if classes.len() > SHOW {
        s.push(format!("... {} in all", classes.len()));
    }
    s.join(", ")
}

/// A regression target; NULLs and strings are errors.
pub(crate) fn numeric_target(label: &LabelColumn) -> Result<Vec<f64>> {
    label
        .iter()
        .enumerate()
        .map(|(r, v)| match v {
            Some(FeatureRef::Num(x)) if x.is_finite() => Ok(x),
            Some(FeatureRef::Num(x)) => Err(ModelError::InvalidLabel(format!(
                "label column '{}' is {x} at row {}; a regression target must be finite",
                label.name,
                r + 1
            ))),
            Some(FeatureRef::Str(s)) => Err(ModelError::InvalidLabel(format!(
                "a regressor needs a numeric label but '{}' is the string '{s}' at row {}; \
                 use a classifier for categorical labels",
                label.name,
                r + 1
            ))),
            None => Err(null_label(label, r)),
        })
        .collect()
}

/// A vector target: each row's label holds `n` comma-separated numbers (`"0.1,0.2"`;
/// with `n` = 1 a plain number too), as SQLFlow's time-series models read it. Row-major,
/// `rows × n`. `model` names the model for the messages.
pub(crate) fn vector_target(label: &LabelColumn, n: usize, model: &str) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(label.len() * n);
    let shape = || {
        format!(
            "{model} reads its label as model.n_out = {n} comma-separated numbers \
             (e.g. concat(a, ',', b))"
        )
    };
    for (r, v) in label.iter().enumerate() {
        match v {
            None => return Err(null_label(label, r)),
            Some(FeatureRef::Num(x)) if n == 1 && x.is_finite() => out.push(x),
            Some(FeatureRef::Num(x)) => {
                return Err(ModelError::InvalidLabel(format!(
                    "label column '{}' is the number {x} at row {}; {}",
                    label.name,
                    r + 1,
                    shape()
                )));
            }
            Some(FeatureRef::Str(s)) => {
                let parts: Vec<&str> = s.split(',').map(str::trim).collect();
                if parts.len() != n {
                    return Err(ModelError::InvalidLabel(format!(
                        "label column '{}' holds {} value(s) at row {} ('{}'); {}",
                        label.name,
                        parts.len(),
                        r + 1,
                        clip(s),
                        shape()
                    )));
                }
                for p in parts {
                    match p.parse::<f64>() {
                        Ok(x) if x.is_finite() => out.push(x),
                        _ => {
                            return Err(ModelError::InvalidLabel(format!(
                                "label column '{}' at row {} ('{}'): '{}' is not a finite \
                                 number; {}",
                                label.name,
                                r + 1,
                                clip(s),
                                clip(p),
                                shape()
                            )));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// At most 60 characters of a label value, for messages.
fn clip(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Column, Feature};

    #[test]
    fn classes_sorted_and_mapped() {
        let label = Column::strings("y", ["b", "a", "b", "c"]);
        let classes = fit_classes(&label).unwrap();
        assert_eq!(
            classes,
            vec![
                ClassLabel::Str("a".into()),
                ClassLabel::Str("b".into()),
                ClassLabel::Str("c".into())
            ]
        );
        assert_eq!(encode_classes(&label, &classes).unwrap(), vec![1, 0, 1, 2]);
        let ints = Column::numeric("y", [2.0, 10.0, 2.0]);
        assert_eq!(
            fit_classes(&ints).unwrap(),
            vec![ClassLabel::Int(2), ClassLabel::Int(10)]
        );
    }

    #[test]
    fn vector_labels() {
        let label = Column::new(
            "class",
            vec![
                Some(Feature::Str("0.5, 1,-2e-1".into())),
                Some(Feature::Str("3,4,5".into())),
            ],
        );
        assert_eq!(
            vector_target(&label, 3, "M").unwrap(),
            vec![0.5, 1.0, -0.2, 3.0, 4.0, 5.0]
        );
        let err = vector_target(&label, 2, "M").unwrap_err().to_string();
        assert!(
            err.contains("holds 3 value(s) at row 1") && err.contains("n_out = 2"),
            "{err}"
        );
        let bad = Column::strings("class", ["1,2", "1,x"]);
        let err = vector_target(&bad, 2, "M").unwrap_err().to_string();
        assert!(
            err.contains("row 2") && err.contains("'x' is not a finite number"),
            "{err}"
        );
        assert_eq!(
            vector_target(&Column::numeric("y", [1.5]), 1, "M").unwrap(),
            vec![1.5]
        );
        assert!(vector_target(&Column::numeric("y", [1.5]), 2, "M").is_err());
    }

    #[test]
    fn bad_labels() {
        assert!(
            fit_classes(&Column::numeric("y", [0.5, 1.0]))
                .unwrap_err()
                .to_string()
                .contains("regressor")
        );
        assert!(
            fit_classes(&Column::numeric("y", [1.0, 1.0]))
                .unwrap_err()
                .to_string()
                .contains("at least 2")
        );
        let with_null = Column::new("y", vec![Some(Feature::Num(1.0)), None]);
        assert!(
            fit_classes(&with_null)
                .unwrap_err()
                .to_string()
                .contains("IS NOT NULL")
        );
        assert!(
            numeric_target(&Column::strings("y", ["a"]))
                .unwrap_err()
                .to_string()
                .contains("classifier")
        );
    }
}
