//! The stable ABI between the sqlflow-rs server (the host) and its job runner plugins.
//!
//! - [`abi`]: the types that cross the library boundary (always available);
//! - [`sdk`] (feature `sdk`): what a runner author uses: the [`Runner`](sdk::Runner) trait,
//!   [`export_runner!`], panic guards, an owned tokio runtime and a `tracing` bridge;
//! - [`loader`] (feature `host`): loading a runner `.so` and calling it with typed messages.
//!
//! Payloads are protobuf-encoded messages of `sqlflow_proto::plugin`, so the ABI can
//! grow by adding protobuf fields without touching the layout.

#![deny(rust_2018_idioms)]
// The #[sabi_trait] expansion trips these on current rustc.
#![allow(non_local_definitions, non_camel_case_types)]

pub mod abi;
#[cfg(feature = "host")]
pub mod loader;
#[cfg(feature = "sdk")]
pub mod sdk;

pub use abi::{
    API_VERSION, ErrorCode, FetchWakerBox, HostBox, JobRunnerBox, PluginInfo, RunnerError,
    RunnerPlugin, RunnerPluginRef, library_file_name,
};
pub use sqlflow_proto as proto;
