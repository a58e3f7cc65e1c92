//! Feature columns: from the SELECT's columns to the models' input columns.
//!
//! At `TO TRAIN`, every `COLUMN` item (or, without `COLUMN`, every selected column but
//! the label) becomes a [`Planned`] column: bare columns are *derived* from the training
//! rows as SQLFlow's `doc/design/feature_derivation.md` describes, calls are checked
//! against the data (ids in range, list lengths, key:value pairs). The resulting
//! [`FeaturePlan`] is stored with the model, and PREDICT, EVALUATE and EXPLAIN apply
//! exactly the same transform from it, never re-deriving anything.
//!
//! The models take named columns of numbers or categories (`sqlflow_models::Column`), so
//! every feature column becomes some of those:
//! - numbers stay numbers; a `DENSE` list of `n` becomes `n` numeric inputs `c_0..`;
//! - ids (`CATEGORY_ID`, `CATEGORY_HASH`, `BUCKET`, `CROSS`, derived strings) with at most
//!   one id per row become one categorical input, which neural, linear and clustering
//!   models one-hot encode and tree models code as one ordinal feature;
//! - several ids per row (lists, `SPARSE`), `INDICATOR` and weighted ids become one
//!   numeric input per id seen in training (`c=66`), holding 1, the count, or the weight;
//! - `EMBEDDING` is that one-hot or multi-hot input plus an embedding table that DNNs learn
//!   with the network ([`FeaturePlan::embeddings`]); other models use the ids as above.
//!
//! Ids written as categories are zero-padded (`007`), so that tree models, which order
//! categories by their text, order bucket and id numbers as numbers.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlflow_models::{Column as ModelColumn, EmbeddingSpec, Feature};
use sqlflow_sql::extended::ColumnClause;
use sqlflow_sql::feature_column::{self as fc, Combiner, DType, FeatureColumn, FieldDesc, Input};

use crate::{Value, backend::Collected, exec::EngineError};

/// Multi-hot and sparse inputs wider than this are refused: the models take a dense matrix,
/// and a column per id quickly outgrows it.
pub const MAX_IDS_PER_COLUMN: usize = 10_000;
/// Rows × numeric model inputs the transform may produce (about 500 MB as model input).
pub const MAX_INPUT_CELLS: usize = 20_000_000;
/// A missing row of a CROSS key's values.
static NO_VALUES: Vec<String> = Vec::new();
/// Combinations one row of a `CROSS` may produce.
const MAX_CROSS_PER_ROW: usize = 1_000;
/// Derived string columns with more distinct values than this get an embedding on DNNs.
const EMBED_VOCABULARY_ABOVE: usize = 100;

/// How a trained model's inputs are made from a query's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturePlan {
    /// Distinct feature columns, in the order of the model's inputs.
    pub columns: Vec<Planned>,
    /// `COLUMN ... FOR input` groups: the input and the indices of its columns. Empty
    /// when the statement has no COLUMN clause.
    pub groups: Vec<(String, Vec<usize>)>,
    /// The COLUMN clauses as written (`FOR` input, item texts), for `USING`.
    pub written: Vec<(Option<String>, Vec<String>)>,
}

/// One feature column, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    /// The feature column in SQL with what derivation found filled in; it parses back
    /// and means the same.
    pub text: String,
    /// Derived from a bare column rather than written as a call.
    pub derived: bool,
    pub spec: Spec,
    /// The model input columns it writes.
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Spec {
    Numeric(Numeric),
    Ids {
        ids: Ids,
        form: Form,
        layout: Layout,
    },
}

/// Numbers: one per row, or a fixed-length list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Numeric {
    pub source: Source,
    /// Values per row (1 for a scalar).
    pub len: usize,
    /// DENSE(..., int): values must be whole numbers.
    pub int_only: bool,
    /// The function as the user sees it, for messages.
    pub what: String,
}

/// A column of the query and how its cells are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub field: String,
    pub read: Read,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Read {
    /// The cell is one value.
    Whole,
    /// A list split on `delimiter`; `len`: the exact count every row must have.
    List {
        delimiter: String,
        len: Option<usize>,
    },
    /// Indices, or `key<kv>value` pairs, split on `delimiter` and whitespace; keys are
    /// below `size`.
    Pairs {
        delimiter: String,
        kv: Option<String>,
        size: u64,
    },
}

/// Where a row's ids come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Ids {
    /// The numbers are the ids (`CATEGORY_ID` on numbers, `SPARSE` indices).
    Identity {
        source: Source,
        buckets: u64,
        /// Pairs' values weigh the ids (else each counts 1).
        weighted: bool,
        what: String,
    },
    /// Each text seen in training is an id, in sorted order.
    Vocabulary {
        source: Source,
        vocabulary: Vec<String>,
        /// The bucket size written, if any.
        buckets: Option<u64>,
        what: String,
    },
    /// A stable hash of the value's text, modulo `buckets`.
    Hash {
        source: Source,
        buckets: u64,
        weighted: bool,
        what: String,
    },
    /// The bucket each number falls in; element `i` of a list uses ids
    /// `i·(boundaries+1)..`.
    Bucket {
        source: Source,
        boundaries: Vec<f64>,
        len: usize,
        what: String,
    },
    /// A hash of the keys' values together, modulo `buckets`.
    Cross {
        keys: Vec<CrossKey>,
        buckets: u64,
        what: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CrossKey {
    /// The column's values as they are (`NUMERIC`, `DENSE` and bare columns).
    Raw(Source),
    Ids(Ids),
}

/// What the user asked of the ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Form {
    /// The ids as a categorical feature (a bare categorical call or derived strings).
    Plain,
    /// `SPARSE` (or derived `key:value` lists) as numbers: the values at their indices.
    Values,
    Indicator,
    Embedding {
        dimension: u64,
        combiner: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Layout {
    /// At most one id per row: one categorical input holding its text.
    Category,
    /// One numeric input per id seen in training, in `seen` order.
    MultiHot { seen: Vec<u64> },
}

// ---------------------------------------------------------------------------------------
// Reading cells.

/// One cell, typed for feature columns.
enum Cell<'a> {
    Null,
    Num(f64),
    Text(&'a str),
}

fn cell<'a>(v: &'a Value, field: &str, row: usize) -> Result<Cell<'a>, EngineError> {
    Ok(match v {
        Value::Null(_) => Cell::Null,
        Value::Bool(b) => Cell::Num(f64::from(u8::from(*b))),
        Value::Int64(i) => Cell::Num(*i as f64),
        Value::Double(x) => Cell::Num(*x),
        Value::Decimal(s) => Cell::Num(s.trim().parse().map_err(|_| {
            format!("column {field}: DECIMAL value {s} in row {row} is not a number")
        })?),
        Value::String(s) | Value::Date(s) | Value::Time(s) | Value::Timestamp(s) => Cell::Text(s),
        Value::Bytes(_) => {
            return Err(format!(
                "column {field} holds binary data, which cannot be a feature; leave it out of \
                 the SELECT"
            )
            .into());
        }
    })
}

