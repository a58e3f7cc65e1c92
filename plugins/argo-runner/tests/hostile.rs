//! What an attacker can put in front of the runner: Workflow objects and pod logs it
//! shaped in the cluster, cursors and ids it made up, request ids it reuses. Each must
//! end as a clear error for that job or that call: never an allocation sized by the
//! attacker, a panic, a reply larger than a gRPC client accepts, or a password shown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use prost::Message as _;
use serde_json::json;
use sqlflow_plugin_api::ErrorCode;
use sqlflow_proto::sqlflow::{Message, Request, Response, job_status::Code, message::Kind};
use support::{
    Fake, Replica, T0, base_config, describe, eventually, failure_line, fast_tuning, head_line,
    request, row_line,
};

/// What tonic clients accept by default.
const GRPC_DEFAULT_MAX: usize = 4 << 20;

fn replica(fake: &Fake) -> Replica {
    Replica::start(fake, base_config(), fast_tuning())
}

/// A job whose first step's container runs, as Argo and the kubelet would leave it.
fn running_job(fake: &Fake, r: &Replica, sql: &str) -> String {
    let job = r.run(sql).unwrap();
    fake.start(&job);
    fake.step_running(&job, 0);
    r.wait_for(&job, Code::Running);
    job
}

fn message_line(text: &str, kind: Kind) -> Vec<u8> {
    let mut out = Vec::new();
    sqlflow_proto::stream::encode_record(
        &sqlflow_proto::step::Record {
            record: Some(sqlflow_proto::step::record::Record::Response(Response {
                response: Some(sqlflow_proto::sqlflow::response::Response::Message(
                    Message {
                        message: text.into(),
                        kind: kind as i32,
                    },
                )),
            })),
        },
        &mut out,
    );
    out.pop();
    out
}

// ---- 1. Numbers read from the cluster ----

#[test]
fn a_huge_statement_count_fails_that_job_and_nothing_else() {
    let fake = Fake::default();
    let r = replica(&fake);
    let bad = running_job(&fake, &r, "SELECT 1; SELECT 2");
    let good = running_job(&fake, &r, "SELECT 3");
    // Sized a vector of a trillion entries and aborted the process.
    fake.update(&bad, |w| {
        w["metadata"]["annotations"]["sqlflow.org/statements"] = json!("1000000000000");
    });
    let s = r.wait_for(&bad, Code::Failed);
    assert!(
        s.message.contains("sqlflow.org/statements") && s.message.contains("1000000000000"),
        "{}",
        s.message
    );
    let page = r.fetch(&bad, "").unwrap();
    assert!(page.eof && page.response.is_empty());
    let listed = r.list(10, "").unwrap();
    let entry = listed.jobs.iter().find(|j| j.job_id == bad).unwrap();
    assert_eq!(entry.status.as_ref().unwrap().code(), Code::Failed);
    // The runner and its other jobs are unaffected.
    r.health().unwrap();
    assert_eq!(
        r.fetch(&good, "").unwrap().job_status.unwrap().code(),
        Code::Running
    );
}

