//! Periodic work: cancelling abandoned jobs and removing expired ones.

use super::*;

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

    /// Removes finished jobs older than the retention period, records and output.
    pub fn sweep_expired(&self) {
        let horizon = jobdir::now_ms().saturating_sub(self.cfg.retention_seconds * 1000);
        let expired: Vec<Arc<Job>> = self
            .jobs
            .all()
            .into_iter()
            .filter(|j| matches!(j.phase(), Phase::Done(s) if s.finished_at_ms < horizon))
            .filter_map(|j| self.jobs.remove(&j.id))
            .collect();
        for job in expired {
            match fs::remove_dir_all(&job.dir) {
                Ok(()) => tracing::info!(job_id = %job.id, "removed after the retention period"),
                Err(e) => tracing::warn!(job_id = %job.id, "cannot remove an expired job: {e}"),
            }
        }
    }
}
