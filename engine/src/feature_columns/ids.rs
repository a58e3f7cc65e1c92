//! Ids from categorical feature columns (`CATEGORY_ID`, `CATEGORY_HASH`, `SPARSE`,
//! vocabularies, `CROSS` keys), checked against the training rows.

use sqlflow_sql::feature_column::{self as fc, DType, FeatureColumn, FieldDesc, Input};

use super::{
    MAX_IDS_PER_COLUMN,
    cells::{column_index, parse_number, pieces},
    derive::Holds,
    plan::{CrossKey, Form, Ids, Layout, Read, Source, Spec},
    planner::{Planner, Resolved, dims, field_desc, ids_field},
};
use crate::exec::EngineError;

impl<'a> Planner<'a> {
    /// Ids and how they reach the model: one categorical input when there is at most one
    /// id per row (and the user did not ask for an indicator), else multi-hot over the
    /// ids seen in training.
    pub(super) fn ids_spec(
        &mut self,
        ids: Ids,
        form: Form,
        base: String,
        sql: FeatureColumn,
    ) -> Result<Resolved, EngineError> {
        let what = sql.to_string();
        let layout = if ids.single() && matches!(form, Form::Plain | Form::Embedding { .. }) {
            // Rows are checked now so a bad id fails the training, not the prediction.
            ids.rows(self.data)?;
            Layout::Category
        } else {
            let mut seen: Vec<u64> = ids
                .rows(self.data)?
                .into_iter()
                .flat_map(|r| r.into_iter().map(|(id, _)| id))
                .collect();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() > MAX_IDS_PER_COLUMN {
                return Err(format!(
                    "{what}: the training rows hold {} distinct ids, and each would be an \
                     input column of its own, more than the {MAX_IDS_PER_COLUMN} one feature \
                     column may have (the models take dense input): use fewer buckets, or \
                     CATEGORY_HASH or BUCKET to group values",
                    seen.len()
                )
                .into());
            }
            Layout::MultiHot { seen }
        };
        Ok(Resolved {
            spec: Spec::Ids { ids, form, layout },
            base,
            derived: false,
            sql,
        })
    }

    /// `SPARSE(...)` as ids: indices (weight 1) or key:value pairs (the values weigh).
    /// `buckets`: the id range when a category function gives one (else the shape).
    pub(super) fn sparse_ids(
        &mut self,
        d: &FieldDesc,
        buckets: Option<u64>,
        what: &str,
    ) -> Result<(Ids, FeatureColumn), EngineError> {
        let field = self.field_name(&d.field)?;
        let delimiter = d.delimiter.clone().unwrap_or_else(|| ",".into());
        let kv = match &d.delimiter_kv {
            Some(kv) => Some(kv.clone()),
            // libsvm-style data names no separator; ':' is the one it uses.
            None => self
                .any_text_contains(&field, ':')?
                .then(|| ":".to_string()),
        };
        let size = match dims(&d.shape) {
            Some(n) => n,
            None => {
                let probe = Source {
                    field: field.clone(),
                    read: Read::Pairs {
                        delimiter: delimiter.clone(),
                        kv: kv.clone(),
                        size: u64::MAX,
                    },
                };
                let ids = Ids::Identity {
                    source: probe,
                    buckets: u64::MAX,
                    weighted: false,
                    what: what.to_string(),
                };
                ids.rows(self.data)?
                    .iter()
                    .flatten()
                    .map(|(id, _)| id + 1)
                    .max()
                    .unwrap_or(1)
            }
        };
        let buckets = buckets.unwrap_or(size);
        let desc = FieldDesc {
            shape: Some(vec![size]),
            delimiter: Some(delimiter.clone()),
            dtype: kv.as_ref().map(|_| DType::Int),
            delimiter_kv: kv.clone(),
            dtype_weight: kv.as_ref().map(|_| DType::Float),
            ..field_desc(&field)
        };
        let desc = if kv.is_none() && delimiter == "," {
            FieldDesc {
                delimiter: None,
                ..desc
            }
        } else {
            desc
        };
        Ok((
            Ids::Identity {
                weighted: kv.is_some(),
                source: Source {
                    field,
                    read: Read::Pairs {
                        delimiter,
                        kv,
                        size,
                    },
                },
                buckets,
                what: what.to_string(),
            },
            FeatureColumn::Sparse(desc),
        ))
    }

