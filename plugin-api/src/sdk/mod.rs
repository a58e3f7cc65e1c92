//! The plugin side: what a runner author uses so they write only the runner.
//!
//! ```ignore
//! struct MyRunner { /* ... */ }
//! impl sqlflow_plugin_api::sdk::Runner for MyRunner { /* run, fetch, cancel */ }
//! fn create(config_json: &str, ctx: &PluginContext) -> Result<MyRunner, RunnerError> { /* ... */ }
//! sqlflow_plugin_api::export_runner!(name: "my", create: create);
//! ```
//!
//! The export macro wraps every entry point in `catch_unwind` (a panic becomes an
//! `INTERNAL` error; one escaping across the boundary would abort the server), gives the
//! runner its own tokio runtime (the host's runtime is invisible inside a cdylib), and
//! forwards the plugin's `tracing` events and panic messages to the host's log.
//!
//! The pieces runners are made of (the built-in local runner uses them too):
//! [`parse_config`] (errors name the key), [`cursor`] (the cursor format and rules),
//! [`watched`] (a job's state and its long-poll wakers under one lock), [`jobs`]
//! (per-user jobs, `request_id`, ListJobs), [`lease`] (abandonment), [`queue`] (the fair
//! queue), [`step`] (driving `sqlflow-step`), [`step_job`] (a job of one step process,
//! kept in memory). `plugin-api/README.md` is the author's guide;
//! `plugin-api/examples/` has two complete runners built from these pieces.

use std::{
    any::Any,
    fmt::Write as _,
    panic::{AssertUnwindSafe, catch_unwind},
};

use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use prost::Message;
use sqlflow_proto::{
    plugin::{Caller, CancelCall, FetchCall, ListJobsCall, RunCall, RunnerStats},
    sqlflow::{
        FetchRequest, JobId, JobStatus, ListJobsRequest, ListJobsResponse, Request, Responses,
    },
};
use tracing::{Event, Level, Subscriber, field::Visit, span};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

mod config;
pub mod cursor;
pub mod jobs;
pub mod lease;
pub mod queue;
pub mod step;
pub mod step_job;
pub mod watched;

pub use config::parse_config;
pub use cursor::{Cursor, state_from_letter, state_letter};
pub use jobs::{JobTable, TableJob};
pub use lease::Lease;
pub use step::{StepProcess, Transcript};
pub use step_job::StepJob;
pub use watched::Watched;

use crate::abi::{
    API_VERSION, Features, FetchWakerBox, HostBox, JobRunner, JobRunnerBox, PluginInfo,
    RunnerError, level,
};

/// What a runner implements. Methods are called from the host's blocking pool under a
/// time limit: return promptly and do long work on [`PluginContext::runtime`].
pub trait Runner: Send + Sync + 'static {
    /// Creates the job durably and returns its id; never waits for the job.
    fn run(&self, call: RunCall) -> Result<JobId, RunnerError>;

    /// A snapshot of the job's output after the cursor. When it holds nothing new and a
    /// waker is given, keep the waker and wake it once when the job changes.
    fn fetch(&self, call: FetchCall, waker: Option<Waker>) -> Result<Responses, RunnerError>;

    /// [`fetch`](Runner::fetch), encoded. Override it to build the reply's bytes without
    /// materializing every response (the host passes them through unparsed).
    fn fetch_encoded(&self, call: FetchCall, waker: Option<Waker>) -> Result<Vec<u8>, RunnerError> {
        self.fetch(call, waker).map(|r| r.encode_to_vec())
    }

    /// Stops the job. Harmless on a finished one.
    fn cancel(&self, call: CancelCall) -> Result<JobStatus, RunnerError>;

    /// Whether the runner can serve. The host polls it every `health_check_interval_ms` and
    /// reports NOT_SERVING on `grpc.health.v1` while it fails: return
    /// [`RunnerError::unavailable`] with the reason. Keep it cheap. Default: healthy.
    fn health(&self) -> Result<(), RunnerError> {
        Ok(())
    }

    /// The caller's jobs, newest first, a page at a time.
    fn list_jobs(&self, _call: ListJobsCall) -> Result<ListJobsResponse, RunnerError> {
        Err(RunnerError::new(
            crate::ErrorCode::UNIMPLEMENTED,
            "this runner does not list jobs",
        ))
    }

    /// Counters for the host's metrics endpoint.
    fn stats(&self) -> Result<RunnerStats, RunnerError> {
        Ok(RunnerStats::default())
    }

    /// The optional server promises this runner keeps (the host logs the ones it does
    /// not at start-up; the conformance kit skips their checks). Default: all of them.
    /// Declare honestly: a runner without `list_jobs` leaves out
    /// [`Features::LIST_JOBS`], one that keeps jobs in memory
    /// [`Features::RESTART_SURVIVAL`], one without a per-user cap, limits or retention
    /// settings [`Features::QUEUEING`], [`Features::LIMITS`] or [`Features::RETENTION`]
    /// (the kit checks those under settings the runner's tests give it).
    fn features(&self) -> Features {
        Features::ALL
    }
}

