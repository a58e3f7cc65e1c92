//! One job: its directory, its in-memory state, and the task that watches its process.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sqlflow_plugin_api::sdk::Waker;
use sqlflow_proto::jobdir::{self, FinalCode, FinalStatus};
use tokio::{process::Child, sync::watch};

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
    Pending,
    Running,
    Done(FinalStatus),
}

impl Phase {
    pub fn is_done(&self) -> bool {
        matches!(self, Phase::Done(_))
    }
}

pub struct Job {
    pub id: String,
    pub dir: PathBuf,
    pub meta: Meta,
    phase: watch::Sender<Phase>,
    wakers: Mutex<Wakers>,
}

#[derive(Default)]
struct Wakers {
    waiting: Vec<Waker>,
    /// Output length when the wakers were registered.
    seen_len: u64,
}

impl Job {
    pub fn new(id: String, dir: PathBuf, meta: Meta, phase: Phase) -> Arc<Job> {
        Arc::new(Job {
            id,
            dir,
            meta,
            phase: watch::Sender::new(phase),
            wakers: Mutex::new(Wakers::default()),
        })
    }

    pub fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    pub fn output_path(&self) -> PathBuf {
        self.dir.join(jobdir::OUTPUT)
    }

    fn wakers(&self) -> MutexGuard<'_, Wakers> {
        // A poisoned lock only means a waker call panicked; the list is still usable.
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.send_replace(phase);
        self.wake_all();
    }

    /// Keeps a waker until the job changes. `seen_len` is the output length the caller
    /// saw, so a change that happened since is noticed at the next poll.
    pub fn add_waker(&self, waker: Waker, seen_len: u64) {
        let mut w = self.wakers();
        w.waiting.retain(|w| !w.is_stale());
        if w.waiting.is_empty() {
            w.seen_len = seen_len;
        }
        w.waiting.push(waker);
        drop(w);
        // The phase may have changed between the caller's snapshot and registration.
        if self.phase.borrow().is_done() {
            self.wake_all();
        }
    }

    fn wake_all(&self) {
        let waiting = std::mem::take(&mut self.wakers().waiting);
        for w in waiting {
            w.wake();
        }
    }

    /// Wakes waiting fetches if the output grew.
    fn poll_output(&self) {
        let mut w = self.wakers();
        if w.waiting.is_empty() {
            return;
        }
        let len = fs::metadata(self.output_path())
            .map(|m| m.len())
            .unwrap_or(0);
        if len != w.seen_len {
            w.seen_len = len;
            let waiting = std::mem::take(&mut w.waiting);
            drop(w);
            for waker in waiting {
                waker.wake();
            }
        }
    }
}

/// Follows a job until it ends and makes sure it has a final status.
/// `child` is the step process when this runner started it.
pub async fn watch(job: Arc<Job>, child: Option<Child>, sync: bool) {
    if let Some(mut child) = child {
        let mut tick = tokio::time::interval(OUTPUT_POLL);
        loop {
            tokio::select! {
                _ = child.wait() => break,
                _ = tick.tick() => job.poll_output(),
            }
        }
    }
    // A worker can outlive its supervisor, and a re-attached job is not our child:
    // the lock tells whether any of its processes is still alive.
    let mut tick = tokio::time::interval(LIVENESS_POLL);
    loop {
        if matches!(jobdir::read_status(&job.dir), Ok(Some(_))) {
            break;
        }
        match jobdir::is_alive(&job.dir) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                tracing::warn!(job_id = %job.id, "cannot test whether the job is alive: {e}");
            }
        }
        tick.tick().await;
        job.poll_output();
    }
    let status = observe_end(&job.dir, sync);
    tracing::info!(job_id = %job.id, code = ?status.code, "job finished");
    job.set_phase(Phase::Done(status));
}

/// The final status of a job none of whose processes is alive, writing one if the job
/// died without it.
pub fn observe_end(dir: &Path, sync: bool) -> FinalStatus {
    if let Ok(Some(status)) = jobdir::read_status(dir) {
        return status;
    }
    let (code, message) = match fs::read_to_string(dir.join(jobdir::CANCEL)) {
        Ok(reason) => (FinalCode::Cancelled, reason),
        Err(_) => {
            let mut m = "the job's processes ended without reporting a result".to_string();
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
        finished_at_ms: jobdir::now_ms(),
    };
    jobdir::finalize(dir, &status, sync).unwrap_or(status)
}
