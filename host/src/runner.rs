//! The loaded runner, seen from async code: every plugin call runs on the blocking pool
//! under a time limit, so a slow or hung plugin never stalls a gRPC worker, and a
//! plugin's error becomes a `tonic::Status` with the plugin's code.

use std::{sync::Arc, time::Duration};

use sqlflow_grpc::raw::RawResponses;
use sqlflow_plugin_api::{FetchWakerBox, RunnerError};
use sqlflow_plugin_host::{Plugin, PluginRunner, TracingHost};
use sqlflow_proto::{
    plugin::{CancelCall, FetchCall, ListJobsCall, RunCall, RunnerStats},
    sqlflow::{JobId, JobStatus, ListJobsResponse},
};
use tonic::{Code, Status};

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct RunnerHandle {
    name: Arc<str>,
    runner: Arc<PluginRunner>,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

pub fn to_status(e: RunnerError) -> Status {
    Status::new(Code::from(e.code.0 as i32), e.message.into_string())
}

impl RunnerHandle {
    pub fn create(
        plugin: &Plugin,
        config_json: &str,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self, RunnerError> {
        let runner = plugin.create(config_json, TracingHost::boxed(plugin.name.clone()))?;
        // The host keeps no job state: a promise the runner does not keep, nobody keeps.
        let missing = runner.features().missing();
        if !missing.is_empty() {
            tracing::warn!(
                runner = %plugin.name,
                "the runner does not offer: {} (declared by the plugin)",
                missing.join(", ")
            );
        }
        Ok(Self {
            name: plugin.name.clone().into(),
            runner: Arc::new(runner),
            timeout,
            metrics,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn call<T, F>(&self, what: &'static str, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&PluginRunner) -> Result<T, RunnerError> + Send + 'static,
    {
        let runner = self.runner.clone();
        let task = tokio::task::spawn_blocking(move || f(&runner));
        let result = self.await_call(what, task).await;
        if let Err(s) = &result
            && !matches!(
                s.code(),
                Code::NotFound | Code::InvalidArgument | Code::PermissionDenied
            )
        {
            self.metrics.plugin_error(what, s.code());
        }
        result
    }

    async fn await_call<T>(
        &self,
        what: &'static str,
        task: tokio::task::JoinHandle<Result<T, RunnerError>>,
    ) -> Result<T, Status> {
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result.map_err(to_status),
            // The plugin guards its own panics; this is a panic in our glue.
            Ok(Err(join)) => Err(Status::internal(format!(
                "runner '{}' {what} call failed: {join}",
                self.name
            ))),
            Err(_) => {
                tracing::error!(runner = %self.name, call = what, "plugin call timed out");
                Err(Status::unavailable(format!(
                    "runner '{}' did not answer {what} within {:?}; try again later",
                    self.name, self.timeout
                )))
            }
        }
    }

    pub async fn run(&self, call: RunCall) -> Result<JobId, Status> {
        self.call("run", move |r| r.run(&call)).await
    }

    pub async fn fetch(
        &self,
        call: FetchCall,
        waker: Option<FetchWakerBox>,
    ) -> Result<RawResponses, Status> {
        self.call("fetch", move |r| r.fetch_as(&call, waker)).await
    }

    pub async fn cancel(&self, call: CancelCall) -> Result<JobStatus, Status> {
        self.call("cancel", move |r| r.cancel(&call)).await
    }

    pub async fn health(&self) -> Result<(), Status> {
        self.call("health", |r| r.health()).await
    }

    pub async fn list_jobs(&self, call: ListJobsCall) -> Result<ListJobsResponse, Status> {
        self.call("list_jobs", move |r| r.list_jobs(&call)).await
    }

    pub async fn stats(&self) -> Result<RunnerStats, Status> {
        self.call("stats", |r| r.stats()).await
    }
}
