//! `[runners.local]` in sqlflow.toml.

use std::path::PathBuf;

use serde::Deserialize;
use sqlflow_plugin_api::RunnerError;
use sqlflow_proto::jobdir::Limits;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where job directories live. Relative paths are relative to the server's working
    /// directory.
    #[serde(default = "default_work_dir")]
    pub work_dir: PathBuf,
    /// The `sqlflow-step` executable. Default: next to the server executable, else $PATH.
    #[serde(default)]
    pub step_binary: Option<PathBuf>,
    /// Bytes of output per Fetch reply (a single larger line is still sent whole).
    #[serde(default = "default_page_bytes")]
    pub fetch_page_bytes: u64,
    /// fsync job files before acknowledging (survives power loss, not only crashes).
    #[serde(default = "default_true")]
    pub sync_writes: bool,
    /// Per-job resource limits; 0 means none.
    #[serde(default = "default_limits")]
    pub limits: LimitsConfig,
    /// Jobs of one user that may run at once; more wait as PENDING (0 = no cap).
    #[serde(default = "default_per_user")]
    pub max_running_per_user: usize,
    /// Jobs that may run at once in all (0 = no cap).
    #[serde(default)]
    pub max_running_jobs: usize,
    /// How long a finished job and its output are kept before they are removed.
    #[serde(default = "default_retention")]
    pub retention_seconds: u64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(default)]
    pub memory_mb: u64,
    #[serde(default)]
    pub cpu_seconds: u64,
    #[serde(default)]
    pub wall_seconds: u64,
    /// Bounds each job's disk use (with retention, the work dir's).
    #[serde(default = "default_output_mb")]
    pub output_mb: u64,
}

fn default_limits() -> LimitsConfig {
    LimitsConfig {
        memory_mb: 0,
        cpu_seconds: 0,
        wall_seconds: 0,
        output_mb: default_output_mb(),
    }
}
fn default_output_mb() -> u64 {
    1024
}

impl From<LimitsConfig> for Limits {
    fn from(l: LimitsConfig) -> Self {
        Limits {
            memory_mb: l.memory_mb,
            cpu_seconds: l.cpu_seconds,
            wall_seconds: l.wall_seconds,
            output_mb: l.output_mb,
        }
    }
}

fn default_work_dir() -> PathBuf {
    PathBuf::from("sqlflow-jobs")
}
fn default_page_bytes() -> u64 {
    1 << 20
}
fn default_true() -> bool {
    true
}
fn default_per_user() -> usize {
    4
}
fn default_retention() -> u64 {
    7 * 24 * 3600
}

/// The worker's address space includes the step binary and its libraries, so a memory
/// limit below this cannot run anything.
const MIN_MEMORY_MB: u64 = 64;

impl Config {
    pub fn validate(&self) -> Result<(), RunnerError> {
        if self.fetch_page_bytes < 1024 {
            return Err(RunnerError::config(
                "fetch_page_bytes",
                "must be at least 1024",
            ));
        }
        if self.limits.memory_mb != 0 && self.limits.memory_mb < MIN_MEMORY_MB {
            return Err(RunnerError::config(
                "limits.memory_mb",
                format!("must be 0 (no limit) or at least {MIN_MEMORY_MB}"),
            ));
        }
        if self.retention_seconds == 0 {
            return Err(RunnerError::config(
                "retention_seconds",
                "must be at least 1: clients need time to fetch a finished job",
            ));
        }
        Ok(())
    }
}
