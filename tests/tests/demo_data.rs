//! `sqlflow demo-data` through the CLI against the real server: SQLFlow's tutorial dumps
//! loaded into SQLite and (when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set) into
//! MariaDB and PostgreSQL, with the dumps' row counts, names, values and types.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{path::PathBuf, process::Output, time::Instant};

use sqlflow_e2e::{
    Server, fetch_all, output_ok, run_with, sha256_hex,
    sqlflow::{Request, Response, Session, cell::Value, job_status::Code, response},
};

/// Every table, the dump that holds it, and its rows as MariaDB 10.11 counts them after
/// `mysql < FILE` of the unchanged dump.
const TABLES: [(&str, &str, usize); 11] = [
    ("iris.train", "popularize_iris.sql", 110),
    ("iris.test", "popularize_iris.sql", 10),
    ("boston.train", "popularize_boston.sql", 496),
    ("boston.test", "popularize_boston.sql", 10),
    ("churn.train", "popularize_churn.sql", 82),
    ("churn.test", "popularize_churn.sql", 10),
    (
        "creditcard.creditcard",
        "popularize_creditcardfraud.sql",
        984,
    ),
    ("titanic.train", "popularize_titanic.sql", 891),
    ("titanic.test", "popularize_titanic.sql", 418),
    (
        "scorecard.train",
        "popularize_give_me_some_credit.sql",
        2000,
    ),
    ("energy.raw", "popularize_energy.sql", 2209),
];

const SCHEMAS: [&str; 8] = [
    "iris",
    "boston",
    "churn",
    "creditcard",
    "titanic",
    "scorecard",
    "energy",
    "sqlflow_models",
];

fn dump_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../client/data/sqlflow-tutorial")
}

fn dump(file: &str) -> String {
    std::fs::read_to_string(dump_dir().join(file)).unwrap()
}

/// A table's rows in its dump, counted by lines and independently of the CLI's
/// translator: SQLFlow's dumps hold either one `INSERT INTO t VALUES(...);` per line, or
/// `INSERT INTO t VALUES` followed by one `(...)` per line.
fn rows_in_dump(dump: &str, table: &str) -> usize {
    let mut current: Option<&str> = None;
    let mut n = 0;
    for line in dump.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("INSERT INTO ") {
            let (name, values) = rest.split_once(" VALUES").unwrap();
            current = Some(name.trim());
            if current == Some(table) && values.trim_start().starts_with('(') {
                n += 1;
            }
        } else if line.starts_with('(') {
            if current == Some(table) {
                n += 1;
            }
        } else {
            current = None;
        }
    }
    n
}

#[test]
fn the_vendored_dumps_are_sqlflows_files() {
    // sha256 of sql-machine-learning/sqlflow@6c49209 doc/datasets/*, as the README there
    // records them.
    for (file, sha) in [
        (
            "popularize_iris.sql",
            "e37d39e70b3f029127625f862b2dfc8b4fa553a7142abf64735c4ea2470f3cc1",
        ),
        (
            "popularize_boston.sql",
            "bc61dce6857a053d0701a1d52e4a91d69e1b9b4f9028b78d0163bd9ed0e6a7d6",
        ),
        (
            "popularize_churn.sql",
            "a4a6a5ec79d56b34af4d24c40ddc4b799ca95f46779657c9f994e1754d86d0f1",
        ),
        (
            "popularize_creditcardfraud.sql",
            "45427a83ab6204d9bbdef6732494776553aac543c76b62956bbb819b2ae287b7",
        ),
        (
            "popularize_titanic.sql",
            "cfa2eeaba04085fb43bdae10a404a5f5339dacd51d6b4b9a4079ca13f877d400",
        ),
        (
            "popularize_give_me_some_credit.sql",
            "a4ff350f98152a528aa0e98a48f0704e5495dc8fd691e0f5114ec034d8c2d340",
        ),
        (
            "popularize_energy.sql",
            "f149049c0074f16641620c40cf9e553b16c04718a0cf2c5d9f93672f8e5ff74e",
        ),
        (
            "create_model_db.sql",
            "a8a90bb349f24850f382cc7ddc2f218b4f469365ca88ae686db340a332d77591",
        ),
    ] {
        assert_eq!(
            sha256_hex(&dump(file)),
            sha,
            "{file} differs from SQLFlow's"
        );
        let readme = std::fs::read_to_string(dump_dir().join("README.md")).unwrap();
        assert!(
            readme.contains(sha),
            "the README does not list {file}'s sha256"
        );
    }
    // The counts below are MariaDB's; the dumps' lines say the same.
    for (table, file, rows) in TABLES {
        assert_eq!(rows_in_dump(&dump(file), table), rows, "{table}");
    }
}

