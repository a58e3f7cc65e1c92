//! Database backends behind one interface. Each runs statements exactly as the user wrote
//! them and reports result sets row by row in one value type, [`Value`] (the protocol's
//! typed cell), so a result looks the same whichever database produced it. The engine
//! also writes through them: model tables, prediction and evaluation tables.

mod catalog;
mod server;
mod sqlite;

use std::fmt;

pub use server::Server;
pub use sqlite::Sqlite;

use crate::{Datasource, Dialect, Value, output::OutputError};

/// A column of a result set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The database's type name, where it has one.
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

/// Receives a result set as it streams out of the database. An error is the sink
/// refusing more output (its writer failed or a limit was reached).
pub trait RowSink {
    fn head(&mut self, columns: &[Column]) -> Result<(), OutputError>;
    fn row(&mut self, values: Vec<Value>) -> Result<(), OutputError>;
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {datasource}: {reason}")]
    Connect { datasource: String, reason: String },
    /// The database's own error text.
    #[error("{0}")]
    Database(String),
    #[error(transparent)]
    Sink(#[from] OutputError),
    /// SQLite ran out of memory (the job's memory limit, usually).
    #[error("{0}")]
    OutOfMemory(String),
    /// SQLite could not grow its file: the disk is full.
    #[error("{0}")]
    DiskFull(String),
    #[error("{0}")]
    Invalid(String),
    /// The statement would reach outside what a job may touch.
    #[error("{0}")]
    NotAllowed(String),
}

/// The types the engine creates columns with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Bool,
    Int,
    Float,
    Decimal,
    Text,
    Bytes,
    Date,
    Time,
    Timestamp,
}

impl ColumnType {
    /// The type that holds `v` (None for NULL).
    pub fn of(v: &Value) -> Option<ColumnType> {
        Some(match v {
            Value::Null(_) => return None,
            Value::Bool(_) => ColumnType::Bool,
            Value::Int64(_) => ColumnType::Int,
            Value::Double(_) => ColumnType::Float,
            Value::Decimal(_) => ColumnType::Decimal,
            Value::String(_) => ColumnType::Text,
            Value::Bytes(_) => ColumnType::Bytes,
            Value::Date(_) => ColumnType::Date,
            Value::Time(_) => ColumnType::Time,
            Value::Timestamp(_) => ColumnType::Timestamp,
        })
    }

    /// The type a column should have to hold all of `values` (Text when they disagree).
    pub fn infer<'a>(values: impl IntoIterator<Item = &'a Value>) -> ColumnType {
        values
            .into_iter()
            .fold(None, ColumnType::widen)
            .unwrap_or(ColumnType::Text)
    }

    /// The type that holds the values `t` holds and `v` (None: only NULLs so far), for
    /// inferring a column's type a batch at a time.
    pub fn widen(t: Option<ColumnType>, v: &Value) -> Option<ColumnType> {
        match (t, ColumnType::of(v)) {
            (t, None) => t,
            (None, Some(x)) => Some(x),
            (Some(a), Some(b)) if a == b => Some(a),
            (Some(ColumnType::Int), Some(ColumnType::Float))
            | (Some(ColumnType::Float), Some(ColumnType::Int)) => Some(ColumnType::Float),
            _ => Some(ColumnType::Text),
        }
    }
}

/// A table name, possibly qualified by a schema (a database on MySQL, a schema on
/// PostgreSQL, an attached database file on SQLite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub table: String,
}

impl TableName {
    /// Parses `table` or `schema.table`; only letters, digits and `_`, so a name can be
    /// put into SQL safely once quoted.
    pub fn parse(s: &str) -> Result<Self, DbError> {
        let ok = |p: &str| {
            !p.is_empty()
                && !p.starts_with(|c: char| c.is_ascii_digit())
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
        };
        let (schema, table) = match s.split_once('.') {
            Some((a, b)) => (Some(a), b),
            None => (None, s),
        };
        if !ok(table) || schema.is_some_and(|a| !ok(a)) {
            return Err(DbError::Invalid(format!(
                "'{s}' is not a table name this engine can create: use table or schema.table \
                 with letters, digits and _"
            )));
        }
        Ok(TableName {
            schema: schema.map(str::to_string),
            table: table.to_string(),
        })
    }

    /// The name quoted for `dialect`.
    pub fn quoted(&self, dialect: Dialect) -> String {
        match &self.schema {
            Some(s) => format!(
                "{}.{}",
                quote_ident(s, dialect),
                quote_ident(&self.table, dialect)
            ),
            None => quote_ident(&self.table, dialect),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.table),
            None => f.write_str(&self.table),
        }
    }
}

