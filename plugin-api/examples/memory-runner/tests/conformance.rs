//! The memory runner's .so, loaded the way the server loads it, against the conformance kit,
//! with the settings that make its queueing and retention observable.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use sqlflow_runner_testkit::{Fixtures, Outcome, Report, TempDir, check_runner, deps_dir};

const CONFIG: &str = r#"{"step_binary": "STEP", "max_running_per_user": 8}"#;
/// A user runs one job at a time: the queueing check.
const QUEUEING: &str = r#"{"step_binary": "STEP", "max_running_per_user": 1}"#;
/// Finished jobs are kept 2 s; housekeeping looks once a second: the retention check.
const RETENTION: &str = r#"{"step_binary": "STEP", "retention_seconds": 2}"#;

/// The .so, and a configuration with the step binary filled in.
fn plugin() -> (std::path::PathBuf, impl Fn(&str) -> String) {
    let deps = deps_dir();
    let step = deps.parent().expect("profile dir").join("sqlflow-step");
    assert!(
        step.is_file(),
        "{} is missing: cargo build -p sqlflow-engine",
        step.display()
    );
    let so = deps.join(sqlflow_plugin_api::library_file_name("memory"));
    (so, move |config: &str| {
        config.replace("STEP", &step.display().to_string())
    })
}

#[test]
fn the_memory_runner_passes_the_conformance_kit() {
    let tmp = TempDir::new("memory-runner-kit").expect("temp dir");
    let (so, with_step) = plugin();
    let fx = Fixtures::sqlite(&tmp.path().join("kit.db"))
        .with_queueing(with_step(QUEUEING))
        .with_retention(
            with_step(RETENTION),
            Duration::from_secs(2),
            Duration::from_secs(2),
        );
    let report = check_runner(&so, &with_step(CONFIG), &fx);
    println!("{report}");
    report.assert_all_passed();
}

fn failed_saying(report: &Report, check: &str, words: &str) {
    match report.outcome(check) {
        Some(Outcome::Failed(why)) if why.contains(words) => {}
        other => panic!("{check}: want a failure saying {words:?}, got {other:?}\n{report}"),
    }
}

/// The kit holds a runner to what it declares: without a setting, a declared queueing or
/// retention fails, naming what to give; under settings that do not show the promise (no
/// cap per user, a retention of an hour), it fails on what it saw.
#[test]
fn the_kit_fails_declared_promises_without_a_setting_or_not_observed() {
    let tmp = TempDir::new("memory-runner-kit-negative").expect("temp dir");
    let (so, with_step) = plugin();
    let fx = Fixtures::sqlite(&tmp.path().join("kit.db"));
    let report = check_runner(&so, &with_step(CONFIG), &fx);
    println!("{report}");
    failed_saying(&report, "queueing", "Fixtures::with_queueing");
    failed_saying(&report, "retention", "Fixtures::with_retention");

    let hour = r#"{"step_binary": "STEP", "retention_seconds": 3600}"#;
    let fx = fx.with_queueing(with_step(CONFIG)).with_retention(
        with_step(hour),
        Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let report = check_runner(&so, &with_step(CONFIG), &fx);
    println!("{report}");
    failed_saying(&report, "queueing", "want PENDING");
    failed_saying(&report, "retention", "is still there");
}
