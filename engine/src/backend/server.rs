//! MySQL (and MariaDB) and PostgreSQL through sqlx's typed drivers (not its `Any` driver,
//! which rejects DATE, DECIMAL and TIMESTAMP).
//!
//! A statement is first prepared, which tells whether it returns rows and their columns
//! even when there are none; it then runs as plain text (the protocol every statement
//! accepts), and each value is converted from its text form by its column's type, so
//! DECIMAL and dates keep their exact text.

use std::{fmt::Write as _, str::FromStr, sync::Arc};

use futures_util::TryStreamExt;
use sqlx::{
    AssertSqlSafe, Connection, Either, Executor, Row, SqlSafeStr, Statement, TypeInfo, ValueRef,
    mysql::{MySql, MySqlConnectOptions, MySqlConnection, MySqlRow},
    postgres::{PgConnectOptions, PgConnection, PgRow},
};

use super::{
    Backend, Batches, Column, ColumnType, DbError, Outcome, RowSink, TableName, batch_rows,
    catalog::{Catalog, sql_string},
    quote_ident,
};
use crate::{Datasource, Dialect, Value};

pub struct Server {
    rt: tokio::runtime::Runtime,
    conn: Conn,
}

enum Conn {
    MySql(MySqlConnection),
    Postgres(PgConnection),
}

fn db_error(e: sqlx::Error) -> DbError {
    match e {
        sqlx::Error::Database(d) => DbError::Database(d.message().to_string()),
        other => DbError::Database(other.to_string()),
    }
}

/// Runs the same code for either connection type (their APIs match; their types do not).
macro_rules! with_conn {
    ($self:ident, $c:ident => $body:expr) => {
        match &mut $self.conn {
            Conn::MySql($c) => $self.rt.block_on(async { $body }),
            Conn::Postgres($c) => $self.rt.block_on(async { $body }),
        }
    };
}

impl Server {
    pub fn open(ds: &Datasource) -> Result<Self, DbError> {
        let connect = |reason: String| DbError::Connect {
            datasource: ds.redacted(),
            reason,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| connect(e.to_string()))?;
        let conn = match ds {
            Datasource::MySql { url } => {
                let opts =
                    MySqlConnectOptions::from_str(url).map_err(|e| connect(e.to_string()))?;
                Conn::MySql(
                    rt.block_on(MySqlConnection::connect_with(&opts))
                        .map_err(|e| connect(e.to_string()))?,
                )
            }
            Datasource::Postgres { url } => {
                let opts = PgConnectOptions::from_str(url).map_err(|e| connect(e.to_string()))?;
                Conn::Postgres(
                    rt.block_on(PgConnection::connect_with(&opts))
                        .map_err(|e| connect(e.to_string()))?,
                )
            }
            Datasource::Sqlite { .. } => {
                return Err(connect("not a MySQL or PostgreSQL datasource".into()));
            }
        };
        Ok(Server { rt, conn })
    }

    fn sql_type(&self, t: ColumnType) -> &'static str {
        match (&self.conn, t) {
            (_, ColumnType::Bool) => "BOOLEAN",
            (_, ColumnType::Int) => "BIGINT",
            (_, ColumnType::Date) => "DATE",
            (Conn::MySql(_), ColumnType::Float) => "DOUBLE",
            (Conn::MySql(_), ColumnType::Decimal) => "DECIMAL(65,30)",
            (Conn::MySql(_), ColumnType::Text) => "LONGTEXT",
            (Conn::MySql(_), ColumnType::Bytes) => "LONGBLOB",
            (Conn::MySql(_), ColumnType::Time) => "TIME(6)",
            (Conn::MySql(_), ColumnType::Timestamp) => "DATETIME(6)",
            (Conn::Postgres(_), ColumnType::Float) => "DOUBLE PRECISION",
            (Conn::Postgres(_), ColumnType::Decimal) => "NUMERIC",
            (Conn::Postgres(_), ColumnType::Text) => "TEXT",
            (Conn::Postgres(_), ColumnType::Bytes) => "BYTEA",
            (Conn::Postgres(_), ColumnType::Time) => "TIME",
            (Conn::Postgres(_), ColumnType::Timestamp) => "TIMESTAMP",
        }
    }

    fn run_ddl(&mut self, sql: String) -> Result<(), DbError> {
        with_conn!(self, c => sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *c).await.map(|_| ()).map_err(db_error))
    }
}

