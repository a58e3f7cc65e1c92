//! The runner against a scripted Kubernetes API server: submission, status mapping,
//! log streaming across fetches, failure, cancel, idempotent Run, reaping, long-poll,
//! and the API calls each operation costs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::{sync::Arc, time::Duration};

use argo_runner::kubeapi::API_CALLS;
use serde_json::json;
use sqlflow_plugin_api::ErrorCode;
use sqlflow_proto::sqlflow::{Request, job_status::Code};
use support::{
    Fake, Replica, T0, base_config, describe, describe_pages, eoe_line, eventually, failure_line,
    fake::Call, fast_tuning, head_line, notify_waker, progress_line, request, row_line, start_line,
};

fn replica(fake: &Fake) -> Replica {
    Replica::start(fake, base_config(), fast_tuning())
}

/// Every call the runner made is one the RBAC Role grants.
fn assert_calls_are_granted(fake: &Fake) {
    for c in fake.calls() {
        assert!(
            API_CALLS.contains(&(c.resource.as_str(), c.verb.as_str())),
            "the runner made a call it does not declare: {} {}",
            c.verb,
            c.resource
        );
    }
}

/// Calls made by foreground work (the watch's own re-connections excluded).
fn foreground(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.verb != "watch")
        .map(|c| format!("{} {}", c.verb, c.resource))
        .collect()
}

fn calls_during<T>(fake: &Fake, f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let before = fake.calls().len();
    let out = f();
    let after = fake.calls();
    (out, foreground(&after[before..]))
}

