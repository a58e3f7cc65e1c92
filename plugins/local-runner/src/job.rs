//! One job: its directory, its in-memory state, and the task that watches its process.

use std::{
    fs,
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::ExitStatus,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};
use sqlflow_jobdir::{self as jobdir, FinalCode, FinalStatus, FinalizeError};
use sqlflow_plugin_api::sdk::{Lease, TableJob, Waker, Watched};
use sqlflow_proto::sqlflow::{JobInfo, JobStatus, job_status::Code};

use crate::zygote::Supervisor;

/// How often a job with a waiting Fetch is checked for new output.
const OUTPUT_POLL: Duration = Duration::from_millis(50);
/// How often a job whose process is not our child is checked for life.
const LIVENESS_POLL: Duration = Duration::from_millis(200);

/// What the runner records about a job at submission. Never holds secrets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    pub user_id: String,
    pub submitted_at_ms: u64,
    #[serde(default)]
    pub request_id: String,
    /// The abandonment timeout T in seconds (0: never abandoned).
    #[serde(default)]
    pub timeout_seconds: u32,
    #[serde(default)]
    pub exit_on_submit: bool,
    /// The first line of the program, shortened.
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, waiting for a slot (or for its process to start).
    Pending,
    Running,
    Done(FinalStatus),
}

impl Phase {
    pub fn is_done(&self) -> bool {
        matches!(self, Phase::Done(_))
    }

    pub fn code(&self) -> Code {
        match self {
            Phase::Pending => Code::Pending,
            Phase::Running => Code::Running,
            Phase::Done(s) => status_code(s.code),
        }
    }

    pub fn status(&self) -> JobStatus {
        let message = match self {
            Phase::Pending => "waiting for a free slot".to_string(),
            Phase::Running => String::new(),
            Phase::Done(s) => s.message.clone(),
        };
        JobStatus {
            code: self.code() as i32,
            message,
        }
    }
}

/// A final status's code as the protocol says it.
pub fn status_code(code: FinalCode) -> Code {
    match code {
        FinalCode::Succeeded => Code::Succeeded,
        FinalCode::Failed => Code::Failed,
        FinalCode::Cancelled => Code::Cancelled,
    }
}

pub struct Job {
    pub id: String,
    pub dir: PathBuf,
    pub meta: Meta,
    /// The phase and the output's length, with the fetches waiting for either to change.
    state: Watched<State>,
    /// The abandonment lease, also kept on disk (job.json's mtime) to survive a restart.
    lease: Lease,
    /// A final status known in memory but not yet on disk (the disk was full, say),
    /// which the registry keeps trying to record.
    unrecorded: Mutex<Option<FinalStatus>>,
}

/// A final status that could not be recorded, and why.
#[derive(Debug)]
pub struct Unrecorded {
    pub status: FinalStatus,
    pub error: FinalizeError,
}

/// What a waiting fetch waits to change.
pub struct State {
    pub phase: Phase,
    /// The output file's length when the watcher last looked: the output is written by the
    /// job's process, so growth is noticed by polling while a fetch waits.
    output_len: u64,
}

impl Job {
    pub fn new(id: String, dir: PathBuf, meta: Meta, phase: Phase, last_fetch_ms: u64) -> Arc<Job> {
        let lease = Lease::new(meta.timeout_seconds, meta.exit_on_submit, last_fetch_ms);
        Arc::new(Job {
            id,
            dir,
            meta,
            state: Watched::new(State {
                phase,
                output_len: 0,
            }),
            lease,
            unrecorded: Mutex::new(None),
        })
    }

    /// Ends the job. A status that could not be recorded ends it in memory only, with
    /// the reason in its message (so the client learns why a restart may report the
    /// job differently), until [`Job::retry_record`] succeeds.
    pub fn end(&self, outcome: Result<FinalStatus, Unrecorded>) {
        match outcome {
            Ok(status) => self.set_phase(Phase::Done(status)),
            Err(Unrecorded { status, error }) => {
                tracing::error!(
                    job_id = %self.id,
                    "cannot record the final status in {} (retrying every second): {error}",
                    self.dir.display()
                );
                let mut shown = status.clone();
                shown.message.push_str(&unrecorded_note(&error));
                *self.unrecorded_slot() = Some(status);
                self.set_phase(Phase::Done(shown));
            }
        }
    }

