//! One job as a caller sees it: looked up (someone else's is missing), its lease renewed,
//! shut down, and its status with a failed step's own account of the failure.

use std::sync::Arc;

use serde_json::json;
use sqlflow_plugin_api::RunnerError;
use sqlflow_proto::sqlflow::{JobStatus, job_status::Code};

use super::Shared;
use crate::{
    codegen::{ANN_CANCEL_REASON, ANN_LAST_FETCH, valid_job_name},
    kubeapi::CallError,
    lease::now_ms,
    logs::{FailureScan, Flow, Lines, MAX_LINE_BYTES},
    status::WfView,
    text::clip,
};

/// Lines of a failed step's log tail read to find its failure report.
const FAILURE_TAIL_LINES: i64 = 20;

impl Shared {
    /// Reads the Workflow `name` from the API (not the cache): `None` if it is missing or
    /// not a sqlflow job.
    pub(crate) async fn get_view(&self, name: &str) -> Result<Option<Arc<WfView>>, CallError> {
        let obj = self.kube.get_workflow(name).await?;
        Ok(obj.as_ref().and_then(|o| self.cache.parse(o)).map(Arc::new))
    }

    /// The job `id` if the caller owns it. Someone else's job is NOT_FOUND, like a
    /// missing one.
    pub(super) async fn lookup(&self, id: &str, user: &str) -> Result<Arc<WfView>, RunnerError> {
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

    pub(super) fn renew_lease(self: &Shared, view: &WfView) {
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
    pub(super) async fn status(&self, view: &WfView) -> JobStatus {
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

    pub(super) fn remember_failure(&self, job: &str, text: Option<String>) {
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
}
