//! One cell type across backends: every type read back the same way on SQLite, MySQL
//! (MariaDB) and PostgreSQL, and the engine's own writes (typed tables, batched inserts,
//! schemas) round-trip. MySQL and PostgreSQL run when SQLFLOW_TEST_MYSQL /
//! SQLFLOW_TEST_POSTGRES name a server (`.ci/run` sets both); otherwise they say skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_engine::{
    Datasource, Value,
    backend::{self, Backend, ColumnType, TableName, query_all},
};

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// The backends to test: SQLite always, the others when their server is configured.
/// The temporary directory (SQLite's file) lives as long as the backend.
fn backends() -> Vec<(String, Box<dyn Backend>, tempfile::TempDir)> {
    let mut out = Vec::new();
    for (name, var) in [
        ("sqlite", None),
        ("mysql", Some("SQLFLOW_TEST_MYSQL")),
        ("postgres", Some("SQLFLOW_TEST_POSTGRES")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let url = match var {
            None => format!("sqlite://{}", dir.path().join("t.db").display()),
            Some(var) => match std::env::var(var) {
                Ok(url) => url,
                Err(_) => {
                    eprintln!("skipped {name}: set {var} to test it");
                    continue;
                }
            },
        };
        let ds = Datasource::parse(&url).unwrap();
        let db = backend::open(&ds).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name.to_string(), db, dir));
    }
    out
}

fn null() -> Value {
    Value::Null(Default::default())
}

