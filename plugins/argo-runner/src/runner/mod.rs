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
//!
//! Its files: this one (the runner's state and the `Runner` entry points), `submit`
//! (Run's Secret and Workflow), `job` (one job: lookup, lease, shutdown, status with the
//! failure text), `fetch` (Fetch's paging through the steps' logs, long-poll waiters),
//! `list` (ListJobs' pages).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use kube::Client;
use sqlflow_plugin_api::{
    Features, RunnerError,
    sdk::{Runner, Waker},
};
use sqlflow_proto::{
    plugin::{CancelCall, FetchCall, ListJobsCall, RunCall, RunnerStats},
    sqlflow::{JobId, JobStatus, ListJobsResponse, Responses},
};
use tokio::{runtime::Handle, task::JoinHandle};

use crate::{
    cache::{Cache, run_watch},
    codegen::{self, JobInput, name_for_request, random_name, request_hash, split_program},
    config::Config,
    cursor::{Cursor, LogPos},
    kubeapi::Kube,
    lease::{Leases, now_ms},
    text::clip,
};

mod fetch;
mod job;
mod list;
mod submit;

use submit::Retry;

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
    /// Everything but queueing: Argo's `parallelism` is not per user, so another user's
    /// jobs could hold a user back; the host reports this at start-up.
    fn features(&self) -> Features {
        Features::ALL.without(Features::QUEUEING)
    }

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
        let statements = split_program(&req.sql, &session.db_conn_str, &s.cfg)?;
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
