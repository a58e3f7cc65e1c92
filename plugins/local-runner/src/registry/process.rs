//! A job's process: starting `sqlflow-step` with a cleared environment, and killing its
//! process group.

use sqlflow_plugin_api::sdk::step::{self, step_command};

use super::*;

impl Registry {
    pub(super) fn spawn_step(&self, dir: &Path) -> io::Result<tokio::process::Child> {
        let append = |name: &str| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(dir.join(name))
        };
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
