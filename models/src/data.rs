//! The in-memory values the engine hands in (columns of optional typed values) and the
//! values it gets back (predictions), plus the dense matrix the models work on.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One cell of a feature or label column. SQL `NULL` is `None` (see [`Column::get`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Feature {
    Num(f64),
    Str(String),
}

impl Feature {
    pub fn as_ref(&self) -> FeatureRef<'_> {
        match self {
            Feature::Num(x) => FeatureRef::Num(*x),
            Feature::Str(s) => FeatureRef::Str(s),
        }
    }
}

/// One cell as a column holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeatureRef<'a> {
    Num(f64),
    Str(&'a str),
}

impl FeatureRef<'_> {
    pub fn to_feature(self) -> Feature {
        match self {
            FeatureRef::Num(x) => Feature::Num(x),
            FeatureRef::Str(s) => Feature::Str(s.to_string()),
        }
    }
}

/// A named column, one value per row, held by type: numbers as `f64` beside a validity
/// flag, strings dictionary-encoded, so that a large training set costs about 9 bytes
/// a number rather than a tagged cell each.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    values: Values,
}

#[derive(Debug, Clone)]
enum Values {
    /// `valid[r]` is false for NULL (whose `x[r]` means nothing).
    Num { x: Vec<f64>, valid: Vec<bool> },
    /// `codes[r]` indexes `dict`; [`NULL_CODE`] is NULL.
    Str { codes: Vec<u32>, dict: Vec<String> },
    /// Numbers and strings in one column, which the models refuse by name: kept as
    /// given so that the refusal can say where.
    Mixed(Vec<Option<Feature>>),
}

const NULL_CODE: u32 = u32::MAX;

/// The label column has the same shape as a feature column.
pub type LabelColumn = Column;

