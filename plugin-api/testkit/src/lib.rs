//! Conformance checks for a job runner plugin `.so`, through the same loader and ABI
//! the server uses. A runner author calls [`check_runner`] from a test:
//!
//! ```ignore
//! let report = sqlflow_runner_testkit::check_runner(
//!     Path::new("target/debug/libmy_runner.so"),
//!     r#"{"some": "config"}"#,
//!     &Fixtures::sqlite("/tmp/kit.db"),
//! );
//! report.assert_all_passed();
//! ```
//!
//! The checks: the library loads; run → fetch to the end; every cursor replays the same
//! responses; a failing statement fails the job with a message and keeps earlier output;
//! cancel ends a job as CANCELLED and is harmless when repeated; unknown jobs are
//! NOT_FOUND; malformed cursors INVALID_ARGUMENT; a panic inside the runner becomes an
//! INTERNAL error and the runner keeps serving; a long-poll waker is woken.

use std::{
    fmt,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use sqlflow_plugin_api::{
    ErrorCode, RunnerError,
    loader::{self, NotifyWaker, Plugin, PluginRunner, TracingHost},
};
use sqlflow_proto::{
    plugin::{Caller, CancelCall, FetchCall, RunCall},
    sqlflow::{
        FetchRequest, JobId, Request, Response, Responses, Session, job_status::Code, response,
    },
};

/// The programs the checks submit, for the runner's datasource.
#[derive(Debug, Clone)]
pub struct Fixtures {
    pub datasource: String,
    /// Succeeds and returns at least one table.
    pub ok_program: String,
    /// Its first statement succeeds and returns a table; its second fails.
    pub failing_program: String,
    /// Runs for a long time (a minute or more) without finishing.
    pub slow_program: String,
    /// How long the ok program may take, start to end, on this runner.
    pub finish_within: Duration,
    /// How long a cancel may take to end a job.
    pub cancel_within: Duration,
}

impl Fixtures {
    /// Programs for a SQLite database at `path`.
    pub fn sqlite(path: &Path) -> Self {
        Fixtures {
            datasource: format!("sqlite://{}", path.display()),
            ok_program: "CREATE TABLE IF NOT EXISTS kit(a INTEGER, b TEXT);\n\
                         INSERT INTO kit VALUES (1, 'one'), (2, NULL);\n\
                         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)\n\
                         SELECT i, 'row ' || i AS label, i * 0.5 AS half FROM n;"
                .into(),
            failing_program: "SELECT 1 AS first; SELECT * FROM no_such_table_anywhere; SELECT 3;"
                .into(),
            // sqlflow-rs's SQLite has MySQL's sleep(); it holds the job without using CPU.
            slow_program: "SELECT sleep(3600);".into(),
            finish_within: Duration::from_secs(30),
            cancel_within: Duration::from_secs(5),
        }
    }
}

/// The outcome of each check.
#[derive(Debug)]
pub struct Report {
    pub plugin: String,
    pub results: Vec<(&'static str, Result<(), String>)>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.results.iter().all(|(_, r)| r.is_ok())
    }

    /// Panics with the list of failed checks.
    pub fn assert_all_passed(&self) {
        assert!(self.passed(), "{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of {}:", self.plugin)?;
        for (name, r) in &self.results {
            match r {
                Ok(()) => writeln!(f, "  ok    {name}")?,
                Err(e) => writeln!(f, "  FAIL  {name}: {e}")?,
            }
        }
        Ok(())
    }
}

type Check = Result<(), String>;
type CheckFn = fn(&Kit) -> Check;

/// Loads the plugin at `path`, creates a runner from `config_json`, and runs every check.
pub fn check_runner(path: &Path, config_json: &str, fx: &Fixtures) -> Report {
    let plugin = match loader::load(path) {
        Ok(p) => p,
        Err(e) => {
            return Report {
                plugin: path.display().to_string(),
                results: vec![("loads", Err(e.to_string()))],
            };
        }
    };
    let name = format!("{} {} ({})", plugin.name, plugin.version, path.display());
    let runner = match create(&plugin, config_json) {
        Ok(r) => r,
        Err(e) => {
            return Report {
                plugin: name,
                results: vec![("loads", Ok(())), ("creates", Err(e))],
            };
        }
    };
    let kit = Kit {
        runner,
        fx: fx.clone(),
    };
    let checks: Vec<(&'static str, CheckFn)> = vec![
        ("run then fetch to eof", Kit::run_then_fetch_to_eof),
        ("cursor replay", Kit::cursor_replay),
        ("failing statement", Kit::failing_statement),
        ("cancel", Kit::cancel),
        ("unknown job", Kit::unknown_job),
        ("malformed cursor", Kit::malformed_cursor),
        ("panic containment", Kit::panic_containment),
        ("long-poll waker", Kit::long_poll_waker),
        ("health", Kit::health),
    ];
    let mut results = vec![("loads", Ok(())), ("creates", Ok(()))];
    for (check_name, check) in checks {
        results.push((check_name, check(&kit)));
    }
    Report {
        plugin: name,
        results,
    }
}

fn create(plugin: &Plugin, config_json: &str) -> Result<PluginRunner, String> {
    plugin
        .create(config_json, TracingHost::boxed(plugin.name.clone()))
        .map_err(|e| format!("{:?}: {}", e.code, e.message))
}

struct Kit {
    runner: PluginRunner,
    fx: Fixtures,
}

fn caller() -> Caller {
    Caller {
        user_id: "conformance".into(),
        panic_probe: false,
    }
}

fn err_text(e: &RunnerError) -> String {
    format!("{:?}: {}", e.code, e.message)
}

/// `what` must have failed with `code`.
fn want_error<T>(r: Result<T, RunnerError>, code: ErrorCode, what: &str) -> Check {
    match r {
        Err(e) if e.code == code => Ok(()),
        Err(e) => Err(format!("{what}: {}, want {}", err_text(&e), code.name())),
        Ok(_) => Err(format!("{what} succeeded, want {}", code.name())),
    }
}

/// Everything fetched from one starting cursor to the end.
struct Transcript {
    /// (cursor sent, responses received), one per non-empty page.
    pages: Vec<(String, Vec<Response>)>,
    last: Responses,
}

impl Transcript {
    fn responses(&self) -> Vec<Response> {
        self.pages.iter().flat_map(|(_, r)| r.clone()).collect()
    }
}

impl Kit {
    fn submit(&self, program: &str) -> Result<String, String> {
        let call = RunCall {
            request: Some(Request {
                sql: program.into(),
                session: Some(Session {
                    db_conn_str: self.fx.datasource.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            caller: Some(caller()),
        };
        let id = self
            .runner
            .run(&call)
            .map_err(|e| format!("run: {}", err_text(&e)))?;
        if id.job_id.is_empty() {
            return Err("run returned an empty job id".into());
        }
        Ok(id.job_id)
    }

    fn fetch(&self, job: &str, cursor: &str) -> Result<Responses, RunnerError> {
        self.runner.fetch(
            &FetchCall {
                request: Some(FetchRequest {
                    job: Some(JobId { job_id: job.into() }),
                    cursor: cursor.into(),
                    wait_ms: 0,
                }),
                caller: Some(caller()),
            },
            None,
        )
    }

    fn follow(&self, job: &str, from: &str, within: Duration) -> Result<Transcript, String> {
        let deadline = Instant::now() + within;
        let mut cursor = from.to_string();
        let mut pages = Vec::new();
        loop {
            let r = self
                .fetch(job, &cursor)
                .map_err(|e| format!("fetch: {}", err_text(&e)))?;
            if !r.response.is_empty() {
                pages.push((cursor.clone(), r.response.clone()));
            }
            if r.eof {
                return Ok(Transcript { pages, last: r });
            }
            if r.next_cursor.is_empty() {
                return Err("fetch returned an empty next_cursor before eof".into());
            }
            cursor = r.next_cursor.clone();
            if Instant::now() > deadline {
                return Err(format!(
                    "job {job} did not reach eof within {within:?} (status {:?})",
                    r.job_status.map(|s| s.code())
                ));
            }
            if r.response.is_empty() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    fn run_then_fetch_to_eof(&self) -> Check {
        let job = self.submit(&self.fx.ok_program)?;
        let t = self.follow(&job, "", self.fx.finish_within)?;
        let status = t.last.job_status.clone().unwrap_or_default();
        if status.code() != Code::Succeeded {
            return Err(format!("ended {:?}: {}", status.code(), status.message));
        }
        let all = t.responses();
        let kinds = |f: fn(&response::Response) -> bool| {
            all.iter()
                .filter(|r| r.response.as_ref().is_some_and(f))
                .count()
        };
        if kinds(|r| matches!(r, response::Response::Head(_))) == 0 {
            return Err("no Head among the responses".into());
        }
        if kinds(|r| matches!(r, response::Response::Row(_))) == 0 {
            return Err("no Row among the responses".into());
        }
        if !matches!(
            all.last().and_then(|r| r.response.as_ref()),
            Some(response::Response::Eoe(_))
        ) {
            return Err("the last response is not an EndOfExecution".into());
        }
        // Fetching again at the end is harmless and still says eof.
        let again = self
            .fetch(&job, &t.last.next_cursor)
            .map_err(|e| format!("fetch after eof: {}", err_text(&e)))?;
        if !again.eof || !again.response.is_empty() {
            return Err("a fetch at the final cursor did not return eof with nothing new".into());
        }
        Ok(())
    }

    fn cursor_replay(&self) -> Check {
        let job = self.submit(&self.fx.ok_program)?;
        let first = self.follow(&job, "", self.fx.finish_within)?;
        let second = self.follow(&job, "", self.fx.finish_within)?;
        if first.responses() != second.responses() {
            return Err("two reads from the start of a finished job differ".into());
        }
        for (cursor, page) in &first.pages {
            let r = self
                .fetch(&job, cursor)
                .map_err(|e| format!("replaying cursor {cursor:?}: {}", err_text(&e)))?;
            if &r.response != page {
                return Err(format!(
                    "cursor {cursor:?} returned different responses on replay"
                ));
            }
        }
        Ok(())
    }

    fn failing_statement(&self) -> Check {
        let job = self.submit(&self.fx.failing_program)?;
        let t = self.follow(&job, "", self.fx.finish_within)?;
        let status = t.last.job_status.clone().unwrap_or_default();
        if status.code() != Code::Failed {
            return Err(format!("ended {:?}, want FAILED", status.code()));
        }
        if status.message.trim().is_empty() {
            return Err("FAILED without a message".into());
        }
        let all = t.responses();
        let earlier_rows = all
            .iter()
            .any(|r| matches!(r.response, Some(response::Response::Row(_))));
        if !earlier_rows {
            return Err("the first statement's result is not fetchable after the failure".into());
        }
        Ok(())
    }

    fn cancel(&self) -> Check {
        let job = self.submit(&self.fx.slow_program)?;
        let call = CancelCall {
            job: Some(JobId {
                job_id: job.clone(),
            }),
            caller: Some(caller()),
        };
        let started = Instant::now();
        let mut status = self
            .runner
            .cancel(&call)
            .map_err(|e| format!("cancel: {}", err_text(&e)))?;
        while status.code() != Code::Cancelled && started.elapsed() < self.fx.cancel_within {
            std::thread::sleep(Duration::from_millis(50));
            status = self
                .fetch(&job, "")
                .map_err(|e| format!("fetch: {}", err_text(&e)))?
                .job_status
                .unwrap_or_default();
        }
        if status.code() != Code::Cancelled {
            return Err(format!(
                "still {:?} {:?} after cancel",
                status.code(),
                self.fx.cancel_within
            ));
        }
        let t = self.follow(&job, "", self.fx.cancel_within)?;
        if t.last.job_status.unwrap_or_default().code() != Code::Cancelled {
            return Err("a fetch after cancel does not say CANCELLED".into());
        }
        let again = self
            .runner
            .cancel(&call)
            .map_err(|e| format!("a second cancel failed: {}", err_text(&e)))?;
        if again.code() != Code::Cancelled {
            return Err(format!("a second cancel says {:?}", again.code()));
        }
        Ok(())
    }

    fn unknown_job(&self) -> Check {
        for id in [
            "00000000000000000000000000000000",
            "no-such-job",
            "../../etc/passwd",
        ] {
            want_error(
                self.fetch(id, ""),
                ErrorCode::NOT_FOUND,
                &format!("fetch of {id:?}"),
            )?;
            let cancel = self.runner.cancel(&CancelCall {
                job: Some(JobId { job_id: id.into() }),
                caller: Some(caller()),
            });
            want_error(cancel, ErrorCode::NOT_FOUND, &format!("cancel of {id:?}"))?;
        }
        Ok(())
    }

    fn malformed_cursor(&self) -> Check {
        let job = self.submit(&self.fx.ok_program)?;
        for bad in [
            "not a cursor",
            "\u{0}\u{1}",
            "999999999999999999999999999999",
        ] {
            want_error(
                self.fetch(&job, bad),
                ErrorCode::INVALID_ARGUMENT,
                &format!("cursor {bad:?}"),
            )?;
        }
        Ok(())
    }

    fn panic_containment(&self) -> Check {
        let probe = Caller {
            user_id: "conformance".into(),
            panic_probe: true,
        };
        let r = self.runner.run(&RunCall {
            request: Some(Request {
                sql: "SELECT 1".into(),
                ..Default::default()
            }),
            caller: Some(probe.clone()),
        });
        match r {
            Err(e) if e.code == ErrorCode::INTERNAL && e.message.contains("panic") => {}
            Err(e) => return Err(format!("panic probe gave {}, want INTERNAL", err_text(&e))),
            Ok(_) => {
                return Err("the panic probe was ignored: wrap entry points with the SDK".into());
            }
        }
        let r = self.runner.fetch(
            &FetchCall {
                request: Some(FetchRequest::default()),
                caller: Some(probe),
            },
            None,
        );
        if !matches!(&r, Err(e) if e.code == ErrorCode::INTERNAL) {
            return Err("a panic in fetch was not contained".into());
        }
        // Still serving.
        let job = self.submit(&self.fx.ok_program)?;
        self.follow(&job, "", self.fx.finish_within).map(|_| ())
    }

    fn long_poll_waker(&self) -> Check {
        let job = self.submit(&self.fx.slow_program)?;
        // Find a cursor with nothing new behind it.
        let mut cursor = String::new();
        let deadline = Instant::now() + self.fx.finish_within;
        let quiet = loop {
            let r = self
                .fetch(&job, &cursor)
                .map_err(|e| format!("fetch: {}", err_text(&e)))?;
            if r.response.is_empty() && r.next_cursor == cursor {
                break r;
            }
            cursor = r.next_cursor;
            if Instant::now() > deadline {
                return Err("the slow job never went quiet".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if quiet.eof {
            return Err("the slow program finished; make it slower".into());
        }
        let notify = Arc::new(tokio::sync::Notify::new());
        self.runner
            .fetch(
                &FetchCall {
                    request: Some(FetchRequest {
                        job: Some(JobId {
                            job_id: job.clone(),
                        }),
                        cursor: cursor.clone(),
                        wait_ms: 1000,
                    }),
                    caller: Some(caller()),
                },
                Some(NotifyWaker::boxed(&notify)),
            )
            .map_err(|e| format!("fetch with a waker: {}", err_text(&e)))?;
        // A change (here: the cancel) must wake the waiting fetch.
        self.runner
            .cancel(&CancelCall {
                job: Some(JobId { job_id: job }),
                caller: Some(caller()),
            })
            .map_err(|e| format!("cancel: {}", err_text(&e)))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        let within = self.fx.cancel_within;
        rt.block_on(async { tokio::time::timeout(within, notify.notified()).await })
            .map_err(|_| "the waker was not woken when the job changed".to_string())
    }

    fn health(&self) -> Check {
        self.runner
            .health()
            .map_err(|e| format!("health: {}", err_text(&e)))
    }
}
