//! Runs a SQL program statement by statement, writing the record stream.

use std::{fmt, io::Write, time::Instant};

use sqlflow_proto::{sqlflow::message::Kind, step::Failure};

use sqlflow_sql::{Parsed, parse_statement};

use crate::{
    Datasource,
    backend::{self, DbError, Outcome},
    datasource::DatasourceError,
    extended,
    output::{OutputError, RecordWriter},
    split::split,
};

/// Why a statement (or the program's setup) failed: the engine's one error type, so the
/// step can tell a limit from a database's complaint without reading the text.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Datasource(#[from] DatasourceError),
    #[error(transparent)]
    Split(#[from] sqlflow_sql::SplitError),
    #[error(transparent)]
    Parse(#[from] sqlflow_sql::ParseError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Output(#[from] OutputError),
    /// An extended statement's own complaint: an attribute, a column, a model.
    #[error("{0}")]
    Statement(String),
    /// SQLFlow grammar that parses but does not run here yet (`TO RUN`):
    /// a failed statement of its own, not the database's syntax error it used to be.
    #[error("{0} is not supported yet")]
    Unsupported(&'static str),
}

impl From<String> for EngineError {
    fn from(s: String) -> Self {
        EngineError::Statement(s)
    }
}

impl From<&str> for EngineError {
    fn from(s: &str) -> Self {
        EngineError::Statement(s.to_string())
    }
}

/// The kinds of failure a step words differently (naming the limit that caused it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// `limits.output_mb` was reached.
    OutputLimit,
    /// One record was larger than the record limit.
    RecordTooLarge,
    /// The database engine ran out of memory.
    OutOfMemory,
    /// A disk filled up: the job's output or a SQLite file.
    NoSpace,
    Other,
}

impl EngineError {
    pub fn kind(&self) -> FailureKind {
        let output = |o: &OutputError| match o {
            OutputError::LimitExceeded { .. } => FailureKind::OutputLimit,
            OutputError::RecordTooLarge { .. } => FailureKind::RecordTooLarge,
            o if o.is_no_space() => FailureKind::NoSpace,
            OutputError::Io(_) => FailureKind::Other,
        };
        match self {
            EngineError::Output(o) | EngineError::Database(DbError::Sink(o)) => output(o),
            EngineError::Database(DbError::OutOfMemory(_)) => FailureKind::OutOfMemory,
            EngineError::Database(DbError::DiskFull(_)) => FailureKind::NoSpace,
            _ => FailureKind::Other,
        }
    }
}

/// Why a program stopped.
#[derive(Debug)]
pub struct ProgramFailure {
    /// 0-based; `None` when the program failed before any statement ran.
    pub statement_index: Option<usize>,
    pub statement_count: usize,
    pub statement: String,
    pub error: EngineError,
}

impl ProgramFailure {
    pub fn kind(&self) -> FailureKind {
        self.error.kind()
    }
}

/// Statements longer than this are shortened in status messages.
const MESSAGE_STATEMENT_CHARS: usize = 160;

impl fmt::Display for ProgramFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.statement_index {
            None => write!(f, "{}", self.error),
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

/// Runs `program` against `datasource`, stopping at the first failing statement.
/// Everything the client should see goes to `out`; the failure is also returned.
pub fn run_program<W: Write>(
    program: &str,
    datasource: &str,
    out: &mut RecordWriter<W>,
) -> Result<(), ProgramFailure> {
    run_statements(program, datasource, out, None)
}

/// Runs only the `index`-th statement (0-based) of `program`, reported under its place
/// in the program: how an Argo workflow runs one statement per step.
pub fn run_one_statement<W: Write>(
    program: &str,
    datasource: &str,
    out: &mut RecordWriter<W>,
    index: usize,
) -> Result<(), ProgramFailure> {
    run_statements(program, datasource, out, Some(index))
}

fn run_statements<W: Write>(
    program: &str,
    datasource: &str,
    out: &mut RecordWriter<W>,
    only: Option<usize>,
) -> Result<(), ProgramFailure> {
    let fail_early = |error: EngineError| ProgramFailure {
        statement_index: None,
        statement_count: 0,
        statement: String::new(),
        error,
    };
    let setup = (|| -> Result<_, EngineError> {
        let ds = Datasource::parse(datasource)?;
        let statements = split(program, ds.dialect())?;
        if statements.is_empty() {
            return Err("the program has no statements: give at least one SQL statement".into());
        }
        if let Some(i) = only
            && i >= statements.len()
        {
            return Err(format!(
                "statement {} was asked for, but the program has {}",
                i + 1,
                statements.len()
            )
            .into());
        }
        let db = backend::open(&ds)?;
        Ok((ds, statements, db))
    })();
    let (ds, statements, mut db) = match setup {
        Ok(ok) => ok,
        Err(error) => {
            // Recorded in the stream too, so a runner reading only the stream (an Argo
            // step's log) can say why.
            let _ = out.failure(Failure {
                setup: true,
                error: error.to_string(),
                ..Default::default()
            });
            return Err(fail_early(error));
        }
    };
    let count = statements.len();
    for (i, stmt) in statements.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let fail = |error: EngineError| ProgramFailure {
            statement_index: Some(i),
            statement_count: count,
            statement: stmt.text.clone(),
            error,
        };
        let io_fail = |e: OutputError| fail(e.into());
        out.start(i, count, &stmt.text).map_err(io_fail)?;
        let started = Instant::now();
        let result: Result<(), EngineError> = match parse_statement(&stmt.text, ds.dialect()) {
            Err(e) => Err(e.into()),
            Ok(Parsed::Extended(ext)) => extended::run(&mut *db, &ext, &stmt.text, out),
            Ok(Parsed::Standard) => match db.execute(&stmt.text, out) {
                Ok(Outcome::Rows(_)) => Ok(()),
                Ok(Outcome::Affected(Some(n))) => {
                    let noun = if n == 1 { "row" } else { "rows" };
                    out.message(format!("{n} {noun} affected"), Kind::Log)
                        .map_err(Into::into)
                }
                Ok(Outcome::Affected(None)) => out.message("OK", Kind::Log).map_err(Into::into),
                Err(e) => Err(e.into()),
            },
        };
        if let Err(error) = result {
            let failure = fail(error);
            // Best effort: the stream may be what failed.
            let _ = out.failure(Failure {
                statement_index: i as u32,
                statement: stmt.text.clone(),
                error: failure.error.to_string(),
                setup: false,
            });
            return Err(failure);
        }
        out.eoe(i, &stmt.text, started.elapsed()).map_err(io_fail)?;
    }
    out.flush().map_err(|e| fail_early(e.into()))
}