/// The query that answers a MySQL catalog statement on PostgreSQL, from its own catalog
/// (a MySQL database is a PostgreSQL schema; the default is `current_schema()`).
async fn pg_catalog_query(c: &mut PgConnection, catalog: Catalog) -> Result<String, DbError> {
    let schema_of = async |c: &mut PgConnection, schema: Option<String>| {
        let schema = match schema {
            Some(s) => s,
            None => sqlx::query_scalar::<_, String>("SELECT current_schema()")
                .fetch_one(&mut *c)
                .await
                .map_err(db_error)?,
        };
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(&schema)
                .fetch_one(&mut *c)
                .await
                .map_err(db_error)?;
        if known {
            Ok(schema)
        } else {
            Err(DbError::Database(format!("Unknown database '{schema}'")))
        }
    };
    // MySQL names the column after the pattern too: `Tables_in_test (a%)`.
    let heading = |name: String, pattern: &Option<String>| {
        let name = match pattern {
            Some(p) => format!("{name} ({p})"),
            None => name,
        };
        // Quoted as written: MySQL's headings keep their case (quote_ident folds).
        format!("\"{}\"", name.replace('"', "\"\""))
    };
    let like = |column: &str, pattern: &Option<String>| match pattern {
        Some(p) => format!(" AND {column} LIKE {}", sql_string(p)),
        None => String::new(),
    };
    // Tables, views, materialized views, partitioned and foreign tables.
    const RELATIONS: &str = "c.relkind IN ('r', 'v', 'm', 'p', 'f')";
    Ok(match catalog {
        Catalog::Databases { like: pattern } => format!(
            "SELECT nspname AS {} FROM pg_namespace \
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'{} ORDER BY 1",
            heading("Database".into(), &pattern),
            like("nspname", &pattern)
        ),
        Catalog::Tables {
            schema,
            like: pattern,
        } => {
            let schema = schema_of(c, schema).await?;
            format!(
                "SELECT c.relname AS {} FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = {} AND {RELATIONS}{} ORDER BY 1",
                heading(format!("Tables_in_{schema}"), &pattern),
                sql_string(&schema),
                like("c.relname", &pattern)
            )
        }
        Catalog::Columns { schema, table } => {
            let schema = schema_of(c, schema).await?;
            let relation = format!(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = {} AND c.relname = {} AND {RELATIONS}",
                sql_string(&schema),
                sql_string(&table)
            );
            let exists: bool =
                sqlx::query_scalar(AssertSqlSafe(format!("SELECT EXISTS ({relation})")))
                    .fetch_one(&mut *c)
                    .await
                    .map_err(db_error)?;
            if !exists {
                return Err(DbError::Database(format!(
                    "Table '{schema}.{table}' doesn't exist"
                )));
            }
            // MySQL's Key: PRI for a primary key column, UNI for the column of a
            // one-column unique index, MUL for the first column of any other index.
            // Default: a string shows as its value (`x`, not `'x'::character varying`), as
            // MySQL shows it. Extra: auto_increment for identity and serial columns.
            format!(
                "SELECT a.attname AS \"Field\", format_type(a.atttypid, a.atttypmod) AS \"Type\", \
                 CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS \"Null\", \
                 COALESCE((SELECT CASE WHEN bool_or(i.indisprimary) THEN 'PRI' \
                   WHEN bool_or(i.indisunique AND i.indnatts = 1) THEN 'UNI' ELSE 'MUL' END \
                   FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum), '') \
                   AS \"Key\", \
                 CASE WHEN pg_get_expr(d.adbin, d.adrelid) ~ '^''.*''::[^'']+$' \
                   THEN replace(substring(pg_get_expr(d.adbin, d.adrelid) FROM '^''(.*)''::[^'']+$'), \
                     '''''', '''') \
                   ELSE pg_get_expr(d.adbin, d.adrelid) END AS \"Default\", \
                 CASE WHEN a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%' \
                   THEN 'auto_increment' ELSE '' END AS \"Extra\" \
                 FROM pg_attribute a \
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                 WHERE a.attrelid = ({relation}) AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum"
            )
        }
    })
}

