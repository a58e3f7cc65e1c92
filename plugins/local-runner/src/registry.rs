//! The jobs this runner knows: creating their directories, starting them when the
//! scheduler gives them a slot, recovering them after a restart, reaping abandoned ones,
//! and removing finished ones after the retention period.

use std::{
    collections::HashMap,
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
use sqlflow_plugin_api::{ErrorCode, RunnerError, sdk::program_summary};
use sqlflow_proto::{
    jobdir::{self, FinalCode, FinalStatus, JobSession, StepInput},
    plugin::RunnerStats,
    sqlflow::{JobInfo, ListJobsRequest, ListJobsResponse, Request},
};

use crate::{
    config::Config,
    job::{self, Job, Meta, Phase},
    scheduler::Scheduler,
};

/// How often abandoned jobs are looked for.
const REAP_EVERY: Duration = Duration::from_secs(1);
/// How often expired jobs are removed.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;
/// Where job directories that cannot be read are moved, inside the work dir. Its name
/// is not a job id, so recovery never takes it for a job.
pub const QUARANTINE: &str = ".quarantine";
/// Reads at start-up are retried this many times before their error counts: a
/// transient one (out of file descriptors, an interrupted call) must not turn a live
/// job into a failed one or a readable job into a quarantined one.
const STARTUP_ATTEMPTS: u32 = 5;
/// How long a killed orphan's processes get to be gone before its quarantined
/// directory is given a final status anyway.
const ORPHAN_EXIT_WAIT: Duration = Duration::from_secs(30);

/// Environment variables a job's process keeps from the server's. Everything else is
/// dropped, so the server's environment (RUST_BACKTRACE, RUST_LOG, credentials of its
/// own) cannot change how a job behaves or what it may read.
const STEP_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

pub struct Registry {
    pub cfg: Config,
    pub work_dir: PathBuf,
    pub step_binary: PathBuf,
    pub rt: tokio::runtime::Handle,
    state: Mutex<State>,
    /// Held while a job with a request id is created, so two Runs carrying the same id
    /// cannot both create one.
    submitting: Mutex<()>,
    /// Job directories in quarantine (see [`QUARANTINE`]), for stats.
    quarantined: AtomicU64,
}

#[derive(Default)]
struct State {
    jobs: HashMap<String, Arc<Job>>,
    /// (user, request id) → job id.
    requests: HashMap<(String, String), String>,
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

/// Job ids are 32 lowercase hex digits (a v4 UUID: 122 random bits). Checking the form
/// first also keeps a malicious id from naming a path outside the work dir.
fn valid_job_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Registry {
    pub fn new(
        cfg: Config,
        work_dir: PathBuf,
        step_binary: PathBuf,
        rt: tokio::runtime::Handle,
    ) -> Arc<Self> {
        Arc::new(Registry {
            cfg,
            work_dir,
            step_binary,
            rt,
            state: Mutex::new(State::default()),
            submitting: Mutex::new(()),
            quarantined: AtomicU64::new(0),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Finds a job the caller may see. Someone else's job is NOT_FOUND, like a missing
    /// one, so ids of other users' jobs cannot be probed.
    pub fn lookup(&self, id: &str, user: &str) -> Result<Arc<Job>, RunnerError> {
        if !valid_job_id(id) {
            return Err(RunnerError::unknown_job(id));
        }
        match self.state().jobs.get(id) {
            Some(job) if job.meta.user_id == user => Ok(job.clone()),
            _ => Err(RunnerError::unknown_job(id)),
        }
    }

    /// Records a new job durably and queues it. With a request id already seen for this
    /// user, returns that job instead.
    pub fn submit(self: &Arc<Self>, user: &str, req: Request) -> Result<String, RunnerError> {
        let _one_at_a_time = (!req.request_id.is_empty())
            .then(|| self.submitting.lock().unwrap_or_else(|p| p.into_inner()));
        let earlier = if req.request_id.is_empty() {
            None
        } else {
            self.state()
                .requests
                .get(&(user.to_string(), req.request_id.clone()))
                .cloned()
        };
        if let Some(id) = earlier {
            // Outside the state lock: this reads the earlier job's record.
            self.check_retry(&id, &req)?;
            tracing::info!(job_id = %id, request_id = %req.request_id, "Run retried: same job");
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
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
        let job = Job::new(id.clone(), dir, meta, Phase::Pending, jobdir::now_ms());
        {
            let mut st = self.state();
            if !req.request_id.is_empty() {
                st.requests
                    .insert((user.to_string(), req.request_id.clone()), id.clone());
            }
            st.jobs.insert(id.clone(), job);
            st.sched.enqueue(user, id.clone());
        }
        tracing::info!(job_id = %id, user, "job submitted");
        self.dispatch();
        Ok(id)
    }

    /// A Run repeating a request id must repeat its request: the same program on the
    /// same datasource gets the same job, anything else is refused rather than
    /// silently answered with a job that runs something else.
    fn check_retry(&self, id: &str, req: &Request) -> Result<(), RunnerError> {
        let dir = self.work_dir.join(id);
        let first: StepInput = jobdir::read_json(&dir, jobdir::JOB).map_err(|e| {
            RunnerError::internal(format!(
                "cannot read job {id} to compare it with this retried Run: {e}"
            ))
        })?;
        let datasource = req
            .session
            .as_ref()
            .map(|s| s.db_conn_str.as_str())
            .unwrap_or_default();
        if first.program == req.sql && first.session.db_conn_str == datasource {
            return Ok(());
        }
        Err(RunnerError::new(
            ErrorCode::ALREADY_EXISTS,
            format!(
                "this request_id was already used for job {id}, with a different program \
                 or datasource; a retried Run must repeat its request, a new request needs \
                 a new request_id"
            ),
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
                },
            },
        };
        let json = serde_json::to_vec(&record).map_err(io::Error::other)?;
        {
            let mut f = fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(tmp.join(jobdir::JOB))?;
            f.write_all(&json)?;
            if sync {
                f.sync_all()?;
            }
        }
        if sync {
            // job.json's entry, before the directory is published under its id.
            jobdir::sync_dir(tmp)?;
        }
        let dir = self.work_dir.join(id);
        fs::rename(tmp, &dir)?;
        if sync {
            jobdir::sync_dir(&self.work_dir)?;
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
                .filter_map(|(_, id)| st.jobs.get(&id).cloned())
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
                match this.spawn_step(&job.dir) {
                    Ok(child) => {
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

    fn spawn_step(&self, dir: &Path) -> io::Result<tokio::process::Child> {
        let append = |name: &str| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(dir.join(name))
        };
        let mut cmd = tokio::process::Command::new(&self.step_binary);
        cmd.env_clear();
        for name in STEP_ENV {
            if let Some(value) = std::env::var_os(name) {
                cmd.env(name, value);
            }
        }
        cmd.arg("job")
            .arg(dir)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(append(jobdir::OUTPUT)?)
            .stderr(append(jobdir::STDERR)?)
            // The job must outlive the server: never kill it when the handle drops.
            .kill_on_drop(false)
            .spawn()
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

    /// Rebuilds the registry from the work dir after a (re)start.
    pub fn recover(self: &Arc<Self>) {
        let entries = match fs::read_dir(&self.work_dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("cannot scan {}: {e}", self.work_dir.display());
                return;
            }
        };
        let sync = self.cfg.sync_writes;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path();
            if name.starts_with(".new-") {
                // A job whose creation was interrupted: never acknowledged to anyone.
                let _ = fs::remove_dir_all(&dir);
                continue;
            }
            if !valid_job_id(&name) {
                continue;
            }
            match with_retries(|| read_meta(&dir)) {
                Ok(meta) => found.push((name, dir, meta)),
                Err(e) => {
                    self.quarantine(&name, &dir, &format!("its job.json cannot be read: {e}"))
                }
            }
        }
        let mut recovered = Vec::new();
        for (name, dir, meta) in found {
            let lease = job::lease_on_disk(&dir).unwrap_or(meta.submitted_at_ms);
            let status = match with_retries(|| jobdir::read_status(&dir)) {
                Ok(status) => status,
                Err(e) => {
                    // Unreadable is not final: decide by liveness; finalizing replaces a
                    // status.json that does not parse.
                    tracing::warn!(job_id = %name, "ignoring an unreadable status.json: {e}");
                    None
                }
            };
            let state = match status {
                Some(status) => Recovered::Done(Ok(status)),
                None => match with_retries(|| jobdir::liveness(&dir)) {
                    Ok(true) => Recovered::Running,
                    Ok(false)
                        if dir.join(jobdir::PROCESS).exists()
                            || dir.join(jobdir::CANCEL).exists() =>
                    {
                        let outcome = job::observe_end(&dir, None, sync, job::ended_at_ms(&dir));
                        tracing::warn!(job_id = %name, "a job ended while the server was away");
                        Recovered::Done(outcome)
                    }
                    Ok(false) => Recovered::Pending,
                    Err(e) => {
                        // Marking it failed could orphan a live process; following it as
                        // running only waits until its liveness can be told.
                        tracing::warn!(
                            job_id = %name,
                            "cannot tell whether the job is alive ({e}); following it as running"
                        );
                        Recovered::Running
                    }
                },
            };
            recovered.push((name, dir, meta, lease, state));
        }
        let mut pending = Vec::new();
        let mut st = self.state();
        for (name, dir, meta, lease, state) in recovered {
            if !meta.request_id.is_empty() {
                st.requests.insert(
                    (meta.user_id.clone(), meta.request_id.clone()),
                    name.clone(),
                );
            }
            let initial = match &state {
                Recovered::Running => Phase::Running,
                _ => Phase::Pending,
            };
            let job = Job::new(name.clone(), dir, meta, initial, lease);
            match state {
                Recovered::Running => {
                    tracing::info!(job_id = %name, "re-attached to a running job");
                    st.sched.adopt(&job.meta.user_id);
                    let this = self.clone();
                    let j = job.clone();
                    self.rt.spawn(async move {
                        job::watch(j.clone(), None, sync).await;
                        this.job_ended(&j);
                    });
                }
                Recovered::Pending => pending.push(job.clone()),
                Recovered::Done(outcome) => job.end(outcome),
            }
            st.jobs.insert(name, job);
        }
        // Accepted before the restart but never started: queue them in submission order.
        pending.sort_by_key(|j| j.meta.submitted_at_ms);
        for job in pending {
            tracing::info!(job_id = %job.id, "queueing a job accepted before the restart");
            st.sched.enqueue(&job.meta.user_id, job.id.clone());
        }
        drop(st);
        self.count_quarantined();
        self.dispatch();
    }

    /// Moves a job directory whose job.json cannot be read out of the way, into
    /// [`QUARANTINE`], stopping its processes first if any still run: a job nobody can
    /// fetch or cancel would otherwise hold its database and CPU for good. The operator
    /// finds it by the log line and the stats, and may move it back.
    fn quarantine(self: &Arc<Self>, name: &str, dir: &Path, cause: &str) {
        let alive = with_retries(|| jobdir::liveness(dir)).unwrap_or(false);
        let mut stopped = String::new();
        if alive {
            stopped = match kill_group(dir) {
                Ok(()) => "; its processes were still running and were killed".to_string(),
                Err(e) => format!("; its processes are still running and cannot be killed: {e}"),
            };
        }
        let qdir = self.work_dir.join(QUARANTINE);
        let dest = qdir.join(name);
        let moved = fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&qdir)
            .and_then(|()| fs::rename(dir, &dest));
        if let Err(e) = moved {
            tracing::error!(
                job_id = %name,
                "cannot quarantine the unreadable job directory {} ({e}); it is skipped: {cause}{stopped}",
                dir.display()
            );
            return;
        }
        tracing::error!(
            job_id = %name,
            "quarantined the unreadable job directory {} as {}: {cause}{stopped}",
            dir.display(),
            dest.display()
        );
        if alive {
            // Recorded for the operator once its processes are gone.
            let message = format!("stopped by the server at start-up and quarantined: {cause}");
            let sync = self.cfg.sync_writes;
            self.rt.spawn_blocking(move || {
                let deadline = std::time::Instant::now() + ORPHAN_EXIT_WAIT;
                while jobdir::liveness(&dest).unwrap_or(false)
                    && std::time::Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let status = FinalStatus {
                    code: FinalCode::Failed,
                    message,
                    finished_at_ms: jobdir::now_ms(),
                };
                if let Err(e) = jobdir::finalize(&dest, &status, sync) {
                    tracing::warn!(
                        "cannot record the end of quarantined {}: {e}",
                        dest.display()
                    );
                }
            });
        }
    }

    /// Counts the quarantined directories (earlier starts' too) and reminds of them.
    fn count_quarantined(&self) {
        let qdir = self.work_dir.join(QUARANTINE);
        let n = fs::read_dir(&qdir).map_or(0, |d| d.flatten().count() as u64);
        self.quarantined.store(n, Ordering::Relaxed);
        if n > 0 {
            tracing::warn!(
                "{n} unreadable job directories are in quarantine in {}: move one back into \
                 the work dir to recover it, or remove it",
                qdir.display()
            );
        }
    }

    /// Periodic work: cancelling abandoned jobs, removing expired ones.
    pub fn spawn_housekeeping(self: &Arc<Self>) {
        let this = self.clone();
        self.rt.spawn(async move {
            let mut tick = tokio::time::interval(REAP_EVERY);
            let mut since_sweep = Duration::ZERO;
            loop {
                tick.tick().await;
                this.reap_abandoned();
                this.retry_unrecorded().await;
                since_sweep += REAP_EVERY;
                // Short retention periods (tests) are swept about as often as they expire.
                let every = SWEEP_EVERY.min(Duration::from_secs(this.cfg.retention_seconds));
                if since_sweep >= every {
                    since_sweep = Duration::ZERO;
                    let sweeper = this.clone();
                    let _ = tokio::task::spawn_blocking(move || sweeper.sweep_expired()).await;
                }
            }
        });
    }

    /// Final statuses known only in memory (the disk was full): tried again each tick.
    async fn retry_unrecorded(&self) {
        let jobs: Vec<Arc<Job>> = self
            .state()
            .jobs
            .values()
            .filter(|j| j.is_unrecorded())
            .cloned()
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

    fn reap_abandoned(self: &Arc<Self>) {
        let now = jobdir::now_ms();
        let abandoned: Vec<Arc<Job>> = self
            .state()
            .jobs
            .values()
            .filter(|j| j.abandoned(now))
            .cloned()
            .collect();
        for job in abandoned {
            let reason = format!(
                "abandoned: no client fetched this job for {} s (its timeout_seconds)",
                job.meta.timeout_seconds
            );
            tracing::warn!(job_id = %job.id, "{reason}");
            if let Err(e) = self.request_cancel(&job, &reason) {
                tracing::error!(job_id = %job.id, "cannot cancel an abandoned job: {e}");
            }
        }
    }

    /// Removes finished jobs older than the retention period, records and output.
    pub fn sweep_expired(&self) {
        let horizon = jobdir::now_ms().saturating_sub(self.cfg.retention_seconds * 1000);
        let expired: Vec<Arc<Job>> = {
            let mut st = self.state();
            let ids: Vec<String> = st
                .jobs
                .values()
                .filter(|j| matches!(j.phase(), Phase::Done(s) if s.finished_at_ms < horizon))
                .map(|j| j.id.clone())
                .collect();
            let mut out = Vec::new();
            for id in ids {
                if let Some(job) = st.jobs.remove(&id) {
                    if !job.meta.request_id.is_empty() {
                        st.requests
                            .remove(&(job.meta.user_id.clone(), job.meta.request_id.clone()));
                    }
                    out.push(job);
                }
            }
            out
        };
        for job in expired {
            match fs::remove_dir_all(&job.dir) {
                Ok(()) => tracing::info!(job_id = %job.id, "removed after the retention period"),
                Err(e) => tracing::warn!(job_id = %job.id, "cannot remove an expired job: {e}"),
            }
        }
    }

    /// The caller's jobs, newest first. The page token is `<submitted_at_ms>.<job id>`
    /// of the last job of the previous page.
    pub fn list(&self, user: &str, req: &ListJobsRequest) -> Result<ListJobsResponse, RunnerError> {
        let after = if req.page_token.is_empty() {
            None
        } else {
            let bad = || {
                RunnerError::invalid_argument(format!("malformed page_token '{}'", req.page_token))
            };
            let (ms, id) = req.page_token.split_once('.').ok_or_else(bad)?;
            let ms: u64 = ms.parse().map_err(|_| bad())?;
            if !valid_job_id(id) {
                return Err(bad());
            }
            Some((ms, id.to_string()))
        };
        let size = match req.page_size as usize {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let mut mine: Vec<Arc<Job>> = self
            .state()
            .jobs
            .values()
            .filter(|j| j.meta.user_id == user)
            .cloned()
            .collect();
        mine.sort_by(|a, b| (b.meta.submitted_at_ms, &b.id).cmp(&(a.meta.submitted_at_ms, &a.id)));
        let start = match &after {
            None => 0,
            Some((ms, id)) => mine
                .iter()
                .position(|j| (j.meta.submitted_at_ms, &j.id) < (*ms, id))
                .unwrap_or(mine.len()),
        };
        let page: Vec<&Arc<Job>> = mine.iter().skip(start).take(size).collect();
        let next_page_token = match page.last() {
            Some(last) if start + page.len() < mine.len() => {
                format!("{}.{}", last.meta.submitted_at_ms, last.id)
            }
            _ => String::new(),
        };
        Ok(ListJobsResponse {
            jobs: page
                .into_iter()
                .map(|j| {
                    let phase = j.phase();
                    JobInfo {
                        job_id: j.id.clone(),
                        status: Some(phase.status()),
                        submitted_at_ms: j.meta.submitted_at_ms as i64,
                        finished_at_ms: match &phase {
                            Phase::Done(s) => s.finished_at_ms as i64,
                            _ => 0,
                        },
                        summary: j.meta.summary.clone(),
                        request_id: j.meta.request_id.clone(),
                    }
                })
                .collect(),
            next_page_token,
        })
    }

    pub fn stats(&self) -> RunnerStats {
        let mut stats = RunnerStats::default();
        for job in self.state().jobs.values() {
            let name = job.phase().code().as_str_name().to_string();
            *stats.jobs_by_state.entry(name).or_default() += 1;
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

/// Sends SIGKILL to the job's process group if any of its processes is alive.
fn kill_job(dir: &Path) -> io::Result<()> {
    if !jobdir::liveness(dir)? {
        return Ok(());
    }
    match kill_group(dir) {
        // Alive but not yet recorded: the next round finds it.
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::InvalidData => {
            Ok(())
        }
        other => other,
    }
}

/// Sends SIGKILL to the process group recorded in process.json.
fn kill_group(dir: &Path) -> io::Result<()> {
    let identity: jobdir::ProcessIdentity = jobdir::read_json(dir, jobdir::PROCESS)?;
    // The group id cannot be reused while any member lives, and the caller saw one alive.
    match nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(identity.pgid),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// What recovery found a job to be.
enum Recovered {
    Running,
    Pending,
    Done(Result<FinalStatus, job::Unrecorded>),
}

/// Runs a start-up read again while its error may pass (each pause twice the last).
fn with_retries<T>(mut read: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut pause = Duration::from_millis(10);
    let mut attempt = 1;
    loop {
        match read() {
            Err(e) if attempt < STARTUP_ATTEMPTS && is_transient(&e) => {
                std::thread::sleep(pause);
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether reading again may help: not when the error is about the file itself (missing,
/// malformed, of the wrong kind), only when it is about the moment (out of descriptors
/// or memory, interrupted, an I/O error that may pass).
fn is_transient(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::InvalidData
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::IsADirectory
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::PermissionDenied
    )
}

/// The disk (or the user's quota) holding the work dir is full.
fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}