    fn any_text_contains(&self, field: &str, c: char) -> Result<bool, EngineError> {
        let i = column_index(self.data, field)?;
        Ok(self.data.any_string_contains(i, c))
    }

    /// Text values as ids, numbered in sorted order.
    pub(super) fn vocabulary(
        &mut self,
        field: &str,
        read: Read,
        buckets: Option<u64>,
    ) -> Result<(Ids, FeatureColumn), EngineError> {
        let source = Source {
            field: field.to_string(),
            read,
        };
        let probe_what = format!("CATEGORY_ID({}, ...)", fc::name_text(field));
        let cells = source.cells(self.data)?;
        let mut vocabulary: Vec<String> = Vec::new();
        for (r, c) in cells.iter().enumerate() {
            for (p, _) in pieces(c, &source.read, &probe_what, r + 1)? {
                vocabulary.push(p.into_owned());
            }
        }
        vocabulary.sort_unstable();
        vocabulary.dedup();
        let n = vocabulary.len() as u64;
        let sql_input = match &source.read {
            Read::List { delimiter, .. } => (field.to_string(), Some(delimiter.clone())),
            _ => (field.to_string(), None),
        };
        let sql = FeatureColumn::CategoryId(fc::Category {
            input: Input::Field(sql_input.0),
            buckets: buckets.unwrap_or(n).max(1),
            delimiter: sql_input.1,
        });
        let what = sql.to_string();
        if let Some(b) = buckets
            && n > b
        {
            let shown: Vec<&str> = vocabulary.iter().take(5).map(String::as_str).collect();
            return Err(format!(
                "{what}: column {field} holds {n} distinct values ({}{}), more than its {b} \
                 buckets; raise the bucket size to {n} or more",
                shown.join(", "),
                if n > 5 { ", ..." } else { "" }
            )
            .into());
        }
        Ok((
            Ids::Vocabulary {
                source,
                vocabulary,
                buckets,
                what,
            },
            sql,
        ))
    }

