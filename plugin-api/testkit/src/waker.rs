//! A long-poll waker the kit can wait on without an async runtime.

use std::{
    sync::{Arc, Condvar, Mutex, PoisonError},
    time::{Duration, Instant},
};

use sqlflow_plugin_api::{FetchWakerBox, abi::FetchWaker};

/// Counts wake-ups; the runner holds one clone (boxed), the kit another.
#[derive(Clone, Default)]
pub(crate) struct KitWaker(Arc<(Mutex<u32>, Condvar)>);

impl KitWaker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The waker to hand to `fetch`.
    pub(crate) fn boxed(&self) -> FetchWakerBox {
        FetchWakerBox::from_value(self.clone(), abi_stable::sabi_trait::TD_Opaque)
    }

    /// Waits until woken at least once, or `within` passes; true if woken.
    pub(crate) fn wait(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let (lock, cvar) = &*self.0;
        let mut woken = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while *woken == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            woken = cvar
                .wait_timeout(woken, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl FetchWaker for KitWaker {
    fn wake(&self) {
        let (lock, cvar) = &*self.0;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        cvar.notify_all();
    }

    fn is_stale(&self) -> bool {
        // Only the runner's copy is left: the kit stopped waiting.
        Arc::strong_count(&self.0) == 1
    }
}
