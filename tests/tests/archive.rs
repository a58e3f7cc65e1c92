//! Finished jobs leave their directories for the work dir's archive (`jobs.sqlite`):
//! they read the same there, across restarts, in listings and for retried Runs; they
//! expire with retention; directories an older server left are moved in; and a damaged
//! archive does not keep the server from serving.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{collections::HashSet, path::Path, time::Duration};

use sqlflow_e2e::{
    Server, authed, fetch, fetch_all, run, run_with,
    sqlflow::{self, JobStatus, Request, Response, Session, job_status::Code},
    wait_until,
};
use tonic::transport::Channel;

type Client = sqlflow::sql_flow_client::SqlFlowClient<Channel>;

/// A table of 12,000 rows: its output (about 200 KB) is too large to live in a row, so
/// it stays a file in `outputs/`.
const BIG: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) \
                   SELECT i, 'row number ' || i AS label FROM n";

async fn jobs_of_every_kind(c: &mut Client) -> Vec<String> {
    let mut ids = vec![
        run(c, "SELECT 1 AS a; SELECT 'two' AS b").await,
        run(c, "SELECT 1 AS a; SELECT * FROM no_such_table").await,
        run(c, BIG).await,
    ];
    ids.push(
        run_with(
            c,
            Request {
                sql: "SELECT 42 AS answer".into(),
                request_id: "archived-retry".into(),
                session: Some(Session::default()),
                ..Default::default()
            },
        )
        .await,
    );
    ids
}

async fn read_all(c: &mut Client, ids: &[String]) -> Vec<(Vec<Response>, JobStatus)> {
    let mut out = Vec::new();
    for id in ids {
        out.push(fetch_all(c, id).await);
    }
    out
}

/// Waits until the archive has taken these jobs (their directories are gone).
fn wait_archived(work: &Path, ids: &[String]) {
    wait_until(
        "the finished jobs are archived",
        Duration::from_secs(60),
        || ids.iter().all(|id| !work.join(id).exists()),
    );
}

