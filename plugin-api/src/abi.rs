//! The types that cross the dynamic-library boundary. Only `abi_stable` types and
//! protobuf-encoded byte buffers appear here: never `String`, `Vec`, `Box`, tokio or tonic.
//!
//! Evolution rules: methods of the `#[sabi_trait]`s and fields of [`RunnerPlugin`] are
//! only ever appended, each new one with a default. Anything else is a new major version.

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
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    pub const CANCELLED: Self = Self(1);
    pub const UNKNOWN: Self = Self(2);
    pub const INVALID_ARGUMENT: Self = Self(3);
    pub const DEADLINE_EXCEEDED: Self = Self(4);
    pub const NOT_FOUND: Self = Self(5);
    pub const ALREADY_EXISTS: Self = Self(6);
    pub const PERMISSION_DENIED: Self = Self(7);
    pub const RESOURCE_EXHAUSTED: Self = Self(8);
    pub const FAILED_PRECONDITION: Self = Self(9);
    pub const ABORTED: Self = Self(10);
    pub const OUT_OF_RANGE: Self = Self(11);
    pub const UNIMPLEMENTED: Self = Self(12);
    pub const INTERNAL: Self = Self(13);
    pub const UNAVAILABLE: Self = Self(14);
    pub const DATA_LOSS: Self = Self(15);
    pub const UNAUTHENTICATED: Self = Self(16);

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
    pub code: ErrorCode,
    pub message: RString,
    /// For configuration errors: the key inside the runner's `[runners.<name>]` table,
    /// so the host can say where the bad value came from.
    pub config_path: ROption<RString>,
}

impl RunnerError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: RString::from(message.into()),
            config_path: ROption::RNone,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INVALID_ARGUMENT, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NOT_FOUND, message)
    }

    /// A job the caller may not see. Missing and someone else's jobs get the same
    /// answer, so ids of other users' jobs cannot be probed.
    pub fn unknown_job(id: &str) -> Self {
        Self::not_found(format!("no job with id '{id}'"))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INTERNAL, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::UNAVAILABLE, message)
    }

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

pub type HostBox = Host_TO<'static, RArc<()>>;

/// The root module every runner library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = RunnerPluginRef)))]
#[sabi(missing_field(panic))]
pub struct RunnerPlugin {
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
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Log levels as carried by [`Host::log`].
pub mod level {
    pub const ERROR: u8 = 1;
    pub const WARN: u8 = 2;
    pub const INFO: u8 = 3;
    pub const DEBUG: u8 = 4;
    pub const TRACE: u8 = 5;
}
