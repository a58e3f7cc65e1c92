//! ListJobs: the caller's jobs from the watch cache, newest first, in pages.

use std::sync::Arc;

use prost::Message as _;
use sqlflow_plugin_api::{RunnerError, list::Page};
use sqlflow_proto::sqlflow::{JobInfo, ListJobsResponse};

use super::Shared;
use crate::{codegen::valid_job_name, status::WfView};

/// The most bytes of jobs one ListJobs reply carries: below the 4 MiB a default gRPC
/// client accepts.
const MAX_LIST_REPLY: usize = 3 << 20;

impl Shared {
    /// The caller's jobs, newest first, paged as every runner pages them (by creation
    /// time and Workflow name).
    pub(super) fn list(
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
        let mine: Vec<Arc<WfView>> = self
            .cache
            .all()
            .into_iter()
            .filter(|v| v.user == user)
            .collect();
        let page = Page::select(mine, list_key, page_size, token, valid_job_name)?;
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut jobs: Vec<JobInfo> = Vec::new();
        let mut bytes = 0;
        for v in &page.jobs {
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
        let next_page_token = page.next_token(jobs.len(), list_key);
        Ok(ListJobsResponse {
            jobs,
            next_page_token,
        })
    }
}

/// What ListJobs orders a job by.
fn list_key(v: &Arc<WfView>) -> (u64, &str) {
    (v.created_ms, &v.name)
}
