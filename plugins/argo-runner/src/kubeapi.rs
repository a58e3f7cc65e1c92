//! The Kubernetes API calls the runner makes, each under a time limit, and how their
//! errors become gRPC codes. [`API_CALLS`] lists them all; the RBAC Role in `deploy/`
//! grants exactly these (a test checks it).

use std::{pin::pin, time::Duration};

use futures_util::AsyncBufReadExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    api::{
        ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch,
        PatchParams, PostParams,
    },
};
use serde_json::Value;
use sqlflow_plugin_api::{ErrorCode, RunnerError};

use crate::{
    codegen::{CONTAINER, GROUP, KIND, PLURAL, SELECTOR, VERSION},
    logs::{Flow, Lines, LogLine, ReadEnd},
    text::{cap, redact},
};

/// (resource, verb) for every call the runner makes, in its own namespace.
pub const API_CALLS: &[(&str, &str)] = &[
    ("workflows", "create"),
    ("workflows", "get"),
    ("workflows", "list"),
    ("workflows", "watch"),
    ("workflows", "patch"),
    ("secrets", "create"),
    ("secrets", "patch"),
    ("secrets", "delete"),
    ("secrets", "list"),
    ("pods/log", "get"),
];

/// A single API call may take this long; the host gives a whole plugin call 10 s.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes of an API error's message that reach a client or the log.
const MAX_API_MESSAGE: usize = 1024;

/// The most bytes one log read transfers: what bounds the time a read spends skipping
/// lines already delivered (memory is bounded by the line limit, not by this).
pub const MAX_LOG_READ: u64 = 64 << 20;

#[derive(Debug)]
pub enum CallError {
    Kube(kube::Error),
    Timeout,
}

impl CallError {
    /// The HTTP status code of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Kube(kube::Error::Api(s)) => Some(s.code),
            _ => None,
        }
    }

    /// The error's text, with any password in it hidden: the API server may quote the
    /// object it refused, and that can hold a datasource.
    pub fn message(&self) -> String {
        let raw = match self {
            CallError::Kube(kube::Error::Api(s)) if !s.message.is_empty() => s.message.clone(),
            CallError::Kube(e) => e.to_string(),
            CallError::Timeout => return format!("no answer within {CALL_TIMEOUT:?}"),
        };
        cap(&redact(&raw), MAX_API_MESSAGE)
    }

    /// The error a client sees when `what` (e.g. "create the job's Workflow") failed.
    pub fn to_runner(&self, what: &str) -> RunnerError {
        let msg = self.message();
        match self.status() {
            Some(401) => RunnerError::unavailable(format!(
                "cannot {what}: the Kubernetes API server refused the runner's credentials \
                 ({msg}); check its kube config or service account token"
            )),
            Some(403) => RunnerError::permission_denied(format!(
                "cannot {what}: the runner's service account is not allowed to ({msg}); \
                 grant it the Role in deploy/k8s/rbac.yaml"
            )),
            Some(404) => RunnerError::not_found(format!("cannot {what}: {msg}")),
            Some(409) => {
                RunnerError::new(ErrorCode::ALREADY_EXISTS, format!("cannot {what}: {msg}"))
            }
            Some(413) => RunnerError::new(
                ErrorCode::RESOURCE_EXHAUSTED,
                format!("cannot {what}: the object is too large for the API server ({msg})"),
            ),
            Some(400 | 422) => RunnerError::new(
                ErrorCode::FAILED_PRECONDITION,
                format!("cannot {what}: the API server rejected it: {msg}"),
            ),
            Some(429) => RunnerError::unavailable(format!(
                "cannot {what}: the API server is throttling requests ({msg}); retry later"
            )),
            Some(c) if c >= 500 => RunnerError::unavailable(format!(
                "cannot {what}: the API server failed ({c}: {msg}); retry later"
            )),
            Some(c) => RunnerError::internal(format!("cannot {what}: unexpected {c}: {msg}")),
            None => RunnerError::unavailable(format!(
                "cannot {what}: the Kubernetes API server is unreachable ({msg})"
            )),
        }
    }
}

type CallResult<T> = Result<T, CallError>;

async fn timed<T>(f: impl Future<Output = kube::Result<T>>) -> CallResult<T> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(r) => r.map_err(CallError::Kube),
        Err(_) => Err(CallError::Timeout),
    }
}

pub fn workflow_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, KIND), PLURAL)
}

fn secret_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Secret"), "secrets")
}

/// The runner's handle on its namespace.
#[derive(Clone)]
pub struct Kube {
    pub namespace: String,
    pub workflows: Api<DynamicObject>,
    secrets: Api<DynamicObject>,
    pods: Api<Pod>,
}

fn to_value(obj: DynamicObject) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

fn from_value(v: &Value) -> CallResult<DynamicObject> {
    serde_json::from_value(v.clone()).map_err(|e| CallError::Kube(kube::Error::SerdeError(e)))
}

impl Kube {
    pub fn new(client: Client, namespace: &str) -> Kube {
        Kube {
            namespace: namespace.to_string(),
            workflows: Api::namespaced_with(client.clone(), namespace, &workflow_resource()),
            secrets: Api::namespaced_with(client.clone(), namespace, &secret_resource()),
            pods: Api::namespaced(client, namespace),
        }
    }

