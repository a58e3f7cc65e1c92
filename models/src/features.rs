//! Turning typed, nullable columns into the numeric matrix the models train on.
//!
//! Rules (fixed at training time and stored with the model):
//! - A column is **numeric** when all its non-NULL values are numbers, **categorical** when
//!   they are all strings; mixing both in one column is an error.
//! - Numeric `NULL` (and NaN/±inf) becomes the column's training mean (0 if the column was
//!   all NULL at training).
//! - Categorical values become categories (sorted). `NULL` is a category of its own.
//!   A category not seen at training is encoded exactly like `NULL`.
//! - Neural and linear models and KMeans get categorical columns one-hot encoded
//!   (`color=red`, and `color IS NULL` when NULLs were seen at training); tree models get one
//!   ordinal code per column (`NULL`/unseen = 0, categories 1, 2, ... in sorted order).
//! - The training columns' names and order are stored; at predict time columns are found
//!   by name (exact, then ASCII case-insensitive), extra columns are ignored and a missing
//!   one is an error naming it.

use serde::{Deserialize, Serialize};

use crate::data::{Column, FeatureRef, Matrix, whole_number};
use crate::error::{ModelError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FeatureEncoder {
    columns: Vec<EncodedColumn>,
    one_hot: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EncodedColumn {
    name: String,
    kind: ColumnKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum ColumnKind {
    Numeric {
        fill: f64,
    },
    Categorical {
        categories: Vec<String>,
        has_null: bool,
    },
}

/// Number of rows shared by all columns; an error when they disagree or there are none.
pub(crate) fn row_count(columns: &[&Column]) -> Result<usize> {
    let first = columns.first().ok_or_else(|| {
        ModelError::InvalidData(
            "no feature columns were given; select at least one column besides the label".into(),
        )
    })?;
    for c in columns {
        if c.len() != first.len() {
            return Err(ModelError::InvalidData(format!(
                "column '{}' has {} rows but column '{}' has {}; all columns must have the same number of rows",
                c.name,
                c.len(),
                first.name,
                first.len()
            )));
        }
    }
    Ok(first.len())
}

fn num_value(v: Option<FeatureRef<'_>>) -> Option<f64> {
    match v {
        Some(FeatureRef::Num(x)) if x.is_finite() => Some(x),
        _ => None,
    }
}

/// How a number reads as a category when a string column gets one at predict time.
fn num_as_category(x: f64) -> String {
    match whole_number(x) {
        Some(i) => format!("{i}"),
        None => format!("{x}"),
    }
}

impl FeatureEncoder {
    pub fn fit(columns: &[Column], one_hot: bool) -> Result<FeatureEncoder> {
        let refs: Vec<&Column> = columns.iter().collect();
        let rows = row_count(&refs)?;
        if rows == 0 {
            return Err(ModelError::InvalidData(
                "the training data has no rows; check the SELECT's WHERE clause".into(),
            ));
        }
        let mut encoded = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter().enumerate() {
            if columns[..i].iter().any(|c| c.name == col.name) {
                return Err(ModelError::InvalidData(format!(
                    "column '{}' appears twice; give the columns distinct names (SELECT ... AS ...)",
                    col.name
                )));
            }
            encoded.push(EncodedColumn {
                name: col.name.clone(),
                kind: fit_kind(col)?,
            });
        }
        Ok(FeatureEncoder {
            columns: encoded,
            one_hot,
        })
    }

    /// Training column names, in training order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn one_hot(&self) -> bool {
        self.one_hot
    }

    /// Number of matrix columns this encoder produces.
    pub fn width(&self) -> usize {
        self.columns.iter().map(|c| self.column_width(c)).sum()
    }

    fn column_width(&self, c: &EncodedColumn) -> usize {
        match (&c.kind, self.one_hot) {
            (
                ColumnKind::Categorical {
                    categories,
                    has_null,
                },
                true,
            ) => categories.len() + usize::from(*has_null),
            _ => 1,
        }
    }

    /// Each input column's name and the matrix columns it encodes to.
    pub fn column_ranges(&self) -> Vec<(&str, std::ops::Range<usize>)> {
        let mut offset = 0;
        self.columns
            .iter()
            .map(|c| {
                let w = self.column_width(c);
                offset += w;
                (c.name.as_str(), offset - w..offset)
            })
            .collect()
    }

    /// Names of the matrix columns (`color=red` for one-hot categories).
    pub fn encoded_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.width());
        for c in &self.columns {
            match (&c.kind, self.one_hot) {
                (
                    ColumnKind::Categorical {
                        categories,
                        has_null,
                    },
                    true,
                ) => {
                    names.extend(categories.iter().map(|cat| format!("{}={cat}", c.name)));
                    if *has_null {
                        names.push(format!("{} IS NULL", c.name));
                    }
                }
                _ => names.push(c.name.clone()),
            }
        }
        names
    }

    /// The input columns in training order; a missing one is an error naming it.
    pub fn select<'a>(&self, columns: &'a [Column]) -> Result<Vec<&'a Column>> {
        self.columns
            .iter()
            .map(|enc| {
                columns
                    .iter()
                    .find(|c| c.name == enc.name)
                    .or_else(|| {
                        columns
                            .iter()
                            .find(|c| c.name.eq_ignore_ascii_case(&enc.name))
                    })
                    .ok_or_else(|| ModelError::MissingColumn {
                        name: enc.name.clone(),
                        expected: self.column_names().join(", "),
                    })
            })
            .collect()
    }

    pub fn transform(&self, columns: &[Column]) -> Result<Matrix> {
        let selected = self.select(columns)?;
        self.transform_selected(&selected)
    }

    /// Like [`transform`](Self::transform) for columns already in training order.
    pub fn transform_selected(&self, selected: &[&Column]) -> Result<Matrix> {
        let rows = row_count(selected)?;
        let mut m = Matrix::zeros(rows, self.width());
        let mut offset = 0;
        for (enc, col) in self.columns.iter().zip(selected) {
            self.encode(enc, col, rows, &mut |r, i, v| m.set(r, offset + i, v))?;
            offset += self.column_width(enc);
        }
        Ok(m)
    }

    /// Whether every input column encodes to one matrix column (no one-hot), which
    /// [`encoded_column`](Self::encoded_column) needs.
    pub fn one_column_each(&self) -> bool {
        self.width() == self.columns.len()
    }

    /// Matrix column `j` of [`transform_selected`](Self::transform_selected) on its own,
    /// as (value, row) in row order, when [`one_column_each`](Self::one_column_each):
    /// the tree models bin one column at a time (sorting these pairs) and never hold
    /// the whole matrix.
    pub fn encoded_column(&self, selected: &[&Column], j: usize) -> Result<Vec<(f64, u32)>> {
        let rows = row_count(selected)?;
        let col = selected.get(j).ok_or_else(|| self.no_column(j))?;
        self.encoded_column_of(col, j, rows)
    }

    fn no_column(&self, j: usize) -> ModelError {
        ModelError::InvalidData(format!(
            "the model has {} input columns, not {}",
            self.columns.len(),
            j + 1
        ))
    }

    /// [`encoded_column`](Self::encoded_column) of the `j`-th selected column `col`, of
    /// `rows` rows.
    pub fn encoded_column_of(
        &self,
        col: &Column,
        j: usize,
        rows: usize,
    ) -> Result<Vec<(f64, u32)>> {
        let enc = self.columns.get(j).ok_or_else(|| self.no_column(j))?;
        if col.len() != rows {
            return Err(ModelError::InvalidData(format!(
                "column '{}' has {} rows, not {rows}; all columns must have the same number of rows",
                col.name,
                col.len()
            )));
        }
        // Rows are numbered in u32 by the trees (at most 4 billion rows).
        let mut out: Vec<(f64, u32)> = (0..rows).map(|r| (0.0, r as u32)).collect();
        self.encode(enc, col, rows, &mut |r, i, v| {
            if i == 0 {
                out[r].0 = v;
            }
        })?;
        Ok(out)
    }

    /// Encodes one column: `set(row, i, value)` for its `i`-th matrix column; cells not
    /// set are 0.
    fn encode(
        &self,
        enc: &EncodedColumn,
        col: &Column,
        rows: usize,
        set: &mut dyn FnMut(usize, usize, f64),
    ) -> Result<()> {
        match &enc.kind {
            ColumnKind::Numeric { fill } => {
                for (r, v) in col.iter().enumerate() {
                    if let Some(FeatureRef::Str(s)) = v {
                        return Err(ModelError::InvalidData(format!(
                            "column '{}' was numeric when the model was trained but row {} holds the string '{s}'; \
                             cast the column to a number",
                            enc.name,
                            r + 1
                        )));
                    }
                    set(r, 0, num_value(v).unwrap_or(*fill));
                }
            }
            ColumnKind::Categorical {
                categories,
                has_null,
            } => {
                // A dictionary is looked up once per distinct string.
                let found_in_dict: Option<(&[u32], Vec<Option<usize>>)> =
                    col.dictionary().map(|(codes, dict)| {
                        let found = dict
                            .iter()
                            .map(|s| categories.binary_search_by(|c| c.as_str().cmp(s)).ok())
                            .collect();
                        (codes, found)
                    });
                for r in 0..rows {
                    let found = match &found_in_dict {
                        Some((codes, found)) => codes
                            .get(r)
                            .and_then(|&c| found.get(c as usize))
                            .copied()
                            .flatten(),
                        None => match col.get(r) {
                            Some(FeatureRef::Str(s)) => {
                                categories.binary_search_by(|c| c.as_str().cmp(s)).ok()
                            }
                            Some(FeatureRef::Num(x)) => {
                                categories.binary_search(&num_as_category(x)).ok()
                            }
                            None => None,
                        },
                    };
                    if self.one_hot {
                        match found {
                            Some(i) => set(r, i, 1.0),
                            None if *has_null => set(r, categories.len(), 1.0),
                            None => {}
                        }
                    } else {
                        set(r, 0, found.map_or(0.0, |i| (i + 1) as f64));
                    }
                }
            }
        }
        Ok(())
    }

    /// Loaded models are checked before use so that damaged bytes cannot cause a panic.
    pub fn check(&self) -> bool {
        !self.columns.is_empty()
            && self.columns.iter().all(|c| match &c.kind {
                ColumnKind::Numeric { fill } => fill.is_finite(),
                ColumnKind::Categorical { categories, .. } => {
                    categories.windows(2).all(|w| w[0] < w[1])
                }
            })
    }
}