/// How a number reads as text: whole numbers without a fraction, as ids are written.
fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// One cell's pieces as `read` splits them: (text, weight).
fn pieces<'a>(
    c: &Cell<'a>,
    read: &Read,
    what: &str,
    row: usize,
) -> Result<Vec<(Cow<'a, str>, f64)>, EngineError> {
    let text: Cow<'a, str> = match c {
        Cell::Null => return Ok(Vec::new()),
        Cell::Num(x) => Cow::Owned(number_text(*x)),
        Cell::Text(t) => Cow::Borrowed(*t),
    };
    Ok(match read {
        Read::Whole => vec![(text, 1.0)],
        Read::List { delimiter, .. } => split_list(&text, delimiter)
            .into_iter()
            .map(|p| (Cow::Owned(p.to_string()), 1.0))
            .collect(),
        Read::Pairs { delimiter, kv, .. } => {
            let mut out = Vec::new();
            for p in split_pairs(&text, delimiter) {
                match kv {
                    None => out.push((Cow::Owned(p.to_string()), 1.0)),
                    Some(sep) => {
                        let Some((k, v)) = p.split_once(sep.as_str()) else {
                            return Err(format!(
                                "{what}: '{p}' in row {row} is not a key{sep}value pair"
                            )
                            .into());
                        };
                        let w = parse_number(v).ok_or_else(|| {
                            format!("{what}: the value of '{p}' in row {row} is not a number")
                        })?;
                        out.push((Cow::Owned(k.trim().to_string()), w));
                    }
                }
            }
            out
        }
    })
}

fn split_list<'t>(text: &'t str, delimiter: &str) -> Vec<&'t str> {
    text.split(delimiter)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Pairs are split on the delimiter and on whitespace: libsvm writes `0:3.2 5:-0.5`.
fn split_pairs<'t>(text: &'t str, delimiter: &str) -> Vec<&'t str> {
    text.split(delimiter)
        .flat_map(str::split_whitespace)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A stable 64-bit hash (FNV-1a): the same ids on every machine and in every version,
/// unlike std's randomly keyed hasher.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The query's column named `name`: exact, then ignoring ASCII case.
fn column_index(data: &Collected, name: &str) -> Result<usize, EngineError> {
    data.columns
        .iter()
        .position(|c| c.name == name)
        .or_else(|| {
            data.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| {
            let have: Vec<&str> = data.columns.iter().map(|c| c.name.as_str()).collect();
            format!(
                "the query has no column {name}; its columns are {}",
                have.join(", ")
            )
            .into()
        })
}

// ---------------------------------------------------------------------------------------
// Applying a plan.

impl Source {
    fn cells<'a>(&self, data: &'a Collected) -> Result<Vec<Cell<'a>>, EngineError> {
        let i = column_index(data, &self.field)?;
        data.rows
            .iter()
            .enumerate()
            .map(|(r, row)| match row.get(i) {
                Some(v) => cell(v, &self.field, r + 1),
                None => Ok(Cell::Null),
            })
            .collect()
    }
}

fn whole_id(text: &str, buckets: u64, what: &str, row: usize) -> Result<u64, EngineError> {
    let x = parse_number(text)
        .ok_or_else(|| format!("{what}: '{text}' in row {row} is not an id (a whole number)"))?;
    if x.fract() != 0.0 || !x.is_finite() {
        return Err(format!("{what}: value {text} in row {row} is not a whole number").into());
    }
    if x < 0.0 || x >= buckets as f64 {
        return Err(format!(
            "{what}: value {} in row {row} is outside 0..{buckets}",
            number_text(x)
        )
        .into());
    }
    Ok(x as u64)
}

fn check_len(read: &Read, got: usize, what: &str, row: usize) -> Result<(), EngineError> {
    if let Read::List { len: Some(n), .. } = read
        && got != *n
        && got != 0
    {
        return Err(format!("{what}: row {row} has {got} values, expected {n}").into());
    }
    Ok(())
}

impl Ids {
    pub fn buckets(&self) -> u64 {
        match self {
            Ids::Identity { buckets, .. }
            | Ids::Hash { buckets, .. }
            | Ids::Cross { buckets, .. } => *buckets,
            Ids::Vocabulary { vocabulary, .. } => vocabulary.len() as u64,
            Ids::Bucket {
                boundaries, len, ..
            } => (*len as u64).saturating_mul(boundaries.len() as u64 + 1),
        }
    }

    /// At most one id per row.
    pub fn single(&self) -> bool {
        match self {
            Ids::Identity { source, .. }
            | Ids::Vocabulary { source, .. }
            | Ids::Hash { source, .. } => source.read == Read::Whole,
            Ids::Bucket { source, len, .. } => *len == 1 && source.read == Read::Whole,
            Ids::Cross { keys, .. } => keys.iter().all(|k| match k {
                CrossKey::Raw(s) => s.read == Read::Whole,
                CrossKey::Ids(ids) => ids.single(),
            }),
        }
    }

    fn what(&self) -> &str {
        match self {
            Ids::Identity { what, .. }
            | Ids::Vocabulary { what, .. }
            | Ids::Hash { what, .. }
            | Ids::Bucket { what, .. }
            | Ids::Cross { what, .. } => what,
        }
    }

