//! The `sqlflow` command-line client against the real server.

use std::{
    io::Write,
    process::{Output, Stdio},
    time::{Duration, Instant},
};

use sqlflow_e2e::{Server, alive, fetch_all, job_process, sqlflow::job_status::Code};

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn renders_tables_like_psql() {
    let server = Server::start();
    let out = server
        .cli()
        .args([
            "-e",
            "CREATE TABLE t(a INT, b TEXT); INSERT INTO t VALUES (1,'x'),(2,NULL); SELECT * FROM t;",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "OK\n2 rows affected\n a |  b\n---+------\n 1 | x\n 2 | NULL\n(2 rows)\n"
    );
}

#[test]
fn reads_the_program_from_a_file_or_stdin() {
    let server = Server::start();
    std::fs::write(server.dir().join("p.sql"), "SELECT 'from file' AS src;\n").unwrap();
    let out = server.cli().arg("p.sql").output().unwrap();
    assert!(out.status.success());
    assert!(text(&out).0.contains("from file"));

    let mut child = server
        .cli()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT 'from stdin' AS src;")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(text(&out).0.contains("from stdin"));
}

#[test]
fn a_failed_job_exits_non_zero_naming_the_statement_and_the_error() {
    let server = Server::start();
    let out = server
        .cli()
        .args(["-e", "SELECT 1 AS fine; SELECT nope FROM nowhere;"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains("fine"),
        "earlier results still print: {stdout}"
    );
    assert!(stderr.contains("statement 2 of 2 failed"), "{stderr}");
    assert!(stderr.contains("no such table: nowhere"), "{stderr}");
    assert!(stderr.contains("SELECT nope FROM nowhere"), "{stderr}");
}

#[test]
fn detach_fetch_and_cancel() {
    let server = Server::start();
    let out = server
        .cli()
        .args(["--detach", "-e", "SELECT 40 + 2 AS answer"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let id = text(&out).0.trim().to_string();
    assert_eq!(id.len(), 32, "not a job id: {id:?}");
    let out = server.cli().args(["fetch", &id]).output().unwrap();
    assert!(out.status.success());
    assert!(text(&out).0.contains(" 42\n"), "{}", text(&out).0);

    let out = server
        .cli()
        .args(["--detach", "-e", sqlflow_e2e::IDLE_SQL])
        .output()
        .unwrap();
    let slow = text(&out).0.trim().to_string();
    let out = server.cli().args(["cancel", &slow]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("CANCELLED"), "{}", text(&out).0);
    let out = server.cli().args(["fetch", &slow]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a cancelled job: {}",
        text(&out).1
    );

    let out = server
        .cli()
        .args(["fetch", "0123456789abcdef0123456789abcdef"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("NOT_FOUND"), "{}", text(&out).1);
}

#[test]
fn formats_for_scripts() {
    let server = Server::start();
    let out = server
        .cli()
        .args([
            "--format",
            "csv",
            "-e",
            "SELECT 1 AS a, 'x,y' AS b, NULL AS c UNION ALL SELECT 2, 'q\"', 3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out).0, "a,b,c\n1,\"x,y\",\n2,\"q\"\"\",3\n");
    let out = server
        .cli()
        .args(["--format", "json", "-e", "SELECT 1 AS a, 'x' AS b"])
        .output()
        .unwrap();
    assert_eq!(text(&out).0, "{\"a\":1,\"b\":\"x\"}\n");
}

#[tokio::test]
async fn ctrl_c_cancels_the_job() {
    let server = Server::start();
    let mut cli = server
        .cli()
        .args(["-e", sqlflow_e2e::IDLE_SQL])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the job's process to exist.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (job, pid) = loop {
        let found = std::fs::read_dir(server.jobs_dir())
            .ok()
            .and_then(|entries| {
                entries.flatten().find_map(|e| {
                    let id = e.file_name().to_string_lossy().into_owned();
                    job_process(&server, &id).map(|(pid, _)| (id, pid))
                })
            });
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "the job never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cli.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = cli.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the CLI did not exit after Ctrl+C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert!(!alive(pid), "the job's process survived Ctrl+C");
    let mut c = server.client().await;
    let (_, s) = fetch_all(&mut c, &job).await;
    assert_eq!(s.code(), Code::Cancelled);
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let out = std::process::Command::new(sqlflow_e2e::bin("sqlflow"))
        .args(["--server", "127.0.0.1:1", "-e", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("cannot reach the SQLFlow server at http://127.0.0.1:1"),
        "{err}"
    );
}

#[test]
fn on_a_terminal_a_spinner_shows_status_and_elapsed_time() {
    // `script` gives the CLI a pseudo-terminal; skip where util-linux is missing.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` command to provide a terminal");
        return;
    }
    let server = Server::start();
    let cmd = format!(
        "{} --server {} -e 'SELECT sleep(0.6) AS slept'",
        sqlflow_e2e::bin("sqlflow").display(),
        server.url()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(server.dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("RUNNING 0."), "no spinner line: {text:?}");
    assert!(
        text.contains("\x1b[2K"),
        "the spinner line is not cleared: {text:?}"
    );
    assert!(text.contains("slept"), "{text:?}");
}
