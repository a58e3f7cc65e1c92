//! The runner: Run, Fetch, Cancel, ListJobs on top of the watch cache and the API. It
//! starts the background tasks: the watch (`cache`), and the long-poll log prober, the
//! reaper and the sweeper of orphaned Secrets (`background`).
//!
//! Kubernetes API calls per call, at steady state:
//! - `Run`: create Secret, create Workflow, patch the Secret's owner (3);
//! - `Fetch`: 0 for the status (the watch), plus 1 `pods/log` read while a step's log
//!   may hold something the cursor has not seen (the step is running, or it ended and
//!   its log was not read to the end); 0 for a pending job or a finished job read to
//!   the end. A job missing from the cache (created by another replica a moment ago)
//!   costs one GET. A failed job's first Fetch on a replica may read the failing
//!   step's log tail once (cached). The lease annotation is patched in the background
//!   at most every T/4 per job and replica.
//! - `Cancel`: 1 patch.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use kube::Client;
use prost::Message as _;
use serde_json::json;
use sqlflow_plugin_api::{
    ErrorCode, RunnerError,
    sdk::{Runner, Waker},
};
use sqlflow_proto::{
    jobdir::now_ms,
    plugin::{CancelCall, FetchCall, ListJobsCall, RunCall, RunnerStats},
    sqlflow::{
        JobId, JobInfo, JobStatus, ListJobsResponse, Response, Responses, job_status::Code,
        message::Kind,
    },
};
use tokio::{runtime::Handle, task::JoinHandle};

use crate::{
    cache::{Cache, run_watch},
    codegen::{
        self, ANN_CANCEL_REASON, ANN_LAST_FETCH, JobInput, name_for_request, owner_reference,
        random_name, request_hash, split_program, valid_job_name,
    },
    config::Config,
    cursor::{Cursor, LogPos},
    kubeapi::{CallError, Kube, MAX_LOG_READ},
    lease::Leases,
    logs::{
        self, Budget, FailureScan, Flow, Lines, MAX_LINE_BYTES, MAX_RECORD_BYTES, PageReader,
        ReadEnd, failure_text, message,
    },
    status::{StepNode, WfView},
    text::clip,
};

/// Intervals of the background work; tests shorten them.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// How often the reaper looks for abandoned jobs.
    pub reap_every: Duration,
    /// How often Secrets left without an owner are adopted or removed.
    pub sweep_every: Duration,
    /// A Secret younger than this may still be between its creation and its Workflow's.
    pub sweep_min_age: Duration,
    /// How long Cancel waits for Argo to stop the workflow before answering.
    pub cancel_wait: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            reap_every: Duration::from_secs(1),
            sweep_every: Duration::from_secs(300),
            sweep_min_age: Duration::from_secs(120),
            cancel_wait: Duration::from_secs(3),
        }
    }
}

/// The most bytes of jobs one ListJobs reply carries: below the 4 MiB a default gRPC
/// client accepts.
const MAX_LIST_REPLY: usize = 3 << 20;

/// Lines of a failed step's log tail read to find its failure report.
const FAILURE_TAIL_LINES: i64 = 20;

