//! The `local` job runner: each job is its own OS process (`sqlflow-step job <dir>`) on
//! this machine, detached from the server, with a durable job directory
//! (`sqlflow-jobdir`) that holds its program, output stream and final status. A
//! restarted server re-attaches to running jobs and finishes the records of jobs that
//! died while it was away.
//!
//! - [`config`]: the `runners.local` table;
//! - [`start`]: [`create`], the plugin's constructor: checks, the step binary, recovery;
//! - [`runner`]: [`LocalRunner`], the calls the host makes;
//! - [`registry`]: the jobs this runner knows, their directories, recovery, retention,
//!   listing;
//! - [`job`]: one job's state and the task that follows its process;
//! - the fair queue of jobs waiting for a slot is the SDK's `sdk::queue::Scheduler`;
//! - [`page`]: what a Fetch reads (the cursor is the SDK's `sdk::Cursor`);
//! - [`archive`]: finished jobs after their first seconds, rows of one SQLite file.

pub mod archive;
mod config;
mod job;
mod page;
mod registry;
mod runner;
mod start;
mod zygote;

pub use crate::{config::Config, job::Meta, runner::LocalRunner, start::create};

sqlflow_plugin_api::export_runner!(name: "local", create: create);
