//! What the end-to-end tests of SQLFlow programs share: the databases they run on
//! ([`Kind`], [`databases`]), running a program on one of them ([`run_on`]), and reading
//! back what a job gave ([`Table`], [`tables`], [`Output`], [`number`]); [`Db`] puts
//! a server, a database and a unique name prefix together.
//!
//! SQLite (the server's default datasource) is always there; MariaDB and PostgreSQL are
//! used when `SQLFLOW_TEST_MYSQL` / `SQLFLOW_TEST_POSTGRES` name them, and a test on
//! one that is not configured says on stderr that it was skipped. What a test sets up
//! on a database beyond `sqlflow demo-data` (its own tables, clean-up) is the test's own.

use sqlflow_grpc::sql_flow_client::SqlFlowClient;
use sqlflow_proto::sqlflow::{
    Figure, JobStatus, Request, Response, Session, cell::Value, job_status::Code, response,
};
use tonic::transport::Channel;

use crate::{Server, fetch_all, output_ok, run_with};

/// A database the tests run programs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The server's default datasource (the empty datasource).
    Sqlite,
    /// Named by `SQLFLOW_TEST_MYSQL`.
    MariaDb,
    /// Named by `SQLFLOW_TEST_POSTGRES`.
    Postgres,
}

impl Kind {
    /// The environment variable that names this database's datasource, with an example
    /// value; None for SQLite, which needs none.
    pub fn variable(self) -> Option<(&'static str, &'static str)> {
        match self {
            Kind::Sqlite => None,
            Kind::MariaDb => Some(("SQLFLOW_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")),
            Kind::Postgres => Some((
                "SQLFLOW_TEST_POSTGRES",
                "postgres://postgres@127.0.0.1:5432/test",
            )),
        }
    }

    /// The datasource to run `what` on: empty (the server's default) for SQLite, the
    /// variable's value for the others. None when the variable is not set, after a line
    /// on stderr: `<what> on <kind> skipped: set <variable> (e.g. <example>)`.
    pub fn datasource(self, what: &str) -> Option<String> {
        let Some((var, example)) = self.variable() else {
            return Some(String::new());
        };
        match std::env::var(var) {
            Ok(datasource) => Some(datasource),
            Err(_) => {
                eprintln!("{what} on {self:?} skipped: set {var} (e.g. {example})");
                None
            }
        }
    }
}

/// The databases to run `what` on, with their datasources: SQLite always, MariaDB and
/// PostgreSQL when their variables are set (see [`Kind::datasource`] for the others).
pub fn databases(what: &str) -> Vec<(Kind, String)> {
    [Kind::Sqlite, Kind::MariaDb, Kind::Postgres]
        .into_iter()
        .filter_map(|kind| Some((kind, kind.datasource(what)?)))
        .collect()
}

/// Submits `sql` with `datasource` in its session (empty: the server's default), and
/// returns a client and the job's id.
pub async fn submit(
    server: &Server,
    datasource: &str,
    sql: &str,
) -> (SqlFlowClient<Channel>, String) {
    let mut client = server.client().await;
    let job = run_with(
        &mut client,
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
    (client, job)
}

/// Runs `sql` on `datasource` (empty: the server's default) and follows the job to its
/// end with [`fetch_all`]: every response and the final status.
pub async fn run_on(server: &Server, datasource: &str, sql: &str) -> (Vec<Response>, JobStatus) {
    let (mut client, job) = submit(server, datasource, sql).await;
    fetch_all(&mut client, &job).await
}

/// A server started for a test, the database it runs the test's programs on, and a
/// name prefix unique to this run (tests share database servers), with the
/// `sqlflow demo-data` datasets the test asked for loaded under it.
pub struct Db {
    pub server: Server,
    pub kind: Kind,
    /// As [`Kind::datasource`] gave it: empty for SQLite (the server's default).
    pub datasource: String,
    /// The unique prefix of the test's schemas, tables and models: `<letter><pid>_<nanos>_`.
    pub p: String,
}

impl Db {
    /// Runs a program that must succeed: its output and the figures it sent, in order.
    pub async fn ok_with_figures(&self, sql: &str) -> (Output, Vec<Figure>) {
        let r = self.succeeds(sql).await;
        (Output::of(&r), figures(&r))
    }

    /// Starts a server for `kind` and loads `datasets` (`sqlflow demo-data` names; none:
    /// nothing is loaded) under a fresh prefix that starts with `prefix_letter`. None,
    /// after the line of [`Kind::datasource`] on stderr naming `what`, when `kind` is not
    /// configured.
    pub fn open(kind: Kind, what: &str, prefix_letter: &str, datasets: &[&str]) -> Option<Db> {
        let datasource = kind.datasource(what)?;
        let server = Server::start();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = format!("{prefix_letter}{}_{nanos}_", std::process::id());
        if !datasets.is_empty() {
            output_ok(
                server
                    .cli()
                    .args(["demo-data", "--schema-prefix", &p])
                    .args(datasets)
                    .env("SQLFLOW_DATASOURCE", &datasource),
            );
        }
        Some(Db {
            server,
            kind,
            datasource,
            p,
        })
    }

    /// The unique name prefix.
    pub fn p(&self) -> &str {
        &self.p
    }

    /// Runs `sql` with [`run_on`]: every response and the final status.
    pub async fn run(&self, sql: &str) -> (Vec<Response>, JobStatus) {
        run_on(&self.server, &self.datasource, sql).await
    }

    /// Runs `sql`, which must succeed (the failure shows the status and the program),
    /// and returns its responses.
    pub async fn succeeds(&self, sql: &str) -> Vec<Response> {
        let (r, s) = self.run(sql).await;
        assert_eq!(
            s.code(),
            Code::Succeeded,
            "{:?}: {}\nprogram:\n{sql}",
            self.kind,
            s.message
        );
        r
    }

    /// Runs `sql`, which must succeed, and reads what it gave.
    pub async fn ok(&self, sql: &str) -> Output {
        Output::of(&self.succeeds(sql).await)
    }

    /// Runs `sql`, which must fail, and returns the failure's message.
    pub async fn fails(&self, sql: &str) -> String {
        let (_, s) = self.run(sql).await;
        assert_eq!(
            s.code(),
            Code::Failed,
            "{:?}: expected a failure from:\n{sql}",
            self.kind
        );
        s.message
    }
}

/// A result table from a job's responses: a head and the rows that follow it.
#[derive(Debug)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<Value>>>,
}