/// How a column's text form becomes a typed cell, decided once per column by its type
/// name.
#[derive(Clone, Copy)]
enum CellKind {
    Bool,
    Double,
    Decimal,
    Date,
    Time,
    Timestamp,
    Int,
    /// PostgreSQL's `\x` hex text.
    Bytea,
    Bytes,
    Text,
}

impl CellKind {
    fn of(type_name: &str) -> CellKind {
        let t = type_name.to_ascii_uppercase();
        match t.as_str() {
            "BOOLEAN" | "BOOL" => CellKind::Bool,
            "FLOAT" | "DOUBLE" | "REAL" | "FLOAT4" | "FLOAT8" => CellKind::Double,
            "DECIMAL" | "NUMERIC" | "DECIMAL UNSIGNED" => CellKind::Decimal,
            "DATE" => CellKind::Date,
            "TIME" | "TIMETZ" => CellKind::Time,
            "DATETIME" | "TIMESTAMP" | "TIMESTAMPTZ" => CellKind::Timestamp,
            "YEAR" => CellKind::Int,
            "BYTEA" => CellKind::Bytea,
            _ if t.contains("INT") || t == "OID" => CellKind::Int,
            _ if t.contains("BLOB") || t.contains("BINARY") || t == "BIT" || t == "GEOMETRY" => {
                CellKind::Bytes
            }
            _ => CellKind::Text,
        }
    }

    /// Turns a value's text form into a typed cell.
    fn cell(self, text: &[u8]) -> Value {
        let s = || String::from_utf8_lossy(text).into_owned();
        match self {
            CellKind::Bool => Value::Bool(matches!(text, b"1" | b"t" | b"true")),
            CellKind::Double => s()
                .parse()
                .map(Value::Double)
                .unwrap_or_else(|_| Value::String(s())),
            CellKind::Decimal => Value::Decimal(s()),
            CellKind::Date => Value::Date(s()),
            CellKind::Time => Value::Time(s()),
            CellKind::Timestamp => Value::Timestamp(s()),
            CellKind::Int => {
                let s = s();
                match s.parse::<i64>() {
                    Ok(i) => Value::Int64(i),
                    // BIGINT UNSIGNED beyond i64: keep it exact.
                    Err(_) => Value::Decimal(s),
                }
            }
            CellKind::Bytea => Value::Bytes(decode_bytea(text)),
            CellKind::Bytes => Value::Bytes(text.to_vec()),
            CellKind::Text => Value::String(s()),
        }
    }
}

/// PostgreSQL's text form of bytea: `\x` then hex digits.
fn decode_bytea(text: &[u8]) -> Vec<u8> {
    let Some(hex) = text.strip_prefix(b"\\x") else {
        return text.to_vec();
    };
    hex.chunks(2)
        .filter_map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// A row of the text protocol: each value as the text the server sent.
trait TextRow: Row {
    /// The text of value `i`; None for NULL.
    fn text(&self, i: usize) -> Result<Option<&[u8]>, DbError>;
}

impl TextRow for MySqlRow {
    fn text(&self, i: usize) -> Result<Option<&[u8]>, DbError> {
        let raw = self.try_get_raw(i).map_err(db_error)?;
        if raw.is_null() {
            return Ok(None);
        }
        <&[u8] as sqlx::Decode<MySql>>::decode(raw)
            .map(Some)
            .map_err(|e| DbError::Database(e.to_string()))
    }
}

impl TextRow for PgRow {
    fn text(&self, i: usize) -> Result<Option<&[u8]>, DbError> {
        let raw = self.try_get_raw(i).map_err(db_error)?;
        if raw.is_null() {
            return Ok(None);
        }
        raw.as_bytes()
            .map(Some)
            .map_err(|e| DbError::Database(e.to_string()))
    }
}

fn column<C: sqlx::Column>(c: &C) -> Column {
    Column {
        name: c.name().to_string(),
        decl_type: c.type_info().name().to_string(),
    }
}

/// Converts the rows of the result set being read, by column kinds worked out from its
/// first row (all rows of a result set share their columns).
#[derive(Default)]
struct Cells(Vec<CellKind>);

impl Cells {
    fn values<R: TextRow>(&mut self, row: &R) -> Result<Vec<Value>, DbError> {
        if self.0.is_empty() {
            self.0 = row
                .columns()
                .iter()
                .map(|c| CellKind::of(sqlx::Column::type_info(c).name()))
                .collect();
        }
        self.0
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                Ok(match row.text(i)? {
                    None => Value::Null(Default::default()),
                    Some(text) => kind.cell(text),
                })
            })
            .collect()
    }

    /// The next rows belong to another result set.
    fn reset(&mut self) {
        self.0.clear();
    }
}

