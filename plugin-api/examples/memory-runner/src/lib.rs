//! A runner keeping each job's output in memory; each job is one `sqlflow-step run -`.
//! It keeps every server promise but restart survival and resource limits, and says so.
use std::{path::PathBuf, sync::Arc, time::Duration};

use sqlflow_plugin_api::proto::{plugin::*, sqlflow::*};
use sqlflow_plugin_api::sdk::{self, JobTable, PluginContext, Runner, StepJob, Waker};
use sqlflow_plugin_api::sdk::{queue::Admission, step::find_step_binary, step_job::StepStarter};
use sqlflow_plugin_api::{Features, RunnerError};

/// `[runners.memory]`: every key optional.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Config {
    step_binary: Option<PathBuf>,
    /// Running jobs per user; more wait as PENDING (0: no cap).
    max_running_per_user: usize,
    /// How long a finished job is kept (default an hour).
    retention_seconds: Option<u64>,
}

pub struct Memory {
    jobs: Arc<JobTable<StepJob>>,
    starter: StepStarter,
}

fn create(json: &str, ctx: &PluginContext) -> Result<Memory, RunnerError> {
    let cfg: Config = sdk::parse_config(json)?;
    let starter = StepStarter::new(find_step_binary(cfg.step_binary.as_deref())?, ctx)
        .queued(Admission::new(cfg.max_running_per_user, 0));
    let jobs = Arc::new(JobTable::new());
    let retention = Duration::from_secs(cfg.retention_seconds.unwrap_or(3600));
    ctx.runtime
        .spawn(StepJob::housekeeping(jobs.clone(), retention));
    Ok(Memory { jobs, starter })
}

impl Runner for Memory {
    fn run(&self, call: RunCall) -> Result<JobId, RunnerError> {
        self.jobs.run(&self.starter, call)
    }
    fn fetch(&self, call: FetchCall, waker: Option<Waker>) -> Result<Responses, RunnerError> {
        self.jobs.fetch(call, waker)
    }
    fn cancel(&self, call: CancelCall) -> Result<JobStatus, RunnerError> {
        self.jobs.cancel(call)
    }
    fn list_jobs(&self, call: ListJobsCall) -> Result<ListJobsResponse, RunnerError> {
        self.jobs.list_jobs(call)
    }
    fn features(&self) -> Features {
        Features::ALL.without(Features::RESTART_SURVIVAL.with(Features::LIMITS))
    }
}

sqlflow_plugin_api::export_runner!(name: "memory", create: create);