    /// Ids from a categorical expression (what INDICATOR, EMBEDDING and CROSS take).
    pub(super) fn categorical(
        &mut self,
        f: &FeatureColumn,
    ) -> Result<(Ids, FeatureColumn), EngineError> {
        let what = f.to_string();
        match f {
            FeatureColumn::Field(name) => self.field_ids(name, None, &what),
            FeatureColumn::CategoryId(c) | FeatureColumn::SeqCategoryId(c) => {
                let (ids, input) = self.category_ids(c, &what)?;
                let cat = fc::Category {
                    input,
                    buckets: c.buckets,
                    delimiter: c.delimiter.clone(),
                };
                let sql = if matches!(f, FeatureColumn::SeqCategoryId(_)) {
                    FeatureColumn::SeqCategoryId(cat)
                } else {
                    FeatureColumn::CategoryId(cat)
                };
                Ok((ids, sql))
            }
            FeatureColumn::CategoryHash(c) => {
                let (source, input) = self.token_source(&c.input, c.delimiter.as_deref(), &what)?;
                let weighted = false;
                Ok((
                    Ids::Hash {
                        source,
                        buckets: c.buckets,
                        weighted,
                        what: what.clone(),
                    },
                    FeatureColumn::CategoryHash(fc::Category {
                        input,
                        buckets: c.buckets,
                        delimiter: c.delimiter.clone(),
                    }),
                ))
            }
            FeatureColumn::WeightedCategory(inner) => {
                let (ids, sql) = match inner.as_ref() {
                    FeatureColumn::Sparse(d) => self.sparse_ids(d, None, &what)?,
                    other => self.categorical(other)?,
                };
                let ids = match ids {
                    Ids::Identity {
                        source,
                        buckets,
                        what,
                        ..
                    } if matches!(source.read, Read::Pairs { kv: Some(_), .. }) => Ids::Identity {
                        source,
                        buckets,
                        weighted: true,
                        what,
                    },
                    Ids::Hash {
                        source,
                        buckets,
                        what,
                        ..
                    } if matches!(source.read, Read::Pairs { kv: Some(_), .. }) => Ids::Hash {
                        source,
                        buckets,
                        weighted: true,
                        what,
                    },
                    other => {
                        return Err(format!(
                            "{what}: column {} holds no key:value pairs to take weights from",
                            ids_field(&other)
                        )
                        .into());
                    }
                };
                Ok((ids, FeatureColumn::WeightedCategory(Box::new(sql))))
            }
            FeatureColumn::Bucket(b) => {
                let (n, input_sql) = self.numeric(&b.input, &what)?;
                let input = match input_sql {
                    FeatureColumn::Dense(d) => Input::Dense(d),
                    _ => Input::Field(n.source.field.clone()),
                };
                Ok((
                    Ids::Bucket {
                        len: n.len,
                        source: n.source,
                        boundaries: b.boundaries.clone(),
                        what: what.clone(),
                    },
                    FeatureColumn::Bucket(fc::Bucket {
                        input,
                        boundaries: b.boundaries.clone(),
                    }),
                ))
            }
            FeatureColumn::Cross(c) => {
                let mut keys = Vec::with_capacity(c.keys.len());
                let mut sql_keys = Vec::with_capacity(c.keys.len());
                for k in &c.keys {
                    match k {
                        FeatureColumn::Field(_) | FeatureColumn::Numeric(_) | FeatureColumn::Dense(_) => {
                            let input = match k {
                                FeatureColumn::Field(n) => Input::Field(n.clone()),
                                FeatureColumn::Numeric(i) => i.clone(),
                                FeatureColumn::Dense(d) => Input::Dense(d.clone()),
                                _ => continue,
                            };
                            let (source, sql) = self.raw_source(&input, &what)?;
                            keys.push(CrossKey::Raw(source));
                            sql_keys.push(sql);
                        }
                        other => {
                            let (ids, sql) = self.categorical(other)?;
                            keys.push(CrossKey::Ids(ids));
                            sql_keys.push(sql);
                        }
                    }
                }
                Ok((
                    Ids::Cross {
                        keys,
                        buckets: c.buckets,
                        what: what.clone(),
                    },
                    FeatureColumn::Cross(fc::Cross {
                        keys: sql_keys,
                        buckets: c.buckets,
                    }),
                ))
            }
            FeatureColumn::Dense(d) => {
                // Ids in a fixed-length list: as many buckets as the largest id needs.
                let (n, sql) = self.numeric(&Input::Dense(d.clone()), &what)?;
                let buckets = self.max_id(&n.source, &what)? + 1;
                let input = match sql {
                    FeatureColumn::Dense(d) => Input::Dense(d),
                    _ => Input::Field(n.source.field.clone()),
                };
                Ok((
                    Ids::Identity {
                        source: n.source,
                        buckets,
                        weighted: false,
                        what: what.clone(),
                    },
                    FeatureColumn::CategoryId(fc::Category {
                        input,
                        buckets,
                        delimiter: None,
                    }),
                ))
            }
            FeatureColumn::Sparse(d) => {
                let (ids, sql) = self.sparse_ids(d, None, &what)?;
                let weighted = d.delimiter_kv.is_some();
                let ids = match ids {
                    Ids::Identity {
                        source,
                        buckets,
                        what,
                        ..
                    } => Ids::Identity {
                        source,
                        buckets,
                        weighted,
                        what,
                    },
                    other => other,
                };
                let sql = match sql {
                    FeatureColumn::Sparse(d) => {
                        let buckets = ids.buckets();
                        let c = FeatureColumn::CategoryId(fc::Category {
                            input: Input::Sparse(d),
                            buckets,
                            delimiter: None,
                        });
                        if weighted {
                            FeatureColumn::WeightedCategory(Box::new(c))
                        } else {
                            c
                        }
                    }
                    other => other,
                };
                Ok((ids, sql))
            }
            FeatureColumn::Numeric(_) | FeatureColumn::Indicator(_) | FeatureColumn::Embedding(_) => {
                Err(format!(
                    "{what} is not a categorical column; use CATEGORY_ID, CATEGORY_HASH, BUCKET or CROSS"
                )
                .into())
            }
        }
    }