#[test]
fn every_out_of_range_number_in_a_workflow_is_an_error_naming_its_field() {
    let fake = Fake::default();
    let r = replica(&fake);
    type Breaker = Box<dyn Fn(&mut serde_json::Value, &str)>;
    let ann = |key: &'static str, value: &'static str| -> Breaker {
        Box::new(move |w, _| w["metadata"]["annotations"][key] = json!(value))
    };
    let cases: Vec<(&str, Breaker)> = vec![
        ("sqlflow.org/statements", ann("sqlflow.org/statements", "0")),
        (
            "sqlflow.org/statements",
            ann("sqlflow.org/statements", "-1"),
        ),
        // One more than Run accepts (max_statements = 200).
        (
            "sqlflow.org/statements",
            ann("sqlflow.org/statements", "201"),
        ),
        (
            "sqlflow.org/timeout-seconds",
            ann("sqlflow.org/timeout-seconds", "99999999999"),
        ),
        (
            "sqlflow.org/last-fetch",
            ann("sqlflow.org/last-fetch", "18446744073709551615"),
        ),
        (
            "sqlflow.org/exit-on-submit",
            ann("sqlflow.org/exit-on-submit", "maybe"),
        ),
        (
            "status.finishedAt",
            Box::new(|w, _| w["status"]["finishedAt"] = json!("the day after tomorrow")),
        ),
        (
            "status.finishedAt",
            Box::new(|w, _| w["status"]["finishedAt"] = json!(12)),
        ),
        (
            // Pod names v1 take the node id as the pod's name: it must be one.
            "status.nodes",
            Box::new(|w, job| {
                w["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"] = json!("v1");
                let nodes = w["status"]["nodes"].as_object_mut().unwrap();
                for n in nodes.values_mut() {
                    if n["type"] == "Pod" {
                        n["id"] = json!(format!("{job}/../../secrets/x"));
                    }
                }
            }),
        ),
    ];
    for (field, break_it) in cases {
        let job = running_job(&fake, &r, "SELECT 1; SELECT 2");
        fake.update(&job, |w| break_it(w, &job));
        let s = r.wait_for(&job, Code::Failed);
        assert!(s.message.contains(field), "{field}: {}", s.message);
        let page = r.fetch(&job, "").unwrap();
        assert!(page.eof, "{field}");
        // Cancel still answers (and the reaper leaves it alone).
        assert_eq!(r.cancel(&job).unwrap().code(), Code::Failed, "{field}");
    }
    r.health().unwrap();
}

#[test]
fn a_failure_record_with_an_out_of_range_index_is_reported_not_a_panic() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = running_job(&fake, &r, "SELECT 1; SELECT 2");
    fake.log(&job, 0, T0 + 10, 0, &head_line(&["a"]));
    let mut rec = failure_line(0, "SELECT 1", "boom");
    // statement_index = u32::MAX: `index + 1` overflowed.
    rec = {
        let mut out = Vec::new();
        sqlflow_proto::stream::encode_record(
            &sqlflow_proto::step::Record {
                record: Some(sqlflow_proto::step::record::Record::Failure(
                    sqlflow_proto::step::Failure {
                        statement_index: u32::MAX,
                        statement: "SELECT 1".into(),
                        error: "boom".into(),
                        setup: false,
                    },
                )),
            },
            &mut out,
        );
        out.pop();
        assert_ne!(out, rec);
        out
    };
    fake.log(&job, 0, T0 + 10, 1, &rec);
    fake.step_done(&job, 0, "Failed", "Error (exit code 1)");
    fake.finish(&job, "Failed", "");
    let s = r.wait_for(&job, Code::Failed);
    assert!(
        s.message.contains("statement_index") && s.message.contains("boom"),
        "{}",
        s.message
    );
    let pages = r.drain(&job, "");
    assert!(pages.last().unwrap().1.eof);
    // A second replica reads the same record from the log's tail.
    let other = replica(&fake);
    let s2 = other.fetch(&job, "").unwrap().job_status.unwrap();
    assert_eq!(s2.message, s.message);
}

// ---- 2. Bounded reads ----

#[test]
fn a_record_longer_than_the_page_is_an_error_for_that_job_not_an_allocation() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = running_job(&fake, &r, "SELECT x FROM big");
    fake.log(&job, 0, T0 + 10, 0, &head_line(&["x"]));
    // A 5 MiB record: larger than any record a reply may carry (3 MiB).
    let huge = message_line(&"y".repeat(5 << 20), Kind::Log);
    fake.log(&job, 0, T0 + 11, 0, &huge);
    fake.log(&job, 0, T0 + 12, 0, &row_line(1));
    let first = r.fetch(&job, "").unwrap();
    assert_eq!(describe(&first.response), ["head x"]);
    let e = r.fetch(&job, &first.next_cursor).unwrap_err();
    assert_eq!(e.code, ErrorCode::RESOURCE_EXHAUSTED, "{}", e.message);
    assert!(
        e.message
            .contains(&format!("a record of {} bytes", huge.len()))
            && e.message.contains("exceeds the limit of 3145728 bytes"),
        "{}",
        e.message
    );
    assert!(e.message.len() < 400, "{}", e.message);
}

