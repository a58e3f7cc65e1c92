//! The types that cross the dynamic-library boundary. Only `abi_stable` types and
//! protobuf-encoded byte buffers appear here: never `String`, `Vec`, `Box`, tokio or tonic.
//!
//! Evolution rules: methods of the `#[sabi_trait]`s and fields of [`RunnerPlugin`] are
//! only ever appended, each new one with a default. Appending changes the layout, so it
//! bumps the crate's minor version while 0.x (the major from 1.0): abi_stable then refuses
//! a runner built before it with a version mismatch naming both versions, before any
//! layout comparison. Anything else is a new release the same way.

// abi_stable's `StableAbi` derive and `#[sabi_trait]` expand to unsafe impls and blocks
// (layout assertions the loader checks at load time); no unsafe is written by hand here.
#![allow(unsafe_code)]

use std::fmt;

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RArc, RBox, ROption, RResult, RSlice, RStr, RString, RVec},
};

/// Bumped when the meaning of a call changes in a way the layout check cannot see.
/// The host refuses a plugin whose `api_version` differs from its own.
pub const API_VERSION: u32 = 1;

/// File name stem convention: runner `name` lives in `lib{name}_runner.so`.
pub fn library_file_name(runner: &str) -> String {
    format!(
        "{}{}_runner{}",
        std::env::consts::DLL_PREFIX,
        runner.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// A gRPC status code (the numbers of `google.rpc.Code`), as a stable newtype.
///
/// The host turns a [`RunnerError`] into a gRPC status with this code, so the constant a
/// runner picks is exactly what the client sees. Use the named constants: `0` (OK) is no
/// error, and a number above 16 reaches the client as `UNKNOWN`.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// `CANCELLED`: the operation was cancelled, usually by the caller. A cancelled *job* is
    /// reported in its `JobStatus`, not as an error; runners rarely return this.
    pub const CANCELLED: Self = Self(1);
    /// `UNKNOWN`: an error of no known kind. Prefer a specific code, or [`INTERNAL`](Self::INTERNAL)
    /// for a runner bug.
    pub const UNKNOWN: Self = Self(2);
    /// `INVALID_ARGUMENT`: the request is wrong whatever the job's state (bad program, malformed
    /// `page_token` or cursor, undecodable request), or, from `create`, a bad configuration.
    /// The client should not retry it unchanged. Not counted in the host's plugin-error metric.
    pub const INVALID_ARGUMENT: Self = Self(3);
    /// `DEADLINE_EXCEEDED`: the runner's own wait ran out before the operation completed (e.g. a
    /// job that did not stop in time on `cancel`). A call exceeding the host's
    /// `plugin_call_timeout_ms` is reported as `UNAVAILABLE` by the host instead.
    pub const DEADLINE_EXCEEDED: Self = Self(4);
    /// `NOT_FOUND`: no such job *for this caller*. Use [`RunnerError::unknown_job`], so another
    /// user's job reads exactly like a missing one. Not counted in the plugin-error metric.
    pub const NOT_FOUND: Self = Self(5);
    /// `ALREADY_EXISTS`: what the call would create exists already, e.g. a `request_id` reused
    /// with a different program or session, or a job name taken by someone else.
    pub const ALREADY_EXISTS: Self = Self(6);
    /// `PERMISSION_DENIED`: the caller is known but may not do this (e.g. use a datasource).
    /// Not for other users' jobs: those are [`NOT_FOUND`](Self::NOT_FOUND). Not counted in the
    /// plugin-error metric.
    pub const PERMISSION_DENIED: Self = Self(7);
    /// `RESOURCE_EXHAUSTED`: a quota or capacity ran out (disk full, too many jobs, a record too
    /// large to deliver); the client may retry later or with less.
    pub const RESOURCE_EXHAUSTED: Self = Self(8);
    /// `FAILED_PRECONDITION`: the system is not in the state the call needs and retrying will not
    /// help until someone fixes it (e.g. the backend rejects the job's definition).
    pub const FAILED_PRECONDITION: Self = Self(9);
    /// `ABORTED`: the call lost a race with a concurrent change; the client may retry the whole
    /// operation.
    pub const ABORTED: Self = Self(10);
    /// `OUT_OF_RANGE`: a well-formed value past the valid range (e.g. a position beyond what
    /// exists); unlike `INVALID_ARGUMENT` it may become valid later.
    pub const OUT_OF_RANGE: Self = Self(11);
    /// `UNIMPLEMENTED`: the runner does not support this call; the default of the appended
    /// methods (`list_jobs`, `stats`) on runners that do not implement them.
    pub const UNIMPLEMENTED: Self = Self(12);
    /// `INTERNAL`: a bug or broken invariant in the runner, not the caller's fault. The SDK returns
    /// it for a panic, the host for an undecodable reply. Counted in the plugin-error metric.
    pub const INTERNAL: Self = Self(13);
    /// `UNAVAILABLE`: a transient failure; the client should retry with backoff (backend
    /// unreachable, runner shutting down). From `health` it marks the server NOT_SERVING. The
    /// host also returns it when a call exceeds `plugin_call_timeout_ms`.
    pub const UNAVAILABLE: Self = Self(14);
    /// `DATA_LOSS`: a job's stored state or output is lost or corrupt beyond recovery.
    pub const DATA_LOSS: Self = Self(15);
    /// `UNAUTHENTICATED`: the caller has no valid credentials. The host authenticates callers
    /// before any plugin call, so runners normally never return it.
    pub const UNAUTHENTICATED: Self = Self(16);

    /// The code's gRPC name (`"NOT_FOUND"`), or `"UNRECOGNIZED"` for a number outside
    /// 0..=16. This is also what `Debug` prints.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "OK",
            1 => "CANCELLED",
            2 => "UNKNOWN",
            3 => "INVALID_ARGUMENT",
            4 => "DEADLINE_EXCEEDED",
            5 => "NOT_FOUND",
            6 => "ALREADY_EXISTS",
            7 => "PERMISSION_DENIED",
            8 => "RESOURCE_EXHAUSTED",
            9 => "FAILED_PRECONDITION",
            10 => "ABORTED",
            11 => "OUT_OF_RANGE",
            12 => "UNIMPLEMENTED",
            13 => "INTERNAL",
            14 => "UNAVAILABLE",
            15 => "DATA_LOSS",
            16 => "UNAUTHENTICATED",
            _ => "UNRECOGNIZED",
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error returned by a plugin call. `code` becomes the gRPC status code.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct RunnerError {
    /// The gRPC status code the client receives; see the [`ErrorCode`] constants for which
    /// to use when.
    pub code: ErrorCode,
    /// The status message, shown to the client as is (and, from `create`, in the server's
    /// start-up error): write it for the user, and never put secrets or other users' data in it.
    pub message: RString,
    /// For configuration errors: the key inside the runner's `[runners.<name>]` table,
    /// so the host can say where the bad value came from.
    pub config_path: ROption<RString>,
}

impl RunnerError {
    /// An error with `code` and `message`, not about a configuration key.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: RString::from(message.into()),
            config_path: ROption::RNone,
        }
    }

    /// [`ErrorCode::INVALID_ARGUMENT`]: the request is wrong whatever the job's state.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INVALID_ARGUMENT, message)
    }

    /// [`ErrorCode::NOT_FOUND`]. For jobs, use [`unknown_job`](Self::unknown_job) instead.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NOT_FOUND, message)
    }

    /// A job the caller may not see. Missing and someone else's jobs get the same
    /// answer, so ids of other users' jobs cannot be probed.
    pub fn unknown_job(id: &str) -> Self {
        Self::not_found(format!("no job with id '{id}'"))
    }

    /// [`ErrorCode::INTERNAL`]: a bug or broken invariant in the runner.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INTERNAL, message)
    }

    /// [`ErrorCode::UNAVAILABLE`]: a transient failure the client may retry, or an unhealthy
    /// runner (from `health`).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UNAVAILABLE, message)
    }

    /// [`ErrorCode::PERMISSION_DENIED`]: the caller may not do this. Not for other users' jobs
    /// (use [`unknown_job`](Self::unknown_job)).
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PERMISSION_DENIED, message)
    }

    /// A configuration error about `path` (a dotted key inside the runner's table).
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::INVALID_ARGUMENT,
            message: RString::from(message.into()),
            config_path: ROption::RSome(RString::from(path.into())),
        }
    }
}

