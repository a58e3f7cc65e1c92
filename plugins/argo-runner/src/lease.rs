//! The abandonment lease: a job nobody fetches for T seconds is cancelled.
//!
//! The lease lives on the Workflow (annotation `sqlflow.org/last-fetch`, ms since the
//! epoch, set at Run), so every replica sees it through its watch. A replica serving
//! Fetches patches it only when it is at least T/4 old, not on every Fetch; the reaper
//! in every replica cancels a job when both the annotation and the replica's own memory
//! of its last Fetch are older than T. A replica serving a job's fetches keeps the
//! annotation younger than T/4 plus the time between two fetches, so no other replica
//! reaps it while a client is still fetching.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use crate::status::WfView;

#[derive(Default)]
pub struct Leases {
    jobs: Mutex<HashMap<String, Local>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Local {
    /// When a client last fetched through this replica.
    fetched_ms: u64,
    /// When this replica last wrote the annotation (or started to).
    patched_ms: u64,
}

/// Milliseconds since the Unix epoch (0 on a clock set before it): what leases and
/// the Run annotation count in.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Never patch more often than this, however small T is.
const MIN_PATCH_INTERVAL_MS: u64 = 250;

impl Leases {
    /// A client fetched `view`'s job at `now_ms`. Returns the lease value to write to
    /// the annotation when it is due.
    pub fn renew(&self, view: &WfView, now_ms: u64) -> Option<u64> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let local = jobs.entry(view.name.clone()).or_default();
        local.fetched_ms = local.fetched_ms.max(now_ms);
        if !reapable(view) {
            return None;
        }
        let interval = (u64::from(view.timeout_seconds) * 1000 / 4).max(MIN_PATCH_INTERVAL_MS);
        let written = view.last_fetch_ms.max(local.patched_ms);
        if now_ms.saturating_sub(written) >= interval {
            local.patched_ms = now_ms;
            Some(now_ms)
        } else {
            None
        }
    }

    /// Whether the job has been abandoned at `now_ms`.
    pub fn expired(&self, view: &WfView, now_ms: u64) -> bool {
        if !reapable(view) || view.is_done() || view.shutdown.is_some() {
            return false;
        }
        let local = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&view.name)
            .copied()
            .unwrap_or_default();
        let last = view
            .last_fetch_ms
            .max(local.fetched_ms)
            .max(view.created_ms);
        now_ms.saturating_sub(last) > u64::from(view.timeout_seconds) * 1000
    }

    /// Forgets jobs that are gone.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|name, _| keep(name));
    }
}

fn reapable(view: &WfView) -> bool {
    view.timeout_seconds > 0 && !view.exit_on_submit
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view(timeout: u32, last_fetch: u64, exit_on_submit: bool) -> WfView {
        WfView::parse(
            &json!({
                "metadata": {"name": "sqlflow-x", "annotations": {
                    "sqlflow.org/statements": "1",
                    "sqlflow.org/timeout-seconds": timeout.to_string(),
                    "sqlflow.org/last-fetch": last_fetch.to_string(),
                    "sqlflow.org/exit-on-submit": exit_on_submit.to_string(),
                }},
                "status": {"phase": "Running"},
            }),
            200,
        )
        .unwrap()
    }

    #[test]
    fn the_annotation_is_patched_at_most_every_quarter_of_t() {
        let l = Leases::default();
        let v = view(40, 1_000, false);
        assert_eq!(l.renew(&v, 5_000), None, "4 s < T/4 = 10 s");
        assert_eq!(l.renew(&v, 11_000), Some(11_000));
        // The watch has not delivered the new annotation yet: still no second patch.
        assert_eq!(l.renew(&v, 12_000), None);
        assert_eq!(l.renew(&v, 20_999), None);
        assert_eq!(l.renew(&v, 21_000), Some(21_000));
        let updated = view(40, 21_000, false);
        assert_eq!(l.renew(&updated, 25_000), None);
    }

    #[test]
    fn expiry_uses_the_newest_of_annotation_and_local_fetches() {
        let l = Leases::default();
        let v = view(10, 1_000, false);
        assert!(!l.expired(&v, 11_000));
        assert!(l.expired(&v, 11_001));
        // Fetched through this replica; the patch has not come back through the watch.
        l.renew(&v, 9_000);
        assert!(!l.expired(&v, 19_000));
        assert!(l.expired(&v, 19_001));
        // Another replica's patch, seen through the watch.
        let other = view(10, 30_000, false);
        assert!(!l.expired(&other, 35_000));
    }

    #[test]
    fn detached_and_untimed_jobs_are_never_reaped() {
        let l = Leases::default();
        assert!(!l.expired(&view(10, 0, true), u64::MAX / 2));
        assert!(!l.expired(&view(0, 0, false), u64::MAX / 2));
        assert_eq!(l.renew(&view(0, 0, false), 1_000_000), None);
        assert_eq!(l.renew(&view(10, 0, true), 1_000_000), None);
    }
}
