//! The `sqlflow.SQLFlow` gRPC service: authenticates the caller, validates requests,
//! applies the datasource policy and server defaults, routes to the runner, and records
//! metrics. It never names a concrete runner.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sqlflow_grpc::raw::{RawResponses, server::sql_flow_server::SqlFlow};
use sqlflow_plugin_host::NotifyWaker;
use sqlflow_proto::{
    plugin::{Caller, CancelCall, FetchCall, ListJobsCall, RunCall},
    sqlflow::{
        FetchRequest, JobId, JobStatus, ListJobsRequest, ListJobsResponse, Request, Session,
    },
};
use tokio::sync::Notify;
use tonic::Status;
use tracing::Instrument;

use crate::{
    auth::Authenticator,
    metrics::Metrics,
    policy::{DatasourcePolicy, Origin},
    runner::RunnerHandle,
};

pub struct Settings {
    pub default_datasource: String,
    pub default_timeout_seconds: u32,
    pub max_wait: Duration,
    pub max_program_bytes: usize,
}

pub struct Service {
    runner: RunnerHandle,
    settings: Settings,
    auth: Authenticator,
    policy: DatasourcePolicy,
    metrics: Arc<Metrics>,
}

impl Service {
    pub fn new(
        runner: RunnerHandle,
        settings: Settings,
        auth: Authenticator,
        policy: DatasourcePolicy,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            runner,
            settings,
            auth,
            policy,
            metrics,
        }
    }

    fn caller<T>(
        &self,
        req: &tonic::Request<T>,
        session_token: Option<&str>,
    ) -> Result<Caller, Status> {
        Ok(Caller {
            user_id: self.auth.authenticate(req.metadata(), session_token)?,
            panic_probe: false,
        })
    }

    /// Times an RPC and counts its errors.
    async fn observed<T>(
        &self,
        method: &'static str,
        f: impl Future<Output = Result<T, Status>>,
    ) -> Result<tonic::Response<T>, Status> {
        let started = Instant::now();
        let result = f.await.map_err(bounded);
        self.metrics.observe_rpc(
            method,
            started.elapsed(),
            result.as_ref().err().map(Status::code),
        );
        result.map(tonic::Response::new)
    }

    async fn run_inner(&self, request: tonic::Request<Request>) -> Result<JobId, Status> {
        let token = request.get_ref().session.as_ref().map(|s| s.token.clone());
        let caller = self.caller(&request, token.as_deref())?;
        let mut req = request.into_inner();
        bounded_field("request_id", &req.request_id, MAX_ID_BYTES)?;
        if req.sql.trim().is_empty() {
            return Err(Status::invalid_argument(
                "the program is empty: send at least one SQL statement",
            ));
        }
        if req.sql.len() > self.settings.max_program_bytes {
            return Err(Status::invalid_argument(format!(
                "the program is {} bytes; this server accepts at most {} (max_program_bytes)",
                req.sql.len(),
                self.settings.max_program_bytes
            )));
        }
        let session = req.session.get_or_insert_with(Session::default);
        // The token proved who the caller is; it has no business in the job's records.
        session.token.clear();
        session.user_id = caller.user_id.clone();
        let (ds, origin) = if session.db_conn_str.trim().is_empty() {
            (self.settings.default_datasource.clone(), Origin::Server)
        } else {
            (session.db_conn_str.trim().to_string(), Origin::Client)
        };
        session.db_conn_str = self.policy.admit(&ds, origin)?;
        if req.timeout_seconds == 0 {
            req.timeout_seconds = self.settings.default_timeout_seconds;
        }
        self.runner
            .run(RunCall {
                request: Some(req),
                caller: Some(caller),
            })
            .await
    }

    async fn fetch_inner(
        &self,
        request: tonic::Request<FetchRequest>,
    ) -> Result<RawResponses, Status> {
        let caller = self.caller(&request, None)?;
        let mut req = request.into_inner();
        let job = job_id(req.job.as_ref())?;
        bounded_field("cursor", &req.cursor, MAX_CURSOR_BYTES)?;
        let wait = Duration::from_millis(req.wait_ms.into()).min(self.settings.max_wait);
        req.wait_ms = wait.as_millis() as u32;
        let deadline = tokio::time::Instant::now() + wait;
        let cursor = req.cursor.clone();
        let call = FetchCall {
            request: Some(req),
            caller: Some(caller),
        };
        async move {
            loop {
                let notify = Arc::new(Notify::new());
                let waker = (!wait.is_zero()).then(|| NotifyWaker::boxed(&notify));
                let reply = self.runner.fetch(call.clone(), waker).await?;
                let nothing_new =
                    reply.response.is_empty() && reply.next_cursor == cursor && !reply.eof;
                if !nothing_new || tokio::time::Instant::now() >= deadline {
                    return Ok(reply);
                }
                if tokio::time::timeout_at(deadline, notify.notified())
                    .await
                    .is_err()
                {
                    return Ok(reply);
                }
            }
        }
        .instrument(tracing::debug_span!("fetch", job_id = %job.job_id))
        .await
    }

    async fn cancel_inner(&self, request: tonic::Request<JobId>) -> Result<JobStatus, Status> {
        let caller = self.caller(&request, None)?;
        let job = job_id(Some(request.get_ref()))?;
        let user = caller.user_id.clone();
        let status = self
            .runner
            .cancel(CancelCall {
                job: Some(job.clone()),
                caller: Some(caller),
            })
            .await?;
        tracing::info!(job_id = %job.job_id, user, code = ?status.code(), "cancel requested");
        Ok(status)
    }

    async fn list_inner(
        &self,
        request: tonic::Request<ListJobsRequest>,
    ) -> Result<ListJobsResponse, Status> {
        let caller = self.caller(&request, None)?;
        bounded_field(
            "page_token",
            &request.get_ref().page_token,
            MAX_CURSOR_BYTES,
        )?;
        self.runner
            .list_jobs(ListJobsCall {
                request: Some(request.into_inner()),
                caller: Some(caller),
            })
            .await
    }
}

