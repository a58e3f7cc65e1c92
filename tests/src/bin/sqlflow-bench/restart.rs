//! `restart --jobs N`: a server restarted with N retained finished jobs. Prints the time
//! from start to the first answered ListJobs, the server's RSS, Fetch and ListJobs
//! latency on those jobs, and disk per job; with `--layout dirs`, the same for N job
//! directories kept as a server before the archive kept them (read from the same code
//! path, recovery, with archiving put off), in the same run.
//!
//! The N jobs are copies of ten real ones (`SELECT i`, run through the server first):
//! in the archive, rows written by the runner's own `Archive::put` with new ids, times
//! and programs; as directories, the real directory's files under new ids.

use std::{
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use local_runner::archive::{Archive, Entry, Output};
use sqlflow_e2e::{
    Server, fetch, fetch_all, run,
    sqlflow::{ListJobsRequest, job_status::Code},
    wait_until,
};

use super::{memory_of, report};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// Finished jobs in the archive (`jobs.sqlite`): what this server keeps.
    Archive,
    /// A directory per finished job, read at start-up: what servers kept before.
    Dirs,
}

/// Jobs per archive transaction while generating.
const GENERATE_BATCH: usize = 10_000;

pub async fn restart(sync: bool, jobs: usize, layout: Layout) {
    let root = tempfile::tempdir().expect("temp dir");
    let work = root.path().join("jobs");
    // Ten real jobs, archived at once (or kept as directories).
    let keep = match layout {
        Layout::Archive => "archive_after_seconds = 0",
        Layout::Dirs => "archive_after_seconds = 100000000",
    };
    let builder = || {
        Server::builder()
            .sync_writes(sync)
            .work_dir(&work)
            .local_runner(keep)
    };
    let mut server = builder().start();
    let mut c = server.client().await;
    let mut real = Vec::new();
    for i in 0..10 {
        let id = run(&mut c, &format!("SELECT {i}")).await;
        let (_, status) = fetch_all(&mut c, &id).await;
        assert_eq!(status.code(), Code::Succeeded);
        real.push(id);
    }
    if layout == Layout::Archive {
        wait_until(
            "the real jobs are archived",
            Duration::from_secs(60),
            || real.iter().all(|id| !work.join(id).exists()),
        );
    }
    server.kill9();

    let t = Instant::now();
    let ids = match layout {
        Layout::Archive => generate_rows(&work, &real, jobs, sync),
        Layout::Dirs => generate_dirs(&work, &real[0], jobs),
    };
    println!(
        "generated {jobs} finished jobs ({}) in {:.1} s",
        match layout {
            Layout::Archive => "archive rows",
            Layout::Dirs => "job directories",
        },
        t.elapsed().as_secs_f64()
    );
    let disk = disk_bytes(&work);
    let cold = evict(&work);

    let t = Instant::now();
    let mut server = builder().start();
    let listening = t.elapsed();
    let mut c = server.client().await;
    c.list_jobs(ListJobsRequest::default())
        .await
        .expect("ListJobs");
    let serving = t.elapsed();
    let (rss_start, _) = memory_of(server.pid());

    // Fetch of jobs spread over the whole set, each once (mostly uncached).
    let mut fetches = Vec::new();
    let step = (ids.len() / 300).max(1);
    for id in ids.iter().step_by(step) {
        let t = Instant::now();
        let r = fetch(&mut c, id, "", 0).await.expect("Fetch");
        fetches.push(t.elapsed());
        assert!(r.eof && !r.response.is_empty(), "job {id} read empty");
    }
    let mut lists = Vec::new();
    let mut token = String::new();
    for i in 0..100 {
        let t = Instant::now();
        let page = c
            .list_jobs(ListJobsRequest {
                page_size: 50,
                // Every tenth a later page: a token deep in the listing.
                page_token: if i % 10 == 9 {
                    token.clone()
                } else {
                    String::new()
                },
            })
            .await
            .expect("ListJobs")
            .into_inner();
        lists.push(t.elapsed());
        assert_eq!(page.jobs.len(), 50);
        token = page.next_page_token;
    }
    let (rss_after, _) = memory_of(server.pid());
    server.kill9();
    // The upgrade: a server that archives, started on the directories.
    let upgrade = (layout == Layout::Dirs).then(|| {
        let t = Instant::now();
        let server = Server::builder()
            .sync_writes(sync)
            .work_dir(&work)
            .local_runner("archive_after_seconds = 0")
            .start();
        let is_job = |e: &fs::DirEntry| e.file_name().len() == 32;
        wait_until(
            "the directories are archived",
            Duration::from_secs(3600),
            || {
                !fs::read_dir(&work)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|e| is_job(&e))
            },
        );
        drop(server);
        t.elapsed()
    });

    println!(
        "{} with {jobs} retained finished jobs, {}:",
        match layout {
            Layout::Archive => "archive",
            Layout::Dirs => "job directories",
        },
        if cold {
            "work dir evicted from the page cache"
        } else {
            "warm page cache"
        }
    );
    println!(
        "  restart: listening after {:.3} s, first ListJobs answered after {:.3} s",
        listening.as_secs_f64(),
        serving.as_secs_f64()
    );
    println!(
        "  server RSS: {:.1} MB after start, {:.1} MB after the reads below",
        rss_start as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    report("  Fetch of a retained job", fetches);
    report("  ListJobs page of 50", lists);
    println!(
        "  disk: {:.0} MB in all, {:.2} KB per job",
        disk as f64 / 1e6,
        disk as f64 / jobs as f64 / 1e3
    );
    if let Some(t) = upgrade {
        println!(
            "  upgrade: a server that archives moved the {jobs} directories into the archive \
             {:.1} s after it started (disk after: {:.2} KB per job)",
            t.as_secs_f64(),
            disk_bytes(&work) as f64 / jobs as f64 / 1e3
        );
    }
}