pub struct ArgoRunner {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ArgoRunner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub(crate) struct Shared {
    pub(crate) cfg: Config,
    pub(crate) kube: Kube,
    pub(crate) rt: Handle,
    pub(crate) tuning: Tuning,
    pub(crate) cache: Arc<Cache>,
    pub(crate) waiters: Mutex<HashMap<String, Vec<Waiter>>>,
    pub(crate) leases: Leases,
    /// Failed jobs' own account of their failure (None: the log has none), by job.
    pub(crate) failures: Mutex<HashMap<String, Option<String>>>,
}

/// A long-polling Fetch: where its client is, and the Workflow version it saw.
pub(crate) struct Waiter {
    pub(crate) waker: Waker,
    pub(crate) step: u32,
    pub(crate) pos: LogPos,
    pub(crate) resource_version: String,
}

/// Why a step's log could not be read.
pub(crate) enum LogError {
    /// The pod is gone (deleted after the workflow ended) or not created yet.
    NoPod,
    /// The container has not started (or never will: image pull failures and the like).
    NotStarted,
    Api(CallError),
}

/// A Run with a request id: a second Run with it must be the same request.
struct Retry {
    request_id: String,
    hash: String,
}

impl ArgoRunner {
    /// A runner on `namespace` through `client`, with its background tasks on `rt`.
    /// `create` builds the client from the kube config; tests pass a scripted one.
    pub fn new(client: Client, namespace: &str, cfg: Config, rt: Handle, tuning: Tuning) -> Self {
        let shared = Arc::new(Shared {
            kube: Kube::new(client, namespace),
            rt: rt.clone(),
            tuning,
            cache: Arc::new(Cache::new(cfg.max_statements)),
            waiters: Mutex::new(HashMap::new()),
            leases: Leases::default(),
            failures: Mutex::new(HashMap::new()),
            cfg,
        });
        let mut tasks = Vec::new();
        {
            let s = shared.clone();
            tasks.push(rt.spawn(async move {
                let (kube, cache) = (s.kube.clone(), s.cache.clone());
                run_watch(kube, cache, move |changed| {
                    for job in changed {
                        s.wake(&job);
                    }
                })
                .await;
            }));
        }
        let s = shared.clone();
        tasks.push(rt.spawn(async move { s.probe_loop().await }));
        let s = shared.clone();
        tasks.push(rt.spawn(async move { s.reap_loop().await }));
        let s = shared.clone();
        tasks.push(rt.spawn(async move { s.sweep_loop().await }));
        ArgoRunner { shared, tasks }
    }

    pub fn namespace(&self) -> &str {
        &self.shared.kube.namespace
    }
}

fn caller_user(c: Option<&sqlflow_proto::plugin::Caller>) -> String {
    c.map(|c| c.user_id.clone()).unwrap_or_default()
}

impl Runner for ArgoRunner {
    fn run(&self, call: RunCall) -> Result<JobId, RunnerError> {
        let user = caller_user(call.caller.as_ref());
        let req = call
            .request
            .ok_or_else(|| RunnerError::invalid_argument("missing request"))?;
        if req.sql.trim().is_empty() {
            return Err(RunnerError::invalid_argument("the program is empty"));
        }
        let session = req.session.clone().unwrap_or_default();
        if session.db_conn_str.trim().is_empty() {
            return Err(RunnerError::invalid_argument(
                "no datasource: set Session.db_conn_str or configure a default datasource",
            ));
        }
        let s = &self.shared;
        let statements = split_program(&req.sql, &session.db_conn_str, s.cfg.max_statements)?;
        let name = if req.request_id.is_empty() {
            random_name()
        } else {
            name_for_request(&user, &req.request_id)
        };
        let input = JobInput {
            name: name.clone(),
            namespace: s.kube.namespace.clone(),
            user: user.clone(),
            request_id: req.request_id.clone(),
            program: req.sql,
            datasource: session.db_conn_str,
            timeout_seconds: req.timeout_seconds,
            exit_on_submit: session.exit_on_submit,
            now_ms: now_ms(),
        };
        let compiled = codegen::compile(&s.cfg, &input, statements);
        let retry = (!req.request_id.is_empty()).then(|| Retry {
            request_id: req.request_id.clone(),
            hash: request_hash(&input.program, &input.datasource),
        });
        s.rt.block_on(s.submit(&name, &user, retry, compiled))?;
        tracing::info!(job_id = %name, user = %user, "workflow submitted");
        Ok(JobId { job_id: name })
    }

