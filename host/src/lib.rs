//! The sqlflow-rs server (host): configuration, plugin loading and the gRPC services.
//! The binary's `main` only wires these together.

pub mod auth;
pub mod config;
pub mod metrics;
pub mod policy;
pub mod runner;
pub mod server;
pub mod service;
