//! Applying a plan: from a query's rows to the models' input columns, checking each
//! row against what training saw.

use sqlflow_models::{Column as ModelColumn, EmbeddingSpec, Feature};
use sqlflow_sql::extended::ColumnClause;

use super::table::{Rows, Table};
use super::{
    cells::{Cell, column_index, fnv1a, number_text, parse_number, pieces},
    plan::{CrossKey, FeaturePlan, Form, Ids, Layout, Numeric, Planned, Read, Source, Spec},
};
use crate::exec::EngineError;

/// A missing row of a CROSS key's values.
static NO_VALUES: Vec<String> = Vec::new();
/// Combinations one row of a `CROSS` may produce.
const MAX_CROSS_PER_ROW: usize = 1_000;

impl Source {
    pub(super) fn cells<'a>(&self, data: &'a dyn Rows) -> Result<Vec<Cell<'a>>, EngineError> {
        let i = column_index(data, &self.field)?;
        (0..data.len())
            .map(|r| data.cell(i, r, &self.field))
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
    pub(super) fn rows(&self, data: &dyn Rows) -> Result<Vec<Vec<(u64, f64)>>, EngineError> {
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
                let n = data.len();
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
    pub(super) fn label(&self, id: u64) -> String {
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
        data: &dyn Rows,
        outputs: &[String],
    ) -> Result<Vec<ModelColumn>, EngineError> {
        if self.len == 1
            && self.source.read == Read::Whole
            && !self.int_only
            && let Some((x, valid)) = data.numbers(column_index(data, &self.source.field)?)
        {
            let name = outputs.first().cloned().unwrap_or_default();
            return Ok(vec![ModelColumn::from_numbers(
                name,
                x.to_vec(),
                valid.to_vec(),
            )]);
        }
        let cells = self.source.cells(data)?;
        // (numbers, which rows hold one) per output.
        let mut cols: Vec<(Vec<f64>, Vec<bool>)> = vec![
            (
                Vec::with_capacity(cells.len()),
                Vec::with_capacity(cells.len())
            );
            self.len
        ];
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
                col.0.push(v.unwrap_or(0.0));
                col.1.push(v.is_some());
            }
        }
        Ok(outputs
            .iter()
            .zip(cols)
            .map(|(name, (x, valid))| ModelColumn::from_numbers(name.clone(), x, valid))
            .collect())
    }
}

impl Planned {
    fn columns(&self, data: &dyn Rows) -> Result<Vec<ModelColumn>, EngineError> {
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
                        let mut cols: Vec<Vec<f64>> = vec![vec![0.0; rows.len()]; seen.len()];
                        for (r, ids) in rows.iter().enumerate() {
                            for (id, w) in ids {
                                // Ids never seen in training have no input: they carry
                                // nothing the model learned.
                                if let Ok(i) = seen.binary_search(id)
                                    && let Some(v) = cols.get_mut(i).and_then(|c| c.get_mut(r))
                                {
                                    *v += w;
                                }
                            }
                        }
                        Ok(self
                            .outputs
                            .iter()
                            .zip(cols)
                            .map(|(name, x)| {
                                let valid = vec![true; x.len()];
                                ModelColumn::from_numbers(name.clone(), x, valid)
                            })
                            .collect())
                    }
                }
            }
        }
    }
}

impl Ids {
    fn sources<'a>(&'a self, out: &mut Vec<&'a Source>) {
        match self {
            Ids::Identity { source, .. }
            | Ids::Vocabulary { source, .. }
            | Ids::Hash { source, .. }
            | Ids::Bucket { source, .. } => out.push(source),
            Ids::Cross { keys, .. } => {
                for k in keys {
                    match k {
                        CrossKey::Raw(s) => out.push(s),
                        CrossKey::Ids(ids) => ids.sources(out),
                    }
                }
            }
        }
    }
}

impl Planned {
    /// The query columns it reads.
    fn sources(&self) -> Vec<&Source> {
        let mut out = Vec::new();
        match &self.spec {
            Spec::Numeric(n) => out.push(&n.source),
            Spec::Ids { ids, .. } => ids.sources(&mut out),
        }
        out
    }
}

impl FeaturePlan {
    /// [`transform`](Self::transform) of TRAIN's whole result: a column of numbers that
    /// one feature column reads as it is (and `keep` is not) moves out of `table` into
    /// the model's input rather than being copied, so the training set is held once.
    /// `table` then reads that column as NULLs.
    pub(crate) fn transform_table(
        &self,
        table: &mut Table,
        keep: Option<usize>,
    ) -> Result<Vec<ModelColumn>, EngineError> {
        let mut uses = vec![0usize; table.columns().len()];
        for p in &self.columns {
            for s in p.sources() {
                if let Ok(i) = column_index(table, &s.field)
                    && let Some(n) = uses.get_mut(i)
                {
                    *n += 1;
                }
            }
        }
        let mut out = Vec::new();
        for p in &self.columns {
            if let Spec::Numeric(n) = &p.spec
                && n.len == 1
                && n.source.read == Read::Whole
                && !n.int_only
                && let Ok(i) = column_index(table, &n.source.field)
                && uses.get(i) == Some(&1)
                && keep != Some(i)
                && let Some((x, valid)) = table.take_numbers(i)
            {
                let name = p.outputs.first().cloned().unwrap_or_default();
                out.push(ModelColumn::from_numbers(name, x, valid));
                continue;
            }
            out.extend(p.columns(table)?);
        }
        Ok(out)
    }

    /// The model's input columns for `data` (the query's rows).
    pub fn transform(&self, data: &dyn Rows) -> Result<Vec<ModelColumn>, EngineError> {
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
