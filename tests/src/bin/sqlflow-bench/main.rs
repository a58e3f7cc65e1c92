//! Benchmarks through the real server binary and runner plugin; prints numbers.
//!
//!   cargo build --release --workspace
//!   target/release/sqlflow-bench run-to-eof      # Run -> eof for SELECT 1
//!   target/release/sqlflow-bench fetch-rtt       # Fetch round trip on a running job
//!   target/release/sqlflow-bench poll --clients 5000   # N clients polling once a second
//!   target/release/sqlflow-bench submit --jobs 1000    # throughput of trivial jobs
//!   target/release/sqlflow-bench memory --jobs 20      # idle server RSS, per-job memory
//!   target/release/sqlflow-bench stream --rows 1000000 # CLI csv vs `sqlite3 -csv`
//!   target/release/sqlflow-bench restart --jobs 1000000 # restart with N retained jobs
//!   target/release/sqlflow-bench restart --jobs 20000 --layout dirs # as servers kept them
//!
//! On ext4, creating files right after many were deleted is slower (the allocator skips
//! recently freed inodes), so back-to-back runs of anything that creates and deletes
//! thousands of job directories (this bench, the test suite) measure slower than a
//! settled filesystem; `--work-dir /dev/shm/x` shows the cost without the filesystem.
//!
//! Medians are what the targets are stated in; p90/p99 show the spread on a shared box.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod restart;

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use sqlflow_e2e::{
    SLOW_SQL, Server, fetch, run,
    sqlflow::{JobId, job_status::Code, sql_flow_client::SqlFlowClient},
    wait_for_status,
};
use tonic::transport::Channel;

#[derive(Parser)]
struct Args {
    /// fsync job files as the default configuration does (`sync_writes = true`).
    #[arg(long, global = true)]
    sync: bool,
    /// Put the local runner's job directories here (default: in the server's temp dir).
    #[arg(long, global = true)]
    work_dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Median time from Run to eof for `SELECT 1` (one client, sequential).
    RunToEof {
        #[arg(long, default_value_t = 300)]
        iterations: usize,
    },
    /// Median Fetch round trip on a running job with nothing new (wait_ms = 0).
    FetchRtt {
        #[arg(long, default_value_t = 5000)]
        iterations: usize,
    },
    /// N clients, each on its own connection, polling Fetch once a second on running jobs.
    Poll {
        #[arg(long, default_value_t = 5000)]
        clients: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Running jobs the clients spread over.
        #[arg(long, default_value_t = 20)]
        jobs: usize,
    },
    /// Submit N trivial jobs at once (from `concurrency` callers) and wait for all of them.
    Submit {
        #[arg(long, default_value_t = 1000)]
        jobs: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// The runner's max_running_jobs (0 = no cap).
        #[arg(long, default_value_t = 0)]
        max_running: usize,
    },
    /// Idle server memory, then memory per running local job.
    Memory {
        #[arg(long, default_value_t = 20)]
        jobs: usize,
    },
    /// Wall time of `sqlflow --format csv -e "SELECT * FROM t"` for a table of N rows
    /// (5 columns), against `sqlite3 -csv` on the same file when sqlite3 is installed.
    Stream {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// A restart with N retained finished jobs: time to serve, RSS, Fetch and ListJobs
    /// latency, disk per job.
    Restart {
        #[arg(long, default_value_t = 100_000)]
        jobs: usize,
        #[arg(long, value_enum, default_value_t = restart::Layout::Archive)]
        layout: restart::Layout,
    },
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        match args.bench {
            Bench::RunToEof { iterations } => run_to_eof(start(&args), iterations).await,
            Bench::FetchRtt { iterations } => fetch_rtt(start(&args), iterations).await,
            Bench::Poll {
                clients,
                seconds,
                jobs,
            } => {
                let server = Server::builder()
                    .sync_writes(args.sync)
                    .local_runner("max_running_per_user = 0")
                    .toml("metrics_listen = \"127.0.0.1:0\"")
                    .start();
                poll(server, clients, seconds, jobs).await
            }
            Bench::Submit {
                jobs,
                concurrency,
                max_running,
            } => {
                let cfg = format!("max_running_per_user = 0\nmax_running_jobs = {max_running}");
                submit(start_with(&args, &cfg), jobs, concurrency).await
            }
            Bench::Memory { jobs } => {
                memory(start_with(&args, "max_running_per_user = 0"), jobs).await
            }
            Bench::Stream { rows, runs } => stream(start(&args), rows, runs),
            Bench::Restart { jobs, layout } => restart::restart(args.sync, jobs, layout).await,
        }
    });
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: n={} median={:.3} ms p90={:.3} ms p99={:.3} ms min={:.3} ms",
        samples.len(),
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(samples[0]),
    );
}

