//! Test support: the fake API server, and runner replicas built through the plugin SDK
//! (the same entry-point wrapper, runtime and ABI the server uses) on top of it.

#![allow(dead_code)]

pub mod fake;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RStr},
};
use argo_runner::{ArgoRunner, Config, Tuning};
use prost::Message as _;
use serde_json::{Value, json};
use sqlflow_plugin_api::{
    FetchWakerBox, HostBox, JobRunnerBox, RunnerError,
    abi::{Host, level},
    sdk::{self, PluginContext},
};
use sqlflow_plugin_host::NotifyWaker;
use sqlflow_proto::{
    plugin::{Caller, CancelCall, FetchCall, ListJobsCall, RunCall},
    sqlflow::{
        EndOfExecution, FetchRequest, Head, JobId, JobStatus, ListJobsRequest, ListJobsResponse,
        Message, Request, Response, Responses, Row, Session, cell, message::Kind, response,
    },
    step::{Failure, Record, StatementStart, record},
    stream::encode_record,
};

pub use fake::{Fake, NS, T0};

/// Prints the plugin's log lines (and panic messages) to stderr, where the test
/// harness shows them for failing tests.
struct PrintHost;

impl Host for PrintHost {
    fn max_level(&self) -> u8 {
        if std::env::var_os("ARGO_TEST_LOG").is_some() {
            level::DEBUG
        } else {
            level::WARN
        }
    }

    fn log(&self, lvl: u8, target: RStr<'_>, message: RStr<'_>) {
        eprintln!("[argo runner {lvl}] {target}: {message}");
    }
}

/// One server replica's runner, called through the ABI with typed messages.
pub struct Replica {
    runner: JobRunnerBox,
    pub user: String,
}

pub fn base_config() -> Value {
    json!({"step_image": "registry.example/sqlflow-step:test", "log_poll_ms": 100})
}

pub fn fast_tuning() -> Tuning {
    Tuning {
        reap_every: Duration::from_millis(200),
        sweep_every: Duration::from_secs(3600),
        sweep_min_age: Duration::from_secs(120),
        cancel_wait: Duration::from_millis(300),
    }
}

impl Replica {
    /// A replica talking to `fake`, configured by `config` (a `[runners.argo]` table).
    pub fn start(fake: &Fake, config: Value, tuning: Tuning) -> Replica {
        let fake = fake.clone();
        let create = move |json: &str, ctx: &PluginContext| -> Result<ArgoRunner, RunnerError> {
            let cfg: Config = sdk::parse_config(json)?;
            cfg.validate()?;
            let (svc, handle) = tower_test::mock::pair::<
                http::Request<kube::client::Body>,
                http::Response<kube::client::Body>,
            >();
            ctx.runtime.spawn(fake.serve(handle));
            let client = kube::Client::new(svc, NS);
            Ok(ArgoRunner::new(
                client,
                NS,
                cfg,
                ctx.runtime.clone(),
                tuning,
            ))
        };
        let host = HostBox::from_ptr(RArc::new(PrintHost), TD_Opaque);
        let config = config.to_string();
        let runner = match sdk::create_runner("argo", RStr::from_str(&config), host, create) {
            RResult::ROk(r) => r,
            RResult::RErr(e) => panic!("create: {e:?}"),
        };
        let r = Replica {
            runner,
            user: "alice".into(),
        };
        r.wait_healthy();
        r
    }

    pub fn acting_as(mut self, user: &str) -> Self {
        self.user = user.into();
        self
    }

    fn caller(&self) -> Option<Caller> {
        Some(Caller {
            user_id: self.user.clone(),
            panic_probe: false,
        })
    }

    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.health() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("never healthy: {e:?}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    pub fn health(&self) -> Result<(), RunnerError> {
        self.runner.health().into_result()
    }

    pub fn run_request(&self, req: Request) -> Result<String, RunnerError> {
        let call = RunCall {
            request: Some(req),
            caller: self.caller(),
        };
        let bytes = self
            .runner
            .run(call.encode_to_vec().as_slice().into())
            .into_result()?;
        Ok(JobId::decode(bytes.as_slice()).expect("JobId").job_id)
    }

    pub fn run(&self, sql: &str) -> Result<String, RunnerError> {
        self.run_request(request(sql, "mysql://u:secret@db:3306/x"))
    }

    pub fn fetch_with(
        &self,
        job: &str,
        cursor: &str,
        waker: Option<FetchWakerBox>,
    ) -> Result<Responses, RunnerError> {
        let call = FetchCall {
            request: Some(FetchRequest {
                job: Some(JobId { job_id: job.into() }),
                cursor: cursor.into(),
                wait_ms: 0,
            }),
            caller: self.caller(),
        };
        let bytes = self
            .runner
            .fetch(call.encode_to_vec().as_slice().into(), ROption::from(waker))
            .into_result()?;
        Ok(Responses::decode(bytes.as_slice()).expect("Responses"))
    }

    pub fn fetch(&self, job: &str, cursor: &str) -> Result<Responses, RunnerError> {
        self.fetch_with(job, cursor, None)
    }