/// Every job of the caller, walking ListJobs one job per page.
async fn listed_one_by_one(c: &mut Client) -> Vec<sqlflow::JobInfo> {
    let mut token = String::new();
    let mut all = Vec::new();
    loop {
        let page = c
            .list_jobs(sqlflow::ListJobsRequest {
                page_size: 1,
                page_token: token,
            })
            .await
            .expect("ListJobs")
            .into_inner();
        all.extend(page.jobs);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn archived_jobs_read_the_same_list_in_order_and_survive_restarts() {
    let mut server = Server::builder()
        .sync_writes(true)
        // Pages smaller than the big output, so reads span the move.
        .local_runner("archive_after_seconds = 0\nfetch_page_bytes = 16384")
        .start();
    let work = server.jobs_dir();
    let mut c = server.client().await;
    let ids = jobs_of_every_kind(&mut c).await;
    // Read while the jobs move: a read that starts in a directory ends in the archive.
    let before = read_all(&mut c, &ids).await;
    let codes: Vec<Code> = before.iter().map(|(_, s)| s.code()).collect();
    assert_eq!(
        codes,
        [
            Code::Succeeded,
            Code::Failed,
            Code::Succeeded,
            Code::Succeeded
        ]
    );
    wait_archived(&work, &ids);
    assert!(work.join("jobs.sqlite").is_file());
    let big_file = work.join("outputs").join(&ids[2][..2]).join(&ids[2]);
    assert!(
        big_file.is_file(),
        "a large output stays a file: {}",
        big_file.display()
    );
    assert_eq!(
        read_all(&mut c, &ids).await,
        before,
        "archived jobs read differently"
    );

    // A page-by-page walk sees every job once, newest first, with its status.
    let walk = |listed: Vec<sqlflow::JobInfo>| {
        let order: Vec<String> = listed.iter().map(|j| j.job_id.clone()).collect();
        let mut newest_first = listed.clone();
        newest_first
            .sort_by(|a, b| (b.submitted_at_ms, &b.job_id).cmp(&(a.submitted_at_ms, &a.job_id)));
        let sorted: Vec<String> = newest_first.iter().map(|j| j.job_id.clone()).collect();
        assert_eq!(order, sorted, "ListJobs is newest first");
        assert_eq!(
            order.iter().collect::<HashSet<_>>().len(),
            order.len(),
            "no job twice"
        );
        listed
    };
    let listed = walk(listed_one_by_one(&mut c).await);
    assert_eq!(listed.len(), ids.len());
    for (id, (_, status)) in ids.iter().zip(&before) {
        let info = listed.iter().find(|j| &j.job_id == id).expect("listed");
        assert_eq!(info.status.as_ref(), Some(status));
        assert!(info.finished_at_ms >= info.submitted_at_ms && info.finished_at_ms > 0);
    }
    let summary = &listed.iter().find(|j| j.job_id == ids[3]).unwrap().summary;
    assert_eq!(summary, "SELECT 42 AS answer");

    // A retried Run of an archived job gets that job; another request under its id is refused.
    let retry = |sql: &str| Request {
        sql: sql.into(),
        request_id: "archived-retry".into(),
        session: Some(Session::default()),
        ..Default::default()
    };
    assert_eq!(run_with(&mut c, retry("SELECT 42 AS answer")).await, ids[3]);
    let reused = c.run(retry("SELECT 43 AS answer")).await.unwrap_err();
    assert_eq!(reused.code(), tonic::Code::AlreadyExists, "{reused:?}");

    // Cancel of an archived job reports how it ended.
    let cancelled = c
        .cancel(sqlflow::JobId {
            job_id: ids[1].clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.code(), Code::Failed);

    // Cursors stay valid across the move: the second page of the big job, asked again.
    let first = fetch(&mut c, &ids[2], "", 0).await.unwrap();
    assert!(!first.eof && !first.next_cursor.is_empty());

    // A crash and a restart: the same answers, and a new job lists first.
    server.kill9();
    server.start_again();
    let mut c = server.client().await;
    assert_eq!(
        read_all(&mut c, &ids).await,
        before,
        "the archive lost or changed a job"
    );
    let again = fetch(&mut c, &ids[2], &first.next_cursor, 0).await.unwrap();
    assert!(!again.response.is_empty());
    let newest = run(&mut c, "SELECT 7 AS n").await;
    fetch_all(&mut c, &newest).await;
    let listed = walk(listed_one_by_one(&mut c).await);
    assert_eq!(listed.len(), ids.len() + 1);
    assert_eq!(listed[0].job_id, newest);
}

#[tokio::test]
async fn another_users_archived_job_reads_like_a_missing_one() {
    let server = Server::builder()
        .users(&[("alice", "tok-alice"), ("bob", "tok-bob")])
        .local_runner("archive_after_seconds = 0")
        .start();
    let work = server.jobs_dir();
    let mut c = server.client().await;
    let request = || Request {
        sql: "SELECT 1 AS a".into(),
        request_id: "alices".into(),
        session: Some(Session::default()),
        ..Default::default()
    };
    let id = c
        .run(authed(request(), "tok-alice"))
        .await
        .unwrap()
        .into_inner()
        .job_id;
    wait_archived(&work, std::slice::from_ref(&id));
    let fetch_as = |token: &'static str| {
        let id = id.clone();
        let mut c = c.clone();
        async move {
            c.fetch(authed(
                sqlflow::FetchRequest {
                    job: Some(sqlflow::JobId { job_id: id }),
                    ..Default::default()
                },
                token,
            ))
            .await
        }
    };
    let mine = fetch_as("tok-alice").await.unwrap().into_inner();
    assert_eq!(mine.job_status.unwrap().code(), Code::Succeeded);
    let theirs = fetch_as("tok-bob").await.unwrap_err();
    assert_eq!(theirs.code(), tonic::Code::NotFound);
    let missing = c
        .fetch(authed(
            sqlflow::FetchRequest {
                job: Some(sqlflow::JobId {
                    job_id: "0".repeat(32),
                }),
                ..Default::default()
            },
            "tok-bob",
        ))
        .await
        .unwrap_err();
    assert_eq!(
        theirs.message().replace(&id, "ID"),
        missing.message().replace(&"0".repeat(32), "ID")
    );
    let listed = c
        .list_jobs(authed(sqlflow::ListJobsRequest::default(), "tok-bob"))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.jobs.is_empty());
    // Bob's Run with Alice's request id is a new job of Bob's, not hers.
    let bobs = c
        .run(authed(request(), "tok-bob"))
        .await
        .unwrap()
        .into_inner()
        .job_id;
    assert_ne!(bobs, id);
}

#[tokio::test]
async fn archived_jobs_and_their_output_files_expire_with_retention() {
    let server = Server::builder()
        .local_runner("archive_after_seconds = 0\nretention_seconds = 10")
        .start();
    let work = server.jobs_dir();
    let mut c = server.client().await;
    let ids = vec![run(&mut c, "SELECT 1 AS a").await, run(&mut c, BIG).await];
    read_all(&mut c, &ids).await;
    wait_archived(&work, &ids);
    let big_file = work.join("outputs").join(&ids[1][..2]).join(&ids[1]);
    assert!(big_file.is_file());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for id in &ids {
        loop {
            match fetch(&mut c, id, "", 0).await {
                Err(s) if s.code() == tonic::Code::NotFound => break,
                Ok(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => panic!("job {id} did not expire: {other:?}"),
            }
        }
    }
    assert!(
        !big_file.exists(),
        "the expired job's output file is removed"
    );
    assert!(listed_one_by_one(&mut c).await.is_empty());
}

#[tokio::test]
async fn job_directories_of_an_older_server_are_moved_into_the_archive() {
    // Directories kept (as every server before the archive kept them), then a server
    // that archives: the jobs read the same after the move and after another restart.
    let mut server = Server::builder()
        .local_runner("archive_after_seconds = 3600")
        .start();
    let work = server.jobs_dir();
    let mut c = server.client().await;
    let ids = jobs_of_every_kind(&mut c).await;
    let before = read_all(&mut c, &ids).await;
    server.kill9();
    for name in ["jobs.sqlite", "jobs.sqlite-wal", "jobs.sqlite-shm"] {
        let _ = std::fs::remove_file(work.join(name));
    }
    assert!(
        ids.iter()
            .all(|id| work.join(id).join("status.json").is_file())
    );
    let toml = server.dir().join("sqlflow.toml");
    let config = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        config.replace("archive_after_seconds = 3600", "archive_after_seconds = 0"),
    )
    .unwrap();
    server.start_again();
    let mut c = server.client().await;
    wait_archived(&work, &ids);
    assert_eq!(read_all(&mut c, &ids).await, before);
    server.kill9();
    server.start_again();
    let mut c = server.client().await;
    assert_eq!(read_all(&mut c, &ids).await, before);
    assert_eq!(listed_one_by_one(&mut c).await.len(), ids.len());
}

#[tokio::test]
async fn a_directory_left_behind_by_a_crash_after_archiving_is_not_a_second_job() {
    // The archive commits a job before its directory goes; a crash in between leaves
    // both. Simulated: the directory copied before the move and put back while down.
    let mut server = Server::builder()
        .local_runner("archive_after_seconds = 2")
        .start();
    let work = server.jobs_dir();
    let mut c = server.client().await;
    let id = run(&mut c, "SELECT 1 AS a").await;
    let before = fetch_all(&mut c, &id).await;
    let saved = server.dir().join("saved");
    std::fs::create_dir(&saved).unwrap();
    for e in std::fs::read_dir(work.join(&id)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), saved.join(e.file_name())).unwrap();
    }
    wait_archived(&work, std::slice::from_ref(&id));
    server.kill9();
    std::fs::rename(&saved, work.join(&id)).unwrap();
    server.start_again();
    let mut c = server.client().await;
    assert_eq!(fetch_all(&mut c, &id).await, before);
    assert!(
        !work.join(&id).exists(),
        "recovery removes the archived job's directory"
    );
    assert_eq!(listed_one_by_one(&mut c).await.len(), 1);
}