fn prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("d{}_{nanos}_", std::process::id())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A result table from a job's responses.
#[derive(Debug)]
struct Table {
    columns: Vec<String>,
    types: Vec<String>,
    rows: Vec<Vec<Option<Value>>>,
}

async fn query(server: &Server, datasource: &str, sql: &str) -> Vec<Table> {
    let mut c = server.client().await;
    let job = run_with(
        &mut c,
        Request {
            sql: sql.into(),
            session: Some(Session {
                db_conn_str: datasource.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Succeeded, "{}\n{sql}", status.message);
    tables(&responses)
}

fn tables(responses: &[Response]) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    for r in responses {
        match &r.response {
            Some(response::Response::Head(h)) => out.push(Table {
                columns: h.column_names.clone(),
                types: h.column_types.clone(),
                rows: Vec::new(),
            }),
            Some(response::Response::Row(row)) => {
                if let Some(t) = out.last_mut() {
                    t.rows
                        .push(row.cells.iter().map(|c| c.value.clone()).collect());
                }
            }
            _ => {}
        }
    }
    out
}

fn s(v: &str) -> Option<Value> {
    Some(Value::String(v.into()))
}

fn i(v: i64) -> Option<Value> {
    Some(Value::Int64(v))
}

fn f(v: f64) -> Option<Value> {
    Some(Value::Double(v))
}

/// A spot check: column names as the dump spells them, the row, the column kinds.
type Spot = (
    &'static [&'static str],
    Vec<Option<Value>>,
    &'static [&'static str],
);

/// What a column type says, whichever database names it: every backend must say the
/// same for the same column.
fn kind(type_name: &str) -> &'static str {
    let t = type_name.to_ascii_uppercase();
    if t.contains("INT") {
        "int"
    } else if t.contains("DOUBLE") || t == "FLOAT8" {
        "double"
    } else if t.contains("CHAR") {
        "string"
    } else {
        panic!("unexpected column type {type_name}")
    }
}

