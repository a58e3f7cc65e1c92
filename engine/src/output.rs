//! Writes the step's record stream: one record per line, buffered, flushed often enough
//! that a client following a long statement sees its progress.

use std::{
    io::{self, Write},
    time::{Duration, Instant},
};

use sqlflow_proto::{
    sqlflow::{EndOfExecution, Figure, Head, Message, Response, Row, message, response},
    step::{Failure, Record, StatementStart, record},
    stream::encode_record,
};

use crate::{
    Value,
    backend::{Column, RowSink},
};

/// Flush at least this often while rows stream, so progress is visible.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// And whenever this much is buffered.
const FLUSH_BYTES: usize = 256 * 1024;

/// The largest record line a step writes unless told otherwise: a runner reads a page
/// of output into memory and a client decodes a reply of at most 4 MiB, so one row must
/// fit well inside both.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Why the record stream refused a write.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("output limit exceeded: the job may write at most {limit} bytes of results")]
    LimitExceeded { limit: u64 },
    #[error(
        "a {what} of {size} bytes is larger than the largest record a job may write \
         ({limit} bytes); select fewer or shorter values (substr(), a LIMIT on the text)"
    )]
    RecordTooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("cannot write results: {0}")]
    Io(#[from] io::Error),
}

impl OutputError {
    /// The write failed because the disk is full.
    pub fn is_no_space(&self) -> bool {
        matches!(self, OutputError::Io(e) if e.kind() == io::ErrorKind::StorageFull)
    }
}

pub struct RecordWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    last_flush: Instant,
    written: u64,
    /// 0 = unlimited.
    limit: u64,
    max_record: usize,
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
            max_record: DEFAULT_MAX_RECORD_BYTES,
        }
    }

    /// Refuses any single record line longer than `bytes` (a minimum of 4 KiB holds).
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record = bytes.max(4096);
        self
    }

    pub fn record(&mut self, rec: &Record) -> Result<(), OutputError> {
        let before = self.buf.len();
        encode_record(rec, &mut self.buf);
        let added = self.buf.len() - before;
        if added > self.max_record
            && let Some(what) = bounded_noun(rec)
        {
            self.buf.truncate(before);
            return Err(OutputError::RecordTooLarge {
                what,
                size: added,
                limit: self.max_record,
            });
        }
        let added = added as u64;
        if self.limit > 0 && self.written + added > self.limit {
            self.buf.truncate(before);
            return Err(OutputError::LimitExceeded { limit: self.limit });
        }
        self.written += added;
        if self.buf.len() >= FLUSH_BYTES || self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    pub fn response(&mut self, r: response::Response) -> Result<(), OutputError> {
        self.record(&Record {
            record: Some(record::Record::Response(Response { response: Some(r) })),
        })
    }

    pub fn message(
        &mut self,
        text: impl Into<String>,
        kind: message::Kind,
    ) -> Result<(), OutputError> {
        self.response(response::Response::Message(Message {
            message: text.into(),
            kind: kind as i32,
        }))
    }

    /// Sends a picture of the statement's result. A picture is never the result itself:
    /// one that does not fit a record (`limits.record_kb`) or the job's output limit is
    /// left out with a note in the log instead of failing the statement.
    pub fn figure(
        &mut self,
        title: &str,
        mime_type: &str,
        data: Vec<u8>,
    ) -> Result<(), OutputError> {
        let size = data.len();
        let sent = self.response(response::Response::Figure(Figure {
            title: title.to_string(),
            mime_type: mime_type.to_string(),
            data,
        }));
        match sent {
            Err(OutputError::RecordTooLarge { limit, .. }) => self.message(
                format!(
                    "note: the {title} figure is left out: its {size} bytes are more than the \
                     largest record the job may write ({limit} bytes, limits.record_kb)"
                ),
                message::Kind::Log,
            ),
            Err(OutputError::LimitExceeded { limit }) => self.message(
                format!(
                    "note: the {title} figure is left out: its {size} bytes would pass the \
                     job's output limit ({limit} bytes)"
                ),
                message::Kind::Log,
            ),
            other => other,
        }
    }

    pub fn start(
        &mut self,
        index: usize,
        count: usize,
        statement: &str,
    ) -> Result<(), OutputError> {
        self.record(&Record {
            record: Some(record::Record::Start(StatementStart {
                statement_index: index as u32,
                statement_count: count as u32,
                statement: statement.to_string(),
            })),
        })
    }

    pub fn eoe(
        &mut self,
        index: usize,
        statement: &str,
        spent: Duration,
    ) -> Result<(), OutputError> {
        self.response(response::Response::Eoe(EndOfExecution {
            sql: statement.to_string(),
            spent_time_seconds: spent.as_secs() as i64,
            spent_time_micros: spent.as_micros() as u64,
            statement_index: index as u32,
        }))?;
        self.flush()
    }

    /// The failure record: its error text is cut to fit a record, since it may quote a
    /// database's error about a huge value.
    pub fn failure(&mut self, mut failure: Failure) -> Result<(), OutputError> {
        let room = self.max_record / 2;
        for text in [&mut failure.error, &mut failure.statement] {
            if text.len() > room {
                let mut end = room;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
                text.push_str("… (truncated)");
            }
        }
        self.record(&Record {
            record: Some(record::Record::Failure(failure)),
        })?;
        self.flush()
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
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

/// What a record that the limit applies to is called. Records that quote a statement
/// (its start and end) are exempt: the server's `max_program_bytes` bounds them, and a
/// long INSERT must not fail for its own length.
fn bounded_noun(rec: &Record) -> Option<&'static str> {
    match &rec.record {
        Some(record::Record::Response(Response {
            response: Some(r), ..
        })) => match r {
            response::Response::Head(_) => Some("result header"),
            response::Response::Row(_) => Some("row"),
            response::Response::Message(_) => Some("message"),
            response::Response::Figure(_) => Some("figure"),
            response::Response::Eoe(_) => None,
        },
        Some(record::Record::Start(_)) => None,
        _ => Some("record"),
    }
}

impl<W: Write> RecordWriter<W> {
    /// Shows a table a statement saved: its columns, at most `limit` of its rows, and
    /// when some were left out, a log line saying how many there are and where.
    pub fn saved_rows(
        &mut self,
        names: &[String],
        rows: Vec<Vec<Value>>,
        limit: usize,
        table: &dyn std::fmt::Display,
    ) -> Result<(), OutputError> {
        let head: Vec<Column> = names
            .iter()
            .map(|n| Column {
                name: n.clone(),
                decl_type: String::new(),
            })
            .collect();
        self.head(&head)?;
        let total = rows.len();
        for r in rows.into_iter().take(limit) {
            self.row(r)?;
        }
        if total > limit {
            self.message(
                format!("showing {limit} of {total} rows; all are in {table}"),
                message::Kind::Log,
            )?;
        }
        Ok(())
    }
}

impl<W: Write> RowSink for RecordWriter<W> {
    fn head(&mut self, columns: &[Column]) -> Result<(), OutputError> {
        self.response(response::Response::Head(Head {
            column_names: columns.iter().map(|c| c.name.clone()).collect(),
            column_types: columns.iter().map(|c| c.decl_type.clone()).collect(),
        }))
    }

    fn row(&mut self, values: Vec<Value>) -> Result<(), OutputError> {
        self.response(response::Response::Row(Row {
            cells: values
                .into_iter()
                .map(|v| sqlflow_proto::sqlflow::Cell { value: Some(v) })
                .collect(),
        }))
    }
}