#[tokio::test]
async fn a_damaged_archive_is_set_aside_and_the_server_serves_on() {
    let mut server = Server::builder()
        .local_runner("archive_after_seconds = 0")
        .start();
    let work = server.jobs_dir();
    let mut c = server.client().await;
    let old = run(&mut c, "SELECT 1 AS a").await;
    fetch_all(&mut c, &old).await;
    wait_archived(&work, std::slice::from_ref(&old));
    server.kill9();
    for name in ["jobs.sqlite-wal", "jobs.sqlite-shm"] {
        let _ = std::fs::remove_file(work.join(name));
    }
    std::fs::write(work.join("jobs.sqlite"), vec![0x42u8; 64 * 1024]).unwrap();
    server.start_again();
    let mut c = server.client().await;
    assert!(
        server.log().contains("cannot be read") && server.log().contains(".quarantine"),
        "the loss is logged:\n{}",
        server.log()
    );
    let gone = fetch(&mut c, &old, "", 0).await.unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);
    let new = run(&mut c, "SELECT 2 AS b").await;
    let (_, status) = fetch_all(&mut c, &new).await;
    assert_eq!(status.code(), Code::Succeeded);
    wait_archived(&work, std::slice::from_ref(&new));
    let (_, again) = fetch_all(&mut c, &new).await;
    assert_eq!(again.code(), Code::Succeeded);
}

