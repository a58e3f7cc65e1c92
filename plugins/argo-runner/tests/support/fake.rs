//! A scripted Kubernetes API server behind `tower_test::mock::pair` (the way kube-rs
//! recommends testing clients): it serves the calls the runner makes (Workflows with
//! list/watch, Secrets, pod logs with `sinceTime`/`limitBytes`/`tailLines`/timestamps)
//! from in-memory state, and records every call. Tests play the Argo controller and
//! the kubelet through its helpers: start a workflow, run a step, append log lines with
//! chosen timestamps, finish. Node and pod payloads follow what Argo writes.

#![allow(dead_code)]

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard},
};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

pub type MockHandle = Handle<Request<Body>, Response<Body>>;

/// One API call as the server saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// `workflows`, `secrets` or `pods/log`.
    pub resource: String,
    /// Kubernetes' verb: get, list, watch, create, patch, delete.
    pub verb: String,
    pub name: Option<String>,
    pub query: HashMap<String, String>,
    pub body: Option<Value>,
}

#[derive(Default)]
pub struct PodLog {
    pub started: bool,
    /// (seconds, nanoseconds, line without newline)
    pub lines: Vec<(i64, u32, Vec<u8>)>,
}

/// An error the next matching call answers with.
pub struct Injected {
    pub resource: &'static str,
    pub verb: &'static str,
    pub code: u16,
    pub reason: &'static str,
    pub times: usize,
}

#[derive(Default)]
pub struct State {
    pub rv: u64,
    pub workflows: BTreeMap<String, Value>,
    pub secrets: BTreeMap<String, Value>,
    /// Workflow watch events: (resource version, type, object).
    pub events: Vec<(u64, &'static str, Value)>,
    pub pods: HashMap<String, PodLog>,
    pub calls: Vec<Call>,
    pub inject: Vec<Injected>,
    uid: u64,
}

#[derive(Clone)]
pub struct Fake {
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::watch::Sender<u64>>,
}

pub const NS: &str = "sqlflow";
/// The time the fake's objects are created at (2024-01-02T03:04:05Z).
pub const T0: i64 = 1_704_164_645;

impl Default for Fake {
    fn default() -> Self {
        Fake {
            state: Arc::new(Mutex::new(State::default())),
            changed: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }
}

/// FNV-1a (32 bits), written out again here so the runner's copy is checked against
/// an independent one.
fn fnv(s: &str) -> u32 {
    s.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ b as u32).wrapping_mul(16_777_619)
    })
}

/// Argo's node id for a node name.
pub fn node_id(wf: &str, node_name: &str) -> String {
    format!("{wf}-{}", fnv(node_name))
}

/// Go's RFC3339Nano: fraction without trailing zeros, none at all when zero.
pub fn rfc3339nano(secs: i64, nanos: u32) -> String {
    let t = jiff::Timestamp::new(secs, nanos as i32).expect("timestamp");
    let base = t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn reply(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).expect("status"))
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("json")))
        .expect("response")
}

fn reply_bytes(code: u16, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).expect("status"))
        .header("content-type", "text/plain")
        .body(Body::from(body))
        .expect("response")
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn selects(selector: Option<&String>, obj: &Value) -> bool {
    let Some(sel) = selector else { return true };
    sel.split(',').all(|term| match term.split_once('=') {
        Some((k, v)) => obj["metadata"]["labels"][k] == v,
        None => true,
    })
}

