//! Start-up: the `runners.local` table checked, the step binary found, the work
//! directory made, and the jobs a previous server left recovered.

use std::{fs, os::unix::fs::DirBuilderExt, path::PathBuf};

use sqlflow_plugin_api::{
    RunnerError,
    sdk::{self, PluginContext},
};

use crate::{config::Config, registry::Registry, runner::LocalRunner};

/// The runner from its `[runners.local]` table (JSON): what `export_runner!` calls when
/// the host loads the plugin.
pub fn create(config_json: &str, ctx: &PluginContext) -> Result<LocalRunner, RunnerError> {
    let cfg: Config = sdk::parse_config(config_json)?;
    cfg.validate()?;
    let step_binary = match &cfg.step_binary {
        Some(p) if !p.is_file() => {
            return Err(RunnerError::config(
                "step_binary",
                format!("{} does not exist or is not a file", p.display()),
            ));
        }
        Some(p) => p.clone(),
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
    let registry = Registry::new(cfg, work_dir, step_binary, ctx.runtime.clone());
    registry.recover();
    registry.spawn_housekeeping();
    Ok(LocalRunner::new(registry))
}

fn find_step_binary() -> Option<PathBuf> {
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
