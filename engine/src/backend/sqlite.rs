//! SQLite through rusqlite: the embedded default, no server needed.
//!
//! SQLite has no schemas, so `schema.table` names follow SQLite's own answer: `schema`
//! is another database file, `<schema>.db` beside the main one, attached on first use
//! (in `FROM`/`JOIN`/`INTO`/`TABLE`/`UPDATE` position) and by `CREATE SCHEMA`. The same
//! program (`SELECT * FROM iris.train ...`) thus runs on SQLite, MySQL and PostgreSQL.
//!
//! A job's SQL opens no other file: the server's policy confines the datasource to its
//! data directory, and an authorizer refuses what would reach past it from inside SQL
//! (`ATTACH` of any file, `VACUUM INTO`, which attaches its target, pragmas that move
//! files, extension loading). Only the engine's own schema attachment is let through,
//! and schema files may not be symlinks.
//!
//! MySQL's catalog statements answer as they do on MySQL, so a program that looks around
//! (`SHOW TABLES`, `DESCRIBE t`) runs unchanged: see [`Catalog`].

use std::{
    collections::HashSet,
    ffi::OsString,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use rusqlite::{
    Connection, OpenFlags,
    config::DbConfig,
    hooks::{AuthAction, AuthContext, Authorization},
    types::{ToSqlOutput, ValueRef},
};
use sqlflow_sql::lexer::{TokenKind, tokenize};

use super::{
    Backend, Batches, Column, ColumnType, DbError, Outcome, RowSink, TableName,
    catalog::{Catalog, sql_string},
    quote_ident,
};
use crate::{Dialect, Value};

pub struct Sqlite {
    conn: Connection,
    /// Where attached schema files go (None for an in-memory database).
    dir: Option<PathBuf>,
    /// The main database's file name: in `dir`, but not a schema.
    main_file: Option<OsString>,
    attached: HashSet<String>,
    guard: Arc<Guard>,
}

/// State shared with the authorizer callback, which SQLite calls while it prepares a
/// statement.
#[derive(Default)]
struct Guard {
    /// Set while the engine itself attaches a schema file.
    engine_attaching: AtomicBool,
    /// What was refused last: SQLite's own error only says "not authorized".
    refused: Mutex<Option<Refusal>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    Attach,
    Detach,
    Pragma(String),
    Function(String),
}

impl Guard {
    fn authorize(&self, ctx: AuthContext<'_>) -> Authorization {
        let refusal = match ctx.action {
            AuthAction::Attach { .. } if self.engine_attaching.load(Ordering::SeqCst) => None,
            AuthAction::Attach { .. } => Some(Refusal::Attach),
            AuthAction::Detach { .. } => Some(Refusal::Detach),
            // Both move where SQLite writes files.
            AuthAction::Pragma { pragma_name, .. }
                if pragma_name.eq_ignore_ascii_case("temp_store_directory")
                    || pragma_name.eq_ignore_ascii_case("data_store_directory") =>
            {
                Some(Refusal::Pragma(pragma_name.to_ascii_lowercase()))
            }
            // Off in this build already; refused by name as well, so that a build flag
            // cannot quietly turn them on.
            AuthAction::Function { function_name }
                if function_name.eq_ignore_ascii_case("load_extension")
                    || function_name.eq_ignore_ascii_case("fts3_tokenizer") =>
            {
                Some(Refusal::Function(function_name.to_ascii_lowercase()))
            }
            _ => None,
        };
        match refusal {
            None => Authorization::Allow,
            Some(r) => {
                if let Ok(mut last) = self.refused.lock() {
                    *last = Some(r);
                }
                Authorization::Deny
            }
        }
    }

    /// The error for a statement SQLite refused to prepare: the refusal, worded, when the
    /// authorizer caused it.
    fn explain(&self, sql: &str, e: rusqlite::Error) -> DbError {
        let refusal = self.refused.lock().ok().and_then(|mut r| r.take());
        let Some(refusal) = refusal else {
            return db_error(e);
        };
        let first_word = sql
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| !w.is_empty())
            .unwrap_or("");
        DbError::NotAllowed(match refusal {
            Refusal::Attach if first_word.eq_ignore_ascii_case("VACUUM") => {
                "VACUUM INTO is not allowed: it writes a copy of the database to another file, \
                 and a job may only write its datasource's database and schema files; VACUUM \
                 without INTO works"
                    .to_string()
            }
            Refusal::Attach => "ATTACH is not allowed: a job may only open its datasource's \
                 database; name another schema's tables as schema.table and the engine \
                 attaches schema.db beside the database, inside the server's data directory"
                .to_string(),
            Refusal::Detach => {
                "DETACH is not allowed: the engine manages the attached schema files".to_string()
            }
            Refusal::Pragma(name) => format!(
                "PRAGMA {name} is not allowed: it moves where SQLite writes files, outside the \
                 server's data directory"
            ),
            Refusal::Function(name) => format!(
                "{name}() is not allowed: it loads code or reads memory outside the database"
            ),
        })
    }
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        // No SQLITE_OPEN_URI: a `file:...?vfs=` name must not reach past the server's
        // datasource policy, which reasons about plain paths.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| DbError::Connect {
            datasource: format!("sqlite://{}", path.display()),
            reason: e.to_string(),
        })?;
        let guard = Arc::new(Guard::default());
        let hook = guard.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| hook.authorize(ctx)))
            .map_err(|e| DbError::Database(e.to_string()))?;
        // Defensive mode: no writable_schema tricks, no raw page writes.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map_err(|e| DbError::Database(e.to_string()))?;
        // Several jobs may share one file: wait for a writer instead of failing at once.
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| DbError::Database(e.to_string()))?;
        register_sleep(&conn).map_err(|e| DbError::Database(e.to_string()))?;
        let in_memory = path.as_os_str() == ":memory:";
        let dir = (!in_memory).then(|| {
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        });
        Ok(Self {
            conn,
            dir,
            main_file: (!in_memory)
                .then(|| path.file_name().map(OsString::from))
                .flatten(),
            attached: HashSet::new(),
            guard,
        })
    }

    fn attach(&mut self, schema: &str) -> Result<(), DbError> {
        let lower = schema.to_ascii_lowercase();
        if lower == "main" || lower == "temp" || self.attached.contains(&lower) {
            return Ok(());
        }
        TableName::parse(schema)?;
        let file = match &self.dir {
            Some(d) => {
                let file = d.join(format!("{schema}.db"));
                // A symlink here could lead anywhere; the policy that admitted the main
                // database never saw this name.
                if std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(DbError::NotAllowed(format!(
                        "schema {schema}: its file {schema}.db is a symlink, and schema files \
                         must be plain files inside the server's data directory"
                    )));
                }
                file.display().to_string()
            }
            None => ":memory:".to_string(),
        };
        self.guard.engine_attaching.store(true, Ordering::SeqCst);
        let attached = self.conn.execute(
            &format!(
                "ATTACH DATABASE ?1 AS {}",
                quote_ident(schema, Dialect::Sqlite)
            ),
            [&file],
        );
        self.guard.engine_attaching.store(false, Ordering::SeqCst);
        attached.map_err(|e| DbError::Database(format!("cannot attach schema {schema}: {e}")))?;
        self.attached.insert(lower);
        Ok(())
    }

    /// Whether `schema` is one this database has or may attach, without creating it:
    /// looking at a catalog must not leave a new file behind.
    fn schema_exists(&self, schema: &str) -> bool {
        let lower = schema.to_ascii_lowercase();
        if lower == "main" || lower == "temp" || self.attached.contains(&lower) {
            return true;
        }
        TableName::parse(schema).is_ok()
            && self
                .dir
                .as_ref()
                .is_some_and(|d| d.join(format!("{schema}.db")).is_file())
    }

    /// The schemas `SHOW DATABASES` lists: main, the attached ones, and every plain
    /// `<name>.db` file beside the main database (each is attached on first use).
    fn schemas(&self) -> Result<Vec<String>, DbError> {
        let mut names = vec!["main".to_string()];
        if let Some(dir) = &self.dir {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                DbError::Database(format!(
                    "cannot list the schema files in {}: {e}",
                    dir.display()
                ))
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let plain_file = entry.file_type().is_ok_and(|t| t.is_file());
                let is_main = self.main_file.as_deref() == path.file_name();
                let stem = path
                    .extension()
                    .filter(|x| *x == "db")
                    .and(path.file_stem())
                    .and_then(|s| s.to_str());
                if let Some(stem) = stem
                    && plain_file
                    && !is_main
                    && TableName::parse(stem).is_ok()
                {
                    names.push(stem.to_string());
                }
            }
        }
        names.extend(self.attached.iter().cloned());
        let mut seen = HashSet::new();
        names.retain(|n| seen.insert(n.to_ascii_lowercase()));
        names.sort();
        Ok(names)
    }

    /// The query that answers a catalog statement, from SQLite's own catalog.
    fn catalog_query(&mut self, c: Catalog) -> Result<String, DbError> {
        let known = |this: &Self, schema: &str| {
            if this.schema_exists(schema) {
                Ok(())
            } else {
                Err(DbError::Database(format!("Unknown database '{schema}'")))
            }
        };
        let like = |pattern: &Option<String>| match pattern {
            Some(p) => format!(" WHERE name LIKE {}", sql_string(p)),
            None => String::new(),
        };
        // MySQL names the column after the pattern too: `Tables_in_test (a%)`.
        let heading = |name: String, pattern: &Option<String>| {
            let name = match pattern {
                Some(p) => format!("{name} ({p})"),
                None => name,
            };
            quote_ident(&name, Dialect::Sqlite)
        };
        Ok(match c {
            Catalog::Databases { like: pattern } => {
                let names: Vec<String> = self
                    .schemas()?
                    .iter()
                    .map(|n| format!("SELECT {} AS name", sql_string(n)))
                    .collect();
                format!(
                    "SELECT name AS {} FROM ({}){} ORDER BY name",
                    heading("Database".into(), &pattern),
                    names.join(" UNION ALL "),
                    like(&pattern)
                )
            }
            Catalog::Tables {
                schema,
                like: pattern,
            } => {
                let schema = schema.unwrap_or_else(|| "main".to_string());
                known(self, &schema)?;
                self.attach(&schema)?;
                format!(
                    "SELECT name AS {} FROM (SELECT name FROM {}.sqlite_master \
                     WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'){} \
                     ORDER BY name",
                    heading(format!("Tables_in_{schema}"), &pattern),
                    quote_ident(&schema, Dialect::Sqlite),
                    like(&pattern)
                )
            }
            Catalog::Columns { schema, table } => {
                let schema = schema.unwrap_or_else(|| "main".to_string());
                known(self, &schema)?;
                self.attach(&schema)?;
                let exists: bool = self
                    .conn
                    .query_row(
                        &format!(
                            "SELECT EXISTS (SELECT 1 FROM {}.sqlite_master \
                             WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE)",
                            quote_ident(&schema, Dialect::Sqlite)
                        ),
                        [&table],
                        |r| r.get(0),
                    )
                    .map_err(db_error)?;
                if !exists {
                    return Err(DbError::Database(format!(
                        "Table '{schema}.{table}' doesn't exist"
                    )));
                }
                let (t, s) = (sql_string(&table), sql_string(&schema));
                // MySQL's Key: PRI for the primary key, UNI for the column of a
                // one-column unique index, MUL for the first column of any other index.
                // A string default shows as its value, as MySQL shows it, not as the
                // quoted SQL text SQLite keeps. An INTEGER PRIMARY KEY is SQLite's
                // auto-increment (the rowid), and Extra says so.
                let first_of = |l: &str| {
                    format!(
                        "(SELECT i.name FROM pragma_index_info({l}.name, {s}) AS i WHERE i.seqno = 0)"
                    )
                };
                format!(
                    "SELECT p.name AS \"Field\", p.type AS \"Type\", \
                       CASE WHEN p.\"notnull\" OR (p.pk > 0 AND upper(p.type) = 'INTEGER') \
                            THEN 'NO' ELSE 'YES' END AS \"Null\", \
                       CASE WHEN p.pk > 0 THEN 'PRI' \
                            WHEN EXISTS (SELECT 1 FROM pragma_index_list({t}, {s}) AS u \
                                 WHERE u.\"unique\" AND {first_u} = p.name \
                                 AND (SELECT count(*) FROM pragma_index_info(u.name, {s})) = 1) THEN 'UNI' \
                            WHEN EXISTS (SELECT 1 FROM pragma_index_list({t}, {s}) AS m \
                                 WHERE {first_m} = p.name) THEN 'MUL' \
                            ELSE '' END AS \"Key\", \
                       CASE WHEN p.dflt_value LIKE '''%''' \
                            THEN replace(substr(p.dflt_value, 2, length(p.dflt_value) - 2), '''''', '''') \
                            ELSE p.dflt_value END AS \"Default\", \
                       CASE WHEN p.pk > 0 AND upper(p.type) = 'INTEGER' \
                            AND (SELECT count(*) FROM pragma_table_info({t}, {s}) WHERE pk > 0) = 1 \
                            THEN 'auto_increment' ELSE '' END AS \"Extra\" \
                     FROM pragma_table_info({t}, {s}) AS p ORDER BY p.cid",
                    first_u = first_of("u"),
                    first_m = first_of("m"),
                )
            }
        })
    }

    /// Attaches the schemas a statement names in table position.
    fn attach_referenced(&mut self, sql: &str) -> Result<(), DbError> {
        // No dot, no `schema.table`: spare the statement a second lexing.
        if !sql.contains('.') {
            return Ok(());
        }
        let tokens: Vec<_> = tokenize(sql, Dialect::Sqlite)
            .into_iter()
            .filter(|t| !t.is_trivia())
            .collect();
        let mut wanted = Vec::new();
        for w in tokens.windows(4) {
            if matches!(w[1].kind, TokenKind::Word | TokenKind::QuotedIdent)
                && w[2].kind == TokenKind::Dot
                && matches!(w[3].kind, TokenKind::Word | TokenKind::QuotedIdent)
                && ["FROM", "JOIN", "INTO", "TABLE", "UPDATE", "EXISTS"]
                    .iter()
                    .any(|k| w[0].is_keyword(sql, k))
            {
                let name = w[1]
                    .text(sql)
                    .trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']');
                wanted.push(name.to_string());
            }
        }
        for schema in wanted {
            // Names that are not plain identifiers are left to SQLite to report.
            if TableName::parse(&schema).is_ok() {
                self.attach(&schema)?;
            }
        }
        Ok(())
    }
}

