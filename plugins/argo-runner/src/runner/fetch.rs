//! Fetch's reading: the steps' logs in order from the cursor, paged within the reply's
//! budget, and the long-poll waiters woken when a job changes.

use sqlflow_plugin_api::{ErrorCode, RunnerError, sdk::Waker};
use sqlflow_proto::sqlflow::{Response, message::Kind};

use super::{Shared, Waiter};
use crate::{
    cursor::{Cursor, LogPos},
    kubeapi::{CallError, MAX_LOG_READ},
    logs::{
        self, Budget, Lines, MAX_LINE_BYTES, MAX_RECORD_BYTES, PageReader, ReadEnd, failure_text,
        message,
    },
    status::{StepNode, WfView},
};

/// Why a step's log could not be read.
pub(crate) enum LogError {
    /// The pod is gone (deleted after the workflow ended) or not created yet.
    NoPod,
    /// The container has not started (or never will: image pull failures and the like).
    NotStarted,
    Api(CallError),
}

impl Shared {
    /// Responses after the cursor, reading step logs in order within the page budget.
    pub(super) async fn read_steps(
        &self,
        view: &WfView,
        cursor: &Cursor,
    ) -> Result<(Vec<Response>, u32, LogPos), RunnerError> {
        let n = u32::try_from(view.statements).unwrap_or(u32::MAX);
        let mut out = Vec::new();
        let mut budget = Budget::new(self.cfg.fetch_page_bytes);
        let note = |out: &mut Vec<Response>, budget: &mut Budget, text: String, kind: Kind| {
            budget.charge(text.len() as u64);
            out.push(message(text, kind));
        };
        if cursor.seen.is_none()
            && let Some(ui) = &self.cfg.argo_ui
        {
            note(
                &mut out,
                &mut budget,
                format!(
                    "Argo workflow: {}/workflows/{}/{}",
                    ui.trim_end_matches('/'),
                    view.namespace,
                    view.name
                ),
                Kind::Log,
            );
        }
        let mut step = cursor.step;
        let mut pos = cursor.pos;
        while step < n && budget.has_room() {
            let Some(node) = view.steps.get(step as usize).and_then(Option::as_ref) else {
                // A step Argo never started: in a finished workflow it never will be.
                if view.is_done() {
                    (step, pos) = (step + 1, LogPos::default());
                    continue;
                }
                break;
            };
            let ended = node.is_done() || view.is_done();
            if !node.may_have_log() {
                if ended {
                    (step, pos) = (step + 1, LogPos::default());
                    continue;
                }
                break;
            }
            let reader = PageReader::new(pos, ended);
            match self.read_log(node, reader, &mut budget).await {
                Ok((page, end)) => {
                    let delivered = !out.is_empty() || page.progressed;
                    out.extend(page.responses);
                    if page.failed {
                        if let Some(f) = &page.failure {
                            self.remember_failure(
                                &view.name,
                                Some(failure_text(f, view.statements)),
                            );
                        }
                        // The program stops at its failing statement: nothing follows.
                        (step, pos) = (n, LogPos::default());
                        break;
                    }
                    if let Some(bytes) = page.too_long {
                        if !delivered {
                            return Err(RunnerError::new(
                                ErrorCode::RESOURCE_EXHAUSTED,
                                format!(
                                    "cannot deliver the output of statement {}: a record of \
                                     {bytes} bytes exceeds the limit of {MAX_RECORD_BYTES} bytes \
                                     (a reply must fit the 4 MiB a gRPC client accepts)",
                                    step + 1
                                ),
                            ));
                        }
                        // What precedes it goes out now; the next Fetch stops at it.
                        pos = page.pos;
                        break;
                    }
                    if end == ReadEnd::Cut && !page.progressed {
                        return Err(RunnerError::new(
                            ErrorCode::RESOURCE_EXHAUSTED,
                            format!(
                                "cannot read past a point in the log of statement {}: more than \
                                 {MAX_LOG_READ} bytes of it share one second or one line",
                                step + 1
                            ),
                        ));
                    }
                    pos = page.pos;
                    if ended && page.at_end {
                        (step, pos) = (step + 1, LogPos::default());
                        continue;
                    }
                    break;
                }
                Err(LogError::NotStarted) if ended => {
                    (step, pos) = (step + 1, LogPos::default());
                }
                Err(LogError::NoPod) if ended => {
                    note(
                        &mut out,
                        &mut budget,
                        format!(
                            "the rest of statement {}'s output is gone: its pod {} was deleted \
                             (pods are kept pod_gc_delay_seconds = {} after the workflow ends)",
                            step + 1,
                            node.pod,
                            self.cfg.pod_gc_delay_seconds
                        ),
                        Kind::Error,
                    );
                    (step, pos) = (step + 1, LogPos::default());
                }
                Err(LogError::NotStarted | LogError::NoPod) => break,
                Err(LogError::Api(e)) => {
                    return Err(e.to_runner(&format!(
                        "read the log of statement {} (pod {})",
                        step + 1,
                        node.pod
                    )));
                }
            }
        }
        Ok((out, step, pos))
    }

    /// Reads a step's log from `reader`'s position (the start of its second) into the
    /// reader's page, streamed: at most one line and the page are held.
    pub(crate) async fn read_log(
        &self,
        node: &StepNode,
        mut reader: PageReader,
        budget: &mut Budget,
    ) -> Result<(logs::LogPage, ReadEnd), LogError> {
        let mut lines = Lines::new(MAX_LINE_BYTES);
        let since = reader.from().last.map(|s| s.secs);
        let read = self
            .kube
            .pod_log(&node.pod, since, &mut lines, &mut |l| {
                reader.line(l, budget)
            })
            .await;
        match read {
            Ok(end) => Ok((reader.finish(lines.rest(), end, budget), end)),
            Err(e) if e.status() == Some(404) => Err(LogError::NoPod),
            Err(e) if e.status() == Some(400) => Err(LogError::NotStarted),
            Err(e) => Err(LogError::Api(e)),
        }
    }

    pub(super) fn add_waiter(&self, view: &WfView, waker: Waker, step: u32, pos: LogPos) {
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(view.name.clone())
            .or_default()
            .push(Waiter {
                waker,
                step,
                pos,
                resource_version: view.resource_version.clone(),
            });
        // The workflow may have changed between the snapshot and now.
        if self
            .cache
            .get(&view.name)
            .is_none_or(|v| v.resource_version != view.resource_version)
        {
            self.wake(&view.name);
        }
    }

    pub(crate) fn wake(&self, job: &str) {
        let waiting = self
            .waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(job);
        for w in waiting.into_iter().flatten() {
            w.waker.wake();
        }
    }
}
