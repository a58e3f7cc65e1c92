//! Resolving the statement's `COLUMN` items against the training rows into a plan:
//! dispatch per feature column, numbers and lists, and the names of the model's inputs.

use std::collections::HashMap;

use sqlflow_sql::{
    extended::ColumnClause,
    feature_column::{self as fc, Combiner, DType, FeatureColumn, FieldDesc, Input},
};

use super::table::Rows;
use super::{
    MAX_IDS_PER_COLUMN, MAX_INPUT_CELLS,
    cells::{Cell, column_index, split_list},
    derive::{Holds, classify},
    plan::{CrossKey, FeaturePlan, Form, Ids, Layout, Numeric, Planned, Read, Source, Spec},
};
use crate::exec::EngineError;

/// Resolves `COLUMN` items against the training rows.
pub(super) struct Planner<'a> {
    pub(super) data: &'a dyn Rows,
    pub(super) holds: HashMap<String, Holds>,
    /// The estimator is a neural network (derived large vocabularies get embeddings).
    pub(super) neural: bool,
}

/// A resolved feature column before naming.
pub(super) struct Resolved {
    pub(super) spec: Spec,
    /// Base name of its inputs.
    pub(super) base: String,
    pub(super) derived: bool,
    /// The SQL it means, with derived values.
    pub(super) sql: FeatureColumn,
}

pub(super) fn dims(shape: &Option<Vec<u64>>) -> Option<u64> {
    shape
        .as_ref()
        .map(|s| s.iter().fold(1u64, |a, d| a.saturating_mul(*d)))
}

fn combiner_name(c: Option<Combiner>) -> String {
    c.unwrap_or(Combiner::Sum).name().to_string()
}

fn combiner_of(name: &str) -> Combiner {
    match name {
        "mean" => Combiner::Mean,
        "sqrtn" => Combiner::Sqrtn,
        _ => Combiner::Sum,
    }
}

impl<'a> Planner<'a> {
    pub(super) fn holds(&mut self, field: &str) -> Result<Holds, EngineError> {
        if let Some(h) = self.holds.get(field) {
            return Ok(h.clone());
        }
        let h = classify(self.data, field)?;
        self.holds.insert(field.to_string(), h.clone());
        Ok(h)
    }

    /// The column's name as the query spells it.
    pub(super) fn field_name(&self, field: &str) -> Result<String, EngineError> {
        let i = column_index(self.data, field)?;
        Ok(self
            .data
            .columns()
            .get(i)
            .map_or_else(|| field.to_string(), |c| c.name.clone()))
    }

    pub(super) fn resolve(&mut self, f: &FeatureColumn) -> Result<Resolved, EngineError> {
        let what = f.to_string();
        match f {
            FeatureColumn::Field(name) => self.derive(name),
            FeatureColumn::Numeric(Input::Sparse(d)) | FeatureColumn::Sparse(d) => {
                let (ids, sql) = self.sparse_ids(d, None, &what)?;
                let base = ids_base(&ids);
                self.ids_spec(ids, Form::Values, base, sql)
            }
            FeatureColumn::Numeric(input) => {
                let (n, sql) = self.numeric(input, &what)?;
                let base = n.source.field.clone();
                Ok(Resolved {
                    spec: Spec::Numeric(n),
                    base,
                    derived: false,
                    sql,
                })
            }
            FeatureColumn::Dense(d) => {
                let (n, sql) = self.numeric(&Input::Dense(d.clone()), &what)?;
                let base = n.source.field.clone();
                Ok(Resolved {
                    spec: Spec::Numeric(n),
                    base,
                    derived: false,
                    sql,
                })
            }
            FeatureColumn::Indicator(inner) => {
                let (ids, sql) = self.categorical(inner)?;
                let base = format!("{}_indicator", ids_base(&ids));
                self.ids_spec(
                    ids,
                    Form::Indicator,
                    base,
                    FeatureColumn::Indicator(Box::new(sql)),
                )
            }
            FeatureColumn::Embedding(e) => {
                let (ids, sql) = self.categorical(&e.source)?;
                let base = format!("{}_embedding", ids_base(&ids));
                let combiner = combiner_name(e.combiner);
                let sql = FeatureColumn::Embedding(fc::Embedding {
                    source: Box::new(sql),
                    dimension: e.dimension,
                    combiner: Some(combiner_of(&combiner)),
                    initializer: e.initializer.clone(),
                });
                self.ids_spec(
                    ids,
                    Form::Embedding {
                        dimension: e.dimension,
                        combiner,
                    },
                    base,
                    sql,
                )
            }
            FeatureColumn::CategoryId(_)
            | FeatureColumn::SeqCategoryId(_)
            | FeatureColumn::CategoryHash(_)
            | FeatureColumn::WeightedCategory(_)
            | FeatureColumn::Cross(_)
            | FeatureColumn::Bucket(_) => {
                let (ids, sql) = self.categorical(f)?;
                let base = match (&ids, f) {
                    (_, FeatureColumn::WeightedCategory(_)) => {
                        format!("{}_weighted", ids_base(&ids))
                    }
                    (ids, _) => ids_base(ids),
                };
                self.ids_spec(ids, Form::Plain, base, sql)
            }
        }
    }

