//! Periodic work: cancelling abandoned jobs, archiving finished ones, removing expired
//! ones.

use super::*;
use crate::archive::Entry;

/// Jobs archived per transaction: one flush for many, and a bounded pause for the
/// Fetches of archived jobs that wait for the writer.
const ARCHIVE_BATCH: usize = 1000;

/// How long an archived job's directory outlives its leaving the table, for the Fetch
/// that found it there just before. A Fetch of a finished job reads one page and returns.
const GRAVE_MS: u64 = 10_000;

/// How often abandoned jobs are looked for.
const REAP_EVERY: Duration = Duration::from_secs(1);

/// How often expired jobs are removed.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

impl Registry {
    /// Periodic work: cancelling abandoned jobs, removing expired ones.
    pub fn spawn_housekeeping(self: &Arc<Self>) {
        let this = self.clone();
        self.rt.spawn(async move {
            let mut tick = tokio::time::interval(REAP_EVERY);
            let mut since_sweep = Duration::ZERO;
            loop {
                tick.tick().await;
                this.reap_abandoned();
                this.retry_unrecorded().await;
                let archiver = this.clone();
                let _ = tokio::task::spawn_blocking(move || archiver.archive_finished()).await;
                since_sweep += REAP_EVERY;
                // Short retention periods (tests) are swept about as often as they expire.
                let every = SWEEP_EVERY.min(Duration::from_secs(this.cfg.retention_seconds));
                if since_sweep >= every {
                    since_sweep = Duration::ZERO;
                    let sweeper = this.clone();
                    let _ = tokio::task::spawn_blocking(move || sweeper.sweep_expired()).await;
                }
            }
        });
    }

    pub(super) fn reap_abandoned(self: &Arc<Self>) {
        let now = jobdir::now_ms();
        let abandoned: Vec<Arc<Job>> = self
            .jobs
            .all()
            .into_iter()
            .filter(|j| j.abandoned(now))
            .collect();
        for job in abandoned {
            let reason = job.abandoned_reason();
            tracing::warn!(job_id = %job.id, "{reason}");
            if let Err(e) = self.request_cancel(&job, &reason) {
                tracing::error!(job_id = %job.id, "cannot cancel an abandoned job: {e}");
            }
        }
    }

    /// Moves jobs that finished `archive_after_seconds` ago from their directories into
    /// the archive, a batch per transaction; removes the directories of jobs archived
    /// earlier once no Fetch can still be reading them.
    pub fn archive_finished(&self) {
        let now = jobdir::now_ms();
        let horizon = now.saturating_sub(self.cfg.archive_after_seconds.saturating_mul(1000));
        // A recorded job's phase is its status on disk (one not yet recorded, whose
        // phase carries a note saying so, waits until it is).
        let due: Vec<(Arc<Job>, FinalStatus)> = {
            let refused = self.unarchivable.lock().unwrap_or_else(|p| p.into_inner());
            self.jobs
                .all()
                .into_iter()
                .filter(|j| !j.is_unrecorded() && !refused.contains(&j.id))
                .filter_map(|j| match j.phase() {
                    Phase::Done(s) if s.finished_at_ms <= horizon => Some((j, s)),
                    _ => None,
                })
                .collect()
        };
        for batch in due.chunks(ARCHIVE_BATCH) {
            let mut entries = Vec::with_capacity(batch.len());
            for (job, status) in batch {
                match Entry::from_dir(&self.archive, &job.id, &job.dir, &job.meta, status) {
                    Ok(e) => entries.push(e),
                    Err(e) => {
                        tracing::warn!(
                            job_id = %job.id,
                            "cannot archive the finished job; it keeps its directory until retention: {e}"
                        );
                        self.unarchivable
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(job.id.clone());
                    }
                }
            }
            if let Err(e) = self.archive.put(&entries) {
                // Nothing is lost: the directories stay the record, and the next tick
                // tries again.
                tracing::warn!("cannot archive {} finished jobs: {e}", entries.len());
                return;
            }
            let left = jobdir::now_ms();
            let mut grave = self.graveyard.lock().unwrap_or_else(|p| p.into_inner());
            for e in &entries {
                if let Some(job) = self.jobs.remove(&e.id) {
                    grave.push((job.dir.clone(), left));
                }
            }
            tracing::debug!("archived {} finished jobs", entries.len());
        }
        let buried: Vec<PathBuf> = {
            let mut grave = self.graveyard.lock().unwrap_or_else(|p| p.into_inner());
            let (old, young): (Vec<_>, Vec<_>) = grave
                .drain(..)
                .partition(|(_, left)| left.saturating_add(GRAVE_MS) <= now);
            *grave = young;
            old.into_iter().map(|(dir, _)| dir).collect()
        };
        for dir in buried {
            if let Err(e) = fs::remove_dir_all(&dir) {
                tracing::warn!(
                    "cannot remove the directory of archived {}: {e}",
                    dir.display()
                );
            }
        }
    }

    /// Removes finished jobs older than the retention period, records and output.
    pub fn sweep_expired(&self) {
        let horizon = jobdir::now_ms().saturating_sub(self.cfg.retention_seconds * 1000);
        match self.archive.expire(horizon) {
            Ok(0) => {}
            Ok(n) => tracing::info!("removed {n} archived jobs after the retention period"),
            Err(e) => tracing::warn!("cannot remove expired archived jobs: {e}"),
        }
        let expired: Vec<Arc<Job>> = self
            .jobs
            .all()
            .into_iter()
            .filter(|j| matches!(j.phase(), Phase::Done(s) if s.finished_at_ms < horizon))
            .filter_map(|j| self.jobs.remove(&j.id))
            .collect();
        {
            let mut refused = self.unarchivable.lock().unwrap_or_else(|p| p.into_inner());
            for job in &expired {
                refused.remove(&job.id);
            }
        }
        for job in expired {
            match fs::remove_dir_all(&job.dir) {
                Ok(()) => tracing::info!(job_id = %job.id, "removed after the retention period"),
                Err(e) => tracing::warn!(job_id = %job.id, "cannot remove an expired job: {e}"),
            }
        }
    }
}
