//! The stable ABI between the sqlflow-rs server (the host) and its job runner plugins.
//!
//! - [`abi`]: the types that cross the library boundary (always available);
//! - [`sdk`] (feature `sdk`): what a runner author uses: the [`Runner`](sdk::Runner) trait,
//!   [`export_runner!`], panic guards, an owned tokio runtime and a `tracing` bridge;
//! - [`list`] (feature `sdk`): ListJobs paging, one way for every runner.
//!
//! The host side (loading a runner `.so`) is the separate crate `sqlflow-plugin-host`, so
//! that loading a runner in its own tests does not change how the runner is built.
//!
//! Payloads are protobuf-encoded messages of `sqlflow_proto::plugin`, so the ABI can
//! grow by adding protobuf fields without touching the layout.

// The #[sabi_trait] expansion trips these on current rustc.
#![allow(non_local_definitions, non_camel_case_types)]
// Third parties build on this crate from its docs alone.
#![deny(missing_docs)]

pub mod abi;
#[cfg(feature = "sdk")]
pub mod list;
#[cfg(feature = "sdk")]
pub mod sdk;

pub use abi::{
    API_VERSION, ErrorCode, Features, FetchWakerBox, HostBox, JobRunnerBox, PluginInfo,
    RunnerError, RunnerPlugin, RunnerPluginRef, library_file_name,
};
pub use sqlflow_proto as proto;
