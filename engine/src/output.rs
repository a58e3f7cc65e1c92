//! Writes the step's record stream: one record per line, buffered, flushed often enough
//! that a client following a long statement sees its progress.

use std::{
    io::{self, Write},
    time::{Duration, Instant},
};

use sqlflow_proto::{
    sqlflow::{EndOfExecution, Head, Message, Response, Row, message, response},
    step::{Failure, Record, StatementStart, record},
    stream::encode_record,
};

use crate::{
    Value,
    backend::{Column, RowSink, SinkError},
};

/// Flush at least this often while rows stream, so progress is visible.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// And whenever this much is buffered.
const FLUSH_BYTES: usize = 256 * 1024;

/// The error text for a failed write of the record stream.
pub(crate) fn write_error(e: io::Error) -> String {
    format!("cannot write results: {e}")
}

pub struct RecordWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    last_flush: Instant,
    written: u64,
    /// 0 = unlimited.
    limit: u64,
}

impl<W: Write> RecordWriter<W> {
    pub fn new(out: W) -> Self {
        Self::with_limit(out, 0)
    }

    /// A writer that refuses to write more than `limit` bytes in all (0 = no limit).
    pub fn with_limit(out: W, limit: u64) -> Self {
        Self {
            out,
            buf: Vec::with_capacity(FLUSH_BYTES + 4096),
            last_flush: Instant::now(),
            written: 0,
            limit,
        }
    }

    pub fn record(&mut self, rec: &Record) -> io::Result<()> {
        let before = self.buf.len();
        encode_record(rec, &mut self.buf);
        let added = (self.buf.len() - before) as u64;
        if self.limit > 0 && self.written + added > self.limit {
            self.buf.truncate(before);
            return Err(io::Error::other(format!(
                "output limit exceeded: the job may write at most {} bytes of results",
                self.limit
            )));
        }
        self.written += added;
        if self.buf.len() >= FLUSH_BYTES || self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    pub fn response(&mut self, r: response::Response) -> io::Result<()> {
        self.record(&Record {
            record: Some(record::Record::Response(Response { response: Some(r) })),
        })
    }

    pub fn message(&mut self, text: impl Into<String>, kind: message::Kind) -> io::Result<()> {
        self.response(response::Response::Message(Message {
            message: text.into(),
            kind: kind as i32,
        }))
    }

    pub fn start(&mut self, index: usize, count: usize, statement: &str) -> io::Result<()> {
        self.record(&Record {
            record: Some(record::Record::Start(StatementStart {
                statement_index: index as u32,
                statement_count: count as u32,
                statement: statement.to_string(),
            })),
        })
    }

    pub fn eoe(&mut self, index: usize, statement: &str, spent: Duration) -> io::Result<()> {
        self.response(response::Response::Eoe(EndOfExecution {
            sql: statement.to_string(),
            spent_time_seconds: spent.as_secs() as i64,
            spent_time_micros: spent.as_micros() as u64,
            statement_index: index as u32,
        }))?;
        self.flush()
    }

    pub fn failure(&mut self, failure: Failure) -> io::Result<()> {
        self.record(&Record {
            record: Some(record::Record::Failure(failure)),
        })?;
        self.flush()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()?;
        self.last_flush = Instant::now();
        Ok(())
    }

    pub fn bytes_written(&self) -> u64 {
        self.written
    }
}

impl<W: Write> RowSink for RecordWriter<W> {
    fn head(&mut self, columns: &[Column]) -> Result<(), SinkError> {
        self.response(response::Response::Head(Head {
            column_names: columns.iter().map(|c| c.name.clone()).collect(),
            column_types: columns.iter().map(|c| c.decl_type.clone()).collect(),
        }))
        .map_err(|e| SinkError(e.to_string()))
    }

    fn row(&mut self, values: Vec<Value>) -> Result<(), SinkError> {
        self.response(response::Response::Row(Row {
            cells: values
                .into_iter()
                .map(|v| sqlflow_proto::sqlflow::Cell { value: Some(v) })
                .collect(),
        }))
        .map_err(|e| SinkError(e.to_string()))
    }
}
