//! What a Workflow object says about its job: a small view parsed once per version of
//! the object (the watch keeps these), and its mapping to the protocol's status codes.
//!
//! | Workflow                                   | JobStatus                               |
//! |--------------------------------------------|-----------------------------------------|
//! | `""`/`Pending`, or `Running` before any    | `PENDING`, with why (Argo's message)    |
//! |   step's pod runs                          |                                         |
//! | `Running`                                  | `RUNNING`, `[i/n] <statement>`          |
//! | `Succeeded`                                | `SUCCEEDED`                             |
//! | `Failed`/`Error`                           | `FAILED`: the step's own failure text,  |
//! |                                            |   else Argo's node or workflow message  |
//! | `spec.shutdown` set (Cancel, reaper)       | `CANCELLED` with the recorded reason    |

use std::collections::HashMap;

use serde_json::Value;
use sqlflow_proto::sqlflow::{JobStatus, job_status::Code};

use crate::{
    codegen::{
        ANN_CANCEL_REASON, ANN_EXIT_ON_SUBMIT, ANN_LAST_FETCH, ANN_REQUEST_HASH, ANN_REQUEST_ID,
        ANN_STATEMENT, ANN_STATEMENTS, ANN_SUMMARY, ANN_TIMEOUT, ANN_USER, step_template_name,
    },
    config::is_dns_subdomain,
    text::{cap, clip, redact},
};

/// Argo's annotation saying how pod names are formed.
const ANN_POD_NAME_FORMAT: &str = "workflows.argoproj.io/pod-name-format";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WfPhase {
    /// Not yet seen by the controller (`""`).
    Unknown,
    Pending,
    Running,
    Succeeded,
    Failed,
    Error,
}

impl WfPhase {
    fn parse(s: &str) -> WfPhase {
        match s {
            "Pending" => WfPhase::Pending,
            "Running" => WfPhase::Running,
            "Succeeded" => WfPhase::Succeeded,
            "Failed" => WfPhase::Failed,
            "Error" => WfPhase::Error,
            _ => WfPhase::Unknown,
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, WfPhase::Succeeded | WfPhase::Failed | WfPhase::Error)
    }
}

/// The pod node of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepNode {
    /// Pending, Running, Succeeded, Failed, Error, Skipped, Omitted.
    pub phase: String,
    pub message: String,
    /// The pod's name, computed the way Argo names it.
    pub pod: String,
}

impl StepNode {
    pub fn is_done(&self) -> bool {
        matches!(
            self.phase.as_str(),
            "Succeeded" | "Failed" | "Error" | "Skipped" | "Omitted"
        )
    }

    pub fn failed(&self) -> bool {
        matches!(self.phase.as_str(), "Failed" | "Error")
    }

    /// Whether the pod may have a log (it got past Pending).
    pub fn may_have_log(&self) -> bool {
        !matches!(self.phase.as_str(), "Pending" | "Skipped" | "Omitted" | "")
    }
}

/// A Workflow as this runner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WfView {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
    pub user: String,
    pub request_id: String,
    /// What the job was made from (see `codegen::request_hash`); empty without a
    /// request id, or on Workflows created before it was recorded.
    pub request_hash: String,
    pub created_ms: u64,
    pub timeout_seconds: u32,
    pub exit_on_submit: bool,
    /// The lease annotation (ms since the epoch).
    pub last_fetch_ms: u64,
    pub statements: usize,
    pub summary: String,
    /// Each step's statement, shortened (from the step templates' annotations).
    pub heads: Vec<String>,
    pub shutdown: Option<String>,
    pub cancel_reason: Option<String>,
    pub phase: WfPhase,
    pub message: String,
    pub finished_ms: Option<u64>,
    /// One entry per statement: its pod node, once Argo created it.
    pub steps: Vec<Option<StepNode>>,
    /// Argo moved the node map out of the object (compressed or offloaded).
    pub nodes_elsewhere: bool,
    /// Why this object cannot be read as a job (a field out of range, naming it). Such
    /// a job is FAILED with this message, has no steps, and is never reaped.
    pub invalid: Option<String>,
}

