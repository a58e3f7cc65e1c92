//! Run's objects: the job's Secret, its Workflow, and the Secret's owner reference.

use std::sync::Arc;

use serde_json::json;
use sqlflow_plugin_api::{ErrorCode, RunnerError};

use super::Shared;
use crate::{
    codegen::{self, owner_reference},
    text::clip,
};

/// A Run with a request id: a second Run with it must be the same request.
pub(super) struct Retry {
    pub(super) request_id: String,
    pub(super) hash: String,
}

impl Shared {
    /// Creates the job's Secret, then its Workflow, then makes the Workflow the
    /// Secret's owner. The Secret comes first so no step pod ever waits for it; a
    /// Secret left without an owner (the server died in between) is adopted or removed
    /// by the sweeper. A retried Run finds both objects and returns the same job.
    pub(super) async fn submit(
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
}
