//! Derivation (SQLFlow's `doc/design/feature_derivation.md`): what a bare column holds
//! over the training rows, and the feature column that makes of it.

use std::borrow::Cow;

use sqlflow_sql::feature_column::{self as fc, Combiner, FeatureColumn, FieldDesc, Input};

use super::table::Rows;
use super::{
    cells::{Cell, column_index, number_text, parse_number, split_list, split_pairs},
    plan::{Form, Numeric, Read, Source, Spec},
    planner::{Planner, Resolved, field_desc},
};
use crate::exec::EngineError;

/// Derived string columns with more distinct values than this get an embedding on DNNs.
const EMBED_VOCABULARY_ABOVE: usize = 100;

/// What a column holds, over the training rows.
#[derive(Debug, Clone)]
pub(super) enum Holds {
    /// Only NULLs (or no rows).
    Nothing,
    /// Numbers, or text that reads as one number.
    Numbers { whole: bool, min: f64 },
    /// Comma-separated numbers; `len`: the count when every row has the same.
    Lists {
        len: Option<usize>,
        /// Two rows with different counts: (row, count) each.
        ragged: Option<((usize, usize), (usize, usize))>,
        whole: bool,
        min: f64,
    },
    /// `key:value` pairs; the largest key.
    Pairs { max_key: u64 },
    /// Anything else: categories. The first row holding a non-number.
    Text { first_text: (usize, String) },
}