/// Bytes of cluster text (Argo's messages, annotations) a view keeps, so a status or a
/// listing entry stays small whatever the object holds.
const MAX_MESSAGE: usize = 1024;
const MAX_SHORT: usize = 512;

/// The last millisecond a lease may name (9999-12-31T23:59:59.999Z).
const MAX_TIME_MS: u64 = 253_402_300_799_999;

fn ann<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][key].as_str()
}

fn time_ms(v: &Value) -> Option<u64> {
    let s = v.as_str()?;
    let t: jiff::Timestamp = s.parse().ok()?;
    u64::try_from(t.as_millisecond()).ok()
}

/// Cluster text as a status shows it: without passwords, bounded.
fn shown(s: &str, max: usize) -> String {
    cap(&redact(s), max)
}

/// A field that is not what this runner wrote: which one, and what it holds.
fn bad(field: &str, value: &str, want: &str) -> String {
    format!("{field} is '{}', not {want}", clip(value))
}

/// An annotation holding a number in `range`; absent: `default`.
fn ann_number<T>(
    obj: &Value,
    key: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = ann(obj, key) else {
        return Ok(default);
    };
    text.parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            bad(
                &format!("annotation {key}"),
                text,
                &format!("a number from {} to {}", range.start(), range.end()),
            )
        })
}

impl WfView {
    /// Parses a Workflow object. `None` if it is not one of ours (no statement count).
    /// Every number in it is checked against what Run could have written, with
    /// `max_statements` the most statements Run accepts: an object outside that is a
    /// view marked [`WfView::invalid`], never an allocation or an index it sized.
    pub fn parse(obj: &Value, max_statements: usize) -> Option<WfView> {
        let meta = &obj["metadata"];
        let name = meta["name"].as_str()?.to_string();
        let statements_text = ann(obj, ANN_STATEMENTS)?;
        let mut view = WfView {
            namespace: meta["namespace"].as_str().unwrap_or("").to_string(),
            uid: meta["uid"].as_str().unwrap_or("").to_string(),
            resource_version: meta["resourceVersion"].as_str().unwrap_or("").to_string(),
            user: ann(obj, ANN_USER).unwrap_or("").to_string(),
            request_id: cap(ann(obj, ANN_REQUEST_ID).unwrap_or(""), MAX_SHORT),
            request_hash: cap(ann(obj, ANN_REQUEST_HASH).unwrap_or(""), MAX_SHORT),
            created_ms: time_ms(&meta["creationTimestamp"]).unwrap_or(0),
            timeout_seconds: 0,
            exit_on_submit: false,
            last_fetch_ms: 0,
            statements: 0,
            summary: shown(ann(obj, ANN_SUMMARY).unwrap_or(""), MAX_SHORT),
            heads: Vec::new(),
            shutdown: obj["spec"]["shutdown"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| cap(s, MAX_SHORT)),
            cancel_reason: ann(obj, ANN_CANCEL_REASON).map(|r| shown(r, MAX_SHORT)),
            phase: WfPhase::parse(obj["status"]["phase"].as_str().unwrap_or("")),
            message: shown(obj["status"]["message"].as_str().unwrap_or(""), MAX_MESSAGE),
            finished_ms: None,
            steps: Vec::new(),
            nodes_elsewhere: false,
            invalid: None,
            name,
        };
        if let Err(why) = view.parse_job(obj, statements_text, max_statements) {
            view.invalid = Some(why);
            view.statements = 0;
            view.heads = Vec::new();
            view.steps = Vec::new();
            // An unreadable lease is no lease: such a job is never reaped.
            view.timeout_seconds = 0;
        }
        Some(view)
    }