async fn loads_every_dataset(datasource: &str) {
    let server = Server::start();
    let p = prefix();
    let started = Instant::now();
    let out = output_ok(
        server
            .cli()
            .args(["demo-data", "--schema-prefix", &p])
            .env("SQLFLOW_DATASOURCE", datasource),
    );
    eprintln!(
        "demo-data on {}: {:.2} s",
        if datasource.is_empty() {
            "SQLite"
        } else {
            datasource
        },
        started.elapsed().as_secs_f64()
    );
    let progress = stderr(&out);
    // Each table is reported with the rows the database counted.
    for (table, _, rows) in TABLES {
        let name = format!("{p}{table}");
        let line = progress
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("no progress line for {name}:\n{progress}"));
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            [name.as_str(), &rows.to_string(), "rows"],
            "{progress}"
        );
    }
    assert!(
        progress.contains(&format!("schema {p}sqlflow_models ready")),
        "{progress}"
    );
    assert!(
        progress.contains("loaded 11 tables, 7220 rows in "),
        "{progress}"
    );

    // The counts again, asked of the database directly.
    let program: String = TABLES
        .iter()
        .map(|(t, _, _)| format!("SELECT count(*) AS n FROM {p}{t};\n"))
        .collect();
    let counts = query(&server, datasource, &program).await;
    for ((table, _, rows), t) in TABLES.iter().zip(&counts) {
        assert_eq!(t.rows, [[i(*rows as i64)]], "{table}");
    }

    // Spot checks: names as the dumps spell them (PostgreSQL folds them, as it does the
    // names in programs), values as the dumps write them, the same types everywhere.
    let t = query(
        &server,
        datasource,
        &format!(
            "SELECT customerID, gender, SeniorCitizen, tenure, MonthlyCharges, TotalCharges, Churn \
             FROM {p}churn.train WHERE customerID = '7590-VHVEG';\n\
             SELECT * FROM {p}iris.test WHERE petal_width = 2.5;\n\
             SELECT time, v1, amount, class FROM {p}creditcard.creditcard WHERE time = 46057;\n\
             SELECT pclass_1, age, realfare, survived FROM {p}titanic.train ORDER BY age, realfare LIMIT 1;\n\
             SELECT * FROM {p}energy.raw ORDER BY dt DESC LIMIT 1;\n\
             SELECT serious_dlqin2yrs, revolving_utilization_of_unsecured_lines, age, monthly_income, number_of_dependents \
             FROM {p}scorecard.train ORDER BY revolving_utilization_of_unsecured_lines DESC, age LIMIT 1;\n\
             SELECT crim, chas, rad, tax, medv FROM {p}boston.test ORDER BY medv LIMIT 1;\n\
             SELECT * FROM {p}churn.test WHERE customerID = '2424-WVHPL';"
        ),
    )
    .await;
    let expected: [Spot; 8] = [
        (
            &[
                "customerID",
                "gender",
                "SeniorCitizen",
                "tenure",
                "MonthlyCharges",
                "TotalCharges",
                "Churn",
            ],
            vec![
                s("7590-VHVEG"),
                s("Female"),
                i(0),
                i(1),
                f(29.85),
                f(29.85),
                s("No"),
            ],
            &[
                "string", "string", "int", "int", "double", "double", "string",
            ],
        ),
        (
            &[
                "sepal_length",
                "sepal_width",
                "petal_length",
                "petal_width",
                "class",
            ],
            vec![f(6.3), f(3.3), f(6.0), f(2.5), i(2)],
            &["double", "double", "double", "double", "int"],
        ),
        (
            &["time", "v1", "amount", "class"],
            vec![i(46057), f(-1.30944), f(1.0), i(1)],
            &["int", "double", "double", "int"],
        ),
        (
            &["pclass_1", "age", "realfare", "survived"],
            vec![i(0), f(-2.150481041), f(-0.758635505), i(1)],
            &["int", "double", "double", "int"],
        ),
        (
            &["dt", "energy"],
            vec![s("2015-01-01 00:00:00"), f(3345.0)],
            &["string", "double"],
        ),
        (
            &[
                "serious_dlqin2yrs",
                "revolving_utilization_of_unsecured_lines",
                "age",
                "monthly_income",
                "number_of_dependents",
            ],
            vec![i(0), f(2340.0), i(45), f(8333.0), f(2.0)],
            &["int", "double", "int", "double", "double"],
        ),
        (
            &["crim", "chas", "rad", "tax", "medv"],
            vec![f(0.04741), i(0), i(1), i(273), f(11.9)],
            &["double", "int", "int", "int", "double"],
        ),
        (
            &[
                "customerID",
                "gender",
                "SeniorCitizen",
                "Partner",
                "Dependents",
                "tenure",
                "PhoneService",
                "MultipleLines",
                "InternetService",
                "OnlineSecurity",
                "OnlineBackup",
                "DeviceProtection",
                "TechSupport",
                "StreamingTV",
                "StreamingMovies",
                "Contract",
                "PaperlessBilling",
                "PaymentMethod",
                "MonthlyCharges",
                "TotalCharges",
                "Churn",
            ],
            vec![
                s("2424-WVHPL"),
                s("Male"),
                i(1),
                s("No"),
                s("No"),
                i(1),
                s("Yes"),
                s("No"),
                s("Fiber optic"),
                s("No"),
                s("No"),
                s("No"),
                s("Yes"),
                s("No"),
                s("No"),
                s("Month-to-month"),
                s("No"),
                s("Electronic check"),
                f(74.7),
                f(74.7),
                s("No"),
            ],
            &[
                "string", "string", "int", "string", "string", "int", "string", "string", "string",
                "string", "string", "string", "string", "string", "string", "string", "string",
                "string", "double", "double", "string",
            ],
        ),
    ];
    assert_eq!(t.len(), expected.len());
    let postgres = datasource.starts_with("postgres");
    for (t, (columns, row, kinds)) in t.iter().zip(expected) {
        let columns: Vec<String> = columns
            .iter()
            .map(|c| {
                if postgres {
                    c.to_lowercase()
                } else {
                    c.to_string()
                }
            })
            .collect();
        assert_eq!(t.columns, columns);
        assert_eq!(t.rows, [row], "{:?}", t.columns);
        let got: Vec<&str> = t.types.iter().map(|ty| kind(ty)).collect();
        assert_eq!(got, kinds, "{:?} {:?}", t.columns, t.types);
    }

    // Programs written for SQLFlow run unchanged: unquoted names in any case.
    let t = query(
        &server,
        datasource,
        &format!("SELECT Churn, count(*) AS n FROM {p}churn.train GROUP BY Churn ORDER BY Churn"),
    )
    .await;
    assert_eq!(t[0].rows, [[s("No"), i(62)], [s("Yes"), i(20)]]);

    if !datasource.starts_with("sqlite") && !datasource.is_empty() {
        let program: String = SCHEMAS
            .iter()
            .map(|schema| {
                if postgres {
                    format!("DROP SCHEMA IF EXISTS {p}{schema} CASCADE;\n")
                } else {
                    format!("DROP DATABASE IF EXISTS {p}{schema};\n")
                }
            })
            .collect();
        query(&server, datasource, &program).await;
    }
}