    fn unrecorded_slot(&self) -> MutexGuard<'_, Option<FinalStatus>> {
        self.unrecorded.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_unrecorded(&self) -> bool {
        self.unrecorded_slot().is_some()
    }

    /// Tries again to record a final status that could not be; true once it is on disk.
    pub fn retry_record(&self, sync: bool) -> bool {
        let Some(status) = self.unrecorded_slot().clone() else {
            return true;
        };
        match jobdir::finalize(&self.dir, &status, sync) {
            Ok(recorded) => {
                *self.unrecorded_slot() = None;
                tracing::info!(job_id = %self.id, "recorded the final status after all");
                // The same code, so clients' cursors stay valid; the note is gone.
                self.set_phase(Phase::Done(recorded));
                true
            }
            Err(e) => {
                tracing::debug!(job_id = %self.id, "still cannot record the final status: {e}");
                false
            }
        }
    }

    pub fn phase(&self) -> Phase {
        self.state.read(|s| s.phase.clone())
    }

    /// Waits (blocking the thread) until the job has ended or `within` passes.
    pub fn wait_done(&self, within: Duration) -> bool {
        self.state.wait_until(within, |s| s.phase.is_done())
    }

    /// A Fetch's snapshot, taken with the phase locked: `f` reads the output for the phase
    /// and says whether nothing is new, and then `waker` waits for the next change.
    pub fn snapshot<R>(&self, waker: Option<Waker>, f: impl FnOnce(&Phase) -> (R, bool)) -> R {
        self.state.snapshot(waker, |s| f(&s.phase))
    }

    pub fn output_path(&self) -> PathBuf {
        self.dir.join(jobdir::OUTPUT)
    }

    pub fn set_phase(&self, phase: Phase) {
        self.state.update(|s| s.phase = phase);
    }

    /// Wakes waiting fetches if the output grew since the last look. A fetch that
    /// registered after reading a longer output than `output_len` is woken at once
    /// (harmlessly: it fetches again); one that read the same is woken by the next growth.
    fn poll_output(&self) {
        if !self.state.has_waiters() {
            return;
        }
        let len = fs::metadata(self.output_path())
            .map(|m| m.len())
            .unwrap_or(0);
        if self.state.read(|s| s.output_len) != len {
            self.state.update(|s| s.output_len = len);
        }
    }

    /// A client fetched: renew the abandonment lease, on disk too (job.json's mtime, at
    /// most once a second) so it survives a restart.
    pub fn renew_lease(&self, now_ms: u64) {
        if self.lease.renew(now_ms)
            && let Ok(f) = fs::File::options()
                .write(true)
                .open(self.dir.join(jobdir::JOB))
        {
            let _ = f.set_modified(SystemTime::now());
        }
    }

    /// Whether the abandonment timeout has expired at `now_ms`.
    pub fn abandoned(&self, now_ms: u64) -> bool {
        !self.phase().is_done() && self.lease.expired(now_ms)
    }

    /// The status an abandoned job is cancelled with.
    pub fn abandoned_reason(&self) -> String {
        self.lease.reason()
    }
}

impl TableJob for Job {
    fn owner(&self) -> &str {
        &self.meta.user_id
    }

    fn request_id(&self) -> &str {
        &self.meta.request_id
    }

    fn info(&self) -> JobInfo {
        let phase = self.phase();
        JobInfo {
            job_id: self.id.clone(),
            status: Some(phase.status()),
            submitted_at_ms: self.meta.submitted_at_ms as i64,
            finished_at_ms: match &phase {
                Phase::Done(s) => s.finished_at_ms as i64,
                _ => 0,
            },
            summary: self.meta.summary.clone(),
            request_id: self.meta.request_id.clone(),
        }
    }
}

