//! The runner's background work, in every replica: waking long-polling fetches when a
//! running step's log grows, reaping abandoned jobs, and sweeping Secrets left without
//! their Workflow.

use std::{collections::HashSet, time::Duration};

use serde_json::json;

use crate::{
    codegen::{owner_reference, valid_job_name},
    kubeapi::CallError,
    lease::now_ms,
    logs::{Budget, PageReader, ReadEnd},
    runner::{Shared, Waiter},
    status::WfView,
};

impl Shared {
    /// Wakes long-polling fetches whose step's log grew. Workflow changes wake them
    /// through the watch; log growth has no watch, so it is probed.
    pub(crate) async fn probe_loop(&self) {
        let mut tick = tokio::time::interval(Duration::from_millis(self.cfg.log_poll_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let jobs: Vec<(String, Vec<Waiter>)> = {
                let mut all = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
                all.drain().collect()
            };
            for (job, waiters) in jobs {
                let mut keep = Vec::new();
                let view = match self.cache.get(&job) {
                    Some(v) if self.cache.is_ready() => Some(v),
                    // No watch right now: look for ourselves.
                    _ => self
                        .get_view(&job)
                        .await
                        .unwrap_or_else(|_| self.cache.get(&job)),
                };
                let Some(view) = view else {
                    waiters.into_iter().for_each(|w| w.waker.wake());
                    continue;
                };
                for w in waiters {
                    if w.waker.is_stale() {
                        continue;
                    }
                    if w.resource_version != view.resource_version || self.log_grew(&view, &w).await
                    {
                        w.waker.wake();
                    } else {
                        keep.push(w);
                    }
                }
                if !keep.is_empty() {
                    self.waiters
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(job)
                        .or_default()
                        .extend(keep);
                }
            }
        }
    }

    async fn log_grew(&self, view: &WfView, w: &Waiter) -> bool {
        let Some(Some(node)) = view.steps.get(w.step as usize) else {
            return false;
        };
        if !node.may_have_log() {
            return false;
        }
        let ended = node.is_done() || view.is_done();
        // Stops at the first new line: a probe holds at most one line, whatever follows.
        let probe = PageReader::probe(w.pos, ended);
        match self.read_log(node, probe, &mut Budget::new(0)).await {
            Ok((page, end)) => page.progressed || page.too_long.is_some() || end == ReadEnd::Cut,
            Err(_) => false,
        }
    }

    /// Cancels jobs nobody fetched for their timeout. Every replica runs this; the
    /// lease annotation keeps a job alive while any replica serves its fetches.
    pub(crate) async fn reap_loop(&self) {
        let mut tick = tokio::time::interval(self.tuning.reap_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // A stale cache could hold leases other replicas have renewed since.
            if !self.cache.is_ready() {
                continue;
            }
            let now = now_ms();
            let views = self.cache.all();
            for view in &views {
                if !self.leases.expired(view, now) {
                    continue;
                }
                let reason = format!(
                    "abandoned: no client fetched this job for {} s (its timeout_seconds)",
                    view.timeout_seconds
                );
                tracing::warn!(job_id = %view.name, "{reason}");
                if let Err(e) = self.shutdown(&view.name, &reason).await {
                    tracing::error!(job_id = %view.name, "cannot cancel an abandoned job: {e}");
                }
            }
            let live: HashSet<&str> = views.iter().map(|v| v.name.as_str()).collect();
            self.leases.retain(|name| live.contains(name));
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|name, _| live.contains(name.as_str()));
        }
    }

    /// Secrets without an owner are jobs whose Run stopped between creating the Secret
    /// and making its Workflow the owner: adopt them, or remove them if the Workflow was
    /// never created (a Secret holds a datasource password; none may linger).
    pub(crate) async fn sweep_loop(&self) {
        let mut tick = tokio::time::interval(self.tuning.sweep_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Not at start-up: a replica starting while others run Runs must not race
        // their create-Secret-then-Workflow sequence on a clock it has not seen tick.
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = self.sweep_once().await {
                tracing::warn!("cannot sweep Secrets without an owner: {}", e.message());
            }
        }
    }

    async fn sweep_once(&self) -> Result<(), CallError> {
        let min_age = self.tuning.sweep_min_age.as_millis() as u64;
        let now = now_ms();
        for (name, owned, created) in self.kube.list_secrets().await? {
            if owned || now.saturating_sub(created) < min_age || !valid_job_name(&name) {
                continue;
            }
            let wf = match self.cache.get(&name) {
                Some(v) => Some(v),
                None => self.get_view(&name).await?,
            };
            match wf {
                Some(v) => {
                    let owner = json!({ "metadata": { "ownerReferences": [owner_reference(&name, &v.uid)] } });
                    self.kube.patch_secret(&name, &owner).await?;
                    tracing::info!(job_id = %name, "adopted a Secret left without its owner");
                }
                None => {
                    self.kube.delete_secret(&name).await?;
                    tracing::info!(job_id = %name, "removed the Secret of a job that was never created");
                }
            }
        }
        Ok(())
    }
}
