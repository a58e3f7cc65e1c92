//! The memory runner's .so, loaded the way the server loads it, against the conformance kit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_runner_testkit::{Fixtures, TempDir, check_runner, deps_dir};

const CONFIG: &str = r#"{"step_binary": "STEP", "max_running_per_user": 8}"#;

#[test]
fn the_memory_runner_passes_the_conformance_kit() {
    let deps = deps_dir();
    let tmp = TempDir::new("memory-runner-kit").expect("temp dir");
    let step = deps.parent().expect("profile dir").join("sqlflow-step");
    assert!(
        step.is_file(),
        "{} is missing: cargo build -p sqlflow-engine",
        step.display()
    );
    let so = deps.join(sqlflow_plugin_api::library_file_name("memory"));
    let config = CONFIG.replace("STEP", &step.display().to_string());
    let report = check_runner(&so, &config, &Fixtures::sqlite(&tmp.path().join("kit.db")));
    println!("{report}");
    report.assert_all_passed();
}