#[test]
fn a_program_that_succeeds_streams_each_step_while_it_runs() {
    let fake = Fake::default();
    let mut cfg = base_config();
    cfg["argo_ui"] = json!("https://argo.example/");
    let r = Replica::start(&fake, cfg, fast_tuning());
    let (job, calls) = calls_during(&fake, || r.run("SELECT 1 AS a; SELECT 2 AS b").unwrap());
    assert_eq!(
        calls,
        ["create secrets", "create workflows", "patch secrets"],
        "Secret first, then the Workflow, then the owner reference"
    );
    let wf = fake.workflow(&job);
    let secret = fake.secret(&job).expect("the job's Secret");
    assert_eq!(
        secret["metadata"]["ownerReferences"][0]["uid"],
        wf["metadata"]["uid"]
    );
    assert_eq!(secret["metadata"]["ownerReferences"][0]["kind"], "Workflow");

    // Not yet picked up by the controller: the status comes from the watch, no call.
    let (first, calls) = calls_during(&fake, || r.fetch(&job, "").unwrap());
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(first.job_status.as_ref().unwrap().code(), Code::Pending);
    assert_eq!(
        describe(&first.response),
        [format!(
            "msg Log Argo workflow: https://argo.example/workflows/sqlflow/{job}"
        )]
    );
    assert!(!first.eof);
    let c1 = first.next_cursor.clone();

    fake.start(&job);
    fake.step_waiting(&job, 0, "ContainerCreating");
    eventually("the pending pod is reported", || {
        let s = r.fetch(&job, &c1).unwrap().job_status.unwrap();
        s.code() == Code::Pending
            && s.message
                .contains("[1/2] waiting for the step's pod: ContainerCreating")
    });

    fake.step_running(&job, 0);
    fake.log(&job, 0, T0 + 10, 0, &start_line(0, 2, "SELECT 1 AS a"));
    fake.log(&job, 0, T0 + 10, 1000, &head_line(&["a"]));
    fake.log(&job, 0, T0 + 10, 2000, b"a library printed this");
    eventually("step 1 is running", || {
        r.fetch(&job, &c1).unwrap().job_status.unwrap().code() == Code::Running
    });
    let (page, calls) = calls_during(&fake, || r.fetch(&job, &c1).unwrap());
    assert_eq!(
        calls,
        ["get pods/log"],
        "one log read and no status read per Fetch"
    );
    let status = page.job_status.clone().unwrap();
    assert_eq!(status.message, "[1/2] SELECT 1 AS a");
    assert_eq!(
        describe(&page.response),
        ["head a", "msg Log a library printed this"],
        "the running step's log arrives before the step ends"
    );
    let c2 = page.next_cursor.clone();
    // Nothing new: the same cursor comes back, still one log read.
    let (quiet, calls) = calls_during(&fake, || r.fetch(&job, &c2).unwrap());
    assert!(quiet.response.is_empty());
    assert_eq!(quiet.next_cursor, c2);
    assert_eq!(calls, ["get pods/log"]);

    fake.log(&job, 0, T0 + 11, 0, &row_line(1));
    fake.log(&job, 0, T0 + 11, 5, &eoe_line(0, "SELECT 1 AS a"));
    fake.step_done(&job, 0, "Succeeded", "");
    fake.step_running(&job, 1);
    fake.log(&job, 1, T0 + 12, 0, &start_line(1, 2, "SELECT 2 AS b"));
    fake.log(&job, 1, T0 + 12, 0, &progress_line("half way"));
    eventually("step 2 is running", || {
        r.fetch(&job, &c2).unwrap().job_status.unwrap().message == "[2/2] SELECT 2 AS b"
    });
    let page = r.fetch(&job, &c2).unwrap();
    assert_eq!(
        describe(&page.response),
        [
            "row Some(Int64(1))",
            "eoe 0 SELECT 1 AS a",
            "msg Progress half way"
        ],
        "the end of step 1 and the start of step 2 in one reply"
    );
    let c3 = page.next_cursor.clone();
    assert!(c3.starts_with("a1:1:"), "{c3}");

    fake.log(&job, 1, T0 + 13, 0, &head_line(&["b"]));
    fake.log(&job, 1, T0 + 13, 0, &row_line(2));
    fake.log(&job, 1, T0 + 13, 0, &eoe_line(1, "SELECT 2 AS b"));
    fake.step_done(&job, 1, "Succeeded", "");
    fake.finish(&job, "Succeeded", "");
    eventually("the job succeeded", || {
        r.fetch(&job, &c3).unwrap().job_status.unwrap().code() == Code::Succeeded
    });
    let last = r.fetch(&job, &c3).unwrap();
    assert!(last.eof);
    assert_eq!(
        describe(&last.response),
        ["head b", "row Some(Int64(2))", "eoe 1 SELECT 2 AS b"]
    );
    // At the end: no calls at all, and eof again.
    let (again, calls) = calls_during(&fake, || r.fetch(&job, &last.next_cursor).unwrap());
    assert!(again.eof && again.response.is_empty());
    assert!(calls.is_empty(), "{calls:?}");

    // Every cursor replays the same responses, and a full read equals the pieces.
    let whole = r.drain(&job, "");
    let all = describe_pages(&whole);
    assert_eq!(all.len(), 9);
    for cursor in ["", &c1, &c2, &c3] {
        let a = r.fetch(&job, cursor).unwrap();
        let b = r.fetch(&job, cursor).unwrap();
        assert_eq!(a.response, b.response);
        assert_eq!(a.next_cursor, b.next_cursor);
    }
    assert_calls_are_granted(&fake);
}

#[test]
fn a_failing_second_step_fails_the_job_with_its_own_error() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = r
        .run("SELECT 1 AS a; SELECT * FROM missing; SELECT 3")
        .unwrap();
    fake.start(&job);
    fake.step_running(&job, 0);
    fake.log(&job, 0, T0 + 10, 0, &head_line(&["a"]));
    fake.log(&job, 0, T0 + 10, 0, &row_line(1));
    fake.log(&job, 0, T0 + 10, 0, &eoe_line(0, "SELECT 1 AS a"));
    fake.step_done(&job, 0, "Succeeded", "");
    fake.step_running(&job, 1);
    fake.log(
        &job,
        1,
        T0 + 11,
        0,
        &start_line(1, 3, "SELECT * FROM missing"),
    );
    fake.log(
        &job,
        1,
        T0 + 11,
        0,
        &failure_line(1, "SELECT * FROM missing", "no such table: missing"),
    );
    fake.log(
        &job,
        1,
        T0 + 11,
        1,
        b"sqlflow-step: statement 2 of 3 failed: no such table: missing",
    );
    fake.log(&job, 1, T0 + 11, 1, b"  in: SELECT * FROM missing");
    fake.step_done(&job, 1, "Failed", "Error (exit code 1)");
    fake.finish(&job, "Failed", "child 'x' failed");
    let status = r.wait_for(&job, Code::Failed);
    assert_eq!(
        status.message,
        "statement 2 of 3 failed: no such table: missing\n  in: SELECT * FROM missing"
    );
    let pages = r.drain(&job, "");
    let last = &pages.last().unwrap().1;
    assert!(last.eof);
    let all = describe_pages(&pages);
    assert_eq!(
        all,
        ["head a", "row Some(Int64(1))", "eoe 0 SELECT 1 AS a"],
        "earlier output stays; the step's stderr report is the status, not output"
    );
    // A replica that never read the log finds the same text (from the step's log tail).
    let other = replica(&fake);
    let s = other.fetch(&job, &last.next_cursor).unwrap();
    assert_eq!(s.job_status.unwrap().message, status.message);
    assert_calls_are_granted(&fake);
}

