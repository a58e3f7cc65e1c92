//! `create`: configuration errors name their key; a kube config is loaded from the
//! configured file (with the plugin's own rustls provider for https); an unreachable
//! cluster does not stop the server but makes the runner unhealthy, saying why.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::{Duration, Instant};

use serde_json::json;
use sqlflow_plugin_api::{
    ErrorCode,
    sdk::{PluginContext, Runner},
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn kubeconfig(dir: &std::path::Path, server: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\n\
             clusters:\n- name: test\n  cluster:\n    server: {server}\n{extra}\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: from-kubeconfig\n\
             users:\n- name: test\n  user:\n    token: not-a-real-token\n"
        ),
    )
    .expect("write kubeconfig");
    path
}

fn create(
    cfg: serde_json::Value,
) -> Result<argo_runner::ArgoRunner, sqlflow_plugin_api::RunnerError> {
    let rt = runtime();
    let _entered = rt.enter();
    let ctx = PluginContext {
        runtime: rt.handle().clone(),
    };
    let r = argo_runner::create(&cfg.to_string(), &ctx);
    // Keep the runtime alive as long as the runner (tests drop both at the end).
    std::mem::forget(rt);
    r
}

fn key(e: &sqlflow_plugin_api::RunnerError) -> Option<String> {
    e.config_path.clone().into_option().map(|p| p.to_string())
}

#[test]
fn configuration_errors_name_their_key() {
    let e = create(json!({})).err().expect("no step image");
    assert_eq!(key(&e).as_deref(), Some("step_image"));
    let e = create(json!({"step_image": "x", "kubeconfig": "/no/such/file"}))
        .err()
        .expect("missing kubeconfig");
    assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT);
    assert_eq!(key(&e).as_deref(), Some("kubeconfig"));
    assert!(e.message.contains("/no/such/file"), "{}", e.message);
}

#[test]
fn an_unreachable_cluster_makes_the_runner_unhealthy_not_the_server_fail() {
    let dir = tempfile::tempdir().unwrap();
    // https with verification off still builds a rustls client: the plugin's provider.
    for (server, extra) in [
        ("http://127.0.0.1:9", ""),
        (
            "https://127.0.0.1:9",
            "    insecure-skip-tls-verify: true\n",
        ),
    ] {
        let path = kubeconfig(dir.path(), server, extra);
        let runner = create(json!({"step_image": "x", "kubeconfig": path})).expect("created");
        assert_eq!(
            runner.namespace(),
            "from-kubeconfig",
            "the kube config's namespace"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let e = loop {
            match runner.health() {
                Err(e) if e.message.contains("127.0.0.1:9") || e.message.contains("error") => {
                    break e;
                }
                _ if Instant::now() > deadline => panic!("no error reported"),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        assert_eq!(e.code, ErrorCode::UNAVAILABLE);
        assert!(e.message.contains("not established"), "{}", e.message);
    }
    // The configured namespace wins over the kube config's.
    let path = kubeconfig(dir.path(), "http://127.0.0.1:9", "");
    let runner =
        create(json!({"step_image": "x", "kubeconfig": path, "namespace": "jobs"})).unwrap();
    assert_eq!(runner.namespace(), "jobs");
}

/// The cdylib the server loads: its own tokio, tracing and rustls copies (an https
/// kube config needs the provider the plugin installs), through the server's loader.
#[test]
fn the_plugin_library_loads_and_serves_through_the_servers_loader() {
    use sqlflow_plugin_api::library_file_name;
    use sqlflow_plugin_host::{self as loader, TracingHost};
    use sqlflow_proto::{
        plugin::{Caller, FetchCall},
        sqlflow::{FetchRequest, JobId},
    };
    let so = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join(library_file_name("argo"));
    let plugin = loader::load(&so).unwrap_or_else(|e| panic!("{}: {e}", so.display()));
    assert_eq!(plugin.name, "argo");
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig(
        dir.path(),
        "https://127.0.0.1:9",
        "    insecure-skip-tls-verify: true\n",
    );
    let runner = plugin
        .create(
            &json!({"step_image": "x", "kubeconfig": path}).to_string(),
            TracingHost::boxed("argo"),
        )
        .unwrap_or_else(|e| panic!("create: {e:?}"));
    let e = runner.health().unwrap_err();
    assert_eq!(e.code, ErrorCode::UNAVAILABLE);
    let fetch = |user: &str, probe: bool| {
        runner.fetch(
            &FetchCall {
                request: Some(FetchRequest {
                    job: Some(JobId {
                        job_id: "no-such-job".into(),
                    }),
                    cursor: String::new(),
                    wait_ms: 0,
                }),
                caller: Some(Caller {
                    user_id: user.into(),
                    panic_probe: probe,
                }),
            },
            None,
        )
    };
    assert_eq!(
        fetch("alice", false).unwrap_err().code,
        ErrorCode::NOT_FOUND
    );
    let panicked = fetch("alice", true).unwrap_err();
    assert_eq!(panicked.code, ErrorCode::INTERNAL);
    // Still serving after a contained panic.
    assert_eq!(
        fetch("alice", false).unwrap_err().code,
        ErrorCode::NOT_FOUND
    );
}
