//! The jobs this runner knows: creating their directories, starting them when the
//! scheduler gives them a slot, recovering them after a restart, reaping abandoned ones,
//! and removing finished ones after the retention period.

use std::{
    collections::HashMap,
    fs,
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sqlflow_plugin_api::{RunnerError, sdk::program_summary};
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

pub struct Registry {
    pub cfg: Config,
    pub work_dir: PathBuf,
    pub step_binary: PathBuf,
    pub rt: tokio::runtime::Handle,
    state: Mutex<State>,
    /// Held while a job with a request id is created, so two Runs carrying the same id
    /// cannot both create one.
    submitting: Mutex<()>,
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
        if !req.request_id.is_empty()
            && let Some(id) = self
                .state()
                .requests
                .get(&(user.to_string(), req.request_id.clone()))
        {
            tracing::info!(job_id = %id, request_id = %req.request_id, "Run retried: same job");
            return Ok(id.clone());
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (dir, meta) = self
            .create_job_dir(&id, user, &req)
            .map_err(|e| RunnerError::internal(format!("cannot record the job: {e}")))?;
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

    fn create_job_dir(&self, id: &str, user: &str, req: &Request) -> io::Result<(PathBuf, Meta)> {
        let session = req.session.clone().unwrap_or_default();
        let sync = self.cfg.sync_writes;
        // Built under a temporary name and published with one rename, so a crash never
        // leaves a half-written job behind under a real id.
        let tmp = self.work_dir.join(format!(".new-{id}"));
        fs::DirBuilder::new().mode(0o700).create(&tmp)?;
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
        let dir = self.work_dir.join(id);
        fs::rename(&tmp, &dir)?;
        if sync {
            fs::File::open(&self.work_dir)?.sync_all()?;
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
                        let status = jobdir::finalize(&job.dir, &status, this.cfg.sync_writes)
                            .unwrap_or(status);
                        tracing::error!(job_id = %job.id, "{}", status.message);
                        job.set_phase(Phase::Done(status));
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
        tokio::process::Command::new(&self.step_binary)
            .arg("job")
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
        if !job.dir.join(jobdir::CANCEL).exists() {
            jobdir::write_atomic(
                &job.dir,
                jobdir::CANCEL,
                reason.as_bytes(),
                self.cfg.sync_writes,
            )?;
            tracing::info!(job_id = %job.id, "{reason}");
        }
        let was_queued = self.state().sched.dequeue(&job.meta.user_id, &job.id);
        if was_queued {
            let status = job::observe_end(&job.dir, None, self.cfg.sync_writes);
            job.set_phase(Phase::Done(status));
            return Ok(());
        }
        kill_job(&job.dir)
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
        let mut pending = Vec::new();
        let mut st = self.state();
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
            let meta = match read_meta(&dir) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(job_id = %name, "skipping an unreadable job: {e}");
                    continue;
                }
            };
            let lease = job::lease_on_disk(&dir).unwrap_or(meta.submitted_at_ms);
            let phase = match jobdir::read_status(&dir) {
                Ok(Some(status)) => Phase::Done(status),
                _ if jobdir::is_alive(&dir).unwrap_or(false) => Phase::Running,
                _ if dir.join(jobdir::PROCESS).exists() || dir.join(jobdir::CANCEL).exists() => {
                    let status = job::observe_end(&dir, None, sync);
                    tracing::warn!(job_id = %name, code = ?status.code, "a job ended while the server was away");
                    Phase::Done(status)
                }
                _ => Phase::Pending,
            };
            if !meta.request_id.is_empty() {
                st.requests.insert(
                    (meta.user_id.clone(), meta.request_id.clone()),
                    name.clone(),
                );
            }
            let job = Job::new(name.clone(), dir, meta, phase.clone(), lease);
            match phase {
                Phase::Running => {
                    tracing::info!(job_id = %name, "re-attached to a running job");
                    st.sched.adopt(&job.meta.user_id);
                    let this = self.clone();
                    let j = job.clone();
                    self.rt.spawn(async move {
                        job::watch(j.clone(), None, sync).await;
                        this.job_ended(&j);
                    });
                }
                Phase::Pending => pending.push(job.clone()),
                Phase::Done(_) => {}
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
        self.dispatch();
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
    if !jobdir::is_alive(dir)? {
        return Ok(());
    }
    let identity: jobdir::ProcessIdentity = match jobdir::read_json(dir, jobdir::PROCESS) {
        Ok(p) => p,
        // Alive but not yet recorded: the next round finds it.
        Err(_) => return Ok(()),
    };
    // The group id cannot be reused while any member lives, and the lock says one does.
    match nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(identity.pgid),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}
