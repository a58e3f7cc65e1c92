//! SQLFlow's statement grammar end to end, through the server and the CLI, on SQLite and
//! (when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set) on MariaDB and PostgreSQL:
//! names that are keywords, `TO PREDICT` without a column, the output shapes SQLFlow
//! gave, `TO RUN` of a program no operator listed refused by the engine (not by the
//! database), and MySQL's catalog statements on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::process::Output;

use sqlflow_e2e::{
    Server,
    results::{Kind, Table, number, run_on, tables},
    sqlflow::{JobStatus, Response, cell::Value, job_status::Code},
};

/// One database through one server, with a prefix of its own for every name a test
/// creates, so runs sharing a database server do not collide.
struct Db<'a> {
    server: &'a Server,
    kind: Kind,
    datasource: String,
    p: String,
}

/// The databases to run on (see [`sqlflow_e2e::results::databases`]), one prefix for all.
fn databases(server: &Server) -> Vec<Db<'_>> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let p = format!("l{}_{nanos}_", std::process::id());
    sqlflow_e2e::results::databases("language")
        .into_iter()
        .map(|(kind, datasource)| Db {
            server,
            kind,
            datasource,
            p: p.clone(),
        })
        .collect()
}

impl Db<'_> {
    async fn run(&self, sql: &str) -> (Vec<Response>, JobStatus) {
        run_on(self.server, &self.datasource, sql).await
    }

    async fn ok(&self, sql: &str) -> Vec<Table> {
        let (r, s) = self.run(sql).await;
        assert_eq!(
            s.code(),
            Code::Succeeded,
            "{:?}: {}\nprogram:\n{sql}",
            self.kind,
            s.message
        );
        tables(&r)
    }

    async fn fails(&self, sql: &str) -> String {
        let (_, s) = self.run(sql).await;
        assert_eq!(
            s.code(),
            Code::Failed,
            "{:?}: expected a failure from:\n{sql}",
            self.kind
        );
        s.message
    }

    /// The CLI running `sql` on this database.
    fn cli(&self, sql: &str) -> Output {
        self.server
            .cli()
            .args(["-e", sql])
            .env("SQLFLOW_DATASOURCE", &self.datasource)
            .output()
            .unwrap()
    }

    /// `name` quoted for this database's SQL.
    fn q(&self, name: &str) -> String {
        match self.kind {
            Kind::MariaDb => format!("`{name}`"),
            Kind::Sqlite | Kind::Postgres => format!("\"{name}\""),
        }
    }

    /// A two-class table `{p}kw(x1, "for", label)` that a decision tree fits exactly:
    /// a feature named like a keyword, and the label in a column called `label`.
    async fn keyword_table(&self) {
        let p = &self.p;
        let rows: Vec<String> = (0..20)
            .map(|i| format!("({i}, {}, {})", i % 3, i32::from(i >= 10)))
            .collect();
        self.ok(&format!(
            "DROP TABLE IF EXISTS {p}kw;\n\
             CREATE TABLE {p}kw (x1 DOUBLE PRECISION, {f} INT, label INT);\n\
             INSERT INTO {p}kw VALUES {};",
            rows.join(", "),
            f = self.q("for"),
        ))
        .await;
    }

    /// Drops what a test made on a shared database server.
    async fn drop_tables(&self, tables: &[&str]) {
        if self.kind == Kind::Sqlite {
            return;
        }
        let program: String = tables
            .iter()
            .map(|t| format!("DROP TABLE IF EXISTS {}{t};\n", self.p))
            .collect();
        let _ = self.run(&program).await;
    }
}

/// Text columns as MySQL shows them, NULL reading "NULL" (DESCRIBE's defaults).
trait Texts {
    /// Every row's text in the column named `name` (any case).
    fn texts(&self, name: &str) -> Vec<String>;
}

impl Texts for Table {
    fn texts(&self, name: &str) -> Vec<String> {
        self.column(name).into_iter().map(text).collect()
    }
}

fn text(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null(_)) => "NULL".into(),
        other => panic!("not text: {other:?}"),
    }
}

fn lower(names: &[String]) -> Vec<String> {
    names.iter().map(|n| n.to_ascii_lowercase()).collect()
}