/// SQLite's error, typed where the step words it differently.
fn db_error(e: rusqlite::Error) -> DbError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OutOfMemory) => DbError::OutOfMemory(e.to_string()),
        Some(rusqlite::ErrorCode::DiskFull) => DbError::DiskFull(e.to_string()),
        _ => DbError::Database(e.to_string()),
    }
}

/// `CREATE SCHEMA [IF NOT EXISTS] name`, which SQLite lacks.
fn create_schema(sql: &str) -> Option<String> {
    // Every statement passes here: look at no more words than the longest form has, +1.
    let words: Vec<&str> = sql.split_whitespace().take(7).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    match upper
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["CREATE", "SCHEMA", "IF", "NOT", "EXISTS", _] => Some(words[5].to_string()),
        ["CREATE", "SCHEMA", _] | ["CREATE", "DATABASE", _] => Some(words[2].to_string()),
        ["CREATE", "DATABASE", "IF", "NOT", "EXISTS", _] => Some(words[5].to_string()),
        _ => None,
    }
}

fn sqlite_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Int => "INTEGER",
        ColumnType::Float => "REAL",
        ColumnType::Decimal => "DECIMAL",
        ColumnType::Text => "TEXT",
        ColumnType::Bytes => "BLOB",
        ColumnType::Date => "DATE",
        ColumnType::Time => "TIME",
        ColumnType::Timestamp => "TIMESTAMP",
    }
}