    /// The fields that size and index things, each checked before it is used.
    fn parse_job(
        &mut self,
        obj: &Value,
        statements_text: &str,
        max_statements: usize,
    ) -> Result<(), String> {
        let statements = statements_text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max_statements).contains(n))
            .ok_or_else(|| {
                bad(
                    &format!("annotation {ANN_STATEMENTS}"),
                    statements_text,
                    &format!("a statement count from 1 to {max_statements} (max_statements)"),
                )
            })?;
        self.timeout_seconds = ann_number(obj, ANN_TIMEOUT, 0, 0..=u32::MAX)?;
        self.last_fetch_ms = ann_number(obj, ANN_LAST_FETCH, 0, 0..=MAX_TIME_MS)?;
        self.exit_on_submit = match ann(obj, ANN_EXIT_ON_SUBMIT) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(bad(
                    &format!("annotation {ANN_EXIT_ON_SUBMIT}"),
                    other,
                    "true or false",
                ));
            }
        };
        let status = &obj["status"];
        self.finished_ms = match &status["finishedAt"] {
            Value::Null => None,
            v => Some(time_ms(v).ok_or_else(|| {
                bad(
                    "status.finishedAt",
                    &v.to_string(),
                    "a time after 1970 in RFC 3339",
                )
            })?),
        };
        // By name, the first of each (what a search from the front would find): one
        // pass, not one per statement, on every watch event.
        let mut templates: HashMap<&str, &Value> = HashMap::new();
        for t in obj["spec"]["templates"].as_array().into_iter().flatten() {
            if let Some(n) = t["name"].as_str() {
                templates.entry(n).or_insert(t);
            }
        }
        let heads = (0..statements)
            .map(|i| {
                let head = templates
                    .get(step_template_name(i).as_str())
                    .and_then(|x| x["metadata"]["annotations"][ANN_STATEMENT].as_str())
                    .unwrap_or("");
                shown(head, MAX_SHORT)
            })
            .collect();
        let v1_names = ann(obj, ANN_POD_NAME_FORMAT) == Some("v1");
        let mut steps: Vec<Option<StepNode>> = vec![None; statements];
        if let Some(nodes) = status["nodes"].as_object() {
            for node in nodes.values() {
                if node["type"] != "Pod" {
                    continue;
                }
                let template = node["templateName"].as_str().unwrap_or("");
                let Some(index) = template
                    .strip_prefix("step-")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| n.checked_sub(1))
                    .filter(|&i| i < statements)
                else {
                    continue;
                };
                let pod = if v1_names {
                    node["id"].as_str().unwrap_or("").to_string()
                } else {
                    pod_name_v2(&self.name, node["name"].as_str().unwrap_or(""), template)
                };
                // The name goes into an API path: it must be a name, nothing a path
                // could be made of.
                if !is_dns_subdomain(&pod) {
                    return Err(bad(
                        &format!("status.nodes: the pod of {template}"),
                        &pod,
                        "a pod name",
                    ));
                }
                steps[index] = Some(StepNode {
                    phase: cap(node["phase"].as_str().unwrap_or(""), MAX_SHORT),
                    message: shown(node["message"].as_str().unwrap_or(""), MAX_MESSAGE),
                    pod,
                });
            }
        }
        self.nodes_elsewhere = status["nodes"].is_null()
            && (!status["compressedNodes"].is_null()
                || !status["offloadNodeStatusVersion"].is_null());
        self.statements = statements;
        self.heads = heads;
        self.steps = steps;
        Ok(())
    }

    pub fn is_done(&self) -> bool {
        self.phase.is_done()
    }

    /// The status code alone (no message), as a Fetch cursor records it.
    pub fn code(&self) -> Code {
        if self.invalid.is_some() {
            return Code::Failed;
        }
        if self.shutdown.is_some() && self.phase != WfPhase::Succeeded {
            return Code::Cancelled;
        }
        match self.phase {
            WfPhase::Succeeded => Code::Succeeded,
            WfPhase::Failed | WfPhase::Error => Code::Failed,
            WfPhase::Unknown | WfPhase::Pending => Code::Pending,
            WfPhase::Running if self.no_step_started() => Code::Pending,
            WfPhase::Running => Code::Running,
        }
    }

    fn no_step_started(&self) -> bool {
        self.steps
            .iter()
            .all(|s| s.as_ref().is_none_or(|n| !n.may_have_log()))
    }

    /// The first failed step, if any.
    pub fn failed_step(&self) -> Option<(usize, &StepNode)> {
        self.steps
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.as_ref().filter(|n| n.failed()).map(|n| (i, n)))
    }

    /// The step running now (or waiting for its pod): the last one Argo created.
    fn current_step(&self) -> Option<(usize, &StepNode)> {
        self.steps
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, s)| s.as_ref().map(|n| (i, n)))
    }

    /// The job's status. `failure` is the failing step's own account of its failure
    /// (from its log), when it was read.
    pub fn status(&self, failure: Option<&str>) -> JobStatus {
        let code = self.code();
        let n = self.statements;
        let message = match (&self.invalid, code) {
            (Some(why), _) => format!(
                "the job's Workflow {} cannot be read as a sqlflow job: {why}",
                self.name
            ),
            (None, code) => self.message_for(code, failure, n),
        };
        JobStatus {
            code: code as i32,
            message,
        }
    }

    fn message_for(&self, code: Code, failure: Option<&str>, n: usize) -> String {
        match code {
            Code::Succeeded => String::new(),
            Code::Cancelled => {
                let reason = self
                    .cancel_reason
                    .clone()
                    .unwrap_or_else(|| "cancelled (the workflow was shut down)".into());
                if self.is_done() {
                    reason
                } else {
                    format!("{reason} (the workflow is stopping)")
                }
            }
            Code::Failed => match failure {
                Some(f) => f.to_string(),
                None => self.argo_failure(),
            },
            Code::Pending => match self.current_step() {
                Some((i, node)) if !node.message.is_empty() => format!(
                    "[{}/{n}] waiting for the step's pod: {}",
                    i + 1,
                    node.message
                ),
                _ if !self.message.is_empty() => {
                    format!("waiting for the Argo controller: {}", self.message)
                }
                _ => "waiting for the Argo controller to start the workflow".into(),
            },
            Code::Running | Code::Unknown => match self.current_step() {
                Some((i, node)) => {
                    let head = self.heads.get(i).map_or("", String::as_str);
                    let mut m = format!("[{}/{n}] {head}", i + 1);
                    if node.phase == "Pending" && !node.message.is_empty() {
                        m.push_str(&format!(" (waiting for its pod: {})", node.message));
                    }
                    m
                }
                None => format!("[1/{n}] {}", self.heads.first().map_or("", |h| h)),
            },
        }
    }

    /// A failure described from what Argo recorded: no step wrote an account of its own
    /// (its pod never ran, or the workflow failed around it).
    fn argo_failure(&self) -> String {
        if self.nodes_elsewhere {
            return format!(
                "the workflow {}: {} (its node status is compressed or offloaded; \
                 see the workflow in Argo)",
                phase_word(self.phase),
                self.message
            );
        }
        match self.failed_step() {
            Some((i, node)) => {
                let mut m = format!(
                    "statement {} of {} could not run: {}",
                    i + 1,
                    self.statements,
                    if node.message.is_empty() {
                        "the step failed without a message"
                    } else {
                        &node.message
                    }
                );
                if let Some(head) = self.heads.get(i) {
                    m.push_str(&format!("\n  in: {head}"));
                }
                if !self.message.is_empty() && self.message != node.message {
                    m.push_str(&format!("\n  workflow: {}", self.message));
                }
                m
            }
            None if !self.message.is_empty() => {
                format!(
                    "the workflow {} before its steps ran: {}",
                    phase_word(self.phase),
                    self.message
                )
            }
            None => format!("the workflow {} without a message", phase_word(self.phase)),
        }
    }
}

