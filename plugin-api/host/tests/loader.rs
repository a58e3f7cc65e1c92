//! The loader's refusals, on real libraries: a plugin built against the previous
//! sqlflow-plugin-api release (another version and another layout) is refused by
//! abi_stable's version check in one line naming the file, both versions and the fix; one
//! that claims this version but has another layout is refused as briefly, with abi_stable's
//! layout report only in the debug log.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    io,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use sqlflow_plugin_api::library_file_name;
use sqlflow_plugin_host::{LoadError, host_api_version, load};

/// target/<profile>/deps, where cargo leaves the dev-dependencies' cdylibs.
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().expect("deps dir").to_path_buf()
}

/// Collects what a `tracing` fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn load_logged(path: &std::path::Path, level: tracing::Level) -> (LoadError, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let err = tracing::subscriber::with_default(subscriber, || load(path))
        .expect_err("the mismatched plugin was loaded");
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (err, log)
}

#[test]
fn a_plugin_built_against_the_previous_version_is_refused_naming_both_versions() {
    let so = deps_dir().join(library_file_name("oldabi"));
    let (err, info_log) = load_logged(&so, tracing::Level::DEBUG);
    let host = host_api_version();
    assert_eq!(
        host, "0.2.0",
        "the version the ABI growth of `features` bumped to"
    );
    match &err {
        LoadError::VersionMismatch {
            plugin, host: h, ..
        } => {
            assert_eq!(plugin, "0.1.0", "{err:?}");
            assert_eq!(h, &host, "{err:?}");
        }
        other => panic!("want a version mismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert_eq!(
        message,
        format!(
            "runner plugin {} was built against sqlflow-plugin-api 0.1.0, but this server \
             has {host}; rebuild the plugin against sqlflow-plugin-api {host}",
            so.display()
        )
    );
    assert!(
        !info_log.contains("ABI layout differences"),
        "refused by the version check, before any layout comparison: {info_log}"
    );
}

#[test]
fn a_layout_mismatch_is_one_short_message_with_the_detail_at_debug_level() {
    let so = deps_dir().join(library_file_name("samever"));
    let (err, info_log) = load_logged(&so, tracing::Level::INFO);
    assert!(matches!(err, LoadError::Layout { .. }), "{err:?}");
    let message = err.to_string();
    let host = host_api_version();
    assert!(message.contains(&so.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("built against sqlflow-plugin-api {host}")),
        "the plugin's version: {message}"
    );
    assert!(
        message.contains(&format!(
            "rebuild the plugin against sqlflow-plugin-api {host}"
        )),
        "what to do: {message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.len() < 400, "{} bytes: {message}", message.len());
    assert!(info_log.is_empty(), "nothing above debug: {info_log}");

    let (_, debug_log) = load_logged(&so, tracing::Level::DEBUG);
    assert!(
        debug_log.contains("ABI layout differences") && debug_log.lines().count() > 10,
        "abi_stable's report is at debug level: {debug_log}"
    );
}

#[test]
fn a_missing_file_and_a_non_library_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let missing = dir.join(library_file_name("nosuch"));
    let err = load(&missing).unwrap_err();
    assert!(matches!(err, LoadError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains(&missing.display().to_string()));

    let junk = dir.join(library_file_name("junk"));
    std::fs::write(&junk, b"not a library").unwrap();
    let err = load(&junk).unwrap_err();
    assert!(
        err.to_string().contains(&junk.display().to_string()),
        "{err}"
    );
    assert_eq!(err.to_string().lines().count(), 1, "{err}");
}
