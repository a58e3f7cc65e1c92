//! The in-memory values the engine hands in (columns of optional typed values) and the
//! values it gets back (predictions), plus the dense matrix the models work on.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One cell of a feature or label column. SQL `NULL` is `None` in [`Column::values`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Feature {
    Num(f64),
    Str(String),
}

/// A named column, one value per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Vec<Option<Feature>>,
}

/// The label column has the same shape as a feature column.
pub type LabelColumn = Column;

impl Column {
    pub fn new(name: impl Into<String>, values: Vec<Option<Feature>>) -> Column {
        Column {
            name: name.into(),
            values,
        }
    }

    /// A numeric column without NULLs.
    pub fn numeric(name: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Column {
        Column::new(
            name,
            values.into_iter().map(|v| Some(Feature::Num(v))).collect(),
        )
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
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
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
