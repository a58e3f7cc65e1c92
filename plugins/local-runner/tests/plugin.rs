//! The local runner's .so, loaded the way the server loads it: start-up recovery of
//! unreadable job directories, and configuration bounds that keep replies within what
//! gRPC clients accept.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{fs, path::PathBuf};

use sqlflow_plugin_api::{ErrorCode, library_file_name};
use sqlflow_plugin_host::{self as loader, PluginRunner, TracingHost};

/// target/<profile>/deps, where cargo leaves this crate's cdylib for its tests.
fn so() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .expect("deps dir")
        .join(library_file_name("local"))
}

fn create(config: serde_json::Value) -> Result<PluginRunner, sqlflow_plugin_api::RunnerError> {
    let plugin = loader::load(&so()).expect("load the local runner");
    plugin.create(&config.to_string(), TracingHost::boxed("local"))
}

fn config(work_dir: &std::path::Path) -> serde_json::Value {
    serde_json::json!({
        "work_dir": work_dir,
        // Never started here: recovery only reads job directories.
        "step_binary": "/bin/true",
        "sync_writes": false,
    })
}

#[test]
fn unreadable_job_directories_are_quarantined_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("jobs");
    let corrupt = "0123456789abcdef0123456789abcdef";
    let empty = "fedcba9876543210fedcba9876543210";
    fs::create_dir_all(work.join(corrupt)).unwrap();
    fs::create_dir_all(work.join(empty)).unwrap();
    fs::write(work.join(corrupt).join("job.json"), "\u{0}\u{0}\u{0}").unwrap();

    let runner = create(config(&work)).expect("create");
    let stats = runner.stats().expect("stats");
    assert_eq!(
        stats.jobs_by_state.get("QUARANTINED"),
        Some(&2),
        "{stats:?}"
    );
    for id in [corrupt, empty] {
        assert!(work.join(".quarantine").join(id).is_dir(), "{id}");
        assert!(!work.join(id).exists(), "{id}");
    }
    runner
        .health()
        .expect("quarantined directories do not make the runner unhealthy");

    // Counted again by the next start, which has nothing new to move.
    drop(runner);
    let again = create(config(&work)).expect("create again");
    assert_eq!(
        again.stats().unwrap().jobs_by_state.get("QUARANTINED"),
        Some(&2)
    );
}

#[test]
fn replies_are_bounded_to_what_grpc_clients_accept() {
    let tmp = tempfile::tempdir().unwrap();
    for (key, value) in [
        ("fetch_page_bytes", serde_json::json!(8 << 20)),
        ("limits", serde_json::json!({ "record_kb": 8192 })),
        ("limits", serde_json::json!({ "record_kb": 0 })),
    ] {
        let mut cfg = config(&tmp.path().join("jobs"));
        cfg[key] = value.clone();
        let err = create(cfg)
            .err()
            .unwrap_or_else(|| panic!("{key} = {value} was accepted"));
        assert_eq!(err.code, ErrorCode::INVALID_ARGUMENT);
        let path = err.config_path.clone().into_option().map(|p| p.to_string());
        assert!(
            path.as_deref()
                .is_some_and(|p| p == "fetch_page_bytes" || p == "limits.record_kb"),
            "{path:?}: {}",
            err.message
        );
    }
}