    pub async fn create_workflow(&self, wf: &Value) -> CallResult<Value> {
        let obj = from_value(wf)?;
        timed(self.workflows.create(&PostParams::default(), &obj))
            .await
            .map(to_value)
    }

    pub async fn get_workflow(&self, name: &str) -> CallResult<Option<Value>> {
        timed(self.workflows.get_opt(name))
            .await
            .map(|o| o.map(to_value))
    }

    pub async fn patch_workflow(&self, name: &str, patch: &Value) -> CallResult<Value> {
        timed(
            self.workflows
                .patch(name, &PatchParams::default(), &Patch::Merge(patch)),
        )
        .await
        .map(to_value)
    }

    pub async fn create_secret(&self, secret: &Value) -> CallResult<()> {
        let obj = from_value(secret)?;
        timed(self.secrets.create(&PostParams::default(), &obj))
            .await
            .map(|_| ())
    }

    pub async fn patch_secret(&self, name: &str, patch: &Value) -> CallResult<()> {
        timed(
            self.secrets
                .patch(name, &PatchParams::default(), &Patch::Merge(patch)),
        )
        .await
        .map(|_| ())
    }

    pub async fn delete_secret(&self, name: &str) -> CallResult<()> {
        timed(self.secrets.delete(name, &DeleteParams::background()))
            .await
            .map(|_| ())
    }

    /// This runner's Secrets (name, whether an owner is set, creation time in ms).
    pub async fn list_secrets(&self) -> CallResult<Vec<(String, bool, u64)>> {
        let list = timed(self.secrets.list(&ListParams::default().labels(SELECTOR))).await?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|s| {
                let name = s.metadata.name?;
                let owned = s.metadata.owner_references.is_some_and(|o| !o.is_empty());
                let created = s
                    .metadata
                    .creation_timestamp
                    .and_then(|t| u64::try_from(t.0.as_millisecond()).ok())
                    .unwrap_or(0);
                Some((name, owned, created))
            })
            .collect())
    }

    /// Reads a step's log (container `main`) with timestamps, from the start of second
    /// `since_secs` (or from the beginning), line by line through `lines` into `f`.
    pub async fn pod_log(
        &self,
        pod: &str,
        since_secs: Option<i64>,
        lines: &mut Lines,
        f: &mut (dyn FnMut(LogLine<'_>) -> Flow + Send),
    ) -> CallResult<ReadEnd> {
        let since_time = match since_secs {
            Some(s) => Some(
                jiff::Timestamp::from_second(s)
                    .map_err(|e| CallError::Kube(kube::Error::Service(Box::new(e))))?,
            ),
            None => None,
        };
        let lp = LogParams {
            container: Some(CONTAINER.into()),
            timestamps: true,
            since_time,
            limit_bytes: Some(i64::try_from(MAX_LOG_READ).unwrap_or(i64::MAX)),
            ..LogParams::default()
        };
        self.read_log(pod, &lp, lines, f).await
    }

    /// The last lines of a step's log, where a failed step explains itself, line by
    /// line through `lines` into `f`.
    pub async fn pod_log_tail(
        &self,
        pod: &str,
        tail: i64,
        lines: &mut Lines,
        f: &mut (dyn FnMut(LogLine<'_>) -> Flow + Send),
    ) -> CallResult<ReadEnd> {
        let lp = LogParams {
            container: Some(CONTAINER.into()),
            timestamps: true,
            tail_lines: Some(tail),
            limit_bytes: Some(i64::try_from(MAX_LOG_READ).unwrap_or(i64::MAX)),
            ..LogParams::default()
        };
        self.read_log(pod, &lp, lines, f).await
    }

    /// Streams the log: memory holds one line of at most the `lines` limit, never the
    /// body, and no more than [`MAX_LOG_READ`] bytes are read even if the server ignores
    /// `limitBytes`. Raw bytes, not `logs()`: a cut may split a UTF-8 character.
    async fn read_log(
        &self,
        pod: &str,
        lp: &LogParams,
        lines: &mut Lines,
        f: &mut (dyn FnMut(LogLine<'_>) -> Flow + Send),
    ) -> CallResult<ReadEnd> {
        let read = async {
            let stream = self.pods.log_stream(pod, lp).await?;
            let mut r = pin!(stream);
            let mut total: u64 = 0;
            loop {
                if total >= MAX_LOG_READ {
                    return Ok(ReadEnd::Cut);
                }
                let chunk = r.fill_buf().await.map_err(kube::Error::ReadEvents)?;
                if chunk.is_empty() {
                    return Ok(ReadEnd::Eof);
                }
                let room = usize::try_from(MAX_LOG_READ - total).unwrap_or(usize::MAX);
                let (used, flow) = lines.feed(&chunk[..chunk.len().min(room)], f);
                r.consume_unpin(used);
                total += used as u64;
                if let Flow::Stop = flow {
                    return Ok(ReadEnd::Stopped);
                }
            }
        };
        timed(read).await
    }
}
