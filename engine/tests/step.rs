//! The `sqlflow-step` binary: the record stream in run mode, and job mode's final status
//! when the job succeeds, fails, is cancelled before it starts, or its worker is killed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use sqlflow_jobdir::{self as jobdir, FinalCode, JobSession, StepInput};
use sqlflow_proto::{
    step::record,
    stream::{Line, decode_line},
};

fn step() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sqlflow-step"))
}

fn records(out: &[u8]) -> Vec<record::Record> {
    out.split_inclusive(|&b| b == b'\n')
        .map(|l| match decode_line(l).unwrap() {
            Line::Record(r) => r.record.unwrap(),
            Line::Text(t) => panic!("unexpected text line {t:?}"),
        })
        .collect()
}

#[test]
fn run_mode_writes_records_and_exits_non_zero_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ds = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = step()
        .args([
            "run",
            "--datasource",
            &ds,
            "-e",
            "SELECT 1 AS one; SELECT * FROM missing",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let recs = records(&out.stdout);
    let kinds: String = recs
        .iter()
        .map(|r| match r {
            record::Record::Start(_) => 'S',
            record::Record::Response(_) => 'R',
            record::Record::Failure(_) => 'F',
            record::Record::End(_) => 'E',
        })
        .collect();
    // start, head, row, eoe, start, failure
    assert_eq!(kinds, "SRRRSF");
    let record::Record::Failure(f) = recs.last().unwrap() else {
        panic!()
    };
    assert_eq!(f.statement_index, 1);
    assert!(f.error.contains("no such table: missing"), "{}", f.error);
    assert!(String::from_utf8_lossy(&out.stderr).contains("statement 2 of 2 failed"));
}

#[test]
fn run_mode_reads_the_datasource_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = step()
        .args(["run", "-e", "SELECT 2"])
        .env(
            "SQLFLOW_DATASOURCE",
            format!("sqlite://{}", dir.path().join("e.db").display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = step()
        .args(["run", "-e", "SELECT 2"])
        .env_remove("SQLFLOW_DATASOURCE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no datasource"));
}

fn job_dir(program: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let input = StepInput {
        program: program.into(),
        session: JobSession {
            db_conn_str: format!("sqlite://{}", dir.path().join("j.db").display()),
            ..Default::default()
        },
    };
    fs::write(
        dir.path().join(jobdir::JOB),
        serde_json::to_vec(&input).unwrap(),
    )
    .unwrap();
    dir
}

fn start_job(dir: &Path) -> std::process::Child {
    step()
        .arg("job")
        .arg(dir)
        .stdout(
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(jobdir::OUTPUT))
                .unwrap(),
        )
        .stderr(fs::File::create(dir.join(jobdir::STDERR)).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn job_mode_records_success_and_failure() {
    let ok = job_dir("CREATE TABLE t(a INT); INSERT INTO t VALUES (1); SELECT * FROM t");
    assert!(start_job(ok.path()).wait().unwrap().success());
    let s = jobdir::read_status(ok.path()).unwrap().unwrap();
    assert_eq!(s.code, FinalCode::Succeeded);
    let identity: jobdir::ProcessIdentity = jobdir::read_json(ok.path(), jobdir::PROCESS).unwrap();
    assert!(identity.pid > 0 && identity.start_ticks > 0);

    let bad = job_dir("SELECT 1; SELEC 2");
    assert!(!start_job(bad.path()).wait().unwrap().success());
    let s = jobdir::read_status(bad.path()).unwrap().unwrap();
    assert_eq!(s.code, FinalCode::Failed);
    assert!(
        s.message.contains("statement 2 of 2 failed"),
        "{}",
        s.message
    );
    assert!(s.message.contains("syntax error"), "{}", s.message);
}

#[test]
fn a_job_cancelled_before_it_starts_never_runs() {
    let dir = job_dir("CREATE TABLE must_not_exist(a INT)");
    fs::write(dir.path().join(jobdir::CANCEL), "cancelled by test").unwrap();
    start_job(dir.path()).wait().unwrap();
    let s = jobdir::read_status(dir.path()).unwrap().unwrap();
    assert_eq!(s.code, FinalCode::Cancelled);
    assert_eq!(s.message, "cancelled by test");
    // Nothing ran: the output holds the final status's record and nothing else.
    let output = fs::read(dir.path().join(jobdir::OUTPUT)).unwrap();
    assert!(
        matches!(records(&output).as_slice(), [record::Record::End(_)]),
        "{}",
        String::from_utf8_lossy(&output)
    );
}

/// A program that runs until it is killed.
const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000000) SELECT count(*) FROM n";

/// Polls `found` every 10 ms until it finds something; fails with `missing` after 10 s.
fn wait_for<T>(missing: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = found() {
            return v;
        }
        assert!(Instant::now() < deadline, "{missing}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_killed_worker_is_reported_with_its_signal() {
    let dir = job_dir(ENDLESS);
    let mut supervisor = start_job(dir.path());
    // The worker is the supervisor's only child.
    let worker = wait_for("no worker process appeared", || {
        let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", supervisor.id()))
            .unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .map(|pid| pid.parse::<i32>().unwrap())
    });
    assert!(jobdir::is_alive(dir.path()).unwrap());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(!supervisor.wait().unwrap().success());
    let s = jobdir::read_status(dir.path()).unwrap().unwrap();
    assert_eq!(s.code, FinalCode::Failed);
    assert!(
        s.message.contains("killed by signal 9 (SIGKILL)"),
        "{}",
        s.message
    );
    assert!(!jobdir::is_alive(dir.path()).unwrap());
}

#[test]
fn a_second_start_of_a_running_job_is_a_no_op() {
    let dir = job_dir(ENDLESS);
    let mut first = start_job(dir.path());
    wait_for("the job did not start", || {
        jobdir::is_alive(dir.path()).unwrap().then_some(())
    });
    let second = step()
        .arg("job")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));
    assert!(jobdir::read_status(dir.path()).unwrap().is_none());
    let identity: jobdir::ProcessIdentity = jobdir::read_json(dir.path(), jobdir::PROCESS).unwrap();
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(identity.pgid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = first.wait();
}

#[test]
fn run_mode_can_run_one_statement_of_a_program() {
    let dir = tempfile::tempdir().unwrap();
    let ds = format!("sqlite://{}", dir.path().join("t.db").display());
    let program = "CREATE TABLE t(a INT); INSERT INTO t VALUES (7); SELECT * FROM t; SELECT * FROM missing; SELECT 5";
    let step_i = |i: &str| {
        step()
            .args([
                "run",
                "--datasource",
                &ds,
                "--only-statement",
                i,
                "-e",
                program,
            ])
            .output()
            .unwrap()
    };
    // Steps 0, 1, 2 in order, as workflow steps would run them.
    for i in ["0", "1"] {
        assert!(step_i(i).status.success());
    }
    let out = step_i("2");
    assert!(out.status.success());
    let recs = records(&out.stdout);
    let record::Record::Start(s) = &recs[0] else {
        panic!()
    };
    assert_eq!((s.statement_index, s.statement_count), (2, 5));
    assert_eq!(s.statement, "SELECT * FROM t");
    let out = step_i("3");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("statement 4 of 5 failed"));
    let out = step_i("9");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the program has 5"));
}