impl Backend for Server {
    fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::MySql(_) => Dialect::MySql,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    fn execute(&mut self, sql: &str, sink: &mut dyn RowSink) -> Result<Outcome, DbError> {
        if let Conn::Postgres(pg) = &mut self.conn
            && let Some(catalog) = Catalog::parse(sql, Dialect::Postgres)
        {
            // The answer is itself a query, run the usual way.
            let query = self.rt.block_on(pg_catalog_query(pg, catalog))?;
            return self.execute(&query, sink);
        }
        with_conn!(self, c => {
            // Some statements cannot be prepared (MySQL refuses a few): those learn their
            // shape from what comes back.
            let mut head_sent = false;
            match c.prepare(AssertSqlSafe(sql).into_sql_str()).await {
                Ok(stmt) if stmt.columns().is_empty() => {
                    let r = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *c).await.map_err(db_error)?;
                    let verb = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let dml = ["INSERT", "UPDATE", "DELETE", "REPLACE"].contains(&verb.as_str());
                    return Ok(Outcome::Affected(dml.then(|| r.rows_affected())));
                }
                Ok(stmt) => {
                    let head: Vec<Column> = stmt.columns().iter().map(column).collect();
                    sink.head(&head)?;
                    head_sent = true;
                }
                Err(_) => {}
            }
            let mut items = sqlx::raw_sql(AssertSqlSafe(sql)).fetch_many(&mut *c);
            let mut cells = Cells::default();
            let mut count = 0u64;
            let mut affected = None;
            while let Some(item) = items.try_next().await.map_err(db_error)? {
                match item {
                    Either::Right(row) => {
                        if !head_sent {
                            sink.head(&row.columns().iter().map(column).collect::<Vec<_>>())?;
                            head_sent = true;
                        }
                        sink.row(cells.values(&row)?)?;
                        count += 1;
                    }
                    Either::Left(r) => {
                        affected = Some(r.rows_affected());
                        cells.reset();
                    }
                }
            }
            if head_sent {
                Ok(Outcome::Rows(count))
            } else {
                Ok(Outcome::Affected(affected.filter(|n| *n > 0)))
            }
        })
    }

    fn ensure_schema(&mut self, schema: &str) -> Result<(), DbError> {
        TableName::parse(schema)?;
        let sql = match self.conn {
            Conn::MySql(_) => format!(
                "CREATE DATABASE IF NOT EXISTS {}",
                quote_ident(schema, Dialect::MySql)
            ),
            Conn::Postgres(_) => format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(schema, Dialect::Postgres)
            ),
        };
        self.run_ddl(sql)
    }

    fn create_table(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
    ) -> Result<(), DbError> {
        if let Some(s) = &table.schema {
            self.ensure_schema(s)?;
        }
        let d = self.dialect();
        let name = table.quoted(d);
        let cols: Vec<String> = columns
            .iter()
            .map(|(c, t)| format!("{} {}", quote_ident(c, d), self.sql_type(*t)))
            .collect();
        self.run_ddl(format!("DROP TABLE IF EXISTS {name}"))?;
        self.run_ddl(format!("CREATE TABLE {name} ({})", cols.join(", ")))
            .map_err(|e| DbError::Database(format!("cannot create table {table}: {e}")))
    }

    fn insert_all(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
        batches: Batches<'_>,
    ) -> Result<(), DbError> {
        let d = self.dialect();
        let names: Vec<String> = columns.iter().map(|(c, _)| quote_ident(c, d)).collect();
        let prefix = format!(
            "INSERT INTO {} ({}) VALUES ",
            table.quoted(d),
            names.join(", ")
        );
        let casts: Vec<&str> = columns.iter().map(|(_, t)| self.sql_type(*t)).collect();
        let per_batch = batch_rows(columns.len());
        let write_err = |e: sqlx::Error| {
            DbError::Database(format!("cannot write into {table}: {}", db_error(e)))
        };
        // The statement for `n` rows. Every full batch has the same one: it is built once.
        let statement = |n: usize| -> Arc<str> {
            let mut sql = prefix.clone();
            let mut p = 0usize;
            for ri in 0..n {
                if ri > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for (ci, cast) in casts.iter().enumerate() {
                    if ci > 0 {
                        sql.push_str(", ");
                    }
                    p += 1;
                    // PostgreSQL types parameters strictly: cast each to its column's type.
                    match d {
                        Dialect::Postgres => {
                            let _ = write!(sql, "${p}::{cast}");
                        }
                        _ => sql.push('?'),
                    }
                }
                sql.push(')');
            }
            sql.into()
        };
        let mut full_batch: Option<Arc<str>> = None;
        with_conn!(self, c => {
            let mut tx = c.begin().await.map_err(write_err)?;
            for rows in batches {
            for batch in rows?.chunks(per_batch) {
                let sql = if batch.len() == per_batch {
                    full_batch.get_or_insert_with(|| statement(per_batch)).clone()
                } else {
                    statement(batch.len())
                };
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for row in batch {
                    for (v, (_, t)) in row.iter().zip(columns) {
                        // Bind by the column's type, never the value's: every batch then
                        // has the same parameter types, which the driver's cached
                        // prepared statement relies on (a NULL in one batch and a number
                        // in the next would otherwise mismatch).
                        q = match (t, v) {
                            (ColumnType::Bool, v) => q.bind(as_bool(v)),
                            (ColumnType::Int, v) => q.bind(as_int(v)),
                            (ColumnType::Float, v) => q.bind(as_float(v)),
                            (ColumnType::Bytes, Value::Bytes(b)) => q.bind(Some(b.clone())),
                            (ColumnType::Bytes, v) => q.bind(as_text(v).map(String::into_bytes)),
                            (_, v) => q.bind(as_text(v)),
                        };
                    }
                }
                q.execute(&mut *tx).await.map_err(write_err)?;
            }
            }
            tx.commit().await.map_err(write_err)
        })
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int64(i) => Some(*i != 0),
        _ => None,
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int64(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Double(f) => Some(*f as i64),
        _ => None,
    }
}