#[test]
fn a_workflow_that_fails_before_any_pod_starts_says_why() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = r.run("SELECT 1").unwrap();
    fake.start(&job);
    fake.step_waiting(
        &job,
        0,
        "ImagePullBackOff: Back-off pulling image \"registry.example/sqlflow-step:test\"",
    );
    eventually("the pull failure is reported", || {
        let s = r.fetch(&job, "").unwrap().job_status.unwrap();
        s.code() == Code::Pending && s.message.contains("ImagePullBackOff")
    });
    fake.step_done(
        &job,
        0,
        "Failed",
        "ImagePullBackOff: Back-off pulling image \"registry.example/sqlflow-step:test\"",
    );
    fake.finish(&job, "Failed", "Step exceeded its deadline");
    let s = r.wait_for(&job, Code::Failed);
    assert!(
        s.message
            .starts_with("statement 1 of 1 could not run: ImagePullBackOff"),
        "{}",
        s.message
    );
    let pages = r.drain(&job, "");
    assert!(
        pages.last().unwrap().1.eof,
        "a step that never ran has no log to wait for"
    );

    // Quota: the controller cannot even create the pod; the workflow says so.
    let job = r.run("SELECT 1").unwrap();
    fake.update(&job, |w| {
        w["status"] = json!({"phase": "Error", "message":
            "pods \"x\" is forbidden: exceeded quota: compute-resources, requested: cpu=1, limited: cpu=0"});
    });
    let s = r.wait_for(&job, Code::Failed);
    assert!(s.message.contains("exceeded quota"), "{}", s.message);
    assert!(r.fetch(&job, "").unwrap().eof);
}

#[test]
fn cancel_terminates_the_workflow_and_the_job_ends_cancelled() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = r.run("SELECT sleep(3600)").unwrap();
    fake.start(&job);
    fake.step_running(&job, 0);
    r.wait_for(&job, Code::Running);
    let (status, calls) = calls_during(&fake, || r.cancel(&job).unwrap());
    assert_eq!(status.code(), Code::Cancelled);
    assert!(
        status.message.starts_with("cancelled by alice"),
        "{}",
        status.message
    );
    assert_eq!(calls, ["patch workflows"]);
    let wf = fake.workflow(&job);
    assert_eq!(wf["spec"]["shutdown"], "Terminate");
    assert_eq!(
        wf["metadata"]["annotations"]["sqlflow.org/cancel-reason"],
        "cancelled by alice"
    );
    // Argo stops it.
    fake.step_done(&job, 0, "Failed", "terminated");
    fake.finish(&job, "Failed", "Stopped with strategy 'Terminate'");
    eventually("eof after the cancel", || r.fetch(&job, "").unwrap().eof);
    let last = r.fetch(&job, "").unwrap();
    assert_eq!(last.job_status.unwrap().message, "cancelled by alice");
    // Cancelling again is harmless and costs no patch.
    let (again, calls) = calls_during(&fake, || r.cancel(&job).unwrap());
    assert_eq!(again.code(), Code::Cancelled);
    assert!(calls.is_empty(), "{calls:?}");
}

