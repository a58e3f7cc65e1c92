//! Faults, for real: the server killed with SIGKILL and restarted, job processes killed,
//! both while the other is down. Nothing is lost, nothing is delivered twice, and no job
//! is left RUNNING without a live process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use sqlflow_e2e::{
    IDLE_SQL, Server, alive, fetch, fetch_all, run,
    sqlflow::{Response, job_status::Code, response},
    wait_for_status, wait_job_process,
};
use tonic::transport::Channel;

type Client = sqlflow_e2e::sqlflow::sql_flow_client::SqlFlowClient<Channel>;

/// About three seconds of work in ten statements, then a 3000-row table.
fn gradual_program() -> String {
    let mut p = String::new();
    for step in 1..=10 {
        p.push_str(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900000) \
             SELECT {step} AS step, count(*) AS n FROM n;\n"
        ));
    }
    p.push_str(
        "WITH RECURSIVE m(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM m WHERE i < 3000) \
         SELECT i, 'row ' || i AS label FROM m;",
    );
    p
}

fn eoes(responses: &[Response]) -> usize {
    responses
        .iter()
        .filter(|r| matches!(r.response, Some(response::Response::Eoe(_))))
        .count()
}

/// Fetches with retries while the server is unreachable, as a client would.
async fn fetch_retrying(
    c: &mut Client,
    job: &str,
    cursor: &str,
) -> sqlflow_e2e::sqlflow::Responses {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match fetch(c, job, cursor, 500).await {
            Ok(r) => return r,
            Err(s) if s.code() == tonic::Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("fetch failed: {s:?}"),
        }
    }
}

/// Timing fields differ between runs; everything else must not.
fn without_timings(mut rs: Vec<Response>) -> Vec<Response> {
    for r in &mut rs {
        if let Some(response::Response::Eoe(e)) = &mut r.response {
            e.spent_time_seconds = 0;
            e.spent_time_micros = 0;
        }
    }
    rs
}

#[tokio::test]
async fn a_killed_server_loses_nothing_and_repeats_nothing() {
    let mut server = Server::builder()
        .local_runner("fetch_page_bytes = 4096")
        .start();
    let mut c = server.client().await;
    let program = gradual_program();
    let job = run(&mut c, &program).await;

    // Follow the job for a while, then crash the server mid-job.
    let mut got = Vec::new();
    let mut cursor = String::new();
    while eoes(&got) < 3 {
        let r = fetch(&mut c, &job, &cursor, 1000).await.unwrap();
        got.extend(r.response);
        cursor = r.next_cursor;
        assert!(!r.eof, "the job ended before the crash");
    }
    server.kill9();
    let (pid, _) = wait_job_process(&server, &job);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(alive(pid), "the job died with the server");
    server.start_again();

    // The same client carries on from its last cursor.
    loop {
        let r = fetch_retrying(&mut c, &job, &cursor).await;
        got.extend(r.response);
        cursor = r.next_cursor;
        if r.eof {
            assert_eq!(r.job_status.unwrap().code(), Code::Succeeded);
            break;
        }
    }
    // Exactly once, in order: the same as one read of the finished job from the start.
    let (whole, _) = fetch_all(&mut c, &job).await;
    assert_eq!(got.len(), whole.len());
    assert!(
        got == whole,
        "the interrupted read differs from an undisturbed one"
    );
    assert_eq!(eoes(&got), 11);

    // And the same as a run the server never interrupted.
    let undisturbed = run(&mut c, &program).await;
    let (clean, _) = fetch_all(&mut c, &undisturbed).await;
    assert!(without_timings(got) == without_timings(clean));
}

#[tokio::test]
async fn jobs_finish_while_the_server_is_down_and_are_reported_after() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let job = run(
        &mut c,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500000) \
         SELECT count(*) AS n FROM n",
    )
    .await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    server.kill9();
    let status_file = server.jobs_dir().join(&job).join("status.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status_file.exists() {
        assert!(
            Instant::now() < deadline,
            "the job did not finish while the server was down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.start_again();
    let mut c = server.client().await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Succeeded);
    assert_eq!(sqlflow_e2e::shape(&responses), "HRE");
}

