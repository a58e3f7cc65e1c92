//! The local runner's .so, loaded the way the server loads it, against the conformance kit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::PathBuf;

use sqlflow_plugin_api::library_file_name;
use sqlflow_runner_testkit::{Fixtures, check_runner};

/// target/<profile>/deps, where cargo leaves this crate's cdylib for its tests.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().expect("deps dir").to_path_buf()
}

#[test]
fn local_runner_passes_the_conformance_kit() {
    let deps = deps_dir();
    let so = deps.join(library_file_name("local"));
    let step = deps.parent().expect("profile dir").join("sqlflow-step");
    assert!(
        step.is_file(),
        "{} is missing: run the whole suite with `cargo test --workspace`, which builds it",
        step.display()
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = serde_json::json!({
        "work_dir": tmp.path().join("jobs"),
        "step_binary": step,
        // Small pages, so the ok program spans several and replay is exercised.
        "fetch_page_bytes": 2048,
        "sync_writes": false,
    });
    let report = check_runner(
        &so,
        &config.to_string(),
        &Fixtures::sqlite(&tmp.path().join("kit.db")),
    );
    println!("{report}");
    report.assert_all_passed();
}