#[test]
fn a_retried_run_returns_the_same_job_and_others_cannot_see_it() {
    let fake = Fake::default();
    let r = replica(&fake);
    let mut req: Request = request("SELECT 1", "mysql://u:p@db/x");
    req.request_id = "req-42".into();
    let first = r.run_request(req.clone()).unwrap();
    let (second, calls) = calls_during(&fake, || r.run_request(req.clone()).unwrap());
    assert_eq!(first, second);
    assert_eq!(
        calls,
        [
            "create secrets",
            "create workflows",
            "get workflows",
            "patch secrets"
        ],
        "409 on both, then the existing job"
    );
    assert_eq!(fake.state().workflows.len(), 1);

    // The same request id from another user is another job.
    let bob = replica(&fake).acting_as("bob");
    let bobs = bob.run_request(req).unwrap();
    assert_ne!(bobs, first);
    // Another user's job answers exactly like a missing one.
    let e = bob.fetch(&first, "").unwrap_err();
    assert_eq!(e.code, ErrorCode::NOT_FOUND);
    let missing = bob
        .fetch("sqlflow-00000000000000000000000000000000", "")
        .unwrap_err();
    assert_eq!(
        e.message.replace(&first, "ID"),
        missing
            .message
            .replace("sqlflow-00000000000000000000000000000000", "ID")
    );
    assert_eq!(bob.cancel(&first).unwrap_err().code, ErrorCode::NOT_FOUND);
    for bad in ["../../etc/passwd", "no-such-job", ""] {
        assert_eq!(r.fetch(bad, "").unwrap_err().code, ErrorCode::NOT_FOUND);
    }
    let listed = r.list(10, "").unwrap();
    assert_eq!(listed.jobs.len(), 1);
    assert_eq!(listed.jobs[0].job_id, first);
    assert_eq!(listed.jobs[0].request_id, "req-42");
}