/// The worker is the step supervisor's only child.
fn worker_of(supervisor: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[tokio::test]
async fn a_killed_job_process_fails_the_job_naming_the_signal() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    let (supervisor, _) = wait_job_process(&server, &job);
    let deadline = Instant::now() + Duration::from_secs(10);
    let worker = loop {
        if let Some(w) = worker_of(supervisor) {
            break w;
        }
        assert!(Instant::now() < deadline, "no worker process");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let status = wait_for_status(&mut c, &job, Code::Failed, Duration::from_secs(5)).await;
    assert!(
        status.message.contains("killed by signal 9 (SIGKILL)"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn a_job_whose_supervisor_dies_runs_on() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(
        &mut c,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) \
         SELECT count(*) AS n FROM n",
    )
    .await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    let (supervisor, _) = wait_job_process(&server, &job);
    while worker_of(supervisor).is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The worker holds the job's lock, so the job is alive and finishes normally.
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Succeeded, "{}", status.message);
    assert_eq!(sqlflow_e2e::shape(&responses), "HRE");
}

#[tokio::test]
async fn no_job_stays_running_without_a_process_across_a_restart() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    let (pid, pgid) = wait_job_process(&server, &job);
    server.kill9();
    // The whole job dies while nobody watches.
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    while alive(pid) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.start_again();
    let mut c = server.client().await;
    let r = fetch(&mut c, &job, "", 0).await.unwrap();
    let status = r.job_status.unwrap();
    assert_eq!(status.code(), Code::Failed, "{}", status.message);
    assert!(
        status.message.contains("ended without reporting a result"),
        "{}",
        status.message
    );
    assert!(
        server
            .log()
            .contains("a job ended while the server was away")
    );
}

#[tokio::test]
async fn a_job_accepted_but_not_started_before_a_crash_runs_after_the_restart() {
    // One slot: the second job waits in the queue when the server dies.
    let mut server = Server::builder()
        .local_runner("max_running_jobs = 1")
        .start();
    let mut c = server.client().await;
    let first = run(
        &mut c,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500000) \
         SELECT count(*) FROM n",
    )
    .await;
    let queued = run(&mut c, "SELECT 'ran after the restart' AS note").await;
    let r = fetch(&mut c, &queued, "", 0).await.unwrap();
    assert_eq!(r.job_status.unwrap().code(), Code::Pending);
    server.kill9();
    server.start_again();
    let mut c = server.client().await;
    let (_, s1) = fetch_all(&mut c, &first).await;
    assert_eq!(s1.code(), Code::Succeeded);
    let (responses, s2) = fetch_all(&mut c, &queued).await;
    assert_eq!(s2.code(), Code::Succeeded, "{}", s2.message);
    assert_eq!(sqlflow_e2e::shape(&responses), "HRE");
}

/// With `sync_writes`, a job's final status is flushed as the last record of its output
/// and status.json is written after it without a flush (one flush at the end, not
/// three). A power loss may take status.json or leave it empty: after the restart the
/// job still reports the same end, at the same time, with the same output.
#[tokio::test]
async fn a_final_status_whose_status_json_was_lost_is_read_from_the_output() {
    let mut server = Server::builder().sync_writes(true).start();
    let mut c = server.client().await;
    let ok = run(&mut c, "SELECT 1 AS a; SELECT 2 AS b").await;
    let failed = run(&mut c, "SELECT 1 AS a; SELECT * FROM no_such_table").await;
    let mut before = Vec::new();
    for job in [&ok, &failed] {
        before.push(fetch_all(&mut c, job).await);
    }
    assert_eq!(before[0].1.code(), Code::Succeeded);
    assert_eq!(before[1].1.code(), Code::Failed);
    server.kill9();
    let work = server.dir().join("jobs");
    // What a power loss can do to a file written without a flush.
    std::fs::remove_file(work.join(&ok).join("status.json")).unwrap();
    std::fs::write(work.join(&failed).join("status.json"), b"").unwrap();
    server.start_again();
    let mut c = server.client().await;
    for (job, (responses, status)) in [&ok, &failed].into_iter().zip(before) {
        let (again, status_again) = fetch_all(&mut c, job).await;
        assert_eq!(status_again, status, "job {job}");
        assert!(again == responses, "job {job}: the output changed");
        let listed = sqlflow_e2e::job_info(&mut c, job).await.expect("listed");
        assert_eq!(listed.status.unwrap(), status);
    }
    // status.json is back, the quick way to read it.
    let restored = std::fs::read(work.join(&failed).join("status.json")).unwrap();
    assert!(
        restored.starts_with(b"{\"code\":\"FAILED\""),
        "{restored:?}"
    );
}
