//! The `sqlflow` command-line client against the real server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    io::{Read, Write},
    process::{Child, Output, Stdio},
    sync::mpsc,
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

#[test]
fn tsv_and_csv_tell_null_from_every_string() {
    let server = Server::start();
    let sql =
        "SELECT NULL AS n, '\\N' AS s, 'a' || char(9) || 'b' || char(10) || 'c\\' AS t, '' AS e";
    let out = server
        .cli()
        .args(["--format", "tsv", "-e", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(text(&out).0, "n\ts\tt\te\n\\N\t\\\\N\ta\\tb\\nc\\\\\t\n");
    let out = server
        .cli()
        .args(["--format", "csv", "-e", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(text(&out).0, "n,s,t,e\n,\\N,\"a\tb\nc\\\",\"\"\n");
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

/// The program of the streaming tests: a table at once, then a statement that runs for
/// two minutes.
const TABLE_THEN_SLEEP: &str = "SELECT 1 AS a; SELECT sleep(120)";

/// Reads what the CLI prints from `output` until its first table is complete, and checks
/// that it came while the job still ran: the CLI flushes each completed reply instead of
/// holding results until the job ends. Then stops the CLI with Ctrl+C (which cancels the
/// job).
fn first_table_arrives_while_the_job_runs(mut cli: Child, mut output: impl Read + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // A terminal's master reads EIO once the CLI has exited: the end, like EOF.
        while let Ok(n @ 1..) = output.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // Generous: the table takes milliseconds; the job runs for two minutes.
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("(1 row)") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => {
                let _ = cli.kill();
                panic!(
                    "the first table did not appear while the job ran; the CLI printed {:?}",
                    String::from_utf8_lossy(&seen)
                );
            }
        }
    }
    assert!(
        cli.try_wait().unwrap().is_none(),
        "the CLI ended before the job did: {:?}",
        String::from_utf8_lossy(&seen)
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cli.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
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
}

#[test]
fn a_completed_table_shows_at_once_through_a_pipe() {
    let server = Server::start();
    let mut cli = server
        .cli()
        .args(["-e", TABLE_THEN_SLEEP])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = cli.stdout.take().unwrap();
    first_table_arrives_while_the_job_runs(cli, stdout);
}

#[test]
fn a_completed_table_shows_at_once_on_a_terminal() {
    use nix::{
        fcntl::OFlag,
        pty::{grantpt, posix_openpt, ptsname_r, unlockpt},
    };
    use std::os::unix::fs::OpenOptionsExt;
    let server = Server::start();
    // A pseudo-terminal for stdout and stderr (so the spinner runs too). Both ends are
    // close-on-exec (std opens files so): a process another test starts meanwhile must
    // not keep them open. O_NOCTTY: it must not become this process's terminal.
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(OFlag::O_NOCTTY.bits())
        .open(ptsname_r(&master).unwrap())
        .unwrap();
    let mut cmd = server.cli();
    cmd.args(["-e", TABLE_THEN_SLEEP])
        .stdin(Stdio::null())
        .stdout(terminal.try_clone().unwrap())
        .stderr(terminal);
    let cli = cmd.spawn().unwrap();
    // Our copies of the terminal end close here, so only the CLI holds it.
    drop(cmd);
    first_table_arrives_while_the_job_runs(cli, master);
}
