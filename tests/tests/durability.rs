//! The local runner's records under stress: a full disk, unreadable job directories,
//! racing writers, a hostile server environment, huge output lines, reused request ids.
//! Real file systems (a small tmpfs where this machine lets us mount one), real
//! processes, the real server through gRPC.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use sqlflow_e2e::{
    IDLE_SQL, Server, SmallDisk, alive, bin, fetch, job_info, peak_rss, run, run_with,
    sqlflow::{JobId, Request, Responses, Session, job_status::Code, response},
    wait_for_status, wait_job_process, wait_until,
};
use tonic::transport::Channel;

type Client = sqlflow_e2e::sqlflow::sql_flow_client::SqlFlowClient<Channel>;

/// A small disk, or `None` after saying why this machine cannot give one.
fn small_disk(test: &str) -> Option<SmallDisk> {
    match SmallDisk::mount("2m") {
        Ok(disk) => Some(disk),
        Err(why) => {
            println!("skipping {test}: no small file system to fill here: {why}");
            None
        }
    }
}

/// Output far larger than the small disk: 20000 rows of 1000 hex digits.
const BIG_OUTPUT_SQL: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                              WHERE i < 20000) SELECT i, hex(randomblob(500)) AS h FROM n";

fn status_on_disk(dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&fs::read(dir.join("status.json")).ok()?).ok()
}

