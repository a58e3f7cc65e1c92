//! Recovery after a (re)start: rebuilding the registry from the work dir, and
//! quarantining job directories that cannot be read.

use super::{process::kill_group, *};

/// Reads at start-up are retried this many times before their error counts: a
/// transient one (out of file descriptors, an interrupted call) must not turn a live
/// job into a failed one or a readable job into a quarantined one.
const STARTUP_ATTEMPTS: u32 = 5;

/// How long a killed orphan's processes get to be gone before its quarantined
/// directory is given a final status anyway.
const ORPHAN_EXIT_WAIT: Duration = Duration::from_secs(30);

impl Registry {
    /// Rebuilds the registry from the work dir after a (re)start.
    pub fn recover(self: &Arc<Self>) {
        let entries = match fs::read_dir(&self.work_dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("cannot scan {}: {e}", self.work_dir.display());
                return;
            }
        };
        let sync = self.cfg.sync_writes;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path();
            if name.starts_with(".new-") {
                // A job whose creation was interrupted: never acknowledged to anyone.
                let _ = fs::remove_dir_all(&dir);
                continue;
            }
            if !valid_job_id(&name) {
                continue;
            }
            if matches!(self.archive.contains(&name), Ok(true)) {
                // Archived just before the stop, its directory not yet removed; no Fetch
                // can be reading it now.
                if let Err(e) = fs::remove_dir_all(&dir) {
                    tracing::warn!(job_id = %name, "cannot remove the directory of an archived job: {e}");
                }
                continue;
            }
            match with_retries(|| read_meta(&dir)) {
                Ok(meta) => found.push((name, dir, meta)),
                Err(e) => {
                    self.quarantine(&name, &dir, &format!("its job.json cannot be read: {e}"))
                }
            }
        }
        let mut recovered = Vec::new();
        for (name, dir, meta) in found {
            let lease = job::lease_on_disk(&dir).unwrap_or(meta.submitted_at_ms);
            let status = match with_retries(|| jobdir::final_status(&dir)) {
                Ok(status) => status,
                Err(e) => {
                    // Unreadable is not final: decide by liveness; finalizing replaces a
                    // status.json that does not parse.
                    tracing::warn!(job_id = %name, "ignoring an unreadable status.json: {e}");
                    None
                }
            };
            let state = match status {
                Some(status) => Recovered::Done(Ok(status)),
                None => match with_retries(|| jobdir::liveness(&dir)) {
                    Ok(true) => Recovered::Running,
                    Ok(false)
                        if dir.join(jobdir::PROCESS).exists()
                            || dir.join(jobdir::CANCEL).exists() =>
                    {
                        let outcome = job::observe_end(&dir, None, sync, job::ended_at_ms(&dir));
                        tracing::warn!(job_id = %name, "a job ended while the server was away");
                        Recovered::Done(outcome)
                    }
                    Ok(false) => Recovered::Pending,
                    Err(e) => {
                        // Marking it failed could orphan a live process; following it as
                        // running only waits until its liveness can be told.
                        tracing::warn!(
                            job_id = %name,
                            "cannot tell whether the job is alive ({e}); following it as running"
                        );
                        Recovered::Running
                    }
                },
            };
            recovered.push((name, dir, meta, lease, state));
        }
        let mut pending = Vec::new();
        let mut st = self.state();
        for (name, dir, meta, lease, state) in recovered {
            let initial = match &state {
                Recovered::Running => Phase::Running,
                _ => Phase::Pending,
            };
            let job = Job::new(name.clone(), dir, meta, initial, lease);
            match state {
                Recovered::Running => {
                    tracing::info!(job_id = %name, "re-attached to a running job");
                    st.sched.adopt(&job.meta.user_id);
                    let this = self.clone();
                    let j = job.clone();
                    self.rt.spawn(async move {
                        job::watch(j.clone(), None, sync).await;
                        this.job_ended(&j);
                    });
                }
                Recovered::Pending => pending.push(job.clone()),
                Recovered::Done(outcome) => job.end(outcome),
            }
            self.jobs.insert(name, job);
        }
        // Accepted before the restart but never started: queue them in submission order.
        pending.sort_by_key(|j| j.meta.submitted_at_ms);
        for job in pending {
            tracing::info!(job_id = %job.id, "queueing a job accepted before the restart");
            st.sched.enqueue(&job.meta.user_id, job.id.clone());
        }
        drop(st);
        self.count_quarantined();
        self.dispatch();
    }

    /// Moves a job directory whose job.json cannot be read out of the way, into
    /// [`QUARANTINE`], stopping its processes first if any still run: a job nobody can
    /// fetch or cancel would otherwise hold its database and CPU for good. The operator
    /// finds it by the log line and the stats, and may move it back.
    pub(super) fn quarantine(self: &Arc<Self>, name: &str, dir: &Path, cause: &str) {
        let alive = with_retries(|| jobdir::liveness(dir)).unwrap_or(false);
        let mut stopped = String::new();
        if alive {
            stopped = match kill_group(dir) {
                Ok(()) => "; its processes were still running and were killed".to_string(),
                Err(e) => format!("; its processes are still running and cannot be killed: {e}"),
            };
        }
        let qdir = self.work_dir.join(QUARANTINE);
        let dest = qdir.join(name);
        let moved = fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&qdir)
            .and_then(|()| fs::rename(dir, &dest));
        if let Err(e) = moved {
            tracing::error!(
                job_id = %name,
                "cannot quarantine the unreadable job directory {} ({e}); it is skipped: {cause}{stopped}",
                dir.display()
            );
            return;
        }
        tracing::error!(
            job_id = %name,
            "quarantined the unreadable job directory {} as {}: {cause}{stopped}",
            dir.display(),
            dest.display()
        );
        if alive {
            // Recorded for the operator once its processes are gone.
            let message = format!("stopped by the server at start-up and quarantined: {cause}");
            let sync = self.cfg.sync_writes;
            self.rt.spawn_blocking(move || {
                let deadline = std::time::Instant::now() + ORPHAN_EXIT_WAIT;
                while jobdir::liveness(&dest).unwrap_or(false)
                    && std::time::Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let status = FinalStatus {
                    code: FinalCode::Failed,
                    message,
                    finished_at_ms: jobdir::now_ms(),
                };
                if let Err(e) = jobdir::finalize(&dest, &status, sync) {
                    tracing::warn!(
                        "cannot record the end of quarantined {}: {e}",
                        dest.display()
                    );
                }
            });
        }
    }

    /// Counts the quarantined directories (earlier starts' too) and reminds of them.
    pub(super) fn count_quarantined(&self) {
        let qdir = self.work_dir.join(QUARANTINE);
        // Job directories only: a damaged archive set aside there is reported on its own.
        let n = fs::read_dir(&qdir).map_or(0, |d| {
            d.flatten()
                .filter(|e| valid_job_id(&e.file_name().to_string_lossy()))
                .count() as u64
        });
        self.quarantined.store(n, Ordering::Relaxed);
        if n > 0 {
            tracing::warn!(
                "{n} unreadable job directories are in quarantine in {}: move one back into \
                 the work dir to recover it, or remove it",
                qdir.display()
            );
        }
    }
}

/// What recovery found a job to be.
pub(super) enum Recovered {
    Running,
    Pending,
    Done(Result<FinalStatus, job::Unrecorded>),
}

/// Runs a start-up read again while its error may pass (each pause twice the last).
pub(super) fn with_retries<T>(mut read: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut pause = Duration::from_millis(10);
    let mut attempt = 1;
    loop {
        match read() {
            Err(e) if attempt < STARTUP_ATTEMPTS && is_transient(&e) => {
                std::thread::sleep(pause);
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether reading again may help: not when the error is about the file itself (missing,
/// malformed, of the wrong kind), only when it is about the moment (out of descriptors
/// or memory, interrupted, an I/O error that may pass).
pub(super) fn is_transient(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::IsADirectory
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::PermissionDenied
    )
}
