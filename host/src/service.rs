//! The `sqlflow.SQLFlow` gRPC service: validates requests, establishes the caller, fills
//! in server defaults, and routes to the runner. It never names a concrete runner.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use sqlflow_plugin_api::loader::NotifyWaker;
use sqlflow_proto::{
    plugin::{Caller, CancelCall, FetchCall, RunCall},
    sqlflow::{
        FetchRequest, JobId, JobStatus, Request, Responses, Session, sql_flow_server::SqlFlow,
    },
};
use tokio::sync::Notify;
use tonic::Status;

use crate::runner::RunnerHandle;

pub struct Settings {
    pub default_datasource: String,
    pub data_dir: PathBuf,
    pub max_wait: Duration,
    pub max_program_bytes: usize,
}

pub struct Service {
    runner: RunnerHandle,
    settings: Arc<Settings>,
}

impl Service {
    pub fn new(runner: RunnerHandle, settings: Settings) -> Self {
        Self {
            runner,
            settings: Arc::new(settings),
        }
    }

    /// Who is calling. Without authentication every client is the same anonymous user.
    fn caller<T>(&self, _req: &tonic::Request<T>) -> Caller {
        Caller::default()
    }

    fn datasource(&self, given: &str) -> String {
        let ds = if given.trim().is_empty() {
            self.settings.default_datasource.as_str()
        } else {
            given.trim()
        };
        resolve_sqlite(ds, &self.settings.data_dir)
    }
}

/// The step process runs in its job directory, so relative SQLite paths are made
/// absolute against the server's data directory.
fn resolve_sqlite(ds: &str, data_dir: &Path) -> String {
    match ds.split_once("://") {
        Some((scheme, path))
            if scheme.eq_ignore_ascii_case("sqlite")
                && !path.is_empty()
                && !path.starts_with('/')
                && !path.starts_with(':')
                && !path.starts_with("file:") =>
        {
            format!("sqlite://{}", data_dir.join(path).display())
        }
        _ => ds.to_string(),
    }
}

fn job_id(job: Option<&JobId>) -> Result<JobId, Status> {
    match job {
        Some(j) if !j.job_id.is_empty() => Ok(j.clone()),
        _ => Err(Status::invalid_argument("missing job id")),
    }
}

#[tonic::async_trait]
impl SqlFlow for Service {
    async fn run(
        &self,
        request: tonic::Request<Request>,
    ) -> Result<tonic::Response<JobId>, Status> {
        let caller = self.caller(&request);
        let mut req = request.into_inner();
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
        session.db_conn_str = self.datasource(&session.db_conn_str);
        let id = self
            .runner
            .run(RunCall {
                request: Some(req),
                caller: Some(caller),
            })
            .await?;
        Ok(tonic::Response::new(id))
    }

    async fn fetch(
        &self,
        request: tonic::Request<FetchRequest>,
    ) -> Result<tonic::Response<Responses>, Status> {
        let caller = self.caller(&request);
        let mut req = request.into_inner();
        job_id(req.job.as_ref())?;
        let wait = Duration::from_millis(req.wait_ms.into()).min(self.settings.max_wait);
        req.wait_ms = wait.as_millis() as u32;
        let deadline = tokio::time::Instant::now() + wait;
        let cursor = req.cursor.clone();
        let call = FetchCall {
            request: Some(req),
            caller: Some(caller),
        };
        loop {
            let notify = Arc::new(Notify::new());
            let waker = (!wait.is_zero()).then(|| NotifyWaker::boxed(&notify));
            let reply = self.runner.fetch(call.clone(), waker).await?;
            let nothing_new =
                reply.response.is_empty() && reply.next_cursor == cursor && !reply.eof;
            if !nothing_new || tokio::time::Instant::now() >= deadline {
                return Ok(tonic::Response::new(reply));
            }
            if tokio::time::timeout_at(deadline, notify.notified())
                .await
                .is_err()
            {
                return Ok(tonic::Response::new(reply));
            }
        }
    }

    async fn cancel(
        &self,
        request: tonic::Request<JobId>,
    ) -> Result<tonic::Response<JobStatus>, Status> {
        let caller = self.caller(&request);
        let job = job_id(Some(request.get_ref()))?;
        let status = self
            .runner
            .cancel(CancelCall {
                job: Some(job),
                caller: Some(caller),
            })
            .await?;
        Ok(tonic::Response::new(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_are_resolved_against_the_data_dir() {
        let d = Path::new("/srv/data");
        assert_eq!(
            resolve_sqlite("sqlite://a.db", d),
            "sqlite:///srv/data/a.db"
        );
        assert_eq!(resolve_sqlite("sqlite:///abs.db", d), "sqlite:///abs.db");
        assert_eq!(resolve_sqlite("sqlite://:memory:", d), "sqlite://:memory:");
        assert_eq!(resolve_sqlite("mysql://u:p@h/db", d), "mysql://u:p@h/db");
    }
}
