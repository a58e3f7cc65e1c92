//! Driving `sqlflow-step`, the one executor every runner uses.
//!
//! `sqlflow-step run -` reads the program on stdin and the datasource from
//! `SQLFLOW_DATASOURCE` (never on the command line, where `ps` would show its password),
//! and writes the record stream on stdout: one line per record, `SQLFLOW/1 <base64 of a
//! step.Record>`; any other line is text that reaches the client as a log message. A
//! record is a `Response` to pass on as is, a `StatementStart`, or, last, the `Failure`
//! that stopped the program. Exit status 0: the program succeeded; 1: it failed (the
//! `Failure` record says how, stderr repeats it); 2: the step was called wrongly (no
//! program, no datasource); killed by a signal: it was cancelled or died.
//!
//! [`StepProcess`] runs one program that way and keeps its output in a [`Transcript`]
//! that [`Watched::fetch`] pages through; [`find_step_binary`], [`step_command`] and
//! [`kill_group`] are for runners that start the step their own way.

use std::{
    io,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use prost::Message as _;
use sqlflow_proto::{
    sqlflow::{JobStatus, Message, Response, Responses, job_status::Code, message, response},
    step::{Failure, record},
    stream::{Line, decode_line},
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::{
    Waker,
    cursor::{Cursor, is_eof, is_final},
    lease::now_ms,
    watched::Watched,
};
use crate::RunnerError;

/// Environment variables a step keeps from the server's; everything else is dropped, so
/// the server's environment (RUST_LOG, its own credentials) cannot change how a job
/// behaves or what it may read.
pub const STEP_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/// Bytes of a step's stderr kept for a failure message.
const STDERR_TAIL: usize = 2048;

/// The `sqlflow-step` to run: `configured` (the runner's `step_binary` key) if given,
/// else the one next to the server executable, else one on `$PATH`. A configuration
/// error names the key `step_binary`.
pub fn find_step_binary(configured: Option<&Path>) -> Result<PathBuf, RunnerError> {
    if let Some(p) = configured {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(RunnerError::config(
            "step_binary",
            format!("{} does not exist or is not a file", p.display()),
        ));
    }
    search_step_binary().ok_or_else(|| {
        RunnerError::config(
            "step_binary",
            "cannot find sqlflow-step next to the server executable or on $PATH; set \
             step_binary in the runner's table",
        )
    })
}

fn search_step_binary() -> Option<PathBuf> {
    let name = "sqlflow-step";
    let exe = std::env::current_exe().ok()?;
    let beside = exe.parent()?.join(name);
    if beside.is_file() {
        return Some(beside);
    }
    // Test binaries live in target/<profile>/deps, the step binary one level up.
    let above = exe.parent()?.parent()?.join(name);
    if above.is_file() {
        return Some(above);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// A command for `binary` with the environment cleared to [`STEP_ENV`], that is not
/// killed when its handle drops (a job may outlive the runner's interest in it).
pub fn step_command(binary: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.env_clear();
    for name in STEP_ENV {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.kill_on_drop(false);
    cmd
}

/// SIGKILLs the process group `pgid`; a group already gone is not an error.
pub fn kill_group(pgid: i32) -> io::Result<()> {
    match nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// A failed program's status message, worded as the engine words it (and as both
/// built-in runners report it).
pub fn failure_message(f: &Failure, statement_count: u32) -> String {
    if f.setup {
        return f.error.clone();
    }
    let one_line = f.statement.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown: String = one_line.chars().take(160).collect();
    let ellipsis = if shown.len() < one_line.len() {
        "..."
    } else {
        ""
    };
    format!(
        "statement {} of {statement_count} failed: {}\n  in: {shown}{ellipsis}",
        f.statement_index + 1,
        f.error
    )
}

/// A job's output and state, kept in memory: what a [`StepProcess`] writes and
/// [`Watched::fetch`] reads.
#[derive(Debug, Default)]
pub struct Transcript {
    /// The job's status: `PENDING` until its process starts, then `RUNNING`, then final.
    pub status: JobStatus,
    /// Every response so far, in order; the cursor's offset indexes it.
    pub responses: Vec<Response>,
    /// When the job ended (ms since the epoch), 0 while it has not.
    pub ended_at_ms: u64,
}

impl Transcript {
    /// Whether the job has ended.
    pub fn is_done(&self) -> bool {
        is_final(self.status.code())
    }

    /// The process started: `RUNNING`, unless the job has ended already.
    pub fn start(&mut self) {
        if !self.is_done() {
            self.status.code = Code::Running as i32;
        }
    }

    /// Ends the job with `code` and `message`, unless it has ended already (the first end
    /// stands: a cancel racing the process's own exit, say).
    pub fn finish(&mut self, code: Code, message: impl Into<String>) {
        if !self.is_done() {
            self.status = JobStatus {
                code: code as i32,
                message: message.into(),
            };
            self.ended_at_ms = now_ms();
        }
    }
}

impl Watched<Transcript> {
    /// Fetch on an in-memory transcript: the responses after `cursor`, at most about
    /// `page_bytes` of them (always at least one), the next cursor and `eof`, following
    /// the [cursor rules](super::cursor); with nothing new, `waker` is kept until the
    /// transcript changes.
    pub fn fetch(
        &self,
        cursor: &str,
        waker: Option<Waker>,
        page_bytes: usize,
    ) -> Result<Responses, RunnerError> {
        let at = Cursor::from_request(cursor)?;
        self.snapshot(waker, |t| {
            let len = t.responses.len() as u64;
            if let Err(e) = at.check_within(len) {
                return (Err(e), false);
            }
            let mut bytes = 0;
            let page: Vec<Response> = t.responses[at.offset as usize..]
                .iter()
                .take_while(|r| {
                    let fits = bytes == 0 || bytes + r.encoded_len() <= page_bytes;
                    bytes += r.encoded_len();
                    fits
                })
                .cloned()
                .collect();
            let next = at.offset + page.len() as u64;
            let next_cursor = Cursor::encode(next, t.status.code());
            let eof = is_eof(t.status.code(), next, len);
            let nothing_new = page.is_empty() && next_cursor == cursor && !eof;
            let reply = Responses {
                job_status: Some(t.status.clone()),
                response: page,
                next_cursor,
                eof,
            };
            (Ok(reply), nothing_new)
        })
    }
}

/// Stops a [`StepProcess`], before or after it started: the whole process group, so
/// programs a step started (`TO RUN`) go too.
#[derive(Debug, Clone, Default)]
pub struct Killer(Arc<Mutex<KillState>>);

#[derive(Debug, Default)]
struct KillState {
    /// The step's process group, once it runs.
    pgid: Option<i32>,
    /// Why it was cancelled, once it was.
    reason: Option<String>,
}

impl Killer {
    fn state(&self) -> MutexGuard<'_, KillState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels the job: a process not started yet never starts and `out` ends
    /// `CANCELLED` with `reason` at once; a running one is SIGKILLed, and its transcript
    /// ends `CANCELLED` with `reason` when the process is gone. The first reason stands.
    pub fn cancel(&self, out: &Watched<Transcript>, reason: &str) -> io::Result<()> {
        let mut state = self.state();
        state.reason.get_or_insert_with(|| reason.to_string());
        match state.pgid {
            Some(pgid) => kill_group(pgid),
            None => {
                out.update(|t| t.finish(Code::Cancelled, reason));
                Ok(())
            }
        }
    }

    /// The reason given to [`cancel`](Self::cancel), if it was called.
    pub fn cancelled(&self) -> Option<String> {
        self.state().reason.clone()
    }
}

/// One `sqlflow-step run -` process, made before it starts (so a queued job can be
/// cancelled) and started by [`run_into`](Self::run_into).
pub struct StepProcess {
    binary: PathBuf,
    program: String,
    datasource: String,
    killer: Killer,
}

impl StepProcess {
    /// A process that will run `binary run -` for `program` on `datasource`.
    pub fn new(binary: &Path, program: &str, datasource: &str) -> StepProcess {
        StepProcess {
            binary: binary.to_path_buf(),
            program: program.to_string(),
            datasource: datasource.to_string(),
            killer: Killer::default(),
        }
    }

    /// What cancels this process.
    pub fn killer(&self) -> Killer {
        self.killer.clone()
    }

    /// Starts the process in a process group of its own (unless it was cancelled), marks
    /// the transcript `RUNNING`, feeds the program, appends every response to `out` as it
    /// arrives, and ends `out` with the final status: `SUCCEEDED`, `FAILED` with the
    /// engine's message (or the stderr tail of a step that died), or `CANCELLED` with the
    /// reason given to [`Killer::cancel`]. Run it on the runner's runtime.
    pub async fn run_into(self, out: &Watched<Transcript>) {
        let spawned = {
            let mut kill = self.killer.state();
            if kill.reason.is_some() {
                return;
            }
            let spawned = step_command(&self.binary)
                .args(["run", "-"])
                .env("SQLFLOW_DATASOURCE", &self.datasource)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .spawn();
            if let Ok(child) = &spawned {
                kill.pgid = child.id().and_then(|p| i32::try_from(p).ok());
                out.update(|t| t.start());
            }
            spawned
        };
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let message = format!("cannot start {}: {e}", self.binary.display());
                out.update(|t| t.finish(Code::Failed, message));
                return;
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            // A step that exits before reading (bad arguments) closes the pipe; its exit
            // status says why, so the write error adds nothing.
            let _ = stdin.write_all(self.program.as_bytes()).await;
        }
        let stderr = child.stderr.take();
        let tail = async move {
            let mut buf = Vec::new();
            if let Some(mut e) = stderr {
                let _ = e.read_to_end(&mut buf).await;
            }
            let start = buf.len().saturating_sub(STDERR_TAIL);
            String::from_utf8_lossy(&buf[start..]).trim().to_string()
        };
        let (failure, tail) = tokio::join!(read_records(child.stdout.take(), out), tail);
        let exit = child.wait().await;
        let (code, message) = match (self.killer.cancelled(), &exit, failure) {
            (Some(reason), _, _) => (Code::Cancelled, reason),
            (None, Ok(s), _) if s.success() => (Code::Succeeded, String::new()),
            (None, _, Some(failure)) => (Code::Failed, failure),
            (None, Ok(s), None) => (Code::Failed, format!("sqlflow-step ended with {s}: {tail}")),
            (None, Err(e), None) => (Code::Failed, format!("cannot wait for sqlflow-step: {e}")),
        };
        out.update(|t| t.finish(code, message));
    }
}

/// Appends each record line's response to the transcript; returns the failure message if
/// the program failed.
async fn read_records(
    stdout: Option<tokio::process::ChildStdout>,
    out: &Watched<Transcript>,
) -> Option<String> {
    let mut lines = BufReader::new(stdout?);
    let (mut line, mut statements, mut failure) = (Vec::new(), 0, None);
    while matches!(lines.read_until(b'\n', &mut line).await, Ok(n) if n > 0) {
        let response = match decode_line(&line) {
            Ok(Line::Record(r)) => match r.record {
                Some(record::Record::Response(r)) => Some(r),
                Some(record::Record::Start(s)) => {
                    statements = s.statement_count;
                    None
                }
                Some(record::Record::Failure(f)) => {
                    failure = Some(failure_message(&f, statements));
                    None
                }
                // Written only into a local job directory's output, never to stdout.
                Some(record::Record::End(_)) | None => None,
            },
            Ok(Line::Text(text)) => Some(text_response(text, message::Kind::Log)),
            Err(e) => Some(text_response(e.to_string(), message::Kind::Error)),
        };
        if let Some(r) = response {
            out.update(|t| t.responses.push(r));
        }
        line.clear();
    }
    failure
}

fn text_response(message: String, kind: message::Kind) -> Response {
    Response {
        response: Some(response::Response::Message(Message {
            message,
            kind: kind as i32,
        })),
    }
}