#[tokio::test]
async fn labels_and_columns_may_be_keywords_or_quoted() {
    let server = Server::start();
    for db in databases(&server) {
        let p = &db.p;
        db.keyword_table().await;
        let t = db
            .ok(&format!(
                "SELECT * FROM {p}kw TO TRAIN DecisionTreeClassifier COLUMN x1, for LABEL label INTO {p}m_bare;\n\
                 SELECT * FROM {p}kw TO TRAIN DecisionTreeClassifier COLUMN `x1`, \"for\" LABEL `label` INTO {p}m_tick;\n\
                 SELECT * FROM {p}kw TO TRAIN DecisionTreeClassifier LABEL \"label\" INTO {p}m_dq;\n\
                 SELECT * FROM {p}kw TO EVALUATE {p}m_bare WITH validation.metrics = \"Accuracy\" LABEL label INTO {p}e1;\n\
                 SELECT * FROM {p}kw TO EVALUATE {p}m_tick WITH validation.metrics = \"Accuracy\" LABEL `label` INTO {p}e2;\n\
                 SELECT * FROM {p}kw TO EVALUATE {p}m_dq WITH validation.metrics = \"Accuracy\" LABEL \"label\" INTO {p}e3;\n\
                 SELECT * FROM {p}e1; SELECT * FROM {p}e2; SELECT * FROM {p}e3;\n\
                 SHOW TRAIN {p}m_bare; SHOW TRAIN {p}m_tick; SHOW TRAIN {p}m_dq;"
            ))
            .await;
        assert_eq!(t.len(), 6, "{:?}", db.kind);
        for e in &t[..3] {
            let acc = number(e.column("Accuracy")[0]);
            assert!(acc > 0.99, "{:?}: training accuracy {acc}", db.kind);
        }
        for show in &t[3..] {
            assert_eq!(show.texts("Features"), ["x1, for"], "{:?}", db.kind);
            assert_eq!(show.texts("Label"), ["label"], "{:?}", db.kind);
        }
        // A keyword with nothing a name can be followed by is still a syntax error.
        let m = db
            .fails(&format!(
                "SELECT * FROM {p}kw TO TRAIN DecisionTreeClassifier LABEL INTO {p}m_bad"
            ))
            .await;
        assert!(
            m.contains("expected a label column after LABEL, found 'INTO'"),
            "{m}"
        );
        db.drop_tables(&["kw", "m_bare", "m_tick", "m_dq", "e1", "e2", "e3"])
            .await;
    }
}

#[tokio::test]
async fn predict_without_a_column_names_the_result_after_the_label() {
    let server = Server::start();
    for db in databases(&server) {
        let p = &db.p;
        db.keyword_table().await;
        let t = db
            .ok(&format!(
                "SELECT * FROM {p}kw TO TRAIN DecisionTreeClassifier LABEL label INTO {p}m;\n\
                 SELECT * FROM {p}kw TO PREDICT {p}pred USING {p}m;\n\
                 SELECT * FROM {p}pred ORDER BY x1;\n\
                 SELECT x1, {f} FROM {p}kw TO PREDICT {p}pred2 USING {p}m;\n\
                 SELECT * FROM {p}pred2 ORDER BY x1;",
                f = db.q("for"),
            ))
            .await;
        for pred in &t {
            // The selected columns, the label's column replaced by the prediction.
            assert_eq!(
                lower(&pred.columns),
                ["x1", "for", "label"],
                "{:?}",
                db.kind
            );
            let labels: Vec<f64> = pred.column("label").into_iter().map(number).collect();
            let want: Vec<f64> = (0..20).map(|i| f64::from(u8::from(i >= 10))).collect();
            assert_eq!(labels, want, "{:?}", db.kind);
        }
        // A model without a label has nothing to name the column after.
        let m = db
            .fails(&format!(
                "SELECT x1 FROM {p}kw TO TRAIN KMeans WITH model.n_clusters = 2 INTO {p}km;\n\
                 SELECT x1 FROM {p}kw TO PREDICT {p}pk USING {p}km;"
            ))
            .await;
        assert!(
            m.contains("no label") && m.contains(&format!("TO PREDICT {p}pk.<column>")),
            "{m}"
        );
        db.drop_tables(&["kw", "m", "pred", "pred2", "km"]).await;
    }
}

