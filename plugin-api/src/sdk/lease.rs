//! Abandonment: a job whose client stopped fetching for `timeout_seconds` is cancelled,
//! unless it was submitted with `exit_on_submit` (its client left on purpose). Every Fetch
//! renews the lease; a runner sweeps its jobs about once a second and cancels the expired.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime},
};

use sqlflow_proto::sqlflow::Request;

/// How often a runner that keeps leases on disk should write one: often enough to
/// survive a restart within a second's accuracy, rarely enough not to write per Fetch.
pub const PERSIST_EVERY_MS: u64 = 1000;

/// How often to look for abandoned jobs.
pub const REAP_EVERY: Duration = Duration::from_secs(1);

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One job's abandonment lease.
#[derive(Debug)]
pub struct Lease {
    /// 0: never abandoned.
    timeout_ms: u64,
    last_ms: AtomicU64,
    persisted_ms: AtomicU64,
}

impl Lease {
    /// A lease for a job whose Run said `timeout_seconds` (0: none; the host fills in its
    /// default) and `exit_on_submit`, last renewed at `last_ms`.
    pub fn new(timeout_seconds: u32, exit_on_submit: bool, last_ms: u64) -> Lease {
        let timeout_ms = if exit_on_submit {
            0
        } else {
            u64::from(timeout_seconds) * 1000
        };
        Lease {
            timeout_ms,
            last_ms: AtomicU64::new(last_ms),
            persisted_ms: AtomicU64::new(last_ms),
        }
    }

    /// The lease of a job submitted now by `request`.
    pub fn for_request(request: &Request) -> Lease {
        let exit_on_submit = request.session.as_ref().is_some_and(|s| s.exit_on_submit);
        Lease::new(request.timeout_seconds, exit_on_submit, now_ms())
    }

    /// A client fetched at `now_ms`. Returns true at most once per [`PERSIST_EVERY_MS`]:
    /// then a runner that keeps leases on disk (to survive a restart) writes it.
    pub fn renew(&self, now_ms: u64) -> bool {
        self.last_ms.fetch_max(now_ms, Ordering::Relaxed);
        let persisted = self.persisted_ms.load(Ordering::Relaxed);
        now_ms.saturating_sub(persisted) >= PERSIST_EVERY_MS
            && self
                .persisted_ms
                .compare_exchange(persisted, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// When a client last fetched (ms since the epoch).
    pub fn last_ms(&self) -> u64 {
        self.last_ms.load(Ordering::Relaxed)
    }

    /// Whether nobody fetched for longer than the timeout at `now_ms` (never without a
    /// timeout or with `exit_on_submit`). Only a job still running is abandoned: check
    /// that too.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.timeout_ms > 0 && now_ms.saturating_sub(self.last_ms()) > self.timeout_ms
    }

    /// The reason an abandoned job's status gives.
    pub fn reason(&self) -> String {
        format!(
            "abandoned: no client fetched this job for {} s (its timeout_seconds)",
            self.timeout_ms / 1000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_the_timeout_unless_renewed_or_exit_on_submit() {
        let l = Lease::new(2, false, 10_000);
        assert!(!l.expired(12_000));
        assert!(l.expired(12_001));
        assert!(l.renew(12_001), "a second after the last write: persist");
        assert!(!l.renew(12_500), "within a second: do not");
        assert!(!l.expired(14_000));
        assert!(!Lease::new(2, true, 0).expired(u64::MAX));
        assert!(!Lease::new(0, false, 0).expired(u64::MAX));
        assert!(l.reason().contains("2 s"));
    }
}