    /// Every row's ids with their weights.
    fn rows(&self, data: &Collected) -> Result<Vec<Vec<(u64, f64)>>, EngineError> {
        let what = self.what().to_string();
        match self {
            Ids::Identity {
                source,
                buckets,
                weighted,
                ..
            } => {
                let cells = source.cells(data)?;
                let mut out = Vec::with_capacity(cells.len());
                for (r, c) in cells.iter().enumerate() {
                    let ps = pieces(c, &source.read, &what, r + 1)?;
                    check_len(&source.read, ps.len(), &what, r + 1)?;
                    let mut ids = Vec::with_capacity(ps.len());
                    for (p, w) in ps {
                        if p.trim().is_empty() {
                            continue;
                        }
                        let id = whole_id(&p, *buckets, &what, r + 1)?;
                        ids.push((id, if *weighted { w } else { 1.0 }));
                    }
                    out.push(ids);
                }
                Ok(out)
            }
            Ids::Vocabulary {
                source, vocabulary, ..
            } => {
                let cells = source.cells(data)?;
                let mut out = Vec::with_capacity(cells.len());
                for (r, c) in cells.iter().enumerate() {
                    let ps = pieces(c, &source.read, &what, r + 1)?;
                    out.push(
                        ps.iter()
                            .filter_map(|(p, _)| {
                                vocabulary
                                    .binary_search_by(|v| v.as_str().cmp(p.as_ref()))
                                    .ok()
                                    .map(|i| (i as u64, 1.0))
                            })
                            .collect(),
                    );
                }
                Ok(out)
            }
            Ids::Hash {
                source,
                buckets,
                weighted,
                ..
            } => {
                let cells = source.cells(data)?;
                let mut out = Vec::with_capacity(cells.len());
                for (r, c) in cells.iter().enumerate() {
                    let ps = pieces(c, &source.read, &what, r + 1)?;
                    check_len(&source.read, ps.len(), &what, r + 1)?;
                    out.push(
                        ps.iter()
                            .map(|(p, w)| {
                                let id = fnv1a(&[p.as_ref()]) % (*buckets).max(1);
                                (id, if *weighted { *w } else { 1.0 })
                            })
                            .collect(),
                    );
                }
                Ok(out)
            }
            Ids::Bucket {
                source, boundaries, ..
            } => {
                let cells = source.cells(data)?;
                let per = boundaries.len() as u64 + 1;
                let mut out = Vec::with_capacity(cells.len());
                for (r, c) in cells.iter().enumerate() {
                    let ps = pieces(c, &source.read, &what, r + 1)?;
                    check_len(&source.read, ps.len(), &what, r + 1)?;
                    let mut ids = Vec::with_capacity(ps.len());
                    for (i, (p, _)) in ps.iter().enumerate() {
                        if p.trim().is_empty() {
                            continue;
                        }
                        let x = parse_number(p).ok_or_else(|| {
                            format!("{what}: row {} holds '{p}', which is not a number", r + 1)
                        })?;
                        if x.is_nan() {
                            continue;
                        }
                        let b = boundaries.partition_point(|&edge| edge <= x) as u64;
                        ids.push((i as u64 * per + b, 1.0));
                    }
                    out.push(ids);
                }
                Ok(out)
            }
            Ids::Cross { keys, buckets, .. } => {
                // Each key's values per row, as text.
                let mut per_key: Vec<Vec<Vec<String>>> = Vec::with_capacity(keys.len());
                for k in keys {
                    per_key.push(match k {
                        CrossKey::Raw(source) => {
                            let cells = source.cells(data)?;
                            let mut rows = Vec::with_capacity(cells.len());
                            for (r, c) in cells.iter().enumerate() {
                                let ps = pieces(c, &source.read, &what, r + 1)?;
                                check_len(&source.read, ps.len(), &what, r + 1)?;
                                rows.push(
                                    ps.into_iter()
                                        .map(|(p, _)| p.into_owned())
                                        .filter(|p| !p.trim().is_empty())
                                        .collect(),
                                );
                            }
                            rows
                        }
                        CrossKey::Ids(ids) => ids
                            .rows(data)?
                            .into_iter()
                            .map(|row| row.into_iter().map(|(id, _)| id.to_string()).collect())
                            .collect(),
                    });
                }
                let n = data.rows.len();
                let mut out = Vec::with_capacity(n);
                for r in 0..n {
                    let lists: Vec<&Vec<String>> = per_key
                        .iter()
                        .map(|k| k.get(r).unwrap_or(&NO_VALUES))
                        .collect();
                    let combos = lists
                        .iter()
                        .try_fold(1usize, |acc, l| acc.checked_mul(l.len()))
                        .unwrap_or(usize::MAX);
                    if combos > MAX_CROSS_PER_ROW {
                        return Err(format!(
                            "{what}: row {} crosses into {combos} combinations, more than the \
                             {MAX_CROSS_PER_ROW} one row may have",
                            r + 1
                        )
                        .into());
                    }
                    let mut ids = Vec::with_capacity(combos);
                    let mut idx = vec![0usize; lists.len()];
                    if combos > 0 {
                        loop {
                            let parts: Vec<&str> = lists
                                .iter()
                                .zip(&idx)
                                .map(|(l, &i)| l[i].as_str())
                                .collect();
                            ids.push((fnv1a(&parts) % (*buckets).max(1), 1.0));
                            // Odometer over the keys' values.
                            let mut k = lists.len();
                            loop {
                                if k == 0 {
                                    break;
                                }
                                k -= 1;
                                idx[k] += 1;
                                if idx[k] < lists[k].len() {
                                    break;
                                }
                                idx[k] = 0;
                            }
                            if idx.iter().all(|&i| i == 0) {
                                break;
                            }
                        }
                    }
                    out.push(ids);
                }
                Ok(out)
            }
        }
    }