#[tokio::test]
async fn loads_every_dataset_on_sqlite() {
    loads_every_dataset("").await;
}

#[tokio::test]
async fn loads_every_dataset_on_mariadb() {
    match std::env::var("SQLFLOW_TEST_MYSQL") {
        Ok(ds) => loads_every_dataset(&ds).await,
        Err(_) => {
            eprintln!("skipped: set SQLFLOW_TEST_MYSQL (e.g. mysql://root@127.0.0.1:3306/test)")
        }
    }
}

#[tokio::test]
async fn loads_every_dataset_on_postgresql() {
    match std::env::var("SQLFLOW_TEST_POSTGRES") {
        Ok(ds) => loads_every_dataset(&ds).await,
        Err(_) => eprintln!(
            "skipped: set SQLFLOW_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test)"
        ),
    }
}

#[tokio::test]
async fn loads_only_the_datasets_named_and_replaces_their_tables() {
    let server = Server::start();
    let p = prefix();
    for _ in 0..2 {
        let out = output_ok(server.cli().args([
            "demo-data",
            "creditcard",
            "iris",
            "--schema-prefix",
            &p,
        ]));
        let progress = stderr(&out);
        let tables: Vec<&str> = progress
            .lines()
            .filter(|l| l.ends_with(" rows"))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(
            tables,
            [
                format!("{p}creditcard.creditcard"),
                format!("{p}iris.train"),
                format!("{p}iris.test")
            ],
            "{progress}"
        );
    }
    // The dump says CREATE TABLE IF NOT EXISTS without a DROP; a second load still
    // leaves the dump's rows, not twice as many.
    let t = query(
        &server,
        "",
        &format!("SELECT count(*) AS n FROM {p}creditcard.creditcard"),
    )
    .await;
    assert_eq!(t[0].rows, [[i(984)]]);
    let out = server
        .cli()
        .args(["-e", &format!("SELECT * FROM {p}boston.train")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "boston was not asked for");
}

#[tokio::test]
async fn a_table_that_cannot_be_replaced_fails_the_load_naming_the_error() {
    let server = Server::start();
    let p = prefix();
    query(
        &server,
        "",
        &format!("CREATE SCHEMA {p}iris; CREATE VIEW {p}iris.train AS SELECT 1 AS x"),
    )
    .await;
    let out = server
        .cli()
        .args(["demo-data", "iris", "--schema-prefix", &p])
        .output()
        .unwrap();
    let progress = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{progress}");
    assert!(
        progress.contains("ERROR: loading iris failed:") && progress.contains("DROP VIEW"),
        "{progress}"
    );
}