#[tokio::test]
async fn show_train_evaluate_and_predict_give_sqlflows_shapes() {
    let server = Server::start();
    for db in databases(&server) {
        let p = &db.p;
        db.keyword_table().await;
        let t = db
            .ok(&format!(
                "SELECT * FROM {p}kw TO TRAIN DecisionTreeClassifier WITH model.max_depth = 3 LABEL label INTO {p}m;\n\
                 SHOW TRAIN {p}m;\n\
                 SELECT * FROM {p}kw TO EVALUATE {p}m WITH validation.metrics = \"Accuracy,F1\" LABEL label INTO {p}ev;\n\
                 SELECT * FROM {p}ev;\n\
                 SELECT * FROM {p}kw TO EVALUATE {p}m LABEL label INTO {p}ev_all;\n\
                 SELECT * FROM {p}ev_all;\n\
                 SELECT * FROM {p}kw TO PREDICT {p}pr.guess USING {p}m;\n\
                 SELECT * FROM {p}pr;"
            ))
            .await;
        let (show, ev, ev_all, pr) = (&t[0], &t[1], &t[2], &t[3]);
        assert_eq!(
            show.columns[..2],
            ["Model", "Train Statement"],
            "{:?}",
            db.kind
        );
        assert_eq!(show.rows.len(), 1);
        assert_eq!(text(&show.rows[0][0]), format!("{p}m"));
        assert!(
            text(&show.rows[0][1]).starts_with(&format!(
                "SELECT * FROM {p}kw TO TRAIN DecisionTreeClassifier WITH model.max_depth = 3"
            )),
            "{:?}",
            show.rows[0]
        );
        assert_eq!(show.texts("Estimator"), ["DecisionTreeClassifier"]);
        // One column per metric, one row.
        assert_eq!(lower(&ev.columns), ["accuracy", "f1"], "{:?}", db.kind);
        assert_eq!(ev.rows.len(), 1);
        assert!(ev.rows[0].iter().all(|v| (0.0..=1.0).contains(&number(v))));
        assert!(
            ev_all.columns.len() >= 4 && lower(&ev_all.columns).contains(&"accuracy".into()),
            "{:?}",
            ev_all.columns
        );
        assert_eq!(ev_all.rows.len(), 1);
        assert_eq!(ev_all.rows[0].len(), ev_all.columns.len());
        // The selected columns plus the result column.
        assert_eq!(
            lower(&pr.columns),
            ["x1", "for", "label", "guess"],
            "{:?}",
            db.kind
        );
        assert_eq!(pr.rows.len(), 20);
        db.drop_tables(&["kw", "m", "ev", "ev_all", "pr"]).await;
    }
}

#[tokio::test]
async fn to_run_of_an_unlisted_program_is_refused_by_the_engine_not_the_database() {
    let server = Server::start();
    for db in databases(&server) {
        for (statement, clause) in [(
            "SELECT * FROM source ORDER BY created TO RUN a_data_scientist/ts_processor:1.0 \
                 CMD \"slide_window_to_row\", \"--window=120\" INTO features",
            "TO RUN a_data_scientist/ts_processor:1.0: this server runs no program of that name",
        )] {
            let program = format!("SELECT 1 AS before_it;\n{statement};\nSELECT 2 AS never;");
            let (responses, status) = db.run(&program).await;
            assert_eq!(status.code(), Code::Failed, "{:?}: {program}", db.kind);
            let m = &status.message;
            assert!(
                m.contains(&format!("statement 2 of 3 failed: {clause}")),
                "{:?}: {m}",
                db.kind
            );
            assert!(!m.contains("syntax"), "the database saw it: {m}");
            let t = tables(&responses);
            assert_eq!(t.len(), 1, "only the statement before it ran");
            assert_eq!(lower(&t[0].columns), ["before_it"]);

            let out = db.cli(statement);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(stderr.contains(clause), "{:?}: {stderr}", db.kind);
        }
    }
}

