//! The local runner starts jobs by forking them in one `sqlflow-step zygote` (an exec
//! per job costs more CPU than a trivial job): jobs are its children, not the server's,
//! a supervisor's end is still reported with its signal, and a killed zygote is
//! replaced while the jobs it forked run on.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{fs, time::Duration};

use sqlflow_e2e::{
    IDLE_SQL, Server, alive, fetch_all, run, sqlflow::job_status::Code, wait_for_status,
    wait_job_process, wait_until,
};

/// The parent of `pid`, from /proc.
fn parent_of(pid: i32) -> i32 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    rest.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn kill(pid: i32, group: bool) {
    let pid = nix::unistd::Pid::from_raw(pid);
    let sig = nix::sys::signal::Signal::SIGKILL;
    if group {
        nix::sys::signal::killpg(pid, sig).unwrap();
    } else {
        nix::sys::signal::kill(pid, sig).unwrap();
    }
}

#[tokio::test]
async fn jobs_are_forked_by_one_zygote_and_their_end_is_still_reported() {
    let server = Server::start();
    let mut c = server.client().await;
    let a = run(&mut c, IDLE_SQL).await;
    let b = run(&mut c, IDLE_SQL).await;
    let (sup_a, group_a) = wait_job_process(&server, &a);
    let (sup_b, _) = wait_job_process(&server, &b);
    let zygote = parent_of(sup_a);
    assert_eq!(zygote, parent_of(sup_b), "both jobs come from one zygote");
    assert_ne!(
        zygote,
        server.pid() as i32,
        "jobs are not the server's children"
    );
    assert_eq!(
        parent_of(zygote),
        server.pid() as i32,
        "the zygote is the server's"
    );
    assert!(cmdline(zygote).contains("zygote"), "{}", cmdline(zygote));

    // Killed without a cancel: the zygote reports how the supervisor ended.
    kill(group_a, true);
    let status = wait_for_status(&mut c, &a, Code::Failed, Duration::from_secs(10)).await;
    assert!(
        status
            .message
            .contains("its step process by signal 9, SIGKILL"),
        "{}",
        status.message
    );
    let (_, group_b) = wait_job_process(&server, &b);
    kill(group_b, true);
    wait_for_status(&mut c, &b, Code::Failed, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_killed_zygote_is_replaced_and_its_jobs_run_on() {
    let server = Server::start();
    let mut c = server.client().await;
    let idle = run(&mut c, IDLE_SQL).await;
    let (sup, group) = wait_job_process(&server, &idle);
    let zygote = parent_of(sup);
    assert_ne!(zygote, server.pid() as i32);
    kill(zygote, false);
    wait_until("the zygote is gone", Duration::from_secs(10), || {
        !alive(zygote)
    });

    // New jobs still run, in a new zygote.
    let quick = run(&mut c, "SELECT 1 AS one").await;
    let (_, end) = fetch_all(&mut c, &quick).await;
    assert_eq!(end.code, Code::Succeeded as i32, "{}", end.message);
    let idle2 = run(&mut c, IDLE_SQL).await;
    let (sup2, group2) = wait_job_process(&server, &idle2);
    let zygote2 = parent_of(sup2);
    assert_ne!(zygote2, zygote);
    assert_eq!(parent_of(zygote2), server.pid() as i32);

    // The first zygote's job lives on and is still followed.
    assert!(alive(sup), "the job died with its zygote");
    wait_for_status(&mut c, &idle, Code::Running, Duration::from_secs(1)).await;
    kill(group, true);
    kill(group2, true);
    for job in [&idle, &idle2] {
        wait_for_status(&mut c, job, Code::Failed, Duration::from_secs(10)).await;
    }
}

#[tokio::test]
async fn the_zygote_can_be_turned_off() {
    let server = Server::builder().env("SQLFLOW_STEP_ZYGOTE", "off").start();
    let mut c = server.client().await;
    let job = run(&mut c, IDLE_SQL).await;
    let (sup, group) = wait_job_process(&server, &job);
    assert_eq!(parent_of(sup), server.pid() as i32, "exec'd by the server");
    kill(group, true);
    wait_for_status(&mut c, &job, Code::Failed, Duration::from_secs(10)).await;
}
