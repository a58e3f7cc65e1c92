//! The checks, one per promise.

use std::time::{Duration, Instant};

use prost::Message as _;
use sqlflow_plugin_api::{ErrorCode, Features, RunnerError};
use sqlflow_plugin_host::{Plugin, PluginRunner};
use sqlflow_proto::{
    plugin::{Caller, CancelCall, FetchCall, ListJobsCall, RunCall},
    sqlflow::{
        FetchRequest, JobId, JobStatus, ListJobsRequest, ListJobsResponse, Request, Response,
        Responses, Session, job_status::Code, response,
    },
};

use crate::{Fixtures, create, waker::KitWaker};

pub(crate) type Check = Result<(), String>;
type CheckFn = fn(&mut Kit) -> Check;

/// Every check after loading: its name, the promise it checks ([`Features::NONE`]: one
/// every runner keeps), and the check.
pub(crate) const ALL: &[(&str, Features, CheckFn)] = &[
    (
        "run then fetch to eof",
        Features::NONE,
        Kit::run_then_fetch_to_eof,
    ),
    (
        "cursor replay of a finished job",
        Features::NONE,
        Kit::cursor_replay,
    ),
    (
        "cursor replay while running",
        Features::NONE,
        Kit::replay_while_running,
    ),
    ("failing statement", Features::NONE, Kit::failing_statement),
    ("large output", Features::NONE, Kit::large_output),
    (
        "cancel kills the job's process",
        Features::NONE,
        Kit::cancel_kills,
    ),
    (
        "another user's job is invisible",
        Features::NONE,
        Kit::user_isolation,
    ),
    ("unknown job", Features::NONE, Kit::unknown_job),
    ("malformed cursor", Features::NONE, Kit::malformed_cursor),
    ("panic containment", Features::NONE, Kit::panic_containment),
    ("health", Features::NONE, Kit::health),
    (
        "long-poll woken by new output",
        Features::LONG_POLL,
        Kit::wake_on_output,
    ),
    (
        "long-poll woken by cancel",
        Features::LONG_POLL,
        Kit::wake_on_cancel,
    ),
    (
        "idempotent request_id",
        Features::IDEMPOTENT_RUN,
        Kit::idempotent_run,
    ),
    ("ListJobs", Features::LIST_JOBS, Kit::list_jobs),
    ("abandonment", Features::ABANDONMENT, Kit::abandonment),
    ("queueing", Features::QUEUEING, Kit::queueing),
    ("limits", Features::LIMITS, Kit::limits),
    ("retention", Features::RETENTION, Kit::retention),
    (
        "restart survival",
        Features::RESTART_SURVIVAL,
        Kit::restart_survival,
    ),
];

/// The largest reply a default gRPC client accepts.
const MAX_REPLY_BYTES: usize = 4 << 20;

pub(crate) struct Kit {
    pub(crate) runner: PluginRunner,
    pub(crate) plugin: Plugin,
    pub(crate) config: String,
    pub(crate) fx: Fixtures,
}

const USER: &str = "conformance";
const INTRUDER: &str = "intruder";
/// Another user whose jobs must not wait for [`USER`]'s (queueing).
const NEIGHBOUR: &str = "neighbour";

/// The failure of a check whose promise is declared but whose setting was not given.
fn no_setting(promise: &str, with: &str, what: &str, flag: &str) -> String {
    format!(
        "the runner declares {promise}, but the kit was given no setting to observe it: \
         add `Fixtures::{with}` ({what}), or do not declare Features::{flag}"
    )
}

fn caller(user: &str) -> Option<Caller> {
    Some(Caller {
        user_id: user.into(),
        panic_probe: false,
    })
}

fn err_text(e: &RunnerError) -> String {
    format!("{:?}: {}", e.code, e.message)
}

/// `what` must have failed with one of `codes`.
fn want_error<T>(r: Result<T, RunnerError>, codes: &[ErrorCode], what: &str) -> Check {
    match r {
        Err(e) if codes.contains(&e.code) => Ok(()),
        Err(e) => Err(format!(
            "{what}: {}, want {}",
            err_text(&e),
            codes[0].name()
        )),
        Ok(_) => Err(format!("{what} succeeded, want {}", codes[0].name())),
    }
}