    /// How id `id` reads as a category or in an input's name.
    fn label(&self, id: u64) -> String {
        match self {
            Ids::Vocabulary { vocabulary, .. } => vocabulary
                .get(id as usize)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
            other => {
                let width = other.buckets().saturating_sub(1).to_string().len();
                format!("{id:0width$}")
            }
        }
    }
}

impl Numeric {
    fn columns(
        &self,
        data: &Collected,
        outputs: &[String],
    ) -> Result<Vec<ModelColumn>, EngineError> {
        let cells = self.source.cells(data)?;
        let mut cols: Vec<Vec<Option<Feature>>> = vec![Vec::with_capacity(cells.len()); self.len];
        for (r, c) in cells.iter().enumerate() {
            let row = r + 1;
            let values: Vec<Option<f64>> = match (c, &self.source.read) {
                (Cell::Null, _) => vec![None; self.len],
                (Cell::Num(x), Read::Whole) => vec![Some(*x)],
                (Cell::Text(t), Read::Whole) if t.trim().is_empty() => vec![None],
                (c, read) => {
                    let ps = pieces(c, read, &self.what, row)?;
                    if ps.is_empty() {
                        vec![None; self.len]
                    } else {
                        if ps.len() != self.len {
                            return Err(format!(
                                "{}: row {row} has {} values, expected {}",
                                self.what,
                                ps.len(),
                                self.len
                            )
                            .into());
                        }
                        ps.iter()
                            .map(|(p, _)| {
                                parse_number(p).map(Some).ok_or_else(|| {
                                    EngineError::from(format!(
                                        "{}: row {row} holds '{p}', which is not a number",
                                        self.what
                                    ))
                                })
                            })
                            .collect::<Result<_, _>>()?
                    }
                }
            };
            for (col, v) in cols.iter_mut().zip(values) {
                if self.int_only
                    && let Some(x) = v
                    && x.fract() != 0.0
                {
                    return Err(format!(
                        "{}: value {x} in row {row} is not a whole number (DTYPE int)",
                        self.what
                    )
                    .into());
                }
                col.push(v.map(Feature::Num));
            }
        }
        Ok(outputs
            .iter()
            .zip(cols)
            .map(|(name, values)| ModelColumn::new(name.clone(), values))
            .collect())
    }
}

impl Planned {
    fn columns(&self, data: &Collected) -> Result<Vec<ModelColumn>, EngineError> {
        match &self.spec {
            Spec::Numeric(n) => n.columns(data, &self.outputs),
            Spec::Ids { ids, layout, .. } => {
                let rows = ids.rows(data)?;
                match layout {
                    Layout::Category => {
                        let name = self.outputs.first().cloned().unwrap_or_default();
                        let values = match ids {
                            // The text itself, so that an unseen value reaches the model
                            // as one (treated like NULL there).
                            Ids::Vocabulary { source, .. } if source.read == Read::Whole => source
                                .cells(data)?
                                .iter()
                                .map(|c| match c {
                                    Cell::Null => None,
                                    Cell::Num(x) => Some(Feature::Str(number_text(*x))),
                                    Cell::Text(t) => Some(Feature::Str((*t).to_string())),
                                })
                                .collect(),
                            _ => rows
                                .iter()
                                .map(|r| r.first().map(|(id, _)| Feature::Str(ids.label(*id))))
                                .collect(),
                        };
                        Ok(vec![ModelColumn::new(name, values)])
                    }
                    Layout::MultiHot { seen } => {
                        let mut cols: Vec<Vec<Option<Feature>>> =
                            vec![vec![Some(Feature::Num(0.0)); rows.len()]; seen.len()];
                        for (r, ids) in rows.iter().enumerate() {
                            for (id, w) in ids {
                                // Ids never seen in training have no input: they carry
                                // nothing the model learned.
                                if let Ok(i) = seen.binary_search(id)
                                    && let Some(Some(Feature::Num(v))) =
                                        cols.get_mut(i).and_then(|c| c.get_mut(r))
                                {
                                    *v += w;
                                }
                            }
                        }
                        Ok(self
                            .outputs
                            .iter()
                            .zip(cols)
                            .map(|(name, values)| ModelColumn::new(name.clone(), values))
                            .collect())
                    }
                }
            }
        }
    }
}

impl FeaturePlan {
    /// The model's input columns for `data` (the query's rows).
    pub fn transform(&self, data: &Collected) -> Result<Vec<ModelColumn>, EngineError> {
        let mut out = Vec::new();
        for p in &self.columns {
            out.extend(p.columns(data)?);
        }
        Ok(out)
    }

    /// `COLUMN ... FOR` groups as the models take them: input name and model columns.
    pub fn model_groups(&self) -> Vec<(String, Vec<String>)> {
        self.groups
            .iter()
            .map(|(input, idx)| {
                let cols = idx
                    .iter()
                    .filter_map(|&i| self.columns.get(i))
                    .flat_map(|p| p.outputs.iter().cloned())
                    .collect();
                (input.clone(), cols)
            })
            .collect()
    }