    fn fetch(&self, call: FetchCall, waker: Option<Waker>) -> Result<Responses, RunnerError> {
        let user = caller_user(call.caller.as_ref());
        let req = call.request.unwrap_or_default();
        let id = req.job.map(|j| j.job_id).unwrap_or_default();
        let s = &self.shared;
        s.rt.block_on(async {
            let view = s.lookup(&id, &user).await?;
            let cursor = Cursor::parse(&req.cursor).ok_or_else(|| {
                RunnerError::invalid_argument(format!("malformed cursor '{}'", clip(&req.cursor)))
            })?;
            if view.invalid.is_some() {
                // Nothing of such a job can be read: its status says why, once and for all.
                let status = view.status(None);
                return Ok(Responses {
                    next_cursor: Cursor::encode(0, LogPos::default(), status.code()),
                    job_status: Some(status),
                    response: Vec::new(),
                    eof: true,
                });
            }
            if cursor.step as usize > view.statements {
                return Err(RunnerError::invalid_argument(format!(
                    "cursor '{}' does not point into job {id}'s output",
                    clip(&req.cursor)
                )));
            }
            s.renew_lease(&view);
            let (responses, step, pos) = s.read_steps(&view, &cursor).await?;
            let status = s.status(&view).await;
            let eof = view.is_done() && step as usize >= view.statements;
            let next_cursor = Cursor::encode(step, pos, status.code());
            if responses.is_empty()
                && next_cursor == req.cursor
                && !eof
                && let Some(w) = waker
            {
                s.add_waiter(&view, w, step, pos);
            }
            Ok(Responses {
                job_status: Some(status),
                response: responses,
                next_cursor,
                eof,
            })
        })
    }

    fn cancel(&self, call: CancelCall) -> Result<JobStatus, RunnerError> {
        let user = caller_user(call.caller.as_ref());
        let id = call.job.map(|j| j.job_id).unwrap_or_default();
        let s = &self.shared;
        s.rt.block_on(async {
            let view = s.lookup(&id, &user).await?;
            if view.is_done() || view.invalid.is_some() {
                return Ok(s.status(&view).await);
            }
            let reason = if user.is_empty() {
                "cancelled by the client".to_string()
            } else {
                format!("cancelled by {user}")
            };
            let mut view = if view.shutdown.is_none() {
                s.shutdown(&view.name, &reason).await?
            } else {
                view
            };
            // Argo marks the workflow ended within moments; answer with that if we can.
            let deadline = Instant::now() + s.tuning.cancel_wait;
            while !view.is_done() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Some(v) = s.cache.get(&id) {
                    view = v;
                }
            }
            Ok(s.status(&view).await)
        })
    }

    fn list_jobs(&self, call: ListJobsCall) -> Result<ListJobsResponse, RunnerError> {
        let user = caller_user(call.caller.as_ref());
        let req = call.request.unwrap_or_default();
        self.shared.list(&user, req.page_size, &req.page_token)
    }

    fn stats(&self) -> Result<RunnerStats, RunnerError> {
        let mut stats = RunnerStats::default();
        for v in self.shared.cache.all() {
            *stats
                .jobs_by_state
                .entry(v.code().as_str_name().to_string())
                .or_default() += 1;
        }
        Ok(stats)
    }

    fn health(&self) -> Result<(), RunnerError> {
        let s = &self.shared;
        if s.cache.is_ready() {
            return Ok(());
        }
        let why = s
            .cache
            .last_error()
            .map(|e| format!(": {e}"))
            .unwrap_or_else(|| " yet".into());
        Err(RunnerError::unavailable(format!(
            "the watch on Workflows in namespace {} is not established{why}",
            s.kube.namespace
        )))
    }
}