fn fit_kind(col: &Column) -> Result<ColumnKind> {
    let (mut sum, mut count) = (0.0, 0usize);
    let mut strings: Vec<&str> = Vec::new();
    let mut has_null = false;
    let mut first_num: Option<usize> = None;
    for (r, v) in col.iter().enumerate() {
        match v {
            Some(FeatureRef::Num(x)) => {
                first_num.get_or_insert(r);
                if x.is_finite() {
                    sum += x;
                    count += 1;
                } else {
                    has_null = true;
                }
            }
            Some(FeatureRef::Str(s)) => strings.push(s),
            None => has_null = true,
        }
    }
    if strings.is_empty() {
        let fill = if count > 0 { sum / count as f64 } else { 0.0 };
        return Ok(ColumnKind::Numeric { fill });
    }
    if let Some(r) = first_num {
        return Err(ModelError::InvalidData(format!(
            "column '{}' mixes strings and numbers (row {} is a number); cast it to one type",
            col.name,
            r + 1
        )));
    }
    strings.sort_unstable();
    strings.dedup();
    Ok(ColumnKind::Categorical {
        categories: strings.into_iter().map(str::to_string).collect(),
        has_null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Feature;

    fn cols() -> Vec<Column> {
        vec![
            Column::new(
                "x",
                vec![Some(Feature::Num(1.0)), None, Some(Feature::Num(3.0))],
            ),
            Column::new(
                "color",
                vec![
                    Some(Feature::Str("red".into())),
                    Some(Feature::Str("blue".into())),
                    None,
                ],
            ),
        ]
    }

    #[test]
    fn one_hot_with_null_and_unseen() {
        let enc = FeatureEncoder::fit(&cols(), true).unwrap();
        assert_eq!(
            enc.encoded_names(),
            vec!["x", "color=blue", "color=red", "color IS NULL"]
        );
        let m = enc.transform(&cols()).unwrap();
        assert_eq!(m.row(0), &[1.0, 0.0, 1.0, 0.0]);
        assert_eq!(m.row(1), &[2.0, 1.0, 0.0, 0.0]);
        assert_eq!(m.row(2), &[3.0, 0.0, 0.0, 1.0]);
        let unseen = vec![
            Column::strings("COLOR", ["green"]),
            Column::numeric("x", [f64::NAN]),
        ];
        let m = enc.transform(&unseen).unwrap();
        assert_eq!(m.row(0), &[2.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn ordinal_codes() {
        let enc = FeatureEncoder::fit(&cols(), false).unwrap();
        let m = enc.transform(&cols()).unwrap();
        assert_eq!(m.data, vec![1.0, 2.0, 2.0, 1.0, 3.0, 0.0]);
    }

    #[test]
    fn errors_name_the_column() {
        let enc = FeatureEncoder::fit(&cols(), true).unwrap();
        let err = enc.transform(&[Column::numeric("x", [1.0])]).unwrap_err();
        assert!(
            matches!(err, ModelError::MissingColumn { ref name, .. } if name == "color"),
            "{err}"
        );
        let mixed = vec![Column::new(
            "m",
            vec![Some(Feature::Num(1.0)), Some(Feature::Str("a".into()))],
        )];
        assert!(
            FeatureEncoder::fit(&mixed, true)
                .unwrap_err()
                .to_string()
                .contains("'m'")
        );
        let ragged = vec![
            Column::numeric("a", [1.0]),
            Column::numeric("b", [1.0, 2.0]),
        ];
        assert!(
            FeatureEncoder::fit(&ragged, true)
                .unwrap_err()
                .to_string()
                .contains("same number of rows")
        );
    }
}
