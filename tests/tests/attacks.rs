//! What an attacker tried against the server, each through the public interface: SQL
//! that reaches files outside `data_dir`, datasources that slip past `allowed_db_hosts`,
//! credentials in statuses, oversized records and echoed input, and malformed messages.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use sqlflow_e2e::{
    Server, fetch_all, run_with,
    sqlflow::{
        FetchRequest, JobId, ListJobsRequest, Request, Session, job_status::Code,
        sql_flow_client::SqlFlowClient,
    },
};
use tonic::{Code as GrpcCode, transport::Channel};

type Client = SqlFlowClient<Channel>;

fn request(sql: &str) -> Request {
    Request {
        sql: sql.into(),
        session: Some(Session::default()),
        ..Default::default()
    }
}

fn with_datasource(sql: &str, ds: &str) -> Request {
    let mut r = request(sql);
    r.session.as_mut().unwrap().db_conn_str = ds.into();
    r
}

/// Runs `sql` and returns the final status's code and message.
async fn outcome(c: &mut Client, sql: &str) -> (Code, String) {
    let job = run_with(c, request(sql)).await;
    let (_, status) = fetch_all(c, &job).await;
    (status.code(), status.message)
}

/// A SQLite file outside the data directory holding a secret row.
fn secret_db(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("secret.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE creds(pw TEXT); INSERT INTO creds VALUES ('hunter2');")
        .unwrap();
    path
}

#[tokio::test]
async fn sqlite_programs_cannot_open_files_outside_the_data_directory() {
    let server = Server::start();
    let mut c = server.client().await;
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = secret_db(elsewhere.path());
    let s = secret.display();
    let made = elsewhere.path().join("made.db");
    let m = made.display();
    let vacuumed = elsewhere.path().join("copy.db");
    let v = vacuumed.display();
    for (sql, refused) in [
        (
            format!("ATTACH DATABASE '{s}' AS s; SELECT * FROM s.creds;"),
            "ATTACH",
        ),
        (format!("ATTACH '{m}' AS o; CREATE TABLE o.t(a);"), "ATTACH"),
        (format!("ATTACH 'file:{s}?mode=ro' AS s;"), "ATTACH"),
        ("ATTACH 'relative.db' AS r;".to_string(), "ATTACH"),
        (
            "ATTACH ':memory:' AS mem; CREATE TABLE mem.t(a);".to_string(),
            "ATTACH",
        ),
        (format!("VACUUM INTO '{v}';"), "VACUUM INTO"),
        ("VACUUM INTO 'copy.db';".to_string(), "VACUUM INTO"),
        (
            "PRAGMA temp_store_directory = '/tmp';".to_string(),
            "temp_store_directory",
        ),
        ("SELECT load_extension('/tmp/x.so');".to_string(), ""),
    ] {
        let (code, message) = outcome(&mut c, &sql).await;
        assert_eq!(code, Code::Failed, "{sql}: {message}");
        assert!(!message.contains("hunter2"), "{sql}: {message}");
        assert!(message.contains(refused), "{sql}: {message}");
        if !refused.is_empty() {
            assert!(message.contains("not allowed"), "{sql}: {message}");
        }
    }
    assert!(!made.exists(), "ATTACH created a file outside data_dir");
    assert!(!vacuumed.exists(), "VACUUM INTO wrote outside data_dir");
    // Nothing landed in the job directories either.
    for job in std::fs::read_dir(server.jobs_dir()).unwrap().flatten() {
        for f in ["relative.db", "copy.db"] {
            assert!(!job.path().join(f).exists(), "{f} in a job directory");
        }
    }
    // The engine's own schema files still work, inside the data directory.
    let (code, message) = outcome(
        &mut c,
        "CREATE TABLE s1.t(a INT); INSERT INTO s1.t VALUES (7); SELECT a FROM s1.t;",
    )
    .await;
    assert_eq!(code, Code::Succeeded, "{message}");
    assert!(server.dir().join("s1.db").exists());
}

