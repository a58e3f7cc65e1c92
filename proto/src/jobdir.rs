//! The durable job directory shared by the local runner and `sqlflow-step job <dir>`.
//!
//! ```text
//! <work_dir>/<job id>/           mode 0700
//!   job.json       the program, the session (its datasource holds the password) and the
//!                  runner's own record of who submitted it when; mode 0600
//!   output         the step's stdout: the record stream; a byte offset is the cursor.
//!                  The step holds a lock on it for its whole life: the liveness test
//!   stderr         the step's stderr (panics, allocator aborts)
//!   process.json   pid, process group and start time of the step (written by the step)
//!   cancel         exists once a cancel was requested (holds the reason)
//!   status.json    the final status, written once, atomically
//! ```
//!
//! Few files on purpose: on ext4, creating inodes right after many were deleted (old
//! jobs expiring) gets slower with each one, and `Run` creates these.
//!
//! Whoever observes the job's end writes `status.json`: the step itself, its supervisor
//! (a signal killed the worker), or the runner (the whole process group is gone).

use std::{
    fs,
    io::{self, Read, Seek, SeekFrom, Write},
    path::Path,
};

use serde::{Deserialize, Serialize};

pub const JOB: &str = "job.json";
pub const PROCESS: &str = "process.json";
pub const OUTPUT: &str = "output";
pub const STDERR: &str = "stderr";
pub const CANCEL: &str = "cancel";
pub const STATUS: &str = "status.json";

/// A terminal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FinalCode {
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalStatus {
    pub code: FinalCode,
    #[serde(default)]
    pub message: String,
    /// Milliseconds since the Unix epoch.
    pub finished_at_ms: u64,
}

/// The part of `job.json` the step process reads (runners add fields of their own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInput {
    pub program: String,
    pub session: JobSession,
}

/// What the step process needs besides the program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSession {
    pub db_conn_str: String,
    #[serde(default)]
    pub user_id: String,
    /// Per-job limits; 0 means none.
    #[serde(default)]
    pub limits: Limits,
}

/// Per-job resource limits, enforced by the step process; 0 means none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Address space of the worker (RLIMIT_AS), in MiB.
    #[serde(default)]
    pub memory_mb: u64,
    /// CPU time of the worker (RLIMIT_CPU).
    #[serde(default)]
    pub cpu_seconds: u64,
    /// Wall-clock time from start to end.
    #[serde(default)]
    pub wall_seconds: u64,
    /// Bytes of output (results and messages), in MiB.
    #[serde(default)]
    pub output_mb: u64,
}

/// The identity of the step process. Liveness is decided by the lock, never by the pid
/// (pids are reused); the process group is what a cancel signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pub pid: i32,
    pub pgid: i32,
    /// Start time in clock ticks since boot (/proc/<pid>/stat), for operators.
    pub start_ticks: u64,
}

/// Takes the job's lock (on its output file) for the life of the calling process and of
/// its forked children, which share the open file. `Ok(None)`: another process holds
/// it, so the job is already running elsewhere.
pub fn hold_lock(dir: &Path) -> io::Result<Option<fs::File>> {
    let f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(OUTPUT))?;
    // Observers take the lock for microseconds to test it, so retry a little.
    for _ in 0..200 {
        match f.try_lock() {
            Ok(()) => return Ok(Some(f)),
            Err(fs::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(None)
}

/// Whether some process of the job is alive (holds the lock). A job that never
/// started has no output file and is not alive.
pub fn is_alive(dir: &Path) -> io::Result<bool> {
    let f = match fs::File::open(dir.join(OUTPUT)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match f.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// This process's start time in clock ticks since boot, from /proc (0 if unknown).
pub fn own_start_ticks() -> u64 {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The command name may hold spaces and parentheses; fields resume after the last ')'.
            let rest = &s[s.rfind(')')? + 2..];
            rest.split(' ').nth(19)?.parse().ok()
        })
        .unwrap_or(0)
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Writes `name` in `dir` atomically: readers see the old file or the whole new one.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8], sync: bool) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
    }
    fs::rename(&tmp, dir.join(name))
}

/// Writes the final status unless one exists already: the first observer wins, even
/// when two race (the file is published with `link`, which fails if it exists).
/// Returns the status now on disk.
pub fn finalize(dir: &Path, status: &FinalStatus, sync: bool) -> io::Result<FinalStatus> {
    if let Some(existing) = read_status(dir)? {
        return Ok(existing);
    }
    let json = serde_json::to_vec(status).map_err(io::Error::other)?;
    let tmp = dir.join(format!(".{STATUS}.tmp.{}.{}", std::process::id(), now_ms()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&json)?;
        if sync {
            f.sync_all()?;
        }
    }
    let linked = fs::hard_link(&tmp, dir.join(STATUS));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(status.clone()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read_status(dir)?.ok_or_else(|| io::Error::other("status.json vanished"))
        }
        Err(e) => Err(e),
    }
}

pub fn read_status(dir: &Path) -> io::Result<Option<FinalStatus>> {
    match fs::read(dir.join(STATUS)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The last couple of KiB the job's processes wrote on stderr (a panic, an allocation
/// failure), for the message of a job that died without a result.
pub fn stderr_tail(dir: &Path) -> String {
    const TAIL: u64 = 2048;
    let Ok(mut f) = fs::File::open(dir.join(STDERR)) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).trim().to_string()
}

/// Reads a JSON file of the job directory.
pub fn read_json<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> io::Result<T> {
    let bytes = fs::read(dir.join(name))?;
    serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_final_status_wins() {
        let dir = std::env::temp_dir().join(format!("jobdir-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let ok = FinalStatus {
            code: FinalCode::Succeeded,
            message: String::new(),
            finished_at_ms: 1,
        };
        let failed = FinalStatus {
            code: FinalCode::Failed,
            message: "late".into(),
            finished_at_ms: 2,
        };
        assert_eq!(finalize(&dir, &ok, false).unwrap(), ok);
        assert_eq!(finalize(&dir, &failed, false).unwrap(), ok);
        assert_eq!(read_status(&dir).unwrap(), Some(ok));
        fs::remove_dir_all(&dir).unwrap();
    }
}
