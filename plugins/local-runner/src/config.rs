//! `[runners.local]` in sqlflow.toml.

use std::path::PathBuf;

use serde::Deserialize;
use sqlflow_jobdir::{self as jobdir, Limits};
use sqlflow_plugin_api::RunnerError;

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
    /// Bytes of output per Fetch reply (a single larger line, up to the record limit, is
    /// still sent whole; a line over that limit is skipped and reported).
    #[serde(default = "default_page_bytes")]
    pub fetch_page_bytes: u64,
    /// fsync job files before acknowledging (survives power loss, not only crashes).
    #[serde(default = "default_true")]
    pub sync_writes: bool,
    /// Per-job resource limits; 0 means none.
    #[serde(default)]
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
    /// How long a finished job keeps its directory before it moves into the work dir's
    /// archive (`jobs.sqlite`), where a restart need not read it. Directories are what a
    /// restart scans, so this bounds the scan to the jobs that ended this long ago.
    #[serde(default = "default_archive_after")]
    pub archive_after_seconds: u64,
    /// `TO RUN` programs: the name a statement writes after `TO RUN` mapped to the
    /// absolute path of the executable it runs. Empty (the default): `TO RUN` is refused.
    #[serde(default)]
    pub run_programs: std::collections::BTreeMap<String, PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// A runaway query must fail its job, not push the machine into the OOM killer,
    /// which may pick the server. Address space (RLIMIT_AS) runs ahead of resident memory
    /// (thread stacks, allocator arenas, mapped libraries), so this is generous: 4 GiB
    /// holds any tutorial-sized training set. Fixed rather than a share of this machine's
    /// RAM, so a job fails the same way on every server.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// No CPU limit by default: the wall-clock limit already ends every job, and CPU time
    /// grows with the threads a job uses, which makes a CPU limit hard to predict.
    #[serde(default)]
    pub cpu_seconds: u64,
    /// A day: longer than any interactive or scheduled job should take, short enough
    /// that a hung one (a lock wait, a forgotten `sleep`) does not hold a slot forever.
    /// Jobs outlive the server, so nothing else would end them.
    #[serde(default = "default_wall_seconds")]
    pub wall_seconds: u64,
    /// Bounds each job's disk use (with retention, the work dir's).
    #[serde(default = "default_output_mb")]
    pub output_mb: u64,
    /// The largest single record (a row, a header, a message), in KiB: what one Fetch
    /// reply must carry whole, and what the server holds in memory per reply.
    #[serde(default = "default_record_kb")]
    pub record_kb: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            memory_mb: default_memory_mb(),
            cpu_seconds: 0,
            wall_seconds: default_wall_seconds(),
            output_mb: default_output_mb(),
            record_kb: default_record_kb(),
        }
    }
}

fn default_memory_mb() -> u64 {
    4096
}
fn default_wall_seconds() -> u64 {
    24 * 3600
}
fn default_output_mb() -> u64 {
    1024
}
fn default_record_kb() -> u64 {
    jobdir::DEFAULT_RECORD_KB
}

impl From<LimitsConfig> for Limits {
    fn from(l: LimitsConfig) -> Self {
        Limits {
            memory_mb: l.memory_mb,
            cpu_seconds: l.cpu_seconds,
            wall_seconds: l.wall_seconds,
            output_mb: l.output_mb,
            record_kb: l.record_kb,
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
fn default_archive_after() -> u64 {
    10
}
fn default_retention() -> u64 {
    7 * 24 * 3600
}

/// The worker's address space includes the step binary and its libraries, so a memory
/// limit below this cannot run anything.
const MIN_MEMORY_MB: u64 = 64;

/// What a Fetch reply may hold: gRPC clients refuse larger messages by default (tonic,
/// grpc-go, grpc-java: 4 MiB).
const MAX_REPLY_BYTES: u64 = 4 << 20;
/// Room in a reply for everything but the page: the status (its message is at most a
/// few KiB), the cursor, and the framing of each response.
const REPLY_OVERHEAD: u64 = 64 << 10;
/// A reply holds a page of lines, or one line up to the record limit, whichever is
/// larger; either must fit a client's limit.
const MAX_PAGE_BYTES: u64 = MAX_REPLY_BYTES - REPLY_OVERHEAD;
/// The engine refuses record limits below 4 KiB.
const MIN_RECORD_KB: u64 = 4;

impl Config {
    pub fn validate(&self) -> Result<(), RunnerError> {
        if !(1024..=MAX_PAGE_BYTES).contains(&self.fetch_page_bytes) {
            return Err(RunnerError::config(
                "fetch_page_bytes",
                format!(
                    "must be between 1024 and {MAX_PAGE_BYTES}, so a reply fits the 4 MiB \
                     that gRPC clients accept by default"
                ),
            ));
        }
        let max_record_kb = MAX_PAGE_BYTES / 1024;
        if !(MIN_RECORD_KB..=max_record_kb).contains(&self.limits.record_kb) {
            return Err(RunnerError::config(
                "limits.record_kb",
                format!(
                    "must be between {MIN_RECORD_KB} and {max_record_kb}, so one record fits \
                     a reply of the 4 MiB that gRPC clients accept by default"
                ),
            ));
        }
        if self.limits.memory_mb != 0 && self.limits.memory_mb < MIN_MEMORY_MB {
            return Err(RunnerError::config(
                "limits.memory_mb",
                format!("must be 0 (no limit) or at least {MIN_MEMORY_MB}"),
            ));
        }
        for (name, path) in &self.run_programs {
            if name.is_empty() || name.chars().any(char::is_whitespace) {
                return Err(RunnerError::config(
                    "run_programs",
                    format!("the name '{name}' must be non-empty and without spaces"),
                ));
            }
            if !path.is_absolute() {
                return Err(RunnerError::config(
                    "run_programs",
                    format!(
                        "{name} = {}: the program must be an absolute path",
                        path.display()
                    ),
                ));
            }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

    use sqlflow_plugin_api::sdk::parse_config;

    use super::*;

    #[test]
    fn run_programs_map_names_to_absolute_executables() {
        let cfg: Config = parse_config(
            r#"{"run_programs": {"binning.py": "/opt/sqlflow/run/binning.py", "team/x:1": "/usr/bin/x"}}"#,
        )
        .unwrap();
        cfg.validate().unwrap();
        assert_eq!(
            cfg.run_programs["binning.py"],
            PathBuf::from("/opt/sqlflow/run/binning.py")
        );
        let none: Config = parse_config("{}").unwrap();
        assert!(none.run_programs.is_empty(), "TO RUN is off by default");

        let relative: Config = parse_config(r#"{"run_programs": {"a": "bin/a"}}"#).unwrap();
        let e = relative.validate().unwrap_err();
        assert!(e.message.contains("absolute"), "{}", e.message);
        let spaced: Config = parse_config(r#"{"run_programs": {"a b": "/bin/a"}}"#).unwrap();
        assert!(spaced.validate().is_err());
    }
}