pub fn quote_ident(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        Dialect::Sqlite => format!("\"{}\"", name.replace('"', "\"\"")),
        // PostgreSQL folds unquoted names to lower case; the engine's tables must answer
        // to the names users write without quotes (`SELECT Churn FROM t` means churn).
        Dialect::Postgres => {
            let plain = name.chars().all(|c| c.is_alphanumeric() || c == '_');
            let name = if plain {
                name.to_lowercase()
            } else {
                name.to_string()
            };
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }
}

pub trait Backend {
    fn dialect(&self) -> Dialect;

    /// Runs one statement. A result set goes to `sink` as it is read.
    fn execute(&mut self, sql: &str, sink: &mut dyn RowSink) -> Result<Outcome, DbError>;

    /// Makes sure `schema` exists, so `schema.table` can be created.
    fn ensure_schema(&mut self, schema: &str) -> Result<(), DbError>;

    /// Creates `table`, replacing one of that name.
    fn create_table(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
    ) -> Result<(), DbError>;

    /// Appends every batch of `batches`, in one transaction: readers see all of them or
    /// none, and a database that flushes at each commit flushes once. Each row has one
    /// value per column.
    fn insert_all(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
        batches: Batches<'_>,
    ) -> Result<(), DbError>;

    /// Appends rows, in one transaction.
    fn insert_rows(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
        rows: &[Vec<Value>],
    ) -> Result<(), DbError> {
        self.insert_all(table, columns, one_batch(rows))
    }

    /// Appends every batch of rows `next` gives until it gives `None`, in one
    /// transaction.
    fn insert_batches(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
        next: &mut dyn FnMut() -> Result<Option<Vec<Vec<Value>>>, DbError>,
    ) -> Result<(), DbError> {
        self.insert_all(table, columns, each_batch(next))
    }
}

/// Batches of rows to insert: borrowed ([`Backend::insert_rows`]) or made as they are
/// written ([`Backend::insert_batches`]).
pub type Batches<'a> =
    Box<dyn Iterator<Item = Result<std::borrow::Cow<'a, [Vec<Value>]>, DbError>> + 'a>;

fn one_batch(rows: &[Vec<Value>]) -> Batches<'_> {
    Box::new(std::iter::once(Ok(std::borrow::Cow::Borrowed(rows))))
}

fn each_batch<'a>(
    next: &'a mut dyn FnMut() -> Result<Option<Vec<Vec<Value>>>, DbError>,
) -> Batches<'a> {
    Box::new(std::iter::from_fn(move || next().transpose()).map(|b| b.map(std::borrow::Cow::Owned)))
}

/// A result set held in memory (model data, small tables).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Collected {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl RowSink for Collected {
    fn head(&mut self, columns: &[Column]) -> Result<(), OutputError> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, values: Vec<Value>) -> Result<(), OutputError> {
        self.rows.push(values);
        Ok(())
    }
}

/// Runs a query and keeps its whole result.
pub fn query_all(db: &mut dyn Backend, sql: &str) -> Result<Collected, DbError> {
    let mut c = Collected::default();
    query_into(db, sql, &mut c)?;
    Ok(c)
}

/// Runs a query whose rows go to `sink`; a statement that returns no rows is an error.
pub fn query_into(db: &mut dyn Backend, sql: &str, sink: &mut dyn RowSink) -> Result<(), DbError> {
    match db.execute(sql, sink)? {
        Outcome::Rows(_) => Ok(()),
        Outcome::Affected(_) => Err(DbError::Invalid(format!(
            "expected a query that returns rows, got a statement: {sql}"
        ))),
    }
}

/// Opens the database a datasource names.
pub fn open(ds: &Datasource) -> Result<Box<dyn Backend>, DbError> {
    match ds {
        Datasource::Sqlite { path } => Ok(Box::new(Sqlite::open(path)?)),
        Datasource::MySql { .. } | Datasource::Postgres { .. } => Ok(Box::new(Server::open(ds)?)),
    }
}

/// Rows per multi-row INSERT: databases cap a statement at 65 535 parameters.
pub(crate) fn batch_rows(columns: usize) -> usize {
    (60_000 / columns.max(1)).clamp(1, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_checked_and_quoted() {
        let t = TableName::parse("sqlflow_models.my_model").unwrap();
        assert_eq!(t.quoted(Dialect::MySql), "`sqlflow_models`.`my_model`");
        assert_eq!(
            t.quoted(Dialect::Postgres),
            "\"sqlflow_models\".\"my_model\""
        );
        for bad in ["a.b.c", "x;DROP", "", "a.", "1abc", "a b"] {
            assert!(TableName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn column_types_are_inferred_from_values() {
        let v = [
            Value::Int64(1),
            Value::Null(Default::default()),
            Value::Double(2.5),
        ];
        assert_eq!(ColumnType::infer(&v), ColumnType::Float);
        assert_eq!(
            ColumnType::infer(&[Value::Int64(1), Value::String("x".into())]),
            ColumnType::Text
        );
        assert_eq!(ColumnType::infer(&[]), ColumnType::Text);
    }
}