impl fmt::Debug for RunnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl fmt::Display for RunnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunnerError {}

/// What a plugin says about itself before the host creates a runner.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct PluginInfo {
    /// The runner name operators select with `job_runner`.
    pub name: RString,
    /// The plugin's own version (its crate version).
    pub version: RString,
    /// The [`API_VERSION`] the plugin was built against.
    pub api_version: u32,
}

/// A job runner. Every method is synchronous and must return promptly (it is called from
/// the host's blocking pool under a time limit); long work happens on the plugin's own
/// runtime. Payloads are protobuf-encoded messages from `sqlflow_proto::plugin`.
#[sabi_trait]
pub trait JobRunner: Send + Sync {
    /// `RunCall` → `JobID`. Creates the job durably and returns; never waits for it.
    fn run(&self, call: RSlice<'_, u8>) -> RResult<RVec<u8>, RunnerError>;

    /// `FetchCall` → `Responses`: a snapshot of what follows the cursor.
    ///
    /// If the snapshot holds nothing new (no responses and a `next_cursor` equal to the
    /// request's cursor) and a waker is given, the runner keeps it and calls
    /// [`FetchWaker::wake`] once when the job changes (new output or new state), so the
    /// host can long-poll without holding a thread. Runners must therefore change the
    /// cursor when the job's state changes.
    fn fetch(
        &self,
        call: RSlice<'_, u8>,
        waker: ROption<FetchWakerBox>,
    ) -> RResult<RVec<u8>, RunnerError>;

    /// `CancelCall` → `JobStatus`. Harmless on a finished job.
    fn cancel(&self, call: RSlice<'_, u8>) -> RResult<RVec<u8>, RunnerError>;

    /// Whether the runner can serve (for `grpc.health.v1`).
    #[sabi(last_prefix_field)]
    fn health(&self) -> RResult<(), RunnerError>;

    // Methods below were appended after the first version; each has a default body,
    // which is what runs when the host calls it on a plugin built before it existed.

    /// `ListJobsCall` → `ListJobsResponse`: the caller's jobs, newest first.
    fn list_jobs(&self, _call: RSlice<'_, u8>) -> RResult<RVec<u8>, RunnerError> {
        RResult::RErr(RunnerError::new(
            ErrorCode::UNIMPLEMENTED,
            "this runner does not list jobs",
        ))
    }

    /// `RunnerStats` for the host's metrics.
    fn stats(&self) -> RResult<RVec<u8>, RunnerError> {
        RResult::RErr(RunnerError::new(
            ErrorCode::UNIMPLEMENTED,
            "this runner has no statistics",
        ))
    }

    /// Which of the server's optional promises this runner keeps. A runner built before
    /// this method existed made no such distinction, so the default claims them all.
    fn features(&self) -> Features {
        Features::ALL
    }
}

/// The server promises a runner may not keep, as a set of flags: what a runner declares
/// with [`JobRunner::features`], the host reports at start-up, and the conformance kit
/// checks (skipping a check only for a promise the runner declares it does not keep).
///
/// Promises every runner keeps are not here: run, fetch and cancel, the cursor rules,
/// user isolation, panic containment.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Features(pub u64);

impl Features {
    /// No optional promise.
    pub const NONE: Self = Self(0);
    /// A `Run` repeating a caller's `request_id` returns the first Run's job.
    pub const IDEMPOTENT_RUN: Self = Self(1);
    /// `ListJobs` lists the caller's jobs.
    pub const LIST_JOBS: Self = Self(1 << 1);
    /// A long-polling `Fetch` is woken by new output and by a change of state.
    pub const LONG_POLL: Self = Self(1 << 2);
    /// A job nobody fetched for its `timeout_seconds` is cancelled (unless
    /// `exit_on_submit`).
    pub const ABANDONMENT: Self = Self(1 << 3);
    /// Jobs beyond a per-user (and total) number of running jobs wait as PENDING, in a
    /// fair queue. The kit checks it under a setting of one running job per user
    /// (`Fixtures::with_queueing` of `sqlflow-runner-testkit`).
    pub const QUEUEING: Self = Self(1 << 4);
    /// Per-job limits on memory, CPU, wall-clock time and output; a job breaking one
    /// ends `FAILED` with a message naming it. The kit checks each limit it is given
    /// (`Fixtures::with_limit`).
    pub const LIMITS: Self = Self(1 << 5);
    /// Finished jobs are removed after a retention period (running ones never). The kit
    /// checks it under a setting with a short period (`Fixtures::with_retention`).
    pub const RETENTION: Self = Self(1 << 6);
    /// Jobs and their output survive a restart of the server (a new runner from the same
    /// configuration finds them).
    pub const RESTART_SURVIVAL: Self = Self(1 << 7);
    /// Every promise above.
    pub const ALL: Self = Self((1 << 8) - 1);

    /// Each promise with its name, in a fixed order.
    pub const NAMED: [(Self, &'static str); 8] = [
        (Self::IDEMPOTENT_RUN, "idempotent request_id"),
        (Self::LIST_JOBS, "ListJobs"),
        (Self::LONG_POLL, "long-poll"),
        (Self::ABANDONMENT, "abandonment"),
        (Self::QUEUEING, "queueing"),
        (Self::LIMITS, "limits"),
        (Self::RETENTION, "retention"),
        (Self::RESTART_SURVIVAL, "restart survival"),
    ];

    /// Whether every promise of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` and `other`'s promises.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// `self` without `other`'s promises.
    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// The names of the promises of [`NAMED`](Self::NAMED) *not* in `self`.
    pub fn missing(self) -> Vec<&'static str> {
        Self::NAMED
            .iter()
            .filter(|(f, _)| !self.contains(*f))
            .map(|(_, name)| *name)
            .collect()
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMED
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        write!(f, "Features({})", names.join(", "))
    }
}

/// The runner object handed to the host.
pub type JobRunnerBox = JobRunner_TO<'static, RBox<()>>;

/// Host-provided: wakes a long-polling `Fetch`.
#[sabi_trait]
pub trait FetchWaker: Send + Sync {
    /// Called at most once per waker, from any thread.
    fn wake(&self);

    /// True once nobody waits on this waker any more; runners may drop it.
    #[sabi(last_prefix_field)]
    fn is_stale(&self) -> bool;
}

/// The [`FetchWaker`] object the host passes to [`JobRunner::fetch`]; runners may keep it
/// (e.g. in a list of waiters) until they wake it or it [is stale](FetchWaker::is_stale).
pub type FetchWakerBox = FetchWaker_TO<'static, RBox<()>>;

/// Host services available to a plugin.
#[sabi_trait]
pub trait Host: Send + Sync {
    /// The most verbose [`level`] the host will record; plugins skip finer events.
    fn max_level(&self) -> u8;

    /// Forwards one log event at a [`level`].
    #[sabi(last_prefix_field)]
    fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>);
}

/// The [`Host`] object handed to [`RunnerPlugin::create`]; cheap to clone and share across
/// threads.
pub type HostBox = Host_TO<'static, RArc<()>>;

/// The root module every runner library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = RunnerPluginRef)))]
#[sabi(missing_field(panic))]
pub struct RunnerPlugin {
    /// Describes the plugin. The host calls it right after loading, before `create`, and
    /// refuses the library if `api_version` or `name` do not match what it expects.
    pub info: extern "C" fn() -> PluginInfo,
    /// Builds a runner from its `[runners.<name>]` table (as JSON). Validate the whole
    /// configuration here so a misconfigured server fails at start-up, not on first use.
    #[sabi(last_prefix_field)]
    pub create:
        extern "C" fn(config_json: RStr<'_>, host: HostBox) -> RResult<JobRunnerBox, RunnerError>,
}

impl RootModule for RunnerPluginRef {
    declare_root_module_statics! {RunnerPluginRef}
    const BASE_NAME: &'static str = "sqlflow_runner";
    const NAME: &'static str = "sqlflow job runner";
    /// This crate's version: bumped (the minor, while 0.x) whenever the ABI grows, so
    /// abi_stable refuses a runner built against an older one before comparing layouts.
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Log levels as carried by [`Host::log`].
pub mod level {
    /// Failures an operator should look at. The least verbose level; a
    /// [`max_level`](super::Host::max_level) of 0 means the host records nothing.
    pub const ERROR: u8 = 1;
    /// Something unexpected the runner recovered from.
    pub const WARN: u8 = 2;
    /// Normal, infrequent events (a job started or finished, start-up).
    pub const INFO: u8 = 3;
    /// Detail for diagnosing problems.
    pub const DEBUG: u8 = 4;
    /// The most verbose level.
    pub const TRACE: u8 = 5;
}
