//! The runner the host calls: Run, Fetch (pages of the output, read without decoding),
//! Cancel, ListJobs, stats and health, each on top of the [`Registry`].

use std::{
    io,
    sync::Arc,
    time::{Duration, Instant},
};

use prost::Message as _;
use sqlflow_jobdir as jobdir;
use sqlflow_plugin_api::{
    ErrorCode, RunnerError,
    sdk::{self, Cursor, Runner, Waker, cursor::is_eof},
};
use sqlflow_proto::{
    plugin::{CancelCall, FetchCall, ListJobsCall, RunCall, RunnerStats},
    sqlflow::{JobId, JobStatus, ListJobsResponse, Responses, job_status::Code},
};

use crate::{
    archive::Output,
    job::Phase,
    page::{Budget, Page, PageError, read_page, read_page_of},
    registry::{Found, Registry},
};

/// How long Cancel waits for the job's processes to be gone before answering.
const CANCEL_WAIT: Duration = Duration::from_secs(3);

pub struct LocalRunner {
    registry: Arc<Registry>,
}

impl LocalRunner {
    pub(crate) fn new(registry: Arc<Registry>) -> LocalRunner {
        LocalRunner { registry }
    }
}

impl Runner for LocalRunner {
    fn run(&self, call: RunCall) -> Result<JobId, RunnerError> {
        let (user, req) = sdk::run_request(call)?;
        let id = self.registry.submit(&user, req)?;
        Ok(JobId { job_id: id })
    }

    fn fetch(&self, call: FetchCall, waker: Option<Waker>) -> Result<Responses, RunnerError> {
        let bytes = self.fetch_encoded(call, waker)?;
        Responses::decode(bytes.as_slice())
            .map_err(|e| RunnerError::internal(format!("cannot decode a page: {e}")))
    }

    /// Fetch without decoding the output: record lines carry encoded responses, which
    /// are copied into the reply as they are (a million-row result never turns into a
    /// million structs here).
    fn fetch_encoded(&self, call: FetchCall, waker: Option<Waker>) -> Result<Vec<u8>, RunnerError> {
        let caller = call.caller.unwrap_or_default();
        let req = call.request.unwrap_or_default();
        let id = req.job.map(|j| j.job_id).unwrap_or_default();
        let found = self.registry.find(&id, &caller.user_id)?;
        let cursor = Cursor::from_request(&req.cursor)?;
        let budget = Budget {
            page_bytes: self.registry.cfg.fetch_page_bytes,
            max_line: self.registry.cfg.limits.record_kb.saturating_mul(1024),
        };
        let job = match found {
            Found::Live(job) => job,
            Found::Archived(a) => {
                let phase = Phase::Done(a.status.clone());
                let (reply, _) = reply(&phase, &req.cursor, &id, |out| match &a.output {
                    Output::Inline(bytes) => read_page_of(bytes, cursor.offset, budget, true, out),
                    // Unlike a live job's, a missing file is not an output yet to come.
                    Output::File(path) if !path.exists() => Err(PageError::Io(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{} is missing", path.display()),
                    ))),
                    Output::File(path) => read_page(path, cursor.offset, budget, true, out),
                });
                return reply;
            }
        };
        job.renew_lease(jobdir::now_ms());
        // The phase is read (and held) before the file, so a finished job's output is
        // complete; a waker is registered in the same critical section, so a change
        // after this snapshot wakes it.
        job.snapshot(waker, |phase| {
            reply(phase, &req.cursor, &id, |out| {
                read_page(
                    &job.output_path(),
                    cursor.offset,
                    budget,
                    phase.is_done(),
                    out,
                )
            })
        })
    }

    fn cancel(&self, call: CancelCall) -> Result<JobStatus, RunnerError> {
        let caller = call.caller.unwrap_or_default();
        let id = call.job.map(|j| j.job_id).unwrap_or_default();
        let job = match self.registry.find(&id, &caller.user_id)? {
            Found::Live(job) => job,
            // Archived jobs have ended.
            Found::Archived(a) => return Ok(Phase::Done(a.status).status()),
        };
        if job.phase().is_done() {
            return Ok(job.phase().status());
        }
        let reason = if caller.user_id.is_empty() {
            "cancelled by the client".to_string()
        } else {
            format!("cancelled by {}", caller.user_id)
        };
        let deadline = Instant::now() + CANCEL_WAIT;
        // Repeated: a process that was starting may have appeared since the last round.
        while !job.phase().is_done() && Instant::now() < deadline {
            self.registry
                .request_cancel(&job, &reason)
                .map_err(|e| RunnerError::internal(format!("cannot cancel job {id}: {e}")))?;
            job.wait_done(Duration::from_millis(100));
        }
        let status = job.phase().status();
        if status.code() == Code::Running {
            return Err(RunnerError::new(
                ErrorCode::DEADLINE_EXCEEDED,
                format!(
                    "job {id} did not stop within {CANCEL_WAIT:?}; it stays marked for cancellation"
                ),
            ));
        }
        Ok(status)
    }

    fn list_jobs(&self, call: ListJobsCall) -> Result<ListJobsResponse, RunnerError> {
        let caller = call.caller.unwrap_or_default();
        let req = call.request.unwrap_or_default();
        self.registry.list(&caller.user_id, &req)
    }

    fn stats(&self) -> Result<RunnerStats, RunnerError> {
        Ok(self.registry.stats())
    }

    fn health(&self) -> Result<(), RunnerError> {
        self.registry.health()
    }
}

/// A Fetch reply, encoded: `Responses` field by field (1 job_status, 2 the responses,
/// appended by `page`, 3 next_cursor, 4 eof). The flag says nothing is new since `cursor`.
fn reply(
    phase: &Phase,
    cursor: &str,
    id: &str,
    page: impl FnOnce(&mut Vec<u8>) -> Result<Page, PageError>,
) -> (Result<Vec<u8>, RunnerError>, bool) {
    let mut out = Vec::new();
    prost::encoding::message::encode(1, &phase.status(), &mut out);
    let page = match page(&mut out) {
        Ok(page) => page,
        Err(PageError::BadOffset) => {
            let e = RunnerError::invalid_argument(format!(
                "cursor '{cursor}' does not point into job {id}'s output"
            ));
            return (Err(e), false);
        }
        Err(PageError::Io(e)) => {
            let e = RunnerError::internal(format!("cannot read job {id}'s output: {e}"));
            return (Err(e), false);
        }
    };
    let eof = is_eof(phase.code(), page.next_offset, page.file_len);
    let next_cursor = Cursor::encode(page.next_offset, phase.code());
    let nothing_new = page.count == 0 && next_cursor == cursor && !eof;
    prost::encoding::string::encode(3, &next_cursor, &mut out);
    if eof {
        prost::encoding::bool::encode(4, &eof, &mut out);
    }
    (Ok(out), nothing_new)
}
