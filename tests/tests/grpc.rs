//! The protocol's semantics, through gRPC against the real server and local runner.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use sqlflow_e2e::{
    IDLE_SQL, Server, alive, fetch, fetch_all, run, run_with, shape,
    sqlflow::{
        Cell, JobId, Request, Session, cell::Value, job_status::Code, message::Kind, response,
    },
    wait_for_status, wait_job_process,
};
use tonic::Code as GrpcCode;

fn cells(r: &sqlflow_e2e::sqlflow::Response) -> Vec<Option<Value>> {
    match &r.response {
        Some(response::Response::Row(row)) => {
            row.cells.iter().map(|c: &Cell| c.value.clone()).collect()
        }
        other => panic!("not a row: {other:?}"),
    }
}

#[tokio::test]
async fn a_program_streams_tables_messages_and_statement_ends() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(
        &mut c,
        "CREATE TABLE t(a INT, b TEXT, c REAL, d BLOB);\n\
         INSERT INTO t VALUES (1, 'x', 1.5, x'00ff'), (2, NULL, NULL, NULL);\n\
         SELECT a, b, c, d, a = 1 AS is_one FROM t ORDER BY a;",
    )
    .await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Succeeded, "{}", status.message);
    // CREATE: OK + eoe; INSERT: "2 rows affected" + eoe; SELECT: head, 2 rows, eoe.
    assert_eq!(shape(&responses), "MEMEHRRE");
    let Some(response::Response::Message(m)) = &responses[2].response else {
        panic!()
    };
    assert_eq!(m.message, "2 rows affected");
    assert_eq!(m.kind(), Kind::Log);
    let Some(response::Response::Head(h)) = &responses[4].response else {
        panic!()
    };
    assert_eq!(h.column_names, ["a", "b", "c", "d", "is_one"]);
    assert_eq!(
        cells(&responses[5]),
        [
            Some(Value::Int64(1)),
            Some(Value::String("x".into())),
            Some(Value::Double(1.5)),
            Some(Value::Bytes(vec![0, 255])),
            Some(Value::Int64(1)),
        ]
    );
    assert!(matches!(cells(&responses[6])[1], Some(Value::Null(_))));
    let eoes: Vec<_> = responses
        .iter()
        .filter_map(|r| match &r.response {
            Some(response::Response::Eoe(e)) => Some(e.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(eoes.len(), 3);
    assert_eq!(
        eoes[1].sql,
        "INSERT INTO t VALUES (1, 'x', 1.5, x'00ff'), (2, NULL, NULL, NULL)"
    );
    assert_eq!(
        eoes.iter().map(|e| e.statement_index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
}

#[tokio::test]
async fn run_returns_at_once_while_the_job_runs_in_the_background() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    // Run came back although the job has minutes of work left.
    let status = wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    assert_eq!(status.code(), Code::Running);
    let r = fetch(&mut c, &job, "", 0).await.unwrap();
    assert!(!r.eof);
    c.cancel(JobId { job_id: job }).await.unwrap();
}

#[tokio::test]
async fn a_failing_statement_stops_the_program_and_keeps_earlier_output() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(
        &mut c,
        "CREATE TABLE ok(a INT); SELECT 7 AS seven; SELECT * FROM missing_table; CREATE TABLE never(a INT);",
    )
    .await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Failed);
    assert!(
        status.message.contains("statement 3 of 4"),
        "{}",
        status.message
    );
    assert!(
        status.message.contains("no such table: missing_table"),
        "{}",
        status.message
    );
    assert!(
        status.message.contains("SELECT * FROM missing_table"),
        "{}",
        status.message
    );
    // Statements 1 and 2 delivered their results; nothing after the failure ran.
    assert_eq!(shape(&responses), "MEHRE");
    let job2 = run(
        &mut c,
        "SELECT count(*) FROM sqlite_master WHERE name = 'never'",
    )
    .await;
    let (r2, _) = fetch_all(&mut c, &job2).await;
    assert_eq!(cells(&r2[1]), [Some(Value::Int64(0))]);
}

#[tokio::test]
async fn the_same_cursor_always_returns_the_same_responses_in_bounded_pages() {
    let server = Server::builder()
        .local_runner("fetch_page_bytes = 4096")
        .start();
    let mut c = server.client().await;
    let job = run(
        &mut c,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)\n\
         SELECT i, printf('row %05d', i) AS label FROM n",
    )
    .await;
    wait_for_status(&mut c, &job, Code::Succeeded, Duration::from_secs(30)).await;
    let mut cursor = String::new();
    let mut pages = Vec::new();
    loop {
        let r = fetch(&mut c, &job, &cursor, 0).await.unwrap();
        pages.push((cursor.clone(), r.clone()));
        cursor = r.next_cursor.clone();
        if r.eof {
            break;
        }
    }
    assert!(
        pages.len() > 10,
        "only {} pages: output was not paged",
        pages.len()
    );
    let rows: usize = pages
        .iter()
        .map(|(_, p)| {
            p.response
                .iter()
                .filter(|r| matches!(r.response, Some(response::Response::Row(_))))
                .count()
        })
        .sum();
    assert_eq!(rows, 2000);
    for (cursor, page) in &pages {
        // A retry (a lost reply) gets exactly the same page.
        let again = fetch(&mut c, &job, cursor, 0).await.unwrap();
        assert_eq!(&again, page, "cursor {cursor:?} replayed differently");
        assert!(prost_len(page) < 64 * 1024, "a page is too large");
    }
    // Row values arrive in order, none lost or repeated.
    let ids: Vec<i64> = pages
        .iter()
        .flat_map(|(_, p)| p.response.clone())
        .filter_map(|r| match r.response {
            Some(response::Response::Row(row)) => match row.cells[0].value {
                Some(Value::Int64(i)) => Some(i),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(ids, (1..=2000).collect::<Vec<_>>());
}

fn prost_len(r: &sqlflow_e2e::sqlflow::Responses) -> usize {
    prost::Message::encoded_len(r)
}

#[tokio::test]
async fn long_polls_return_when_the_job_changes_and_are_capped() {
    let server = Server::builder().toml("max_wait_ms = 300").start();
    let mut c = server.client().await;
    // A job that runs about half a second, then prints one row.
    let job = run(
        &mut c,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) SELECT count(*) AS n FROM n",
    )
    .await;
    let first = fetch(&mut c, &job, "", 0).await.unwrap();
    // Capped: a huge wait returns after max_wait_ms, not after an hour.
    let t = std::time::Instant::now();
    let mut cursor = first.next_cursor.clone();
    let mut got_rows = false;
    for _ in 0..200 {
        let r = fetch(&mut c, &job, &cursor, 3_600_000).await.unwrap();
        got_rows |= r
            .response
            .iter()
            .any(|x| matches!(x.response, Some(response::Response::Row(_))));
        cursor = r.next_cursor;
        if r.eof {
            break;
        }
    }
    assert!(got_rows);
    assert!(t.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn a_long_poll_wakes_when_the_job_ends() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    let status = wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    assert_eq!(status.code(), Code::Running);
    let quiet = fetch(&mut c, &job, "", 0).await.unwrap();
    // Park a 10 s long-poll, then cancel from another connection: the poll must come
    // back with the new state, not time out empty.
    let mut poller = c.clone();
    let cursor = quiet.next_cursor.clone();
    let jid = job.clone();
    let poll = tokio::spawn(async move { fetch(&mut poller, &jid, &cursor, 10_000).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut other = server.client().await;
    other
        .cancel(JobId {
            job_id: job.clone(),
        })
        .await
        .unwrap();
    let r = poll.await.unwrap().unwrap();
    assert_ne!(
        r.next_cursor, quiet.next_cursor,
        "the long-poll returned without news"
    );
    assert_eq!(r.job_status.unwrap().code(), Code::Cancelled);
}

#[tokio::test]
async fn errors_carry_the_right_status_codes() {
    let server = Server::start();
    let mut c = server.client().await;
    let unknown = fetch(&mut c, "0123456789abcdef0123456789abcdef", "", 0)
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), GrpcCode::NotFound, "{unknown:?}");
    let traversal = fetch(&mut c, "../jobs", "", 0).await.unwrap_err();
    assert_eq!(traversal.code(), GrpcCode::NotFound);
    let cancel_unknown = c
        .cancel(JobId {
            job_id: "0123456789abcdef0123456789abcdef".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(cancel_unknown.code(), GrpcCode::NotFound);
    let no_id = fetch(&mut c, "", "", 0).await.unwrap_err();
    assert_eq!(no_id.code(), GrpcCode::InvalidArgument);

    let job = run(&mut c, "SELECT 1").await;
    for bad in ["garbage", "1:99999:S", "1:1:R", "1:-5:R"] {
        let e = fetch(&mut c, &job, bad, 0).await.unwrap_err();
        assert_eq!(e.code(), GrpcCode::InvalidArgument, "cursor {bad:?}: {e:?}");
    }
    let empty = c
        .run(Request {
            sql: "  \n ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(empty.code(), GrpcCode::InvalidArgument);
    assert!(empty.message().contains("empty"), "{}", empty.message());
}

#[tokio::test]
async fn cancel_stops_the_process_and_is_harmless_afterwards() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    let (pid, _) = wait_job_process(&server, &job);
    assert!(alive(pid));
    let status = c
        .cancel(JobId {
            job_id: job.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.code(), Code::Cancelled, "{}", status.message);
    assert!(!alive(pid), "the job's process {pid} survived the cancel");
    let (_, final_status) = fetch_all(&mut c, &job).await;
    assert_eq!(final_status.code(), Code::Cancelled);
    // Again: harmless.
    let again = c
        .cancel(JobId {
            job_id: job.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.code(), Code::Cancelled);
    // On a finished job: harmless, reports how it ended.
    let done = run(&mut c, "SELECT 1").await;
    fetch_all(&mut c, &done).await;
    let s = c.cancel(JobId { job_id: done }).await.unwrap().into_inner();
    assert_eq!(s.code(), Code::Succeeded);
}

#[tokio::test]
async fn sessions_choose_their_datasource_or_get_the_default() {
    let server = Server::start();
    let mut c = server.client().await;
    let other_db = server.dir().join("other.db");
    let mine = run_with(
        &mut c,
        Request {
            sql: "CREATE TABLE only_here(a INT); INSERT INTO only_here VALUES (42)".into(),
            session: Some(Session {
                db_conn_str: format!("sqlite://{}", other_db.display()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(fetch_all(&mut c, &mine).await.1.code(), Code::Succeeded);
    assert!(other_db.is_file());
    // The default datasource (test.db in the server's data dir) does not have it.
    let default = run(&mut c, "SELECT * FROM only_here").await;
    let (_, s) = fetch_all(&mut c, &default).await;
    assert_eq!(s.code(), Code::Failed);
    assert!(server.dir().join("test.db").is_file());
}
