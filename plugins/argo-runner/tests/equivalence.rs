//! One program, two runners, the same result. The generated workflow's steps are
//! executed here, in order, as their pods would run them: the step's command and
//! args from the Workflow, the Secret's files materialized where the volume mounts
//! them, `SQLFLOW_DATASOURCE` from the Secret, stdout and stderr merged as in a pod
//! log. Their logs are served through the scripted API server to the real runner, and
//! what its Fetch returns is compared with the local runner's responses and status for
//! the same program.
//!
//! Needs `sqlflow-step` in this target directory: `cargo test --workspace` builds it
//! (alone: `cargo build -p sqlflow-engine --bin sqlflow-step`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use sqlflow_plugin_api::library_file_name;
use sqlflow_plugin_host::{self as loader, TracingHost};
use sqlflow_proto::{
    plugin::{Caller, FetchCall, RunCall},
    sqlflow::{FetchRequest, JobId, JobStatus, Response, job_status::Code, response},
};
use support::{Fake, Replica, T0, base_config, fast_tuning, request};

fn step_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let step = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join("sqlflow-step");
    assert!(
        step.is_file(),
        "{} is missing: `cargo test --workspace` builds it, or run \
         `cargo build -p sqlflow-engine --bin sqlflow-step` first",
        step.display()
    );
    step
}

/// Timings differ between two runs; everything else must not.
fn without_timings(rs: Vec<Response>) -> Vec<Response> {
    rs.into_iter()
        .map(|mut r| {
            match &mut r.response {
                Some(response::Response::Eoe(e)) => {
                    e.spent_time_seconds = 0;
                    e.spent_time_micros = 0;
                }
                // "trained <estimator> in 0.01 s; saved into <table>"
                Some(response::Response::Message(m)) if m.message.starts_with("trained ") => {
                    if let (Some(at), Some(end)) = (m.message.find(" in "), m.message.find(" s; "))
                        && at < end
                    {
                        m.message.replace_range(at + 4..end, "?");
                    }
                }
                _ => {}
            }
            r
        })
        .collect()
}

/// The local runner's responses and final status for `program`, through its `.so`
/// (a dev-dependency, so cargo builds it; two runner rlibs cannot share one binary).
fn local(program: &str, datasource: &str, work: &Path) -> (Vec<Response>, JobStatus) {
    let deps = std::env::current_exe()
        .expect("test binary path")
        .parent()
        .expect("deps dir")
        .to_path_buf();
    let plugin =
        loader::load(&deps.join(library_file_name("local"))).expect("load the local runner");
    let cfg = json!({
        "work_dir": work,
        "step_binary": step_binary(),
        "sync_writes": false,
        "fetch_page_bytes": 2048,
    });
    let runner = plugin
        .create(&cfg.to_string(), TracingHost::boxed("local"))
        .expect("local runner");
    let caller = Some(Caller {
        user_id: "alice".into(),
        panic_probe: false,
    });
    let id = runner
        .run(&RunCall {
            request: Some(request(program, datasource)),
            caller: caller.clone(),
        })
        .expect("run")
        .job_id;
    let mut cursor = String::new();
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = runner
            .fetch(
                &FetchCall {
                    request: Some(FetchRequest {
                        job: Some(JobId { job_id: id.clone() }),
                        cursor: cursor.clone(),
                        wait_ms: 0,
                    }),
                    caller: caller.clone(),
                },
                None,
            )
            .expect("fetch");
        all.extend(r.response);
        if r.eof {
            return (all, r.job_status.unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "the local job did not finish");
        if r.next_cursor == cursor {
            std::thread::sleep(Duration::from_millis(20));
        }
        cursor = r.next_cursor;
    }
}