/// The lease on disk: job.json's modification time (ms since the epoch).
pub fn lease_on_disk(dir: &Path) -> Option<u64> {
    let modified = fs::metadata(dir.join(jobdir::JOB)).ok()?.modified().ok()?;
    Some(
        modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_millis() as u64,
    )
}

/// Follows a job until it ends and makes sure it has a final status.
/// `child` is the step process when this runner started it.
pub async fn watch(job: Arc<Job>, child: Option<Supervisor>, sync: bool) {
    let mut supervisor_exit = None;
    if let Some(mut child) = child {
        let mut tick = tokio::time::interval(OUTPUT_POLL);
        loop {
            tokio::select! {
                status = child.wait() => {
                    supervisor_exit = status;
                    break;
                }
                _ = tick.tick() => job.poll_output(),
            }
        }
    }
    // A worker can outlive its supervisor, and a re-attached job is not our child:
    // the lock tells whether any of its processes is still alive.
    let mut tick = tokio::time::interval(LIVENESS_POLL);
    let mut warned = false;
    loop {
        if matches!(jobdir::read_status(&job.dir), Ok(Some(_))) {
            break;
        }
        match jobdir::liveness(&job.dir) {
            Ok(true) => {}
            Ok(false) => break,
            // Unknown is not dead: the job stays running until it can be told.
            Err(e) if !warned => {
                warned = true;
                tracing::warn!(job_id = %job.id, "cannot test whether the job is alive: {e}");
            }
            Err(_) => {}
        }
        tick.tick().await;
        job.poll_output();
    }
    let outcome = observe_end(&job.dir, supervisor_exit, sync, jobdir::now_ms());
    let code = match &outcome {
        Ok(s) => s.code,
        Err(u) => u.status.code,
    };
    tracing::info!(job_id = %job.id, ?code, "job finished");
    job.end(outcome);
}

/// The final status of a job none of whose processes is alive, writing one if the job
/// died without it (finished at `finished_at_ms`). `supervisor` is how its step process
/// ended, when we saw it.
pub fn observe_end(
    dir: &Path,
    supervisor: Option<ExitStatus>,
    sync: bool,
    finished_at_ms: u64,
) -> Result<FinalStatus, Unrecorded> {
    if let Ok(Some(status)) = jobdir::final_status(dir) {
        return Ok(status);
    }
    let (code, message) = match jobdir::read_cancel(dir) {
        Some(reason) => (FinalCode::Cancelled, reason),
        None => {
            let mut m = match supervisor.and_then(|s| s.signal()) {
                Some(sig) => format!(
                    "the job's processes were killed (its step process by signal {sig}{})",
                    signal_name(sig)
                ),
                None => "the job's processes ended without reporting a result".to_string(),
            };
            let tail = jobdir::stderr_tail(dir);
            if !tail.is_empty() {
                m.push_str("; their last output on stderr:\n");
                m.push_str(&tail);
            }
            (FinalCode::Failed, m)
        }
    };
    let status = FinalStatus {
        code,
        message,
        finished_at_ms,
    };
    jobdir::finalize(dir, &status, sync).map_err(|error| Unrecorded { status, error })
}

/// When a job found dead after a restart ended: its last write (output, stderr, the
/// process record, the cancel), not the moment it was noticed.
pub fn ended_at_ms(dir: &Path) -> u64 {
    [
        jobdir::OUTPUT,
        jobdir::STDERR,
        jobdir::PROCESS,
        jobdir::CANCEL,
    ]
    .iter()
    .filter_map(|name| fs::metadata(dir.join(name)).ok()?.modified().ok())
    .filter_map(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
    .map(|d| d.as_millis() as u64)
    .max()
    .unwrap_or_else(jobdir::now_ms)
}

/// What a client reads after the message of a status that is not on disk yet.
fn unrecorded_note(error: &FinalizeError) -> String {
    let cause = if error.is_no_space() {
        "no space left on device in the work directory".to_string()
    } else {
        error.to_string()
    };
    format!(
        "; this final status could not be written to disk yet ({cause}); the server keeps trying"
    )
}

fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| format!(", {}", s.as_str()))
        .unwrap_or_default()
}