impl Shared {
    /// Creates the job's Secret, then its Workflow, then makes the Workflow the
    /// Secret's owner. The Secret comes first so no step pod ever waits for it; a
    /// Secret left without an owner (the server died in between) is adopted or removed
    /// by the sweeper. A retried Run finds both objects and returns the same job.
    async fn submit(
        &self,
        name: &str,
        user: &str,
        retry: Option<Retry>,
        compiled: codegen::Compiled,
    ) -> Result<(), RunnerError> {
        let mut created_secret = false;
        match self.kube.create_secret(&compiled.secret).await {
            Ok(()) => created_secret = true,
            Err(e) if e.status() == Some(409) && retry.is_some() => {}
            Err(e) if e.status() == Some(409) => {
                return Err(RunnerError::internal(format!(
                    "the new job's name {name} is taken; submit again"
                )));
            }
            Err(e) => return Err(e.to_runner("create the job's Secret")),
        }
        let view = match self.kube.create_workflow(&compiled.workflow).await {
            Ok(obj) => self.cache.parse(&obj).map(Arc::new),
            Err(e)
                if e.status() == Some(409)
                    && let Some(retry) = &retry =>
            {
                let view = self
                    .get_view(name)
                    .await
                    .map_err(|e| e.to_runner("read the job of a retried Run"))?;
                if view.as_ref().is_some_and(|v| v.user != user) {
                    return Err(RunnerError::new(
                        ErrorCode::ALREADY_EXISTS,
                        format!("job {name} exists and belongs to someone else"),
                    ));
                }
                // Workflows from before the hash was recorded carry none: a retry then.
                if let Some(v) = &view
                    && !v.request_hash.is_empty()
                    && v.request_hash != retry.hash
                {
                    return Err(RunnerError::new(
                        ErrorCode::ALREADY_EXISTS,
                        format!(
                            "request_id '{}' was already used for a different program or \
                             datasource (job {name}); give this Run a new request_id",
                            clip(&retry.request_id)
                        ),
                    ));
                }
                tracing::info!(job_id = %name, "Run retried: same job");
                view
            }
            Err(e) => {
                if created_secret && let Err(d) = self.kube.delete_secret(name).await {
                    tracing::warn!(job_id = %name, "cannot remove the Secret of a job that was not created: {}; the sweeper will", d.message());
                }
                return Err(if e.status() == Some(404) {
                    RunnerError::new(
                        ErrorCode::FAILED_PRECONDITION,
                        format!(
                            "cannot create the job's Workflow: the API server does not know \
                             workflows.argoproj.io in namespace {} ({}); is Argo Workflows installed?",
                            self.kube.namespace,
                            e.message()
                        ),
                    )
                } else {
                    e.to_runner("create the job's Workflow")
                });
            }
        };
        let Some(view) = view else {
            return Err(RunnerError::internal(format!(
                "the Workflow {name} the API server returned is not a sqlflow job"
            )));
        };
        let owner =
            json!({ "metadata": { "ownerReferences": [owner_reference(name, &view.uid)] } });
        if let Err(e) = self.kube.patch_secret(name, &owner).await {
            tracing::warn!(job_id = %name, "cannot make the Workflow own its Secret: {}; the sweeper will retry", e.message());
        }
        self.cache.offer(view);
        Ok(())
    }

    /// Reads the Workflow `name` from the API (not the cache): `None` if it is missing or
    /// not a sqlflow job.
    pub(crate) async fn get_view(&self, name: &str) -> Result<Option<Arc<WfView>>, CallError> {
        let obj = self.kube.get_workflow(name).await?;
        Ok(obj.as_ref().and_then(|o| self.cache.parse(o)).map(Arc::new))
    }

    /// The job `id` if the caller owns it. Someone else's job is NOT_FOUND, like a
    /// missing one.
    async fn lookup(&self, id: &str, user: &str) -> Result<Arc<WfView>, RunnerError> {
        if !valid_job_name(id) {
            return Err(RunnerError::unknown_job(&clip(id)));
        }
        let view = match self.cache.get(id) {
            Some(v) => v,
            None => {
                let view = self
                    .get_view(id)
                    .await
                    .map_err(|e| e.to_runner(&format!("read job {id}")))?
                    .ok_or_else(|| RunnerError::unknown_job(id))?;
                self.cache.offer(view.clone());
                view
            }
        };
        if view.user != user {
            return Err(RunnerError::unknown_job(id));
        }
        Ok(view)
    }

