//! A job's process: starting `sqlflow-step` with a cleared environment, and killing its
//! process group.

use super::*;

/// Environment variables a job's process keeps from the server's. Everything else is
/// dropped, so the server's environment (RUST_BACKTRACE, RUST_LOG, credentials of its
/// own) cannot change how a job behaves or what it may read.
const STEP_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

impl Registry {
    pub(super) fn spawn_step(&self, dir: &Path) -> io::Result<tokio::process::Child> {
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
}

/// Sends SIGKILL to the job's process group if any of its processes is alive.
pub(super) fn kill_job(dir: &Path) -> io::Result<()> {
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
pub(super) fn kill_group(dir: &Path) -> io::Result<()> {
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
