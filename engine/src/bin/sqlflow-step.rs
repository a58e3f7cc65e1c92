//! `sqlflow-step`: runs a SQL program (or one statement) and writes the record stream on
//! stdout. The local runner starts `sqlflow-step job <dir>` per job; an Argo workflow
//! step runs `sqlflow-step run --only-statement <i> <program file>` in its container.
//! The local runner may instead keep one `sqlflow-step zygote` that forks each job, since
//! an exec costs more CPU than a trivial job.

use std::{
    fs,
    io::{self, Read},
    os::fd::AsFd,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use clap::{ArgGroup, Args, CommandFactory, Parser, Subcommand, error::ErrorKind};
use nix::{
    sys::{
        signal::Signal,
        wait::{WaitStatus, waitpid},
    },
    unistd::{ForkResult, Pid, fork, setsid},
};
use sqlflow_engine::{FailureKind, output::RecordWriter, run_one_statement, run_program};
use sqlflow_jobdir::{self as jobdir, FinalCode, FinalStatus, Limits, ProcessIdentity, StepInput};

/// Runs a SQL program (or one statement of it) and writes the record stream on stdout.
#[derive(Parser)]
#[command(name = "sqlflow-step", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Run a program, records on stdout; with --only-statement, just one of its
    /// statements (as one Argo step does), reported under its place in the program.
    Run(RunArgs),
    /// Run the job in a local runner's job directory.
    Job {
        /// The job directory (holds job.json).
        dir: PathBuf,
    },
    /// Fork jobs on request (the local runner's, on stdin/stdout): see `zygote`.
    #[command(hide = true)]
    Zygote,
}

#[derive(Args)]
#[command(group = ArgGroup::new("program").required(true))]
struct RunArgs {
    /// The datasource: sqlite://path, mysql://user:pass@host:port/db, postgres://...
    #[arg(
        long,
        value_name = "DS",
        env = "SQLFLOW_DATASOURCE",
        hide_env_values = true
    )]
    datasource: Option<String>,
    /// Run only this statement of the program (0-based).
    #[arg(long, value_name = "I")]
    only_statement: Option<usize>,
    /// The SQL program.
    #[arg(
        short = 'e',
        value_name = "SQL",
        group = "program",
        allow_hyphen_values = true
    )]
    execute: Option<String>,
    /// A file holding the program ('-' for stdin).
    #[arg(value_name = "FILE", group = "program")]
    file: Option<PathBuf>,
}