fn request(sql: &str, request_id: &str, datasource: &str) -> Request {
    Request {
        sql: sql.into(),
        session: Some(Session {
            db_conn_str: datasource.into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
        ..Default::default()
    }
}

async fn cancel(c: &mut Client, job: &str) -> Result<Code, tonic::Status> {
    c.cancel(JobId { job_id: job.into() })
        .await
        .map(|r| r.into_inner().code())
}

/// An executable script standing in for sqlflow-step (the runner runs it as
/// `<script> job <dir>` in the job's directory, stdout into `output`).
fn fake_step(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fake-step.sh");
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

// A. The final status is durable, and a full disk is named.

#[tokio::test]
async fn a_job_that_fills_the_work_dir_fails_naming_the_full_disk_durably() {
    let Some(disk) = small_disk("a_job_that_fills_the_work_dir_fails_naming_the_full_disk") else {
        return;
    };
    let mut server = Server::builder()
        .work_dir(disk.path())
        .sync_writes(true)
        .start();
    let mut c = server.client().await;
    let job = run(&mut c, BIG_OUTPUT_SQL).await;
    let status = wait_for_status(&mut c, &job, Code::Failed, Duration::from_secs(60)).await;
    assert!(
        status.message.contains("no space left on device"),
        "{}",
        status.message
    );
    // On disk, not just in the server's memory.
    let recorded = status_on_disk(&disk.path().join(&job)).expect("status.json");
    assert_eq!(recorded["code"], "FAILED");
    assert_eq!(recorded["message"], status.message.as_str());

    // A restart reports the same end at the same time.
    let before = job_info(&mut c, &job).await.expect("listed");
    server.restart();
    let mut c = server.client().await;
    let after = job_info(&mut c, &job)
        .await
        .expect("listed after a restart");
    assert_eq!(after.finished_at_ms, before.finished_at_ms);
    assert_eq!(after.status, before.status);
}

#[tokio::test]
async fn a_final_status_the_disk_cannot_take_reaches_the_client_and_is_written_later() {
    let Some(disk) = small_disk("a_final_status_the_disk_cannot_take_reaches_the_client") else {
        return;
    };
    let mut server = Server::builder()
        .work_dir(disk.path())
        .local_runner("max_running_jobs = 1")
        .start();
    let mut c = server.client().await;
    let first = run(&mut c, IDLE_SQL).await;
    wait_for_status(&mut c, &first, Code::Running, Duration::from_secs(10)).await;
    let (_, pgid) = wait_for_process(disk.path(), &first);
    // Accepted while there is room, started once the disk is full: nothing of it, not
    // even its final status, can be written.
    let second = run(&mut c, "SELECT 1").await;
    let filler = disk.fill();
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let status = wait_for_status(&mut c, &second, Code::Failed, Duration::from_secs(60)).await;
    assert!(
        status.message.contains("no space left on device"),
        "{}",
        status.message
    );
    assert!(status_on_disk(&disk.path().join(&second)).is_none());
    let seen = job_info(&mut c, &second).await.expect("listed");

    // Once there is room, the server records it by itself, with the time it ended.
    fs::remove_file(filler).unwrap();
    let dir = disk.path().join(&second);
    wait_until(
        "the final status reaches the disk",
        Duration::from_secs(30),
        || status_on_disk(&dir).is_some(),
    );
    server.restart();
    let mut c = server.client().await;
    let after = job_info(&mut c, &second)
        .await
        .expect("listed after a restart");
    assert_eq!(after.finished_at_ms, seen.finished_at_ms);
    assert_eq!(
        after.status.map(|s| s.code()),
        Some(Code::Failed),
        "the recorded status"
    );
}

#[tokio::test]
async fn cancel_stops_a_job_on_a_full_work_dir() {
    let Some(disk) = small_disk("cancel_stops_a_job_on_a_full_work_dir") else {
        return;
    };
    let server = Server::builder().work_dir(disk.path()).start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    let (pid, _) = wait_for_process(disk.path(), &job);
    let _filler = disk.fill();
    assert_eq!(cancel(&mut c, &job).await.unwrap(), Code::Cancelled);
    assert!(!alive(pid));
    let recorded = status_on_disk(&disk.path().join(&job)).expect("status.json");
    assert_eq!(recorded["code"], "CANCELLED");
}

fn wait_for_process(work_dir: &Path, job: &str) -> (i32, i32) {
    let path = work_dir.join(job).join("process.json");
    let mut found = None;
    wait_until(
        "the job records its process",
        Duration::from_secs(10),
        || {
            found = fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| Some((v["pid"].as_i64()? as i32, v["pgid"].as_i64()? as i32)));
            found.is_some()
        },
    );
    found.unwrap_or_default()
}

/// With sync_writes, the step makes its output durable, then its status, then the
/// directory entry that publishes the status (strace shows the order of the calls).
#[test]
fn the_step_makes_its_output_with_the_status_record_durable_before_status_json() {
    if Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        println!("skipping: strace is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("job");
    fs::create_dir(&dir).unwrap();
    let job = serde_json::json!({
        "program": "SELECT 1",
        "session": {
            "db_conn_str": format!("sqlite://{}", tmp.path().join("t.db").display()),
            "sync_writes": true,
        },
    });
    fs::write(dir.join("job.json"), job.to_string()).unwrap();
    let trace = tmp.path().join("trace");
    let out = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,link,linkat",
            "-o",
        ])
        .arg(&trace)
        .arg(bin("sqlflow-step"))
        .arg("job")
        .arg(&dir)
        .stdout(fs::File::create(dir.join("output")).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let trace = fs::read_to_string(&trace).unwrap_or_default();
    if trace.is_empty() {
        println!(
            "skipping: strace cannot trace here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir_s = dir.display().to_string();
    let events: Vec<&str> = trace
        .lines()
        .filter_map(|l| {
            if l.contains("fsync(") && l.contains(&format!("{dir_s}/output>")) {
                Some("output")
            } else if l.contains("fsync(") && l.contains(".status.json.tmp.") {
                Some("status")
            } else if l.contains("link") && l.contains("status.json\"") {
                Some("link")
            } else if l.contains("fsync(") && l.contains(&format!("<{dir_s}>")) {
                Some("directory")
            } else {
                None
            }
        })
        .collect();
    // The output (ending with the status record) and the directory holding its entry
    // are flushed together, then status.json is linked, unflushed: one flush's wait.
    let (flushes, rest) = events.split_at(events.len().min(2));
    let mut flushes = flushes.to_vec();
    flushes.sort();
    assert_eq!(
        (flushes.as_slice(), rest),
        (["directory", "output"].as_slice(), ["link"].as_slice()),
        "the step's durable writes, in order; its trace:\n{trace}"
    );
    let output = fs::read_to_string(dir.join("output")).unwrap();
    let last = output.lines().last().unwrap_or_default();
    assert!(last.starts_with("SQLFLOW/1 "), "last line: {last}");
}

// B. Racing writers.

#[tokio::test]
async fn concurrent_cancels_all_end_the_job_with_one_whole_reason() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    let cancels: Vec<_> = (0..16)
        .map(|_| {
            let mut c = c.clone();
            let job = job.clone();
            tokio::spawn(async move { cancel(&mut c, &job).await })
        })
        .collect();
    for cancel in cancels {
        assert_eq!(cancel.await.unwrap().unwrap(), Code::Cancelled);
    }
    let dir = server.jobs_dir().join(&job);
    assert_eq!(
        fs::read_to_string(dir.join("cancel")).unwrap(),
        "cancelled by the client"
    );
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// C. Recovery: unreadable directories, I/O errors, orphans.

#[tokio::test]
async fn recovery_quarantines_unreadable_job_directories_and_says_so() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let good = run(&mut c, "SELECT 1").await;
    wait_for_status(&mut c, &good, Code::Succeeded, Duration::from_secs(30)).await;
    server.kill9();

    let jobs = server.jobs_dir();
    let garbage = "0123456789abcdef0123456789abcdef";
    let missing = "11111111111111111111111111111111";
    let a_directory = "22222222222222222222222222222222";
    for id in [garbage, missing, a_directory] {
        fs::create_dir(jobs.join(id)).unwrap();
        fs::write(jobs.join(id).join("output"), "").unwrap();
    }
    fs::write(jobs.join(garbage).join("job.json"), "{\"meta\": tru").unwrap();
    fs::create_dir(jobs.join(a_directory).join("job.json")).unwrap();

    server.start_again();
    let mut c = server.client().await;
    assert_eq!(
        job_info(&mut c, &good)
            .await
            .and_then(|j| j.status)
            .map(|s| s.code()),
        Some(Code::Succeeded),
        "a readable job is recovered as before"
    );
    let log = server.log();
    for id in [garbage, missing, a_directory] {
        assert!(!jobs.join(id).exists(), "{id} is still among the jobs");
        assert!(
            jobs.join(".quarantine").join(id).is_dir(),
            "{id} not quarantined"
        );
        assert!(
            log.contains(&format!(
                "quarantined the unreadable job directory {}",
                jobs.canonicalize().unwrap().join(id).display()
            )),
            "no log line names {id}:\n{log}"
        );
        assert_eq!(
            fetch(&mut c, id, "", 0).await.unwrap_err().code(),
            tonic::Code::NotFound
        );
    }
    assert!(
        log.contains("3 unreadable job directories are in quarantine"),
        "{log}"
    );
}

#[tokio::test]
async fn recovery_stops_a_live_job_whose_job_json_is_unreadable() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    let (pid, _) = wait_job_process(&server, &job);
    server.kill9();
    let dir = server.jobs_dir().join(&job);
    fs::write(dir.join("job.json"), "not json").unwrap();
    assert!(alive(pid));

    server.start_again();
    wait_until(
        "the orphaned job's process is stopped",
        Duration::from_secs(30),
        || !alive(pid),
    );
    let quarantined = server.jobs_dir().join(".quarantine").join(&job);
    assert!(quarantined.is_dir());
    wait_until(
        "the quarantined job gets a final status",
        Duration::from_secs(60),
        || status_on_disk(&quarantined).is_some(),
    );
    let status = status_on_disk(&quarantined).unwrap();
    assert_eq!(status["code"], "FAILED");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("job.json cannot be read")),
        "{status}"
    );
}