    /// Numbers from a column or `DENSE(...)`.
    pub(super) fn numeric(
        &mut self,
        input: &Input,
        what: &str,
    ) -> Result<(Numeric, FeatureColumn), EngineError> {
        match input {
            Input::Field(name) => {
                let field = self.field_name(name)?;
                match self.holds(&field)? {
                    Holds::Nothing | Holds::Numbers { .. } => Ok((
                        Numeric {
                            source: Source {
                                field: field.clone(),
                                read: Read::Whole,
                            },
                            len: 1,
                            int_only: false,
                            what: what.to_string(),
                        },
                        FeatureColumn::Numeric(Input::Field(field)),
                    )),
                    Holds::Lists { len: Some(_), .. } => {
                        self.numeric(&Input::Dense(field_desc(&field)), what)
                    }
                    Holds::Lists {
                        ragged: Some(((r1, n1), (r2, n2))),
                        ..
                    } => Err(format!(
                        "{what}: row {r1} has {n1} values and row {r2} has {n2}; numbers need \
                         the same count in every row (SPARSE reads lists of varying length)"
                    )
                    .into()),
                    Holds::Lists { .. } => {
                        Err(format!("{what}: column {field} holds no numbers").into())
                    }
                    Holds::Pairs { .. } => Err(format!(
                        "{what}: column {field} holds key:value pairs; read them with \
                         SPARSE({}, SIZE)",
                        fc::name_text(&field)
                    )
                    .into()),
                    Holds::Text {
                        first_text: (row, text),
                    } => Err(
                        format!("{what}: row {row} holds '{text}', which is not a number").into(),
                    ),
                }
            }
            Input::Dense(d) => {
                let field = self.field_name(&d.field)?;
                if d.dtype == Some(DType::String) {
                    return Err(format!(
                        "{what}: string values are categories, not numbers; use \
                         CATEGORY_HASH(DENSE(...), BUCKETS) or CATEGORY_ID(DENSE(...), BUCKETS)"
                    )
                    .into());
                }
                let delimiter = d.delimiter.clone().unwrap_or_else(|| ",".into());
                let len = match dims(&d.shape) {
                    Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                    None => self.list_len(&field, &delimiter, what)?,
                };
                if len > MAX_IDS_PER_COLUMN {
                    return Err(format!(
                        "{what}: {len} values per row would be {len} input columns, more than \
                         the {MAX_IDS_PER_COLUMN} one feature column may have"
                    )
                    .into());
                }
                let desc = FieldDesc {
                    shape: Some(vec![len as u64]),
                    delimiter: (delimiter != ",").then(|| delimiter.clone()),
                    dtype: d.dtype.filter(|t| *t == DType::Int),
                    ..field_desc(&field)
                };
                let desc = if desc.dtype.is_some() {
                    FieldDesc {
                        delimiter: Some(delimiter.clone()),
                        ..desc
                    }
                } else {
                    desc
                };
                Ok((
                    Numeric {
                        source: Source {
                            field,
                            read: Read::List {
                                delimiter,
                                len: Some(len),
                            },
                        },
                        len,
                        int_only: d.dtype == Some(DType::Int),
                        what: what.to_string(),
                    },
                    FeatureColumn::Dense(desc),
                ))
            }
            Input::Sparse(_) => Err(format!(
                "{what}: SPARSE(...) is not a fixed number of values here; use it on its own"
            )
            .into()),
        }
    }

    /// The count of values every row of `field` has, split on `delimiter`.
    pub(super) fn list_len(
        &self,
        field: &str,
        delimiter: &str,
        what: &str,
    ) -> Result<usize, EngineError> {
        let i = column_index(self.data, field)?;
        let mut first: Option<(usize, usize)> = None;
        for r in 0..self.data.len() {
            let c = self.data.cell(i, r, field)?;
            let n = match c {
                Cell::Null => continue,
                Cell::Num(_) => 1,
                Cell::Text(t) if t.trim().is_empty() => continue,
                Cell::Text(t) => split_list(t, delimiter).len(),
            };
            match first {
                None => first = Some((r + 1, n)),
                Some((r0, n0)) if n0 != n => {
                    return Err(format!(
                        "{what}: row {r0} has {n0} values and row {} has {n}; give DENSE the \
                         SHAPE every row has, or use SPARSE for lists of varying length",
                        r + 1
                    )
                    .into());
                }
                Some(_) => {}
            }
        }
        first.map(|(_, n)| n).ok_or_else(|| {
            format!("{what}: column {field} has no values to take a shape from").into()
        })
    }
}

pub(super) fn field_desc(field: &str) -> FieldDesc {
    FieldDesc {
        field: field.to_string(),
        shape: None,
        delimiter: None,
        dtype: None,
        delimiter_kv: None,
        dtype_weight: None,
    }
}

