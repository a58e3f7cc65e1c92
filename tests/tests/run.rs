//! `SELECT ... TO RUN program CMD "arg", ... [INTO table]` end to end under the local
//! runner, on SQLite and (when SQLFLOW_TEST_MYSQL / SQLFLOW_TEST_POSTGRES are set) on
//! MariaDB and PostgreSQL: an allow-listed program (`[runners.local] run_programs`) gets
//! the SELECT's rows as CSV on stdin and its arguments as argv (never through a shell),
//! with no datasource in its environment; its stdout reaches the client (or, with INTO,
//! becomes the table); a name not on the list is refused naming the key; a failing
//! program fails the statement with its stderr.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use sqlflow_e2e::{
    Server,
    results::{Kind, databases, run_on},
    sqlflow::{Response, cell::Value, job_status::Code, response},
};

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn messages(r: &[Response]) -> Vec<String> {
    r.iter()
        .filter_map(|r| match &r.response {
            Some(response::Response::Message(m)) => Some(m.message.clone()),
            _ => None,
        })
        .collect()
}

/// The rows of the last table in the responses, as text.
fn rows(r: &[Response]) -> Vec<String> {
    let mut out = Vec::new();
    for r in r {
        match &r.response {
            Some(response::Response::Head(_)) => out.clear(),
            Some(response::Response::Row(row)) => out.push(
                row.cells
                    .iter()
                    .map(|c| match &c.value {
                        Some(Value::Int64(i)) => i.to_string(),
                        Some(Value::Double(f)) => f.to_string(),
                        Some(Value::Decimal(s) | Value::String(s)) => s.clone(),
                        Some(Value::Null(_)) | None => "NULL".into(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => {}
        }
    }
    out
}

fn prefix(kind: Kind) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("r{}_{nanos}_{}_", std::process::id(), kind as u8)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_run_runs_allow_listed_programs_only() {
    let scripts = tempfile::tempdir().unwrap();
    let marker = scripts.path().join("shell-ran");
    let echo = script(
        scripts.path(),
        "echo.sh",
        "echo \"argc=$#\"\n\
         for a in \"$@\"; do echo \"arg=[$a]\"; done\n\
         echo \"ds=[$SQLFLOW_DATASOURCE] home=[$HOME]\"\n\
         while IFS= read -r line; do echo \"got: $line\"; done\n\
         echo \"a note on stderr\" >&2\n",
    );
    let fail = script(
        scripts.path(),
        "fail.sh",
        "cat >/dev/null\necho \"bad input at row 3\" >&2\nexit 3\n",
    );
    let double = script(
        scripts.path(),
        "double.sh",
        "awk -F, 'NR == 1 { print \"a,doubled,label\"; next } \
         { print $1 \",\" $1 * 2 \",\" \"\\\"x, \" $1 \"\\\"\" }'\n",
    );
    let server = Server::builder()
        .local_runner(&format!(
            "run_programs = {{ \"echo.py\" = \"{echo}\", fail = \"{fail}\", \
             \"team/double:1\" = \"{double}\" }}"
        ))
        .start();

    for (kind, ds) in databases("TO RUN") {
        let p = prefix(kind);
        let (_, s) = run_on(
            &server,
            &ds,
            &format!(
                "CREATE TABLE {p}t (a INT, b VARCHAR(20));\n\
                 INSERT INTO {p}t VALUES (1, 'x'), (2, 'y, z')"
            ),
        )
        .await;
        assert_eq!(s.code(), Code::Succeeded, "{kind:?}: {}", s.message);

        // Rows on stdin as CSV, arguments verbatim, no datasource, output to the client.
        let sql = format!(
            "SELECT a, b FROM {p}t ORDER BY a TO RUN echo.py \
             CMD \"--x=1\", \"$(touch {m}) `touch {m}`; touch {m}\", \"two words\"",
            m = marker.display()
        );
        let (r, s) = run_on(&server, &ds, &sql).await;
        assert_eq!(s.code(), Code::Succeeded, "{kind:?}: {}", s.message);
        let m = messages(&r);
        let has = |line: &str| m.iter().any(|l| l == line);
        assert!(has("argc=3"), "{kind:?}: {m:#?}");
        assert!(has("arg=[--x=1]"), "{kind:?}: {m:#?}");
        assert!(
            has(&format!(
                "arg=[$(touch {m}) `touch {m}`; touch {m}]",
                m = marker.display()
            )),
            "{kind:?}: {m:#?}"
        );
        assert!(has("arg=[two words]"), "{kind:?}: {m:#?}");
        assert!(
            has("ds=[] home=[]"),
            "{kind:?}: a cleared environment: {m:#?}"
        );
        assert!(has("got: a,b"), "{kind:?}: a header row: {m:#?}");
        assert!(has("got: 1,x"), "{kind:?}: {m:#?}");
        assert!(has("got: 2,\"y, z\""), "{kind:?}: CSV quoting: {m:#?}");
        assert!(
            has("a note on stderr"),
            "{kind:?}: stderr is logged: {m:#?}"
        );
        assert!(!marker.exists(), "no shell ran the arguments");

        // A name not on the list is refused, naming the configuration key.
        let (_, s) = run_on(
            &server,
            &ds,
            &format!("SELECT * FROM {p}t TO RUN sqlflow/runnable:v0.0.1 CMD \"binning.py\""),
        )
        .await;
        assert_eq!(s.code(), Code::Failed, "{kind:?}");
        assert!(
            s.message.contains("TO RUN sqlflow/runnable:v0.0.1")
                && s.message.contains("[runners.local] run_programs")
                && s.message.contains("echo.py"),
            "{kind:?}: {}",
            s.message
        );

        // A failing program fails the statement with its stderr.
        let (_, s) = run_on(&server, &ds, &format!("SELECT * FROM {p}t TO RUN fail")).await;
        assert_eq!(s.code(), Code::Failed, "{kind:?}");
        assert!(
            s.message.contains("exited with code 3") && s.message.contains("bad input at row 3"),
            "{kind:?}: {}",
            s.message
        );

        // INTO: the program's stdout CSV becomes the table.
        let (r, s) = run_on(
            &server,
            &ds,
            &format!(
                "SELECT a, b FROM {p}t ORDER BY a TO RUN team/double:1 INTO {p}out;\n\
                 SELECT a, doubled, label FROM {p}out ORDER BY a"
            ),
        )
        .await;
        assert_eq!(s.code(), Code::Succeeded, "{kind:?}: {}", s.message);
        assert_eq!(rows(&r), ["1 2 x, 1", "2 4 x, 2"], "{kind:?}");
        assert!(
            messages(&r)
                .iter()
                .any(|l| l.contains(&format!("saved 2 rows (a, doubled, label) in {p}out"))),
            "{kind:?}: {:#?}",
            messages(&r)
        );

        // Several INTO tables are for images (argo), not local programs.
        let (_, s) = run_on(
            &server,
            &ds,
            &format!("SELECT * FROM {p}t TO RUN team/double:1 INTO {p}o1, {p}o2"),
        )
        .await;
        assert_eq!(s.code(), Code::Failed, "{kind:?}");
        assert!(s.message.contains("INTO names 2 tables"), "{}", s.message);

        let _ = run_on(&server, &ds, &format!("DROP TABLE {p}t; DROP TABLE {p}out")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_run_programs_to_run_is_refused() {
    let server = Server::start();
    let (_, s) = run_on(&server, "", "SELECT 1 AS a TO RUN anything CMD \"x\"").await;
    assert_eq!(s.code(), Code::Failed);
    assert!(
        s.message.contains("none is configured")
            && s.message.contains("[runners.local] run_programs"),
        "{}",
        s.message
    );
}

/// A program is stopped before the job's wall-clock limit, so the step never leaves it
/// behind, and the statement says which limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_is_stopped_at_the_jobs_wall_clock_limit() {
    let scripts = tempfile::tempdir().unwrap();
    let sleeper = script(scripts.path(), "sleep.sh", "exec sleep 60\n");
    let server = Server::builder()
        .local_runner(&format!(
            "run_programs = {{ sleeper = \"{sleeper}\" }}\nlimits = {{ wall_seconds = 3 }}"
        ))
        .start();
    let started = std::time::Instant::now();
    let (_, s) = run_on(&server, "", "SELECT 1 AS a TO RUN sleeper").await;
    assert_eq!(s.code(), Code::Failed);
    assert!(
        s.message
            .contains("TO RUN sleeper: the program ran until the job's wall-clock limit")
            && s.message.contains("limits.wall_seconds = 3"),
        "{}",
        s.message
    );
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
}