/// A live job whose lock cannot be tested (an I/O error on `output`: here a symlink
/// loop in its place) is followed as running, never marked failed while it runs.
#[tokio::test]
async fn recovery_follows_a_live_job_whose_lock_cannot_be_tested() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    let (pid, _) = wait_job_process(&server, &job);
    server.kill9();
    let dir = server.jobs_dir().join(&job);
    fs::rename(dir.join("output"), dir.join("output.moved")).unwrap();
    std::os::unix::fs::symlink("output", dir.join("output")).unwrap();

    server.start_again();
    let mut c = server.client().await;
    let info = job_info(&mut c, &job).await.expect("listed");
    assert_eq!(
        info.status.as_ref().map(|s| s.code()),
        Some(Code::Running),
        "{info:?}"
    );
    assert!(alive(pid), "the live job was killed");
    assert_eq!(cancel(&mut c, &job).await.unwrap(), Code::Cancelled);
    wait_until("the job's process is gone", Duration::from_secs(10), || {
        !alive(pid)
    });
}

// D. Limits that protect, whatever the server's environment.

#[tokio::test]
async fn every_job_gets_memory_and_wall_clock_limits_by_default() {
    let server = Server::start();
    let mut c = server.client().await;
    let job = run(&mut c, "SELECT 1").await;
    wait_for_status(&mut c, &job, Code::Succeeded, Duration::from_secs(30)).await;
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(server.jobs_dir().join(&job).join("job.json")).unwrap())
            .unwrap();
    let limits = &record["session"]["limits"];
    assert_eq!(limits["memory_mb"], 4096, "{limits}");
    assert_eq!(limits["wall_seconds"], 86400, "{limits}");
    assert_eq!(limits["record_kb"], 1024, "{limits}");
}

