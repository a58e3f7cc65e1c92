//! The least a runner does: run, fetch, cancel, long-poll, retried Runs; it says the rest.
use sqlflow_plugin_api::proto::{plugin::*, sqlflow::*};
use sqlflow_plugin_api::sdk::{self, JobTable, PluginContext, Runner, StepJob, Waker};
use sqlflow_plugin_api::{Features, RunnerError, sdk::step_job::StepStarter};

pub struct Minimal(JobTable<StepJob>, StepStarter);
fn create(_config: &str, ctx: &PluginContext) -> Result<Minimal, RunnerError> {
    let step = sdk::step::find_step_binary(None)?;
    Ok(Minimal(JobTable::new(), StepStarter::new(step, ctx)))
}
impl Runner for Minimal {
    fn run(&self, call: RunCall) -> Result<JobId, RunnerError> {
        self.0.run(&self.1, call)
    }
    fn fetch(&self, call: FetchCall, waker: Option<Waker>) -> Result<Responses, RunnerError> {
        self.0.fetch(call, waker)
    }
    fn cancel(&self, call: CancelCall) -> Result<JobStatus, RunnerError> {
        self.0.cancel(call)
    }
    fn features(&self) -> Features {
        Features::LONG_POLL.with(Features::IDEMPOTENT_RUN)
    }
}
sqlflow_plugin_api::export_runner!(name: "minimal", create: create);
