//! The server binary's command line. (End-to-end behaviour is in the `sqlflow-e2e` crate;
//! having a test here also makes `cargo test --workspace` build the binary it uses.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::process::Command;

#[test]
fn prints_its_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow-server"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_missing_config_file_is_a_configuration_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow-server"))
        .args(["--config", "/nonexistent/sqlflow.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/sqlflow.toml does not exist"),
        "{err}"
    );
}