/// Runs the workflow's steps the way their pods would, feeding their merged output to
/// the fake cluster as the pods' logs. Several lines share each timestamp, and some
/// share a second, as in real logs.
fn play_workflow(fake: &Fake, job: &str, mount: &Path) {
    let wf = fake.workflow(job);
    let secret = fake.secret(job).expect("the job's Secret");
    let decode = |key: &str| {
        String::from_utf8(
            STANDARD
                .decode(secret["data"][key].as_str().expect("secret key"))
                .expect("base64"),
        )
        .expect("utf-8")
    };
    // The volume: the Secret's items as files under the mount path.
    let volume = &wf["spec"]["volumes"][0];
    assert_eq!(volume["secret"]["secretName"], job);
    for item in volume["secret"]["items"].as_array().expect("items") {
        let path = mount.join(item["path"].as_str().expect("path"));
        std::fs::write(&path, decode(item["key"].as_str().expect("key"))).expect("write");
    }
    let templates = wf["spec"]["templates"].as_array().expect("templates");
    let main = &templates[0];
    fake.start(job);
    for (i, group) in main["steps"].as_array().expect("steps").iter().enumerate() {
        let name = group[0]["template"].as_str().expect("template name");
        let t = templates
            .iter()
            .find(|t| t["name"] == name)
            .expect("the step's template");
        let c = &t["container"];
        let mount_path = c["volumeMounts"][0]["mountPath"]
            .as_str()
            .expect("mountPath");
        let command: Vec<String> = c["command"]
            .as_array()
            .expect("command")
            .iter()
            .chain(c["args"].as_array().expect("args"))
            .map(|v| {
                let s = v.as_str().expect("string arg");
                // The image has the step on $PATH; here it is in the target directory.
                if s == "sqlflow-step" {
                    step_binary().display().to_string()
                } else {
                    s.replace(mount_path, &mount.display().to_string())
                }
            })
            .collect();
        let env = &c["env"][0];
        let key_ref = &env["valueFrom"]["secretKeyRef"];
        assert_eq!(key_ref["name"], job);
        let log = mount.join(format!("step-{i}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let status = Command::new(&command[0])
            .args(&command[1..])
            .env_clear()
            .env(
                env["name"].as_str().expect("env name"),
                decode(key_ref["key"].as_str().expect("key")),
            )
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .status()
            .expect("run the step");
        fake.step_running(job, i);
        let text = std::fs::read(&log).expect("read log");
        for (n, line) in text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            // Twelve lines a second, two per timestamp, increasing like a real log's.
            let secs = T0 + 10 * i as i64 + (n / 12) as i64;
            let nanos = ((n % 12) / 2) as u32 * 1000;
            fake.log(job, i, secs, nanos, line);
        }
        if status.success() {
            fake.step_done(job, i, "Succeeded", "");
        } else {
            fake.step_done(job, i, "Failed", "Error (exit code 1)");
            fake.finish(job, "Failed", "child failed");
            return;
        }
    }
    fake.finish(job, "Succeeded", "");
}

fn argo(program: &str, datasource: &str, mount: &Path) -> (Vec<Response>, JobStatus) {
    let fake = Fake::default();
    let mut cfg = base_config();
    cfg["fetch_page_bytes"] = json!(2048);
    let r = Replica::start(&fake, cfg, fast_tuning());
    let job = r.run_request(request(program, datasource)).expect("run");
    play_workflow(&fake, &job, mount);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pages = r.drain(&job, "");
        let last = &pages.last().expect("a page").1;
        if last.eof {
            let all = pages.iter().flat_map(|(_, p)| p.response.clone()).collect();
            return (all, last.job_status.clone().unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "no eof");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `program` on the local runner, then (on a fresh database at the same path, so
/// messages naming it match) through the workflow, and compares.
fn compare(program: &str, datasource: impl Fn(&Path) -> String) -> (Vec<Response>, JobStatus) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db_dir, mount) = (dir.path().join("db"), dir.path().join("mount"));
    std::fs::create_dir_all(&db_dir).unwrap();
    std::fs::create_dir_all(&mount).unwrap();
    let ds = datasource(&db_dir);
    let (l_resp, l_status) = local(program, &ds, &dir.path().join("jobs"));
    std::fs::remove_dir_all(&db_dir).unwrap();
    std::fs::create_dir_all(&db_dir).unwrap();
    let (a_resp, a_status) = argo(program, &ds, &mount);
    assert_eq!(
        without_timings(a_resp.clone()),
        without_timings(l_resp),
        "responses differ for {program:?}"
    );
    assert_eq!(a_status, l_status, "statuses differ for {program:?}");
    (a_resp, a_status)
}

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("db.sqlite").display())
}

#[test]
fn a_successful_program_gives_the_same_results_on_both_runners() {
    let (resp, status) = compare(
        "CREATE TABLE t(a INTEGER, b TEXT, c REAL);\n\
         INSERT INTO t VALUES (1, 'x', 0.5), (2, NULL, 1.5), (3, 'it''s; \"q\" {{x}} $HOME', -2);\n\
         SELECT * FROM t ORDER BY a;\n\
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)\n\
         SELECT i, 'row ' || i AS label FROM n;\n\
         SELECT count(*) AS rows FROM t WHERE b IS NOT NULL",
        sqlite,
    );
    assert_eq!(status.code(), Code::Succeeded);
    let rows = resp
        .iter()
        .filter(|r| matches!(r.response, Some(response::Response::Row(_))))
        .count();
    assert_eq!(rows, 3 + 200 + 1);
}

