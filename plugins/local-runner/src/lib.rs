//! The `local` job runner: each job is its own OS process (`sqlflow-step job <dir>`) on
//! this machine, detached from the server, with a durable job directory that holds its
//! program, output stream and final status. A restarted server re-attaches to running
//! jobs and finishes the records of jobs that died while it was away.

#![deny(rust_2018_idioms)]

mod cursor;
mod job;
mod page;

use std::{
    collections::HashMap,
    fs,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde::Deserialize;
use sqlflow_plugin_api::{
    ErrorCode, RunnerError,
    sdk::{self, PluginContext, Runner, Waker},
};
use sqlflow_proto::{
    jobdir::{self, FinalCode, JobSession, StepInput},
    plugin::{Caller, CancelCall, FetchCall, RunCall},
    sqlflow::{JobId, JobStatus, Responses, job_status::Code},
};

use crate::{
    cursor::Cursor,
    job::{Job, Meta, Phase},
    page::{PageError, read_page},
};

sqlflow_plugin_api::export_runner!(name: "local", create: create);

/// `[runners.local]` in sqlflow.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where job directories live. Relative paths are relative to the server's working
    /// directory.
    #[serde(default = "default_work_dir")]
    pub work_dir: PathBuf,
    /// The `sqlflow-step` executable. Default: next to the server executable, else $PATH.
    #[serde(default)]
    pub step_binary: Option<PathBuf>,
    /// Bytes of output per Fetch reply (a single larger line is still sent whole).
    #[serde(default = "default_page_bytes")]
    pub fetch_page_bytes: u64,
    /// fsync job files before acknowledging (survives power loss, not only crashes).
    #[serde(default = "default_true")]
    pub sync_writes: bool,
}

fn default_work_dir() -> PathBuf {
    PathBuf::from("sqlflow-jobs")
}
fn default_page_bytes() -> u64 {
    1 << 20
}
fn default_true() -> bool {
    true
}

/// How long Cancel waits for the job's processes to be gone before answering.
const CANCEL_WAIT: Duration = Duration::from_secs(3);

pub fn create(config_json: &str, ctx: &PluginContext) -> Result<LocalRunner, RunnerError> {
    let cfg: Config = sdk::parse_config(config_json)?;
    if cfg.fetch_page_bytes < 1024 {
        return Err(RunnerError::config(
            "fetch_page_bytes",
            "must be at least 1024",
        ));
    }
    let step_binary = match &cfg.step_binary {
        Some(p) => {
            if !p.is_file() {
                return Err(RunnerError::config(
                    "step_binary",
                    format!("{} does not exist or is not a file", p.display()),
                ));
            }
            p.clone()
        }
        None => find_step_binary().ok_or_else(|| {
            RunnerError::config(
                "step_binary",
                "cannot find sqlflow-step next to the server executable or on $PATH; \
                 set [runners.local] step_binary",
            )
        })?,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&cfg.work_dir)
        .map_err(|e| {
            RunnerError::config(
                "work_dir",
                format!("cannot create {}: {e}", cfg.work_dir.display()),
            )
        })?;
    let work_dir = cfg
        .work_dir
        .canonicalize()
        .map_err(|e| RunnerError::config("work_dir", format!("{}: {e}", cfg.work_dir.display())))?;
    let runner = LocalRunner {
        inner: Arc::new(Inner {
            cfg,
            work_dir,
            step_binary,
            rt: ctx.runtime.clone(),
            jobs: Mutex::new(HashMap::new()),
        }),
    };
    runner.recover();
    Ok(runner)
}

