//! A job's life beyond run-and-fetch: the abandonment timeout, idempotent Run, retention,
//! per-job limits, per-user concurrency with a fair queue, and ListJobs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use sqlflow_e2e::{
    IDLE_SQL, SLOW_SQL, Server, authed, fetch, fetch_all, output_ok, run, run_with,
    sqlflow::{
        FetchRequest, JobId, ListJobsRequest, Request, Session, job_status::Code,
        sql_flow_client::SqlFlowClient,
    },
    wait_for_status,
};
use tonic::transport::Channel;

fn request(sql: &str) -> Request {
    Request {
        sql: sql.into(),
        session: Some(Session::default()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_job_nobody_fetches_is_cancelled_after_its_timeout() {
    let server = Server::start();
    let mut c = server.client().await;
    let abandoned = run_with(
        &mut c,
        Request {
            timeout_seconds: 2,
            ..request(IDLE_SQL)
        },
    )
    .await;
    let watched = run_with(
        &mut c,
        Request {
            timeout_seconds: 2,
            ..request(IDLE_SQL)
        },
    )
    .await;
    let detached = run_with(
        &mut c,
        Request {
            timeout_seconds: 2,
            session: Some(Session {
                exit_on_submit: true,
                ..Default::default()
            }),
            ..request(IDLE_SQL)
        },
    )
    .await;
    // Keep fetching `watched` (twice a second, well inside T) for five seconds.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let r = fetch(&mut c, &watched, "", 0).await.unwrap();
        // On a loaded machine its process may not have started yet: Pending is alive too.
        let code = r.job_status.unwrap().code();
        assert!(
            matches!(code, Code::Running | Code::Pending),
            "a watched job was reaped: {code:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Looking at the abandoned job now renews its lease, but it is too late.
    let r = fetch(&mut c, &abandoned, "", 0).await.unwrap();
    let s = r.job_status.unwrap();
    assert_eq!(s.code(), Code::Cancelled, "{}", s.message);
    assert!(s.message.contains("abandoned"), "{}", s.message);
    let r = fetch(&mut c, &detached, "", 0).await.unwrap();
    assert_eq!(
        r.job_status.unwrap().code(),
        Code::Running,
        "an exit_on_submit job was reaped"
    );
    for j in [watched, detached] {
        c.cancel(JobId { job_id: j }).await.unwrap();
    }
}

#[tokio::test]
async fn the_lease_survives_a_restart() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let job = run_with(
        &mut c,
        Request {
            timeout_seconds: 4,
            ..request(IDLE_SQL)
        },
    )
    .await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    // Renew the lease past the one-second on-disk granularity, then crash.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fetch(&mut c, &job, "", 0).await.unwrap();
    let last_fetch = Instant::now();
    server.kill9();
    server.start_again();
    let mut c = server.client().await;
    // Just after the restart the job is still within its lease (read without renewing
    // it: the job directory shows the state without a Fetch).
    let status_file = server.jobs_dir().join(&job).join("status.json");
    while last_fetch.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !status_file.exists(),
        "reaped right after the restart: the lease was lost"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !status_file.exists() {
        assert!(
            Instant::now() < deadline,
            "the abandoned job was never reaped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last_fetch.elapsed() >= Duration::from_secs(4));
    let r = fetch(&mut c, &job, "", 0).await.unwrap();
    assert_eq!(r.job_status.unwrap().code(), Code::Cancelled);
}

#[tokio::test]
async fn the_same_request_id_returns_the_same_job_even_after_a_restart() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let with_id = |id: &str| Request {
        request_id: id.into(),
        ..request("SELECT 1")
    };
    let a = run_with(&mut c, with_id("req-1")).await;
    let b = run_with(&mut c, with_id("req-1")).await;
    let other = run_with(&mut c, with_id("req-2")).await;
    assert_eq!(a, b);
    assert_ne!(a, other);
    server.restart();
    let mut c = server.client().await;
    assert_eq!(run_with(&mut c, with_id("req-1")).await, a);
    // Only two jobs exist.
    let listed = c
        .list_jobs(ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.jobs.len(), 2);
}

#[tokio::test]
async fn finished_jobs_are_removed_after_the_retention_period() {
    let server = Server::builder()
        .local_runner("retention_seconds = 1")
        .start();
    let mut c = server.client().await;
    let job = run(&mut c, "SELECT 1").await;
    fetch_all(&mut c, &job).await;
    let dir = server.jobs_dir().join(&job);
    assert!(dir.exists());
    let deadline = Instant::now() + Duration::from_secs(15);
    while dir.exists() {
        assert!(Instant::now() < deadline, "the job was not removed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gone = fetch(&mut c, &job, "", 0).await.unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);
}

async fn failed_with(server: &Server, sql: &str) -> String {
    let mut c = server.client().await;
    let job = run(&mut c, sql).await;
    let (_, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Failed, "{}", status.message);
    status.message
}

#[tokio::test]
async fn breaking_a_limit_fails_the_job_naming_the_limit() {
    let server = Server::builder()
        .local_runner("[runners.local.limits]\nmemory_mb = 200\ncpu_seconds = 1\noutput_mb = 1")
        .start();
    let m = failed_with(&server, "SELECT length(randomblob(400000000))").await;
    assert!(m.contains("limits.memory_mb = 200"), "{m}");
    let m = failed_with(&server, SLOW_SQL).await;
    assert!(m.contains("limits.cpu_seconds = 1"), "{m}");
    let m = failed_with(
        &server,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         SELECT i, printf('%050d', i) FROM n",
    )
    .await;
    assert!(
        m.contains("output limit") && m.contains("limits.output_mb = 1"),
        "{m}"
    );

    let wall = Server::builder()
        .local_runner("[runners.local.limits]\nwall_seconds = 1")
        .start();
    let m = failed_with(&wall, IDLE_SQL).await;
    assert!(m.contains("limits.wall_seconds = 1"), "{m}");
}

type Client = SqlFlowClient<Channel>;

async fn run_as(c: &mut Client, token: &str, sql: &str) -> String {
    c.run(authed(request(sql), token))
        .await
        .unwrap()
        .into_inner()
        .job_id
}

async fn code_as(c: &mut Client, token: &str, job: &str) -> Code {
    let r = c
        .fetch(authed(
            FetchRequest {
                job: Some(JobId { job_id: job.into() }),
                cursor: String::new(),
                wait_ms: 0,
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner();
    r.job_status.unwrap().code()
}

#[tokio::test]
async fn each_user_runs_at_most_n_jobs_and_the_rest_queue() {
    let server = Server::builder()
        .users(&[("alice", "tok-alice"), ("bob", "tok-bob")])
        .local_runner("max_running_per_user = 2")
        .start();
    let mut c = server.client().await;
    let a: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(run_as(&mut c, "tok-alice", IDLE_SQL).await);
        }
        v
    };
    let b = run_as(&mut c, "tok-bob", IDLE_SQL).await;
    // Bob is not held back by alice's queue.
    for (job, token) in [(&a[0], "tok-alice"), (&a[1], "tok-alice"), (&b, "tok-bob")] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while code_as(&mut c, token, job).await != Code::Running {
            assert!(Instant::now() < deadline, "job {job} did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(code_as(&mut c, "tok-alice", &a[2]).await, Code::Pending);
    // A slot frees: alice's queued job starts.
    c.cancel(authed(
        JobId {
            job_id: a[0].clone(),
        },
        "tok-alice",
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while code_as(&mut c, "tok-alice", &a[2]).await != Code::Running {
        assert!(Instant::now() < deadline, "the queued job never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (job, token) in [(&a[1], "tok-alice"), (&a[2], "tok-alice"), (&b, "tok-bob")] {
        c.cancel(authed(
            JobId {
                job_id: job.clone(),
            },
            token,
        ))
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn the_queue_is_round_robin_across_users() {
    // One slot for everyone: start order shows the queue's order.
    let server = Server::builder()
        .users(&[("alice", "tok-alice"), ("bob", "tok-bob")])
        .local_runner("max_running_jobs = 1")
        .start();
    let mut c = server.client().await;
    let blocker = run_as(&mut c, "tok-alice", IDLE_SQL).await;
    let a1 = run_as(&mut c, "tok-alice", "SELECT 'a1'").await;
    let a2 = run_as(&mut c, "tok-alice", "SELECT 'a2'").await;
    let b1 = run_as(&mut c, "tok-bob", "SELECT 'b1'").await;
    assert_eq!(code_as(&mut c, "tok-bob", &b1).await, Code::Pending);
    c.cancel(authed(JobId { job_id: blocker }, "tok-alice"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while code_as(&mut c, "tok-alice", &a2).await != Code::Succeeded {
        assert!(Instant::now() < deadline, "the queue did not drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Start order from the step processes' records: a1, then bob's b1, then a2.
    let started = |job: &str| {
        std::fs::metadata(server.jobs_dir().join(job).join("process.json"))
            .unwrap()
            .modified()
            .unwrap()
    };
    assert!(started(&a1) <= started(&b1), "b1 started before a1");
    assert!(
        started(&b1) <= started(&a2),
        "a2 started before bob's b1: the queue is not fair"
    );
}

#[tokio::test]
async fn list_jobs_pages_newest_first_and_shows_only_your_own() {
    let server = Server::builder()
        .users(&[("alice", "tok-alice"), ("bob", "tok-bob")])
        .start();
    let mut c = server.client().await;
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(
            run_as(
                &mut c,
                "tok-alice",
                &format!("SELECT {i} AS n\n-- second line"),
            )
            .await,
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let bobs = run_as(&mut c, "tok-bob", "SELECT 'bob'").await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_jobs(authed(
                ListJobsRequest {
                    page_size: 2,
                    page_token: token.clone(),
                },
                "tok-alice",
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.jobs.len() <= 2);
        seen.extend(page.jobs);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let ids: Vec<&str> = seen.iter().map(|j| j.job_id.as_str()).collect();
    let newest_first: Vec<&str> = mine.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first);
    assert!(!ids.contains(&bobs.as_str()));
    assert_eq!(seen[0].summary, "SELECT 4 AS n");
    assert!(seen[0].submitted_at_ms > 0);
    let bad = c
        .list_jobs(authed(
            ListJobsRequest {
                page_size: 2,
                page_token: "garbage".into(),
            },
            "tok-alice",
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    // The CLI shows the same.
    let out = output_ok(server.cli().args(["--token", "tok-alice", "jobs"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with(&mine[4]), "{text}");
    assert!(!text.contains(&bobs));
}