#[tokio::test]
async fn schema_files_cannot_be_symlinks_out_of_the_data_directory() {
    let server = Server::start();
    let mut c = server.client().await;
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = secret_db(elsewhere.path());
    std::os::unix::fs::symlink(&secret, server.dir().join("leak.db")).unwrap();
    let (code, message) = outcome(&mut c, "SELECT * FROM leak.creds;").await;
    assert_eq!(code, Code::Failed, "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("symlink"), "{message}");
}

#[tokio::test]
async fn the_host_allow_list_holds_against_query_and_fragment_tricks() {
    let server = Server::builder()
        .toml("allowed_db_hosts = [\"db.internal\"]")
        .start();
    let mut c = server.client().await;
    for ds in [
        "postgres://u:pw@db.internal/x?host=127.0.0.1&port=5432",
        "postgres://u:pw@db.internal/x?hostaddr=127.0.0.1",
        "postgres://u:pw@db.internal/x?host=/var/run/postgresql",
        "postgres://u:pw@db.internal/x?h%6Fst=127.0.0.1",
        "mysql://u:pw@db.internal/x?socket=/run/mysqld/mysqld.sock",
        "postgres://u:pw@127.0.0.1:5432#@db.internal/x",
        "mysql://u:pw@127.0.0.1:3306#@db.internal/x",
    ] {
        let e = c.run(with_datasource("SELECT 1", ds)).await.expect_err(ds);
        assert!(
            matches!(
                e.code(),
                GrpcCode::PermissionDenied | GrpcCode::InvalidArgument
            ),
            "{ds}: {e:?}"
        );
        assert!(!e.message().contains("pw"), "{ds}: {}", e.message());
    }
    // Refusals name the host actually meant.
    let e = c
        .run(with_datasource(
            "SELECT 1",
            "mysql://u:pw@127.0.0.1:3306?@db.internal/x",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), GrpcCode::PermissionDenied);
    assert!(e.message().contains("127.0.0.1:3306"), "{}", e.message());
}

#[tokio::test]
async fn passwords_in_every_form_stay_out_of_statuses_and_listings() {
    const SECRET: &str = "Hunter2Secret";
    let server = Server::start();
    let mut c = server.client().await;
    for ds in [
        format!("postgres://u@127.0.0.1:1/db?password={SECRET}"),
        format!("mysql://u@127.0.0.1:1/db?password={SECRET}"),
        format!("postgres://u:ab/{SECRET}@127.0.0.1:1/db"),
        format!("mysql://u:12/{SECRET}@127.0.0.1:1/db"),
        format!("postgres://u:a#{SECRET}@127.0.0.1:1/db"),
        format!("postgres://u:a?{SECRET}@127.0.0.1:1/db"),
        format!("u:{SECRET}@127.0.0.1/db"),
    ] {
        let r = with_datasource("SELECT 1", &ds);
        let status = match c.run(r).await {
            Ok(job) => {
                let job = job.into_inner().job_id;
                let (responses, status) = fetch_all(&mut c, &job).await;
                assert_eq!(status.code(), Code::Failed, "{ds}");
                assert!(!format!("{responses:?}").contains(SECRET), "{ds}");
                let on_disk =
                    std::fs::read_to_string(server.jobs_dir().join(&job).join("status.json"))
                        .unwrap_or_default();
                assert!(!on_disk.contains(SECRET), "{ds}: status.json {on_disk}");
                status.message
            }
            Err(e) => e.message().to_string(),
        };
        assert!(!status.contains(SECRET), "{ds}: {status}");
    }
    let list = c
        .list_jobs(ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(!format!("{list:?}").contains(SECRET));
    assert!(!server.log().contains(SECRET), "server log");
}

#[tokio::test]
async fn echoed_input_is_truncated() {
    let server = Server::start();
    let mut c = server.client().await;
    let long_id = "j".repeat(100_000);
    let e = c
        .fetch(FetchRequest {
            job: Some(JobId {
                job_id: long_id.clone(),
            }),
            cursor: String::new(),
            wait_ms: 0,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e.code(), GrpcCode::InvalidArgument | GrpcCode::NotFound),
        "{e:?}"
    );
    assert!(e.message().len() < 1024, "{} bytes", e.message().len());
    let job = run_with(&mut c, request("SELECT 1")).await;
    let e = c
        .fetch(FetchRequest {
            job: Some(JobId { job_id: job }),
            cursor: "c".repeat(64 * 1024),
            wait_ms: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), GrpcCode::InvalidArgument, "{e:?}");
    assert!(e.message().len() < 1024, "{} bytes", e.message().len());
    let mut r = request("SELECT 1");
    r.request_id = "r".repeat(100_000);
    let e = c.run(r).await.unwrap_err();
    assert_eq!(e.code(), GrpcCode::InvalidArgument, "{e:?}");
    assert!(e.message().contains("request_id"), "{}", e.message());
    assert!(e.message().len() < 1024, "{} bytes", e.message().len());
}

#[tokio::test]
async fn malformed_messages_are_invalid_argument() {
    let server = Server::start();
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    // A Request whose `sql` (field 1) is not UTF-8.
    let not_utf8: Vec<u8> = vec![0x0a, 0x02, 0xff, 0xfe];
    // A length prefix running past the end of the message.
    let truncated: Vec<u8> = vec![0x0a, 0x7f, b'S'];
    for body in [not_utf8, truncated] {
        grpc.ready().await.unwrap();
        let e = grpc
            .unary(
                tonic::Request::new(body.clone()),
                "/sqlflow.SQLFlow/Run".parse().unwrap(),
                RawCodec,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), GrpcCode::InvalidArgument, "{body:?}: {e:?}");
    }
    // A program over the transport limit.
    let mut c = server.client().await;
    let huge = "x".repeat(50 << 20);
    let e = c.run(request(&huge)).await.unwrap_err();
    assert_eq!(e.code(), GrpcCode::InvalidArgument, "{e:?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The server is fine.
    let job = run_with(&mut c, request("SELECT 1")).await;
    assert_eq!(fetch_all(&mut c, &job).await.1.code(), Code::Succeeded);
}

/// Sends raw bytes as the message body and ignores the reply's body.
#[derive(Clone, Copy)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        *self
    }
    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = ();
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<()>, tonic::Status> {
        use bytes::Buf;
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

#[tokio::test]
async fn one_huge_record_fails_its_job_and_the_job_stays_readable() {
    let server = Server::start();
    let mut c = server.client().await;
    // 2 MB of text in one cell: over the 1 MiB record limit.
    let sql = "SELECT 1 AS a; SELECT hex(randomblob(1000000)) AS h;";
    let job = run_with(&mut c, request(sql)).await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Failed, "{}", status.message);
    assert!(
        status.message.contains("largest record")
            && status.message.contains("row")
            && status.message.contains("limits.record_kb = 1024"),
        "{}",
        status.message
    );
    // The first statement's result is intact, and no reply came near the client limit.
    assert!(format!("{responses:?}").contains("Int64(1)"));
    // The CLI reads the job too.
    let out = server
        .cli()
        .args(["fetch", &job])
        .output()
        .expect("the CLI runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("OUT_OF_RANGE"), "{stderr}");
    assert!(stderr.contains("largest record"), "{stderr}");
}

#[tokio::test]
async fn a_long_statement_is_not_a_huge_record() {
    let server = Server::start();
    let mut c = server.client().await;
    // Under max_program_bytes (1 MiB), but its start and end records, which quote it,
    // are over the 1 MiB record limit once encoded.
    let sql = format!("SELECT length('{}') AS n;", "x".repeat(900_000));
    let job = run_with(&mut c, request(&sql)).await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Succeeded, "{}", status.message);
    assert!(format!("{responses:?}").contains("Int64(900000)"));
}