#[test]
fn every_fetch_reply_fits_a_default_grpc_client() {
    let fake = Fake::default();
    let mut cfg = base_config();
    cfg["fetch_page_bytes"] = json!(3 << 20);
    let r = Replica::start(&fake, cfg, fast_tuning());
    let job = running_job(&fake, &r, "SELECT x FROM big");
    // Lines just under the page, many in one second: a page holds one of them.
    let line = "z".repeat((3 << 20) - 200);
    for i in 0..4 {
        fake.log(&job, 0, T0 + 10, i, line.as_bytes());
    }
    fake.step_done(&job, 0, "Succeeded", "");
    fake.finish(&job, "Succeeded", "");
    r.wait_for(&job, Code::Succeeded);
    let pages = r.drain(&job, "");
    let mut messages = 0;
    for (_, p) in &pages {
        assert!(
            p.encoded_len() < GRPC_DEFAULT_MAX,
            "{} bytes",
            p.encoded_len()
        );
        messages += p.response.len();
    }
    assert_eq!(messages, 4);
    assert!(pages.last().unwrap().1.eof);
    // A page above what a reply may carry is refused at start-up.
    let mut cfg = base_config();
    cfg["fetch_page_bytes"] = json!(8 << 20);
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Replica::start(&fake, cfg, fast_tuning())
    }));
    assert!(e.is_err(), "fetch_page_bytes = 8 MiB was accepted");
}

#[test]
fn a_failed_steps_huge_diagnostics_make_a_bounded_status() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = running_job(&fake, &r, "SELECT 1");
    let mut diag = b"sqlflow-step: cannot connect: ".to_vec();
    diag.extend(std::iter::repeat_n(b'q', 6 << 20));
    fake.log(&job, 0, T0 + 10, 0, &diag);
    fake.step_done(&job, 0, "Failed", "Error (exit code 1)");
    fake.finish(&job, "Failed", "");
    let s = r.wait_for(&job, Code::Failed);
    assert!(s.message.len() <= 8 << 10, "{} bytes", s.message.len());
    assert!(
        s.message.contains("cannot connect"),
        "{}",
        &s.message[..100]
    );
    let listed = r.list(10, "").unwrap();
    assert!(listed.encoded_len() < 64 << 10);
}

// ---- 3. Cursors and other client input ----

#[test]
fn hostile_cursors_are_invalid_arguments_with_short_messages() {
    let fake = Fake::default();
    let r = replica(&fake);
    let job = running_job(&fake, &r, "SELECT 1");
    fake.log(&job, 0, T0 + 10, 0, &head_line(&["a"]));
    let long = "x".repeat(5000);
    let long_cursor = format!("a1:0:{}:0:1:R", "9".repeat(5000));
    for bad in [
        // Beyond any time a log line can carry (was UNAVAILABLE).
        "a1:0:99999999999999:0:1:R",
        "a1:0:9223372036854775807:0:1:R",
        // More lines in one second than any read holds.
        "a1:0:1704164655:0:4294967295:R",
        "a1:4294967295:0:0:0:R",
        "a1:2:0:0:0:R",
        "a1:0:0:0:0:Z",
        "garbage",
        &long,
        &long_cursor,
    ] {
        let e = r.fetch(&job, bad).unwrap_err();
        assert_eq!(
            e.code,
            ErrorCode::INVALID_ARGUMENT,
            "{:.60}: {:.200}",
            bad,
            e.message
        );
        assert!(e.message.len() < 250, "{:.60}: {}", bad, e.message);
    }
    // Other client input is clipped too.
    let e = r.fetch(&format!("sqlflow-{long}"), "").unwrap_err();
    assert_eq!(e.code, ErrorCode::NOT_FOUND);
    assert!(e.message.len() < 250, "{}", e.message);
    let e = r.list(10, &long).unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT);
    assert!(e.message.len() < 250, "{}", e.message);
    let e = r
        .run_request(request("SELECT 1", &format!("{long}://h/d")))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT);
    assert!(e.message.len() < 250, "{}", e.message);
    // The job still reads normally.
    assert_eq!(describe(&r.fetch(&job, "").unwrap().response), ["head a"]);
}

