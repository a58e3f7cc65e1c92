//! Runs a SQL program statement by statement, writing the record stream.

use std::{fmt, io::Write, time::Instant};

use sqlflow_proto::{sqlflow::message::Kind, step::Failure};

use crate::{
    Datasource,
    backend::{self, DbError, Outcome},
    output::RecordWriter,
    split::split,
};

/// Why a program stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFailure {
    /// 0-based; `None` when the program failed before any statement ran.
    pub statement_index: Option<usize>,
    pub statement_count: usize,
    pub statement: String,
    pub error: String,
}

/// Statements longer than this are shortened in status messages.
const MESSAGE_STATEMENT_CHARS: usize = 160;

impl fmt::Display for ProgramFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.statement_index {
            None => f.write_str(&self.error),
            Some(i) => {
                let one_line = self
                    .statement
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let shown: String = one_line.chars().take(MESSAGE_STATEMENT_CHARS).collect();
                let ellipsis = if shown.len() < one_line.len() {
                    "..."
                } else {
                    ""
                };
                write!(
                    f,
                    "statement {} of {} failed: {}\n  in: {shown}{ellipsis}",
                    i + 1,
                    self.statement_count,
                    self.error
                )
            }
        }
    }
}

/// Where a program's statements sit in the whole job: an Argo step runs one statement of
/// a longer program and reports it under its place in that program.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// The job-wide index of the program's first statement.
    pub first_index: usize,
    /// Statements in the whole job (default: this program's).
    pub total: Option<usize>,
}

/// Runs `program` against `datasource`, stopping at the first failing statement.
/// Everything the client should see goes to `out`; the failure is also returned.
pub fn run_program<W: Write>(
    program: &str,
    datasource: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), ProgramFailure> {
    run_program_at(program, datasource, out, Position::default())
}

/// [`run_program`] for a program that is part of a longer job.
pub fn run_program_at<W: Write>(
    program: &str,
    datasource: &str,
    out: &mut RecordWriter<W>,
    at: Position,
) -> Result<(), ProgramFailure> {
    let fail_early = |error: String| ProgramFailure {
        statement_index: None,
        statement_count: 0,
        statement: String::new(),
        error,
    };
    let ds = Datasource::parse(datasource).map_err(|e| fail_early(e.to_string()))?;
    let statements = split(program, ds.dialect()).map_err(|e| fail_early(e.to_string()))?;
    if statements.is_empty() {
        return Err(fail_early(
            "the program has no statements: give at least one SQL statement".into(),
        ));
    }
    let count = at.total.unwrap_or(at.first_index + statements.len());
    let mut db = backend::open(&ds).map_err(|e| fail_early(e.to_string()))?;
    for (local, stmt) in statements.iter().enumerate() {
        let i = at.first_index + local;
        let fail = |error: String| ProgramFailure {
            statement_index: Some(i),
            statement_count: count,
            statement: stmt.text.clone(),
            error,
        };
        let io_fail = |e: std::io::Error| fail(format!("cannot write results: {e}"));
        out.start(i, count, &stmt.text).map_err(io_fail)?;
        let started = Instant::now();
        match db.execute(&stmt.text, out) {
            Ok(Outcome::Rows(_)) => {}
            Ok(Outcome::Affected(Some(n))) => {
                let noun = if n == 1 { "row" } else { "rows" };
                out.message(format!("{n} {noun} affected"), Kind::Log)
                    .map_err(io_fail)?;
            }
            Ok(Outcome::Affected(None)) => out.message("OK", Kind::Log).map_err(io_fail)?,
            Err(e) => {
                let failure = fail(match e {
                    DbError::Sink(s) => s.0,
                    other => other.to_string(),
                });
                // Best effort: the stream may be what failed.
                let _ = out.failure(Failure {
                    statement_index: i as u32,
                    statement: stmt.text.clone(),
                    error: failure.error.clone(),
                });
                return Err(failure);
            }
        }
        out.eoe(i, &stmt.text, started.elapsed()).map_err(io_fail)?;
    }
    out.flush()
        .map_err(|e| fail_early(format!("cannot write results: {e}")))
}