#[test]
fn every_type_reads_back_as_the_same_typed_cell() {
    for (name, mut db, _dir) in backends() {
        let t = unique("types");
        let (blob, ts, bool_t) = match name.as_str() {
            "postgres" => ("BYTEA", "TIMESTAMP", "BOOLEAN"),
            "mysql" => ("BLOB", "DATETIME", "BOOLEAN"),
            _ => ("BLOB", "TIMESTAMP", "BOOLEAN"),
        };
        let blob_lit = if name == "postgres" {
            "'\\x00ff'::bytea"
        } else {
            "x'00ff'"
        };
        let mut run = |sql: String| {
            query_or_exec(&mut *db, &sql).unwrap_or_else(|e| panic!("{name}: {sql}: {e}"))
        };
        run(format!(
            "CREATE TABLE {t} (i INT, big BIGINT, f DOUBLE PRECISION, d DECIMAL(10,2), s VARCHAR(20), \
             txt TEXT, b {blob}, dt DATE, tm {ts}, ok {bool_t})"
        ));
        run(format!(
            "INSERT INTO {t} VALUES (-7, 9007199254740993, 1.25, 12.50, 'żółw', 'a''b', {blob_lit}, \
             '2024-01-31', '2024-01-31 13:45:06', TRUE)"
        ));
        run(format!(
            "INSERT INTO {t} VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        ));
        let got = query_all(&mut *db, &format!("SELECT * FROM {t} ORDER BY i DESC")).unwrap();
        let names: Vec<&str> = got.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["i", "big", "f", "d", "s", "txt", "b", "dt", "tm", "ok"],
            "{name}"
        );
        // NULLs sort first on MySQL/SQLite and last on PostgreSQL with DESC: find the rows.
        let full = got
            .rows
            .iter()
            .find(|r| !matches!(r[0], Value::Null(_)))
            .unwrap();
        let empty = got
            .rows
            .iter()
            .find(|r| matches!(r[0], Value::Null(_)))
            .unwrap();
        assert_eq!(full[0], Value::Int64(-7), "{name}");
        assert_eq!(
            full[1],
            Value::Int64(9_007_199_254_740_993),
            "{name}: BIGINT stays exact"
        );
        assert_eq!(full[2], Value::Double(1.25), "{name}");
        // DECIMAL keeps its exact text; SQLite stores it as a number, so its scale goes.
        let dec = if name == "sqlite" { "12.5" } else { "12.50" };
        assert_eq!(full[3], Value::Decimal(dec.into()), "{name}");
        assert_eq!(full[4], Value::String("żółw".into()), "{name}");
        assert_eq!(full[5], Value::String("a'b".into()), "{name}");
        assert_eq!(full[6], Value::Bytes(vec![0, 255]), "{name}");
        assert_eq!(full[7], Value::Date("2024-01-31".into()), "{name}");
        assert_eq!(
            full[8],
            Value::Timestamp("2024-01-31 13:45:06".into()),
            "{name}"
        );
        // MySQL's BOOLEAN is TINYINT(1): it reads back as 1, which the engine shows as true.
        assert!(
            matches!(full[9], Value::Bool(true) | Value::Int64(1)),
            "{name}: {:?}",
            full[9]
        );
        assert!(
            empty.iter().all(|v| matches!(v, Value::Null(_))),
            "{name}: {empty:?}"
        );
        // An empty result still has its columns.
        let none = query_all(&mut *db, &format!("SELECT i, s FROM {t} WHERE 1 = 0")).unwrap();
        assert_eq!(none.columns.len(), 2, "{name}");
        assert!(none.rows.is_empty());
        query_or_exec(&mut *db, &format!("DROP TABLE {t}")).unwrap();
    }
}

fn query_or_exec(db: &mut dyn Backend, sql: &str) -> Result<(), backend::DbError> {
    let mut c = backend::Collected::default();
    db.execute(sql, &mut c).map(|_| ())
}

#[test]
fn engine_writes_round_trip_in_batches_and_schemas() {
    for (name, mut db, _dir) in backends() {
        let schema = unique("sch");
        db.ensure_schema(&schema)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let table = TableName::parse(&format!("{schema}.written")).unwrap();
        let cols = vec![
            ("n".to_string(), ColumnType::Int),
            ("x".to_string(), ColumnType::Float),
            ("s".to_string(), ColumnType::Text),
            ("raw".to_string(), ColumnType::Bytes),
            ("ok".to_string(), ColumnType::Bool),
            ("d".to_string(), ColumnType::Date),
            ("dec".to_string(), ColumnType::Decimal),
        ];
        db.create_table(&table, &cols)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // More rows than one INSERT takes, to cross batch boundaries.
        let rows: Vec<Vec<Value>> = (0..2500i64)
            .map(|i| {
                vec![
                    Value::Int64(i),
                    if i % 7 == 0 {
                        null()
                    } else {
                        Value::Double(i as f64 / 4.0)
                    },
                    Value::String(format!("row '{i}' \\ ü")),
                    Value::Bytes(vec![(i % 256) as u8, 0]),
                    Value::Bool(i % 2 == 0),
                    Value::Date("2020-02-29".into()),
                    Value::Decimal("3.25".into()),
                ]
            })
            .collect();
        db.insert_rows(&table, &cols, &rows)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Creating it again replaces it.
        db.create_table(&table, &cols).unwrap();
        db.insert_rows(&table, &cols, &rows).unwrap();
        let q = table.quoted(db.dialect());
        let got = query_all(
            &mut *db,
            &format!("SELECT n, x, s, raw, ok, d FROM {q} ORDER BY n"),
        )
        .unwrap();
        assert_eq!(got.rows.len(), 2500, "{name}");
        let r = &got.rows[9];
        assert_eq!(r[0], Value::Int64(9));
        assert_eq!(r[1], Value::Double(2.25), "{name}");
        assert_eq!(r[2], Value::String("row '9' \\ ü".into()), "{name}");
        assert_eq!(r[3], Value::Bytes(vec![9, 0]), "{name}");
        assert!(
            matches!(r[4], Value::Bool(false) | Value::Int64(0)),
            "{name}: {:?}",
            r[4]
        );
        assert_eq!(r[5], Value::Date("2020-02-29".into()), "{name}");
        assert!(matches!(got.rows[7][1], Value::Null(_)), "{name}");
        query_or_exec(&mut *db, &format!("DROP TABLE {q}")).unwrap();
        if name != "sqlite" {
            let drop = if name == "mysql" {
                "DROP DATABASE"
            } else {
                "DROP SCHEMA"
            };
            let _ = query_or_exec(&mut *db, &format!("{drop} {schema}"));
        }
    }
}

#[test]
fn sqlite_schemas_are_files_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let ds = Datasource::parse(&format!(
        "sqlite://{}",
        dir.path().join("main.db").display()
    ))
    .unwrap();
    let mut db = backend::open(&ds).unwrap();
    query_or_exec(&mut *db, "CREATE SCHEMA IF NOT EXISTS iris").unwrap();
    query_or_exec(&mut *db, "CREATE TABLE iris.train (a INT)").unwrap();
    query_or_exec(&mut *db, "INSERT INTO iris.train VALUES (1), (2)").unwrap();
    assert!(dir.path().join("iris.db").is_file());
    // A new connection finds it again by name alone.
    let mut db = backend::open(&ds).unwrap();
    let got = query_all(&mut *db, "SELECT count(*) FROM iris.train").unwrap();
    assert_eq!(got.rows[0][0], Value::Int64(2));
    // An alias is not a schema: no file appears for it.
    query_all(&mut *db, "SELECT t.a FROM iris.train t").unwrap();
    assert!(!dir.path().join("t.db").exists());
}
