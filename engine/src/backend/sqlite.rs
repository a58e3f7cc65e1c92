//! SQLite through rusqlite: the embedded default, no server needed.

use std::{path::Path, time::Duration};

use rusqlite::{Connection, OpenFlags, types::ValueRef};

use super::{Backend, Column, DbError, Outcome, RowSink};
use crate::{Dialect, Value};

pub struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        // No SQLITE_OPEN_URI: a `file:...?vfs=` name must not reach past the server's
        // datasource policy, which reasons about plain paths.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| DbError::Connect {
            datasource: format!("sqlite://{}", path.display()),
            reason: e.to_string(),
        })?;
        // Several jobs may share one file: wait for a writer instead of failing at once.
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| DbError::Database(e.to_string()))?;
        register_sleep(&conn).map_err(|e| DbError::Database(e.to_string()))?;
        Ok(Self { conn })
    }
}

impl Backend for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, sink: &mut dyn RowSink) -> Result<Outcome, DbError> {
        let db = |e: rusqlite::Error| DbError::Database(e.to_string());
        let mut stmt = self.conn.prepare(sql).map_err(db)?;
        let n = stmt.column_count();
        if n == 0 {
            // changes() keeps the count of the last DML across DDL, so only trust it when
            // this statement changed rows or is DML by its first word.
            let before = self.conn.total_changes();
            stmt.raw_execute().map_err(db)?;
            let changed = self.conn.total_changes() != before;
            let affected = (changed || is_dml(sql)).then(|| self.conn.changes());
            return Ok(Outcome::Affected(affected));
        }
        let columns: Vec<Column> = stmt
            .columns()
            .map(|c| Column {
                name: c.name().to_string(),
                decl_type: c.decl_type().unwrap_or_default().to_string(),
            })
            .collect();
        sink.head(&columns)?;
        let mut rows = stmt.raw_query();
        let mut count = 0u64;
        while let Some(row) = rows.next().map_err(db)? {
            let mut values = Vec::with_capacity(n);
            for (i, col) in columns.iter().enumerate() {
                let v = row.get_ref(i).map_err(db)?;
                values.push(to_value(v, &col.decl_type));
            }
            sink.row(values)?;
            count += 1;
        }
        Ok(Outcome::Rows(count))
    }
}

/// `sleep(seconds)`, as MySQL's `SLEEP()` and PostgreSQL's `pg_sleep()`: a statement
/// that takes time without using CPU (for demos, tests and benchmarks). Returns 0.
fn register_sleep(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function("sleep", 1, FunctionFlags::SQLITE_UTF8, |ctx| {
        let secs: f64 = ctx.get(0)?;
        if secs.is_finite() && secs > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(secs.min(1e9)));
        }
        Ok(0i64)
    })
}

/// SQLite stores dates and decimals as text or numbers; the declared type says which
/// typed cell the client should see.
fn to_value(v: ValueRef<'_>, decl_type: &str) -> Value {
    match v {
        ValueRef::Null => Value::Null(Default::default()),
        ValueRef::Integer(i) => {
            if is_bool_type(decl_type) {
                Value::Bool(i != 0)
            } else {
                Value::Int64(i)
            }
        }
        ValueRef::Real(f) => Value::Double(f),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t).into_owned();
            match temporal_kind(decl_type) {
                Some(Temporal::Date) => Value::Date(s),
                Some(Temporal::Time) => Value::Time(s),
                Some(Temporal::Timestamp) => Value::Timestamp(s),
                None if is_decimal_type(decl_type) => Value::Decimal(s),
                None => Value::String(s),
            }
        }
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

enum Temporal {
    Date,
    Time,
    Timestamp,
}

fn temporal_kind(decl: &str) -> Option<Temporal> {
    let d = decl.to_ascii_uppercase();
    if d.contains("TIMESTAMP") || d.contains("DATETIME") {
        Some(Temporal::Timestamp)
    } else if d.contains("DATE") {
        Some(Temporal::Date)
    } else if d == "TIME" || d.starts_with("TIME(") {
        Some(Temporal::Time)
    } else {
        None
    }
}

fn is_decimal_type(decl: &str) -> bool {
    let d = decl.to_ascii_uppercase();
    d.starts_with("DECIMAL") || d.starts_with("NUMERIC")
}

fn is_bool_type(decl: &str) -> bool {
    let d = decl.to_ascii_uppercase();
    d == "BOOLEAN" || d == "BOOL"
}

fn is_dml(sql: &str) -> bool {
    let first = sql
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    ["INSERT", "UPDATE", "DELETE", "REPLACE"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}
