//! Trained models live in the database itself, so a step on another machine (an Argo
//! step) can load what an earlier step trained. `INTO db.m` creates table `m` in schema
//! `db` with rows `(id, kind, content)`: row 0 is the metadata (JSON), rows 1.. are the
//! serialized model in chunks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlflow_models::TrainedModel;

use crate::{
    Value,
    backend::{Backend, ColumnType, DbError, TableName, query_all},
    feature_columns::FeaturePlan,
};

/// The model table layout version; a newer one is refused with a clear error. Format 2
/// added `feature_columns`: an engine that ignored them would feed a model the wrong
/// inputs, so it must refuse such a model instead.
pub const STORE_FORMAT: u32 = 2;
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks per INSERT statement (keeps statements under MySQL's default packet limit).
const CHUNKS_PER_INSERT: usize = 4;

/// What is kept with a model besides its parameters (those are in the model bytes,
/// with the feature encodings and classes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub store_format: u32,
    pub engine_version: String,
    /// The TO TRAIN statement as the user wrote it.
    pub statement: String,
    pub estimator: String,
    /// Attributes in effect, defaults included, as SQL-like text.
    pub attributes: BTreeMap<String, String>,
    pub features: Vec<String>,
    pub label: Option<String>,
    /// Metrics on `validation.select`, if given.
    pub metrics: Vec<(String, f64)>,
    /// How the model's inputs are made from a query's columns; `None` for models saved
    /// in format 1, which take the query's columns as they are.
    #[serde(default)]
    pub feature_columns: Option<FeaturePlan>,
    pub trained_rows: u64,
    pub created_at_ms: u64,
    pub chunks: u32,
    pub model_bytes: u64,
}

pub struct Stored {
    pub meta: ModelMeta,
    pub model: TrainedModel,
}

fn columns() -> [(String, ColumnType); 3] {
    [
        ("id".into(), ColumnType::Int),
        ("kind".into(), ColumnType::Text),
        ("content".into(), ColumnType::Bytes),
    ]
}

pub fn save(
    db: &mut dyn Backend,
    table: &TableName,
    meta: &ModelMeta,
    model: &TrainedModel,
) -> Result<(), String> {
    let bytes = model
        .to_bytes()
        .map_err(|e| format!("cannot serialize the model: {e}"))?;
    let chunks: Vec<&[u8]> = bytes.chunks(CHUNK_BYTES).collect();
    let mut meta = meta.clone();
    meta.chunks = chunks.len() as u32;
    meta.model_bytes = bytes.len() as u64;
    let meta_json =
        serde_json::to_vec(&meta).map_err(|e| format!("cannot encode the model metadata: {e}"))?;
    let cols = columns();
    let fail = |e: DbError| format!("cannot save the model into {table}: {e}");
    db.create_table(table, &cols).map_err(fail)?;
    let mut rows = vec![vec![
        Value::Int64(0),
        Value::String("meta".into()),
        Value::Bytes(meta_json),
    ]];
    for (i, c) in chunks.iter().enumerate() {
        rows.push(vec![
            Value::Int64(i as i64 + 1),
            Value::String("model".into()),
            Value::Bytes(c.to_vec()),
        ]);
    }
    for batch in rows.chunks(CHUNKS_PER_INSERT) {
        db.insert_rows(table, &cols, batch).map_err(fail)?;
    }
    Ok(())
}

fn read_rows(
    db: &mut dyn Backend,
    table: &TableName,
    only_meta: bool,
) -> Result<Vec<(i64, Vec<u8>)>, String> {
    let d = db.dialect();
    let filter = if only_meta { " WHERE id = 0" } else { "" };
    let sql = format!(
        "SELECT id, content FROM {}{filter} ORDER BY id",
        table.quoted(d)
    );
    let got = query_all(db, &sql).map_err(|e| {
        format!(
            "cannot load model {table}: {e} (train one first with \
             ... TO TRAIN <estimator> ... INTO {table})"
        )
    })?;
    got.rows
        .into_iter()
        .map(|r| match <[Value; 2]>::try_from(r) {
            Ok([Value::Int64(id), Value::Bytes(b)]) => Ok((id, b)),
            _ => Err(format!(
                "{table} is not a model table (unexpected row layout)"
            )),
        })
        .collect()
}

fn parse_meta(table: &TableName, rows: &[(i64, Vec<u8>)]) -> Result<ModelMeta, String> {
    let meta_bytes = rows
        .iter()
        .find(|(id, _)| *id == 0)
        .map(|(_, b)| b)
        .ok_or_else(|| format!("{table} is not a model table: it has no metadata row"))?;
    #[derive(Deserialize)]
    struct Version {
        store_format: u32,
        #[serde(default)]
        engine_version: String,
    }
    let v: Version = serde_json::from_slice(meta_bytes)
        .map_err(|e| format!("{table} has unreadable model metadata: {e}"))?;
    if v.store_format > STORE_FORMAT {
        return Err(format!(
            "model {table} was saved by sqlflow engine {} in model table format {}; this \
             engine ({}) reads up to format {STORE_FORMAT}: upgrade the server or retrain the model",
            v.engine_version,
            v.store_format,
            env!("CARGO_PKG_VERSION")
        ));
    }
    serde_json::from_slice(meta_bytes)
        .map_err(|e| format!("{table} has unreadable model metadata: {e}"))
}

/// The metadata only (SHOW TRAIN).
pub fn load_meta(db: &mut dyn Backend, table: &TableName) -> Result<ModelMeta, String> {
    let rows = read_rows(db, table, true)?;
    parse_meta(table, &rows)
}

pub fn load(db: &mut dyn Backend, table: &TableName) -> Result<Stored, String> {
    let rows = read_rows(db, table, false)?;
    let meta = parse_meta(table, &rows)?;
    let chunks: Vec<&Vec<u8>> = rows
        .iter()
        .filter(|(id, _)| *id > 0)
        .map(|(_, b)| b)
        .collect();
    if chunks.len() != meta.chunks as usize {
        return Err(format!(
            "model {table} is incomplete ({} of {} parts): it was not saved completely; retrain it",
            chunks.len(),
            meta.chunks
        ));
    }
    let bytes: Vec<u8> = chunks.into_iter().flatten().copied().collect();
    let model =
        TrainedModel::from_bytes(&bytes).map_err(|e| format!("cannot load model {table}: {e}"))?;
    Ok(Stored { meta, model })
}
