//! Database backends behind one interface. Each runs statements exactly as the user wrote
//! them and reports result sets row by row in one value type, [`Value`] (the protocol's
//! typed cell), so a result looks the same whichever database produced it.

mod sqlite;

pub use sqlite::Sqlite;

use crate::{Datasource, Dialect, Value};

/// A column of a result set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The database's declared type, where it has one.
    pub decl_type: String,
}

/// What a statement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It returned a result set of this many rows.
    Rows(u64),
    /// It changed this many rows (None when the database does not say, as for DDL).
    Affected(Option<u64>),
}

/// Receives a result set as it streams out of the database.
pub trait RowSink {
    fn head(&mut self, columns: &[Column]) -> Result<(), SinkError>;
    fn row(&mut self, values: Vec<Value>) -> Result<(), SinkError>;
}

/// The sink refused more output (its writer failed or a limit was reached).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {datasource}: {reason}")]
    Connect { datasource: String, reason: String },
    /// The database's own error text.
    #[error("{0}")]
    Database(String),
    #[error("{0}")]
    Sink(#[from] SinkError),
    #[error("{0}")]
    Unsupported(String),
}

pub trait Backend {
    fn dialect(&self) -> Dialect;

    /// Runs one statement. A result set goes to `sink` as it is read.
    fn execute(&mut self, sql: &str, sink: &mut dyn RowSink) -> Result<Outcome, DbError>;
}

/// Opens the database a datasource names.
pub fn open(ds: &Datasource) -> Result<Box<dyn Backend>, DbError> {
    match ds {
        Datasource::Sqlite { path } => Ok(Box::new(Sqlite::open(path)?)),
        Datasource::MySql { .. } | Datasource::Postgres { .. } => {
            Err(DbError::Unsupported(format!(
                "{} datasources are not supported yet by this engine",
                ds.dialect()
            )))
        }
    }
}
