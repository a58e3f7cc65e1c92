//! The runner's side of `sqlflow-step zygote`: one long-lived step process that forks
//! each job, because an exec (and the dynamic loader behind it) costs more CPU than a
//! trivial job. Anything unexpected (a step binary without the mode, a zygote that died
//! or stopped answering) makes [`Zygotes::fork`] return `None`, and the caller starts the
//! job the old way; a dead zygote is replaced on a later fork.
//!
//! The protocol (lines both ways) is described in `engine/src/bin/sqlflow-step.rs`.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    os::unix::{ffi::OsStrExt, fs::MetadataExt, process::ExitStatusExt},
    path::{Path, PathBuf},
    process::{ChildStdin, ExitStatus, Stdio},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sqlflow_plugin_api::sdk::step::step_command;
use tokio::sync::oneshot;

/// The zygote's first line: anything else means the binary does not have the mode.
const HELLO: &[u8] = b"sqlflow-step zygote 1";
/// A zygote that has not answered by then is stopped (and the job started by exec).
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a binary found without the mode is not asked again (it may be upgraded).
const RETRY_UNSUPPORTED: Duration = Duration::from_secs(60);
/// Set to `0` or `off` in the server's environment to start every job by exec.
pub const DISABLE_ENV: &str = "SQLFLOW_STEP_ZYGOTE";

/// A job's step process (its supervisor), as the runner started it.
pub enum Supervisor {
    /// Started by exec: our child.
    Child(tokio::process::Child),
    /// Forked by the zygote: the zygote's child, whose end the zygote reports.
    Forked {
        pid: i32,
        exit: oneshot::Receiver<ExitStatus>,
    },
}

impl Supervisor {
    /// How the supervisor ended; `None` if that cannot be known (the zygote died first:
    /// the job itself lives on, and the watcher follows it by its lock).
    pub async fn wait(&mut self) -> Option<ExitStatus> {
        match self {
            Supervisor::Child(child) => child.wait().await.ok(),
            Supervisor::Forked { exit, .. } => exit.await.ok(),
        }
    }

    pub fn pid(&self) -> Option<i32> {
        match self {
            Supervisor::Child(child) => child.id().and_then(|p| i32::try_from(p).ok()),
            Supervisor::Forked { pid, .. } => Some(*pid),
        }
    }
}

type Forked = Result<(i32, oneshot::Receiver<ExitStatus>), String>;

pub struct Zygotes {
    binary: PathBuf,
    enabled: bool,
    slot: Mutex<Slot>,
}

enum Slot {
    Idle,
    Up(Zygote),
    /// Since when, for which binary.
    Unsupported(Instant, BinaryId),
}

#[derive(Clone)]
struct Zygote {
    pid: u32,
    /// The binary it was started from.
    binary: BinaryId,
    stdin: Arc<Mutex<ChildStdin>>,
    shared: Arc<Mutex<Shared>>,
    next_id: Arc<AtomicU64>,
}

#[derive(Default)]
struct Shared {
    life: Life,
    /// Requests sent, by id, waiting for their reply.
    pending: HashMap<u64, oneshot::Sender<Forked>>,
    /// Forked supervisors, by pid, waiting for their end.
    exits: HashMap<i32, oneshot::Sender<ExitStatus>>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Life {
    #[default]
    Starting,
    Ready,
    Unsupported,
    Dead,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Zygotes {
    pub fn new(binary: PathBuf) -> Self {
        let enabled = !matches!(
            std::env::var(DISABLE_ENV).as_deref(),
            Ok("0" | "off" | "false" | "no")
        );
        Zygotes {
            binary,
            enabled,
            slot: Mutex::new(Slot::Idle),
        }
    }

    /// Forks `sqlflow-step job <dir>` in the zygote (started if need be); `None` if the
    /// zygote cannot, and the caller should start the job by exec.
    pub async fn fork(&self, dir: &Path) -> Option<Supervisor> {
        let path = dir.as_os_str().as_bytes();
        if !self.enabled || !dir.is_absolute() || path.contains(&b'\n') {
            return None;
        }
        let z = self.get()?;
        let id = z.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut shared = lock(&z.shared);
            if matches!(shared.life, Life::Unsupported | Life::Dead) {
                return None;
            }
            shared.pending.insert(id, tx);
        }
        let mut line = format!("{id} ").into_bytes();
        line.extend_from_slice(path);
        line.push(b'\n');
        // A few dozen bytes into a pipe the zygote drains: this does not block for long.
        if let Err(e) = lock(&z.stdin).write_all(&line) {
            tracing::debug!("cannot write to the step zygote: {e}");
            lock(&z.shared).pending.remove(&id);
            return None;
        }
        match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
            Ok(Ok(Ok((pid, exit)))) => Some(Supervisor::Forked { pid, exit }),
            Ok(Ok(Err(reason))) => {
                tracing::warn!(dir = %dir.display(), "the step zygote cannot fork the job: {reason}");
                None
            }
            // The zygote ended (or never was one): the reader has said why.
            Ok(Err(_)) => None,
            Err(_) => {
                tracing::warn!(
                    "the step zygote (pid {}) did not answer within {REPLY_TIMEOUT:?}; stopping it",
                    z.pid
                );
                lock(&z.shared).pending.remove(&id);
                if let Ok(pid) = i32::try_from(z.pid) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                None
            }
        }
    }