/// Job ids, request ids: a UUID, a Kubernetes name (at most 253) or a client's key.
const MAX_ID_BYTES: usize = 256;
/// Cursors and page tokens are the server's own short strings.
const MAX_CURSOR_BYTES: usize = 4096;
/// What a status message may carry: it travels in the `grpc-message` header, and clients
/// refuse headers past 8-16 KiB (percent-encoding can triple the size).
const MAX_STATUS_MESSAGE_BYTES: usize = 1024;

fn job_id(job: Option<&JobId>) -> Result<JobId, Status> {
    match job {
        Some(j) if !j.job_id.is_empty() => {
            bounded_field("job id", &j.job_id, MAX_ID_BYTES)?;
            Ok(j.clone())
        }
        _ => Err(Status::invalid_argument("missing job id")),
    }
}

/// Refuses an oversized field without echoing it.
fn bounded_field(name: &str, value: &str, max: usize) -> Result<(), Status> {
    if value.len() > max {
        return Err(Status::invalid_argument(format!(
            "the {name} is {} bytes long; this server accepts at most {max}",
            value.len()
        )));
    }
    Ok(())
}

/// A status whose message fits in a header any client accepts: a runner's error may
/// quote what the client sent.
fn bounded(status: Status) -> Status {
    let message = status.message();
    if message.len() <= MAX_STATUS_MESSAGE_BYTES {
        return status;
    }
    let mut end = MAX_STATUS_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    Status::new(status.code(), format!("{}… (truncated)", &message[..end]))
}

#[tonic::async_trait]
impl SqlFlow for Service {
    async fn run(
        &self,
        request: tonic::Request<Request>,
    ) -> Result<tonic::Response<JobId>, Status> {
        self.observed("Run", self.run_inner(request)).await
    }

    async fn fetch(
        &self,
        request: tonic::Request<FetchRequest>,
    ) -> Result<tonic::Response<RawResponses>, Status> {
        self.observed("Fetch", self.fetch_inner(request)).await
    }

    async fn cancel(
        &self,
        request: tonic::Request<JobId>,
    ) -> Result<tonic::Response<JobStatus>, Status> {
        self.observed("Cancel", self.cancel_inner(request)).await
    }

    async fn list_jobs(
        &self,
        request: tonic::Request<ListJobsRequest>,
    ) -> Result<tonic::Response<ListJobsResponse>, Status> {
        self.observed("ListJobs", self.list_inner(request)).await
    }
}
