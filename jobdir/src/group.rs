//! Group commit for a directory's entries.

use std::{
    io,
    path::PathBuf,
    sync::{Condvar, Mutex, MutexGuard},
};

use crate::sync_dir;

/// Makes a directory's entries durable for many concurrent callers with few flushes:
/// a caller waits for a flush that started after its call, and one flush serves every
/// caller that arrived while the previous one ran. A thousand `Run`s at once cost a
/// handful of directory flushes instead of a thousand.
pub struct GroupSync {
    dir: PathBuf,
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Calls so far; each call's number is its ticket.
    requested: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// A flush is under way.
    running: bool,
}

impl GroupSync {
    /// For the directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        GroupSync {
            dir: dir.into(),
            state: Mutex::new(State::default()),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once every entry changed before this call is durable (blocks the
    /// thread). A failed flush fails the caller that ran it; the callers it would have
    /// served run one of their own.
    pub fn sync(&self) -> io::Result<()> {
        let mut st = self.lock();
        st.requested += 1;
        let ticket = st.requested;
        loop {
            if st.synced >= ticket {
                return Ok(());
            }
            if st.running {
                st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Every ticket issued so far changed its entry before asking.
            let covers = st.requested;
            st.running = true;
            drop(st);
            let flushed = sync_dir(&self.dir);
            st = self.lock();
            st.running = false;
            if flushed.is_ok() {
                st.synced = st.synced.max(covers);
            }
            self.done.notify_all();
            flushed?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_callers_share_flushes_and_all_return() {
        let dir = std::env::temp_dir().join(format!("group-sync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let g = GroupSync::new(&dir);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    for _ in 0..20 {
                        g.sync().unwrap();
                    }
                });
            }
        });
        let st = g.lock();
        assert_eq!(st.requested, 320);
        assert_eq!(st.synced, 320);
        assert!(!st.running);
        drop(st);
        // A directory that is gone fails its caller rather than passing for durable.
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(g.sync().is_err());
    }
}
