//! The host side of the sqlflow-rs runner plugin ABI: loading a runner library (with every
//! compatibility check) and calling it with typed messages. The server and the conformance
//! kit (`sqlflow-runner-testkit`) load runners through [`load`].

// Third parties host runners (and test them) from these docs alone.
#![deny(missing_docs)]
// abi_stable's generated trait-object code trips this on current rustc.
#![allow(non_local_definitions)]

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Weak},
};

use abi_stable::{
    library::{LibraryError, RootModule, lib_header_from_path},
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RStr, RVec},
};
use prost::Message;
use sqlflow_proto::{
    plugin::{CancelCall, FetchCall, ListJobsCall, RunCall, RunnerStats},
    sqlflow::{JobId, JobStatus, ListJobsResponse, Responses},
};

use sqlflow_plugin_api::{
    API_VERSION, Features, FetchWakerBox, HostBox, JobRunnerBox, RunnerError, RunnerPluginRef,
    abi::{FetchWaker, Host, level},
};

/// Why a plugin library could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is missing or the dynamic linker cannot open it (e.g. a missing shared
    /// library or a different architecture).
    #[error("cannot open runner plugin {path}: {reason}")]
    Open {
        /// The library file.
        path: PathBuf,
        /// The operating system's or linker's message.
        reason: String,
    },
    /// The file opens but is no runner plugin: it exports no sqlflow root module (was not
    /// built with `export_runner!`) or abi_stable rejects its header.
    #[error("{path} is not a sqlflow runner plugin: {reason}")]
    NotAPlugin {
        /// The library file.
        path: PathBuf,
        /// abi_stable's message, on one line.
        reason: String,
    },
    /// The plugin was built against a sqlflow-plugin-api version whose ABI is incompatible
    /// with the host's (abi_stable's semver check).
    #[error(
        "runner plugin {path} was built against sqlflow-plugin-api {plugin}, but this server \
         has {host}; rebuild the plugin against sqlflow-plugin-api {host}"
    )]
    VersionMismatch {
        /// The library file.
        path: PathBuf,
        /// The sqlflow-plugin-api version the plugin was built against.
        plugin: String,
        /// This host's sqlflow-plugin-api version.
        host: String,
    },
    /// The plugin's [`PluginInfo::api_version`](sqlflow_plugin_api::PluginInfo::api_version) differs from
    /// the host's [`API_VERSION`]: the meaning of calls changed though layouts did not.
    #[error(
        "runner plugin {path} speaks plugin API version {plugin}, but this server speaks \
         version {host}; rebuild the plugin against this server's sqlflow-plugin-api"
    )]
    ApiMismatch {
        /// The library file.
        path: PathBuf,
        /// The plugin's [`PluginInfo::api_version`](sqlflow_plugin_api::PluginInfo::api_version).
        plugin: u32,
        /// This host's [`API_VERSION`].
        host: u32,
    },
    /// A type reachable from the root module has a different layout in the plugin than in
    /// the host: usually a plugin built against another sqlflow-plugin-api release. The
    /// message stays short; abi_stable's report of every differing type (thousands of
    /// lines for one added field) is logged at debug level by [`load`] and kept in
    /// `detail`.
    #[error(
        "runner plugin {path} was built against sqlflow-plugin-api {plugin}, whose ABI \
         layout differs from this server's (sqlflow-plugin-api {host}); rebuild the plugin \
         against sqlflow-plugin-api {host} (the layout difference is logged at debug level)"
    )]
    Layout {
        /// The library file.
        path: PathBuf,
        /// The sqlflow-plugin-api version the plugin was built against.
        plugin: String,
        /// This host's sqlflow-plugin-api version.
        host: String,
        /// abi_stable's report of the types whose layouts differ.
        detail: String,
    },
    /// Initialising the root module failed for another reason.
    #[error("runner plugin {path} failed to initialise: {reason}")]
    Init {
        /// The library file.
        path: PathBuf,
        /// abi_stable's message, on one line.
        reason: String,
    },
}