#[tokio::test]
async fn a_memory_limit_failure_names_the_limit_whatever_the_servers_environment() {
    let server = Server::builder()
        .env("RUST_BACKTRACE", "1")
        .local_runner("limits.memory_mb = 256")
        .start();
    let mut c = server.client().await;
    // 120 MB of hex digits, copied out of SQLite: more than 256 MiB of address space.
    let job = run(&mut c, "SELECT hex(randomblob(60000000)) AS h").await;
    let status = wait_for_status(&mut c, &job, Code::Failed, Duration::from_secs(60)).await;
    assert!(
        status.message.contains("limits.memory_mb = 256"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn a_jobs_environment_is_its_own_not_the_servers() {
    let scratch = tempfile::tempdir().unwrap();
    let step = fake_step(scratch.path(), "env");
    let server = Server::builder()
        .env("RUST_BACKTRACE", "1")
        .env("SQLFLOW_TEST_SERVER_SECRET", "hunter2")
        .env(
            "SQLFLOW_RUNNERS__LOCAL__STEP_BINARY",
            &step.display().to_string(),
        )
        .start();
    let mut c = server.client().await;
    let job = run(&mut c, "SELECT 1").await;
    let (responses, _) = sqlflow_e2e::fetch_all(&mut c, &job).await;
    let env: Vec<String> = responses
        .iter()
        .filter_map(|r| match &r.response {
            Some(response::Response::Message(m)) => Some(m.message.clone()),
            _ => None,
        })
        .collect();
    assert!(env.iter().any(|l| l.starts_with("PATH=")), "{env:?}");
    for leaked in ["RUST_BACKTRACE", "RUST_LOG", "SQLFLOW_TEST_SERVER_SECRET"] {
        assert!(
            !env.iter().any(|l| l.starts_with(&format!("{leaked}="))),
            "{leaked} reached the job: {env:?}"
        );
    }
}

// E. A huge output line costs a page, not its size.

#[tokio::test]
async fn a_huge_output_line_is_skipped_and_reported_not_loaded() {
    let scratch = tempfile::tempdir().unwrap();
    // A step that writes one 100 MB line (around the engine's record writer), then more.
    let step = fake_step(
        scratch.path(),
        "echo before; head -c 100000000 /dev/zero | tr '\\0' x; echo; echo after",
    );
    let server = Server::builder()
        .env(
            "SQLFLOW_RUNNERS__LOCAL__STEP_BINARY",
            &step.display().to_string(),
        )
        .start();
    let mut c = server.client().await;
    let job = run(&mut c, "SELECT 1").await;
    wait_for_status(&mut c, &job, Code::Failed, Duration::from_secs(60)).await;
    let before = peak_rss(server.pid());

    // Four clients at once, each with gRPC's default 4 MiB message limit.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let mut c = c.clone();
            let job = job.clone();
            tokio::spawn(async move { read_to_eof(&mut c, &job).await })
        })
        .collect();
    for reader in readers {
        let texts = reader.await.unwrap();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert_eq!(texts[0], "before");
        assert!(
            texts[1].starts_with("skipped an output line of 100000001 bytes"),
            "{}",
            texts[1]
        );
        assert_eq!(texts[2], "after");
    }
    let grown = peak_rss(server.pid()).saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "the server's peak memory grew by {} MiB",
        grown >> 20
    );
}

