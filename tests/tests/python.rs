//! The Python package's tests (python/tests, pytest) against this build's binaries: the
//! client, DB-API, the Jupyter magic and notebooks, the generated code's freshness and
//! `pip install ./python`. Without python3 or its test modules they say they were skipped
//! (`python3 -m pip install './python[test]'` installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{path::PathBuf, process::Command};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

#[test]
fn python_package_tests() {
    let probe = Command::new("python3")
        .args(["-c", "import grpc, google.protobuf, pytest"])
        .output();
    match probe {
        Err(e) => {
            eprintln!("skipped: python3 cannot be run ({e})");
            return;
        }
        Ok(out) if !out.status.success() => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("").trim();
            eprintln!(
                "skipped: python3 lacks the test modules ({last}); \
                 install them with: python3 -m pip install './python[test]'"
            );
            return;
        }
        Ok(_) => {}
    }
    // The server, step and runner this `cargo test` built.
    let bin_dir = sqlflow_e2e::profile_dir();
    sqlflow_e2e::bin("sqlflow-server");
    sqlflow_e2e::bin("sqlflow-step");
    let status = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "python/tests",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(repo())
        .env("SQLFLOW_BIN_DIR", &bin_dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("SQLFLOW_SERVER")
        .env_remove("SQLFLOW_TOKEN")
        .env_remove("SQLFLOW_DATASOURCE")
        .status()
        .expect("run python3 -m pytest");
    assert!(status.success(), "pytest python/tests failed ({status})");
}