/// `JobInfo.summary`: the program's first non-empty line, at most 100 characters.
pub fn program_summary(program: &str) -> String {
    summary(program)
}

fn summary(program: &str) -> String {
    let first = program
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut s: String = first.chars().take(100).collect();
    if s.len() < first.len() {
        s.push_str("...");
    }
    s
}

/// A Run's caller (`user_id`, empty without authentication) and request, checked the way
/// every runner must: a request, a non-empty program and a datasource (the host fills in
/// its default one, so a missing datasource means none is configured).
pub fn run_request(call: RunCall) -> Result<(String, Request), RunnerError> {
    let user = call.caller.unwrap_or_default().user_id;
    let req = call
        .request
        .ok_or_else(|| RunnerError::invalid_argument("missing request"))?;
    if req.sql.trim().is_empty() {
        return Err(RunnerError::invalid_argument("the program is empty"));
    }
    if req
        .session
        .as_ref()
        .is_none_or(|s| s.db_conn_str.is_empty())
    {
        return Err(RunnerError::invalid_argument(
            "no datasource: set Session.db_conn_str or configure a default datasource",
        ));
    }
    Ok((user, req))
}

/// A Fetch's caller (`user_id`), job id and request.
pub fn fetch_request(call: FetchCall) -> (String, String, FetchRequest) {
    let mut req = call.request.unwrap_or_default();
    let job = req.job.take().unwrap_or_default().job_id;
    (call.caller.unwrap_or_default().user_id, job, req)
}

/// A Cancel's caller (`user_id`) and job id.
pub fn cancel_request(call: CancelCall) -> (String, String) {
    let job = call.job.unwrap_or_default().job_id;
    (call.caller.unwrap_or_default().user_id, job)
}

/// A ListJobs's caller (`user_id`) and request.
pub fn list_request(call: ListJobsCall) -> (String, ListJobsRequest) {
    (
        call.caller.unwrap_or_default().user_id,
        call.request.unwrap_or_default(),
    )
}

/// Handed to the runner's `create` function.
#[derive(Clone, Debug)]
pub struct PluginContext {
    /// The plugin's own runtime, alive as long as the runner.
    pub runtime: tokio::runtime::Handle,
}

/// Wakes a long-polling `Fetch` on the host.
pub struct Waker(FetchWakerBox);

impl Waker {
    /// Wakes the waiting `Fetch`, which then fetches again. Consumes the waker: each wakes at
    /// most once. Callable from any thread; harmless if the host stopped waiting.
    pub fn wake(self) {
        self.0.wake();
    }

    /// True once the host no longer waits for this waker.
    pub fn is_stale(&self) -> bool {
        self.0.is_stale()
    }
}

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waker")
    }
}

#[doc(hidden)]
pub fn plugin_info(name: &str, version: &str) -> PluginInfo {
    PluginInfo {
        name: RString::from(name),
        version: RString::from(version),
        api_version: API_VERSION,
    }
}

/// Worker threads of a plugin's runtime. Runners mostly wait on I/O and child processes.
const RUNTIME_THREADS: usize = 2;

