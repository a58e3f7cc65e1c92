//! A job that is one `sqlflow-step run -` process with its output kept in memory: what a
//! runner without storage of its own is made of (see `plugin-api/examples/`).
//!
//! It keeps the promises a job can keep by itself: the cursor rules and the waker contract
//! (through [`Watched<Transcript>`](Watched)), abandonment (its [`Lease`], checked by
//! [`StepJob::housekeeping`], which also removes finished jobs after the retention
//! period), cancel that kills the process group, and queueing when given an
//! [`Admission`]. User isolation, `request_id` and ListJobs come from the
//! [`JobTable`] it is kept in.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use sqlflow_proto::{
    plugin::{CancelCall, FetchCall, ListJobsCall, RunCall},
    sqlflow::{JobId, JobInfo, JobStatus, ListJobsResponse, Request, Responses},
};

use super::{
    PluginContext, Waker, cancel_request, fetch_request,
    jobs::{JobTable, TableJob, datasource, same_request},
    lease::{Lease, REAP_EVERY, now_ms},
    list_request,
    queue::Admission,
    run_request,
    step::{Killer, StepProcess, Transcript},
    summary,
    watched::Watched,
};
use crate::RunnerError;

/// How long [`StepJob::cancel`] waits for the process to be gone before it answers.
pub const CANCEL_WAIT: Duration = Duration::from_secs(3);

/// Bytes of responses per Fetch reply: well within the 4 MiB gRPC clients accept.
pub const PAGE_BYTES: usize = 1 << 20;

/// What starts [`StepJob`]s: the step binary, the runner's runtime, the queue (if any).
#[derive(Clone)]
pub struct StepStarter {
    binary: PathBuf,
    queue: Option<Arc<Admission>>,
    ctx: PluginContext,
}

impl StepStarter {
    /// Jobs run `binary` (see [`find_step_binary`](super::step::find_step_binary)) on the
    /// runtime of `ctx`, all at once.
    pub fn new(binary: PathBuf, ctx: &PluginContext) -> Self {
        StepStarter {
            binary,
            queue: None,
            ctx: ctx.clone(),
        }
    }

    /// Jobs wait for their turn in `queue` (PENDING until then).
    pub fn queued(mut self, queue: Admission) -> Self {
        self.queue = Some(Arc::new(queue));
        self
    }

    /// Starts job `id` of `user` for `request`.
    pub fn start(&self, id: String, user: &str, request: &Request) -> Arc<StepJob> {
        let q = self.queue.as_ref();
        StepJob::start(id, user, request.clone(), &self.binary, q, &self.ctx)
    }
}

/// The entry points of a runner made of [`StepJob`]s: each is a [`Runner`](super::Runner)
/// method, whole.
impl JobTable<StepJob> {
    /// Run: a new job, or the earlier one of a retried `request_id`.
    pub fn run(&self, starter: &StepStarter, call: RunCall) -> Result<JobId, RunnerError> {
        let (user, req) = run_request(call)?;
        let (job_id, _) = self.submit(
            &user,
            &req.request_id,
            |_, job| Ok(job.repeats(&req)),
            |id| Ok(starter.start(id, &user, &req)),
        )?;
        Ok(JobId { job_id })
    }

    /// Fetch: the caller's job, a page after the cursor.
    pub fn fetch(&self, call: FetchCall, waker: Option<Waker>) -> Result<Responses, RunnerError> {
        let (user, job_id, req) = fetch_request(call);
        let job = self.lookup(&job_id, &user)?;
        job.fetch(&req.cursor, waker, PAGE_BYTES)
    }

    /// Cancel: the caller's job, killed.
    pub fn cancel(&self, call: CancelCall) -> Result<JobStatus, RunnerError> {
        let (user, job_id) = cancel_request(call);
        let job = self.lookup(&job_id, &user)?;
        let by = if user.is_empty() { "the client" } else { &user };
        job.cancel(&format!("cancelled by {by}"))
    }

    /// ListJobs: the caller's jobs, newest first.
    pub fn list_jobs(&self, call: ListJobsCall) -> Result<ListJobsResponse, RunnerError> {
        let (user, req) = list_request(call);
        self.list(&user, &req)
    }
}

