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
//!   cancel         exists once a cancel was requested (holds the reason; first writer wins)
//!   status.json    the final status, written once, atomically (its durable copy is the
//!                  output's last record)
//!   .status.json.reserve
//!                  disk space set aside by the step for the final status, so a job that
//!                  fills the disk can still record why it ended; consumed by the first
//!                  final write (it becomes status.json)
//! ```
//!
//! Few files on purpose: on ext4, creating inodes right after many were deleted (old
//! jobs expiring) gets slower with each one, and `Run` creates these.
//!
//! Whoever observes the job's end writes `status.json`: the step itself, its supervisor
//! (a signal killed the worker), or the runner (the whole process group is gone).
//! With `sync_writes`, a final status is durable with the output it describes: it is
//! appended to the output as an end record and flushed with it (see `end`), and only
//! then written to status.json, unflushed, for quick reading; so a status on disk never
//! describes output that a power loss could take back. Where the record cannot be
//! written (a full disk), status.json is flushed after the output and before its
//! directory entry instead. Readers that must not miss a status use [`final_status`].

use std::{
    fs,
    hash::BuildHasher,
    io::{self, Read, Seek, SeekFrom, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use serde::{Deserialize, Serialize};

mod end;
mod group;

pub use group::GroupSync;

pub const JOB: &str = "job.json";
pub const PROCESS: &str = "process.json";
pub const OUTPUT: &str = "output";
pub const STDERR: &str = "stderr";
pub const CANCEL: &str = "cancel";
pub const STATUS: &str = "status.json";
pub const STATUS_RESERVE: &str = ".status.json.reserve";

/// Room set aside for the final status: a status names the failing statement and the
/// database's error, or the signal and the tail of stderr (2 KiB), JSON-escaped.
const STATUS_RESERVE_BYTES: usize = 16 * 1024;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSession {
    pub db_conn_str: String,
    #[serde(default)]
    pub user_id: String,
    /// Per-job limits; 0 means none.
    #[serde(default)]
    pub limits: Limits,
    /// fsync the job's output and final status before they count (the runner's
    /// `sync_writes`). A job.json written before this field existed gets the safe value.
    #[serde(default = "default_true")]
    pub sync_writes: bool,
    /// `TO RUN` under the local runner: the programs a statement may name (what follows
    /// `TO RUN`) and the absolute executable each runs (the runner's `run_programs`).
    /// Empty, as in a job.json written before this field existed: `TO RUN` is refused.
    #[serde(default)]
    pub run_programs: std::collections::BTreeMap<String, std::path::PathBuf>,
}

fn default_true() -> bool {
    true
}

impl Default for JobSession {
    fn default() -> Self {
        JobSession {
            db_conn_str: String::new(),
            user_id: String::new(),
            limits: Limits::default(),
            sync_writes: true,
            run_programs: Default::default(),
        }
    }
}

/// The record limit of a job whose job.json names none: what the engine's record
/// writer defaults to, and what a default gRPC client (4 MiB per message) can take.
pub const DEFAULT_RECORD_KB: u64 = 1024;

fn default_record_kb() -> u64 {
    DEFAULT_RECORD_KB
}

/// Per-job resource limits, enforced by the step process; 0 means none (except
/// `record_kb`, where 0 means the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The largest single record line (a row, a header, a message) the step may write,
    /// in KiB; 0 means [`DEFAULT_RECORD_KB`]. A larger one fails the job naming this.
    #[serde(default = "default_record_kb")]
    pub record_kb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mb: 0,
            cpu_seconds: 0,
            wall_seconds: 0,
            output_mb: 0,
            record_kb: DEFAULT_RECORD_KB,
        }
    }
}