/// A cell as a statement parameter, borrowed: no copy of text or bytes.
fn to_sql(v: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match v {
        Value::Null(_) => ValueRef::Null,
        Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
        Value::Int64(i) => ValueRef::Integer(*i),
        Value::Double(f) => ValueRef::Real(*f),
        Value::Bytes(b) => ValueRef::Blob(b),
        Value::String(s)
        | Value::Decimal(s)
        | Value::Date(s)
        | Value::Time(s)
        | Value::Timestamp(s) => ValueRef::Text(s.as_bytes()),
    })
}

impl Backend for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, sink: &mut dyn RowSink) -> Result<Outcome, DbError> {
        if let Some(schema) = create_schema(sql) {
            let schema = schema.trim_matches(|c| c == '"' || c == '`').to_string();
            self.attach(&schema)?;
            return Ok(Outcome::Affected(None));
        }
        if let Some(catalog) = Catalog::parse(sql, Dialect::Sqlite) {
            // The answer is itself a query (no catalog statement), run the usual way.
            let query = self.catalog_query(catalog)?;
            return self.execute(&query, sink);
        }
        self.attach_referenced(sql)?;
        // SQLite authorizes some actions only as the statement runs (VACUUM INTO
        // attaches its target then), so every error goes through the guard.
        let guard = &self.guard;
        let db = |e: rusqlite::Error| guard.explain(sql, e);
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
        let declared: Vec<Declared> = columns.iter().map(|c| Declared::of(&c.decl_type)).collect();
        let mut rows = stmt.raw_query();
        let mut count = 0u64;
        while let Some(row) = rows.next().map_err(db)? {
            let mut values = Vec::with_capacity(n);
            for (i, d) in declared.iter().enumerate() {
                values.push(d.value(row.get_ref(i).map_err(db)?));
            }
            sink.row(values)?;
            count += 1;
        }
        Ok(Outcome::Rows(count))
    }

    fn ensure_schema(&mut self, schema: &str) -> Result<(), DbError> {
        self.attach(schema)
    }

    fn create_table(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
    ) -> Result<(), DbError> {
        if let Some(s) = &table.schema {
            self.attach(s)?;
        }
        let name = table.quoted(Dialect::Sqlite);
        let cols: Vec<String> = columns
            .iter()
            .map(|(c, t)| format!("{} {}", quote_ident(c, Dialect::Sqlite), sqlite_type(*t)))
            .collect();
        self.conn
            .execute_batch(&format!(
                "DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({});",
                cols.join(", ")
            ))
            .map_err(|e| DbError::Database(format!("cannot create table {table}: {e}")))
    }

    fn insert_all(
        &mut self,
        table: &TableName,
        columns: &[(String, ColumnType)],
        batches: Batches<'_>,
    ) -> Result<(), DbError> {
        let db = |e: rusqlite::Error| DbError::Database(format!("cannot write into {table}: {e}"));
        let names: Vec<String> = columns
            .iter()
            .map(|(c, _)| quote_ident(c, Dialect::Sqlite))
            .collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({marks})",
            table.quoted(Dialect::Sqlite),
            names.join(", ")
        );
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut stmt = tx.prepare(&sql).map_err(db)?;
            for rows in batches {
                for row in rows?.iter() {
                    stmt.execute(rusqlite::params_from_iter(row.iter().map(to_sql)))
                        .map_err(db)?;
                }
            }
        }
        tx.commit().map_err(db)
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

