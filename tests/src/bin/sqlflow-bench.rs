//! Benchmarks through the real server binary and runner plugin; prints numbers.
//!
//!   cargo build --release --workspace
//!   target/release/sqlflow-bench run-to-eof      # Run -> eof for SELECT 1
//!   target/release/sqlflow-bench fetch-rtt       # Fetch round trip on a running job
//!
//! On ext4, creating files right after many were deleted is slower (the allocator skips
//! recently freed inodes), so back-to-back runs of anything that creates and deletes
//! thousands of job directories (this bench, the test suite) measure slower than a
//! settled filesystem; `--work-dir /dev/shm/x` shows the cost without the filesystem.
//!
//! Medians are what the targets are stated in; p90/p99 show the spread on a shared box.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use sqlflow_e2e::{
    SLOW_SQL, Server, fetch, run,
    sqlflow::{JobId, job_status::Code},
    wait_for_status,
};

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
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        match args.bench {
            Bench::RunToEof { iterations } => run_to_eof(start(&args), iterations).await,
            Bench::FetchRtt { iterations } => fetch_rtt(start(&args), iterations).await,
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
    let mut b = Server::builder().sync_writes(args.sync);
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
