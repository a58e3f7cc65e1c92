//! Start-up, configuration, plugin loading, health, reflection and shutdown of the real
//! server binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_e2e::{Server, fetch_all, run};
use tokio_stream::StreamExt;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

const EX_CONFIG: i32 = 78;

#[test]
fn an_unknown_key_names_the_key_and_the_file() {
    let (status, err) = Server::builder().toml("job_runer = \"local\"").start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(err.contains("job_runer"), "{err}");
    assert!(err.contains("sqlflow.toml"), "{err}");
}

#[test]
fn a_bad_runner_setting_names_the_full_key_and_its_source() {
    let (status, err) = Server::builder()
        .local_runner("fetch_page_bytes = 10")
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(err.contains("runners.local.fetch_page_bytes"), "{err}");
    assert!(err.contains("sqlflow.toml"), "{err}");

    let (status, err) = Server::builder()
        .env("SQLFLOW_RUNNERS__LOCAL__FETCH_PAGE_BYTES", "lots")
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(err.contains("runners.local.fetch_page_bytes"), "{err}");
    assert!(err.contains("SQLFLOW_"), "{err}");
}

#[test]
fn a_runner_setting_of_the_wrong_type_is_one_line_naming_the_toml_key() {
    let (status, err) = Server::builder()
        .local_runner("max_running_per_user = \"x\"")
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(
        err.contains(
            r#"runners.local.max_running_per_user: invalid type: string "x", expected usize"#
        ),
        "{err}"
    );
    assert!(err.contains("sqlflow.toml"), "{err}");
    assert!(
        !err.contains("column"),
        "no position in JSON nobody wrote: {err}"
    );
    // One line of error (the server may log warnings before it).
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("sqlflow-server:"))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("runners.local.max_running_per_user"),
        "{err}"
    );
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let (status, err) = Server::builder()
        .env("SQLFLOW_MAX_WAIT_MS", "soon")
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(err.contains("max_wait_ms"), "{err}");
    assert!(err.contains("SQLFLOW_"), "{err}");
}

#[test]
fn the_environment_selects_the_runner() {
    let (status, err) = Server::builder()
        .env("SQLFLOW_JOB_RUNNER", "nosuch")
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(err.contains("libnosuch_runner.so"), "{err}");
    assert!(
        err.contains("SQLFLOW_"),
        "the message says where job_runner came from: {err}"
    );

    let server = Server::builder()
        .env("SQLFLOW_JOB_RUNNER", "fixture")
        .start();
    assert!(
        server.log().contains("'fixture' runner"),
        "{}",
        server.log()
    );
}

#[test]
fn a_plugin_of_another_api_version_is_refused_naming_file_and_versions() {
    let (status, err) = Server::builder()
        .toml("job_runner = \"fixture\"")
        .env("FIXTURE_API_VERSION", "99")
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(err.contains("libfixture_runner.so"), "{err}");
    assert!(err.contains("version 99"), "{err}");
    assert!(err.contains("speaks version 1"), "{err}");
}

/// The server's sqlflow-plugin-api version, from that crate's manifest (not this crate's
/// `CARGO_PKG_VERSION`: the two differ since the plugin API's own releases).
fn plugin_api_version() -> &'static str {
    include_str!("../../plugin-api/Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("plugin-api/Cargo.toml has its own version")
}

#[test]
fn a_plugin_built_against_the_previous_plugin_api_is_refused_in_one_line() {
    // oldabi reports sqlflow-plugin-api 0.1.0, the release before `features` was appended
    // to the ABI, and has another layout: abi_stable's version check refuses it first.
    let (status, err) = Server::builder()
        .toml("job_runner = \"oldabi\"")
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    let server = plugin_api_version();
    assert_ne!(
        server, "0.1.0",
        "appending `features` bumped the plugin API"
    );
    let line = err
        .lines()
        .find(|l| l.contains("liboldabi_runner.so"))
        .unwrap_or_else(|| panic!("the file is named: {err}"));
    assert!(
        line.contains("was built against sqlflow-plugin-api 0.1.0")
            && line.contains(&format!("this server has {server}"))
            && line.contains(&format!(
                "rebuild the plugin against sqlflow-plugin-api {server}"
            )),
        "both versions and the fix on one line: {err}"
    );
    assert!(line.len() < 400, "a short message: {line}");
    assert!(!err.contains("ABI layout"), "no layout report: {err}");
}