/// SQLite stores dates and decimals as text or numbers; a column's declared type says
/// which typed cell the client should see. Worked out once per column.
#[derive(Clone, Copy)]
struct Declared {
    bool: bool,
    decimal: bool,
    temporal: Option<Temporal>,
}

#[derive(Clone, Copy)]
enum Temporal {
    Date,
    Time,
    Timestamp,
}

impl Declared {
    fn of(decl_type: &str) -> Declared {
        let d = decl_type.to_ascii_uppercase();
        let temporal = if d.contains("TIMESTAMP") || d.contains("DATETIME") {
            Some(Temporal::Timestamp)
        } else if d.contains("DATE") {
            Some(Temporal::Date)
        } else if d == "TIME" || d.starts_with("TIME(") {
            Some(Temporal::Time)
        } else {
            None
        };
        Declared {
            bool: d == "BOOLEAN" || d == "BOOL",
            decimal: d.starts_with("DECIMAL") || d.starts_with("NUMERIC"),
            temporal,
        }
    }

    fn value(self, v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null(Default::default()),
            ValueRef::Integer(i) if self.bool => Value::Bool(i != 0),
            ValueRef::Integer(i) if self.decimal => Value::Decimal(i.to_string()),
            ValueRef::Integer(i) => Value::Int64(i),
            // SQLite keeps DECIMAL as a number; say it is one.
            ValueRef::Real(f) if self.decimal => Value::Decimal(f.to_string()),
            ValueRef::Real(f) => Value::Double(f),
            ValueRef::Text(t) => {
                let s = String::from_utf8_lossy(t).into_owned();
                match self.temporal {
                    Some(Temporal::Date) => Value::Date(s),
                    Some(Temporal::Time) => Value::Time(s),
                    Some(Temporal::Timestamp) => Value::Timestamp(s),
                    None if self.decimal => Value::Decimal(s),
                    None => Value::String(s),
                }
            }
            ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Collected, query_all};

