//! Opt-in, against a real cluster with Argo Workflows: the conformance kit drives
//! `libargo_runner.so` through the server's own loader. Set
//!
//! - `SQLFLOW_TEST_KUBECONFIG`: a kube config for the cluster (required to run);
//! - `SQLFLOW_TEST_ARGO_STEP_IMAGE`: the step image (deploy/Dockerfile.step), pullable
//!   by the cluster (required);
//! - `SQLFLOW_TEST_ARGO_NAMESPACE` (default `sqlflow-jobs`) and
//!   `SQLFLOW_TEST_ARGO_SERVICE_ACCOUNT` (default `sqlflow-step`): as created by
//!   deploy/k8s/namespaces.yaml and rbac.yaml;
//! - `SQLFLOW_TEST_ARGO_DATASOURCE` (default `sqlite://:memory:`): what the steps use.
//!   The programs keep no state between statements, so an in-memory database works.
//!
//! Without `SQLFLOW_TEST_KUBECONFIG` the test says it was skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{path::PathBuf, time::Duration};

use sqlflow_plugin_api::library_file_name;
use sqlflow_runner_testkit::{Fixtures, Limit, check_runner};

#[test]
fn the_argo_runner_passes_the_conformance_kit_on_a_real_cluster() {
    let Some(kubeconfig) = std::env::var_os("SQLFLOW_TEST_KUBECONFIG") else {
        eprintln!(
            "SKIPPED: set SQLFLOW_TEST_KUBECONFIG (and SQLFLOW_TEST_ARGO_STEP_IMAGE) to run against a cluster"
        );
        return;
    };
    let image = std::env::var("SQLFLOW_TEST_ARGO_STEP_IMAGE")
        .expect("SQLFLOW_TEST_ARGO_STEP_IMAGE: the step image the cluster can pull");
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let so: PathBuf = std::env::current_exe()
        .expect("test binary path")
        .parent()
        .expect("deps dir")
        .join(library_file_name("argo"));
    let config = serde_json::json!({
        "kubeconfig": PathBuf::from(kubeconfig),
        "namespace": env("SQLFLOW_TEST_ARGO_NAMESPACE", "sqlflow-jobs"),
        "service_account": env("SQLFLOW_TEST_ARGO_SERVICE_ACCOUNT", "sqlflow-step"),
        "step_image": image,
        "ttl_seconds_after_finished": 600,
        "pod_gc_delay_seconds": 300,
        "active_deadline_seconds": 900,
        "log_poll_ms": 500,
    });
    // The settings of the configuration-dependent promises, each a variant of `config`.
    let variant = |key: &str, value: serde_json::Value| {
        let mut c = config.clone();
        c[key] = value;
        c.to_string()
    };
    // Retention: Argo's TTL controller deletes a finished Workflow (and the runner its
    // Secret) `ttl_seconds_after_finished` after it ends, on its own resync schedule.
    let retention = variant("ttl_seconds_after_finished", serde_json::json!(10));
    // Limits: a step container over its memory limit is OOMKilled, which the job's
    // failure message repeats from the step's node.
    let memory = variant(
        "resources",
        serde_json::json!({ "limits": { "memory": "128Mi" } }),
    );
    // Queueing: not declared (Argo's own parallelism is not per user), so skipped.
    let sqlite = Fixtures::sqlite(std::path::Path::new("unused.db"));
    let fixtures = Fixtures {
        datasource: env("SQLFLOW_TEST_ARGO_DATASOURCE", "sqlite://:memory:"),
        ok_program: "SELECT 1 AS one, 'it''s {{x}} $HOME' AS quoted;\n\
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)\n\
                     SELECT i, 'row ' || i AS label, i * 0.5 AS half FROM n;"
            .into(),
        // Pods are scheduled and images pulled: minutes, not seconds.
        finish_within: Duration::from_secs(300),
        cancel_within: Duration::from_secs(120),
        // The other programs are the kit's own; they use MySQL's sleep(), which
        // sqlflow-rs's SQLite has too.
        ..sqlite.clone()
    }
    .with_limit(Limit {
        what: "memory".into(),
        config: memory,
        program: sqlite.over_memory_program.clone(),
        names: "OOMKilled".into(),
    })
    .with_retention(retention, Duration::from_secs(10), Duration::from_secs(180));
    let report = check_runner(&so, &config.to_string(), &fixtures);
    println!("{report}");
    report.assert_all_passed();
}