fn find_step_binary() -> Option<PathBuf> {
    let name = "sqlflow-step";
    let beside = std::env::current_exe().ok()?.parent()?.join(name);
    if beside.is_file() {
        return Some(beside);
    }
    // Test binaries live in target/<profile>/deps, the step binary one level up.
    let above = std::env::current_exe().ok()?.parent()?.parent()?.join(name);
    if above.is_file() {
        return Some(above);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

pub struct LocalRunner {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: Config,
    work_dir: PathBuf,
    step_binary: PathBuf,
    rt: tokio::runtime::Handle,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

/// Job ids are 32 lowercase hex digits (a v4 UUID: 122 random bits). Checking the form
/// first also keeps a malicious id from naming a path outside the work dir.
fn valid_job_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn not_found(id: &str) -> RunnerError {
    RunnerError::not_found(format!("no job with id '{id}'"))
}

fn io_error(what: &str, e: std::io::Error) -> RunnerError {
    RunnerError::internal(format!("{what}: {e}"))
}

fn status_of(phase: &Phase) -> JobStatus {
    let (code, message) = match phase {
        Phase::Pending => (Code::Pending, "waiting to start".to_string()),
        Phase::Running => (Code::Running, String::new()),
        Phase::Done(s) => (
            match s.code {
                FinalCode::Succeeded => Code::Succeeded,
                FinalCode::Failed => Code::Failed,
                FinalCode::Cancelled => Code::Cancelled,
            },
            s.message.clone(),
        ),
    };
    JobStatus {
        code: code as i32,
        message,
    }
}

fn summary(program: &str) -> String {
    let first = program
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut s: String = first.chars().take(100).collect();
    if s.len() < first.len() {
        s.push_str("...");
    }
    s
}

impl Inner {
    fn jobs(&self) -> MutexGuard<'_, HashMap<String, Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn job_dir(&self, id: &str) -> PathBuf {
        self.work_dir.join(id)
    }

    /// Finds a job the caller may see. Someone else's job is NOT_FOUND, like a missing one.
    fn lookup(self: &Arc<Self>, id: &str, caller: &Caller) -> Result<Arc<Job>, RunnerError> {
        if !valid_job_id(id) {
            return Err(not_found(id));
        }
        let job = match self.jobs().get(id).cloned() {
            Some(job) => job,
            None => self.load(id)?.ok_or_else(|| not_found(id))?,
        };
        if job.meta.user_id != caller.user_id {
            return Err(not_found(id));
        }
        Ok(job)
    }

    /// Loads a job from its directory (a job this process has not seen yet).
    fn load(self: &Arc<Self>, id: &str) -> Result<Option<Arc<Job>>, RunnerError> {
        let dir = self.job_dir(id);
        let meta = match read_meta(&dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&format!("cannot read job {id}"), e)),
        };
        let job = self.attach(id.to_string(), dir, meta);
        Ok(Some(job))
    }

    /// Registers a job found on disk and makes sure something follows it to its end.
    fn attach(self: &Arc<Self>, id: String, dir: PathBuf, meta: Meta) -> Arc<Job> {
        let mut jobs = self.jobs();
        if let Some(job) = jobs.get(&id) {
            return job.clone();
        }
        let sync = self.cfg.sync_writes;
        let job = match jobdir::read_status(&dir) {
            Ok(Some(status)) => Job::new(id.clone(), dir, meta, Phase::Done(status)),
            _ => {
                let alive = jobdir::is_alive(&dir).unwrap_or(false);
                let started = dir.join(jobdir::PROCESS).exists();
                if alive {
                    tracing::info!(job_id = %id, "re-attached to a running job");
                    let job = Job::new(id.clone(), dir, meta, Phase::Running);
                    self.rt.spawn(job::watch(job.clone(), None, sync));
                    job
                } else if started || dir.join(jobdir::CANCEL).exists() {
                    let status = job::observe_end(&dir, sync);
                    tracing::warn!(job_id = %id, code = ?status.code, "found a job that ended while the server was away");
                    Job::new(id.clone(), dir, meta, Phase::Done(status))
                } else {
                    // Accepted but never started (the server stopped in between).
                    tracing::info!(job_id = %id, "starting a job accepted before the restart");
                    let job = Job::new(id.clone(), dir, meta, Phase::Pending);
                    self.start(job.clone());
                    job
                }
            }
        };
        jobs.insert(id, job.clone());
        job
    }

    fn start(self: &Arc<Self>, job: Arc<Job>) {
        let this = self.clone();
        self.rt.spawn(async move {
            match this.spawn_step(&job.dir) {
                Ok(child) => {
                    job.set_phase(Phase::Running);
                    job::watch(job, Some(child), this.cfg.sync_writes).await;
                }
                Err(e) => {
                    let status = jobdir::FinalStatus {
                        code: FinalCode::Failed,
                        message: format!(
                            "cannot start the job's process {}: {e}",
                            this.step_binary.display()
                        ),
                        finished_at_ms: jobdir::now_ms(),
                    };
                    let status =
                        jobdir::finalize(&job.dir, &status, this.cfg.sync_writes).unwrap_or(status);
                    tracing::error!(job_id = %job.id, "{}", status.message);
                    job.set_phase(Phase::Done(status));
                }
            }
        });
    }

    fn spawn_step(&self, dir: &Path) -> std::io::Result<tokio::process::Child> {
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

    /// Re-attaches to the jobs in the work dir after a (re)start.
    fn recover(self: &Arc<Self>) {
        let entries = match fs::read_dir(&self.work_dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("cannot scan {}: {e}", self.work_dir.display());
                return;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".new-") {
                // A job whose creation was interrupted: never acknowledged to anyone.
                let _ = fs::remove_dir_all(entry.path());
                continue;
            }
            if !valid_job_id(&name) || jobdir::read_status(&entry.path()).ok().flatten().is_some() {
                continue;
            }
            match read_meta(&entry.path()) {
                Ok(meta) => {
                    self.attach(name, entry.path(), meta);
                }
                Err(e) => tracing::warn!(job_id = %name, "skipping an unreadable job: {e}"),
            }
        }
    }

    fn create_job_dir(
        &self,
        id: &str,
        call: &RunCall,
        caller: &Caller,
    ) -> std::io::Result<(PathBuf, Meta)> {
        let req = call.request.clone().unwrap_or_default();
        let session = req.session.clone().unwrap_or_default();
        let sync = self.cfg.sync_writes;
        // Build under a temporary name and publish with one rename, so a crash never
        // leaves a half-written job behind under a real id.
        let tmp = self.work_dir.join(format!(".new-{id}"));
        fs::DirBuilder::new().mode(0o700).create(&tmp)?;
        let meta = Meta {
            user_id: caller.user_id.clone(),
            submitted_at_ms: jobdir::now_ms(),
            request_id: req.request_id.clone(),
            timeout_seconds: req.timeout_seconds,
            exit_on_submit: session.exit_on_submit,
            summary: summary(&req.sql),
        };
        let record = JobRecord {
            meta: meta.clone(),
            input: StepInput {
                program: req.sql.clone(),
                session: JobSession {
                    db_conn_str: session.db_conn_str.clone(),
                    user_id: caller.user_id.clone(),
                    limits: Default::default(),
                },
            },
        };
        {
            use std::io::Write;
            let mut f = fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(tmp.join(jobdir::JOB))?;
            f.write_all(&to_json(&record)?)?;
            if sync {
                f.sync_all()?;
            }
        }
        let dir = self.job_dir(id);
        fs::rename(&tmp, &dir)?;
        if sync {
            fs::File::open(&self.work_dir)?.sync_all()?;
        }
        Ok((dir, meta))
    }
}