fn as_float(v: &Value) -> Option<f64> {
    match v {
        Value::Double(f) => Some(*f),
        Value::Int64(i) => Some(*i as f64),
        Value::Decimal(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Null(_) => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Int64(i) => Some(i.to_string()),
        Value::Double(f) => Some(f.to_string()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::String(s)
        | Value::Decimal(s)
        | Value::Date(s)
        | Value::Time(s)
        | Value::Timestamp(s) => Some(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(type_name: &str, text: &[u8]) -> Value {
        CellKind::of(type_name).cell(text)
    }

    #[test]
    fn text_forms_become_typed_cells() {
        assert_eq!(typed("BIGINT", b"-42"), Value::Int64(-42));
        assert_eq!(typed("INT UNSIGNED", b"7"), Value::Int64(7));
        assert_eq!(
            typed("BIGINT UNSIGNED", b"18446744073709551615"),
            Value::Decimal("18446744073709551615".into())
        );
        assert_eq!(typed("DOUBLE", b"1.5"), Value::Double(1.5));
        assert!(matches!(typed("FLOAT8", b"NaN"), Value::Double(f) if f.is_nan()));
        assert_eq!(
            typed("NUMERIC", b"12.3400"),
            Value::Decimal("12.3400".into())
        );
        assert_eq!(typed("BOOL", b"t"), Value::Bool(true));
        assert_eq!(typed("BOOLEAN", b"0"), Value::Bool(false));
        assert_eq!(typed("BYTEA", b"\\x00ff10"), Value::Bytes(vec![0, 255, 16]));
        assert_eq!(typed("BLOB", &[1, 2]), Value::Bytes(vec![1, 2]));
        assert_eq!(
            typed("DATE", b"2024-01-31"),
            Value::Date("2024-01-31".into())
        );
        assert_eq!(
            typed("TIMESTAMPTZ", b"2024-01-31 13:45:00+00"),
            Value::Timestamp("2024-01-31 13:45:00+00".into())
        );
        assert_eq!(
            typed("VARCHAR", "żółw".as_bytes()),
            Value::String("żółw".into())
        );
    }
}
