//! The SDK's example runner (`plugin-api/examples/memory-runner`, a runner a third party
//! could write in 55 lines) served by the real server: the demo through the CLI, listing,
//! and the host's honest report of the promises it does not keep.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::process::Output;

use sqlflow_e2e::Server;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(out: Output) -> String {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{}: {stderr}\n{stdout}", out.status);
    stdout
}

#[test]
fn the_memory_runner_runs_the_demo_through_the_cli() {
    let server = Server::builder().toml("job_runner = \"memory\"").start();
    let log = server.log();
    assert!(log.contains("'memory' runner"), "{log}");
    assert!(
        log.contains("the runner does not offer: limits, restart survival"),
        "the host reports what the runner declared: {log}"
    );

    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let out = ok(server.cli().arg(demo.join("demo.sql")).output().unwrap());
    assert!(!out.trim().is_empty(), "the demo printed nothing");

    ok(server.cli().args(["demo-data", "iris"]).output().unwrap());
    let train = "SELECT * FROM iris.train TO TRAIN DNNClassifier \
                 WITH model.n_classes = 3, model.hidden_units = [10, 20], train.epoch = 10 \
                 LABEL class INTO sqlflow_models.iris_dnn; \
                 SELECT * FROM iris.test TO PREDICT iris.predicted.class \
                 USING sqlflow_models.iris_dnn; \
                 SELECT count(*) AS predicted FROM iris.predicted;";
    let out = ok(server.cli().args(["-e", train]).output().unwrap());
    assert!(out.contains("predicted"), "{out}");

    let jobs = ok(server.cli().arg("jobs").output().unwrap());
    assert!(
        jobs.contains("SUCCEEDED"),
        "ListJobs through the memory runner: {jobs}"
    );

    let (failed, stderr) = text(
        &server
            .cli()
            .args(["-e", "SELECT 1 AS fine; SELECT nope FROM nowhere;"])
            .output()
            .unwrap(),
    );
    assert!(failed.contains("fine"), "{failed}");
    assert!(stderr.contains("statement 2 of 2 failed"), "{stderr}");
}