    fn renew_lease(self: &Shared, view: &WfView) {
        let Some(value) = self.leases.renew(view, now_ms()) else {
            return;
        };
        let kube = self.kube.clone();
        let cache = self.cache.clone();
        let name = view.name.clone();
        // In the background: a Fetch never waits for its lease.
        self.rt.spawn(async move {
            let patch =
                json!({ "metadata": { "annotations": { ANN_LAST_FETCH: value.to_string() } } });
            match kube.patch_workflow(&name, &patch).await {
                Ok(obj) => {
                    if let Some(v) = cache.parse(&obj) {
                        cache.offer(Arc::new(v));
                    }
                }
                Err(e) => {
                    tracing::warn!(job_id = %name, "cannot renew the job's lease: {}", e.message())
                }
            }
        });
    }

    pub(crate) async fn shutdown(
        &self,
        name: &str,
        reason: &str,
    ) -> Result<Arc<WfView>, RunnerError> {
        let patch = json!({
            "metadata": { "annotations": { ANN_CANCEL_REASON: reason } },
            "spec": { "shutdown": "Terminate" },
        });
        let obj = self
            .kube
            .patch_workflow(name, &patch)
            .await
            .map_err(|e| e.to_runner(&format!("cancel job {name}")))?;
        tracing::info!(job_id = %name, "{reason}");
        let view = self.cache.parse(&obj).map(Arc::new).ok_or_else(|| {
            RunnerError::internal(format!("the Workflow {name} is no longer a sqlflow job"))
        })?;
        self.cache.offer(view.clone());
        Ok(view)
    }