/// `job.json`: what the step needs, plus the runner's record of the submission.
#[derive(serde::Serialize, Deserialize)]
struct JobRecord {
    meta: Meta,
    #[serde(flatten)]
    input: StepInput,
}

fn read_meta(dir: &Path) -> std::io::Result<Meta> {
    #[derive(Deserialize)]
    struct MetaOnly {
        meta: Meta,
    }
    jobdir::read_json::<MetaOnly>(dir, jobdir::JOB).map(|m| m.meta)
}

fn to_json<T: serde::Serialize>(v: &T) -> std::io::Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(std::io::Error::other)
}

impl LocalRunner {
    fn recover(&self) {
        self.inner.recover();
    }
}

impl Runner for LocalRunner {
    fn run(&self, call: RunCall) -> Result<JobId, RunnerError> {
        let caller = call.caller.clone().unwrap_or_default();
        let req = call
            .request
            .as_ref()
            .ok_or_else(|| RunnerError::invalid_argument("missing request"))?;
        if req.sql.trim().is_empty() {
            return Err(RunnerError::invalid_argument("the program is empty"));
        }
        let has_datasource = req
            .session
            .as_ref()
            .is_some_and(|s| !s.db_conn_str.is_empty());
        if !has_datasource {
            return Err(RunnerError::invalid_argument(
                "no datasource: set Session.db_conn_str or configure a default datasource",
            ));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (dir, meta) = self
            .inner
            .create_job_dir(&id, &call, &caller)
            .map_err(|e| io_error("cannot record the job", e))?;
        let job = Job::new(id.clone(), dir, meta, Phase::Pending);
        self.inner.jobs().insert(id.clone(), job.clone());
        self.inner.start(job);
        tracing::info!(job_id = %id, user = %caller.user_id, "job submitted");
        Ok(JobId { job_id: id })
    }

    fn fetch(&self, call: FetchCall, waker: Option<Waker>) -> Result<Responses, RunnerError> {
        let caller = call.caller.clone().unwrap_or_default();
        let req = call.request.unwrap_or_default();
        let id = req.job.map(|j| j.job_id).unwrap_or_default();
        let job = self.inner.lookup(&id, &caller)?;
        let cursor = Cursor::parse(&req.cursor).ok_or_else(|| {
            RunnerError::invalid_argument(format!("malformed cursor '{}'", req.cursor))
        })?;
        // The phase is read before the file, so a finished job's output is complete.
        let phase = job.phase();
        let status = status_of(&phase);
        let page = read_page(
            &job.output_path(),
            cursor.offset,
            self.inner.cfg.fetch_page_bytes,
            phase.is_done(),
        )
        .map_err(|e| match e {
            PageError::BadOffset => RunnerError::invalid_argument(format!(
                "cursor '{}' does not point into job {id}'s output",
                req.cursor
            )),
            PageError::Io(e) => io_error(&format!("cannot read job {id}'s output"), e),
        })?;
        let eof = phase.is_done() && page.next_offset == page.file_len;
        let next_cursor = Cursor::encode(page.next_offset, status.code());
        if page.responses.is_empty()
            && next_cursor == req.cursor
            && !eof
            && let Some(w) = waker
        {
            job.add_waker(w, page.file_len);
        }
        Ok(Responses {
            job_status: Some(status),
            response: page.responses,
            next_cursor,
            eof,
        })
    }

    fn cancel(&self, call: CancelCall) -> Result<JobStatus, RunnerError> {
        let caller = call.caller.clone().unwrap_or_default();
        let id = call.job.map(|j| j.job_id).unwrap_or_default();
        let job = self.inner.lookup(&id, &caller)?;
        if job.phase().is_done() {
            return Ok(status_of(&job.phase()));
        }
        let reason = if caller.user_id.is_empty() {
            "cancelled by the client".to_string()
        } else {
            format!("cancelled by {}", caller.user_id)
        };
        if !job.dir.join(jobdir::CANCEL).exists() {
            jobdir::write_atomic(
                &job.dir,
                jobdir::CANCEL,
                reason.as_bytes(),
                self.inner.cfg.sync_writes,
            )
            .map_err(|e| io_error("cannot record the cancel", e))?;
        }
        let mut phase = job.subscribe();
        let deadline = std::time::Instant::now() + CANCEL_WAIT;
        while !phase.borrow().is_done() && std::time::Instant::now() < deadline {
            match kill_job(&job.dir) {
                Ok(true) => {}
                Ok(false) if *phase.borrow() == Phase::Pending => {
                    // Not started yet: the cancel marker stops it from ever running.
                    let status = job::observe_end(&job.dir, self.inner.cfg.sync_writes);
                    job.set_phase(Phase::Done(status));
                    break;
                }
                Ok(false) => {}
                Err(e) => return Err(io_error("cannot signal the job's processes", e)),
            }
            let _ = self.inner.rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(100), phase.changed()).await
            });
        }
        let status = status_of(&job.phase());
        if status.code() == Code::Running {
            return Err(RunnerError::new(
                ErrorCode::DEADLINE_EXCEEDED,
                format!(
                    "job {id} did not stop within {CANCEL_WAIT:?}; it is marked for cancellation"
                ),
            ));
        }
        Ok(status)
    }

    fn health(&self) -> Result<(), RunnerError> {
        fs::metadata(&self.inner.work_dir)
            .map_err(|e| RunnerError::unavailable(format!("work_dir is gone: {e}")))?;
        if !self.inner.step_binary.is_file() {
            return Err(RunnerError::unavailable(format!(
                "the step binary {} is gone",
                self.inner.step_binary.display()
            )));
        }
        Ok(())
    }
}

/// Sends SIGKILL to the job's process group if any of its processes is alive.
/// Returns whether there was something to kill.
fn kill_job(dir: &Path) -> std::io::Result<bool> {
    if !jobdir::is_alive(dir)? {
        return Ok(false);
    }
    let identity: jobdir::ProcessIdentity = match jobdir::read_json(dir, jobdir::PROCESS) {
        Ok(p) => p,
        // Alive but not yet recorded: the next round will find it.
        Err(_) => return Ok(true),
    };
    // The group id cannot be reused while any member lives, and the lock says one does.
    match nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(identity.pgid),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(true),
        Err(e) => Err(std::io::Error::from(e)),
    }
}