impl Fake {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        let rv = self.state().rv;
        self.changed.send_replace(rv);
    }

    /// Serves one client's requests until it goes away.
    pub async fn serve(self, mut handle: MockHandle) {
        while let Some((req, send)) = handle.next_request().await {
            let me = self.clone();
            tokio::spawn(async move { me.handle(req, send).await });
        }
    }

    async fn handle(&self, req: Request<Body>, send: SendResponse<Response<Body>>) {
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        let query: HashMap<String, String> =
            form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let body_bytes = req.into_body().collect_bytes().await.expect("request body");
        let body: Option<Value> = serde_json::from_slice(&body_bytes).ok();
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (resource, name) = match seg.as_slice() {
            [
                "apis",
                "argoproj.io",
                "v1alpha1",
                "namespaces",
                _,
                "workflows",
            ] => ("workflows", None),
            [
                "apis",
                "argoproj.io",
                "v1alpha1",
                "namespaces",
                _,
                "workflows",
                n,
            ] => ("workflows", Some(n.to_string())),
            ["api", "v1", "namespaces", _, "secrets"] => ("secrets", None),
            ["api", "v1", "namespaces", _, "secrets", n] => ("secrets", Some(n.to_string())),
            ["api", "v1", "namespaces", _, "pods", n, "log"] => ("pods/log", Some(n.to_string())),
            _ => {
                send.send_response(reply(
                    404,
                    &status_body(404, "NotFound", &format!("no route {path}")),
                ));
                return;
            }
        };
        let verb = match (method.as_str(), &name) {
            ("GET", None) if query.get("watch").is_some_and(|w| w == "true") => "watch",
            ("GET", None) => "list",
            ("GET", Some(_)) => "get",
            ("POST", _) => "create",
            ("PATCH", _) => "patch",
            ("DELETE", _) => "delete",
            _ => "unknown",
        };
        let call = Call {
            method,
            resource: resource.into(),
            verb: verb.into(),
            name: name.clone(),
            query: query.clone(),
            body: body.clone(),
        };
        {
            let mut st = self.state();
            st.calls.push(call);
            if let Some(i) = st
                .inject
                .iter()
                .position(|j| j.resource == resource && j.verb == verb && j.times > 0)
            {
                let j = &mut st.inject[i];
                j.times -= 1;
                let (code, reason) = (j.code, j.reason);
                drop(st);
                send.send_response(reply(
                    code,
                    &status_body(code, reason, &format!("injected {reason}")),
                ));
                return;
            }
        }
        let resp = match (resource, verb) {
            ("workflows", "watch") => return self.watch(query, send).await,
            ("workflows", "list") => self.list_workflows(&query),
            ("workflows", "get") => self.get("workflows", name.as_deref().unwrap_or("")),
            ("workflows", "create") => self.create_workflow(body.unwrap_or(Value::Null)),
            ("workflows", "patch") => {
                self.patch_workflow(name.as_deref().unwrap_or(""), &body.unwrap_or(Value::Null))
            }
            ("secrets", "create") => self.create_secret(body.unwrap_or(Value::Null)),
            ("secrets", "patch") => {
                self.patch_secret(name.as_deref().unwrap_or(""), &body.unwrap_or(Value::Null))
            }
            ("secrets", "delete") => self.delete_secret(name.as_deref().unwrap_or("")),
            ("secrets", "list") => self.list_secrets(&query),
            ("pods/log", "get") => self.pod_log(name.as_deref().unwrap_or(""), &query),
            _ => reply(
                405,
                &status_body(405, "MethodNotAllowed", "not served by the fake"),
            ),
        };
        send.send_response(resp);
    }

    fn get(&self, kind: &str, name: &str) -> Response<Body> {
        let st = self.state();
        let map = if kind == "workflows" {
            &st.workflows
        } else {
            &st.secrets
        };
        match map.get(name) {
            Some(o) => reply(200, o),
            None => reply(
                404,
                &status_body(404, "NotFound", &format!("{kind} \"{name}\" not found")),
            ),
        }
    }

    fn stamp_new(st: &mut State, obj: &mut Value) {
        st.rv += 1;
        st.uid += 1;
        obj["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-{:012}", st.uid));
        obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        obj["metadata"]["creationTimestamp"] = json!(rfc3339nano(T0 + st.uid as i64, 0));
        obj["metadata"]["namespace"] = json!(NS);
    }

    fn create_workflow(&self, mut obj: Value) -> Response<Body> {
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut st = self.state();
        if st.workflows.contains_key(&name) {
            return reply(
                409,
                &status_body(
                    409,
                    "AlreadyExists",
                    &format!("workflows.argoproj.io \"{name}\" already exists"),
                ),
            );
        }
        Self::stamp_new(&mut st, &mut obj);
        st.workflows.insert(name, obj.clone());
        let rv = st.rv;
        st.events.push((rv, "ADDED", obj.clone()));
        drop(st);
        self.bump();
        reply(201, &obj)
    }

    fn patch_workflow(&self, name: &str, patch: &Value) -> Response<Body> {
        match self.modify(name, |obj| merge(obj, patch)) {
            Some(obj) => reply(200, &obj),
            None => reply(404, &status_body(404, "NotFound", "not found")),
        }
    }

    /// Changes a workflow under a new resource version and publishes a watch event;
    /// `None` if there is no such workflow.
    fn modify(&self, name: &str, f: impl FnOnce(&mut Value)) -> Option<Value> {
        let mut st = self.state();
        let rv = st.rv + 1;
        let obj = st.workflows.get_mut(name)?;
        f(obj);
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = obj.clone();
        st.rv = rv;
        st.events.push((rv, "MODIFIED", obj.clone()));
        drop(st);
        self.bump();
        Some(obj)
    }

    /// A list reply of the `objects` the query's label selector selects.
    fn list<'a>(
        objects: impl Iterator<Item = &'a Value>,
        query: &HashMap<String, String>,
        api_version: &str,
        kind: &str,
        rv: u64,
    ) -> Response<Body> {
        let items: Vec<&Value> = objects
            .filter(|o| selects(query.get("labelSelector"), o))
            .collect();
        reply(
            200,
            &json!({"apiVersion": api_version, "kind": kind,
                    "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
        )
    }

    fn list_workflows(&self, query: &HashMap<String, String>) -> Response<Body> {
        let st = self.state();
        Self::list(
            st.workflows.values(),
            query,
            "argoproj.io/v1alpha1",
            "WorkflowList",
            st.rv,
        )
    }

    async fn watch(&self, query: HashMap<String, String>, send: SendResponse<Response<Body>>) {
        let from: u64 = query
            .get("resourceVersion")
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        let mut rx = self.changed.subscribe();
        loop {
            let body: Vec<u8> = {
                let st = self.state();
                st.events
                    .iter()
                    .filter(|(rv, _, o)| *rv > from && selects(query.get("labelSelector"), o))
                    .flat_map(|(_, ty, o)| {
                        let mut l =
                            serde_json::to_vec(&json!({"type": ty, "object": o})).expect("json");
                        l.push(b'\n');
                        l
                    })
                    .collect()
            };
            if !body.is_empty() {
                send.send_response(reply_bytes(200, body));
                return;
            }
            // Parked like a real watch until something happens.
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    fn create_secret(&self, mut obj: Value) -> Response<Body> {
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut st = self.state();
        if st.secrets.contains_key(&name) {
            return reply(
                409,
                &status_body(
                    409,
                    "AlreadyExists",
                    &format!("secrets \"{name}\" already exists"),
                ),
            );
        }
        Self::stamp_new(&mut st, &mut obj);
        st.secrets.insert(name, obj.clone());
        reply(201, &obj)
    }

    fn patch_secret(&self, name: &str, patch: &Value) -> Response<Body> {
        let mut st = self.state();
        let Some(obj) = st.secrets.get_mut(name) else {
            return reply(404, &status_body(404, "NotFound", "not found"));
        };
        if obj["immutable"] == true && !patch["data"].is_null() {
            return reply(422, &status_body(422, "Invalid", "field is immutable"));
        }
        merge(obj, patch);
        let obj = obj.clone();
        reply(200, &obj)
    }

    fn delete_secret(&self, name: &str) -> Response<Body> {
        match self.state().secrets.remove(name) {
            Some(_) => reply(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}),
            ),
            None => reply(404, &status_body(404, "NotFound", "not found")),
        }
    }

    fn list_secrets(&self, query: &HashMap<String, String>) -> Response<Body> {
        let st = self.state();
        Self::list(st.secrets.values(), query, "v1", "SecretList", st.rv)
    }

    fn pod_log(&self, pod: &str, query: &HashMap<String, String>) -> Response<Body> {
        if query.get("container").map(String::as_str) != Some("main") {
            return reply(
                400,
                &status_body(400, "BadRequest", "a container name must be specified"),
            );
        }
        let st = self.state();
        let Some(log) = st.pods.get(pod) else {
            return reply(
                404,
                &status_body(404, "NotFound", &format!("pods \"{pod}\" not found")),
            );
        };
        if !log.started {
            return reply(
                400,
                &status_body(
                    400,
                    "BadRequest",
                    &format!(
                        "container \"main\" in pod \"{pod}\" is waiting to start: ContainerCreating"
                    ),
                ),
            );
        }
        let since: Option<jiff::Timestamp> = query
            .get("sinceTime")
            .map(|s| s.parse().expect("sinceTime"));
        if let Some(s) = since {
            assert_eq!(
                s.subsec_nanosecond(),
                0,
                "sinceTime has one-second resolution"
            );
        }
        let stamps = query.get("timestamps").is_some_and(|t| t == "true");
        let mut lines: Vec<&(i64, u32, Vec<u8>)> = log
            .lines
            .iter()
            .filter(|(s, _, _)| since.is_none_or(|t| *s >= t.as_second()))
            .collect();
        if let Some(n) = query.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
            lines = lines.split_off(lines.len().saturating_sub(n));
        }
        let mut out = Vec::new();
        for (s, n, l) in lines {
            if stamps {
                out.extend_from_slice(rfc3339nano(*s, *n).as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(l);
            out.push(b'\n');
        }
        if let Some(limit) = query
            .get("limitBytes")
            .and_then(|n| n.parse::<usize>().ok())
        {
            out.truncate(limit);
        }
        reply_bytes(200, out)
    }

    // ---- Playing Argo's controller and the kubelet ----

    pub fn workflow(&self, name: &str) -> Value {
        self.state()
            .workflows
            .get(name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn secret(&self, name: &str) -> Option<Value> {
        self.state().secrets.get(name).cloned()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    pub fn inject(
        &self,
        resource: &'static str,
        verb: &'static str,
        code: u16,
        reason: &'static str,
        times: usize,
    ) {
        self.state().inject.push(Injected {
            resource,
            verb,
            code,
            reason,
            times,
        });
    }

    /// Changes a workflow as the controller would, publishing a watch event.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut Value)) {
        self.modify(name, f).expect("workflow exists");
    }

    pub fn statement_count(&self, name: &str) -> usize {
        self.workflow(name)["metadata"]["annotations"]["sqlflow.org/statements"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("statement count")
    }

    fn pod_node_name(wf: &str, i: usize) -> String {
        format!("{wf}[{i}].step-{}", i + 1)
    }

    /// The pod of step `i` as Argo (pod names v2) names it.
    pub fn pod_name(wf: &str, i: usize) -> String {
        format!("{wf}-step-{}-{}", i + 1, fnv(&Self::pod_node_name(wf, i)))
    }

    /// The controller picked the workflow up: Running, the first step's pod created.
    pub fn start(&self, name: &str) {
        self.update(name, |w| {
            w["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"] = json!("v2");
            w["metadata"]["labels"]["workflows.argoproj.io/phase"] = json!("Running");
            w["status"] = json!({
                "phase": "Running",
                "startedAt": rfc3339nano(T0 + 100, 0),
                "finishedAt": null,
                "progress": "0/1",
                "nodes": {
                    name: {"id": name, "name": name, "displayName": name, "type": "Steps",
                           "templateName": "main", "templateScope": format!("local/{name}"),
                           "phase": "Running", "startedAt": rfc3339nano(T0 + 100, 0),
                           "finishedAt": null, "children": []},
                },
            });
        });
        self.add_step(name, 0);
    }

    /// A step group and its pod node, Pending (the pod exists, its container not yet).
    fn add_step(&self, name: &str, i: usize) {
        let group_name = format!("{name}[{i}]");
        let group_id = node_id(name, &group_name);
        let pod_node = Self::pod_node_name(name, i);
        let pod_id = node_id(name, &pod_node);
        let pod = Self::pod_name(name, i);
        self.state().pods.insert(pod, PodLog::default());
        self.update(name, |w| {
            let nodes = &mut w["status"]["nodes"];
            let parent = if i == 0 {
                name.to_string()
            } else {
                node_id(name, &Self::pod_node_name(name, i - 1))
            };
            if let Some(c) = nodes[&parent]["children"].as_array_mut() {
                c.push(json!(group_id));
            } else {
                nodes[&parent]["children"] = json!([group_id]);
            }
            nodes[&group_id] = json!({"id": group_id, "name": group_name, "displayName": format!("[{i}]"),
                "type": "StepGroup", "templateScope": format!("local/{name}"), "boundaryID": name,
                "phase": "Running", "startedAt": rfc3339nano(T0 + 101 + i as i64, 0), "finishedAt": null,
                "children": [pod_id]});
            nodes[&pod_id] = json!({"id": pod_id, "name": pod_node, "displayName": format!("step-{}", i + 1),
                "type": "Pod", "templateName": format!("step-{}", i + 1), "templateScope": format!("local/{name}"),
                "boundaryID": name, "phase": "Pending", "startedAt": rfc3339nano(T0 + 101 + i as i64, 0),
                "finishedAt": null, "progress": "0/1"});
        });
    }

    fn set_pod_node(&self, name: &str, i: usize, f: impl FnOnce(&mut Value)) {
        let id = node_id(name, &Self::pod_node_name(name, i));
        self.update(name, |w| f(&mut w["status"]["nodes"][&id]));
    }

    /// The step's pod cannot start (Argo copies the pod's waiting reason to the node).
    pub fn step_waiting(&self, name: &str, i: usize, message: &str) {
        let m = message.to_string();
        self.set_pod_node(name, i, |n| n["message"] = json!(m));
    }

    /// The step's container runs: its log can be read.
    pub fn step_running(&self, name: &str, i: usize) {
        if let Some(p) = self.state().pods.get_mut(&Self::pod_name(name, i)) {
            p.started = true;
        }
        self.set_pod_node(name, i, |n| {
            n["phase"] = json!("Running");
            n["hostNodeName"] = json!("worker-1");
            n.as_object_mut().map(|o| o.remove("message"));
        });
    }

    /// The kubelet appends a line to step `i`'s log.
    pub fn log(&self, name: &str, i: usize, secs: i64, nanos: u32, line: &[u8]) {
        let mut st = self.state();
        let pod = st
            .pods
            .get_mut(&Self::pod_name(name, i))
            .expect("the step's pod exists");
        pod.lines.push((secs, nanos, line.to_vec()));
    }

    /// The step ended. On success the next step's pod is created.
    pub fn step_done(&self, name: &str, i: usize, phase: &str, message: &str) {
        let (p, m) = (phase.to_string(), message.to_string());
        let exit = if phase == "Succeeded" { "0" } else { "1" };
        self.set_pod_node(name, i, |n| {
            n["phase"] = json!(p);
            n["finishedAt"] = json!(rfc3339nano(T0 + 200 + i as i64, 0));
            n["outputs"] = json!({"exitCode": exit});
            if !m.is_empty() {
                n["message"] = json!(m);
            }
        });
        if phase == "Succeeded" && i + 1 < self.statement_count(name) {
            self.add_step(name, i + 1);
        }
    }

    /// The workflow ended.
    pub fn finish(&self, name: &str, phase: &str, message: &str) {
        let (p, m) = (phase.to_string(), message.to_string());
        self.update(name, |w| {
            w["metadata"]["labels"]["workflows.argoproj.io/phase"] = json!(p);
            w["metadata"]["labels"]["workflows.argoproj.io/completed"] = json!("true");
            w["status"]["phase"] = json!(p);
            w["status"]["finishedAt"] = json!(rfc3339nano(T0 + 300, 0));
            if !m.is_empty() {
                w["status"]["message"] = json!(m);
            }
            let wf_name = w["metadata"]["name"].as_str().unwrap_or("").to_string();
            w["status"]["nodes"][&wf_name]["phase"] = json!(p);
        });
    }

    /// Pod garbage collection removed the workflow's pods.
    pub fn delete_pods(&self, name: &str) {
        let prefix = format!("{name}-");
        self.state().pods.retain(|k, _| !k.starts_with(&prefix));
    }
}
