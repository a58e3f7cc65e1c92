//! The minimal runner's .so, loaded the way the server loads it, against the conformance kit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_runner_testkit::{Fixtures, TempDir, check_runner, deps_dir};

// The minimal runner takes no configuration and finds sqlflow-step by itself (next to
// the test binary's directory, as next to the server).
const CONFIG: &str = "{}";

#[test]
fn the_minimal_runner_passes_the_conformance_kit() {
    let deps = deps_dir();
    let tmp = TempDir::new("minimal-runner-kit").expect("temp dir");
    let step = deps.parent().expect("profile dir").join("sqlflow-step");
    assert!(
        step.is_file(),
        "{} is missing: cargo build -p sqlflow-engine",
        step.display()
    );
    let so = deps.join(sqlflow_plugin_api::library_file_name("minimal"));
    let config = CONFIG;
    let report = check_runner(&so, config, &Fixtures::sqlite(&tmp.path().join("kit.db")));
    println!("{report}");
    report.assert_all_passed();
}
