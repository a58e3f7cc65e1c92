//! Authentication, ownership, datasource confinement, secrets, TLS and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{os::unix::fs::PermissionsExt, time::Duration};

use sqlflow_e2e::{
    Server, authed, fetch_all, output_ok, run_with,
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

fn fetch_req(job: &str) -> FetchRequest {
    FetchRequest {
        job: Some(JobId { job_id: job.into() }),
        cursor: String::new(),
        wait_ms: 0,
    }
}

fn users() -> Server {
    Server::builder()
        .users(&[("alice", "tok-alice"), ("bob", "tok-bob")])
        .start()
}

#[tokio::test]
async fn without_a_valid_token_every_call_is_unauthenticated() {
    let server = users();
    let mut c = server.client().await;
    let job = c
        .run(authed(request("SELECT 1"), "tok-alice"))
        .await
        .unwrap()
        .into_inner()
        .job_id;
    fn with<T>(msg: T, token: Option<&str>) -> tonic::Request<T> {
        match token {
            Some(t) => authed(msg, t),
            None => tonic::Request::new(msg),
        }
    }
    for token in [None, Some("wrong")] {
        let e = c.run(with(request("SELECT 1"), token)).await.unwrap_err();
        assert_eq!(e.code(), GrpcCode::Unauthenticated, "{e:?}");
        let e = c.fetch(with(fetch_req(&job), token)).await.unwrap_err();
        assert_eq!(e.code(), GrpcCode::Unauthenticated);
        let e = c
            .cancel(with(
                JobId {
                    job_id: job.clone(),
                },
                token,
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), GrpcCode::Unauthenticated);
        let e = c
            .list_jobs(with(ListJobsRequest::default(), token))
            .await
            .unwrap_err();
        assert_eq!(e.code(), GrpcCode::Unauthenticated);
    }
    // Session.token works for Run too.
    let mut r = request("SELECT 1");
    r.session.as_mut().unwrap().token = "tok-bob".into();
    assert!(c.run(r).await.is_ok());
    // The CLI says what to do.
    let out = server.cli().args(["-e", "SELECT 1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SQLFLOW_TOKEN"));
    output_ok(
        server
            .cli()
            .args(["--token", "tok-alice", "-e", "SELECT 'hi' AS x"]),
    );
}

#[tokio::test]
async fn the_user_comes_from_the_token_and_others_jobs_are_not_found() {
    let server = users();
    let mut c = server.client().await;
    // Alice claims to be bob in her session: the token wins.
    let mut r = request("SELECT 1");
    r.session.as_mut().unwrap().user_id = "bob".into();
    let job = c
        .run(authed(r, "tok-alice"))
        .await
        .unwrap()
        .into_inner()
        .job_id;
    let e = c
        .fetch(authed(fetch_req(&job), "tok-bob"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), GrpcCode::NotFound, "bob sees alice's job");
    let e = c
        .cancel(authed(
            JobId {
                job_id: job.clone(),
            },
            "tok-bob",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), GrpcCode::NotFound);
    // The message is the same as for a job that does not exist.
    let missing = c
        .fetch(authed(
            fetch_req("0123456789abcdef0123456789abcdef"),
            "tok-bob",
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.message().replace(&job, "ID"),
        missing
            .message()
            .replace("0123456789abcdef0123456789abcdef", "ID")
    );
    assert!(c.fetch(authed(fetch_req(&job), "tok-alice")).await.is_ok());
    let bobs = c
        .list_jobs(authed(ListJobsRequest::default(), "tok-bob"))
        .await
        .unwrap()
        .into_inner();
    assert!(bobs.jobs.is_empty());
}

#[test]
fn job_ids_are_random_v4_uuids() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = Server::start();
        let mut c = server.client().await;
        let mut ids = std::collections::HashSet::new();
        for _ in 0..20 {
            let id = run_with(&mut c, request("SELECT 1")).await;
            assert_eq!(id.len(), 32);
            assert_eq!(&id[12..13], "4", "not a v4 uuid: {id}");
            assert!(ids.insert(id));
        }
    });
}