    fn open() -> (Sqlite, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&dir.path().join("app.db")).unwrap();
        (db, dir)
    }

    fn run(db: &mut Sqlite, sql: &str) -> Collected {
        query_all(db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn texts(c: &Collected, col: usize) -> Vec<String> {
        c.rows
            .iter()
            .map(|r| match &r[col] {
                Value::String(s) => s.clone(),
                Value::Null(_) => "NULL".into(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn names(c: &Collected) -> Vec<&str> {
        c.columns.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn catalog_statements_answer_with_mysql_columns() {
        let (mut db, dir) = open();
        for sql in [
            "CREATE TABLE cat (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'it''s', \
             score DOUBLE PRECISION, n INT DEFAULT 3, UNIQUE (name))",
            "CREATE INDEX cat_score ON cat (score, n)",
            "CREATE VIEW v AS SELECT id FROM cat",
            "CREATE TABLE with_seq (id INTEGER PRIMARY KEY AUTOINCREMENT)",
            "CREATE SCHEMA iris",
            "CREATE TABLE iris.train (a INT)",
        ] {
            db.execute(sql, &mut Collected::default())
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let t = run(&mut db, "SHOW TABLES");
        assert_eq!(names(&t), ["Tables_in_main"]);
        // Tables and views, not SQLite's own (sqlite_sequence).
        assert_eq!(texts(&t, 0), ["cat", "v", "with_seq"]);
        // MySQL names the column after the pattern too.
        let t = run(&mut db, "SHOW TABLES LIKE 'C%'");
        assert_eq!(
            (names(&t), texts(&t, 0)),
            (vec!["Tables_in_main (C%)"], vec!["cat".to_string()])
        );
        let t = run(&mut db, "SHOW TABLES FROM iris");
        assert_eq!(
            (names(&t), texts(&t, 0)),
            (vec!["Tables_in_iris"], vec!["train".to_string()])
        );

        // Schema files beside the database, whether attached yet or not; never the main
        // file, a symlink or a name that is not one.
        std::fs::write(dir.path().join("later.db"), b"").unwrap();
        std::fs::write(dir.path().join("not a name.db"), b"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("linked.db")).unwrap();
        let t = run(&mut db, "SHOW DATABASES");
        assert_eq!(names(&t), ["Database"]);
        assert_eq!(texts(&t, 0), ["iris", "later", "main"]);
        let t = run(&mut db, "SHOW SCHEMAS LIKE 'la%'");
        assert_eq!(
            (names(&t), texts(&t, 0)),
            (vec!["Database (la%)"], vec!["later".to_string()])
        );

        let t = run(&mut db, "DESCRIBE cat");
        assert_eq!(
            names(&t),
            ["Field", "Type", "Null", "Key", "Default", "Extra"]
        );
        let rows: Vec<Vec<String>> = (0..6).map(|i| texts(&t, i)).collect();
        assert_eq!(rows[0], ["id", "name", "score", "n"]);
        assert_eq!(
            rows[1],
            ["INTEGER", "VARCHAR(20)", "DOUBLE PRECISION", "INT"]
        );
        assert_eq!(rows[2], ["NO", "NO", "YES", "YES"]);
        assert_eq!(rows[3], ["PRI", "UNI", "MUL", ""]);
        assert_eq!(rows[4], ["NULL", "it's", "NULL", "3"]);
        assert_eq!(rows[5], ["auto_increment", "", "", ""]);
        for same in [
            "DESC cat",
            "SHOW COLUMNS FROM cat",
            "SHOW FIELDS FROM main.cat",
        ] {
            assert_eq!(run(&mut db, same), t, "{same}");
        }
        let t = run(&mut db, "DESC iris.train");
        assert_eq!(texts(&t, 0), ["a"]);
        assert_eq!(run(&mut db, "SHOW COLUMNS FROM train IN iris"), t);
        // A view describes too.
        assert_eq!(texts(&run(&mut db, "DESCRIBE v"), 0), ["id"]);
    }

    #[test]
    fn catalog_errors_read_like_mysql_and_create_nothing() {
        let (mut db, dir) = open();
        let err = |db: &mut Sqlite, sql: &str| {
            db.execute(sql, &mut Collected::default())
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&mut db, "DESCRIBE nope"),
            "Table 'main.nope' doesn't exist"
        );
        assert_eq!(
            err(&mut db, "SHOW TABLES FROM ghost"),
            "Unknown database 'ghost'"
        );
        assert_eq!(err(&mut db, "DESC ghost.t"), "Unknown database 'ghost'");
        assert_eq!(
            err(&mut db, "SHOW TABLES FROM `x; DROP`"),
            "Unknown database 'x; DROP'"
        );
        assert!(
            !dir.path().join("ghost.db").exists(),
            "looking created a schema file"
        );
        // Malformed ones are SQLite's syntax errors, as before.
        assert!(err(&mut db, "SHOW TABLES extra").contains("syntax error"));
        // An in-memory database lists its attached schemas.
        let mut mem = Sqlite::open(Path::new(":memory:")).unwrap();
        mem.execute("CREATE SCHEMA side", &mut Collected::default())
            .unwrap();
        assert_eq!(texts(&run(&mut mem, "SHOW DATABASES"), 0), ["main", "side"]);
    }
}