#[tokio::test]
async fn a_crash_with_archived_running_and_queued_jobs_loses_and_repeats_nothing() {
    // One slot: one job runs, one waits, others are already archived when the server dies.
    let mut server = Server::builder()
        .sync_writes(true)
        .local_runner("archive_after_seconds = 0\nmax_running_jobs = 1")
        .start();
    let work = server.jobs_dir();
    let mut c = server.client().await;
    let done = vec![run(&mut c, "SELECT 1 AS a").await, run(&mut c, BIG).await];
    let done_before = read_all(&mut c, &done).await;
    wait_archived(&work, &done);
    let running = run(
        &mut c,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) \
         SELECT count(*) AS n FROM n",
    )
    .await;
    let queued = run(&mut c, "SELECT 'after the crash' AS note").await;
    sqlflow_e2e::wait_for_status(&mut c, &running, Code::Running, Duration::from_secs(10)).await;
    assert_eq!(
        fetch(&mut c, &queued, "", 0)
            .await
            .unwrap()
            .job_status
            .unwrap()
            .code(),
        Code::Pending
    );
    server.kill9();
    server.start_again();
    let mut c = server.client().await;
    assert_eq!(read_all(&mut c, &done).await, done_before);
    let (_, s) = fetch_all(&mut c, &running).await;
    assert_eq!(s.code(), Code::Succeeded, "{}", s.message);
    let (responses, s) = fetch_all(&mut c, &queued).await;
    assert_eq!(s.code(), Code::Succeeded, "{}", s.message);
    assert_eq!(sqlflow_e2e::shape(&responses), "HRE");
    // Both then move to the archive and read the same there; every job is listed once.
    let later = vec![running, queued];
    let later_before = read_all(&mut c, &later).await;
    wait_archived(&work, &later);
    assert_eq!(read_all(&mut c, &later).await, later_before);
    assert_eq!(listed_one_by_one(&mut c).await.len(), 4);
}