#[test]
fn a_program_that_cannot_start_says_why_in_the_stream() {
    let out = step()
        .args([
            "run",
            "--datasource",
            "mysql://u:pw@127.0.0.1:1/db",
            "-e",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let recs = records(&out.stdout);
    let [record::Record::Failure(f)] = recs.as_slice() else {
        panic!("{recs:?}")
    };
    assert!(f.setup);
    assert!(
        f.error
            .contains("cannot connect to mysql://u@127.0.0.1:1/db"),
        "{}",
        f.error
    );
    assert!(!f.error.contains("pw@"));
}

#[test]
fn bad_usage_exits_2_saying_what_is_wrong() {
    let usage = |args: &[&str]| {
        let out = step()
            .args(args)
            .env_remove("SQLFLOW_DATASOURCE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(usage(&[]).contains("Usage: sqlflow-step"));
    assert!(usage(&["walk"]).contains("unrecognized subcommand 'walk'"));
    assert!(usage(&["job"]).contains("<DIR>"));
    assert!(
        usage(&[
            "run",
            "--datasource",
            "sqlite://x",
            "--bogus",
            "-e",
            "SELECT 1"
        ])
        .contains("--bogus")
    );
    assert!(usage(&["run", "--datasource", "sqlite://x"]).contains("<-e <SQL>|FILE>"));
    assert!(
        usage(&[
            "run",
            "--datasource",
            "sqlite://x",
            "-e",
            "SELECT 1",
            "p.sql"
        ])
        .contains("cannot be used with")
    );
    assert!(
        usage(&[
            "run",
            "--datasource",
            "sqlite://x",
            "--only-statement",
            "two",
            "-e",
            "SELECT 1"
        ])
        .contains("invalid value 'two' for '--only-statement <I>'")
    );
    assert!(
        usage(&["run", "--datasource", "sqlite://x", "/nonexistent/p.sql"])
            .contains("cannot read /nonexistent/p.sql")
    );
    let help = step().arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("run"));
}

#[test]
fn run_mode_takes_a_program_that_starts_with_a_hyphen_or_comes_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let ds = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = step()
        .args([
            "run",
            "--datasource",
            &ds,
            "-e",
            "-- a comment first\nSELECT 1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = step()
        .args(["run", "--datasource", &ds, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"SELECT 3").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(records(&out.stdout).len(), 4, "start, head, row, eoe");
}