fn main() -> ExitCode {
    match Cli::parse().mode {
        Mode::Job { dir } => job(&dir),
        Mode::Zygote => zygote::serve(),
        Mode::Run(args) => {
            let Some(datasource) = args.datasource else {
                Cli::command()
                    .error(
                        ErrorKind::MissingRequiredArgument,
                        "no datasource: pass --datasource or set SQLFLOW_DATASOURCE",
                    )
                    .exit()
            };
            match read_program(args.execute, args.file) {
                Ok(program) => run(&datasource, &program, args.only_statement),
                Err(e) => {
                    eprintln!("sqlflow-step: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// The program from `-e`, a file, or stdin (`-`).
fn read_program(execute: Option<String>, file: Option<PathBuf>) -> Result<String, String> {
    match (execute, file) {
        (Some(sql), _) => Ok(sql),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read the program from stdin: {e}"))?;
            Ok(s)
        }
        (None, Some(f)) => {
            fs::read_to_string(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))
        }
        // clap requires one of them.
        (None, None) => Err("no program: pass -e SQL, a file, or - for stdin".into()),
    }
}

/// Writes through fd 1 directly: std's stdout is line-buffered, our writer batches lines.
fn stdout_file() -> io::Result<fs::File> {
    Ok(fs::File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

fn run(datasource: &str, program: &str, only: Option<usize>) -> ExitCode {
    let out = match stdout_file() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sqlflow-step: cannot write to stdout: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut w = RecordWriter::new(out);
    let result = match only {
        Some(i) => run_one_statement(program, datasource, &mut w, i),
        None => run_program(program, datasource, &mut w),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("sqlflow-step: {f}");
            ExitCode::FAILURE
        }
    }
}

/// Job mode. The process leaves the server's session and process group (so a signal to
/// the server's terminal does not reach it and a server crash leaves it running), then
/// forks: the child does the work, the parent stays as a small supervisor that writes
/// the final status if the child dies without writing one (killed by a signal, say).
#[allow(unsafe_code)] // the fork below, the one unsafe block in the workspace
fn job(dir: &Path) -> ExitCode {
    // Fails only if we already lead a group, which is fine too.
    let _ = setsid();
    // Read before anything is recorded, since it says whether records are fsynced; an
    // unreadable one fails the job below, once the lock is held.
    let input: io::Result<StepInput> = jobdir::read_json(dir, jobdir::JOB);
    SYNC_WRITES.store(
        input.as_ref().map_or(true, |i| i.session.sync_writes),
        Ordering::Relaxed,
    );
    // The lock is the job's liveness signal and makes a second start of the same job
    // (after a server crash mid-spawn) a no-op. The forked worker shares it.
    let _lock = match jobdir::hold_lock(dir) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            eprintln!("sqlflow-step: job {} is already running", dir.display());
            return ExitCode::from(3);
        }
        Err(e) => {
            finalize(
                dir,
                FinalCode::Failed,
                format!("cannot lock the job directory: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    // A job cancelled before it started, or one that already ended, does not run.
    if matches!(jobdir::final_status(dir), Ok(Some(_))) {
        return ExitCode::SUCCESS;
    }
    if let Some(reason) = jobdir::read_cancel(dir) {
        finalize(dir, FinalCode::Cancelled, reason);
        return exit_for(FinalCode::Cancelled);
    }
    let input = match input {
        Ok(input) => input,
        Err(e) => {
            finalize(
                dir,
                FinalCode::Failed,
                format!("cannot read the job's program and session: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    // Before any output: a job that fills the disk must still be able to say so.
    if let Err(e) = jobdir::reserve_status(dir) {
        eprintln!("sqlflow-step: cannot set space aside for the final status: {e}");
    }
    let me = std::process::id() as i32;
    let identity = ProcessIdentity {
        pid: me,
        pgid: nix::unistd::getpgrp().as_raw(),
        start_ticks: jobdir::own_start_ticks(),
    };
    if let Ok(json) = serde_json::to_vec(&identity) {
        // Not atomic (one inode fewer); readers retry a file they cannot parse yet.
        let _ = fs::write(dir.join(jobdir::PROCESS), json);
    }
    let limits = input.session.limits;
    // SAFETY: nothing has started a thread yet, so the child's only thread is a copy of
    // this one and no lock can be held by a thread that does not exist in the child.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let code = worker(dir, input);
            std::process::exit(code)
        }
        Ok(ForkResult::Parent { child }) => supervise(dir, child, limits),
        Err(e) => {
            finalize(
                dir,
                FinalCode::Failed,
                format!("cannot start the job: fork failed: {e}"),
            );
            ExitCode::FAILURE
        }
    }
}

/// The job's `sync_writes`, set once by `job()` before the fork, so the worker's and
/// the supervisor's final writes (and those of early failures) all follow it.
static SYNC_WRITES: AtomicBool = AtomicBool::new(true);

const MIB: u64 = 1 << 20;

/// Applies the memory and CPU limits to this (the worker) process.
fn apply_limits(limits: &Limits) -> Result<(), String> {
    use nix::sys::resource::{Resource, setrlimit};
    if limits.memory_mb > 0 {
        let bytes = limits.memory_mb.saturating_mul(MIB);
        setrlimit(Resource::RLIMIT_AS, bytes, bytes)
            .map_err(|e| format!("cannot apply limits.memory_mb: {e}"))?;
    }
    if limits.cpu_seconds > 0 {
        // SIGXCPU at the soft limit, SIGKILL a little later if it is ignored.
        setrlimit(
            Resource::RLIMIT_CPU,
            limits.cpu_seconds,
            limits.cpu_seconds.saturating_add(5),
        )
        .map_err(|e| format!("cannot apply limits.cpu_seconds: {e}"))?;
    }
    Ok(())
}

fn worker(dir: &Path, input: StepInput) -> i32 {
    let limits = input.session.limits;
    sqlflow_engine::run::configure(sqlflow_engine::run::RunConfig {
        programs: input.session.run_programs.clone(),
        time_limit: (limits.wall_seconds > 0).then(|| Duration::from_secs(limits.wall_seconds)),
    });
    let result = (|| -> Result<(), String> {
        apply_limits(&limits)?;
        let out = stdout_file().map_err(|e| format!("cannot open the job's output: {e}"))?;
        let mut w = RecordWriter::with_limit(out, limits.output_mb.saturating_mul(MIB))
            .max_record_bytes(usize::try_from(limits.max_record_bytes()).unwrap_or(usize::MAX));
        run_program(&input.program, &input.session.db_conn_str, &mut w).map_err(|f| {
            let mut msg = f.to_string();
            match f.kind() {
                FailureKind::OutputLimit => {
                    msg.push_str(&format!(" (limits.output_mb = {})", limits.output_mb));
                }
                FailureKind::RecordTooLarge => msg.push_str(&format!(
                    " (limits.record_kb = {})",
                    limits.max_record_bytes() / 1024
                )),
                FailureKind::OutOfMemory if limits.memory_mb > 0 => msg.push_str(&format!(
                    " (the job exceeded its memory limit: limits.memory_mb = {})",
                    limits.memory_mb
                )),
                FailureKind::NoSpace => {
                    msg.push_str(" (no space left on device: the disk of the job's output or database is full)");
                }
                _ => {}
            }
            msg
        })
    })();
    let (code, message) = match result {
        Ok(()) => (FinalCode::Succeeded, String::new()),
        Err(failure) => (FinalCode::Failed, failure),
    };
    finalize(dir, code, message);
    i32::from(code != FinalCode::Succeeded)
}

fn supervise(dir: &Path, child: Pid, limits: Limits) -> ExitCode {
    // The wall-clock limit is enforced here, so it holds while the server is down too.
    let timed_out = Arc::new(AtomicBool::new(false));
    if limits.wall_seconds > 0 {
        let flag = timed_out.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(limits.wall_seconds));
            flag.store(true, Ordering::SeqCst);
            let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
        });
    }
    let how = loop {
        match waitpid(child, None) {
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => break status,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                finalize(
                    dir,
                    FinalCode::Failed,
                    format!("lost track of the job's process: {e}"),
                );
                return ExitCode::FAILURE;
            }
        }
    };
    if let Ok(Some(status)) = jobdir::final_status(dir) {
        return exit_for(status.code);
    }
    if let Some(reason) = jobdir::read_cancel(dir) {
        finalize(dir, FinalCode::Cancelled, reason);
        return exit_for(FinalCode::Cancelled);
    }
    let stderr = jobdir::stderr_tail(dir);
    // The allocator's message comes before anything else the dying process prints (a
    // backtrace with RUST_BACKTRACE set runs to many KiB), so look further back for it.
    let allocation_failed =
        jobdir::stderr_tail_bytes(dir, ALLOCATION_MESSAGE_WINDOW).contains("memory allocation");
    let mut message = match how {
        _ if timed_out.load(Ordering::SeqCst) => format!(
            "the job exceeded its wall-clock limit and was stopped (limits.wall_seconds = {})",
            limits.wall_seconds
        ),
        WaitStatus::Signaled(_, Signal::SIGXCPU, _) if limits.cpu_seconds > 0 => format!(
            "the job exceeded its CPU time limit and was stopped (limits.cpu_seconds = {})",
            limits.cpu_seconds
        ),
        WaitStatus::Signaled(_, Signal::SIGABRT | Signal::SIGKILL, _)
            if limits.memory_mb > 0 && allocation_failed =>
        {
            format!(
                "the job exceeded its memory limit and was stopped (limits.memory_mb = {})",
                limits.memory_mb
            )
        }
        WaitStatus::Signaled(_, sig, _) => died_by_signal(sig),
        WaitStatus::Exited(_, code) => {
            format!("the job's process exited with code {code} before reporting a result")
        }
        _ => "the job's process ended without reporting a result".to_string(),
    };
    if !stderr.is_empty() {
        message.push_str("; its last output on stderr:\n");
        message.push_str(&stderr);
    }
    finalize(dir, FinalCode::Failed, message);
    ExitCode::FAILURE
}

/// How much of the end of stderr may follow an allocation failure's message.
const ALLOCATION_MESSAGE_WINDOW: u64 = 256 * 1024;

fn died_by_signal(sig: Signal) -> String {
    let hint = match sig {
        Signal::SIGKILL => " (killed by someone, or by the kernel when memory ran out)",
        Signal::SIGXCPU => " (its CPU time limit was reached)",
        Signal::SIGSEGV | Signal::SIGBUS => " (a crash)",
        Signal::SIGABRT => " (it aborted, for example when an allocation failed)",
        _ => "",
    };
    format!(
        "the job's process died: killed by signal {} ({}){hint}",
        sig as i32,
        sig.as_str()
    )
}

fn exit_for(code: FinalCode) -> ExitCode {
    if code == FinalCode::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Attempts at recording the final status. Between them the step waits 50 ms, then
/// four times longer each time (about a second in all), for a transient error to pass;
/// after the last, the runner records what it can and keeps retrying.
const FINALIZE_ATTEMPTS: u32 = 4;

fn finalize(dir: &Path, code: FinalCode, message: String) {
    let status = FinalStatus {
        code,
        message,
        finished_at_ms: jobdir::now_ms(),
    };
    let sync = SYNC_WRITES.load(Ordering::Relaxed);
    let mut pause = Duration::from_millis(50);
    for attempt in 1..=FINALIZE_ATTEMPTS {
        match jobdir::finalize(dir, &status, sync) {
            Ok(_) => return,
            Err(e) => {
                eprintln!(
                    "sqlflow-step: cannot record the final status in {} \
                     (attempt {attempt} of {FINALIZE_ATTEMPTS}): {e}",
                    dir.display()
                );
                if attempt < FINALIZE_ATTEMPTS {
                    std::thread::sleep(pause);
                    pause *= 4;
                }
            }
        }
    }
}

/// Zygote mode: the local runner starts one and asks it to fork each job, because on a
/// small VM the exec and dynamic loading of a new step cost more CPU than a trivial job.
///
/// Protocol, one line each way (stdin from the runner, stdout to it):
/// - the zygote first writes `sqlflow-step zygote 1`, so a binary that does not know
///   this mode is recognised by its first line (or its exit);
/// - request `<id> <absolute job dir>`; reply `S <id> <pid>`, or `E <id> <reason>` when
///   the job could not be forked (the runner then starts it the old way);
/// - `X <pid> <wait status>` when a forked job's supervisor is reaped, with the status
///   encoded as waitpid(2) reports it, so the runner can name a killing signal.
///
/// It stays single-threaded: each child runs `job()`, which forks again and relies on
/// no thread ever having been started in its process.
mod zygote {
    use std::{
        ffi::OsStr,
        fs,
        io::{self, Read, Write},
        os::{
            fd::AsFd,
            unix::{ffi::OsStrExt, fs::OpenOptionsExt},
        },
        path::Path,
        process::ExitCode,
    };

    use nix::{
        errno::Errno,
        poll::{PollFd, PollFlags, PollTimeout, poll},
        sys::{
            signal::{SigSet, SigmaskHow, Signal, sigprocmask},
            signalfd::{SfdFlags, SignalFd},
            wait::{WaitPidFlag, WaitStatus, waitpid},
        },
        unistd::{ForkResult, dup2_stderr, dup2_stdin, dup2_stdout, fork},
    };

    pub const HELLO: &str = "sqlflow-step zygote 1";

    pub fn serve() -> ExitCode {
        match serve_inner() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sqlflow-step zygote: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn serve_inner() -> io::Result<()> {
        // The runner's death must end the zygote (its jobs are not affected: the
        // setting is not inherited by forked children). If the runner is already gone,
        // stdin is at its end and the loop below returns.
        nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
        let mut chld = SigSet::empty();
        chld.add(Signal::SIGCHLD);
        // Blocked, so it is only ever seen through the signalfd, never as an interruption.
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&chld), None)?;
        let sfd = SignalFd::with_flags(&chld, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        // Raw descriptors: std's stdin buffers, which would hide input from poll.
        let mut input = fs::File::from(io::stdin().as_fd().try_clone_to_owned()?);
        let mut out = fs::File::from(io::stdout().as_fd().try_clone_to_owned()?);
        writeln!(out, "{HELLO}")?;
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let (request_ready, child_ready) = {
                let mut fds = [
                    PollFd::new(input.as_fd(), PollFlags::POLLIN),
                    PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) => {}
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(e.into()),
                }
                let ready = |fd: &PollFd<'_>| fd.any().unwrap_or(true);
                (ready(&fds[0]), ready(&fds[1]))
            };
            if child_ready {
                // Signals coalesce: drain them, then reap every child that has ended.
                while let Ok(Some(_)) = sfd.read_signal() {}
                reap(&mut out)?;
            }
            if request_ready {
                let n = match input.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if n == 0 {
                    // The runner closed its end: nothing more will be asked.
                    return Ok(());
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let reply = handle(&line[..end], &chld);
                    out.write_all(reply.as_bytes())?;
                }
            }
        }
    }

    /// Reports every child that has ended since the last call.
    fn reap(out: &mut fs::File) -> io::Result<()> {
        loop {
            let (pid, raw) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, (code & 0xff) << 8),
                Ok(WaitStatus::Signaled(pid, sig, core)) => {
                    (pid, sig as i32 | if core { 0x80 } else { 0 })
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(()),
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            writeln!(out, "X {pid} {raw}")?;
        }
    }

    /// One request: forks the job and says how that went.
    #[allow(unsafe_code)] // the fork below
    fn handle(line: &[u8], chld: &SigSet) -> String {
        let (id, dir) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], Path::new(OsStr::from_bytes(&line[i + 1..]))),
            None => return "E 0 malformed request\n".to_string(),
        };
        let id = String::from_utf8_lossy(id);
        if !dir.is_absolute() {
            return format!("E {id} the job directory must be an absolute path\n");
        }
        // Opened here, so a failure is reported to the runner instead of being lost.
        let append = |name: &str| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(dir.join(name))
        };
        let files = (|| -> io::Result<_> {
            Ok((
                fs::File::open("/dev/null")?,
                append(sqlflow_jobdir::OUTPUT)?,
                append(sqlflow_jobdir::STDERR)?,
            ))
        })();
        let (null, output, stderr) = match files {
            Ok(f) => f,
            Err(e) => return format!("E {id} {}\n", one_line(&e.to_string())),
        };
        // SAFETY: this process never starts a thread, so the child is a complete copy.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                // What an exec would have reset: the signal mask (inherited by the
                // programs a job runs), and descriptors the job must not hold (the
                // zygote's pipes: the runner would never see them close).
                let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(chld), None);
                let redirected = dup2_stdin(&null)
                    .and_then(|()| dup2_stdout(&output))
                    .and_then(|()| dup2_stderr(&stderr));
                drop((null, output, stderr));
                if let Err(e) = redirected {
                    std::process::exit(exit_number(super::failed_to_start(dir, &e.to_string())));
                }
                close_other_fds();
                if let Err(e) = std::env::set_current_dir(dir) {
                    eprintln!("sqlflow-step: cannot enter {}: {e}", dir.display());
                }
                std::process::exit(exit_number(super::job(dir)))
            }
            Ok(ForkResult::Parent { child }) => format!("S {id} {child}\n"),
            Err(e) => format!("E {id} fork failed: {e}\n"),
        }
    }

    /// Closes every descriptor above stderr (the zygote's pipes and signalfd): an exec'd
    /// step would not have inherited them.
    fn close_other_fds() {
        let fds: Vec<i32> = match fs::read_dir("/proc/self/fd") {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|&fd| fd > 2)
                .collect(),
            Err(_) => return,
        };
        for fd in fds {
            let _ = nix::unistd::close(fd);
        }
    }

    fn one_line(s: &str) -> String {
        s.replace('\n', " ")
    }

    fn exit_number(code: ExitCode) -> i32 {
        if code == ExitCode::SUCCESS {
            0
        } else if code == ExitCode::from(3) {
            3
        } else {
            1
        }
    }
}

/// A forked job whose standard descriptors could not be set up: fail it with the reason.
fn failed_to_start(dir: &Path, why: &str) -> ExitCode {
    finalize(
        dir,
        FinalCode::Failed,
        format!("cannot start the job: cannot redirect its output: {why}"),
    );
    ExitCode::FAILURE
}