fn start(args: &Args) -> Server {
    start_with(args, "")
}

fn start_with(args: &Args, local_runner: &str) -> Server {
    let mut b = Server::builder()
        .sync_writes(args.sync)
        .local_runner(local_runner);
    if let Some(dir) = &args.work_dir {
        b = b.work_dir(dir);
    }
    b.start()
}

async fn run_to_eof(server: Server, iterations: usize) {
    let mut c = server.client().await;
    let mut samples = Vec::with_capacity(iterations);
    let mut run_samples = Vec::with_capacity(iterations);
    for i in 0..iterations + 20 {
        let t = Instant::now();
        let job = run(&mut c, "SELECT 1").await;
        if i >= 20 {
            run_samples.push(t.elapsed());
        }
        let mut cursor = String::new();
        loop {
            let r = fetch(&mut c, &job, &cursor, 5000).await.expect("fetch");
            cursor = r.next_cursor;
            if r.eof {
                assert_eq!(r.job_status.unwrap_or_default().code(), Code::Succeeded);
                break;
            }
        }
        // The first runs warm caches (page cache, dynamic loader).
        if i >= 20 {
            samples.push(t.elapsed());
        }
    }
    report("Run->eof SELECT 1", samples);
    report("  of which Run", run_samples);
}

async fn fetch_rtt(server: Server, iterations: usize) {
    let mut c = server.client().await;
    let job = run(&mut c, SLOW_SQL).await;
    wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(10)).await;
    let cursor = fetch(&mut c, &job, "", 0).await.expect("fetch").next_cursor;
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations + 200 {
        let t = Instant::now();
        let r = fetch(&mut c, &job, &cursor, 0).await.expect("fetch");
        let d = t.elapsed();
        assert!(!r.eof);
        if i >= 200 {
            samples.push(d);
        }
    }
    report("Fetch round trip (running job)", samples);
    c.cancel(JobId { job_id: job }).await.expect("cancel");
}

/// RSS and PSS (proportional: shared pages divided among their users) of a process, KiB.
fn memory_of(pid: u32) -> (u64, u64) {
    let read = |file: &str, key: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (read("status", "VmRSS:"), read("smaps_rollup", "Pss:"))
}

async fn connect_many(server: &Server, n: usize) -> Vec<SqlFlowClient<Channel>> {
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let mut batch = tokio::task::JoinSet::new();
        for _ in chunk {
            let url = server.url();
            batch.spawn(async move {
                let ch = Channel::from_shared(url)
                    .expect("url")
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .expect("connect");
                SqlFlowClient::new(ch)
            });
        }
        while let Some(c) = batch.join_next().await {
            out.push(c.expect("connect task"));
        }
    }
    out
}

async fn poll(server: Server, clients: usize, seconds: u64, jobs: usize) {
    let mut c = server.client().await;
    // Jobs that are RUNNING but idle (sleeping), so the measurement is the server's,
    // not twenty CPU-bound queries'.
    let mut targets = Vec::new();
    for _ in 0..jobs {
        let job = run(&mut c, sqlflow_e2e::IDLE_SQL).await;
        wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(30)).await;
        let cursor = fetch(&mut c, &job, "", 0).await.expect("fetch").next_cursor;
        targets.push((job, cursor));
    }
    let (idle_rss, _) = memory_of(server.pid());
    let conns = connect_many(&server, clients).await;
    println!("{clients} clients connected; polling for {seconds} s");
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut client) in conns.into_iter().enumerate() {
        let (job, cursor) = targets[i % targets.len()].clone();
        tasks.spawn(async move {
            // Spread the clients over the second.
            let offset = Duration::from_micros((i as u64 * 1_000_000 / clients as u64) % 1_000_000);
            tokio::time::sleep(offset).await;
            // A real client polls a second after its last reply, not in a catch-up burst.
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut samples = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < until {
                tick.tick().await;
                let t = Instant::now();
                match fetch(&mut client, &job, &cursor, 0).await {
                    Ok(_) => samples.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (samples, errors)
        });
    }
    let mut peak_rss = 0;
    let mut all = Vec::new();
    let mut errors = 0;
    let sampler = async {
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(1)).await;
            peak_rss = peak_rss.max(memory_of(server.pid()).0);
        }
    };
    let collect = async {
        while let Some(r) = tasks.join_next().await {
            let (s, e) = r.expect("client task");
            all.extend(s);
            errors += e;
        }
    };
    tokio::join!(sampler, collect);
    println!(
        "server RSS: {:.1} MB idle with {jobs} running jobs, {:.1} MB peak under load",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    println!("errors: {errors}");
    report(&format!("Fetch latency, {clients} clients at 1/s"), all);
    for (job, _) in targets {
        let _ = c.cancel(JobId { job_id: job }).await;
    }
}