fn phase_word(p: WfPhase) -> &'static str {
    match p {
        WfPhase::Error => "hit an error",
        _ => "failed",
    }
}

/// FNV-1a, 32 bits: what Argo hashes node names with to name pods.
pub fn fnv32a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Argo's pod name, format v2 (the default since 3.2): `<workflow>-<template>-<hash of
/// the node name>`, the prefix cut to fit Kubernetes' 253 characters.
pub fn pod_name_v2(workflow: &str, node_name: &str, template: &str) -> String {
    if workflow == node_name {
        return workflow.to_string();
    }
    const MAX_PREFIX: usize = 253 - 10 - 1;
    let mut prefix = format!("{workflow}-{template}");
    if prefix.len() > MAX_PREFIX {
        let mut cut = MAX_PREFIX;
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    format!("{prefix}-{}", fnv32a(node_name))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        // From the FNV reference test suite (draft-eastlake-fnv).
        assert_eq!(fnv32a(""), 0x811c_9dc5);
        assert_eq!(fnv32a("a"), 0xe40c_292c);
        assert_eq!(fnv32a("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn pod_names_follow_argo() {
        assert_eq!(
            pod_name_v2("wf", "wf[0].step-1", "step-1"),
            format!("wf-step-1-{}", fnv32a("wf[0].step-1"))
        );
        assert_eq!(pod_name_v2("wf", "wf", "main"), "wf");
        let long = "w".repeat(300);
        let p = pod_name_v2(&long, "n", "t");
        assert_eq!(p.len(), 242 + 1 + fnv32a("n").to_string().len());
    }

    fn wf(phase: &str, nodes: Value) -> Value {
        json!({
            "metadata": {
                "name": "sqlflow-x", "namespace": "ns", "uid": "u-1", "resourceVersion": "7",
                "creationTimestamp": "2024-01-02T03:04:05Z",
                "annotations": {
                    "sqlflow.org/statements": "2", "sqlflow.org/user-id": "alice",
                    "sqlflow.org/timeout-seconds": "60", "sqlflow.org/last-fetch": "123",
                    "workflows.argoproj.io/pod-name-format": "v2",
                },
            },
            "spec": {"templates": [
                {"name": "main"},
                {"name": "step-1", "metadata": {"annotations": {"sqlflow.org/statement": "SELECT 1"}}},
                {"name": "step-2", "metadata": {"annotations": {"sqlflow.org/statement": "SELECT 2"}}},
            ]},
            "status": {"phase": phase, "nodes": nodes},
        })
    }

    fn pod(i: usize, phase: &str, message: &str) -> (String, Value) {
        let name = format!("sqlflow-x[{}].step-{}", i, i + 1);
        let id = format!("sqlflow-x-{}", fnv32a(&name));
        (
            id.clone(),
            json!({"id": id, "name": name, "type": "Pod", "templateName": format!("step-{}", i + 1),
                   "phase": phase, "message": message}),
        )
    }

    fn nodes(list: Vec<(String, Value)>) -> Value {
        Value::Object(list.into_iter().collect())
    }

    fn status(v: &Value) -> (Code, String) {
        let s = WfView::parse(v, 200).unwrap().status(None);
        (s.code(), s.message)
    }

    #[test]
    fn phases_map_to_codes() {
        assert_eq!(status(&wf("", json!(null))).0, Code::Pending);
        let (code, msg) = status(&wf(
            "Running",
            nodes(vec![pod(0, "Pending", "ErrImagePull: x")]),
        ));
        assert_eq!(code, Code::Pending);
        assert!(
            msg.contains("[1/2] waiting for the step's pod: ErrImagePull"),
            "{msg}"
        );
        let (code, msg) = status(&wf(
            "Running",
            nodes(vec![pod(0, "Succeeded", ""), pod(1, "Running", "")]),
        ));
        assert_eq!((code, msg.as_str()), (Code::Running, "[2/2] SELECT 2"));
        assert_eq!(status(&wf("Succeeded", json!({}))).0, Code::Succeeded);
        let (code, msg) = status(&wf(
            "Failed",
            nodes(vec![
                pod(0, "Succeeded", ""),
                pod(1, "Failed", "Error (exit code 1)"),
            ]),
        ));
        assert_eq!(code, Code::Failed);
        assert!(
            msg.starts_with("statement 2 of 2 could not run: Error (exit code 1)"),
            "{msg}"
        );
        let mut w = wf("Error", json!({}));
        w["status"]["message"] = json!("pods \"x\" is forbidden: exceeded quota: compute");
        let (code, msg) = status(&w);
        assert_eq!(code, Code::Failed);
        assert!(msg.contains("exceeded quota"), "{msg}");
    }

    #[test]
    fn shutdown_means_cancelled() {
        let mut w = wf("Running", nodes(vec![pod(0, "Running", "")]));
        w["spec"]["shutdown"] = json!("Terminate");
        w["metadata"]["annotations"]["sqlflow.org/cancel-reason"] = json!("cancelled by alice");
        let (code, msg) = status(&w);
        assert_eq!(code, Code::Cancelled);
        assert!(msg.starts_with("cancelled by alice"), "{msg}");
        w["status"]["phase"] = json!("Failed");
        assert_eq!(status(&w), (Code::Cancelled, "cancelled by alice".into()));
        // Finishing first wins over a late cancel.
        w["status"]["phase"] = json!("Succeeded");
        assert_eq!(status(&w).0, Code::Succeeded);
    }

    #[test]
    fn views_carry_pods_and_annotations() {
        let v = WfView::parse(&wf("Running", nodes(vec![pod(0, "Running", "")])), 200).unwrap();
        let step = v.steps[0].as_ref().unwrap();
        assert_eq!(
            step.pod,
            format!("sqlflow-x-step-1-{}", fnv32a("sqlflow-x[0].step-1"))
        );
        assert_eq!(v.user, "alice");
        assert_eq!(v.timeout_seconds, 60);
        assert_eq!(v.last_fetch_ms, 123);
        assert_eq!(v.created_ms, 1_704_164_645_000);
        assert!(v.steps[1].is_none());
        let mut w = wf("Running", nodes(vec![pod(0, "Running", "")]));
        w["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"] = json!("v1");
        let v = WfView::parse(&w, 200).unwrap();
        let (node_id, _) = pod(0, "Running", "");
        assert_eq!(v.steps[0].as_ref().unwrap().pod, node_id);
        // Not ours: no statement count.
        assert!(WfView::parse(&json!({"metadata": {"name": "other"}}), 200).is_none());
    }

    #[test]
    fn numbers_out_of_range_make_an_invalid_view_not_an_allocation() {
        let mut w = wf("Running", nodes(vec![pod(0, "Running", "")]));
        w["metadata"]["annotations"]["sqlflow.org/statements"] = json!("18446744073709551615");
        let v = WfView::parse(&w, 200).unwrap();
        assert!(v.steps.is_empty() && v.heads.is_empty() && v.statements == 0);
        assert_eq!(v.timeout_seconds, 0, "never reaped");
        let s = v.status(None);
        assert_eq!(s.code(), Code::Failed);
        assert!(
            s.message.contains("sqlflow.org/statements"),
            "{}",
            s.message
        );
        // The limit is Run's.
        let mut w = wf("Running", json!(null));
        w["metadata"]["annotations"]["sqlflow.org/statements"] = json!("3");
        assert!(WfView::parse(&w, 2).unwrap().invalid.is_some());
        assert!(WfView::parse(&w, 3).unwrap().invalid.is_none());
        // Cluster text is capped and redacted.
        let mut w = wf("Failed", json!({}));
        w["status"]["message"] = json!(format!("mysql://u:pw@h {}", "m".repeat(100_000)));
        let v = WfView::parse(&w, 200).unwrap();
        assert!(v.message.len() < MAX_MESSAGE + 40 && !v.message.contains(":pw@"));
    }
}