    /// The embeddings DNNs learn: their input columns, size and combiner.
    pub fn embeddings(&self) -> Vec<EmbeddingSpec> {
        self.columns
            .iter()
            .filter_map(|p| match &p.spec {
                Spec::Ids {
                    form:
                        Form::Embedding {
                            dimension,
                            combiner,
                        },
                    ..
                } => Some(EmbeddingSpec {
                    columns: p.outputs.clone(),
                    dimension: usize::try_from(*dimension).unwrap_or(usize::MAX),
                    combiner: sqlflow_models::Combiner::from_name(combiner).unwrap_or_default(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The feature columns as SHOW TRAIN prints them: `a, b` or, with FOR groups,
    /// `input: a, b; other: c`.
    pub fn describe(&self) -> String {
        let texts = |idx: &[usize]| {
            idx.iter()
                .filter_map(|&i| self.columns.get(i))
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all: Vec<usize> = (0..self.columns.len()).collect();
        let named = self
            .groups
            .iter()
            .any(|(input, _)| !input.eq_ignore_ascii_case("feature_columns"));
        if !named {
            return texts(&all);
        }
        self.groups
            .iter()
            .map(|(input, idx)| format!("{input}: {}", texts(idx)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// An error unless `clauses` are the COLUMN clauses this plan was made from (`USING`
    /// continues training with the old model's feature columns).
    pub fn check_same_clauses(&self, clauses: &[ColumnClause]) -> Result<(), EngineError> {
        let given: Vec<(Option<String>, Vec<String>)> = clauses
            .iter()
            .map(|c| (c.for_input.clone(), c.columns.clone()))
            .collect();
        if given.is_empty() || given == self.written {
            return Ok(());
        }
        Err(format!(
            "USING continues a model with the feature columns it was trained with ({}); \
             leave COLUMN out or write it as that model's statement did",
            self.describe()
        )
        .into())
    }
}

// ---------------------------------------------------------------------------------------
// Derivation and planning.

/// What a column holds, over the training rows.
#[derive(Debug, Clone)]
enum Holds {
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

fn classify(data: &Collected, field: &str) -> Result<Holds, EngineError> {
    let i = column_index(data, field)?;
    let mut cells = Vec::with_capacity(data.rows.len());
    for (r, row) in data.rows.iter().enumerate() {
        cells.push(match row.get(i) {
            Some(v) => cell(v, field, r + 1)?,
            None => Cell::Null,
        });
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

/// Resolves `COLUMN` items against the training rows.
struct Planner<'a> {
    data: &'a Collected,
    holds: HashMap<String, Holds>,
    /// The estimator is a neural network (derived large vocabularies get embeddings).
    neural: bool,
}

/// A resolved feature column before naming.
struct Resolved {
    spec: Spec,
    /// Base name of its inputs.
    base: String,
    derived: bool,
    /// The SQL it means, with derived values.
    sql: FeatureColumn,
}

fn dims(shape: &Option<Vec<u64>>) -> Option<u64> {
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
    fn holds(&mut self, field: &str) -> Result<Holds, EngineError> {
        if let Some(h) = self.holds.get(field) {
            return Ok(h.clone());
        }
        let h = classify(self.data, field)?;
        self.holds.insert(field.to_string(), h.clone());
        Ok(h)
    }

    /// The column's name as the query spells it.
    fn field_name(&self, field: &str) -> Result<String, EngineError> {
        let i = column_index(self.data, field)?;
        Ok(self
            .data
            .columns
            .get(i)
            .map_or_else(|| field.to_string(), |c| c.name.clone()))
    }

    fn resolve(&mut self, f: &FeatureColumn) -> Result<Resolved, EngineError> {
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

    /// A bare column, derived from what it holds (SQLFlow's feature derivation).
    fn derive(&mut self, name: &str) -> Result<Resolved, EngineError> {
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

    /// Ids and how they reach the model: one categorical input when there is at most one
    /// id per row (and the user did not ask for an indicator), else multi-hot over the
    /// ids seen in training.
    fn ids_spec(
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

    /// Numbers from a column or `DENSE(...)`.
    fn numeric(
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
    fn list_len(&self, field: &str, delimiter: &str, what: &str) -> Result<usize, EngineError> {
        let i = column_index(self.data, field)?;
        let mut first: Option<(usize, usize)> = None;
        for (r, row) in self.data.rows.iter().enumerate() {
            let c = match row.get(i) {
                Some(v) => cell(v, field, r + 1)?,
                None => Cell::Null,
            };
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

    /// `SPARSE(...)` as ids: indices (weight 1) or key:value pairs (the values weigh).
    /// `buckets`: the id range when a category function gives one (else the shape).
    fn sparse_ids(
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
        Ok(self
            .data
            .rows
            .iter()
            .any(|row| matches!(row.get(i), Some(Value::String(s)) if s.contains(c))))
    }

    /// Text values as ids, numbered in sorted order.
    fn vocabulary(
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
    fn categorical(&mut self, f: &FeatureColumn) -> Result<(Ids, FeatureColumn), EngineError> {
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

fn field_desc(field: &str) -> FieldDesc {
    FieldDesc {
        field: field.to_string(),
        shape: None,
        delimiter: None,
        dtype: None,
        delimiter_kv: None,
        dtype_weight: None,
    }
}

fn ids_field(ids: &Ids) -> String {
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
    data: &Collected,
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
            .columns
            .iter()
            .enumerate()
            // Binary columns cannot be features; leaving them out lets SELECT * work.
            .filter(|(i, _)| {
                Some(*i) != label_idx
                    && !data
                        .rows
                        .iter()
                        .any(|r| matches!(r.get(*i), Some(Value::Bytes(_))))
            })
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
                cells = cells.saturating_add(outputs.len().saturating_mul(data.rows.len()));
                if cells > MAX_INPUT_CELLS {
                    return Err(format!(
                        "{text}: the feature columns so far make {} input values per row for \
                         {} rows, more than the {MAX_INPUT_CELLS} values the models' dense \
                         input may hold; select fewer rows or use fewer buckets",
                        cells / data.rows.len().max(1),
                        data.rows.len()
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

#[cfg(test)]
mod tests {
    use sqlflow_sql::{Dialect, ExtKind, Parsed, parse_statement};

    use super::*;
    use crate::backend::Column;

    fn s(x: &str) -> Value {
        Value::String(x.into())
    }

    fn f(x: f64) -> Value {
        Value::Double(x)
    }

    fn i(x: i64) -> Value {
        Value::Int64(x)
    }

    fn null() -> Value {
        Value::Null(Default::default())
    }

    fn table(names: &[&str], rows: Vec<Vec<Value>>) -> Collected {
        Collected {
            columns: names
                .iter()
                .map(|n| Column {
                    name: n.to_string(),
                    decl_type: String::new(),
                })
                .collect(),
            rows,
        }
    }

    /// The COLUMN clauses of `COLUMN <items>`.
    fn clauses(items: &str) -> Vec<ColumnClause> {
        let src = format!("SELECT * FROM t TO TRAIN DNNClassifier COLUMN {items} LABEL y INTO m");
        match parse_statement(&src, Dialect::Sqlite) {
            Ok(Parsed::Extended(e)) => match e.kind {
                ExtKind::Train(t) => t.columns,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    fn plan_of(data: &Collected, items: &str, neural: bool) -> FeaturePlan {
        plan(data, &clauses(items), Some("y"), neural).unwrap_or_else(|e| panic!("{items}: {e}"))
    }

    /// The error of planning `items` or of transforming the training rows with the plan
    /// (TO TRAIN does both before it trains).
    fn plan_err(data: &Collected, items: &str) -> String {
        match plan(data, &clauses(items), Some("y"), true).and_then(|p| p.transform(data)) {
            Ok(_) => panic!("{items} planned and transformed"),
            Err(e) => e.to_string(),
        }
    }

    /// Model inputs as (name, values) with numbers and categories as text.
    fn inputs(p: &FeaturePlan, data: &Collected) -> Vec<(String, Vec<String>)> {
        p.transform(data)
            .unwrap()
            .into_iter()
            .map(|c| {
                let v = c
                    .values
                    .iter()
                    .map(|v| match v {
                        None => "NULL".to_string(),
                        Some(Feature::Num(x)) => format!("{x}"),
                        Some(Feature::Str(t)) => format!("'{t}'"),
                    })
                    .collect();
                (c.name, v)
            })
            .collect()
    }

    fn names(p: &FeaturePlan, data: &Collected) -> Vec<String> {
        inputs(p, data).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn derivation_follows_what_each_column_holds() {
        let data = table(
            &["num", "numtext", "csv", "kv", "word", "empty", "blob", "y"],
            vec![
                vec![
                    i(1),
                    s("29.85"),
                    s("1,2,3"),
                    s("0:1.5 3:2"),
                    s("Male"),
                    null(),
                    Value::Bytes(vec![1]),
                    i(0),
                ],
                vec![
                    f(2.5),
                    s(" "),
                    s("4, 5,6"),
                    s("1:0.5"),
                    s("Female"),
                    null(),
                    Value::Bytes(vec![2]),
                    i(1),
                ],
                vec![null(), s("7"), null(), null(), null(), null(), null(), i(1)],
            ],
        );
        let p = plan(&data, &[], Some("y"), false).unwrap();
        assert_eq!(
            p.describe(),
            "NUMERIC(num), NUMERIC(numtext), DENSE(csv, 3), SPARSE(kv, 4, \",\", int, \":\", float), \
             CATEGORY_ID(word, 2), NUMERIC(empty)"
        );
        assert!(p.columns.iter().all(|c| c.derived));
        assert_eq!(
            inputs(&p, &data),
            [
                ("num".into(), vec!["1".into(), "2.5".into(), "NULL".into()]),
                // A blank string is missing, not a category.
                (
                    "numtext".into(),
                    vec!["29.85".into(), "NULL".into(), "7".into()]
                ),
                ("csv_0".into(), vec!["1".into(), "4".into(), "NULL".into()]),
                ("csv_1".into(), vec!["2".into(), "5".into(), "NULL".into()]),
                ("csv_2".into(), vec!["3".into(), "6".into(), "NULL".into()]),
                // key:value lists: the values at the keys seen in training.
                ("kv=0".into(), vec!["1.5".into(), "0".into(), "0".into()]),
                ("kv=1".into(), vec!["0".into(), "0.5".into(), "0".into()]),
                ("kv=3".into(), vec!["2".into(), "0".into(), "0".into()]),
                (
                    "word".into(),
                    vec!["'Male'".into(), "'Female'".into(), "NULL".into()]
                ),
                ("empty".into(), vec!["NULL".into(); 3]),
            ],
            "the label and binary columns are left out"
        );
    }

    #[test]
    fn derivation_errors_name_the_column() {
        let ragged = table(
            &["c", "y"],
            vec![vec![s("1,2,3"), i(0)], vec![s("4,5"), i(1)]],
        );
        let e = plan(&ragged, &[], Some("y"), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "column c holds comma-separated numbers, but row 1 has 3 of them and row 2 has 2"
            ),
            "{e}"
        );
        assert!(e.contains("SPARSE(c, SIZE)"), "{e}");
        let e = plan_err(&ragged, "nope");
        assert!(
            e.contains("the query has no column nope; its columns are c, y"),
            "{e}"
        );
    }

    #[test]
    fn large_vocabularies_get_embeddings_on_dnns_only() {
        let rows = (0..150)
            .map(|k| vec![s(&format!("v{k:03}")), i(k % 2)])
            .collect();
        let data = table(&["w", "y"], rows);
        let dnn = plan(&data, &[], Some("y"), true).unwrap();
        assert_eq!(dnn.describe(), "EMBEDDING(CATEGORY_ID(w, 150), 26, sum)");
        assert_eq!(
            dnn.embeddings(),
            [EmbeddingSpec {
                columns: vec!["w".into()],
                dimension: 26,
                combiner: sqlflow_models::Combiner::Sum,
            }]
        );
        let trees = plan(&data, &[], Some("y"), false).unwrap();
        assert_eq!(trees.describe(), "CATEGORY_ID(w, 150)");
        assert!(trees.embeddings().is_empty());
    }

    #[test]
    fn category_id_checks_ids_at_training_and_prediction() {
        let mut rows: Vec<Vec<Value>> = (0..6).map(|k| vec![i(k * 10), i(0)]).collect();
        rows.push(vec![i(123), i(1)]);
        let bad = table(&["title", "y"], rows.clone());
        let e = plan_err(&bad, "CATEGORY_ID(title, 100)");
        assert_eq!(
            e,
            "CATEGORY_ID(title, 100): value 123 in row 7 is outside 0..100"
        );
        rows.pop();
        let good = table(&["title", "y"], rows);
        let p = plan_of(&good, "CATEGORY_ID(title, 100)", false);
        // One categorical input, ids zero-padded so trees order them as numbers.
        assert_eq!(
            inputs(&p, &good)[0].1,
            ["'00'", "'10'", "'20'", "'30'", "'40'", "'50'"]
        );
        let new_rows = table(&["title"], vec![vec![i(99)], vec![f(2.5)], vec![s("x")]]);
        let e = p
            .transform(&table(&["title"], vec![vec![i(100)]]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "CATEGORY_ID(title, 100): value 100 in row 1 is outside 0..100"
        );
        let e = p.transform(&new_rows).unwrap_err().to_string();
        assert_eq!(
            e,
            "CATEGORY_ID(title, 100): value 2.5 in row 2 is not a whole number"
        );
        // Strings are numbered as a vocabulary, bounded by the bucket size.
        let words = table(
            &["g", "y"],
            vec![vec![s("b"), i(0)], vec![s("a"), i(1)], vec![s("c"), i(0)]],
        );
        let e = plan_err(&words, "CATEGORY_ID(g, 2)");
        assert!(
            e.contains("CATEGORY_ID(g, 2): column g holds 3 distinct values (a, b, c), more than its 2 buckets"),
            "{e}"
        );
        let p = plan_of(&words, "INDICATOR(CATEGORY_ID(g, 3))", true);
        assert_eq!(
            names(&p, &words),
            ["g_indicator=a", "g_indicator=b", "g_indicator=c"]
        );
        let unseen = table(&["g"], vec![vec![s("z")], vec![s("a")]]);
        assert_eq!(
            inputs(&p, &unseen),
            [
                ("g_indicator=a".to_string(), vec!["0".into(), "1".into()]),
                ("g_indicator=b".to_string(), vec!["0".into(), "0".into()]),
                ("g_indicator=c".to_string(), vec!["0".into(), "0".into()]),
            ]
        );
    }

    #[test]
    fn lists_of_ids_become_multi_hot() {
        let data = table(
            &["t", "y"],
            vec![
                vec![s("66,67,42"), i(0)],
                vec![s("42"), i(1)],
                vec![s("7,7"), i(0)],
            ],
        );
        for items in ["CATEGORY_ID(t, 100)", "SEQ_CATEGORY_ID(t, 100, COMMA)"] {
            let p = plan_of(&data, items, false);
            assert_eq!(
                inputs(&p, &data),
                [
                    ("t=07".to_string(), vec!["0".into(), "0".into(), "2".into()]),
                    ("t=42".to_string(), vec!["1".into(), "1".into(), "0".into()]),
                    ("t=66".to_string(), vec!["1".into(), "0".into(), "0".into()]),
                    ("t=67".to_string(), vec!["1".into(), "0".into(), "0".into()]),
                ],
                "{items}"
            );
        }
        let e = plan_err(&data, "CATEGORY_ID(DENSE(t, 3), 100)");
        assert_eq!(
            e,
            "CATEGORY_ID(DENSE(t, 3), 100): row 2 has 1 values, expected 3"
        );
        let p = plan_of(&data, "EMBEDDING(t, 4, mean)", true);
        assert_eq!(
            p.describe(),
            "EMBEDDING(CATEGORY_ID(t, 68, \",\"), 4, mean)"
        );
        assert_eq!(
            p.embeddings()[0].columns,
            [
                "t_embedding=07",
                "t_embedding=42",
                "t_embedding=66",
                "t_embedding=67"
            ]
        );
    }

    #[test]
    fn dense_and_numeric() {
        let data = table(
            &["d", "x", "y"],
            vec![
                vec![s("1;2;3;4"), s("5"), i(0)],
                vec![s("0.5;1;1;2"), s(""), i(1)],
                vec![null(), s("-1e3"), i(0)],
            ],
        );
        let p = plan_of(&data, "DENSE(d, [2, 2], \";\"), NUMERIC(x)", false);
        assert_eq!(p.describe(), "DENSE(d, 4, \";\"), NUMERIC(x)");
        assert_eq!(
            inputs(&p, &data),
            [
                (
                    "d_0".to_string(),
                    vec!["1".into(), "0.5".into(), "NULL".into()]
                ),
                (
                    "d_1".to_string(),
                    vec!["2".into(), "1".into(), "NULL".into()]
                ),
                (
                    "d_2".to_string(),
                    vec!["3".into(), "1".into(), "NULL".into()]
                ),
                (
                    "d_3".to_string(),
                    vec!["4".into(), "2".into(), "NULL".into()]
                ),
                (
                    "x".to_string(),
                    vec!["5".into(), "NULL".into(), "-1000".into()]
                ),
            ]
        );
        let e = plan_err(&data, "DENSE(d, 3, \";\")");
        assert_eq!(e, "DENSE(d, 3, \";\"): row 1 has 4 values, expected 3");
        let e = plan_err(&data, "DENSE(d, 4, \";\", int)");
        assert_eq!(
            e,
            "DENSE(d, 4, \";\", int): value 0.5 in row 2 is not a whole number (DTYPE int)"
        );
        let words = table(&["g", "y"], vec![vec![s("Male"), i(0)]]);
        let e = plan_err(&words, "NUMERIC(g)");
        assert_eq!(e, "NUMERIC(g): row 1 holds 'Male', which is not a number");
        // At prediction, a value that is not a number is an error naming the column.
        let p = plan_of(&data, "NUMERIC(x)", false);
        let e = p
            .transform(&table(&["x"], vec![vec![s("abc")]]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "NUMERIC(x): row 1 holds 'abc', which is not a number");
    }

    #[test]
    fn sparse_indices_and_weighted_pairs() {
        let data = table(
            &["s", "w", "y"],
            vec![
                vec![s("3,5,7"), s("0:0.2,1:0.3,4:0.8"), i(0)],
                vec![s("5"), s("4:1.5"), i(1)],
            ],
        );
        let p = plan_of(&data, "SPARSE(s, 10)", false);
        assert_eq!(
            inputs(&p, &data),
            [
                ("s=3".to_string(), vec!["1".into(), "0".into()]),
                ("s=5".to_string(), vec!["1".into(), "1".into()]),
                ("s=7".to_string(), vec!["1".into(), "0".into()]),
            ]
        );
        let e = plan_err(&data, "SPARSE(s, 6)");
        assert_eq!(e, "SPARSE(s, 6): value 7 in row 1 is outside 0..6");
        let p = plan_of(
            &data,
            "WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(w, 10, \",\", int, \":\", float), 10))",
            false,
        );
        assert_eq!(
            inputs(&p, &data),
            [
                ("w_weighted=0".to_string(), vec!["0.2".into(), "0".into()]),
                ("w_weighted=1".to_string(), vec!["0.3".into(), "0".into()]),
                ("w_weighted=4".to_string(), vec!["0.8".into(), "1.5".into()]),
            ]
        );
        let e = plan_err(&data, "WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(s, 10), 10))");
        assert!(e.contains("column s holds no key:value pairs"), "{e}");
        let e = plan_err(&table(&["w"], vec![vec![s("4:x")]]), "SPARSE(w, 10)");
        assert_eq!(
            e,
            "SPARSE(w, 10): the value of '4:x' in row 1 is not a number"
        );
    }

    #[test]
    fn hash_bucket_and_cross() {
        let data = table(
            &["id", "x", "z", "y"],
            vec![
                vec![s("7590-VHVEG"), f(0.5), s("a"), i(0)],
                vec![s("5575-GNVDE"), f(1.5), s("b"), i(1)],
                vec![s("7590-VHVEG"), f(3.0), null(), i(1)],
                vec![null(), f(-2.0), s("a"), i(0)],
            ],
        );
        let p = plan_of(
            &data,
            "CATEGORY_HASH(id, 1000), BUCKET(x, [0, 1, 2]), CROSS([BUCKET(x, [1]), z], 50)",
            false,
        );
        let got = inputs(&p, &data);
        assert_eq!(got[0].0, "id");
        // Stable: the same text always lands in the same bucket.
        let h = |t: &str| format!("'{:03}'", fnv1a(&[t]) % 1000);
        assert_eq!(
            got[0].1,
            [
                h("7590-VHVEG"),
                h("5575-GNVDE"),
                h("7590-VHVEG"),
                "NULL".into()
            ]
        );
        assert_eq!(got[1].0, "x_bucketized");
        assert_eq!(got[1].1, ["'1'", "'2'", "'3'", "'0'"]);
        assert_eq!(got[2].0, "x_bucketized_X_z");
        let c = |b: &str, z: &str| format!("'{:02}'", fnv1a(&[b, z]) % 50);
        assert_eq!(
            got[2].1,
            [c("0", "a"), c("1", "b"), "NULL".into(), c("0", "a")]
        );
        let e = plan_err(&data, "BUCKET(id, [1])");
        assert_eq!(
            e,
            "BUCKET(id, [1]): row 1 holds '7590-VHVEG', which is not a number"
        );
        let e = plan_err(&data, "INDICATOR(x)");
        assert!(e.contains("holds numbers that are not whole"), "{e}");
    }

    #[test]
    fn groups_share_columns_and_names_stay_unique() {
        let data = table(
            &["a", "b", "y"],
            vec![vec![i(1), s("p"), i(0)], vec![i(2), s("q"), i(1)]],
        );
        let p = plan_of(
            &data,
            "a, INDICATOR(b) FOR linear_feature_columns COLUMN a, EMBEDDING(b, 2) FOR dnn_feature_columns",
            true,
        );
        assert_eq!(p.columns.len(), 3, "a appears once");
        assert_eq!(
            p.model_groups(),
            [
                (
                    "linear_feature_columns".to_string(),
                    vec![
                        "a".to_string(),
                        "b_indicator=p".into(),
                        "b_indicator=q".into()
                    ]
                ),
                (
                    "dnn_feature_columns".to_string(),
                    vec!["a".to_string(), "b_embedding".into()]
                ),
            ]
        );
        assert_eq!(
            p.describe(),
            "linear_feature_columns: NUMERIC(a), INDICATOR(CATEGORY_ID(b, 2)); \
             dnn_feature_columns: NUMERIC(a), EMBEDDING(CATEGORY_ID(b, 2), 2, sum)"
        );
        let p = plan_of(&data, "a, NUMERIC(DENSE(a, 1))", false);
        assert_eq!(names(&p, &data), ["a", "a_2"]);
        // USING keeps the old feature columns; other COLUMN clauses are an error.
        assert!(
            p.check_same_clauses(&clauses("a, NUMERIC(DENSE(a, 1))"))
                .is_ok()
        );
        assert!(p.check_same_clauses(&[]).is_ok());
        let e = p.check_same_clauses(&clauses("a")).unwrap_err().to_string();
        assert!(e.contains("USING continues a model"), "{e}");
    }

    #[test]
    fn plans_survive_serialization_and_describe_as_sql_that_parses() {
        let data = table(
            &["t", "w", "g", "x", "y"],
            vec![
                vec![s("1,2"), s("0:1 2:3"), s("u"), f(0.5), i(0)],
                vec![s("3"), s("1:2"), s("v"), f(2.0), i(1)],
            ],
        );
        let items = "EMBEDDING(CATEGORY_ID(t, 5), 3), INDICATOR(CATEGORY_HASH(g, 4)), w, \
                     CROSS([g, BUCKET(x, [1])], 7), BUCKET(DENSE(t, 2), [2])";
        let e = plan_err(&data, items);
        assert!(e.contains("row 2 has 1 values, expected 2"), "{e}");
        let items = "EMBEDDING(CATEGORY_ID(t, 5), 3), INDICATOR(CATEGORY_HASH(g, 4)), w, \
                     CROSS([g, BUCKET(x, [1])], 7), EMBEDDING(SPARSE(w, 3), 2, sqrtn)";
        let p = plan_of(&data, items, true);
        let json = serde_json::to_string(&p).unwrap();
        let back: FeaturePlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        assert_eq!(inputs(&back, &data), inputs(&p, &data));
        // Each column's text is SQL that plans the same transform again.
        for c in &p.columns {
            let again = plan_of(&data, &c.text, true);
            assert_eq!(again.columns[0].text, c.text);
            let one = FeaturePlan {
                columns: vec![c.clone()],
                groups: Vec::new(),
                written: Vec::new(),
            };
            assert_eq!(inputs(&again, &data), inputs(&one, &data), "{}", c.text);
        }
    }
}