async fn submit(server: Server, jobs: usize, concurrency: usize) {
    let c = server.client().await;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(jobs);
    let mut running = tokio::task::JoinSet::new();
    let mut next = 0;
    while ids.len() < jobs {
        while running.len() < concurrency && next < jobs {
            let mut c = c.clone();
            running.spawn(async move { run(&mut c, "SELECT 1").await });
            next += 1;
        }
        if let Some(id) = running.join_next().await {
            ids.push(id.expect("run task"));
        }
    }
    let submitted = started.elapsed();
    // Wait for every job to end.
    let mut left: Vec<String> = ids;
    while !left.is_empty() {
        let mut still = Vec::new();
        for job in left {
            let mut c = c.clone();
            let r = fetch(&mut c, &job, "", 0).await.expect("fetch");
            let code = r.job_status.unwrap_or_default().code();
            match code {
                Code::Succeeded => {}
                Code::Pending | Code::Running => still.push(job),
                other => panic!("job {job} ended {other:?}"),
            }
        }
        left = still;
        if !left.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let done = started.elapsed();
    println!(
        "{jobs} jobs: all submitted in {:.2} s ({:.0} jobs/s), all finished in {:.2} s ({:.0} jobs/s)",
        submitted.as_secs_f64(),
        jobs as f64 / submitted.as_secs_f64(),
        done.as_secs_f64(),
        jobs as f64 / done.as_secs_f64()
    );
}

async fn memory(server: Server, jobs: usize) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss, pss) = memory_of(server.pid());
    println!(
        "idle server: RSS {:.1} MB, PSS {:.1} MB",
        rss as f64 / 1024.0,
        pss as f64 / 1024.0
    );
    let mut c = server.client().await;
    let mut ids = Vec::new();
    for _ in 0..jobs {
        let job = run(&mut c, SLOW_SQL).await;
        wait_for_status(&mut c, &job, Code::Running, Duration::from_secs(30)).await;
        ids.push(job);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every process of every job: the supervisor and its worker share the job's group.
    let groups: Vec<i32> = ids
        .iter()
        .filter_map(|j| sqlflow_e2e::job_process(&server, j).map(|(_, pgid)| pgid))
        .collect();
    let (mut rss_sum, mut pss_sum, mut procs) = (0, 0, 0);
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let pgrp = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|p| p.parse::<i32>().ok());
        if pgrp.is_some_and(|g| groups.contains(&g)) {
            let (r, p) = memory_of(pid);
            rss_sum += r;
            pss_sum += p;
            procs += 1;
        }
    }
    let (srv_rss, _) = memory_of(server.pid());
    println!(
        "{jobs} running jobs ({procs} processes): per job RSS {:.1} MB, PSS {:.1} MB; server RSS {:.1} MB",
        rss_sum as f64 / 1024.0 / jobs as f64,
        pss_sum as f64 / 1024.0 / jobs as f64,
        srv_rss as f64 / 1024.0
    );
    for job in ids {
        let _ = c.cancel(JobId { job_id: job }).await;
    }
}

fn stream(server: Server, rows: usize, runs: usize) {
    let create = format!(
        "CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
         WHERE i < {rows}) SELECT i AS id, 'name_' || i AS name, i * 0.5 AS x, i % 1000 AS y, \
         'some note text' AS note FROM n"
    );
    let made = server
        .cli()
        .args(["-e", &create])
        .output()
        .expect("run sqlflow");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = server.dir().join("out.csv");
    let timed = |cmd: &mut std::process::Command| -> Option<Duration> {
        let file = std::fs::File::create(&out).expect("out.csv");
        let t = Instant::now();
        let status = cmd.stdout(file).status().ok()?;
        status.success().then(|| t.elapsed())
    };
    let sql = "SELECT * FROM t";
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..runs {
        ours.push(
            timed(server.cli().args(["--format", "csv", "-e", sql])).expect("sqlflow failed"),
        );
        let db = server.dir().join("test.db");
        if let Some(d) = timed(
            std::process::Command::new("sqlite3")
                .arg("-csv")
                .arg(&db)
                .arg(sql),
        ) {
            theirs.push(d);
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let ours = median(ours);
    print!(
        "stream {rows} rows: sqlflow --format csv median {:.3} s",
        ours.as_secs_f64()
    );
    if theirs.is_empty() {
        println!(" (sqlite3 not installed: no baseline)");
    } else {
        let theirs = median(theirs);
        println!(
            ", sqlite3 -csv {:.3} s, ratio {:.2}",
            theirs.as_secs_f64(),
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
    }
}