    /// The largest id a source holds (for ids whose range is not written).
    fn max_id(&self, source: &Source, what: &str) -> Result<u64, EngineError> {
        let probe = Ids::Identity {
            source: source.clone(),
            buckets: u64::MAX,
            weighted: false,
            what: what.to_string(),
        };
        Ok(probe
            .rows(self.data)?
            .iter()
            .flatten()
            .map(|(id, _)| *id)
            .max()
            .unwrap_or(0))
    }

    /// A bare column as ids (INDICATOR(c), EMBEDDING(c, ...)): its text values, or the
    /// whole numbers it holds with as many buckets as the largest needs.
    fn field_ids(
        &mut self,
        name: &str,
        delimiter: Option<&str>,
        what: &str,
    ) -> Result<(Ids, FeatureColumn), EngineError> {
        let field = self.field_name(name)?;
        let holds = self.holds(&field)?;
        let read = match (&holds, delimiter) {
            (_, Some(d)) => Read::List {
                delimiter: d.to_string(),
                len: None,
            },
            (Holds::Lists { .. }, None) => Read::List {
                delimiter: ",".into(),
                len: None,
            },
            (Holds::Pairs { max_key }, None) => Read::Pairs {
                delimiter: ",".into(),
                kv: Some(":".into()),
                size: max_key.saturating_add(1),
            },
            _ => Read::Whole,
        };
        match &holds {
            Holds::Text { .. } => return self.vocabulary(&field, read, None),
            Holds::Nothing => {
                return Err(
                    format!("{what}: column {field} has no values to take ids from").into(),
                );
            }
            Holds::Numbers { whole: false, .. } | Holds::Lists { whole: false, .. } => {
                return Err(format!(
                    "{what}: column {field} holds numbers that are not whole, so they are no \
                     ids; group them with BUCKET({}, [...]) first",
                    fc::name_text(&field)
                )
                .into());
            }
            Holds::Numbers { min, .. } | Holds::Lists { min, .. } if *min < 0.0 => {
                return Err(format!(
                    "{what}: column {field} holds negative numbers, which are no ids; \
                     use CATEGORY_HASH({}, BUCKETS)",
                    fc::name_text(&field)
                )
                .into());
            }
            _ => {}
        }
        let source = Source { field, read };
        let buckets = self.max_id(&source, what)? + 1;
        let cat = fc::Category {
            input: match &source.read {
                Read::Pairs { size, .. } => Input::Sparse(FieldDesc {
                    shape: Some(vec![*size]),
                    delimiter: Some(",".into()),
                    dtype: Some(DType::Int),
                    delimiter_kv: Some(":".into()),
                    dtype_weight: Some(DType::Float),
                    ..field_desc(&source.field)
                }),
                _ => Input::Field(source.field.clone()),
            },
            buckets,
            delimiter: match &source.read {
                Read::List { delimiter, .. } => Some(delimiter.clone()),
                _ => None,
            },
        };
        let sql = FeatureColumn::CategoryId(cat);
        Ok((
            Ids::Identity {
                source,
                buckets,
                weighted: false,
                what: sql.to_string(),
            },
            sql,
        ))
    }