fn is_row(r: &Response) -> bool {
    matches!(r.response, Some(response::Response::Row(_)))
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
    fn request(&self, program: &str) -> Request {
        Request {
            sql: program.into(),
            session: Some(Session {
                db_conn_str: self.fx.datasource.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn run_as(&self, user: &str, request: Request) -> Result<String, RunnerError> {
        let id = self.runner.run(&RunCall {
            request: Some(request),
            caller: caller(user),
        })?;
        Ok(id.job_id)
    }

    fn submit(&self, program: &str) -> Result<String, String> {
        self.submit_as(USER, program)
    }

    fn submit_as(&self, user: &str, program: &str) -> Result<String, String> {
        let id = self
            .run_as(user, self.request(program))
            .map_err(|e| format!("run: {}", err_text(&e)))?;
        if id.is_empty() {
            return Err("run returned an empty job id".into());
        }
        Ok(id)
    }

    fn fetch_as(&self, user: &str, job: &str, cursor: &str) -> Result<Responses, RunnerError> {
        self.runner.fetch(
            &FetchCall {
                request: Some(FetchRequest {
                    job: Some(JobId { job_id: job.into() }),
                    cursor: cursor.into(),
                    wait_ms: 0,
                }),
                caller: caller(user),
            },
            None,
        )
    }

    fn fetch(&self, job: &str, cursor: &str) -> Result<Responses, RunnerError> {
        self.fetch_as(USER, job, cursor)
    }

    fn cancel_as(&self, user: &str, job: &str) -> Result<JobStatus, RunnerError> {
        self.runner.cancel(&CancelCall {
            job: Some(JobId { job_id: job.into() }),
            caller: caller(user),
        })
    }

    fn list_as(&self, user: &str, size: u32, token: &str) -> Result<ListJobsResponse, String> {
        self.runner
            .list_jobs(&ListJobsCall {
                request: Some(ListJobsRequest {
                    page_size: size,
                    page_token: token.into(),
                }),
                caller: caller(user),
            })
            .map_err(|e| format!("ListJobs: {}", err_text(&e)))
    }

    fn status(&self, job: &str) -> Result<JobStatus, String> {
        self.status_as(USER, job)
    }

    fn status_as(&self, user: &str, job: &str) -> Result<JobStatus, String> {
        self.fetch_as(user, job, "")
            .map(|r| r.job_status.unwrap_or_default())
            .map_err(|e| format!("fetch: {}", err_text(&e)))
    }

    /// Whether [`USER`]'s ListJobs shows `job` (on any of its first pages).
    fn listed(&self, job: &str) -> Result<bool, String> {
        let mut token = String::new();
        for _ in 0..100 {
            let page = self.list_as(USER, 1000, &token)?;
            if page.jobs.iter().any(|j| j.job_id == job) {
                return Ok(true);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        Ok(false)
    }

    /// Runs `check` against a runner created from `config` (a setting of the runner for
    /// one promise) in place of the kit's own, then drops that runner. The jobs `check`
    /// records in its list are cancelled first, whatever the outcome.
    fn under(
        &mut self,
        config: &str,
        what: &str,
        check: impl FnOnce(&mut Kit, &mut Vec<(&'static str, String)>) -> Check,
    ) -> Check {
        let runner = create(&self.plugin, config)
            .map_err(|e| format!("creating a runner from the {what} setting: {e}"))?;
        let main = std::mem::replace(&mut self.runner, runner);
        let mut started = Vec::new();
        let outcome = check(self, &mut started);
        for (user, job) in &started {
            let _ = self.cancel_as(user, job);
        }
        drop(std::mem::replace(&mut self.runner, main));
        outcome
    }

    fn follow(&self, job: &str, from: &str, within: Duration) -> Result<Transcript, String> {
        let deadline = Instant::now() + within;
        let mut cursor = from.to_string();
        let mut pages = Vec::new();
        loop {
            let r = self
                .fetch(job, &cursor)
                .map_err(|e| format!("fetch: {}", err_text(&e)))?;
            let size = r.encoded_len();
            if size > MAX_REPLY_BYTES {
                return Err(format!(
                    "a reply of {size} bytes: over gRPC's default 4 MiB"
                ));
            }
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

    /// Waits until the job's status is `code`, fetching from the start.
    fn wait_for(&self, job: &str, code: Code, within: Duration) -> Result<JobStatus, String> {
        let deadline = Instant::now() + within;
        loop {
            let status = self.status(job)?;
            if status.code() == code {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "still {:?} ({}) after {within:?}, want {code:?}",
                    status.code(),
                    status.message
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fetches until a reply holds nothing new (a cursor to long-poll on).
    fn quiet_cursor(&self, job: &str) -> Result<String, String> {
        let mut cursor = String::new();
        let deadline = Instant::now() + self.fx.finish_within;
        loop {
            let r = self
                .fetch(job, &cursor)
                .map_err(|e| format!("fetch: {}", err_text(&e)))?;
            if r.response.is_empty() && r.next_cursor == cursor {
                if r.eof {
                    return Err("the job finished; the fixture must run longer".into());
                }
                return Ok(cursor);
            }
            cursor = r.next_cursor;
            if Instant::now() > deadline {
                return Err("the job never went quiet".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn long_poll(&self, job: &str, cursor: &str, waker: &KitWaker) -> Result<Responses, String> {
        self.runner
            .fetch(
                &FetchCall {
                    request: Some(FetchRequest {
                        job: Some(JobId { job_id: job.into() }),
                        cursor: cursor.into(),
                        wait_ms: 1000,
                    }),
                    caller: caller(USER),
                },
                Some(waker.boxed()),
            )
            .map_err(|e| format!("fetch with a waker: {}", err_text(&e)))
    }

    fn run_then_fetch_to_eof(&mut self) -> Check {
        let job = self.submit(&self.fx.ok_program)?;
        let t = self.follow(&job, "", self.fx.finish_within)?;
        let status = t.last.job_status.clone().unwrap_or_default();
        if status.code() != Code::Succeeded {
            return Err(format!("ended {:?}: {}", status.code(), status.message));
        }
        let all = t.responses();
        if !all
            .iter()
            .any(|r| matches!(r.response, Some(response::Response::Head(_))))
        {
            return Err("no Head among the responses".into());
        }
        if !all.iter().any(is_row) {
            return Err("no Row among the responses".into());
        }
        if !matches!(
            all.last().and_then(|r| r.response.as_ref()),
            Some(response::Response::Eoe(_))
        ) {
            return Err("the last response is not an EndOfExecution".into());
        }
        // Fetching again at the final cursor is harmless and still says eof.
        let again = self
            .fetch(&job, &t.last.next_cursor)
            .map_err(|e| format!("fetch after eof: {}", err_text(&e)))?;
        if !again.eof || !again.response.is_empty() {
            return Err("a fetch at the final cursor did not return eof with nothing new".into());
        }
        Ok(())
    }

    /// The guarantee: a cursor of a finished job gives the same answer every time, and
    /// the answer a page gave while the job ran is a prefix of it.
    fn cursor_replay(&mut self) -> Check {
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
            if !r.response.starts_with(page) {
                return Err(format!(
                    "cursor {cursor:?} returned other responses on replay (the first answer \
                     is not a prefix of the replay)"
                ));
            }
            let again = self
                .fetch(&job, cursor)
                .map_err(|e| format!("replaying cursor {cursor:?}: {}", err_text(&e)))?;
            if again.response != r.response || again.next_cursor != r.next_cursor {
                return Err(format!(
                    "cursor {cursor:?} of a finished job returned different answers"
                ));
            }
        }
        Ok(())
    }

    /// The guarantee while a job runs: what a cursor returns is a prefix of everything
    /// that follows it once the job has ended (a replay may return more, never other).
    fn replay_while_running(&mut self) -> Check {
        let job = self.submit(&self.fx.late_output_program)?;
        let mut answers: Vec<(String, Vec<Response>)> = Vec::new();
        let mut cursor = String::new();
        let deadline = Instant::now() + self.fx.finish_within;
        // Until the late output has arrived, ask from the start and from the latest cursor.
        while !answers.iter().any(|(_, r)| r.iter().any(is_row)) {
            for c in [String::new(), cursor.clone()] {
                let r = self
                    .fetch(&job, &c)
                    .map_err(|e| format!("fetch: {}", err_text(&e)))?;
                answers.push((c, r.response.clone()));
                cursor = r.next_cursor;
            }
            if Instant::now() > deadline {
                return Err("the late output never came".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.cancel_as(USER, &job)
            .map_err(|e| format!("cancel: {}", err_text(&e)))?;
        for (c, answer) in &answers {
            let rest = self.follow(&job, c, self.fx.finish_within)?.responses();
            if !rest.starts_with(answer) {
                return Err(format!(
                    "the answer for cursor {c:?} while the job ran is not a prefix of what \
                     follows that cursor once it ended"
                ));
            }
        }
        Ok(())
    }

    fn failing_statement(&mut self) -> Check {
        let job = self.submit(&self.fx.failing_program)?;
        let t = self.follow(&job, "", self.fx.finish_within)?;
        let status = t.last.job_status.clone().unwrap_or_default();
        if status.code() != Code::Failed {
            return Err(format!("ended {:?}, want FAILED", status.code()));
        }
        if status.message.trim().is_empty() {
            return Err("FAILED without a message".into());
        }
        if !t.responses().iter().any(is_row) {
            return Err("the first statement's result is not fetchable after the failure".into());
        }
        Ok(())
    }

    fn large_output(&mut self) -> Check {
        let job = self.submit(&self.fx.large_program)?;
        let t = self.follow(&job, "", self.fx.finish_within * 2)?;
        let rows = t.responses().iter().filter(|r| is_row(r)).count();
        if rows != self.fx.large_rows {
            return Err(format!("{rows} rows, want {}", self.fx.large_rows));
        }
        if t.pages.len() < 2 {
            return Err("several MiB came in one page".into());
        }
        Ok(())
    }

    /// Cancel ends the job as CANCELLED, and its process is gone: the database lock the
    /// slow program held is free again (a job that still ran would hold it).
    fn cancel_kills(&mut self) -> Check {
        let job = self.submit(&self.fx.slow_program)?;
        self.wait_for(&job, Code::Running, self.fx.finish_within)?;
        // Give the program time to take its lock.
        std::thread::sleep(Duration::from_millis(500));
        let mut status = self
            .cancel_as(USER, &job)
            .map_err(|e| format!("cancel: {}", err_text(&e)))?;
        if status.code() != Code::Cancelled {
            status = self.wait_for(&job, Code::Cancelled, self.fx.cancel_within)?;
        }
        if status.message.trim().is_empty() {
            return Err("CANCELLED without a reason".into());
        }
        let probe = self.submit(&self.fx.after_cancel_program)?;
        let t = self.follow(&probe, "", self.fx.finish_within)?;
        let probe_status = t.last.job_status.unwrap_or_default();
        if probe_status.code() != Code::Succeeded {
            return Err(format!(
                "after the cancel, the cancelled job's process still holds the database: a \
                 write failed ({:?}: {})",
                probe_status.code(),
                probe_status.message
            ));
        }
        let again = self
            .cancel_as(USER, &job)
            .map_err(|e| format!("a second cancel failed: {}", err_text(&e)))?;
        if again.code() != Code::Cancelled {
            return Err(format!("a second cancel says {:?}", again.code()));
        }
        Ok(())
    }

    fn user_isolation(&mut self) -> Check {
        let job = self.submit(&self.fx.ok_program)?;
        // The host answers both the same way (NOT_FOUND); a runner may say either.
        let codes = [ErrorCode::NOT_FOUND, ErrorCode::PERMISSION_DENIED];
        want_error(
            self.fetch_as(INTRUDER, &job, ""),
            &codes,
            "another user's fetch",
        )?;
        want_error(
            self.cancel_as(INTRUDER, &job),
            &codes,
            "another user's cancel",
        )?;
        if let Ok(list) = self.list_as(INTRUDER, 1000, "")
            && list.jobs.iter().any(|j| j.job_id == job)
        {
            return Err("another user's ListJobs shows the job".into());
        }
        self.follow(&job, "", self.fx.finish_within).map(|_| ())
    }

    fn unknown_job(&mut self) -> Check {
        for id in [
            "00000000000000000000000000000000",
            "no-such-job",
            "../../etc/passwd",
        ] {
            let what = format!("fetch of {id:?}");
            want_error(self.fetch(id, ""), &[ErrorCode::NOT_FOUND], &what)?;
            let what = format!("cancel of {id:?}");
            want_error(self.cancel_as(USER, id), &[ErrorCode::NOT_FOUND], &what)?;
        }
        Ok(())
    }

    fn malformed_cursor(&mut self) -> Check {
        let job = self.submit(&self.fx.ok_program)?;
        for bad in [
            "not a cursor",
            "\u{0}\u{1}",
            "999999999999999999999999999999",
        ] {
            let what = format!("cursor {bad:?}");
            want_error(self.fetch(&job, bad), &[ErrorCode::INVALID_ARGUMENT], &what)?;
        }
        Ok(())
    }

    fn panic_containment(&mut self) -> Check {
        let probe = Some(Caller {
            user_id: USER.into(),
            panic_probe: true,
        });
        let r = self.runner.run(&RunCall {
            request: Some(self.request("SELECT 1")),
            caller: probe.clone(),
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
                caller: probe,
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

    fn health(&mut self) -> Check {
        self.runner
            .health()
            .map_err(|e| format!("health: {}", err_text(&e)))
    }

    /// A long-poll registered while nothing is new is woken when output arrives (the job
    /// still running), and the fetch that follows returns it.
    fn wake_on_output(&mut self) -> Check {
        let job = self.submit(&self.fx.late_output_program)?;
        self.wait_for(&job, Code::Running, self.fx.finish_within)?;
        let cursor = self.quiet_cursor(&job)?;
        let waker = KitWaker::new();
        let r = self.long_poll(&job, &cursor, &waker)?;
        let woken_by_output = r.response.iter().any(is_row)
            || (waker.wait(self.fx.finish_within) && {
                let after = self
                    .fetch(&job, &cursor)
                    .map_err(|e| format!("fetch: {}", err_text(&e)))?;
                after.response.iter().any(is_row)
                    || self.follow_until_row(&job, &after.next_cursor)?
            });
        self.cancel_as(USER, &job)
            .map_err(|e| format!("cancel: {}", err_text(&e)))?;
        if woken_by_output {
            Ok(())
        } else {
            Err("the waker was not woken when output arrived".into())
        }
    }

    /// After a state-only wake (the job had started), the output follows on a later wake.
    fn follow_until_row(&self, job: &str, from: &str) -> Result<bool, String> {
        let cursor = from.to_string();
        let waker = KitWaker::new();
        let r = self.long_poll(job, &cursor, &waker)?;
        if r.response.iter().any(is_row) {
            return Ok(true);
        }
        if !waker.wait(self.fx.finish_within) {
            return Ok(false);
        }
        let after = self
            .fetch(job, &cursor)
            .map_err(|e| format!("fetch: {}", err_text(&e)))?;
        Ok(after.response.iter().any(is_row))
    }

    fn wake_on_cancel(&mut self) -> Check {
        let job = self.submit(&self.fx.slow_program)?;
        self.wait_for(&job, Code::Running, self.fx.finish_within)?;
        let cursor = self.quiet_cursor(&job)?;
        let waker = KitWaker::new();
        self.long_poll(&job, &cursor, &waker)?;
        self.cancel_as(USER, &job)
            .map_err(|e| format!("cancel: {}", err_text(&e)))?;
        if waker.wait(self.fx.cancel_within) {
            Ok(())
        } else {
            Err("the waker was not woken when the job was cancelled".into())
        }
    }

    fn idempotent_run(&mut self) -> Check {
        let request_id = format!("kit-{}", std::process::id());
        let mut req = self.request(&self.fx.ok_program);
        req.request_id = request_id.clone();
        let run = |user: &str, req: Request| {
            self.run_as(user, req)
                .map_err(|e| format!("run with a request_id: {}", err_text(&e)))
        };
        let first = run(USER, req.clone())?;
        let again = run(USER, req.clone())?;
        if again != first {
            return Err(format!(
                "a retried Run made another job ({again} after {first})"
            ));
        }
        let mut other = req.clone();
        other.sql = self.fx.failing_program.clone();
        want_error(
            self.run_as(USER, other),
            &[ErrorCode::ALREADY_EXISTS],
            "a Run reusing a request_id with another program",
        )?;
        let theirs = run(INTRUDER, req)?;
        if theirs == first {
            return Err("another user's Run with the same request_id got this user's job".into());
        }
        self.follow(&first, "", self.fx.finish_within).map(|_| ())
    }

    fn list_jobs(&mut self) -> Check {
        let ids: Vec<String> = (0..3)
            .map(|_| {
                // Distinct submission times, so the order is the submission order.
                std::thread::sleep(Duration::from_millis(5));
                self.submit(&self.fx.ok_program)
            })
            .collect::<Result<_, _>>()?;
        let first = self.list_as(USER, 2, "")?;
        let listed: Vec<&str> = first.jobs.iter().map(|j| j.job_id.as_str()).collect();
        if listed != [ids[2].as_str(), ids[1].as_str()] {
            return Err(format!(
                "the first page of 2 is {listed:?}, want the newest two, newest first"
            ));
        }
        if first.next_page_token.is_empty() {
            return Err("a full page of a longer list has no next_page_token".into());
        }
        let second = self.list_as(USER, 2, &first.next_page_token)?;
        if second.jobs.first().map(|j| j.job_id.as_str()) != Some(ids[0].as_str()) {
            return Err("the second page does not continue after the first".into());
        }
        let Some(info) = first.jobs.first() else {
            return Err("an empty page".into());
        };
        if info.status.is_none() || info.submitted_at_ms <= 0 {
            return Err("a listed job has no status or submission time".into());
        }
        want_error(
            self.runner
                .list_jobs(&ListJobsCall {
                    request: Some(ListJobsRequest {
                        page_size: 1,
                        page_token: "garbage".into(),
                    }),
                    caller: caller(USER),
                })
                .map(|_| ()),
            &[ErrorCode::INVALID_ARGUMENT],
            "ListJobs with a malformed page_token",
        )?;
        for id in &ids {
            self.follow(id, "", self.fx.finish_within)?;
        }
        Ok(())
    }

    /// A job nobody fetches for its timeout_seconds is cancelled; one submitted with
    /// exit_on_submit is not.
    fn abandonment(&mut self) -> Check {
        let mut req = self.request(&self.fx.slow_program);
        req.timeout_seconds = 1;
        let abandoned = self
            .run_as(USER, req.clone())
            .map_err(|e| format!("run: {}", err_text(&e)))?;
        if let Some(s) = req.session.as_mut() {
            s.exit_on_submit = true;
        }
        req.sql = self.fx.late_output_program.clone();
        let kept = self
            .run_as(USER, req)
            .map_err(|e| format!("run: {}", err_text(&e)))?;
        // Not fetched for four times the timeout: a sweep a second finds it.
        std::thread::sleep(Duration::from_secs(4));
        let status = self.status(&abandoned)?;
        let kept_status = self.status(&kept)?;
        for id in [&abandoned, &kept] {
            self.cancel_as(USER, id)
                .map_err(|e| format!("cancel: {}", err_text(&e)))?;
        }
        if status.code() != Code::Cancelled {
            return Err(format!(
                "a job unfetched for 4 s with timeout_seconds = 1 is {:?}",
                status.code()
            ));
        }
        if kept_status.code() == Code::Cancelled {
            return Err("a job submitted with exit_on_submit was abandoned".into());
        }
        Ok(())
    }

    /// Under the queueing setting (one running job per user): a user's second job waits
    /// `PENDING`, without output, while the first runs; another user's job runs to its end
    /// meanwhile; once the first is cancelled, the second runs and succeeds.
    fn queueing(&mut self) -> Check {
        let Some(setting) = self.fx.queueing.clone() else {
            return Err(no_setting(
                "queueing",
                "with_queueing",
                "a configuration under which a user runs at most one job at once",
                "QUEUEING",
            ));
        };
        self.under(&setting.config, "queueing", |kit, started| {
            let within = kit.fx.finish_within;
            let first = kit.submit(&kit.fx.late_output_program)?;
            started.push((USER, first.clone()));
            kit.wait_for(&first, Code::Running, within)
                .map_err(|e| format!("the user's first job: {e}"))?;
            let second = kit.submit(&kit.fx.ok_program)?;
            started.push((USER, second.clone()));
            let theirs = kit.submit_as(NEIGHBOUR, &kit.fx.ok_program)?;
            started.push((NEIGHBOUR, theirs.clone()));
            let deadline = Instant::now() + within;
            // Until another user's job has ended, and a little longer: the second waits.
            let mut settled: Option<Instant> = None;
            while settled.is_none_or(|t| t.elapsed() < Duration::from_millis(500)) {
                let r = kit
                    .fetch(&second, "")
                    .map_err(|e| format!("fetch of the queued job: {}", err_text(&e)))?;
                let code = r.job_status.as_ref().map_or(Code::Pending, |s| s.code());
                if code != Code::Pending || !r.response.is_empty() {
                    return Err(format!(
                        "a user's second job is {code:?} (with {} responses) while the first \
                         runs, under a setting of one running job per user: want PENDING \
                         without output",
                        r.response.len()
                    ));
                }
                let first_status = kit.status(&first)?;
                if first_status.code() != Code::Running {
                    return Err(format!(
                        "the user's first job (the late output program) ended {:?} early: {}",
                        first_status.code(),
                        first_status.message
                    ));
                }
                if settled.is_none() {
                    let status = kit.status_as(NEIGHBOUR, &theirs)?;
                    match status.code() {
                        Code::Succeeded => settled = Some(Instant::now()),
                        Code::Pending | Code::Running if Instant::now() < deadline => {}
                        Code::Pending | Code::Running => {
                            return Err(format!(
                                "another user's job is still {:?} after {within:?} while a \
                                 user's job runs: one user's jobs hold up another's",
                                status.code()
                            ));
                        }
                        code => {
                            return Err(format!(
                                "another user's job ended {code:?} while a user's job ran: {}",
                                status.message
                            ));
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            kit.cancel_as(USER, &first)
                .map_err(|e| format!("cancel of the first job: {}", err_text(&e)))?;
            let t = kit
                .follow(&second, "", within)
                .map_err(|e| format!("the queued job, after the first was cancelled: {e}"))?;
            let status = t.last.job_status.clone().unwrap_or_default();
            if status.code() != Code::Succeeded {
                return Err(format!(
                    "the queued job, after the first was cancelled, ended {:?}: {}",
                    status.code(),
                    status.message
                ));
            }
            if !t.responses().iter().any(is_row) {
                return Err("the queued job succeeded without its rows".into());
            }
            Ok(())
        })
    }

    /// Under each limit's setting: the program that breaks the limit ends `FAILED`,
    /// naming the limit; the runner stays healthy and still runs the ok program.
    fn limits(&mut self) -> Check {
        if self.fx.limits.is_empty() {
            return Err(no_setting(
                "limits",
                "with_limit",
                "a configuration with a small limit, a program that breaks it, and the \
                 limit's name in the failure message; one per limit",
                "LIMITS",
            ));
        }
        for limit in self.fx.limits.clone() {
            let what = format!("{} limit", limit.what);
            self.under(&limit.config, &what, |kit, started| {
                let within = kit.fx.finish_within;
                let job = kit.submit(&limit.program)?;
                started.push((USER, job.clone()));
                let t = kit.follow(&job, "", within)?;
                let status = t.last.job_status.clone().unwrap_or_default();
                if status.code() != Code::Failed {
                    return Err(format!(
                        "the program breaking it ended {:?}, want FAILED: {}",
                        status.code(),
                        status.message
                    ));
                }
                if !status.message.contains(&limit.names) {
                    return Err(format!(
                        "the job failed, but its message does not name the limit ({:?}): {}",
                        limit.names, status.message
                    ));
                }
                kit.runner.health().map_err(|e| {
                    format!("after a job broke the limit, health: {}", err_text(&e))
                })?;
                let ok = kit.submit(&kit.fx.ok_program)?;
                started.push((USER, ok.clone()));
                let t = kit.follow(&ok, "", within)?;
                let status = t.last.job_status.unwrap_or_default();
                if status.code() != Code::Succeeded {
                    return Err(format!(
                        "after a job broke the limit, the ok program ended {:?}: {}",
                        status.code(),
                        status.message
                    ));
                }
                Ok(())
            })
            .map_err(|e| format!("{what}: {e}"))?;
        }
        Ok(())
    }

    /// Under the retention setting: a finished job is there right after it ends and gone
    /// (and unlisted) within the retention period and the sweep bound; a job running for
    /// longer than that stays.
    fn retention(&mut self) -> Check {
        let Some(setting) = self.fx.retention.clone() else {
            return Err(no_setting(
                "retention",
                "with_retention",
                "a configuration with a retention of a few seconds, that period, and how \
                 long after it the runner may take to remove a job",
                "RETENTION",
            ));
        };
        let (retention, sweep) = (setting.retention, setting.sweep_within);
        self.under(&setting.config, "retention", |kit, started| {
            let within = kit.fx.finish_within;
            let lists = kit.runner.features().contains(Features::LIST_JOBS);
            let running_since = Instant::now();
            let running = kit.submit(&kit.fx.late_output_program)?;
            started.push((USER, running.clone()));
            let still_running = |kit: &Kit| -> Check {
                match kit.status(&running) {
                    Ok(s) if matches!(s.code(), Code::Running | Code::Pending) => Ok(()),
                    Ok(s) => Err(format!(
                        "a job running for {:?} ended {:?}: {}",
                        running_since.elapsed(),
                        s.code(),
                        s.message
                    )),
                    Err(e) => Err(format!(
                        "a job running for {:?} was removed ({e}): retention removes only \
                         finished jobs",
                        running_since.elapsed()
                    )),
                }
            };
            let job = kit.submit(&kit.fx.ok_program)?;
            started.push((USER, job.clone()));
            // The job ended after `unfinished` (a fetch that began then saw it unfinished)
            // and before `ended` (one that ended then saw it finished).
            let mut unfinished = Instant::now();
            let ended = loop {
                let asked = Instant::now();
                let status = kit.status(&job)?;
                if !matches!(status.code(), Code::Pending | Code::Running) {
                    break Instant::now();
                }
                unfinished = asked;
                if asked.duration_since(running_since) > within {
                    return Err(format!("the ok program did not end within {within:?}"));
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let t = kit
                .follow(&job, "", within)
                .map_err(|e| format!("right after it ended, the job's output: {e}"))?;
            kit.fetch(&job, &t.last.next_cursor).map_err(|e| {
                format!("right after it ended, a fetch of the job: {}", err_text(&e))
            })?;
            if lists && !kit.listed(&job)? {
                return Err("right after it ended, the job is not in ListJobs".into());
            }
            let deadline = ended + retention + sweep;
            loop {
                match kit.fetch(&job, "") {
                    Ok(_) => {}
                    Err(e) if e.code == ErrorCode::NOT_FOUND => break,
                    Err(e) => {
                        return Err(format!(
                            "a fetch of the finished job during retention: {}",
                            err_text(&e)
                        ));
                    }
                }
                still_running(kit)?;
                if Instant::now() > deadline {
                    return Err(format!(
                        "a job that ended {:?} ago is still there, with a retention of \
                         {retention:?} and {sweep:?} to remove it",
                        ended.elapsed()
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // At most this long after its end the job was gone; a runner's own record of
            // the end may precede what a fetch shows by a little: allow for that.
            let gone_within = unfinished.elapsed();
            if gone_within + (retention / 2).min(Duration::from_secs(1)) < retention {
                return Err(format!(
                    "the job was removed at most {gone_within:?} after it ended, before its \
                     retention of {retention:?}"
                ));
            }
            while lists && kit.listed(&job)? {
                if Instant::now() > deadline {
                    return Err("a removed job is still in ListJobs".into());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // The running job outlives retention and the sweep: it is never removed.
            while running_since.elapsed() < retention + sweep + Duration::from_millis(500) {
                still_running(kit)?;
                std::thread::sleep(Duration::from_millis(100));
            }
            still_running(kit)
        })
    }

    /// A new runner from the same configuration (as after a server restart) serves a job
    /// the old one finished, with the same responses.
    fn restart_survival(&mut self) -> Check {
        let job = self.submit(&self.fx.ok_program)?;
        let before = self.follow(&job, "", self.fx.finish_within)?.responses();
        let fresh = create(&self.plugin, &self.config)
            .map_err(|e| format!("creating the runner again: {e}"))?;
        // The old runner goes first, as with a server that stopped.
        drop(std::mem::replace(&mut self.runner, fresh));
        let after = self.follow(&job, "", self.fx.finish_within)?.responses();
        if after != before {
            return Err("after a restart the job's responses differ".into());
        }
        Ok(())
    }
}