// ---- 4. Request ids ----

#[test]
fn a_request_id_reused_for_another_program_or_datasource_is_already_exists() {
    let fake = Fake::default();
    let r = replica(&fake);
    let mut req: Request = request("SELECT 1", "mysql://u:p@db/x");
    req.request_id = "req-7".into();
    let first = r.run_request(req.clone()).unwrap();
    assert_eq!(r.run_request(req.clone()).unwrap(), first, "a retry");

    let mut other_program = req.clone();
    other_program.sql = "DROP TABLE important".into();
    let e = r.run_request(other_program).unwrap_err();
    assert_eq!(e.code, ErrorCode::ALREADY_EXISTS, "{}", e.message);
    assert!(
        e.message.contains("request_id") && e.message.contains("different program"),
        "{}",
        e.message
    );
    let mut other_db = req.clone();
    other_db.session.as_mut().unwrap().db_conn_str = "mysql://u:p@elsewhere/x".into();
    let e = r.run_request(other_db).unwrap_err();
    assert_eq!(e.code, ErrorCode::ALREADY_EXISTS, "{}", e.message);
    // The first job's objects are untouched.
    assert_eq!(fake.state().workflows.len(), 1);
    assert!(fake.secret(&first).is_some());
    assert_eq!(r.run_request(req).unwrap(), first, "still the same job");
}

// ---- 5. Passwords ----

#[test]
fn passwords_from_steps_argo_or_the_api_never_reach_statuses_messages_or_listings() {
    const PW: &str = "s3cr3tPW";
    let fake = Fake::default();
    let r = replica(&fake);
    let ds = format!("mysql://u:{PW}@db:3306/x");

    // The step quotes its connection string on stdout, in a record, and on stderr.
    let job = r.run_request(request("SELECT 1", &ds)).unwrap();
    fake.start(&job);
    fake.step_running(&job, 0);
    fake.log(
        &job,
        0,
        T0 + 10,
        0,
        format!("connecting to {ds}").as_bytes(),
    );
    fake.log(
        &job,
        0,
        T0 + 10,
        1,
        &message_line(&format!("retrying {ds}?password={PW}&ssl=1"), Kind::Error),
    );
    fake.log(
        &job,
        0,
        T0 + 10,
        2,
        format!("sqlflow-step: cannot connect to {ds}: Access denied").as_bytes(),
    );
    fake.step_done(&job, 0, "Failed", "Error (exit code 1)");
    fake.finish(&job, "Failed", "");
    let s = r.wait_for(&job, Code::Failed);
    assert!(
        s.message.contains("cannot connect to mysql://u:"),
        "{}",
        s.message
    );
    let pages = r.drain(&job, "");
    let shown = format!("{:?} {:?}", pages, r.list(10, "").unwrap());
    assert!(shown.contains("connecting to mysql://u:"), "{shown}");
    assert!(!shown.contains(PW), "{shown}");

    // Argo quotes it in a node's message; the step's Failure record in its error.
    let job = r.run_request(request("SELECT 1; SELECT 2", &ds)).unwrap();
    fake.start(&job);
    fake.step_waiting(&job, 0, &format!("CreateContainerError: bad env {ds}"));
    let mut s = Default::default();
    eventually("the pod's trouble is reported", || {
        s = r.fetch(&job, "").unwrap().job_status.unwrap();
        s.message.contains("bad env")
    });
    assert!(!s.message.contains(PW), "{}", s.message);
    fake.step_running(&job, 0);
    fake.log(
        &job,
        0,
        T0 + 10,
        0,
        &failure_line(0, "SELECT 1", &format!("lost {ds}")),
    );
    fake.step_done(&job, 0, "Failed", &format!("exit 1: {ds}"));
    fake.finish(&job, "Failed", &format!("child failed: {ds}"));
    let s = r.wait_for(&job, Code::Failed);
    assert!(s.message.contains("lost mysql://u:"), "{}", s.message);
    let shown = format!("{:?} {:?}", r.drain(&job, ""), r.list(10, "").unwrap());
    assert!(!shown.contains(PW), "{shown}");
    // A status made from Argo's words alone.
    let other = Replica::start(&fake, base_config(), fast_tuning());
    fake.delete_pods(&job);
    let s = other.fetch(&job, "").unwrap().job_status.unwrap();
    assert!(!s.message.contains(PW), "{}", s.message);

    // The API server echoes it in an error.
    fake.inject(
        "workflows",
        "create",
        422,
        "Invalid: env SQLFLOW_DATASOURCE=mysql://u:s3cr3tPW@db:3306/x",
        1,
    );
    let e = r.run_request(request("SELECT 1", &ds)).unwrap_err();
    assert!(e.message.contains("Invalid"), "{}", e.message);
    assert!(!e.message.contains(PW), "{}", e.message);
    // A datasource without a proper scheme is not quoted back.
    let e = r
        .run_request(request("SELECT 1", &format!("u:{PW}@db://x")))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT);
    assert!(!e.message.contains(PW), "{}", e.message);
}

