//! Operations: Prometheus metrics, health that follows the runner, logs about a job
//! carrying its id.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    io::{Read, Write},
    time::{Duration, Instant},
};

use sqlflow_e2e::{Server, bin, fetch, fetch_all, run};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test]
async fn prometheus_metrics_count_jobs_latency_and_errors() {
    let server = Server::builder()
        .toml("metrics_listen = \"127.0.0.1:0\"")
        .start();
    let addr = server.metrics_addr.clone().expect("metrics address");
    let mut c = server.client().await;
    let ok = run(&mut c, "SELECT 1").await;
    fetch_all(&mut c, &ok).await;
    let bad = run(&mut c, "SELECT * FROM nowhere").await;
    fetch_all(&mut c, &bad).await;
    let _ = fetch(&mut c, "0123456789abcdef0123456789abcdef", "", 0).await;
    let text = http_get(&addr, "/metrics");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    for needle in [
        "sqlflow_jobs{state=\"SUCCEEDED\"} 1",
        "sqlflow_jobs{state=\"FAILED\"} 1",
        "sqlflow_jobs{state=\"RUNNING\"} 0",
        "sqlflow_rpc_duration_seconds_count{method=\"Run\"} 2",
        "sqlflow_rpc_duration_seconds_bucket{le=\"+Inf\",method=\"Run\"} 2",
        "sqlflow_rpc_errors_total{method=\"Fetch\",code=\"NotFound\"} 1",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

#[tokio::test]
async fn plugin_call_failures_are_counted() {
    let server = Server::builder()
        .toml("job_runner = \"fixture\"\nplugin_call_timeout_ms = 300\nmetrics_listen = \"127.0.0.1:0\"")
        .start();
    let mut c = server.client().await;
    let _ = c
        .run(sqlflow_e2e::sqlflow::Request {
            sql: "PANIC".into(),
            ..Default::default()
        })
        .await;
    let text = http_get(server.metrics_addr.as_deref().unwrap(), "/metrics");
    assert!(
        text.contains("sqlflow_plugin_call_errors_total{method=\"run\",code=\"Internal\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn health_is_not_serving_while_the_runner_is_unhealthy() {
    // The runner is healthy while its step binary exists.
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("sqlflow-step");
    std::fs::copy(bin("sqlflow-step"), &step).unwrap();
    let server = Server::builder()
        .toml("health_check_interval_ms = 100")
        .env(
            "SQLFLOW_RUNNERS__LOCAL__STEP_BINARY",
            &step.display().to_string(),
        )
        .start();
    let mut health = HealthClient::new(server.channel().await);
    let status = |h: &mut HealthClient<_>| {
        let mut h = h.clone();
        async move {
            h.check(HealthCheckRequest {
                service: "sqlflow.SQLFlow".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status()
        }
    };
    assert_eq!(status(&mut health).await, ServingStatus::Serving);
    std::fs::remove_file(&step).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&mut health).await != ServingStatus::NotServing {
        assert!(Instant::now() < deadline, "health stayed SERVING");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::copy(bin("sqlflow-step"), &step).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&mut health).await != ServingStatus::Serving {
        assert!(Instant::now() < deadline, "health did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.log().contains("runner is unhealthy"));
}

#[tokio::test]
async fn log_lines_about_a_job_carry_its_id() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, "SELECT 1").await;
    fetch_all(&mut c, &job).await;
    c.cancel(sqlflow_e2e::sqlflow::JobId {
        job_id: job.clone(),
    })
    .await
    .unwrap();
    let log = server.log();
    let about: Vec<&str> = log.lines().filter(|l| l.contains(&job)).collect();
    assert!(about.len() >= 3, "{log}");
    for line in about {
        assert!(line.contains(&format!("job_id={job}")), "{line}");
    }
}
