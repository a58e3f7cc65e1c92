//! The local runner's .so, loaded the way the server loads it, against the conformance kit,
//! with the settings that make queueing, limits and retention observable.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};
use sqlflow_plugin_api::library_file_name;
use sqlflow_runner_testkit::{Fixtures, Limit, Outcome, check_runner};

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
    // Each setting is a runner of its own: a work directory of its own, so no runner
    // recovers another's jobs.
    let config = |work_dir: &str, extra: Value| {
        let mut c = json!({
            "work_dir": tmp.path().join(work_dir),
            "step_binary": step,
            // Small pages, so the ok program spans several and replay is exercised.
            "fetch_page_bytes": 2048,
            "sync_writes": false,
        });
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c.to_string()
    };
    let limit = |what: &str, key: &str, value: u64, program: &str| Limit {
        what: what.into(),
        config: config(&format!("jobs-{key}"), json!({ "limits": { key: value } })),
        program: program.into(),
        names: format!("limits.{key} = {value}"),
    };
    let fx = Fixtures::sqlite(&tmp.path().join("kit.db"));
    let fx = Fixtures {
        limits: vec![
            limit("memory", "memory_mb", 256, &fx.over_memory_program),
            limit("record size", "record_kb", 4, &fx.big_record_program),
            limit("output", "output_mb", 1, &fx.large_program),
            limit("wall-clock", "wall_seconds", 1, &fx.slow_program),
        ],
        ..fx.clone()
    }
    .with_queueing(config(
        "jobs-queueing",
        json!({ "max_running_per_user": 1 }),
    ))
    // Swept every min(30 s, retention), on a one-second tick.
    .with_retention(
        config("jobs-retention", json!({ "retention_seconds": 2 })),
        Duration::from_secs(2),
        Duration::from_secs(4),
    );
    let report = check_runner(&so, &config("jobs", json!({})), &fx);
    println!("{report}");
    report.assert_all_passed();
}

/// The limits check looks at what the job did: under a setting without the limit it
/// claims (memory_mb = 0: none), the memory hog succeeds and the check fails.
#[test]
fn the_kit_fails_a_limit_the_setting_does_not_impose() {
    let deps = deps_dir();
    let so = deps.join(library_file_name("local"));
    let step = deps.parent().expect("profile dir").join("sqlflow-step");
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = |work_dir: &str, limits: Value| {
        json!({
            "work_dir": tmp.path().join(work_dir),
            "step_binary": step,
            "sync_writes": false,
            "limits": limits,
        })
        .to_string()
    };
    let fx = Fixtures::sqlite(&tmp.path().join("kit.db"));
    let fx = Fixtures {
        limits: vec![Limit {
            what: "memory".into(),
            config: config("jobs-unlimited", json!({ "memory_mb": 0 })),
            program: fx.over_memory_program.clone(),
            names: "limits.memory_mb".into(),
        }],
        ..fx
    };
    let report = check_runner(&so, &config("jobs", json!({})), &fx);
    match report.outcome("limits") {
        Some(Outcome::Failed(why))
            if why.contains("memory limit") && why.contains("want FAILED") => {}
        other => panic!("want the limits check to fail, got {other:?}\n{report}"),
    }
}