async fn read_to_eof(c: &mut Client, job: &str) -> Vec<String> {
    let mut cursor = String::new();
    let mut texts = Vec::new();
    loop {
        let page: Responses = fetch(c, job, &cursor, 0).await.expect("Fetch");
        for r in page.response {
            if let Some(response::Response::Message(m)) = r.response {
                texts.push(m.message);
            }
        }
        cursor = page.next_cursor;
        if page.eof {
            return texts;
        }
    }
}

// F. A request id names one request.

#[tokio::test]
async fn a_request_id_reused_for_another_request_is_already_exists() {
    let mut server = Server::start();
    let mut c = server.client().await;
    let first = run_with(&mut c, request("SELECT 1", "nightly-42", "")).await;
    assert_eq!(
        run_with(&mut c, request("SELECT 1", "nightly-42", "")).await,
        first,
        "a retried Run returns the same job"
    );
    let other_db = format!("sqlite://{}", server.dir().join("other.db").display());
    for (sql, datasource) in [("SELECT 2", ""), ("SELECT 1", other_db.as_str())] {
        let err = c
            .run(request(sql, "nightly-42", datasource))
            .await
            .expect_err("a different request under a used request_id");
        assert_eq!(err.code(), tonic::Code::AlreadyExists, "{err:?}");
        assert!(err.message().contains(&first), "{}", err.message());
    }
    server.restart();
    let mut c = server.client().await;
    let err = c
        .run(request("SELECT 2", "nightly-42", ""))
        .await
        .expect_err("still refused after a restart");
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    assert_eq!(
        run_with(&mut c, request("SELECT 1", "nightly-42", "")).await,
        first
    );
}

// Item 14: a full work dir at Run.

#[tokio::test]
async fn run_on_a_full_work_dir_is_resource_exhausted() {
    let Some(disk) = small_disk("run_on_a_full_work_dir_is_resource_exhausted") else {
        return;
    };
    let server = Server::builder().work_dir(disk.path()).start();
    let mut c = server.client().await;
    let filler = disk.fill();
    let err = c
        .run(request("SELECT 1", "", ""))
        .await
        .expect_err("Run on a full disk");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("work directory is full"),
        "{}",
        err.message()
    );
    let half_made: Vec<_> = fs::read_dir(disk.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".new-"))
        .collect();
    assert!(half_made.is_empty(), "{half_made:?}");
    fs::remove_file(filler).unwrap();
    let job = run(&mut c, "SELECT 1").await;
    wait_for_status(&mut c, &job, Code::Succeeded, Duration::from_secs(30)).await;
}