#[test]
fn a_file_that_is_not_a_plugin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("libjunk_runner.so"), b"not a library").unwrap();
    let (status, err) = Server::builder()
        .env("SQLFLOW_JOB_RUNNER", "junk")
        .env("SQLFLOW_PLUGIN_DIR", &dir.path().display().to_string())
        .start_err();
    assert_eq!(status.code(), Some(EX_CONFIG), "{err}");
    assert!(err.contains("libjunk_runner.so"), "{err}");
}

#[test]
fn a_taken_port_fails_before_serving() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (status, err) = Server::builder()
        .env("SQLFLOW_LISTEN", &addr.to_string())
        .start_err();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[tokio::test]
async fn serves_health_and_reflection() {
    let server = Server::start();
    let mut health = HealthClient::new(server.channel().await);
    let r = health
        .check(HealthCheckRequest {
            service: "sqlflow.SQLFlow".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), ServingStatus::Serving);

    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let reply = stream.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reflection reply");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"sqlflow.SQLFlow"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_jobs_are_durable() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let job = run(
        &mut c,
        "CREATE TABLE kept(a INT); INSERT INTO kept VALUES (1)",
    )
    .await;
    fetch_all(&mut c, &job).await;
    drop(c);
    let status = server.terminate();
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        server.log()
    );
    assert!(server.log().contains("SIGTERM"), "{}", server.log());
    // The finished job's record outlives the server.
    assert!(server.jobs_dir().join(&job).join("status.json").is_file());
}

#[tokio::test]
async fn the_fixture_runner_is_served_through_the_same_host() {
    let server = Server::builder().toml("job_runner = \"fixture\"").start();
    let mut c = server.client().await;
    let job = run(&mut c, "SELECT 1").await;
    assert_eq!(job, "fixture-job");
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(responses.len(), 1);
    assert_eq!(
        status.code(),
        sqlflow_e2e::sqlflow::job_status::Code::Succeeded
    );
}

#[tokio::test]
async fn plugin_logs_reach_the_server_log() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, "SELECT 1").await;
    fetch_all(&mut c, &job).await;
    // Emitted with `tracing` inside the plugin, which has its own copy of tracing.
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains("job submitted")
            && l.contains(&job)
            && l.contains("runner=\"local\"")),
        "{log}"
    );
}

#[tokio::test]
async fn a_panicking_or_hung_plugin_call_fails_only_that_rpc() {
    let server = Server::builder()
        .toml("job_runner = \"fixture\"\nplugin_call_timeout_ms = 500")
        .start();
    let mut c = server.client().await;
    let request = |sql: &str| sqlflow_e2e::sqlflow::Request {
        sql: sql.into(),
        ..Default::default()
    };
    let panicked = c.run(request("PANIC")).await.unwrap_err();
    assert_eq!(panicked.code(), tonic::Code::Internal, "{panicked:?}");
    assert!(
        panicked.message().contains("panicked"),
        "{}",
        panicked.message()
    );
    let hung = c.run(request("HANG")).await.unwrap_err();
    assert_eq!(hung.code(), tonic::Code::Unavailable, "{hung:?}");
    assert!(
        hung.message().contains("did not answer run"),
        "{}",
        hung.message()
    );
    // Everyone else is still served.
    let job = run(&mut c, "SELECT 1").await;
    let (_, status) = fetch_all(&mut c, &job).await;
    assert_eq!(
        status.code(),
        sqlflow_e2e::sqlflow::job_status::Code::Succeeded
    );
    // The panic message went to the server's log.
    assert!(
        server.log().contains("the fixture was asked to panic"),
        "{}",
        server.log()
    );
}