    /// `CATEGORY_ID(input, n[, delimiter])`: ids as numbers, or text values numbered.
    fn category_ids(&mut self, c: &fc::Category, what: &str) -> Result<(Ids, Input), EngineError> {
        match &c.input {
            Input::Field(name) => {
                let field = self.field_name(name)?;
                let holds = self.holds(&field)?;
                let read = match (&holds, &c.delimiter) {
                    (_, Some(d)) => Read::List {
                        delimiter: d.clone(),
                        len: None,
                    },
                    (Holds::Lists { .. }, None) => Read::List {
                        delimiter: ",".into(),
                        len: None,
                    },
                    (Holds::Pairs { .. }, None) => Read::Pairs {
                        delimiter: ",".into(),
                        kv: Some(":".into()),
                        size: c.buckets,
                    },
                    _ => Read::Whole,
                };
                let source = Source {
                    field: field.clone(),
                    read: read.clone(),
                };
                // Text that is not ids is numbered, as SQLFlow's vocabulary columns.
                let text_ids = match &holds {
                    Holds::Text { .. } => {
                        let cells = source.cells(self.data)?;
                        let mut all_ids = true;
                        'rows: for (r, cl) in cells.iter().enumerate() {
                            for (p, _) in pieces(cl, &read, what, r + 1)? {
                                if parse_number(&p).is_none() {
                                    all_ids = false;
                                    break 'rows;
                                }
                            }
                        }
                        !all_ids
                    }
                    _ => false,
                };
                if text_ids {
                    let (ids, _) = self.vocabulary(&field, read, Some(c.buckets))?;
                    return Ok((ids, Input::Field(field)));
                }
                Ok((
                    Ids::Identity {
                        source,
                        buckets: c.buckets,
                        weighted: false,
                        what: what.to_string(),
                    },
                    Input::Field(field),
                ))
            }
            Input::Dense(d) => {
                let (n, sql) = self.numeric(&Input::Dense(d.clone()), what)?;
                let input = match sql {
                    FeatureColumn::Dense(d) => Input::Dense(d),
                    _ => Input::Field(n.source.field.clone()),
                };
                Ok((
                    Ids::Identity {
                        source: n.source,
                        buckets: c.buckets,
                        weighted: false,
                        what: what.to_string(),
                    },
                    input,
                ))
            }
            Input::Sparse(d) => {
                let (ids, sql) = self.sparse_ids(d, Some(c.buckets), what)?;
                let ids = match ids {
                    // The written bucket size bounds the ids, whatever the shape.
                    Ids::Identity { source, what, .. } => Ids::Identity {
                        source,
                        buckets: c.buckets,
                        weighted: false,
                        what,
                    },
                    other => other,
                };
                let input = match sql {
                    FeatureColumn::Sparse(d) => Input::Sparse(d),
                    _ => Input::Field(d.field.clone()),
                };
                Ok((ids, input))
            }
        }
    }

    /// Values as text tokens (CATEGORY_HASH's input).
    fn token_source(
        &mut self,
        input: &Input,
        delimiter: Option<&str>,
        what: &str,
    ) -> Result<(Source, Input), EngineError> {
        match input {
            Input::Field(name) => {
                let field = self.field_name(name)?;
                let read = match (self.holds(&field)?, delimiter) {
                    (_, Some(d)) => Read::List {
                        delimiter: d.to_string(),
                        len: None,
                    },
                    (Holds::Lists { .. }, None) => Read::List {
                        delimiter: ",".into(),
                        len: None,
                    },
                    _ => Read::Whole,
                };
                Ok((
                    Source {
                        field: field.clone(),
                        read,
                    },
                    Input::Field(field),
                ))
            }
            Input::Dense(d) => {
                let field = self.field_name(&d.field)?;
                let delimiter = d.delimiter.clone().unwrap_or_else(|| ",".into());
                let len = match dims(&d.shape) {
                    Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                    None => Some(self.list_len(&field, &delimiter, what)?),
                };
                Ok((
                    Source {
                        field: field.clone(),
                        read: Read::List { delimiter, len },
                    },
                    Input::Dense(FieldDesc {
                        field,
                        shape: len.map(|n| vec![n as u64]),
                        ..d.clone()
                    }),
                ))
            }
            Input::Sparse(d) => {
                let (ids, sql) = self.sparse_ids(d, None, what)?;
                let source = match ids {
                    Ids::Identity { source, .. } => source,
                    _ => return Err(format!("{what}: SPARSE reads ids").into()),
                };
                let input = match sql {
                    FeatureColumn::Sparse(d) => Input::Sparse(d),
                    _ => Input::Field(source.field.clone()),
                };
                Ok((source, input))
            }
        }
    }

    /// A CROSS key read as raw values.
    fn raw_source(
        &mut self,
        input: &Input,
        what: &str,
    ) -> Result<(Source, FeatureColumn), EngineError> {
        match input {
            Input::Field(name) => {
                let field = self.field_name(name)?;
                let read = match self.holds(&field)? {
                    Holds::Lists { .. } => Read::List {
                        delimiter: ",".into(),
                        len: None,
                    },
                    _ => Read::Whole,
                };
                Ok((
                    Source {
                        field: field.clone(),
                        read,
                    },
                    FeatureColumn::Field(field),
                ))
            }
            Input::Dense(_) => {
                let (n, sql) = self.numeric(input, what)?;
                Ok((n.source, sql))
            }
            Input::Sparse(_) => Err(format!("{what}: SPARSE cannot be crossed").into()),
        }
    }
}