#[doc(hidden)]
pub fn create_runner<R, F>(
    name: &'static str,
    config_json: RStr<'_>,
    host: HostBox,
    create: F,
) -> RResult<JobRunnerBox, RunnerError>
where
    R: Runner,
    F: FnOnce(&str, &PluginContext) -> Result<R, RunnerError>,
{
    let result = catch_unwind(AssertUnwindSafe(|| {
        install_log_bridge(name, host);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name(format!("{name}-runner"))
            .enable_all()
            .build()
            .map_err(|e| {
                RunnerError::internal(format!("runner {name}: cannot start its runtime: {e}"))
            })?;
        let ctx = PluginContext {
            runtime: runtime.handle().clone(),
        };
        let runner = {
            let _entered = runtime.enter();
            create(config_json.as_str(), &ctx)?
        };
        Ok(JobRunnerBox::from_value(
            Guarded {
                name,
                runner: Some(runner),
                runtime: Some(runtime),
            },
            abi_stable::sabi_trait::TD_Opaque,
        ))
    }));
    match result {
        Ok(Ok(boxed)) => RResult::ROk(boxed),
        Ok(Err(e)) => RResult::RErr(e),
        Err(panic) => RResult::RErr(RunnerError::internal(format!(
            "runner {name} panicked while starting: {}",
            panic_message(&*panic)
        ))),
    }
}

/// The object the host holds: every entry point decodes, runs under `catch_unwind`
/// inside the runner's runtime context, and encodes.
struct Guarded<R: Runner> {
    name: &'static str,
    // Options only so Drop can order them: the runner goes before its runtime.
    runner: Option<R>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl<R: Runner> Drop for Guarded<R> {
    fn drop(&mut self) {
        drop(self.runner.take());
        if let Some(rt) = self.runtime.take() {
            // The host may drop us from one of its own threads; never block it on our tasks.
            rt.shutdown_background();
        }
    }
}

trait HasCaller {
    fn caller(&self) -> Option<&Caller>;
}

impl HasCaller for RunCall {
    fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }
}
impl HasCaller for FetchCall {
    fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }
}
impl HasCaller for CancelCall {
    fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }
}
impl HasCaller for ListJobsCall {
    fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }
}

impl<R: Runner> Guarded<R> {
    /// Runs `f` on the runner inside its runtime context, turning a panic into INTERNAL.
    fn guard<T>(
        &self,
        what: &str,
        f: impl FnOnce(&R) -> Result<T, RunnerError>,
    ) -> Result<T, RunnerError> {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let (Some(runner), Some(rt)) = (&self.runner, &self.runtime) else {
                return Err(RunnerError::unavailable("runner is shutting down"));
            };
            let _entered = rt.enter();
            f(runner)
        }));
        result.unwrap_or_else(|panic| {
            Err(RunnerError::internal(format!(
                "runner {} panicked in {what}: {}",
                self.name,
                panic_message(&*panic)
            )))
        })
    }

    fn call<Req, Resp>(
        &self,
        what: &str,
        bytes: RSlice<'_, u8>,
        f: impl FnOnce(&R, Req) -> Result<Resp, RunnerError>,
    ) -> RResult<RVec<u8>, RunnerError>
    where
        Req: Message + Default + HasCaller,
        Resp: Message,
    {
        self.call_raw(what, bytes, |r, req| {
            f(r, req).map(|resp| resp.encode_to_vec())
        })
    }

    fn call_raw<Req>(
        &self,
        what: &str,
        bytes: RSlice<'_, u8>,
        f: impl FnOnce(&R, Req) -> Result<Vec<u8>, RunnerError>,
    ) -> RResult<RVec<u8>, RunnerError>
    where
        Req: Message + Default + HasCaller,
    {
        let decoded = Req::decode(bytes.as_slice()).map_err(|e| {
            RunnerError::invalid_argument(format!("{what}: undecodable request: {e}"))
        });
        self.guard(what, |runner| {
            let req = decoded?;
            if req.caller().is_some_and(|c| c.panic_probe) {
                panic!("panic probe requested by the conformance kit");
            }
            f(runner, req)
        })
        .map(RVec::from)
        .into()
    }
}

impl<R: Runner> JobRunner for Guarded<R> {
    fn run(&self, call: RSlice<'_, u8>) -> RResult<RVec<u8>, RunnerError> {
        self.call("run", call, |r, c: RunCall| r.run(c))
    }

    fn fetch(
        &self,
        call: RSlice<'_, u8>,
        waker: abi_stable::std_types::ROption<FetchWakerBox>,
    ) -> RResult<RVec<u8>, RunnerError> {
        let waker = waker.into_option().map(Waker);
        self.call_raw("fetch", call, |r, c: FetchCall| r.fetch_encoded(c, waker))
    }