/// N archive rows made from the real jobs' rows: new ids, times a millisecond apart
/// ending now, programs `SELECT i`.
fn generate_rows(work: &Path, real: &[String], jobs: usize, sync: bool) -> Vec<String> {
    let (archive, lost) =
        Archive::open(work, &work.join(".quarantine"), sync).expect("open the archive");
    assert!(lost.is_none(), "{lost:?}");
    let templates: Vec<_> = real
        .iter()
        .map(|id| {
            archive
                .get(id, "")
                .expect("read a real job")
                .expect("the real job is archived")
        })
        .collect();
    let now = sqlflow_jobdir::now_ms();
    let first = now - jobs as u64;
    let mut ids = Vec::with_capacity(jobs);
    let mut batch = Vec::with_capacity(GENERATE_BATCH);
    for n in 0..jobs {
        let t = &templates[n % templates.len()];
        let i = n % templates.len();
        let id = fresh_id(n);
        let submitted = first + n as u64;
        batch.push(Entry {
            id: id.clone(),
            meta: local_runner::Meta {
                user_id: String::new(),
                submitted_at_ms: submitted,
                summary: format!("SELECT {i}"),
                ..Default::default()
            },
            status: sqlflow_jobdir::FinalStatus {
                finished_at_ms: submitted + 3,
                ..t.status.clone()
            },
            input: sqlflow_jobdir::StepInput {
                program: format!("SELECT {i}"),
                session: sqlflow_jobdir::JobSession {
                    db_conn_str: "sqlite://test.db".into(),
                    ..Default::default()
                },
            },
            output: match &t.output {
                Output::Inline(b) => Output::Inline(b.clone()),
                Output::File(_) => panic!("a trivial job's output is inline"),
            },
        });
        ids.push(id);
        if batch.len() == GENERATE_BATCH {
            archive.put(&batch).expect("write rows");
            batch.clear();
        }
    }
    archive.put(&batch).expect("write rows");
    ids
}

/// N job directories, copies of a real one's files under new ids.
fn generate_dirs(work: &Path, real: &str, jobs: usize) -> Vec<String> {
    let src = work.join(real);
    let files: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(&src)
        .expect("the real job's directory")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().into(), fs::read(e.path()).expect("read")))
        .collect();
    let mut ids = Vec::with_capacity(jobs);
    for n in 0..jobs {
        let id = fresh_id(n);
        let dir = work.join(&id);
        fs::create_dir(&dir).expect("mkdir");
        for (name, bytes) in &files {
            fs::write(dir.join(name), bytes).expect("write");
        }
        ids.push(id);
    }
    ids
}

/// A job id of the runner's form, distinct for each n.
fn fresh_id(n: usize) -> String {
    format!(
        "{:016x}{:016x}",
        0xbe4c_0000_0000_0000u64 | n as u64,
        n as u64 * 7919
    )
}

/// Bytes the work dir takes on disk (allocated blocks).
fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(m) = e.metadata() else { continue };
            total += m.blocks() * 512;
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}

/// Takes the work dir out of the page cache: every cache when allowed (root), else each
/// file's pages with `posix_fadvise(DONTNEED)` after a flush. Returns whether it could.
fn evict(dir: &Path) -> bool {
    let _ = std::process::Command::new("sync").status();
    if fs::write("/proc/sys/vm/drop_caches", "3").is_ok() {
        return true;
    }
    let mut evicted = true;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(f) = fs::File::open(&path) {
                evicted &= nix::fcntl::posix_fadvise(
                    &f,
                    0,
                    0,
                    nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
                )
                .is_ok();
            }
        }
    }
    evicted
}