pub(super) fn ids_field(ids: &Ids) -> String {
    match ids {
        Ids::Identity { source, .. }
        | Ids::Vocabulary { source, .. }
        | Ids::Hash { source, .. }
        | Ids::Bucket { source, .. } => source.field.clone(),
        Ids::Cross { keys, .. } => keys
            .iter()
            .map(|k| match k {
                CrossKey::Raw(s) => s.field.clone(),
                CrossKey::Ids(ids) => ids_field(ids),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The base name of the inputs ids write, after TensorFlow's feature column names.
fn ids_base(ids: &Ids) -> String {
    match ids {
        Ids::Identity { source, .. }
        | Ids::Vocabulary { source, .. }
        | Ids::Hash { source, .. } => source.field.clone(),
        Ids::Bucket { source, .. } => format!("{}_bucketized", source.field),
        Ids::Cross { keys, .. } => keys
            .iter()
            .map(|k| match k {
                CrossKey::Raw(s) => s.field.clone(),
                CrossKey::Ids(ids) => ids_base(ids),
            })
            .collect::<Vec<_>>()
            .join("_X_"),
    }
}

/// Model input names for a resolved column with base name `base`.
fn outputs_for(spec: &Spec, base: &str) -> Vec<String> {
    match spec {
        Spec::Numeric(n) if n.len == 1 => vec![base.to_string()],
        Spec::Numeric(n) => (0..n.len).map(|i| format!("{base}_{i}")).collect(),
        Spec::Ids {
            layout: Layout::Category,
            ..
        } => vec![base.to_string()],
        Spec::Ids {
            ids,
            layout: Layout::MultiHot { seen },
            ..
        } => seen
            .iter()
            .map(|id| format!("{base}={}", ids.label(*id)))
            .collect(),
    }
}

/// Resolves the statement's COLUMN clauses (none: every selected column but the label)
/// against the training rows. `neural`: the estimator is a DNN.
pub fn plan(
    data: &dyn Rows,
    clauses: &[ColumnClause],
    label: Option<&str>,
    neural: bool,
) -> Result<FeaturePlan, EngineError> {
    let mut planner = Planner {
        data,
        holds: HashMap::new(),
        neural,
    };
    // (input, items) per clause.
    let items: Vec<(Option<String>, Vec<FeatureColumn>)> = if clauses.is_empty() {
        let label_idx = label.map(|l| column_index(data, l)).transpose()?;
        let cols = data
            .columns()
            .iter()
            .enumerate()
            // Binary columns cannot be features; leaving them out lets SELECT * work.
            .filter(|(i, _)| Some(*i) != label_idx && !data.has_bytes(*i))
            .map(|(_, c)| FeatureColumn::Field(c.name.clone()))
            .collect();
        vec![(None, cols)]
    } else {
        clauses
            .iter()
            .map(|c| (c.for_input.clone(), c.features.clone()))
            .collect()
    };
    let mut columns: Vec<Planned> = Vec::new();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut cells = 0usize;
    for (input, fcs) in &items {
        let mut idx = Vec::with_capacity(fcs.len());
        for f in fcs {
            let r = planner.resolve(f)?;
            let text = r.sql.to_string();
            if let Some(i) = columns.iter().position(|p| p.spec == r.spec) {
                if !idx.contains(&i) {
                    idx.push(i);
                }
                continue;
            }
            // A unique base name: `x`, then `x_2`, ...
            let mut n = 1;
            let outputs = loop {
                let base = if n == 1 {
                    r.base.clone()
                } else {
                    format!("{}_{n}", r.base)
                };
                let outputs = outputs_for(&r.spec, &base);
                if outputs.iter().all(|o| !used.contains(o)) {
                    break outputs;
                }
                n += 1;
            };
            if matches!(
                &r.spec,
                Spec::Numeric(_)
                    | Spec::Ids {
                        layout: Layout::MultiHot { .. },
                        ..
                    }
            ) {
                cells = cells.saturating_add(outputs.len().saturating_mul(data.len()));
                if cells > MAX_INPUT_CELLS {
                    return Err(format!(
                        "{text}: the feature columns so far make {} input values per row for \
                         {} rows, more than the {MAX_INPUT_CELLS} values the models' dense \
                         input may hold; select fewer rows or use fewer buckets",
                        cells / data.len().max(1),
                        data.len()
                    )
                    .into());
                }
            }
            used.extend(outputs.iter().cloned());
            idx.push(columns.len());
            columns.push(Planned {
                text,
                derived: r.derived,
                spec: r.spec,
                outputs,
            });
        }
        if !clauses.is_empty() {
            groups.push((
                input
                    .clone()
                    .unwrap_or_else(|| "feature_columns".to_string()),
                idx,
            ));
        }
    }
    Ok(FeaturePlan {
        columns,
        groups,
        written: clauses
            .iter()
            .map(|c| (c.for_input.clone(), c.columns.clone()))
            .collect(),
    })
}