    /// The job's status; for a failed job, with the failing step's own words.
    async fn status(&self, view: &WfView) -> JobStatus {
        if view.code() != Code::Failed {
            return view.status(None);
        }
        let known = self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&view.name)
            .cloned();
        let failure = match known {
            Some(f) => f,
            None => self.read_failure(view).await,
        };
        view.status(failure.as_deref())
    }

    fn remember_failure(&self, job: &str, text: Option<String>) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.to_string(), text);
    }

    /// Reads the failed step's last lines for its Failure record or diagnostics, and
    /// remembers what the log said.
    async fn read_failure(&self, view: &WfView) -> Option<String> {
        let (_, node) = view.failed_step()?;
        if !node.may_have_log() {
            return None;
        }
        let mut scan = FailureScan::new(view.statements);
        let mut lines = Lines::new(MAX_LINE_BYTES);
        let read = self
            .kube
            .pod_log_tail(&node.pod, FAILURE_TAIL_LINES, &mut lines, &mut |l| {
                scan.line(l.bytes);
                Flow::Go
            })
            .await;
        match read {
            Ok(_) => {
                if let Some(rest) = lines.rest() {
                    scan.line(rest.bytes);
                }
                let text = scan.finish();
                // A log without an account (a pod killed from outside) is final too.
                self.remember_failure(&view.name, text.clone());
                text
            }
            Err(e) => {
                tracing::debug!(job_id = %view.name, "cannot read the failed step's log: {}", e.message());
                None
            }
        }
    }

    /// Responses after the cursor, reading step logs in order within the page budget.
    async fn read_steps(
        &self,
        view: &WfView,
        cursor: &Cursor,
    ) -> Result<(Vec<Response>, u32, LogPos), RunnerError> {
        let n = u32::try_from(view.statements).unwrap_or(u32::MAX);
        let mut out = Vec::new();
        let mut budget = Budget::new(self.cfg.fetch_page_bytes);
        let note = |out: &mut Vec<Response>, budget: &mut Budget, text: String, kind: Kind| {
            budget.charge(text.len() as u64);
            out.push(message(text, kind));
        };
        if cursor.seen.is_none()
            && let Some(ui) = &self.cfg.argo_ui
        {
            note(
                &mut out,
                &mut budget,
                format!(
                    "Argo workflow: {}/workflows/{}/{}",
                    ui.trim_end_matches('/'),
                    view.namespace,
                    view.name
                ),
                Kind::Log,
            );
        }
        let mut step = cursor.step;
        let mut pos = cursor.pos;
        while step < n && budget.has_room() {
            let Some(node) = view.steps.get(step as usize).and_then(Option::as_ref) else {
                // A step Argo never started: in a finished workflow it never will be.
                if view.is_done() {
                    (step, pos) = (step + 1, LogPos::default());
                    continue;
                }
                break;
            };
            let ended = node.is_done() || view.is_done();
            if !node.may_have_log() {
                if ended {
                    (step, pos) = (step + 1, LogPos::default());
                    continue;
                }
                break;
            }
            let reader = PageReader::new(pos, ended);
            match self.read_log(node, reader, &mut budget).await {
                Ok((page, end)) => {
                    let delivered = !out.is_empty() || page.progressed;
                    out.extend(page.responses);
                    if page.failed {
                        if let Some(f) = &page.failure {
                            self.remember_failure(
                                &view.name,
                                Some(failure_text(f, view.statements)),
                            );
                        }
                        // The program stops at its failing statement: nothing follows.
                        (step, pos) = (n, LogPos::default());
                        break;
                    }
                    if let Some(bytes) = page.too_long {
                        if !delivered {
                            return Err(RunnerError::new(
                                ErrorCode::RESOURCE_EXHAUSTED,
                                format!(
                                    "cannot deliver the output of statement {}: a record of \
                                     {bytes} bytes exceeds the limit of {MAX_RECORD_BYTES} bytes \
                                     (a reply must fit the 4 MiB a gRPC client accepts)",
                                    step + 1
                                ),
                            ));
                        }
                        // What precedes it goes out now; the next Fetch stops at it.
                        pos = page.pos;
                        break;
                    }
                    if end == ReadEnd::Cut && !page.progressed {
                        return Err(RunnerError::new(
                            ErrorCode::RESOURCE_EXHAUSTED,
                            format!(
                                "cannot read past a point in the log of statement {}: more than \
                                 {MAX_LOG_READ} bytes of it share one second or one line",
                                step + 1
                            ),
                        ));
                    }
                    pos = page.pos;
                    if ended && page.at_end {
                        (step, pos) = (step + 1, LogPos::default());
                        continue;
                    }
                    break;
                }
                Err(LogError::NotStarted) if ended => {
                    (step, pos) = (step + 1, LogPos::default());
                }
                Err(LogError::NoPod) if ended => {
                    note(
                        &mut out,
                        &mut budget,
                        format!(
                            "the rest of statement {}'s output is gone: its pod {} was deleted \
                             (pods are kept pod_gc_delay_seconds = {} after the workflow ends)",
                            step + 1,
                            node.pod,
                            self.cfg.pod_gc_delay_seconds
                        ),
                        Kind::Error,
                    );
                    (step, pos) = (step + 1, LogPos::default());
                }
                Err(LogError::NotStarted | LogError::NoPod) => break,
                Err(LogError::Api(e)) => {
                    return Err(e.to_runner(&format!(
                        "read the log of statement {} (pod {})",
                        step + 1,
                        node.pod
                    )));
                }
            }
        }
        Ok((out, step, pos))
    }

    /// Reads a step's log from `reader`'s position (the start of its second) into the
    /// reader's page, streamed: at most one line and the page are held.
    pub(crate) async fn read_log(
        &self,
        node: &StepNode,
        mut reader: PageReader,
        budget: &mut Budget,
    ) -> Result<(logs::LogPage, ReadEnd), LogError> {
        let mut lines = Lines::new(MAX_LINE_BYTES);
        let since = reader.from().last.map(|s| s.secs);
        let read = self
            .kube
            .pod_log(&node.pod, since, &mut lines, &mut |l| {
                reader.line(l, budget)
            })
            .await;
        match read {
            Ok(end) => Ok((reader.finish(lines.rest(), end, budget), end)),
            Err(e) if e.status() == Some(404) => Err(LogError::NoPod),
            Err(e) if e.status() == Some(400) => Err(LogError::NotStarted),
            Err(e) => Err(LogError::Api(e)),
        }
    }

    fn add_waiter(&self, view: &WfView, waker: Waker, step: u32, pos: LogPos) {
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(view.name.clone())
            .or_default()
            .push(Waiter {
                waker,
                step,
                pos,
                resource_version: view.resource_version.clone(),
            });
        // The workflow may have changed between the snapshot and now.
        if self
            .cache
            .get(&view.name)
            .is_none_or(|v| v.resource_version != view.resource_version)
        {
            self.wake(&view.name);
        }
    }

    pub(crate) fn wake(&self, job: &str) {
        let waiting = self
            .waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(job);
        for w in waiting.into_iter().flatten() {
            w.waker.wake();
        }
    }

    /// The caller's jobs, newest first. The page token is `<created_ms>.<name>` of the
    /// last job of the previous page.
    fn list(
        &self,
        user: &str,
        page_size: u32,
        token: &str,
    ) -> Result<ListJobsResponse, RunnerError> {
        if !self.cache.is_ready() {
            return Err(RunnerError::unavailable(
                "the list of jobs is not loaded yet (the watch on Workflows is not established)",
            ));
        }
        let after = if token.is_empty() {
            None
        } else {
            let bad =
                || RunnerError::invalid_argument(format!("malformed page_token '{}'", clip(token)));
            let (ms, id) = token.split_once('.').ok_or_else(bad)?;
            let ms: u64 = ms.parse().map_err(|_| bad())?;
            if !valid_job_name(id) {
                return Err(bad());
            }
            Some((ms, id.to_string()))
        };
        let size = match page_size as usize {
            0 => 50,
            n => n.min(1000),
        };
        let mut mine: Vec<Arc<WfView>> = self
            .cache
            .all()
            .into_iter()
            .filter(|v| v.user == user)
            .collect();
        mine.sort_by(|a, b| (b.created_ms, &b.name).cmp(&(a.created_ms, &a.name)));
        let start = match &after {
            None => 0,
            Some((ms, id)) => mine
                .iter()
                .position(|v| (v.created_ms, &v.name) < (*ms, id))
                .unwrap_or(mine.len()),
        };
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut jobs: Vec<JobInfo> = Vec::new();
        let mut bytes = 0;
        for v in mine.iter().skip(start).take(size) {
            let job = JobInfo {
                job_id: v.name.clone(),
                status: Some(v.status(failures.get(&v.name).cloned().flatten().as_deref())),
                submitted_at_ms: i64::try_from(v.created_ms).unwrap_or(0),
                finished_at_ms: if v.is_done() {
                    v.finished_ms
                        .and_then(|t| i64::try_from(t).ok())
                        .unwrap_or(0)
                } else {
                    0
                },
                summary: v.summary.clone(),
                request_id: v.request_id.clone(),
            };
            // Each entry is small but a thousand failure texts are not: the page ends
            // early rather than outgrow what a client accepts.
            bytes += job.encoded_len() + 4;
            if bytes > MAX_LIST_REPLY && !jobs.is_empty() {
                break;
            }
            jobs.push(job);
        }
        drop(failures);
        let end = start + jobs.len();
        let next_page_token = match end.checked_sub(1).and_then(|i| mine.get(i)) {
            Some(last) if !jobs.is_empty() && end < mine.len() => {
                format!("{}.{}", last.created_ms, last.name)
            }
            _ => String::new(),
        };
        Ok(ListJobsResponse {
            jobs,
            next_page_token,
        })
    }
}
