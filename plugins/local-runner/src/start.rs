//! Start-up: the `runners.local` table checked, the step binary found, the work
//! directory made, the archive of finished jobs opened, and the jobs a previous server
//! left recovered.

use std::{fs, os::unix::fs::DirBuilderExt};

use sqlflow_plugin_api::{
    RunnerError,
    sdk::{self, PluginContext},
};

use crate::{archive::Archive, config::Config, registry::Registry, runner::LocalRunner};

/// The runner from its `[runners.local]` table (JSON): what `export_runner!` calls when
/// the host loads the plugin.
pub fn create(config_json: &str, ctx: &PluginContext) -> Result<LocalRunner, RunnerError> {
    let cfg: Config = sdk::parse_config(config_json)?;
    cfg.validate()?;
    let step_binary = sdk::step::find_step_binary(cfg.step_binary.as_deref())?;
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
    let quarantine = work_dir.join(crate::registry::QUARANTINE);
    let (archive, lost) = Archive::open(&work_dir, &quarantine, cfg.sync_writes).map_err(|e| {
        RunnerError::config(
            "work_dir",
            format!(
                "cannot open the finished-jobs archive in {}: {e}",
                work_dir.display()
            ),
        )
    })?;
    if let Some(lost) = lost {
        tracing::error!("{lost}");
    }
    let registry = Registry::new(cfg, work_dir, step_binary, ctx.runtime.clone(), archive);
    registry.recover();
    registry.spawn_housekeeping();
    Ok(LocalRunner::new(registry))
}