/// Columns are equal when they hold the same values, however encoded.
impl PartialEq for Column {
    fn eq(&self, other: &Column) -> bool {
        self.name == other.name && self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Column {
    pub fn new(name: impl Into<String>, values: Vec<Option<Feature>>) -> Column {
        let all_num = values.iter().all(|v| !matches!(v, Some(Feature::Str(_))));
        let all_str = values.iter().all(|v| !matches!(v, Some(Feature::Num(_))));
        let values = if all_num {
            let x = values
                .iter()
                .map(|v| match v {
                    Some(Feature::Num(x)) => *x,
                    _ => 0.0,
                })
                .collect();
            let valid = values.iter().map(Option::is_some).collect();
            Values::Num { x, valid }
        } else if all_str {
            let mut dict: Vec<String> = Vec::new();
            let mut index: std::collections::HashMap<String, u32> = Default::default();
            let codes = values
                .into_iter()
                .map(|v| match v {
                    Some(Feature::Str(s)) => *index.entry(s).or_insert_with_key(|s| {
                        dict.push(s.clone());
                        // Fewer distinct strings than u32::MAX fit in memory.
                        u32::try_from(dict.len() - 1).unwrap_or(NULL_CODE - 1)
                    }),
                    _ => NULL_CODE,
                })
                .collect();
            Values::Str { codes, dict }
        } else {
            Values::Mixed(values)
        };
        Column {
            name: name.into(),
            values,
        }
    }

    /// A numeric column; `valid[r]` false is NULL. Both have one entry per row (the
    /// longer is cut to the shorter).
    pub fn from_numbers(name: impl Into<String>, x: Vec<f64>, valid: Vec<bool>) -> Column {
        let n = x.len().min(valid.len());
        let (mut x, mut valid) = (x, valid);
        x.truncate(n);
        valid.truncate(n);
        Column {
            name: name.into(),
            values: Values::Num { x, valid },
        }
    }

    /// A numeric column without NULLs.
    pub fn numeric(name: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Column {
        let x: Vec<f64> = values.into_iter().collect();
        let valid = vec![true; x.len()];
        Column::from_numbers(name, x, valid)
    }

    /// A string column without NULLs.
    pub fn strings<S: Into<String>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Column {
        Column::new(
            name,
            values
                .into_iter()
                .map(|v| Some(Feature::Str(v.into())))
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        match &self.values {
            Values::Num { x, .. } => x.len(),
            Values::Str { codes, .. } => codes.len(),
            Values::Mixed(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `r`'s value; `None` for NULL (and past the last row).
    pub fn get(&self, r: usize) -> Option<FeatureRef<'_>> {
        match &self.values {
            Values::Num { x, valid } => match valid.get(r) {
                Some(true) => x.get(r).copied().map(FeatureRef::Num),
                _ => None,
            },
            Values::Str { codes, dict } => codes
                .get(r)
                .and_then(|&c| dict.get(c as usize))
                .map(|s| FeatureRef::Str(s)),
            Values::Mixed(v) => v.get(r).and_then(|v| v.as_ref().map(Feature::as_ref)),
        }
    }

    /// Every row's value, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<FeatureRef<'_>>> + '_ {
        (0..self.len()).map(move |r| self.get(r))
    }

    /// The values as owned cells.
    pub fn to_features(&self) -> Vec<Option<Feature>> {
        self.iter().map(|v| v.map(FeatureRef::to_feature)).collect()
    }

    /// The numbers and their validity, when the column holds no string.
    pub fn numbers(&self) -> Option<(&[f64], &[bool])> {
        match &self.values {
            Values::Num { x, valid } => Some((x, valid)),
            _ => None,
        }
    }

    /// Each row's code into the dictionary ([`u32::MAX`] for NULL), when the column
    /// holds only strings.
    pub(crate) fn dictionary(&self) -> Option<(&[u32], &[String])> {
        match &self.values {
            Values::Str { codes, dict } => Some((codes, dict)),
            _ => None,
        }
    }

    /// The rows `rows` (in that order) as a new column; a row past the last is left out.
    pub fn take_rows(&self, rows: &[usize]) -> Column {
        let n = self.len();
        let kept: Vec<usize>;
        let rows = if rows.iter().all(|&r| r < n) {
            rows
        } else {
            kept = rows.iter().copied().filter(|&r| r < n).collect();
            &kept
        };
        let values = match &self.values {
            Values::Num { x, valid } => Values::Num {
                x: rows.iter().map(|&r| x[r]).collect(),
                valid: rows.iter().map(|&r| valid[r]).collect(),
            },
            Values::Str { codes, dict } => Values::Str {
                codes: rows.iter().map(|&r| codes[r]).collect(),
                dict: dict.clone(),
            },
            Values::Mixed(v) => Values::Mixed(rows.iter().map(|&r| v[r].clone()).collect()),
        };
        Column {
            name: self.name.clone(),
            values,
        }
    }
}

/// A class of a classifier: the label value as it was in the training data.
/// Integer labels stay integers (`1`, not `1.0`) so they write back to SQL unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClassLabel {
    Int(i64),
    Str(String),
}

impl Ord for ClassLabel {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (ClassLabel::Int(a), ClassLabel::Int(b)) => a.cmp(b),
            (ClassLabel::Str(a), ClassLabel::Str(b)) => a.cmp(b),
            (ClassLabel::Int(_), ClassLabel::Str(_)) => Ordering::Less,
            (ClassLabel::Str(_), ClassLabel::Int(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for ClassLabel {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ClassLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassLabel::Int(v) => write!(f, "{v}"),
            ClassLabel::Str(s) => write!(f, "{s}"),
        }
    }
}

/// One prediction, per row.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// A classifier's most probable class, as the original label value.
    Class(ClassLabel),
    /// A regressor's estimate.
    Value(f64),
    /// A clustering model's cluster id, `0..n_clusters`.
    Cluster(usize),
    /// A forecaster's `model.n_out` values (RNNBasedTimeSeriesModel), which SQLFlow
    /// writes comma-joined into the result column, the form its label had.
    Values(Vec<f64>),
}

/// Dense row-major matrix of encoded features.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    pub fn row_mut(&mut self, r: usize) -> &mut [f64] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }

    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    pub fn set(&mut self, r: usize, c: usize, v: f64) {
        self.data[r * self.cols + c] = v;
    }
}

/// Per-column standardization (z-scores), stored with the models that need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Scaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

/// Per-column mean and (population) variance.
pub(crate) fn column_moments(x: &Matrix) -> (Vec<f64>, Vec<f64>) {
    let n = x.rows.max(1) as f64;
    let mut mean = vec![0.0; x.cols];
    for r in 0..x.rows {
        for (m, v) in mean.iter_mut().zip(x.row(r)) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; x.cols];
    for r in 0..x.rows {
        for ((s, v), m) in var.iter_mut().zip(x.row(r)).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    var.iter_mut().for_each(|s| *s /= n);
    (mean, var)
}

impl Scaler {
    pub fn fit(x: &Matrix) -> Scaler {
        let (mean, var) = column_moments(x);
        // A constant column keeps scale 1: dividing by ~0 would blow up rounding noise.
        let scale = var
            .iter()
            .map(|v| {
                let sd = v.sqrt();
                if sd > 1e-12 { sd } else { 1.0 }
            })
            .collect();
        Scaler { mean, scale }
    }

    pub fn transform(&self, x: &Matrix) -> Matrix {
        let mut out = x.clone();
        for r in 0..out.rows {
            for ((v, m), s) in out.row_mut(r).iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        out
    }

    pub fn check(&self, cols: usize) -> bool {
        self.mean.len() == cols
            && self.scale.len() == cols
            && self.mean.iter().all(|v| v.is_finite())
            && self.scale.iter().all(|v| v.is_finite() && *v > 0.0)
    }
}

/// Encoded labels handed to an estimator's training function.
#[derive(Debug, Clone)]
pub(crate) enum Labels {
    /// Class index per row, `0..n_classes`.
    Classes {
        y: Vec<usize>,
        n_classes: usize,
    },
    Values(Vec<f64>),
    None,
}

/// One row of `n_classes` indicators per class index (`rows × n_classes`).
pub(crate) fn one_hot(y: &[usize], n_classes: usize) -> Vec<f64> {
    let mut t = vec![0.0; y.len() * n_classes];
    for (r, &c) in y.iter().enumerate() {
        t[r * n_classes + c] = 1.0;
    }
    t
}

/// `x` as an integer when it is a whole number small enough to be exact.
pub(crate) fn whole_number(x: f64) -> Option<i64> {
    (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Option<Feature> {
        Some(Feature::Str(x.into()))
    }

    #[test]
    fn columns_keep_values_and_nulls_whatever_they_hold() {
        let strings = vec![s("b"), None, s("a"), s("b")];
        let c = Column::new("c", strings.clone());
        let (codes, dict) = c.dictionary().unwrap();
        assert_eq!(codes, &[0, NULL_CODE, 1, 0]);
        assert_eq!(dict, &["b", "a"]);
        assert_eq!(c.to_features(), strings);
        assert_eq!(c.get(2), Some(FeatureRef::Str("a")));
        assert_eq!(c.get(1), None);
        assert_eq!(c.get(4), None);

        let numbers = vec![Some(Feature::Num(1.5)), None, Some(Feature::Num(f64::NAN))];
        let n = Column::new("n", numbers);
        assert_eq!(n.numbers().map(|(_, v)| v), Some(&[true, false, true][..]));
        assert!(matches!(n.get(2), Some(FeatureRef::Num(x)) if x.is_nan()));
        // Equal by value: a NULL's number does not count (NaN is unequal, as f64 is).
        let n3 = Column::new(
            "n",
            vec![Some(Feature::Num(1.5)), None, Some(Feature::Num(3.0))],
        );
        assert_eq!(
            n3,
            Column::from_numbers("n", vec![1.5, 7.0, 3.0], vec![true, false, true])
        );
        assert_ne!(n3, Column::numeric("n", [1.5, 0.0, 3.0]));

        let mixed = vec![s("a"), Some(Feature::Num(2.0)), None];
        let m = Column::new("m", mixed.clone());
        assert!(m.numbers().is_none() && m.dictionary().is_none());
        assert_eq!(m.to_features(), mixed);

        // Rows taken in any order, a row past the end left out.
        assert_eq!(
            c.take_rows(&[3, 1, 9, 2]).to_features(),
            vec![s("b"), None, s("a")]
        );
        assert_eq!(Column::strings("c", ["x"]), Column::new("c", vec![s("x")]));
    }
}