impl Table {
    /// The index of the column named `name`, in any case (PostgreSQL folds names to
    /// lower case); panics, listing the columns, when there is none.
    pub fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.columns))
    }

    /// The cells of the column named `name` (any case), top to bottom.
    pub fn column(&self, name: &str) -> Vec<&Option<Value>> {
        let i = self.col(name);
        self.rows.iter().map(|r| &r[i]).collect()
    }

    /// Row `row`'s value in the column named `name` (any case), as a [`number`].
    pub fn num(&self, row: usize, name: &str) -> f64 {
        number(&self.rows[row][self.col(name)])
    }

    /// The first row's value in the column named `name` (any case), as a [`number`]:
    /// the metric of that name in a table `TO EVALUATE` wrote.
    pub fn metric(&self, name: &str) -> f64 {
        self.num(0, name)
    }

    /// Every row's value in the column named `name` (any case), as [`number`]s.
    pub fn nums(&self, name: &str) -> Vec<f64> {
        self.column(name).into_iter().map(number).collect()
    }

    /// Row `row`'s string in the column named `name` (any case); panics on anything else,
    /// NULL included.
    pub fn text(&self, row: usize, name: &str) -> String {
        match &self.rows[row][self.col(name)] {
            Some(Value::String(s)) => s.clone(),
            other => panic!("{name} is not text: {other:?}"),
        }
    }
}

/// The result tables in a job's responses, in order (messages and the rest left out).
pub fn tables(responses: &[Response]) -> Vec<Table> {
    Output::of(responses).tables
}

/// A cell as a number, whichever way the database gave it (double, integer or decimal);
/// panics on anything else, NULL included.
pub fn number(cell: &Option<Value>) -> f64 {
    match cell {
        Some(Value::Double(f)) => *f,
        Some(Value::Int64(i)) => *i as f64,
        Some(Value::Decimal(s)) => s.parse().expect("a decimal"),
        other => panic!("not a number: {other:?}"),
    }
}

/// What a job gave: its result tables and its messages (training logs, notes), each in
/// order.
#[derive(Debug, Default)]
pub struct Output {
    pub tables: Vec<Table>,
    pub messages: Vec<String>,
}

impl Output {
    /// Reads a job's responses.
    pub fn of(responses: &[Response]) -> Output {
        let mut out = Output::default();
        for r in responses {
            match &r.response {
                Some(response::Response::Head(h)) => out.tables.push(Table {
                    columns: h.column_names.clone(),
                    rows: Vec::new(),
                }),
                Some(response::Response::Row(row)) => {
                    if let Some(t) = out.tables.last_mut() {
                        t.rows
                            .push(row.cells.iter().map(|c| c.value.clone()).collect());
                    }
                }
                Some(response::Response::Message(m)) => out.messages.push(m.message.clone()),
                _ => {}
            }
        }
        out
    }

    /// Whether any message contains `needle`.
    pub fn has(&self, needle: &str) -> bool {
        self.messages.iter().any(|m| m.contains(needle))
    }

    /// The first message that starts with `prefix`; panics, listing the messages, when
    /// there is none.
    pub fn line(&self, prefix: &str) -> &str {
        self.messages
            .iter()
            .find(|m| m.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in {:#?}", self.messages))
    }

    /// The only result table; panics unless there is exactly one.
    pub fn table(&self) -> &Table {
        assert_eq!(self.tables.len(), 1, "{:#?}", self.tables);
        &self.tables[0]
    }
}

/// The figures among a job's responses, in order.
pub fn figures(responses: &[Response]) -> Vec<Figure> {
    responses
        .iter()
        .filter_map(|r| match &r.response {
            Some(response::Response::Figure(f)) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// The expected value SHAP explanations log (`... expected value value: 22.1`): the last
/// number of the first line that mentions it.
pub fn shap_expected_value(out: &Output) -> f64 {
    let line = out
        .messages
        .iter()
        .find(|m| m.contains("expected value"))
        .unwrap_or_else(|| panic!("{:#?}", out.messages));
    line.rsplit(": ")
        .next()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}
