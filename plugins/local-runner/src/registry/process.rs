//! A job's process: starting `sqlflow-step` with a cleared environment (forked by the
//! zygote, or by exec), and killing its process group.

use sqlflow_plugin_api::sdk::step::{self, step_command};

use super::*;
use crate::zygote::Supervisor;

impl Registry {
    /// Starts the job's step process: forked by the zygote when it can, else by exec.
    pub(super) async fn start_step(&self, dir: &Path) -> io::Result<Supervisor> {
        if let Some(forked) = self.zygotes.fork(dir).await {
            return Ok(forked);
        }
        self.spawn_step(dir).map(Supervisor::Child)
    }

    fn spawn_step(&self, dir: &Path) -> io::Result<tokio::process::Child> {
        let append = |name: &str| append(dir, name);
        // The environment cleared to the SDK's few variables, and never killed when the
        // handle drops: the job must outlive the server.
        let mut cmd = step_command(&self.step_binary);
        cmd.arg("job")
            .arg(dir)
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(append(jobdir::OUTPUT)?)
            .stderr(append(jobdir::STDERR)?)
            .spawn()
    }
}

fn append(dir: &Path, name: &str) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join(name))
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
    step::kill_group(identity.pgid)
}