/// One job: its request, its lease and its transcript.
pub struct StepJob {
    id: String,
    user: String,
    request: Request,
    submitted_at_ms: u64,
    lease: Lease,
    out: Watched<Transcript>,
    killer: Killer,
}

impl StepJob {
    /// Makes job `id` of `user` for `request` and starts it on the runner's runtime: after
    /// its turn in `queue` (if any) it runs `binary run -`.
    pub fn start(
        id: String,
        user: &str,
        request: Request,
        binary: &Path,
        queue: Option<&Arc<Admission>>,
        ctx: &PluginContext,
    ) -> Arc<StepJob> {
        let process = StepProcess::new(binary, &request.sql, datasource(&request));
        let job = Arc::new(StepJob {
            id,
            user: user.to_string(),
            lease: Lease::for_request(&request),
            request,
            submitted_at_ms: now_ms(),
            out: Watched::default(),
            killer: process.killer(),
        });
        let (this, queue) = (job.clone(), queue.cloned());
        ctx.runtime.spawn(async move {
            if let Some(q) = &queue {
                q.turn(&this.user).await;
            }
            process.run_into(&this.out).await;
            if let Some(q) = &queue {
                q.done(&this.user);
            }
        });
        job
    }

    /// Whether `retry` repeats this job's request (a retried Run with its `request_id`).
    pub fn repeats(&self, retry: &Request) -> bool {
        same_request(&self.request.sql, datasource(&self.request), retry)
    }

    /// A Fetch: renews the lease and pages the transcript (see [`Watched::fetch`]).
    pub fn fetch(
        &self,
        cursor: &str,
        waker: Option<Waker>,
        page_bytes: usize,
    ) -> Result<Responses, RunnerError> {
        self.lease.renew(now_ms());
        self.out.fetch(cursor, waker, page_bytes)
    }

    /// Cancels the job and waits (at most [`CANCEL_WAIT`]) for its process to be gone;
    /// harmless on a finished job. `DEADLINE_EXCEEDED` if it did not stop in time.
    pub fn cancel(&self, reason: &str) -> Result<JobStatus, RunnerError> {
        if !self.out.read(Transcript::is_done) {
            self.killer
                .cancel(&self.out, reason)
                .map_err(|e| RunnerError::internal(format!("cannot stop job {}: {e}", self.id)))?;
        }
        if !self.out.wait_until(CANCEL_WAIT, Transcript::is_done) {
            return Err(RunnerError::new(
                crate::ErrorCode::DEADLINE_EXCEEDED,
                format!("job {} did not stop within {CANCEL_WAIT:?}", self.id),
            ));
        }
        Ok(self.out.read(|t| t.status.clone()))
    }

    /// Runs forever on the runner's runtime: once a second, cancels the jobs of `jobs`
    /// nobody fetched for their `timeout_seconds`, and removes those that ended more than
    /// `retention` ago.
    pub async fn housekeeping(jobs: Arc<JobTable<StepJob>>, retention: Duration) {
        let mut tick = tokio::time::interval(REAP_EVERY);
        loop {
            tick.tick().await;
            let now = now_ms();
            for job in jobs.all() {
                let ended = job.out.read(|t| t.ended_at_ms);
                if ended == 0 && job.lease.expired(now) {
                    tracing::warn!(job_id = %job.id, "{}", job.lease.reason());
                    if let Err(e) = job.killer.cancel(&job.out, &job.lease.reason()) {
                        tracing::error!(job_id = %job.id, "cannot cancel an abandoned job: {e}");
                    }
                } else if ended > 0 && now.saturating_sub(ended) > retention.as_millis() as u64 {
                    jobs.remove(&job.id);
                }
            }
        }
    }
}

impl TableJob for StepJob {
    fn owner(&self) -> &str {
        &self.user
    }

    fn request_id(&self) -> &str {
        &self.request.request_id
    }

    fn info(&self) -> JobInfo {
        self.out.read(|t| JobInfo {
            job_id: self.id.clone(),
            status: Some(t.status.clone()),
            submitted_at_ms: self.submitted_at_ms as i64,
            finished_at_ms: t.ended_at_ms as i64,
            summary: summary(&self.request.sql),
            request_id: self.request.request_id.clone(),
        })
    }
}
