//! The CLI's argument handling. (Its behaviour against a server is tested in the
//! `sqlflow-e2e` crate; a test here also makes `cargo test --workspace` build the binary.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::process::{Command, Stdio};

#[test]
fn help_lists_the_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["fetch", "cancel", "--detach", "--server", "--format"] {
        assert!(
            help.contains(word),
            "--help does not mention {word}:\n{help}"
        );
    }
}

#[test]
fn an_unreachable_server_exits_with_status_2() {
    // No server listens on port 1: the CLI must say so and exit 2, not hang.
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow"))
        .args(["--server", "http://127.0.0.1:1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn conflicting_program_sources_are_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow"))
        .args(["-e", "SELECT 1", "file.sql"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn a_subcommand_cannot_be_mixed_with_a_program() {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow"))
        .args(["-e", "SELECT 1", "fetch", "abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be combined"));
}

#[test]
fn attaching_to_an_unreachable_server_fails_at_once() {
    // Retrying is for a server that answered before and is restarting, not for a
    // wrong address; this returns in well under the minute of retries.
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow"))
        .args([
            "--server",
            "http://127.0.0.1:1",
            "fetch",
            "0123456789abcdef0123456789abcdef",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
}

#[test]
fn demo_data_takes_only_its_dataset_names_and_plain_prefixes() {
    // Both are refused before the server is asked anything (none listens on port 1).
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow"))
        .args([
            "--server",
            "http://127.0.0.1:1",
            "demo-data",
            "iris",
            "mnist",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for name in [
        "iris",
        "boston",
        "churn",
        "creditcard",
        "titanic",
        "scorecard",
        "energy",
        "sqlflow_models",
    ] {
        assert!(err.contains(name), "the error does not list {name}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_sqlflow"))
        .args([
            "--server",
            "http://127.0.0.1:1",
            "demo-data",
            "--schema-prefix",
            "my-",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("letters, digits and _"), "{err}");
}