    /// The live zygote, started if there is none (or the last one died).
    fn get(&self) -> Option<Zygote> {
        let mut slot = lock(&self.slot);
        // A replaced or rebuilt binary gets a new zygote, as an exec would have run it.
        let binary = binary_id(&self.binary);
        let life = match &*slot {
            Slot::Up(z) => Some(lock(&z.shared).life),
            _ => None,
        };
        match (&*slot, life) {
            (Slot::Up(z), Some(Life::Starting | Life::Ready)) if z.binary == binary => {
                return Some(z.clone());
            }
            (Slot::Up(z), Some(Life::Unsupported)) => {
                *slot = Slot::Unsupported(Instant::now(), z.binary);
                return None;
            }
            (Slot::Up(_), _) => {}
            (Slot::Unsupported(since, was), _)
                if *was == binary && since.elapsed() < RETRY_UNSUPPORTED =>
            {
                return None;
            }
            (Slot::Unsupported(..) | Slot::Idle, _) => {}
        }
        match Zygote::start(&self.binary, binary) {
            Ok(z) => {
                tracing::info!(pid = z.pid, "started the step zygote");
                *slot = Slot::Up(z.clone());
                Some(z)
            }
            Err(e) => {
                tracing::warn!(
                    "cannot start the step zygote {}: {e}; starting jobs by exec",
                    self.binary.display()
                );
                *slot = Slot::Unsupported(Instant::now(), binary);
                None
            }
        }
    }
}

/// Identifies the step binary's file and version cheaply (one stat per job).
type BinaryId = Option<(u64, u64, i64, i64)>;

fn binary_id(path: &Path) -> BinaryId {
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.mtime(), m.mtime_nsec()))
}

impl Zygote {
    /// Starts the zygote from a thread of its own that then reads its replies: the
    /// zygote dies with the thread that started it (PR_SET_PDEATHSIG is per thread), and
    /// this one lives exactly as long as the zygote.
    fn start(binary: &Path, id: BinaryId) -> std::io::Result<Zygote> {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let mut cmd = step_command(binary);
        cmd.as_std_mut()
            .arg("zygote")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut cmd = std::mem::replace(cmd.as_std_mut(), std::process::Command::new(binary));
        let reader_shared = shared.clone();
        std::thread::Builder::new()
            .name("step-zygote".into())
            .spawn(move || {
                let mut child = match cmd.spawn() {
                    Ok(child) => child,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = started_tx.send(Err(std::io::Error::other("no pipes to the zygote")));
                    return;
                };
                let _ = started_tx.send(Ok((child.id(), stdin)));
                read_replies(stdout, &reader_shared, &mut child);
                // Reaped here, so no zombie is left; its jobs are not its children's
                // concern: they have their own sessions and survive it.
                let _ = child.wait();
            })?;
        let (pid, stdin) = started_rx
            .recv()
            .map_err(|_| std::io::Error::other("the zygote's thread ended early"))??;
        Ok(Zygote {
            pid,
            binary: id,
            stdin: Arc::new(Mutex::new(stdin)),
            shared,
            next_id: Arc::new(AtomicU64::new(1)),
        })
    }
}

fn read_replies(
    stdout: std::process::ChildStdout,
    shared: &Mutex<Shared>,
    child: &mut std::process::Child,
) {
    let mut lines = BufReader::new(stdout).split(b'\n');
    match lines.next() {
        Some(Ok(first)) if first == HELLO => lock(shared).life = Life::Ready,
        _ => {
            // Not a zygote (a script, an older step binary): whatever it prints is not
            // for us, and the pipe is closed so it cannot block on it.
            tracing::info!("the step binary has no zygote mode; starting jobs by exec");
            let _ = child.kill();
            drop(lines);
            end(shared, Life::Unsupported);
            return;
        }
    }
    for line in lines {
        let Ok(line) = line else { break };
        reply(shared, &line);
    }
    tracing::warn!(
        pid = child.id(),
        "the step zygote ended; the next job starts a new one"
    );
    end(shared, Life::Dead);
}

/// Fails every request still waiting (their jobs start by exec) and every forked
/// supervisor's wait (their watchers follow them by their locks).
fn end(shared: &Mutex<Shared>, life: Life) {
    let mut s = lock(shared);
    s.life = life;
    s.pending.clear();
    s.exits.clear();
}

fn reply(shared: &Mutex<Shared>, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.splitn(3, ' ');
    let (kind, a, b) = (parts.next(), parts.next(), parts.next());
    let mut s = lock(shared);
    match (kind, a.and_then(|a| a.parse::<i64>().ok()), b) {
        (Some("S"), Some(id), Some(pid)) => {
            let (Ok(id), Ok(pid)) = (u64::try_from(id), pid.parse::<i32>()) else {
                return;
            };
            let (exit_tx, exit_rx) = oneshot::channel();
            // Before the fork's own reply is delivered: the end is reported after it.
            s.exits.insert(pid, exit_tx);
            if let Some(waiting) = s.pending.remove(&id) {
                let _ = waiting.send(Ok((pid, exit_rx)));
            }
        }
        (Some("E"), Some(id), reason) => {
            if let Some(waiting) = u64::try_from(id).ok().and_then(|id| s.pending.remove(&id)) {
                let _ = waiting.send(Err(reason.unwrap_or_default().to_string()));
            }
        }
        (Some("X"), Some(pid), Some(raw)) => {
            let (Ok(pid), Ok(raw)) = (i32::try_from(pid), raw.parse::<i32>()) else {
                return;
            };
            if let Some(waiting) = s.exits.remove(&pid) {
                let _ = waiting.send(ExitStatus::from_raw(raw));
            }
        }
        _ => tracing::debug!("unexpected line from the step zygote: {text}"),
    }
}
