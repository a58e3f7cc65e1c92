//! `sqlflow-step`: runs a SQL program (or one statement) and writes the record stream on
//! stdout. The local runner starts `sqlflow-step job <dir>` per job; an Argo workflow
//! step runs `sqlflow-step run --only-statement <i> <program file>` in its container.

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
    if matches!(jobdir::read_status(dir), Ok(Some(_))) {
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
    if let Ok(Some(status)) = jobdir::read_status(dir) {
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