/// Figures are records of tens of KiB, larger than a page (2048 bytes here): each comes
/// whole, with the same bytes, from both runners.
#[test]
fn figures_come_whole_and_alike_from_both_runners() {
    let (resp, status) = compare(
        "CREATE TABLE d AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 90)\n\
         SELECT (i % 3) + (i % 7) * 0.1 AS x, i % 5 AS y, i % 3 AS label FROM n;\n\
         SELECT * FROM d TO TRAIN xgboost.gbtree\n\
         WITH objective = \"multi:softprob\", num_class = 3, train.num_boost_round = 5\n\
         LABEL label INTO m;\n\
         SELECT * FROM d TO EVALUATE m LABEL label INTO e;\n\
         SELECT * FROM d TO EXPLAIN m",
        sqlite,
    );
    assert_eq!(status.code(), Code::Succeeded, "{}", status.message);
    let figures: Vec<(String, usize)> = resp
        .iter()
        .filter_map(|r| match &r.response {
            Some(response::Response::Figure(f)) => Some((f.title.clone(), f.data.len())),
            _ => None,
        })
        .collect();
    let titles: Vec<&str> = figures.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        titles,
        ["loss", "confusion matrix", "ROC", "feature importance"]
    );
    assert!(figures.iter().all(|f| f.1 > 4096), "{figures:?}");
}

#[test]
fn a_failing_statement_gives_the_same_output_and_error_on_both_runners() {
    let (resp, status) = compare(
        "CREATE TABLE u(a INTEGER);\nINSERT INTO u VALUES (1);\nSELECT * FROM u;\n\
         SELECT * FROM no_such_table;\nSELECT 1",
        sqlite,
    );
    assert_eq!(status.code(), Code::Failed);
    assert!(
        status
            .message
            .starts_with("statement 4 of 5 failed: no such table: no_such_table"),
        "{}",
        status.message
    );
    assert!(!resp.is_empty());
}

#[test]
fn a_program_that_cannot_reach_its_database_fails_alike() {
    let (_, status) = compare("SELECT 1; SELECT 2", |dir: &Path| {
        format!("sqlite://{}", dir.join("no/such/dir/db.sqlite").display())
    });
    assert_eq!(status.code(), Code::Failed);
    assert!(!status.message.is_empty());
}

#[test]
fn the_step_command_is_the_one_the_workflow_names() {
    // Guards the premise of the comparison: no step reads SQL from anywhere but the
    // mounted program, and the datasource from anywhere but the Secret.
    let fake = Fake::default();
    let r = Replica::start(&fake, base_config(), fast_tuning());
    let job = r.run("SELECT 1; SELECT 2").unwrap();
    let wf: Value = fake.workflow(&job);
    for t in &wf["spec"]["templates"].as_array().unwrap()[1..] {
        assert_eq!(t["container"]["command"], json!(["sqlflow-step"]));
        assert_eq!(t["container"]["env"][0]["name"], "SQLFLOW_DATASOURCE");
    }
}

fn unique_table() -> String {
    format!(
        "argo_eq_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    )
}

/// MySQL/MariaDB and PostgreSQL, when `.ci/run`'s SQLFLOW_TEST_MYSQL /
/// SQLFLOW_TEST_POSTGRES name a server: each dialect's own quoting decides where
/// statements end, in the runner (one step per statement) exactly as in the step.
#[test]
fn server_databases_give_the_same_results_on_both_runners() {
    for (var, quoted) in [
        ("SQLFLOW_TEST_MYSQL", r#"'it\'s; a "q"'"#),
        ("SQLFLOW_TEST_POSTGRES", r#"$$it's; a "q"$$"#),
    ] {
        let Ok(url) = std::env::var(var) else {
            eprintln!("skipped: set {var} to compare on that database");
            continue;
        };
        let t = unique_table();
        let program = format!(
            "DROP TABLE IF EXISTS {t};\nCREATE TABLE {t}(a INT, b TEXT);\n\
             INSERT INTO {t} VALUES (1, {quoted}), (2, 'x{{{{y}}}}$z');\n\
             SELECT a, b FROM {t} ORDER BY a;\nDROP TABLE {t}"
        );
        let (resp, status) = compare(&program, |_| url.clone());
        assert_eq!(status.code(), Code::Succeeded, "{var}: {}", status.message);
        let rows = resp
            .iter()
            .filter(|r| matches!(r.response, Some(response::Response::Row(_))))
            .count();
        assert_eq!(rows, 2, "{var}");
    }
}
