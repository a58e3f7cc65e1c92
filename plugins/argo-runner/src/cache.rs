//! A watch on this runner's Workflows (label `app.kubernetes.io/managed-by`), kept as
//! parsed views in memory, so a Fetch reads a job's status without an API call and
//! every replica's reaper sees every job's lease.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use futures_util::StreamExt as _;
use kube::runtime::{WatchStreamExt as _, watcher};
use serde_json::Value;

use crate::{
    codegen::SELECTOR,
    kubeapi::Kube,
    status::WfView,
    text::{cap, redact},
};

pub struct Cache {
    /// What Run accepts: views are checked against it (see [`WfView::parse`]).
    max_statements: usize,
    views: RwLock<HashMap<String, Arc<WfView>>>,
    /// The initial list is in and the watch has not failed since.
    ready: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// Views gathered during a (re)list, swapped in at its end.
    relist: Mutex<Option<HashMap<String, Arc<WfView>>>>,
}

/// Which jobs changed with an update, so their waiting fetches can be woken.
pub type Changed = Vec<String>;

impl Cache {
    pub fn new(max_statements: usize) -> Cache {
        Cache {
            max_statements,
            views: RwLock::default(),
            ready: AtomicBool::default(),
            last_error: Mutex::default(),
            relist: Mutex::default(),
        }
    }

    /// Parses a Workflow against the limits this cache checks.
    pub fn parse(&self, obj: &Value) -> Option<WfView> {
        WfView::parse(obj, self.max_statements)
    }

    pub fn get(&self, name: &str) -> Option<Arc<WfView>> {
        self.read().get(name).cloned()
    }

    pub fn all(&self) -> Vec<Arc<WfView>> {
        self.read().values().cloned().collect()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<WfView>>> {
        self.views.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<WfView>>> {
        self.views.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a view read by this replica itself (a GET or a patch's answer), unless the
    /// watch already delivered the same or a newer version.
    pub fn offer(&self, view: Arc<WfView>) -> Changed {
        let mut views = self.write();
        if let Some(old) = views.get(&view.name)
            && !newer(&view.resource_version, &old.resource_version)
        {
            return Vec::new();
        }
        let name = view.name.clone();
        views.insert(name.clone(), view);
        vec![name]
    }

    /// Applies one watch event.
    pub fn apply(&self, event: watcher::Event<Value>) -> Changed {
        match event {
            watcher::Event::Apply(obj) => match self.parse(&obj) {
                Some(v) => self.offer(Arc::new(v)),
                None => Vec::new(),
            },
            watcher::Event::Delete(obj) => {
                let Some(name) = obj["metadata"]["name"].as_str() else {
                    return Vec::new();
                };
                self.write().remove(name);
                vec![name.to_string()]
            }
            watcher::Event::Init => {
                *self.relist.lock().unwrap_or_else(|p| p.into_inner()) = Some(HashMap::new());
                Vec::new()
            }
            watcher::Event::InitApply(obj) => {
                if let Some(v) = self.parse(&obj)
                    && let Some(buf) = self
                        .relist
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .as_mut()
                {
                    buf.insert(v.name.clone(), Arc::new(v));
                }
                Vec::new()
            }
            watcher::Event::InitDone => {
                let fresh = self
                    .relist
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_default();
                let mut views = self.write();
                let mut changed: Changed = views
                    .keys()
                    .filter(|k| !fresh.contains_key(*k))
                    .cloned()
                    .collect();
                for (k, v) in &fresh {
                    if views
                        .get(k)
                        .is_none_or(|o| o.resource_version != v.resource_version)
                    {
                        changed.push(k.clone());
                    }
                }
                *views = fresh;
                drop(views);
                self.ready.store(true, Ordering::Release);
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                changed
            }
        }
    }

    fn failed(&self, e: &str) {
        self.ready.store(false, Ordering::Release);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    }
}

/// Whether resource version `a` is newer than `b`. Resource versions are opaque, but the
/// API server hands out increasing integers; when they are not, the newcomer wins.
fn newer(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => a != b,
    }
}

/// Follows this runner's Workflows until the task is dropped, calling `on_change` with
/// the jobs each event changed.
pub async fn run_watch(kube: Kube, cache: Arc<Cache>, on_change: impl Fn(Changed) + Send + Sync) {
    let cfg = watcher::Config::default().labels(SELECTOR);
    let mut events = watcher(kube.workflows.clone(), cfg)
        .default_backoff()
        .boxed();
    while let Some(ev) = events.next().await {
        match ev {
            Ok(ev) => {
                let json = |o| serde_json::to_value(o).unwrap_or(Value::Null);
                let ev = match ev {
                    watcher::Event::Apply(o) => watcher::Event::Apply(json(o)),
                    watcher::Event::Delete(o) => watcher::Event::Delete(json(o)),
                    watcher::Event::InitApply(o) => watcher::Event::InitApply(json(o)),
                    watcher::Event::Init => watcher::Event::Init,
                    watcher::Event::InitDone => watcher::Event::InitDone,
                };
                let changed = cache.apply(ev);
                if !changed.is_empty() {
                    on_change(changed);
                }
            }
            Err(e) => {
                // A decoding error may quote the object it could not read.
                let e = cap(&redact(&e.to_string()), 1024);
                tracing::warn!(namespace = %kube.namespace, "the watch on Workflows failed: {e}; retrying");
                cache.failed(&e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn wf(name: &str, rv: &str) -> Value {
        json!({"metadata": {"name": name, "resourceVersion": rv,
                            "annotations": {"sqlflow.org/statements": "1"}}})
    }

    #[test]
    fn a_relist_replaces_the_views_and_reports_changes() {
        let c = Cache::new(200);
        assert!(!c.is_ready());
        c.apply(watcher::Event::Init);
        c.apply(watcher::Event::InitApply(wf("a", "1")));
        c.apply(watcher::Event::InitApply(wf("b", "1")));
        let mut changed = c.apply(watcher::Event::InitDone);
        changed.sort();
        assert_eq!(changed, ["a", "b"]);
        assert!(c.is_ready());
        assert_eq!(c.apply(watcher::Event::Apply(wf("a", "2"))), ["a"]);
        // A stale copy (an older GET) does not replace what the watch delivered.
        assert!(
            c.offer(Arc::new(c.parse(&wf("a", "1")).unwrap()))
                .is_empty()
        );
        assert_eq!(c.get("a").unwrap().resource_version, "2");
        // b disappeared while the watch was down: the relist notices.
        c.apply(watcher::Event::Init);
        c.apply(watcher::Event::InitApply(wf("a", "2")));
        assert_eq!(c.apply(watcher::Event::InitDone), ["b"]);
        assert!(c.get("b").is_none());
        assert_eq!(c.apply(watcher::Event::Delete(wf("a", "3"))), ["a"]);
        assert!(c.all().is_empty());
    }

    #[test]
    fn objects_that_are_not_jobs_are_ignored() {
        let c = Cache::new(200);
        assert!(
            c.apply(watcher::Event::Apply(json!({"metadata": {"name": "x"}})))
                .is_empty()
        );
        assert!(c.get("x").is_none());
    }
}
