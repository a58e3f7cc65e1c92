//! The jobs this runner knows: creating their directories, starting them when the
//! scheduler gives them a slot, recovering them after a restart, reaping abandoned ones,
//! and removing finished ones after the retention period. Here: the registry, submitting,
//! starting, cancelling and listing; `recover` (after a restart, quarantine),
//! `housekeeping` (the reaper, archiving finished jobs, the retention sweep), `process`
//! (a job's process: spawning the step, killing its group).
//!
//! Jobs in the table are those with a directory: queued, running, and finished less than
//! `archive_after_seconds` ago. Older finished jobs are rows of the [`Archive`]; a lookup
//! tries the table first and the archive second, and a job is committed to the archive
//! before it leaves the table, so a job is always in one or the other.

mod housekeeping;
mod process;
mod recover;

use process::kill_job;

use std::{
    collections::HashSet,
    fs,
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sqlflow_jobdir::{self as jobdir, FinalCode, FinalStatus, JobSession, StepInput};
use sqlflow_plugin_api::{
    ErrorCode, RunnerError,
    list::{self, Page},
    sdk::{
        JobTable, TableJob,
        jobs::{info_key, request_reused, same_request, valid_job_id},
        program_summary,
        queue::Scheduler,
    },
};
use sqlflow_proto::{
    plugin::RunnerStats,
    sqlflow::{JobInfo, ListJobsRequest, ListJobsResponse, Request},
};

use crate::{
    archive::{Archive, Archived},
    config::Config,
    job::{self, Job, Meta, Phase},
};

/// Where job directories that cannot be read are moved, inside the work dir. Its name
/// is not a job id, so recovery never takes it for a job.
pub const QUARANTINE: &str = ".quarantine";

pub struct Registry {
    pub cfg: Config,
    pub work_dir: PathBuf,
    pub step_binary: PathBuf,
    pub rt: tokio::runtime::Handle,
    /// Every job, by owner and request id.
    jobs: JobTable<Job>,
    state: Mutex<State>,
    /// Job directories in quarantine (see [`QUARANTINE`]), for stats.
    quarantined: AtomicU64,
    /// Makes new job directories' entries in the work dir durable, in groups.
    published: jobdir::GroupSync,
    /// The step process that forks jobs, so that starting one costs no exec.
    zygotes: crate::zygote::Zygotes,
    /// Finished jobs that left the table.
    archive: Archive,
    /// Directories of archived jobs and when they left the table: removed a little later,
    /// so a Fetch that found the job in the table just before still reads its output.
    graveyard: Mutex<Vec<(PathBuf, u64)>>,
    /// Finished jobs the archive could not take (their job.json or output cannot be read):
    /// they stay in the table until retention, and are not tried again each tick.
    unarchivable: Mutex<HashSet<String>>,
}

/// A job found by id: one with a directory, or an archived one.
pub enum Found {
    Live(Arc<Job>),
    Archived(Box<Archived>),
}

#[derive(Default)]
struct State {
    sched: Scheduler,
}

/// `job.json`: what the step needs, plus the runner's record of the submission.
#[derive(Serialize, Deserialize)]
struct JobRecord {
    meta: Meta,
    #[serde(flatten)]
    input: StepInput,
}

fn read_meta(dir: &Path) -> io::Result<Meta> {
    #[derive(Deserialize)]
    struct MetaOnly {
        meta: Meta,
    }
    jobdir::read_json::<MetaOnly>(dir, jobdir::JOB).map(|m| m.meta)
}

impl Registry {
    pub fn new(
        cfg: Config,
        work_dir: PathBuf,
        step_binary: PathBuf,
        rt: tokio::runtime::Handle,
        archive: Archive,
    ) -> Arc<Self> {
        Arc::new(Registry {
            archive,
            graveyard: Mutex::new(Vec::new()),
            unarchivable: Mutex::new(HashSet::new()),
            cfg,
            zygotes: crate::zygote::Zygotes::new(step_binary.clone()),
            step_binary,
            rt,
            jobs: JobTable::new(),
            state: Mutex::new(State::default()),
            quarantined: AtomicU64::new(0),
            published: jobdir::GroupSync::new(&work_dir),
            work_dir,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Finds a job the caller may see. Someone else's job is NOT_FOUND, like a missing
    /// one, so ids of other users' jobs cannot be probed.
    pub fn find(&self, id: &str, user: &str) -> Result<Found, RunnerError> {
        // Job ids name directories: the form is checked before anything else.
        if !valid_job_id(id) {
            return Err(RunnerError::unknown_job(id));
        }
        if let Ok(job) = self.jobs.lookup(id, user) {
            return Ok(Found::Live(job));
        }
        // Not in the table: archived (committed before it left the table) or unknown.
        match self.archive.get(id, user) {
            Ok(Some(a)) => Ok(Found::Archived(Box::new(a))),
            Ok(None) => Err(RunnerError::unknown_job(id)),
            Err(e) => Err(RunnerError::internal(format!(
                "cannot read job {id} from the archive: {e}"
            ))),
        }
    }

    /// Records a new job durably and queues it. With a request id already seen for this
    /// user, returns that job instead.
    pub fn submit(self: &Arc<Self>, user: &str, req: Request) -> Result<String, RunnerError> {
        let mut archived = None;
        let made = self.jobs.submit(
            user,
            &req.request_id,
            |id, _| self.is_retry(id, &req),
            |id| {
                // Asked only once the table has no job for this request id (the table
                // holds new request ids one at a time), and a job enters the archive
                // before it leaves the table: so an earlier job is here if not there.
                if !req.request_id.is_empty() {
                    let first = self
                        .archive
                        .first_request(user, &req.request_id)
                        .map_err(|e| {
                            RunnerError::internal(format!(
                                "cannot look up request_id {} in the archive: {e}",
                                req.request_id
                            ))
                        })?;
                    if let Some(first) = first {
                        archived = Some(first);
                        return Err(RunnerError::internal("found in the archive"));
                    }
                }
                let (dir, meta) = self.create_job_dir(&id, user, &req).map_err(|e| {
                    if is_disk_full(&e) {
                        RunnerError::new(
                            ErrorCode::RESOURCE_EXHAUSTED,
                            format!(
                                "cannot accept the job: the work directory is full ({e}); \
                                 try again once finished jobs expire or space is freed"
                            ),
                        )
                    } else {
                        RunnerError::internal(format!("cannot record the job: {e}"))
                    }
                })?;
                Ok(Job::new(id, dir, meta, Phase::Pending, jobdir::now_ms()))
            },
        );
        if let Some(first) = archived {
            return if same_request(&first.program, &first.datasource, &req) {
                tracing::info!(job_id = %first.id, request_id = %req.request_id, "Run retried: same archived job");
                Ok(first.id)
            } else {
                Err(request_reused(&first.id))
            };
        }
        let (id, new) = made?;
        if !new {
            tracing::info!(job_id = %id, request_id = %req.request_id, "Run retried: same job");
            return Ok(id);
        }
        self.state().sched.enqueue(user, id.clone());
        tracing::info!(job_id = %id, user, "job submitted");
        self.dispatch();
        Ok(id)
    }

    /// A Run repeating a request id must repeat its request: the same program on the
    /// same datasource gets the same job, anything else is refused rather than
    /// silently answered with a job that runs something else. The program and datasource
    /// are read from the job's record, not kept in memory.
    fn is_retry(&self, id: &str, req: &Request) -> Result<bool, RunnerError> {
        let dir = self.work_dir.join(id);
        let first: StepInput = jobdir::read_json(&dir, jobdir::JOB).map_err(|e| {
            RunnerError::internal(format!(
                "cannot read job {id} to compare it with this retried Run: {e}"
            ))
        })?;
        Ok(same_request(
            &first.program,
            &first.session.db_conn_str,
            req,
        ))
    }

    fn create_job_dir(&self, id: &str, user: &str, req: &Request) -> io::Result<(PathBuf, Meta)> {
        // Built under a temporary name and published with one rename, so a crash never
        // leaves a half-written job behind under a real id.
        let tmp = self.work_dir.join(format!(".new-{id}"));
        fs::DirBuilder::new().mode(0o700).create(&tmp)?;
        let created = self.fill_job_dir(&tmp, id, user, req);
        if created.is_err() {
            // Recovery would remove it too, but a full disk needs the space now.
            let _ = fs::remove_dir_all(&tmp);
        }
        created
    }

    fn fill_job_dir(
        &self,
        tmp: &Path,
        id: &str,
        user: &str,
        req: &Request,
    ) -> io::Result<(PathBuf, Meta)> {
        let session = req.session.clone().unwrap_or_default();
        let sync = self.cfg.sync_writes;
        let meta = Meta {
            user_id: user.to_string(),
            submitted_at_ms: jobdir::now_ms(),
            request_id: req.request_id.clone(),
            timeout_seconds: req.timeout_seconds,
            exit_on_submit: session.exit_on_submit,
            summary: program_summary(&req.sql),
        };
        let record = JobRecord {
            meta: meta.clone(),
            input: StepInput {
                program: req.sql.clone(),
                session: JobSession {
                    db_conn_str: session.db_conn_str,
                    user_id: user.to_string(),
                    limits: self.cfg.limits.into(),
                    sync_writes: sync,
                    run_programs: self.cfg.run_programs.clone(),
                },
            },
        };
        let json = serde_json::to_vec(&record).map_err(io::Error::other)?;
        let mut f = fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(tmp.join(jobdir::JOB))?;
        f.write_all(&json)?;
        if sync {
            // job.json and its entry, both before the directory is published under its
            // id; flushed at the same time, so the wait is one flush, not two.
            let (data, entry) = std::thread::scope(|s| {
                let entry = s.spawn(|| jobdir::sync_dir(tmp));
                (f.sync_all(), entry.join())
            });
            data?;
            entry.unwrap_or_else(|_| Err(io::Error::other("directory flush panicked")))?;
        }
        drop(f);
        let dir = self.work_dir.join(id);
        fs::rename(tmp, &dir)?;
        if sync {
            // Shared with every Run submitted meanwhile.
            self.published.sync()?;
        }
        Ok((dir, meta))
    }

    /// Starts whatever the scheduler lets start.
    fn dispatch(self: &Arc<Self>) {
        let starts: Vec<Arc<Job>> = {
            let mut st = self.state();
            let next = st
                .sched
                .next(self.cfg.max_running_per_user, self.cfg.max_running_jobs);
            next.into_iter()
                .filter_map(|(_, id)| self.jobs.get(&id))
                .collect()
        };
        for job in starts {
            self.start(job);
        }
    }

    fn start(self: &Arc<Self>, job: Arc<Job>) {
        let this = self.clone();
        self.rt.spawn(async move {
            if !job.phase().is_done() {
                match this.start_step(&job.dir).await {
                    Ok(child) => {
                        tracing::debug!(job_id = %job.id, pid = ?child.pid(), "job started");
                        job.set_phase(Phase::Running);
                        job::watch(job.clone(), Some(child), this.cfg.sync_writes).await;
                    }
                    Err(e) => {
                        let status = FinalStatus {
                            code: FinalCode::Failed,
                            message: format!(
                                "cannot start the job's process {}: {e}",
                                this.step_binary.display()
                            ),
                            finished_at_ms: jobdir::now_ms(),
                        };
                        tracing::error!(job_id = %job.id, "{}", status.message);
                        let outcome = jobdir::finalize(&job.dir, &status, this.cfg.sync_writes)
                            .map_err(|error| job::Unrecorded { status, error });
                        job.end(outcome);
                    }
                }
            }
            this.job_ended(&job);
        });
    }

    fn job_ended(self: &Arc<Self>, job: &Job) {
        self.state().sched.finished(&job.meta.user_id);
        self.dispatch();
    }

    /// Records the cancel and stops the job: a queued job ends at once, a running one's
    /// process group is killed (its watcher then records CANCELLED).
    pub fn request_cancel(self: &Arc<Self>, job: &Arc<Job>, reason: &str) -> io::Result<()> {
        if job.phase().is_done() {
            return Ok(());
        }
        // The first reason recorded stands (a client's Cancel racing the reaper, say).
        if !job.dir.join(jobdir::CANCEL).exists() && self.record_cancel(job, reason)? {
            tracing::info!(job_id = %job.id, "{reason}");
        }
        let was_queued = self.state().sched.dequeue(&job.meta.user_id, &job.id);
        if was_queued {
            job.end(job::observe_end(
                &job.dir,
                None,
                self.cfg.sync_writes,
                jobdir::now_ms(),
            ));
            return Ok(());
        }
        kill_job(&job.dir)
    }

    /// Records the cancel; true if this call did (not an earlier one).
    fn record_cancel(&self, job: &Job, reason: &str) -> io::Result<bool> {
        let sync = self.cfg.sync_writes;
        match jobdir::publish_once(&job.dir, jobdir::CANCEL, reason.as_bytes(), sync) {
            Err(e) if is_disk_full(&e) => {
                // An empty file needs no data blocks: on a full disk the cancel still
                // happens and is reported as one, only its reason is lost.
                tracing::warn!(job_id = %job.id, "cannot record why the job was cancelled: {e}");
                jobdir::publish_once(&job.dir, jobdir::CANCEL, b"", sync)
            }
            other => other,
        }
    }

    /// Final statuses known only in memory (the disk was full): tried again each tick.
    async fn retry_unrecorded(&self) {
        let jobs: Vec<Arc<Job>> = self
            .jobs
            .all()
            .into_iter()
            .filter(|j| j.is_unrecorded())
            .collect();
        if jobs.is_empty() {
            return;
        }
        let sync = self.cfg.sync_writes;
        let _ = tokio::task::spawn_blocking(move || {
            for job in jobs {
                job.retry_record(sync);
            }
        })
        .await;
    }

    /// The caller's jobs, newest first, paged as every runner pages them: the table's
    /// and, after them in the merge, as many archived ones as one page can take.
    pub fn list(&self, user: &str, req: &ListJobsRequest) -> Result<ListJobsResponse, RunnerError> {
        let after = list::parse_token(&req.page_token, valid_job_id)?;
        let mut mine: Vec<JobInfo> = self
            .jobs
            .all()
            .iter()
            .filter(|j| j.owner() == user)
            .map(|j| j.info())
            .collect();
        // One more than a page, so the merge knows whether more follow.
        let size = list::page_size_for(req.page_size);
        let before = after.as_ref().map(|(ms, id)| (*ms, id.as_str()));
        let archived = self
            .archive
            .list(user, before, size + 1)
            .map_err(|e| RunnerError::internal(format!("cannot list archived jobs: {e}")))?;
        let live: HashSet<String> = mine.iter().map(|j| j.job_id.clone()).collect();
        mine.extend(archived.into_iter().filter(|a| !live.contains(&a.job_id)));
        let page = Page::select(mine, info_key, req.page_size, &req.page_token, valid_job_id)?;
        Ok(ListJobsResponse {
            next_page_token: page.next_token(page.jobs.len(), info_key),
            jobs: page.jobs,
        })
    }

    pub fn stats(&self) -> RunnerStats {
        let mut stats = RunnerStats::default();
        for job in self.jobs.all() {
            let name = job.phase().code().as_str_name().to_string();
            *stats.jobs_by_state.entry(name).or_default() += 1;
        }
        match self.archive.counts() {
            Ok(counts) => {
                for (code, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
                    let name = job::status_code(code).as_str_name().to_string();
                    *stats.jobs_by_state.entry(name).or_default() += n;
                }
            }
            Err(e) => tracing::warn!("cannot count archived jobs: {e}"),
        }
        let quarantined = self.quarantined.load(Ordering::Relaxed);
        if quarantined > 0 {
            stats
                .jobs_by_state
                .insert("QUARANTINED".to_string(), quarantined);
        }
        stats
    }

    pub fn health(&self) -> Result<(), RunnerError> {
        fs::metadata(&self.work_dir).map_err(|e| {
            RunnerError::unavailable(format!("work_dir {} is gone: {e}", self.work_dir.display()))
        })?;
        if !self.step_binary.is_file() {
            return Err(RunnerError::unavailable(format!(
                "the step binary {} is gone",
                self.step_binary.display()
            )));
        }
        Ok(())
    }
}

/// The disk (or the user's quota) holding the work dir is full.
fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}