#[test]
fn an_abandoned_job_is_reaped_but_not_while_any_replica_serves_it() {
    let fake = Fake::default();
    let a = replica(&fake);
    let b = replica(&fake);
    let mut req = request("SELECT sleep(3600)", "mysql://u:p@db/x");
    req.timeout_seconds = 2;
    let abandoned = a.run_request(req.clone()).unwrap();
    let followed = a.run_request(req.clone()).unwrap();
    let mut detached = req.clone();
    detached.session.as_mut().unwrap().exit_on_submit = true;
    let detached = a.run_request(detached).unwrap();
    for j in [&abandoned, &followed, &detached] {
        fake.start(j);
        fake.step_running(j, 0);
    }
    // Only replica A serves the followed job; replica B's reaper sees the lease.
    let start = std::time::Instant::now();
    let before = fake.calls().len();
    while start.elapsed() < Duration::from_secs(5) {
        a.fetch(&followed, "").unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let wf = fake.workflow(&abandoned);
    assert_eq!(
        wf["spec"]["shutdown"], "Terminate",
        "abandoned after T = 2 s"
    );
    let reason = wf["metadata"]["annotations"]["sqlflow.org/cancel-reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("abandoned: no client fetched this job for 2 s"),
        "{reason}"
    );
    assert!(
        fake.workflow(&followed)["spec"]["shutdown"].is_null(),
        "reaped while fetched"
    );
    assert!(
        fake.workflow(&detached)["spec"]["shutdown"].is_null(),
        "exit_on_submit jobs stay"
    );
    // ~50 fetches in 5 s with T/4 = 0.5 s: about 10 lease patches, not 50.
    let lease_patches = fake.calls()[before..]
        .iter()
        .filter(|c| {
            c.verb == "patch"
                && c.name.as_deref() == Some(followed.as_str())
                && c.body.as_ref().is_some_and(|b| {
                    !b["metadata"]["annotations"]["sqlflow.org/last-fetch"].is_null()
                })
        })
        .count();
    assert!(
        (4..=12).contains(&lease_patches),
        "{lease_patches} lease patches"
    );
    // The reaped job reads as cancelled, with the reason.
    fake.finish(&abandoned, "Failed", "Stopped with strategy 'Terminate'");
    let s = a.wait_for(&abandoned, Code::Cancelled);
    assert!(s.message.starts_with("abandoned"), "{}", s.message);
    drop(b);
    assert_calls_are_granted(&fake);
}

#[test]
fn log_lines_with_equal_second_resolution_timestamps_span_fetches_exactly_once() {
    let fake = Fake::default();
    let mut cfg = base_config();
    cfg["fetch_page_bytes"] = json!(1024);
    let r = Replica::start(&fake, cfg, fast_tuning());
    let job = r.run("SELECT n FROM t").unwrap();
    fake.start(&job);
    fake.step_running(&job, 0);
    r.wait_for(&job, Code::Running);
    let mut expected = Vec::new();
    // Many lines in the same second, several with exactly the same timestamp, so pages
    // end inside a second and inside a run of equal timestamps.
    let mut n = 0;
    for sec in 0..6 {
        for nanos in [0u32, 0, 0, 500, 500, 999_999_999] {
            for _ in 0..4 {
                fake.log(&job, 0, T0 + 20 + sec, nanos, &row_line(n));
                expected.push(format!("row Some(Int64({n}))"));
                n += 1;
            }
        }
    }
    let mut got = Vec::new();
    let mut cursor = String::new();
    let mut cursors = Vec::new();
    let mut pages = 0;
    loop {
        let p = r.fetch(&job, &cursor).unwrap();
        if p.response.is_empty() && p.next_cursor == cursor {
            break;
        }
        got.extend(describe(&p.response));
        cursors.push((cursor.clone(), p.response.clone()));
        cursor = p.next_cursor;
        pages += 1;
        // More lines arrive, in the same second as the last ones read.
        if pages == 3 {
            for _ in 0..5 {
                fake.log(&job, 0, T0 + 25, 999_999_999, &row_line(n));
                expected.push(format!("row Some(Int64({n}))"));
                n += 1;
            }
        }
    }
    assert!(pages > 5, "small pages: {pages}");
    assert_eq!(got, expected, "every line once, in order");
    for (c, page) in &cursors {
        assert_eq!(&r.fetch(&job, c).unwrap().response, page, "replay of {c}");
    }
}

#[test]
fn a_long_poll_is_woken_by_new_log_lines_and_by_state_changes() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = r.run("SELECT 1").unwrap();
    fake.start(&job);
    fake.step_running(&job, 0);
    r.wait_for(&job, Code::Running);
    let quiet = r.drain(&job, "").pop().unwrap().1;
    let cursor = quiet.next_cursor.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();

    let notify = Arc::new(tokio::sync::Notify::new());
    let p = r
        .fetch_with(&job, &cursor, Some(notify_waker(&notify)))
        .unwrap();
    assert!(p.response.is_empty());
    fake.log(&job, 0, T0 + 30, 0, &head_line(&["x"]));
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), notify.notified()).await })
        .expect("woken by the log line");
    let p = r.fetch(&job, &cursor).unwrap();
    assert_eq!(describe(&p.response), ["head x"]);

    let notify = Arc::new(tokio::sync::Notify::new());
    let quiet = r
        .fetch_with(&job, &p.next_cursor, Some(notify_waker(&notify)))
        .unwrap();
    assert!(quiet.response.is_empty());
    fake.step_done(&job, 0, "Succeeded", "");
    fake.finish(&job, "Succeeded", "");
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), notify.notified()).await })
        .expect("woken by the workflow's changes");
    eventually("eof", || r.fetch(&job, &p.next_cursor).unwrap().eof);
}

#[test]
fn errors_carry_the_right_codes() {
    let fake = Fake::default();
    let r = replica(&fake);
    // Refused before any call.
    assert_eq!(r.run("  ").unwrap_err().code, ErrorCode::INVALID_ARGUMENT);
    assert_eq!(
        r.run_request(request("SELECT 1", "")).unwrap_err().code,
        ErrorCode::INVALID_ARGUMENT
    );
    let e = r
        .run_request(request("SELECT 'open", "mysql://h/d"))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT);
    assert!(e.message.contains("unterminated"), "{}", e.message);
    // RBAC forbids: PERMISSION_DENIED, naming what to grant.
    fake.inject("secrets", "create", 403, "Forbidden", 1);
    let e = r.run("SELECT 1").unwrap_err();
    assert_eq!(e.code, ErrorCode::PERMISSION_DENIED);
    assert!(e.message.contains("rbac"), "{}", e.message);
    // The API server is failing: UNAVAILABLE; the Secret of the failed Run is removed.
    fake.inject("workflows", "create", 503, "ServiceUnavailable", 1);
    let e = r.run("SELECT 1").unwrap_err();
    assert_eq!(e.code, ErrorCode::UNAVAILABLE);
    assert!(
        fake.state().secrets.is_empty(),
        "no Secret outlives a failed Run"
    );
    // Argo is not installed.
    fake.inject("workflows", "create", 404, "NotFound", 1);
    let e = r.run("SELECT 1").unwrap_err();
    assert_eq!(e.code, ErrorCode::FAILED_PRECONDITION);
    assert!(
        e.message.contains("Argo Workflows installed"),
        "{}",
        e.message
    );

    let job = r.run("SELECT 1").unwrap();
    for bad in [
        "not a cursor",
        "\u{0}\u{1}",
        "999999999999999999999999999999",
        "a1:5:0:0:0:R",
    ] {
        assert_eq!(
            r.fetch(&job, bad).unwrap_err().code,
            ErrorCode::INVALID_ARGUMENT,
            "{bad:?}"
        );
    }
    // A log read the API refuses surfaces with its code.
    fake.start(&job);
    fake.step_running(&job, 0);
    r.wait_for(&job, Code::Running);
    fake.inject("pods/log", "get", 403, "Forbidden", 1);
    assert_eq!(
        r.fetch(&job, "").unwrap_err().code,
        ErrorCode::PERMISSION_DENIED
    );
}

