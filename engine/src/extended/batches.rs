//! A query's rows a batch at a time, for the statements that stream (PREDICT,
//! EVALUATE): memory is bounded by the batch whatever the row count.

use std::io;

use crate::{
    Value,
    backend::{Backend, Collected, Column, RowSink, query_into},
    exec::EngineError,
    output::OutputError,
};

/// Rows handed over at a time: large enough that a model's per-call work (threads,
/// buffers) is spread thin, small enough that a batch of wide rows stays a few MiB.
pub(super) const BATCH_ROWS: usize = 8192;

/// Runs `select` and calls `f(batch, first)` for each batch of its rows, `first` being
/// the 1-based number of the batch's first row in the result. Returns the result's
/// columns (known even when it has no rows).
pub(super) fn for_each_batch(
    db: &mut dyn Backend,
    select: &str,
    f: impl FnMut(Collected, u64) -> Result<(), EngineError>,
) -> Result<Vec<Column>, EngineError> {
    let mut sink = Batches {
        columns: Vec::new(),
        batch: Vec::with_capacity(BATCH_ROWS),
        first: 1,
        f,
        failed: None,
    };
    let read = query_into(db, select, &mut sink);
    if let Some(e) = sink.failed.take() {
        return Err(e);
    }
    read?;
    sink.flush()?;
    Ok(sink.columns)
}

/// A model's complaint about a row names it within its batch: says where the batch
/// starts when it is not the first.
pub(super) fn placed(first: u64) -> impl Fn(EngineError) -> EngineError {
    move |e| {
        if first == 1 {
            e
        } else {
            format!("{e} (rows counted from row {first} of the query's result)").into()
        }
    }
}

struct Batches<F> {
    columns: Vec<Column>,
    batch: Vec<Vec<Value>>,
    /// The number of the batch's first row.
    first: u64,
    f: F,
    /// Why the sink stopped the query: the statement's own error, not the database's.
    failed: Option<EngineError>,
}

impl<F: FnMut(Collected, u64) -> Result<(), EngineError>> Batches<F> {
    fn flush(&mut self) -> Result<(), EngineError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        let n = rows.len() as u64;
        let data = Collected {
            columns: self.columns.clone(),
            rows,
        };
        (self.f)(data, self.first)?;
        self.first += n;
        Ok(())
    }
}

impl<F: FnMut(Collected, u64) -> Result<(), EngineError>> RowSink for Batches<F> {
    fn head(&mut self, columns: &[Column]) -> Result<(), OutputError> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, values: Vec<Value>) -> Result<(), OutputError> {
        self.batch.push(values);
        if self.batch.len() < BATCH_ROWS {
            return Ok(());
        }
        self.flush().map_err(|e| {
            self.failed = Some(e);
            // Stops the query; the statement fails with `failed`, not this.
            OutputError::Io(io::Error::other("stopped by the statement"))
        })
    }
}