impl Limits {
    /// The record limit in bytes, the default applied.
    pub fn max_record_bytes(&self) -> u64 {
        match self.record_kb {
            0 => DEFAULT_RECORD_KB * 1024,
            kb => kb.saturating_mul(1024),
        }
    }
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

/// Whether the job is alive when the lock cannot be tested (an I/O error on `output`):
/// by the process group recorded in process.json, counting a process as the job's only
/// if it is in that group, not a zombie, and started no earlier than the recorded step
/// (a pid or group id reused by an older process cannot pass for the job).
pub fn identity_alive(dir: &Path) -> io::Result<bool> {
    let id: ProcessIdentity = read_json(dir, PROCESS)?;
    if id.start_ticks == 0 {
        return Err(io::Error::other(
            "process.json has no start time, so its processes cannot be told from others",
        ));
    }
    for entry in fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(p) = proc_stat(pid)
            && p.pgrp == id.pgid
            && p.start_ticks >= id.start_ticks
            && !matches!(p.state, 'Z' | 'X' | 'x')
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Liveness by the lock, and by the recorded process group when the lock cannot be
/// tested; an error only when neither can say.
pub fn liveness(dir: &Path) -> io::Result<bool> {
    match is_alive(dir) {
        Ok(alive) => Ok(alive),
        Err(lock_error) => identity_alive(dir).map_err(|_| lock_error),
    }
}

struct ProcStat {
    state: char,
    pgrp: i32,
    start_ticks: u64,
}

/// Fields of /proc/<pid>/stat. The command name may hold spaces and parentheses, so
/// fields are counted after the last ')'.
fn proc_stat(pid: i32) -> Option<ProcStat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.get(s.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// This process's start time in clock ticks since boot, from /proc (0 if unknown).
pub fn own_start_ticks() -> u64 {
    proc_stat(std::process::id() as i32).map_or(0, |p| p.start_ticks)
}

/// Milliseconds since the Unix epoch (0 on a clock set before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A name no other writer uses: the pid tells processes apart, the counter threads of
/// one process, and the random part a process that reused the pid of a crashed one.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Each RandomState has its own random keys.
    let random = std::collections::hash_map::RandomState::new().hash_one(n);
    format!("{}.{n}.{random:016x}", std::process::id())
}

/// Creates a temporary file for `name` in `dir` that no one else is writing.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    let mut last = None;
    // create_new guarantees exclusivity; a clash (all but impossible) just picks again.
    for _ in 0..8 {
        let path = dir.join(format!(".{name}.tmp.{}", unique_suffix()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// Writes `bytes` from the start of `f` and cuts it there.
fn write_whole(f: &mut fs::File, bytes: &[u8], sync: bool) -> io::Result<()> {
    f.seek(SeekFrom::Start(0))?;
    f.write_all(bytes)?;
    f.set_len(bytes.len() as u64)?;
    if sync {
        f.sync_all()?;
    }
    Ok(())
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8], sync: bool) -> io::Result<PathBuf> {
    let (tmp, mut f) = create_temp(dir, name)?;
    match write_whole(&mut f, bytes, sync) {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Makes the directory's entries (a rename, a link) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Makes a file's data durable; a file that does not exist has nothing to lose.
fn sync_file(path: &Path) -> io::Result<()> {
    match fs::File::open(path) {
        Ok(f) => f.sync_all(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `name` in `dir` atomically: readers see the old file or the whole new one.
/// Concurrent writers (threads or processes) never share a temporary file; the last
/// rename wins.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8], sync: bool) -> io::Result<()> {
    let tmp = write_temp(dir, name, bytes, sync)?;
    if let Err(e) = fs::rename(&tmp, dir.join(name)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Writes `name` in `dir` unless it exists: the first writer wins, even when several
/// race (the file is published with `link`, which fails if the name exists). Returns
/// whether this call wrote it.
pub fn publish_once(dir: &Path, name: &str, bytes: &[u8], sync: bool) -> io::Result<bool> {
    let tmp = write_temp(dir, name, bytes, sync)?;
    let linked = fs::hard_link(&tmp, dir.join(name));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if sync {
                sync_dir(dir)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// The recorded reason for cancelling the job, if it was cancelled. The file may be
/// empty: a cancel on a full disk records that it happened, without its reason.
pub fn read_cancel(dir: &Path) -> Option<String> {
    let reason = fs::read_to_string(dir.join(CANCEL)).ok()?;
    Some(if reason.is_empty() {
        "cancelled (the reason could not be recorded: the disk was full)".to_string()
    } else {
        reason
    })
}

/// Sets disk space aside for the final status (see [`STATUS_RESERVE`]). The step does
/// this before it writes any output; [`finalize`] writes into it.
pub fn reserve_status(dir: &Path) -> io::Result<()> {
    let path = dir.join(STATUS_RESERVE);
    // Written, not fallocated: written blocks are allocated (or, with delayed
    // allocation, counted) now on every file system, so overwriting them later needs no
    // new space.
    if let Err(e) = fs::write(&path, [0u8; STATUS_RESERVE_BYTES]) {
        // A partial reservation would be trusted later; none is better.
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(())
}

/// Takes the reservation for this writer: renamed to a name of its own, so two writers
/// never write into it at once. `None` if there is none (used, or never made).
fn claim_reservation(dir: &Path) -> Option<(PathBuf, fs::File)> {
    let tmp = dir.join(format!(".{STATUS}.tmp.{}", unique_suffix()));
    fs::rename(dir.join(STATUS_RESERVE), &tmp).ok()?;
    match fs::OpenOptions::new().write(true).open(&tmp) {
        Ok(f) => Some((tmp, f)),
        Err(_) => {
            let _ = fs::remove_file(&tmp);
            None
        }
    }
}

/// Why a final status could not be recorded, by the step it failed at.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    #[error("cannot flush the job's output to disk: {0}")]
    Output(io::Error),
    #[error("cannot write {STATUS}: {0}")]
    Status(io::Error),
    #[error("cannot flush the job directory to disk: {0}")]
    Directory(io::Error),
}

impl FinalizeError {
    pub fn io_error(&self) -> &io::Error {
        match self {
            FinalizeError::Output(e) | FinalizeError::Status(e) | FinalizeError::Directory(e) => e,
        }
    }

    /// The disk holding the job directory is full.
    pub fn is_no_space(&self) -> bool {
        self.io_error().kind() == io::ErrorKind::StorageFull
    }
}

/// The status as JSON, its message shortened until it fits `room` bytes (code and time
/// intact): on a full disk, a status that names the failure beats none.
fn status_json_within(status: &FinalStatus, room: usize) -> io::Result<Vec<u8>> {
    let mut status = status.clone();
    loop {
        let json = serde_json::to_vec(&status).map_err(io::Error::other)?;
        if json.len() <= room || status.message.is_empty() {
            return Ok(json);
        }
        let keep = status.message.chars().count() / 2;
        status.message = status.message.chars().take(keep).collect::<String>() + "…";
    }
}

/// Writes the status into the reservation if there is one, else a new temporary file.
fn write_status_temp(dir: &Path, status: &FinalStatus, sync: bool) -> io::Result<PathBuf> {
    let json = serde_json::to_vec(status).map_err(io::Error::other)?;
    let (tmp, mut f, reserved) = match claim_reservation(dir) {
        Some((tmp, f)) => (tmp, f, true),
        None => {
            let (tmp, f) = create_temp(dir, STATUS)?;
            (tmp, f, false)
        }
    };
    let written = match write_whole(&mut f, &json, sync) {
        // Longer than the reserved room on a full disk: what fits, rather than nothing.
        Err(e) if reserved && e.kind() == io::ErrorKind::StorageFull => {
            status_json_within(status, STATUS_RESERVE_BYTES)
                .and_then(|short| write_whole(&mut f, &short, sync))
        }
        other => other,
    };
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Writes the final status unless one exists already: the first observer wins, even
/// when two race (they take turns on a lock on the directory, and the file is published
/// with `link`, which fails if it exists). Returns the status now on disk. With `sync`, the status is durable with the output
/// before it returns: as the output's last record (see [`end`]), flushed together with
/// the output in one go, or, when that cannot be written (a full disk), as status.json
/// flushed after the output and before its directory entry.
pub fn finalize(
    dir: &Path,
    status: &FinalStatus,
    sync: bool,
) -> Result<FinalStatus, FinalizeError> {
    // Held to the end: two writers must not both append an end record, since the last
    // one in the output is the one read after a crash. Its handle flushes the directory.
    let turn = fs::File::open(dir).map_err(FinalizeError::Directory)?;
    turn.lock().map_err(FinalizeError::Directory)?;
    let corrupt = match find_status(dir).map_err(FinalizeError::Status)? {
        Found::StatusJson(existing) => {
            if sync {
                // Whoever linked it may have died before making the link durable.
                turn.sync_all().map_err(FinalizeError::Directory)?;
            }
            return Ok(existing);
        }
        Found::EndRecord(existing) => return Ok(existing),
        Found::Nowhere { corrupt } => corrupt,
    };
    if sync && end::append_durably(dir, &turn, status).is_ok() {
        // The quick way to read it; the end record is what keeps it.
        return Ok(publish_status(dir, status, corrupt, false).unwrap_or_else(|_| status.clone()));
    }
    if sync {
        sync_file(&dir.join(OUTPUT)).map_err(FinalizeError::Output)?;
    }
    let on_disk = publish_status(dir, status, corrupt, sync).map_err(FinalizeError::Status)?;
    if sync {
        turn.sync_all().map_err(FinalizeError::Directory)?;
    }
    Ok(on_disk)
}

/// Where a job's final status was found.
enum Found {
    StatusJson(FinalStatus),
    /// In the output's end record: status.json was missing or did not parse (lost in a
    /// crash, or its writer died first), and has been written again.
    EndRecord(FinalStatus),
    /// Nowhere; `corrupt`: a status.json that does not parse is in the way.
    Nowhere {
        corrupt: bool,
    },
}

fn find_status(dir: &Path) -> io::Result<Found> {
    let corrupt = match read_status(dir) {
        Ok(Some(status)) => return Ok(Found::StatusJson(status)),
        Ok(None) => false,
        // A status.json that does not parse (its data lost in a crash without fsync)
        // won nothing.
        Err(e) if e.kind() == io::ErrorKind::InvalidData => true,
        Err(e) => return Err(e),
    };
    match end::read(dir) {
        Ok(Some(status)) => {
            // The quick copy again; unflushed, as when it was first written.
            let _ = publish_status(dir, &status, corrupt, false);
            Ok(Found::EndRecord(status))
        }
        // An end record that does not parse won nothing either.
        Ok(None) => Ok(Found::Nowhere { corrupt }),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(Found::Nowhere { corrupt }),
        Err(e) => Err(e),
    }
}

/// Publishes status.json (replacing a `corrupt` one) unless another writer did first;
/// returns the status on disk.
fn publish_status(
    dir: &Path,
    status: &FinalStatus,
    corrupt: bool,
    sync: bool,
) -> io::Result<FinalStatus> {
    let tmp = write_status_temp(dir, status, sync)?;
    let published = if corrupt {
        fs::rename(&tmp, dir.join(STATUS))
    } else {
        let linked = fs::hard_link(&tmp, dir.join(STATUS));
        let _ = fs::remove_file(&tmp);
        linked
    };
    match published {
        Ok(()) => Ok(status.clone()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read_status(dir)?.ok_or_else(|| io::Error::other("status.json vanished"))
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The job's final status, if it has one: status.json, or the end record of its
/// output when status.json is missing or does not parse (lost in a crash: the end
/// record was the durable copy; status.json is then written again). An unparsable
/// status.json with no end record behind it is an `InvalidData` error.
pub fn final_status(dir: &Path) -> io::Result<Option<FinalStatus>> {
    match find_status(dir)? {
        Found::StatusJson(status) | Found::EndRecord(status) => Ok(Some(status)),
        Found::Nowhere { corrupt: false } => Ok(None),
        Found::Nowhere { corrupt: true } => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{STATUS} does not parse and the output ends with no final status"),
        )),
    }
}

/// status.json alone (the quick check while a job runs; see [`final_status`]).
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
    stderr_tail_bytes(dir, 2048)
}

/// The last `bytes` bytes of the job's stderr, as text.
pub fn stderr_tail_bytes(dir: &Path, bytes: u64) -> String {
    let Ok(mut f) = fs::File::open(dir.join(STDERR)) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
    let mut buf = Vec::new();
    let _ = f.take(bytes).read_to_end(&mut buf);
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

    /// A fresh directory, removed at the end (no tempfile dependency in this crate).
    struct TestDir(PathBuf);

    impl TestDir {
        fn new() -> TestDir {
            let dir = std::env::temp_dir().join(format!("jobdir-test-{}", unique_suffix()));
            fs::create_dir_all(&dir).unwrap();
            TestDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn status(code: FinalCode, message: &str, at: u64) -> FinalStatus {
        FinalStatus {
            code,
            message: message.into(),
            finished_at_ms: at,
        }
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect()
    }

    #[test]
    fn first_final_status_wins() {
        let dir = TestDir::new();
        let ok = status(FinalCode::Succeeded, "", 1);
        let failed = status(FinalCode::Failed, "late", 2);
        assert_eq!(finalize(dir.path(), &ok, false).unwrap(), ok);
        assert_eq!(finalize(dir.path(), &failed, true).unwrap(), ok);
        assert_eq!(read_status(dir.path()).unwrap(), Some(ok));
    }

    /// A client's Cancel and the reaper (or two Cancels) write from threads of one
    /// process: they must not write into each other's temporary file.
    #[test]
    fn concurrent_atomic_writes_never_share_a_temporary_file() {
        let dir = TestDir::new();
        let size = 256 * 1024;
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let dir = dir.path();
                s.spawn(move || {
                    for _ in 0..25 {
                        write_atomic(dir, CANCEL, &vec![b'a' + t; size], false)
                            .expect("a concurrent write failed");
                    }
                });
            }
        });
        let on_disk = fs::read(dir.path().join(CANCEL)).unwrap();
        assert_eq!(on_disk.len(), size, "a torn file");
        assert!(
            on_disk.iter().all(|&b| b == on_disk[0]),
            "writes were interleaved"
        );
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn concurrent_finalizers_all_see_the_first_status() {
        for round in 0..20 {
            let dir = TestDir::new();
            let seen: Vec<FinalStatus> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8u64)
                    .map(|t| {
                        let dir = dir.path();
                        s.spawn(move || {
                            let mine = status(FinalCode::Failed, &"x".repeat(100_000), t);
                            finalize(dir, &mine, false).expect("a concurrent finalize failed")
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let on_disk = read_status(dir.path()).unwrap().unwrap();
            assert!(
                seen.iter().all(|s| *s == on_disk),
                "round {round}: writers disagree on the final status"
            );
            assert_eq!(leftovers(dir.path()), Vec::<String>::new());
        }
    }

    /// With sync, the status's durable copy is the output's last record: a crash that
    /// takes status.json (or leaves it empty) loses nothing, and racing writers leave
    /// one record, the winner's.
    #[test]
    fn a_synced_status_outlives_its_status_json() {
        for round in 0..10 {
            let dir = TestDir::new();
            let rows = format!("{}\n", "r".repeat(50_000));
            fs::write(dir.path().join(OUTPUT), rows.repeat(3)).unwrap();
            let seen: Vec<FinalStatus> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4u64)
                    .map(|t| {
                        let dir = dir.path();
                        s.spawn(move || {
                            let mine = status(FinalCode::Failed, &"y".repeat(10_000), t);
                            finalize(dir, &mine, true).expect("a concurrent finalize failed")
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let output = fs::read(dir.path().join(OUTPUT)).unwrap();
            let ends = output
                .split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"SQLFLOW/1 "))
                .count();
            assert_eq!(ends, 1, "round {round}: one end record");
            let first = seen[0].clone();
            assert!(seen.iter().all(|s| *s == first), "round {round}");
            assert_eq!(read_status(dir.path()).unwrap(), Some(first.clone()));

            // The crash took status.json: the record answers, and a late writer loses.
            fs::remove_file(dir.path().join(STATUS)).unwrap();
            assert_eq!(final_status(dir.path()).unwrap(), Some(first.clone()));
            let late = status(FinalCode::Succeeded, "late", 99);
            assert_eq!(finalize(dir.path(), &late, true).unwrap(), first);
            assert_eq!(read_status(dir.path()).unwrap(), Some(first.clone()));

            // Or left it empty.
            fs::write(dir.path().join(STATUS), b"").unwrap();
            assert_eq!(final_status(dir.path()).unwrap(), Some(first.clone()));
            assert_eq!(leftovers(dir.path()), Vec::<String>::new());
        }
    }

    #[test]
    fn output_that_does_not_end_with_a_record_has_no_status() {
        let dir = TestDir::new();
        assert_eq!(final_status(dir.path()).unwrap(), None);
        fs::write(dir.path().join(OUTPUT), b"a row\nhalf a li").unwrap();
        assert_eq!(final_status(dir.path()).unwrap(), None);
        fs::write(dir.path().join(STATUS), b"{").unwrap();
        assert_eq!(
            final_status(dir.path()).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn publish_once_keeps_the_first_writer() {
        let dir = TestDir::new();
        let wins: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u8)
                .map(|t| {
                    let dir = dir.path();
                    s.spawn(move || publish_once(dir, CANCEL, &[b'a' + t; 4096], true).unwrap())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(wins, 1);
        let on_disk = fs::read(dir.path().join(CANCEL)).unwrap();
        assert!(on_disk.len() == 4096 && on_disk.iter().all(|&b| b == on_disk[0]));
    }

    #[test]
    fn the_reservation_becomes_the_status() {
        let dir = TestDir::new();
        reserve_status(dir.path()).unwrap();
        let done = status(FinalCode::Failed, "disk full", 7);
        assert_eq!(finalize(dir.path(), &done, true).unwrap(), done);
        assert!(!dir.path().join(STATUS_RESERVE).exists());
        assert_eq!(read_status(dir.path()).unwrap(), Some(done));
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_status_that_does_not_parse_is_replaced() {
        let dir = TestDir::new();
        fs::write(dir.path().join(STATUS), b"").unwrap();
        let done = status(FinalCode::Succeeded, "", 3);
        assert_eq!(finalize(dir.path(), &done, false).unwrap(), done);
        assert_eq!(read_status(dir.path()).unwrap(), Some(done));
    }

    #[test]
    fn a_shortened_status_fits_its_room() {
        let long = status(FinalCode::Failed, &"é\n".repeat(50_000), 9);
        let json = status_json_within(&long, STATUS_RESERVE_BYTES).unwrap();
        assert!(json.len() <= STATUS_RESERVE_BYTES);
        let back: FinalStatus = serde_json::from_slice(&json).unwrap();
        assert_eq!((back.code, back.finished_at_ms), (FinalCode::Failed, 9));
        assert!(back.message.starts_with("é\n"));
    }

    #[test]
    fn job_json_from_before_the_new_fields_gets_safe_defaults() {
        let input: StepInput = serde_json::from_str(
            r#"{"program":"SELECT 1","session":{"db_conn_str":"sqlite://x.db",
                "limits":{"memory_mb":0,"cpu_seconds":0,"wall_seconds":0,"output_mb":1024}}}"#,
        )
        .unwrap();
        assert!(input.session.sync_writes);
        assert_eq!(input.session.limits.record_kb, DEFAULT_RECORD_KB);
        assert_eq!(input.session.limits.max_record_bytes(), 1 << 20);
    }

    #[test]
    fn this_process_is_alive_by_its_identity() {
        let dir = TestDir::new();
        let me = ProcessIdentity {
            pid: std::process::id() as i32,
            pgid: nix_free_getpgrp(),
            start_ticks: own_start_ticks(),
        };
        fs::write(dir.path().join(PROCESS), serde_json::to_vec(&me).unwrap()).unwrap();
        assert!(identity_alive(dir.path()).unwrap());
        // A recorded start after ours: a process that reused the ids, not the job.
        let later = ProcessIdentity {
            start_ticks: me.start_ticks + 1_000_000_000,
            ..me
        };
        fs::write(
            dir.path().join(PROCESS),
            serde_json::to_vec(&later).unwrap(),
        )
        .unwrap();
        assert!(!identity_alive(dir.path()).unwrap());
    }

    fn nix_free_getpgrp() -> i32 {
        proc_stat(std::process::id() as i32).unwrap().pgrp
    }
}