#[test]
fn logs_of_collected_pods_are_reported_missing_not_waited_for() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = r.run("SELECT 1").unwrap();
    fake.start(&job);
    fake.step_running(&job, 0);
    fake.log(&job, 0, T0 + 10, 0, &head_line(&["a"]));
    fake.step_done(&job, 0, "Succeeded", "");
    fake.finish(&job, "Succeeded", "");
    fake.delete_pods(&job);
    r.wait_for(&job, Code::Succeeded);
    let pages = r.drain(&job, "");
    let last = &pages.last().unwrap().1;
    assert!(last.eof);
    let all = describe_pages(&pages);
    assert_eq!(all.len(), 1);
    assert!(
        all[0].contains("its pod") && all[0].contains("was deleted"),
        "{all:?}"
    );
}

#[test]
fn the_sweeper_adopts_or_removes_secrets_left_without_an_owner() {
    let fake = Fake::default();
    // A Run that died after creating the Workflow, and one that died before.
    let r = replica(&fake);
    let adopted = r.run("SELECT 1").unwrap();
    fake.state().secrets.get_mut(&adopted).unwrap()["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences");
    let orphan = "sqlflow-0123456789abcdef0123456789abcdef";
    fake.state().secrets.insert(
        orphan.into(),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": orphan,
               "labels": {"app.kubernetes.io/managed-by": "sqlflow-argo-runner"},
               "creationTimestamp": "2024-01-02T03:04:05Z"}}),
    );
    let mut tuning = fast_tuning();
    tuning.sweep_every = Duration::from_millis(200);
    tuning.sweep_min_age = Duration::from_secs(0);
    let _sweeper = Replica::start(&fake, base_config(), tuning);
    eventually("the orphan is removed", || fake.secret(orphan).is_none());
    eventually("the other is adopted", || {
        fake.secret(&adopted).unwrap()["metadata"]["ownerReferences"][0]["uid"]
            == fake.workflow(&adopted)["metadata"]["uid"]
    });
    assert_calls_are_granted(&fake);
}

#[test]
fn listing_pages_through_the_callers_jobs_newest_first() {
    let fake = Fake::default();
    let r = replica(&fake);
    let jobs: Vec<String> = (0..5)
        .map(|i| r.run(&format!("SELECT {i}")).unwrap())
        .collect();
    let bob = replica(&fake).acting_as("bob");
    bob.run("SELECT 'bob'").unwrap();
    eventually("all listed", || r.list(100, "").unwrap().jobs.len() == 5);
    let p1 = r.list(2, "").unwrap();
    let p2 = r.list(2, &p1.next_page_token).unwrap();
    let p3 = r.list(2, &p2.next_page_token).unwrap();
    assert!(p3.next_page_token.is_empty());
    let ids: Vec<String> = [p1, p2, p3]
        .iter()
        .flat_map(|p| p.jobs.iter().map(|j| j.job_id.clone()))
        .collect();
    let mut newest_first = jobs.clone();
    newest_first.reverse();
    assert_eq!(ids, newest_first);
    assert_eq!(
        r.list(0, "garbage").unwrap_err().code,
        ErrorCode::INVALID_ARGUMENT
    );
}
