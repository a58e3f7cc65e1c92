//! Queueing: at most N running jobs per user (and in all), excess jobs wait as PENDING,
//! round-robin across users and first-in first-out within one, so a user who submits a
//! hundred jobs does not starve one who submits one.
//!
//! [`Scheduler`] is the bookkeeping (a runner with its own dispatch loop, like the local
//! runner, drives it); [`Admission`] wraps it for runners whose jobs are tasks: a job's
//! task awaits its turn, runs, and says it is done.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, MutexGuard, PoisonError},
};

use tokio::sync::oneshot;

/// The fair queue: who runs, who waits, who is next.
#[derive(Debug, Default)]
pub struct Scheduler {
    running: HashMap<String, usize>,
    total: usize,
    queues: HashMap<String, VecDeque<String>>,
    /// Users with queued jobs, in turn order.
    turn: VecDeque<String>,
}

impl Scheduler {
    /// Queues a job of `user`.
    pub fn enqueue(&mut self, user: &str, job: String) {
        let q = self.queues.entry(user.to_string()).or_default();
        if q.is_empty() && !self.turn.iter().any(|u| u == user) {
            self.turn.push_back(user.to_string());
        }
        q.push_back(job);
    }

    /// Counts a job that is already running (found running after a restart).
    pub fn adopt(&mut self, user: &str) {
        *self.running.entry(user.to_string()).or_default() += 1;
        self.total += 1;
    }

    /// A running job of `user` ended.
    pub fn finished(&mut self, user: &str) {
        if let Some(n) = self.running.get_mut(user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.running.remove(user);
            }
        }
        self.total = self.total.saturating_sub(1);
    }

    /// Removes a queued job (cancelled before it started). False if it was not queued.
    pub fn dequeue(&mut self, user: &str, job: &str) -> bool {
        let Some(q) = self.queues.get_mut(user) else {
            return false;
        };
        let before = q.len();
        q.retain(|j| j != job);
        let removed = q.len() != before;
        if q.is_empty() {
            self.queues.remove(user);
            self.turn.retain(|u| u != user);
        }
        removed
    }

    /// How many jobs wait.
    pub fn queued(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Takes the jobs that may start now, counting them as running.
    /// A cap of 0 means no cap.
    pub fn next(&mut self, per_user: usize, global: usize) -> Vec<(String, String)> {
        let mut out = Vec::new();
        loop {
            let mut started_this_round = false;
            for _ in 0..self.turn.len() {
                if global != 0 && self.total >= global {
                    return out;
                }
                let Some(user) = self.turn.pop_front() else {
                    break;
                };
                let running = self.running.get(&user).copied().unwrap_or(0);
                let job = if per_user == 0 || running < per_user {
                    self.queues.get_mut(&user).and_then(VecDeque::pop_front)
                } else {
                    None
                };
                if let Some(job) = job {
                    *self.running.entry(user.clone()).or_default() += 1;
                    self.total += 1;
                    out.push((user.clone(), job));
                    started_this_round = true;
                }
                if self.queues.get(&user).is_some_and(|q| !q.is_empty()) {
                    self.turn.push_back(user);
                } else {
                    self.queues.remove(&user);
                }
            }
            if !started_this_round {
                return out;
            }
        }
    }
}

/// The fair queue for runners whose jobs are tasks: a job awaits [`Admission::turn`]
/// before it starts (PENDING until then) and calls [`Admission::done`] when it ends.
pub struct Admission {
    per_user: usize,
    total: usize,
    inner: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    sched: Scheduler,
    waiting: HashMap<String, oneshot::Sender<()>>,
    next_ticket: u64,
}

impl Admission {
    /// At most `per_user` running jobs per user and `total` in all (0: no cap).
    pub fn new(per_user: usize, total: usize) -> Self {
        Admission {
            per_user,
            total,
            inner: Mutex::new(Queue::default()),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `user`'s job may start. Dropping the future before it resolves
    /// (a job cancelled while queued) gives its place up at the next dispatch.
    pub async fn turn(&self, user: &str) {
        let (tx, rx) = oneshot::channel();
        {
            let mut q = self.queue();
            q.next_ticket += 1;
            let ticket = q.next_ticket.to_string();
            q.waiting.insert(ticket.clone(), tx);
            q.sched.enqueue(user, ticket);
        }
        self.dispatch();
        // The sender is only dropped after sending, or with the whole queue.
        let _ = rx.await;
    }

    /// A job of `user` that had its turn ended; the next may start.
    pub fn done(&self, user: &str) {
        self.queue().sched.finished(user);
        self.dispatch();
    }

    fn dispatch(&self) {
        let mut q = self.queue();
        loop {
            let next = q.sched.next(self.per_user, self.total);
            if next.is_empty() {
                return;
            }
            for (user, ticket) in next {
                let started = q
                    .waiting
                    .remove(&ticket)
                    .is_some_and(|tx| tx.send(()).is_ok());
                if !started {
                    // Its job stopped waiting: the slot goes to the next one.
                    q.sched.finished(&user);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

    use super::*;

    #[tokio::test]
    async fn admission_holds_a_users_second_job_until_the_first_is_done() {
        let a = std::sync::Arc::new(Admission::new(1, 0));
        a.turn("alice").await;
        let a2 = a.clone();
        let second = tokio::spawn(async move { a2.turn("alice").await });
        a.turn("bob").await; // another user is not held up
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!second.is_finished());
        a.done("alice");
        tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .unwrap()
            .unwrap();
    }

    fn ids(v: &[(String, String)]) -> Vec<&str> {
        v.iter().map(|(_, j)| j.as_str()).collect()
    }

    #[test]
    fn round_robin_across_users_fifo_within() {
        let mut s = Scheduler::default();
        for j in ["a1", "a2", "a3", "a4"] {
            s.enqueue("alice", j.into());
        }
        s.enqueue("bob", "b1".into());
        s.enqueue("carol", "c1".into());
        s.enqueue("carol", "c2".into());
        // Global cap 4: one each first, then alice again.
        assert_eq!(ids(&s.next(0, 4)), ["a1", "b1", "c1", "a2"]);
        assert_eq!(s.next(0, 4), []);
        s.finished("bob");
        // Carol's turn comes before alice's.
        assert_eq!(ids(&s.next(0, 4)), ["c2"]);
        s.finished("alice");
        assert_eq!(ids(&s.next(0, 4)), ["a3"]);
        assert_eq!(s.queued(), 1);
    }

    #[test]
    fn per_user_cap_holds_back_only_that_user() {
        let mut s = Scheduler::default();
        for j in ["a1", "a2", "a3"] {
            s.enqueue("alice", j.into());
        }
        s.enqueue("bob", "b1".into());
        assert_eq!(ids(&s.next(2, 0)), ["a1", "b1", "a2"]);
        assert_eq!(s.next(2, 0), []);
        s.finished("alice");
        assert_eq!(ids(&s.next(2, 0)), ["a3"]);
    }

    #[test]
    fn adopted_and_dequeued_jobs_count() {
        let mut s = Scheduler::default();
        s.adopt("alice");
        s.enqueue("alice", "a2".into());
        s.enqueue("alice", "a3".into());
        assert_eq!(s.next(1, 0), []);
        assert!(s.dequeue("alice", "a2"));
        assert!(!s.dequeue("alice", "a2"));
        s.finished("alice");
        assert_eq!(ids(&s.next(1, 0)), ["a3"]);
    }
}