#[test]
fn an_open_server_stays_on_loopback_unless_told_otherwise() {
    let (status, err) = Server::builder()
        .env("SQLFLOW_LISTEN", "0.0.0.0:0")
        .start_err();
    assert_eq!(status.code(), Some(78), "{err}");
    assert!(
        err.contains("no users are configured") && err.contains("allow_unauthenticated"),
        "{err}"
    );
    let server = Server::builder()
        .env("SQLFLOW_LISTEN", "0.0.0.0:0")
        .env("SQLFLOW_AUTH__ALLOW_UNAUTHENTICATED", "true")
        .start();
    assert!(
        server.log().contains("the server is open"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn sqlite_paths_are_confined_to_the_data_directory() {
    let server = Server::start();
    let mut c = server.client().await;
    std::os::unix::fs::symlink("/tmp", server.dir().join("escape")).unwrap();
    for ds in [
        "sqlite:///tmp/outside.db",
        "sqlite://../outside.db",
        "sqlite://escape/x.db",
    ] {
        let mut r = request("SELECT 1");
        r.session.as_mut().unwrap().db_conn_str = ds.into();
        let e = c.run(r).await.unwrap_err();
        assert_eq!(e.code(), GrpcCode::PermissionDenied, "{ds}: {e:?}");
        assert!(e.message().contains("data directory"), "{}", e.message());
    }
    let mut r = request("SELECT 1");
    r.session.as_mut().unwrap().db_conn_str = "sqlite://sub.db".into();
    let job = run_with(&mut c, r).await;
    assert_eq!(fetch_all(&mut c, &job).await.1.code(), Code::Succeeded);
}

#[tokio::test]
async fn database_hosts_can_be_allow_listed() {
    let server = Server::builder()
        .toml("allowed_db_hosts = [\"db.internal\"]")
        .start();
    let mut c = server.client().await;
    let mut r = request("SELECT 1");
    r.session.as_mut().unwrap().db_conn_str = "mysql://root:pw@evil.example:3306/x".into();
    let e = c.run(r).await.unwrap_err();
    assert_eq!(e.code(), GrpcCode::PermissionDenied);
    assert!(e.message().contains("evil.example"), "{}", e.message());
    assert!(!e.message().contains("pw"), "{}", e.message());
}

#[tokio::test]
async fn a_datasource_password_never_leaks() {
    const SECRET: &str = "S3cr3tPassw0rd";
    let server = Server::start();
    let mut c = server.client().await;
    let mut r = request("SELECT 1");
    r.session.as_mut().unwrap().db_conn_str = format!("mysql://analyst:{SECRET}@127.0.0.1:1/test");
    let job = run_with(&mut c, r).await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Failed);
    assert!(
        !status.message.contains(SECRET),
        "status: {}",
        status.message
    );
    assert!(!format!("{responses:?}").contains(SECRET));
    let list = c
        .list_jobs(ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(!format!("{list:?}").contains(SECRET));
    assert!(!server.log().contains(SECRET), "server log");
    let out = server.cli().arg("jobs").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
    // Only job.json holds it, readable by the server's user alone.
    let dir = server.jobs_dir().join(&job);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let content = std::fs::read(entry.path()).unwrap();
        let has = String::from_utf8_lossy(&content).contains(SECRET);
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "job.json" {
            assert!(has);
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "job.json mode {mode:o}");
        } else {
            assert!(!has, "{name} holds the password");
        }
    }
}

#[tokio::test]
async fn tls_serves_clients_that_trust_the_certificate() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let server = Server::builder()
        .toml(&format!(
            "[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"",
            dir.path().join("cert.pem").display(),
            dir.path().join("key.pem").display()
        ))
        .start();
    let port = server.addr.rsplit_once(':').unwrap().1;
    let https = format!("https://localhost:{port}");
    let out = output_ok(
        server
            .cli()
            .args(["--server", &https, "--ca-cert"])
            .arg(&ca_pem)
            .args(["-e", "SELECT 'over tls' AS x"]),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("over tls"));
    // A plaintext client gets nowhere.
    let plain = Channel::from_shared(server.url())
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await;
    if let Ok(channel) = plain {
        let mut c = Client::new(channel);
        assert!(c.run(request("SELECT 1")).await.is_err());
    }
    // And one that does not trust the CA is refused.
    let out = server
        .cli()
        .args(["--server", &https, "-e", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn oversized_programs_are_refused_with_a_clear_error() {
    let server = Server::start();
    let mut c = server.client().await;
    // Over max_program_bytes (1 MiB by default) but under the transport limit.
    let two_mb = format!("SELECT 1; -- {}", "x".repeat(2 << 20));
    let e = c.run(request(&two_mb)).await.unwrap_err();
    assert_eq!(e.code(), GrpcCode::InvalidArgument);
    assert!(e.message().contains("max_program_bytes"), "{}", e.message());
    // 50 MB: refused by the transport before it is even decoded.
    let fifty_mb = "x".repeat(50 << 20);
    let e = c.run(request(&fifty_mb)).await.unwrap_err();
    assert!(
        e.message().contains("too large") || e.message().contains("max_program_bytes"),
        "{e:?}"
    );
    // No job was created (the work dir holds only the archive), and the server is fine.
    let jobs: Vec<_> = std::fs::read_dir(server.jobs_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("jobs.sqlite"))
        .collect();
    assert!(jobs.is_empty(), "{jobs:?}");
    let job = run_with(&mut c, request("SELECT 1")).await;
    assert_eq!(fetch_all(&mut c, &job).await.1.code(), Code::Succeeded);
}

/// `Request` plus a field this server has never heard of.
#[derive(Clone, PartialEq, prost::Message)]
struct RequestFromTheFuture {
    #[prost(string, tag = "1")]
    sql: String,
    #[prost(string, tag = "99")]
    hologram: String,
}

#[tokio::test]
async fn unknown_fields_are_ignored_as_protobuf_prescribes() {
    let server = Server::start();
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let codec =
        tonic_prost::ProstCodec::<RequestFromTheFuture, sqlflow_e2e::sqlflow::JobId>::default();
    let reply = grpc
        .unary(
            tonic::Request::new(RequestFromTheFuture {
                sql: "SELECT 1".into(),
                hologram: "ignored".into(),
            }),
            "/sqlflow.SQLFlow/Run".parse().unwrap(),
            codec,
        )
        .await
        .unwrap()
        .into_inner();
    let mut c = server.client().await;
    assert_eq!(
        fetch_all(&mut c, &reply.job_id).await.1.code(),
        Code::Succeeded
    );
}
