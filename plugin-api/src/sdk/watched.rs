//! The waker registry: a job's state and the long-polls waiting for it to change, under
//! one lock.
//!
//! The contract of [`Runner::fetch`](super::Runner::fetch) is: when a snapshot holds
//! nothing new, keep the waker and wake it once when the job changes. If the snapshot and
//! the registration took the lock separately, a change landing between them would wake
//! nobody and the client would wait out its whole `wait_ms`: [`Watched::snapshot`] takes
//! the snapshot and registers the waker in one critical section, and [`Watched::update`]
//! changes the state and takes the waiters in another.

use std::{
    sync::{Condvar, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use super::Waker;

/// A job's state `S` with the wakers of the fetches waiting for it to change.
pub struct Watched<S> {
    inner: Mutex<Inner<S>>,
    /// For threads that block until a change (a cancel waiting for the end).
    changed: Condvar,
}

struct Inner<S> {
    state: S,
    waiting: Vec<Waker>,
}

impl<S: Default> Default for Watched<S> {
    fn default() -> Self {
        Watched::new(S::default())
    }
}

impl<S> Watched<S> {
    /// Starts watching `state`.
    pub fn new(state: S) -> Self {
        Watched {
            inner: Mutex::new(Inner {
                state,
                waiting: Vec::new(),
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        // A panic while the lock was held (caught by the SDK's guard) leaves a state that is
        // still the last one written: keep serving it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&self.lock().state)
    }

    /// A fetch's snapshot: `f` reads the state and says whether the snapshot holds
    /// nothing new (no responses, and the cursor it returns equals the request's). Then,
    /// and only then, `waker` is kept until the next [`update`](Self::update), in the same
    /// critical section as the read.
    pub fn snapshot<R>(&self, waker: Option<Waker>, f: impl FnOnce(&S) -> (R, bool)) -> R {
        let mut inner = self.lock();
        let (result, nothing_new) = f(&inner.state);
        if nothing_new && let Some(waker) = waker {
            // Wakers of fetches that gave up would otherwise pile up on a quiet job.
            inner.waiting.retain(|w| !w.is_stale());
            inner.waiting.push(waker);
        }
        result
    }

    /// Changes the state and wakes every waiting fetch (and thread).
    pub fn update<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let mut inner = self.lock();
        let result = f(&mut inner.state);
        let waiting = std::mem::take(&mut inner.waiting);
        drop(inner);
        self.changed.notify_all();
        // Outside the lock: a waker calls into the host.
        for w in waiting {
            w.wake();
        }
        result
    }

    /// Whether any fetch waits; a runner that must poll for changes (output written by
    /// another process) only needs to while one does.
    pub fn has_waiters(&self) -> bool {
        !self.lock().waiting.is_empty()
    }

    /// Blocks the calling thread until `done` holds for the state or `within` passes;
    /// returns whether it holds. For entry points that must answer after a change (Cancel
    /// waiting for the job's end); they run on the host's blocking pool, never on async
    /// workers.
    pub fn wait_until(&self, within: Duration, done: impl Fn(&S) -> bool) -> bool {
        let deadline = Instant::now() + within;
        let mut inner = self.lock();
        loop {
            if done(&inner.state) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            inner = self
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use abi_stable::sabi_trait::TD_Opaque;

    use super::*;
    use crate::{FetchWakerBox, abi::FetchWaker};

    #[derive(Clone, Default)]
    struct Count(Arc<AtomicU32>);

    impl FetchWaker for Count {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn is_stale(&self) -> bool {
            false
        }
    }

    fn waker(c: &Count) -> Waker {
        Waker(FetchWakerBox::from_value(c.clone(), TD_Opaque))
    }

    #[test]
    fn a_waker_is_kept_only_when_nothing_is_new_and_woken_once_by_a_change() {
        let w = Watched::new(0u32);
        let (kept, dropped) = (Count::default(), Count::default());
        w.snapshot(Some(waker(&kept)), |s| (*s, true));
        w.snapshot(Some(waker(&dropped)), |s| (*s, false));
        assert!(w.has_waiters());
        w.update(|s| *s += 1);
        w.update(|s| *s += 1);
        assert_eq!(kept.0.load(Ordering::SeqCst), 1);
        assert_eq!(dropped.0.load(Ordering::SeqCst), 0);
        assert!(!w.has_waiters());
    }

    #[test]
    fn a_blocked_thread_sees_the_change() {
        let w = Arc::new(Watched::new(false));
        let w2 = w.clone();
        let t = std::thread::spawn(move || w2.wait_until(Duration::from_secs(10), |done| *done));
        std::thread::sleep(Duration::from_millis(20));
        w.update(|s| *s = true);
        assert!(t.join().unwrap());
        assert!(!Watched::new(false).wait_until(Duration::from_millis(10), |d| *d));
    }
}