    pub fn cancel(&self, job: &str) -> Result<JobStatus, RunnerError> {
        let call = CancelCall {
            job: Some(JobId { job_id: job.into() }),
            caller: self.caller(),
        };
        let bytes = self
            .runner
            .cancel(call.encode_to_vec().as_slice().into())
            .into_result()?;
        Ok(JobStatus::decode(bytes.as_slice()).expect("JobStatus"))
    }

    pub fn list(&self, page_size: u32, token: &str) -> Result<ListJobsResponse, RunnerError> {
        let call = ListJobsCall {
            request: Some(ListJobsRequest {
                page_size,
                page_token: token.into(),
            }),
            caller: self.caller(),
        };
        let bytes = self
            .runner
            .list_jobs(call.encode_to_vec().as_slice().into())
            .into_result()?;
        Ok(ListJobsResponse::decode(bytes.as_slice()).expect("ListJobsResponse"))
    }

    /// Fetches from `cursor` until nothing new comes; returns every page.
    pub fn drain(&self, job: &str, cursor: &str) -> Vec<(String, Responses)> {
        let mut pages = Vec::new();
        let mut c = cursor.to_string();
        for _ in 0..1000 {
            let r = self.fetch(job, &c).expect("fetch");
            let next = r.next_cursor.clone();
            let quiet = r.response.is_empty() && next == c;
            let eof = r.eof;
            pages.push((c.clone(), r));
            if quiet || eof {
                return pages;
            }
            c = next;
        }
        panic!("no end after 1000 fetches");
    }

    /// Waits until a fetch says `code`.
    pub fn wait_for(&self, job: &str, code: sqlflow_proto::sqlflow::job_status::Code) -> JobStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self
                .fetch(job, "")
                .expect("fetch")
                .job_status
                .unwrap_or_default();
            if s.code() == code {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "still {:?} ({})",
                s.code(),
                s.message
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn notify_waker(n: &Arc<tokio::sync::Notify>) -> FetchWakerBox {
    NotifyWaker::boxed(n)
}

pub fn request(sql: &str, datasource: &str) -> Request {
    Request {
        sql: sql.into(),
        session: Some(Session {
            db_conn_str: datasource.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Waits until `f` holds (the watch delivers within milliseconds).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- Record lines, as sqlflow-step writes them ----

fn line(r: record::Record) -> Vec<u8> {
    let mut out = Vec::new();
    encode_record(&Record { record: Some(r) }, &mut out);
    out.pop();
    out
}

fn resp(r: response::Response) -> Vec<u8> {
    line(record::Record::Response(Response { response: Some(r) }))
}

pub fn start_line(i: u32, n: u32, sql: &str) -> Vec<u8> {
    line(record::Record::Start(StatementStart {
        statement_index: i,
        statement_count: n,
        statement: sql.into(),
    }))
}

pub fn head_line(cols: &[&str]) -> Vec<u8> {
    resp(response::Response::Head(Head {
        column_names: cols.iter().map(|c| c.to_string()).collect(),
        column_types: vec![],
    }))
}

pub fn row_line(v: i64) -> Vec<u8> {
    resp(response::Response::Row(Row {
        cells: vec![sqlflow_proto::sqlflow::Cell {
            value: Some(cell::Value::Int64(v)),
        }],
    }))
}

pub fn eoe_line(i: u32, sql: &str) -> Vec<u8> {
    resp(response::Response::Eoe(EndOfExecution {
        sql: sql.into(),
        spent_time_seconds: 0,
        spent_time_micros: 1234,
        statement_index: i,
    }))
}

pub fn progress_line(text: &str) -> Vec<u8> {
    resp(response::Response::Message(Message {
        message: text.into(),
        kind: Kind::Progress as i32,
    }))
}

pub fn failure_line(i: u32, sql: &str, error: &str) -> Vec<u8> {
    line(record::Record::Failure(Failure {
        statement_index: i,
        statement: sql.into(),
        error: error.into(),
        setup: false,
    }))
}

/// A compact description of responses for assertions.
pub fn describe(rs: &[Response]) -> Vec<String> {
    rs.iter()
        .map(|r| match &r.response {
            Some(response::Response::Head(h)) => format!("head {}", h.column_names.join(",")),
            Some(response::Response::Row(row)) => format!(
                "row {}",
                row.cells
                    .iter()
                    .map(|c| format!("{:?}", c.value))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Some(response::Response::Message(m)) => format!("msg {:?} {}", m.kind(), m.message),
            Some(response::Response::Figure(f)) => {
                format!("figure {} {} {} bytes", f.title, f.mime_type, f.data.len())
            }
            Some(response::Response::Eoe(e)) => format!("eoe {} {}", e.statement_index, e.sql),
            None => "none".into(),
        })
        .collect()
}

/// [`describe`] of every page's responses, in order.
pub fn describe_pages(pages: &[(String, Responses)]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|(_, p)| describe(&p.response))
        .collect()
}