/// A loaded (and never unloaded) runner library.
pub struct Plugin {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The runner name from [`PluginInfo::name`](sqlflow_plugin_api::PluginInfo::name); the server
    /// checks it equals `job_runner`.
    pub name: String,
    /// The plugin's own version, from [`PluginInfo::version`](sqlflow_plugin_api::PluginInfo::version).
    pub version: String,
    module: RunnerPluginRef,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

/// The plugin-api version this host was built with.
pub fn host_api_version() -> String {
    RunnerPluginRef::VERSION_STRINGS.to_string()
}

/// Loads a runner library, checking abi_stable's ABI, the plugin-api version, the layout
/// of everything reachable from the root module, and our [`API_VERSION`].
///
/// Uses `lib_header_from_path` rather than `load_from_file`, which caches one library per
/// root-module type and would hand back the first runner for every later path.
pub fn load(path: &Path) -> Result<Plugin, LoadError> {
    let path_buf = path.to_path_buf();
    if !path.exists() {
        return Err(LoadError::Open {
            path: path_buf,
            reason: "no such file".into(),
        });
    }
    let header = lib_header_from_path(path).map_err(|e| match e {
        LibraryError::OpenError { err, .. } => LoadError::Open {
            path: path_buf.clone(),
            reason: err.to_string(),
        },
        other => LoadError::NotAPlugin {
            path: path_buf.clone(),
            reason: one_line(&other.to_string()),
        },
    })?;
    let plugin_api = header.version_strings().to_string();
    let module = header
        .init_root_module::<RunnerPluginRef>()
        .map_err(|e| match e {
            LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
                LoadError::VersionMismatch {
                    path: path_buf.clone(),
                    plugin: actual_version.to_string(),
                    host: host_api_version(),
                }
            }
            LibraryError::AbiInstability(detail) => {
                let detail = detail.to_string();
                tracing::debug!(
                    target: "sqlflow::plugin",
                    path = %path_buf.display(),
                    "ABI layout differences between the plugin and this server:\n{detail}"
                );
                LoadError::Layout {
                    path: path_buf.clone(),
                    plugin: plugin_api.clone(),
                    host: host_api_version(),
                    detail,
                }
            }
            other => LoadError::Init {
                path: path_buf.clone(),
                reason: one_line(&other.to_string()),
            },
        })?;
    let info = (module.info())();
    if info.api_version != API_VERSION {
        return Err(LoadError::ApiMismatch {
            path: path_buf,
            plugin: info.api_version,
            host: API_VERSION,
        });
    }
    Ok(Plugin {
        path: path_buf,
        name: info.name.into_string(),
        version: info.version.into_string(),
        module,
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Plugin {
    /// Creates the runner from its configuration table (JSON).
    pub fn create(&self, config_json: &str, host: HostBox) -> Result<PluginRunner, RunnerError> {
        match (self.module.create())(RStr::from_str(config_json), host) {
            RResult::ROk(inner) => Ok(PluginRunner { inner }),
            RResult::RErr(e) => Err(e),
        }
    }
}

/// A runner object with typed methods. Calls block: run them off async workers.
pub struct PluginRunner {
    inner: JobRunnerBox,
}

fn decode<T: Message + Default>(
    what: &str,
    r: RResult<RVec<u8>, RunnerError>,
) -> Result<T, RunnerError> {
    match r {
        // From one owned buffer, so `bytes` fields become views into it, not copies.
        RResult::ROk(bytes) => {
            T::decode(prost::bytes::Bytes::from(bytes.into_vec())).map_err(|e| {
                RunnerError::internal(format!("runner returned an undecodable {what} reply: {e}"))
            })
        }
        RResult::RErr(e) => Err(e),
    }
}

impl PluginRunner {
    /// Submits a job ([`JobRunner::run`](sqlflow_plugin_api::abi::JobRunner::run)). An undecodable reply is
    /// `INTERNAL`; a runner error is returned as is.
    pub fn run(&self, call: &RunCall) -> Result<JobId, RunnerError> {
        let bytes = call.encode_to_vec();
        decode("run", self.inner.run(bytes.as_slice().into()))
    }

    /// What follows the request's cursor. With a waker, a runner whose snapshot holds
    /// nothing new keeps it and wakes it once when the job changes.
    pub fn fetch(
        &self,
        call: &FetchCall,
        waker: Option<FetchWakerBox>,
    ) -> Result<Responses, RunnerError> {
        self.fetch_as(call, waker)
    }

    /// [`fetch`](Self::fetch) decoded as any message wire-compatible with `Responses`,
    /// such as `sqlflow_grpc::raw::RawResponses`, whose responses stay
    /// views into the reply's buffer.
    pub fn fetch_as<T: Message + Default>(
        &self,
        call: &FetchCall,
        waker: Option<FetchWakerBox>,
    ) -> Result<T, RunnerError> {
        let bytes = call.encode_to_vec();
        decode(
            "fetch",
            self.inner
                .fetch(bytes.as_slice().into(), ROption::from(waker)),
        )
    }

    /// Cancels a job and returns its status; harmless on a finished job.
    pub fn cancel(&self, call: &CancelCall) -> Result<JobStatus, RunnerError> {
        let bytes = call.encode_to_vec();
        decode("cancel", self.inner.cancel(bytes.as_slice().into()))
    }

    /// Whether the runner can serve; the error says why not (usually `UNAVAILABLE`).
    pub fn health(&self) -> Result<(), RunnerError> {
        self.inner.health().into_result()
    }

    /// A page of the caller's jobs, newest first. `UNIMPLEMENTED` from a runner that does
    /// not list jobs, including one built before the call existed.
    pub fn list_jobs(&self, call: &ListJobsCall) -> Result<ListJobsResponse, RunnerError> {
        let bytes = call.encode_to_vec();
        decode("list_jobs", self.inner.list_jobs(bytes.as_slice().into()))
    }

    /// The runner's counters for the host's metrics. `UNIMPLEMENTED` from a runner built
    /// before the call existed.
    pub fn stats(&self) -> Result<RunnerStats, RunnerError> {
        decode("stats", self.inner.stats())
    }

    /// The optional promises the runner declares it keeps ([`Features::ALL`] from a
    /// runner built before the call existed).
    pub fn features(&self) -> Features {
        self.inner.features()
    }
}

/// A [`Host`] that re-emits plugin logs into the host's own `tracing` subscriber.
pub struct TracingHost {
    /// The runner's name, recorded as the `runner` field of every event it forwards.
    pub runner: String,
}

impl TracingHost {
    /// A [`HostBox`] for the runner `runner`, to pass to [`Plugin::create`].
    pub fn boxed(runner: impl Into<String>) -> HostBox {
        HostBox::from_ptr(
            RArc::new(TracingHost {
                runner: runner.into(),
            }),
            TD_Opaque,
        )
    }
}

impl Host for TracingHost {
    fn max_level(&self) -> u8 {
        match tracing::level_filters::LevelFilter::current().into_level() {
            None => 0,
            Some(tracing::Level::ERROR) => level::ERROR,
            Some(tracing::Level::WARN) => level::WARN,
            Some(tracing::Level::INFO) => level::INFO,
            Some(tracing::Level::DEBUG) => level::DEBUG,
            Some(tracing::Level::TRACE) => level::TRACE,
        }
    }

    fn log(&self, lvl: u8, target: RStr<'_>, message: RStr<'_>) {
        let (runner, target, message) = (&self.runner, target.as_str(), message.as_str());
        match lvl {
            level::ERROR => {
                tracing::error!(target: "sqlflow::plugin", runner, origin = target, "{message}")
            }
            level::WARN => {
                tracing::warn!(target: "sqlflow::plugin", runner, origin = target, "{message}")
            }
            level::INFO => {
                tracing::info!(target: "sqlflow::plugin", runner, origin = target, "{message}")
            }
            level::DEBUG => {
                tracing::debug!(target: "sqlflow::plugin", runner, origin = target, "{message}")
            }
            _ => tracing::trace!(target: "sqlflow::plugin", runner, origin = target, "{message}"),
        }
    }
}

/// A waker backed by a `tokio::sync::Notify` the host awaits. Holding only a weak
/// reference lets the runner see when the waiting `Fetch` has gone.
pub struct NotifyWaker(Weak<tokio::sync::Notify>);

impl NotifyWaker {
    /// A waker that notifies `notify`. The host keeps the `Arc` while it waits; once it
    /// drops it, the waker [is stale](FetchWaker::is_stale).
    pub fn boxed(notify: &Arc<tokio::sync::Notify>) -> FetchWakerBox {
        FetchWakerBox::from_value(NotifyWaker(Arc::downgrade(notify)), TD_Opaque)
    }
}

impl FetchWaker for NotifyWaker {
    fn wake(&self) {
        if let Some(n) = self.0.upgrade() {
            // notify_one stores a permit, so a wake before the host awaits is not lost.
            n.notify_one();
        }
    }

    fn is_stale(&self) -> bool {
        self.0.strong_count() == 0
    }
}