    fn cancel(&self, call: RSlice<'_, u8>) -> RResult<RVec<u8>, RunnerError> {
        self.call("cancel", call, |r, c: CancelCall| r.cancel(c))
    }

    fn health(&self) -> RResult<(), RunnerError> {
        self.guard("health", |r| r.health()).into()
    }

    fn list_jobs(&self, call: RSlice<'_, u8>) -> RResult<RVec<u8>, RunnerError> {
        self.call("list_jobs", call, |r, c: ListJobsCall| r.list_jobs(c))
    }

    fn stats(&self) -> RResult<RVec<u8>, RunnerError> {
        self.guard("stats", |r| {
            r.stats().map(|s| RVec::from(s.encode_to_vec()))
        })
        .into()
    }

    fn features(&self) -> Features {
        // A panic here claims nothing rather than everything.
        self.guard("features", |r| Ok(r.features()))
            .unwrap_or(Features::NONE)
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// Routes this cdylib's `tracing` events (its own copy of the global dispatcher) and its
/// panic messages (its own copy of std's hook) to the host.
fn install_log_bridge(name: &'static str, host: HostBox) {
    let max = match host.max_level() {
        level::ERROR => tracing_subscriber::filter::LevelFilter::ERROR,
        level::WARN => tracing_subscriber::filter::LevelFilter::WARN,
        level::INFO => tracing_subscriber::filter::LevelFilter::INFO,
        level::DEBUG => tracing_subscriber::filter::LevelFilter::DEBUG,
        0 => tracing_subscriber::filter::LevelFilter::OFF,
        _ => tracing_subscriber::filter::LevelFilter::TRACE,
    };
    let subscriber = tracing_subscriber::registry().with(HostLayer { host }.with_filter(max));
    // A second runner created from the same library keeps the first bridge.
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!(target: "panic", runner = name, "{info}");
        }));
    }
}

struct HostLayer {
    host: HostBox,
}

/// Fields of a span, formatted once when it is created.
struct SpanFields(String);

impl<S> Layer<S> for HostLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = FieldWriter::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.out));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut w = FieldWriter::default();
        event.record(&mut w);
        let mut line = w.message;
        if !w.out.is_empty() {
            line.push_str(&w.out);
        }
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    line.push_str(&fields.0);
                }
            }
        }
        let lvl = match *event.metadata().level() {
            Level::ERROR => level::ERROR,
            Level::WARN => level::WARN,
            Level::INFO => level::INFO,
            Level::DEBUG => level::DEBUG,
            Level::TRACE => level::TRACE,
        };
        self.host.log(
            lvl,
            RStr::from_str(event.metadata().target()),
            RStr::from_str(&line),
        );
    }
}

#[derive(Default)]
struct FieldWriter {
    message: String,
    out: String,
}

impl Visit for FieldWriter {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.out, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.out, " {}={value:?}", field.name());
        }
    }
}

/// Exports a runner as a plugin library: `export_runner!(name: "local", create: my_create)`,
/// where `my_create: fn(&str, &PluginContext) -> Result<impl Runner, RunnerError>` receives
/// the runner's `[runners.<name>]` table as JSON.
///
/// The crate needs `crate-type = ["cdylib", "rlib"]` and a `[lib] name` of
/// `<name>_runner`, and `abi_stable` as a dependency (for the export attribute).
#[macro_export]
macro_rules! export_runner {
    (name: $name:expr, create: $create:path $(,)?) => {
        #[::abi_stable::export_root_module]
        pub fn sqlflow_runner_root_module() -> $crate::RunnerPluginRef {
            extern "C" fn __sqlflow_info() -> $crate::PluginInfo {
                $crate::sdk::plugin_info($name, env!("CARGO_PKG_VERSION"))
            }
            extern "C" fn __sqlflow_create(
                config_json: ::abi_stable::std_types::RStr<'_>,
                host: $crate::HostBox,
            ) -> ::abi_stable::std_types::RResult<$crate::JobRunnerBox, $crate::RunnerError> {
                $crate::sdk::create_runner($name, config_json, host, $create)
            }
            use ::abi_stable::prefix_type::PrefixTypeTrait as _;
            $crate::RunnerPlugin {
                info: __sqlflow_info,
                create: __sqlflow_create,
            }
            .leak_into_prefix()
        }
    };
}