pub(super) fn classify(data: &dyn Rows, field: &str) -> Result<Holds, EngineError> {
    let i = column_index(data, field)?;
    // A column held as numbers is read as such, without a cell per row.
    if let Some((x, valid)) = data.numbers(i) {
        let (mut whole, mut min, mut seen) = (true, f64::INFINITY, false);
        for (x, _) in x.iter().zip(valid).filter(|(x, ok)| **ok && x.is_finite()) {
            seen = true;
            whole &= x.fract() == 0.0;
            min = min.min(*x);
        }
        return Ok(if seen {
            Holds::Numbers { whole, min }
        } else {
            Holds::Nothing
        });
    }
    let mut cells = Vec::with_capacity(data.len());
    for r in 0..data.len() {
        cells.push(data.cell(i, r, field)?);
    }
    let any_text = cells.iter().any(|c| matches!(c, Cell::Text(_)));
    let (mut whole, mut min, mut seen) = (true, f64::INFINITY, false);
    let mut note = |x: f64| {
        seen = true;
        whole &= x.fract() == 0.0;
        min = min.min(x);
    };
    if !any_text {
        for c in &cells {
            if let Cell::Num(x) = c
                && x.is_finite()
            {
                note(*x);
            }
        }
        return Ok(if seen {
            Holds::Numbers { whole, min }
        } else {
            Holds::Nothing
        });
    }
    let texts: Vec<(usize, Cow<'_, str>)> = cells
        .iter()
        .enumerate()
        .filter_map(|(r, c)| match c {
            Cell::Null => None,
            Cell::Num(x) => Some((r + 1, Cow::Owned(number_text(*x)))),
            Cell::Text(t) if t.trim().is_empty() => None,
            Cell::Text(t) => Some((r + 1, Cow::Borrowed(*t))),
        })
        .collect();
    let Some((first_row, first)) = texts.first() else {
        return Ok(Holds::Nothing);
    };
    let first_text = (*first_row, first.to_string());
    // One number per row.
    if texts.iter().all(|(_, t)| parse_number(t).is_some()) {
        for (_, t) in &texts {
            if let Some(x) = parse_number(t)
                && x.is_finite()
            {
                note(x);
            }
        }
        return Ok(Holds::Numbers { whole, min });
    }
    // Comma-separated numbers.
    let lists: Option<Vec<(usize, Vec<f64>)>> = texts
        .iter()
        .map(|(r, t)| {
            split_list(t, ",")
                .iter()
                .map(|p| parse_number(p))
                .collect::<Option<Vec<f64>>>()
                .filter(|v| !v.is_empty())
                .map(|v| (*r, v))
        })
        .collect();
    if let Some(lists) = lists
        && texts.iter().any(|(_, t)| t.contains(','))
    {
        let (r0, n0) = (lists[0].0, lists[0].1.len());
        let ragged = lists
            .iter()
            .find(|(_, v)| v.len() != n0)
            .map(|(r, v)| ((r0, n0), (*r, v.len())));
        for (_, v) in &lists {
            v.iter().filter(|x| x.is_finite()).for_each(|x| note(*x));
        }
        return Ok(Holds::Lists {
            len: ragged.is_none().then_some(n0),
            ragged,
            whole,
            min,
        });
    }
    // key:value pairs with whole, non-negative keys.
    let mut max_key = 0u64;
    let pairs = texts.iter().all(|(_, t)| {
        let ps = split_pairs(t, ",");
        !ps.is_empty()
            && ps.iter().all(|p| {
                let Some((k, v)) = p.split_once(':') else {
                    return false;
                };
                match (k.trim().parse::<u64>(), parse_number(v)) {
                    (Ok(k), Some(_)) => {
                        max_key = max_key.max(k);
                        true
                    }
                    _ => false,
                }
            })
    });
    if pairs {
        return Ok(Holds::Pairs { max_key });
    }
    let first_text = texts
        .iter()
        .find(|(_, t)| parse_number(t).is_none())
        .map(|(r, t)| (*r, t.to_string()))
        .unwrap_or(first_text);
    Ok(Holds::Text { first_text })
}

impl<'a> Planner<'a> {
    /// A bare column, derived from what it holds (SQLFlow's feature derivation).
    pub(super) fn derive(&mut self, name: &str) -> Result<Resolved, EngineError> {
        let field = self.field_name(name)?;
        let whole = Source {
            field: field.clone(),
            read: Read::Whole,
        };
        match self.holds(&field)? {
            Holds::Nothing | Holds::Numbers { .. } => Ok(Resolved {
                sql: FeatureColumn::Numeric(Input::Field(field.clone())),
                spec: Spec::Numeric(Numeric {
                    source: whole,
                    len: 1,
                    int_only: false,
                    what: format!("NUMERIC({})", fc::name_text(&field)),
                }),
                base: field,
                derived: true,
            }),
            Holds::Lists { len: Some(n), .. } => {
                let d = FieldDesc {
                    shape: Some(vec![n as u64]),
                    ..field_desc(&field)
                };
                let sql = FeatureColumn::Dense(d);
                Ok(Resolved {
                    spec: Spec::Numeric(Numeric {
                        source: Source {
                            field: field.clone(),
                            read: Read::List {
                                delimiter: ",".into(),
                                len: Some(n),
                            },
                        },
                        len: n,
                        int_only: false,
                        what: sql.to_string(),
                    }),
                    sql,
                    base: field,
                    derived: true,
                })
            }
            Holds::Lists {
                ragged: Some(((r1, n1), (r2, n2))),
                ..
            } => Err(format!(
                "column {field} holds comma-separated numbers, but row {r1} has {n1} of them and \
                 row {r2} has {n2}; a dense column needs the same count in every row: write \
                 SPARSE({f}, SIZE) or CATEGORY_ID({f}, BUCKETS) for lists of varying length",
                f = fc::name_text(&field)
            )
            .into()),
            Holds::Lists { .. } => Err(format!("column {field} holds no numbers").into()),
            Holds::Pairs { .. } => {
                let mut r = self.resolve(&FeatureColumn::Sparse(field_desc(&field)))?;
                r.derived = true;
                Ok(r)
            }
            Holds::Text { .. } => {
                let (ids, sql) = self.vocabulary(&field, Read::Whole, None)?;
                let n = ids.buckets() as usize;
                let mut r = if self.neural && n > EMBED_VOCABULARY_ABOVE {
                    // fast.ai's rule of thumb, capped at SQLFlow's derived size.
                    let dimension = (1.6 * (n as f64).powf(0.56)).round().clamp(2.0, 128.0) as u64;
                    let sql = FeatureColumn::Embedding(fc::Embedding {
                        source: Box::new(sql),
                        dimension,
                        combiner: Some(Combiner::Sum),
                        initializer: None,
                    });
                    self.ids_spec(
                        ids,
                        Form::Embedding {
                            dimension,
                            combiner: "sum".into(),
                        },
                        field,
                        sql,
                    )?
                } else {
                    self.ids_spec(ids, Form::Plain, field, sql)?
                };
                r.derived = true;
                Ok(r)
            }
        }
    }
}