#[test]
fn a_listing_of_many_long_failures_fits_a_default_grpc_client() {
    let fake = Fake::default();
    let r = replica(&fake);
    let n = 1000;
    let mut jobs = Vec::new();
    for i in 0..n {
        // The longest request id the host accepts (256 bytes), listed with each job.
        let mut req = request(&format!("SELECT {i}"), "mysql://u:p@db/x");
        req.request_id = format!("{i:0>256}");
        let job = r.run_request(req).unwrap();
        // Failed at once, as the controller would leave it, with a long account of why.
        let node_name = format!("{job}[0].step-1");
        let pod = Fake::pod_name(&job, 0);
        let mut diagnostic = b"sqlflow-step: ".to_vec();
        diagnostic.extend(std::iter::repeat_n(b'w', 10 << 10));
        fake.state().pods.insert(
            pod,
            support::fake::PodLog {
                started: true,
                lines: vec![(T0 + 10, 0, diagnostic)],
            },
        );
        fake.update(&job, |w| {
            w["metadata"]["annotations"]["workflows.argoproj.io/pod-name-format"] = json!("v2");
            w["status"] = json!({"phase": "Failed", "finishedAt": "2024-01-02T03:10:00Z",
                "nodes": {support::fake::node_id(&job, &node_name): {
                    "name": node_name, "type": "Pod", "templateName": "step-1",
                    "phase": "Failed", "message": "Error (exit code 1)"}}});
        });
        jobs.push(job);
    }
    eventually("every job failed", || {
        r.list(1000, "")
            .unwrap()
            .jobs
            .iter()
            .filter(|j| j.status.as_ref().unwrap().code() == Code::Failed)
            .count()
            == n
    });
    // Each job's status read once: the replica now knows every long failure text.
    for job in &jobs {
        let s = r.fetch(job, "").unwrap().job_status.unwrap();
        assert!(s.message.len() > 4000, "{}", s.message.len());
    }
    let mut token = String::new();
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let page = r.list(1000, &token).unwrap();
        assert!(
            page.encoded_len() < GRPC_DEFAULT_MAX,
            "{}",
            page.encoded_len()
        );
        seen += page.jobs.len();
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, n);
    assert!(pages > 1, "one page of {n} jobs");
}