#[tokio::test]
async fn mysql_catalog_statements_answer_on_sqlite_and_postgresql_as_on_mariadb() {
    let server = Server::start();
    for db in databases(&server) {
        let p = &db.p;
        let t = db
            .ok(&format!(
                "CREATE TABLE {p}cat (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x', \
                 score DOUBLE PRECISION, UNIQUE (name));\n\
                 CREATE INDEX {p}cat_score ON {p}cat (score);\n\
                 CREATE SCHEMA {p}s;\n\
                 CREATE TABLE {p}s.inner_t (a INT);\n\
                 SHOW TABLES;\n\
                 SHOW TABLES LIKE '{p}%';\n\
                 SHOW TABLES FROM {p}s;\n\
                 SHOW DATABASES;\n\
                 SHOW DATABASES LIKE '{p}%';\n\
                 DESCRIBE {p}cat;\n\
                 DESC {p}s.inner_t;\n\
                 SHOW COLUMNS FROM {p}cat;\n\
                 SHOW COLUMNS FROM inner_t FROM {p}s;"
            ))
            .await;
        assert_eq!(t.len(), 9, "{:?}", db.kind);
        let all = &t[0];
        assert_eq!(all.columns.len(), 1);
        let in_db = match db.kind {
            Kind::Sqlite => "Tables_in_main".to_string(),
            // A MySQL database is a PostgreSQL schema; the default is current_schema().
            Kind::Postgres => "Tables_in_public".to_string(),
            _ => format!(
                "Tables_in_{}",
                db.datasource.rsplit('/').next().unwrap_or_default()
            ),
        };
        assert_eq!(all.columns[0], in_db, "{:?}", db.kind);
        assert!(all.texts(&in_db).contains(&format!("{p}cat")));
        // MySQL names the column after the pattern too.
        let in_db_like = format!("{in_db} ({p}%)");
        assert_eq!(t[1].columns, std::slice::from_ref(&in_db_like));
        assert_eq!(t[1].texts(&in_db_like), [format!("{p}cat")]);
        assert_eq!(t[2].columns, [format!("Tables_in_{p}s")]);
        assert_eq!(t[2].texts(&format!("Tables_in_{p}s")), ["inner_t"]);
        assert_eq!(t[3].columns, ["Database"]);
        assert!(t[3].texts("Database").contains(&format!("{p}s")));
        assert_eq!(t[4].columns, [format!("Database ({p}%)")]);
        assert_eq!(t[4].texts(&format!("Database ({p}%)")), [format!("{p}s")]);

        let describe = &t[5];
        assert_eq!(
            describe.columns,
            ["Field", "Type", "Null", "Key", "Default", "Extra"],
            "{:?}",
            db.kind
        );
        assert_eq!(describe.texts("Field"), ["id", "name", "score"]);
        let types = lower(&describe.texts("Type"));
        // Each database's own type names.
        let varchar = match db.kind {
            Kind::Postgres => "character varying(20)",
            _ => "varchar(20)",
        };
        assert!(
            types[0].starts_with("int") && types[1] == varchar && types[2].starts_with("double"),
            "{types:?}"
        );
        assert_eq!(describe.texts("Null"), ["NO", "NO", "YES"], "{:?}", db.kind);
        assert_eq!(
            describe.texts("Key"),
            ["PRI", "UNI", "MUL"],
            "{:?}",
            db.kind
        );
        assert_eq!(
            describe.texts("Default"),
            ["NULL", "x", "NULL"],
            "{:?}",
            db.kind
        );
        assert_eq!(t[6].texts("Field"), ["a"]);
        assert_eq!(t[7].rows, describe.rows, "SHOW COLUMNS is DESCRIBE");
        assert_eq!(t[8].rows, t[6].rows);

        let m = db.fails(&format!("DESCRIBE {p}nope")).await;
        assert!(m.contains(&format!("{p}nope' doesn't exist")), "{m}");
        let m = db.fails(&format!("SHOW TABLES FROM {p}nowhere")).await;
        assert!(m.contains(&format!("Unknown database '{p}nowhere'")), "{m}");

        let out = db.cli(&format!("SHOW TABLES LIKE '{p}%'"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&in_db) && stdout.contains(&format!("{p}cat")),
            "{stdout}"
        );

        match db.kind {
            Kind::MariaDb => {
                db.run(&format!(
                    "DROP TABLE IF EXISTS {p}cat; DROP DATABASE IF EXISTS {p}s;"
                ))
                .await;
            }
            Kind::Postgres => {
                db.run(&format!(
                    "DROP TABLE IF EXISTS {p}cat; DROP SCHEMA IF EXISTS {p}s CASCADE;"
                ))
                .await;
            }
            Kind::Sqlite => {}
        }
    }
}
