//! Configuration: compiled-in defaults, then `sqlflow.toml`, then `SQLFLOW_*` environment
//! variables (`SQLFLOW_JOB_RUNNER=argo`, `SQLFLOW_RUNNERS__LOCAL__WORK_DIR=/var/jobs`).
//! Each runner's `[runners.<name>]` table is opaque here and handed to the plugin as JSON.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use sqlflow_plugin_api::RunnerError;

use crate::auth::AuthConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to serve gRPC on.
    pub listen: String,
    /// The runner plugin to load: `lib<job_runner>_runner.so` in `plugin_dir`.
    pub job_runner: String,
    /// Where runner plugins live. Default: the directory of the server executable.
    pub plugin_dir: Option<PathBuf>,
    /// The datasource of sessions that name none.
    pub datasource: String,
    /// Relative `sqlite://` paths are resolved against this directory.
    pub data_dir: PathBuf,
    /// Longest a single plugin call may take before its RPC fails.
    pub plugin_call_timeout_ms: u64,
    /// Cap on `FetchRequest.wait_ms` (long-poll).
    pub max_wait_ms: u32,
    /// Largest program `Run` accepts.
    pub max_program_bytes: usize,
    /// Log filter (tracing-subscriber syntax); `RUST_LOG` overrides it.
    pub log: String,
    /// The abandonment timeout T for jobs whose Run gives none: a job nobody fetches for
    /// this long is cancelled (0: never).
    pub default_timeout_seconds: u32,
    /// `host:port` for Prometheus metrics at `/metrics` (unset: no metrics endpoint).
    pub metrics_listen: Option<String>,
    /// How often the runner's health is checked for `grpc.health.v1`.
    pub health_check_interval_ms: u64,
    /// MySQL/PostgreSQL hosts (`host` or `host:port`) clients may use; empty: any.
    pub allowed_db_hosts: Vec<String>,
    pub auth: AuthConfig,
    /// Serve gRPC over TLS with this certificate chain and key (PEM).
    pub tls: Option<TlsConfig>,
    /// One table per runner, passed to that runner's plugin.
    pub runners: BTreeMap<String, figment::value::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:50051".into(),
            job_runner: "local".into(),
            plugin_dir: None,
            datasource: "sqlite://sqlflow.db".into(),
            data_dir: PathBuf::from("."),
            plugin_call_timeout_ms: 10_000,
            max_wait_ms: 10_000,
            max_program_bytes: 1 << 20,
            log: "info".into(),
            default_timeout_seconds: 300,
            metrics_listen: None,
            health_check_interval_ms: 5000,
            allowed_db_hosts: Vec::new(),
            auth: AuthConfig::default(),
            tls: None,
            runners: BTreeMap::new(),
        }
    }
}

/// Top-level keys, so unrelated `SQLFLOW_*` variables (the CLI's `SQLFLOW_SERVER`, say)
/// are not mistaken for server settings.
const KEYS: &[&str] = &[
    "listen",
    "job_runner",
    "plugin_dir",
    "datasource",
    "data_dir",
    "plugin_call_timeout_ms",
    "max_wait_ms",
    "max_program_bytes",
    "log",
    "default_timeout_seconds",
    "metrics_listen",
    "health_check_interval_ms",
    "allowed_db_hosts",
    "auth",
    "tls",
    "runners",
];

/// The layered configuration. A missing `file` contributes nothing.
pub fn figment(file: &Path) -> Figment {
    let mut f = Figment::from(Serialized::defaults(Config::default()));
    if file.exists() {
        f = f.merge(Toml::file_exact(file));
    }
    // The filter sees keys before they are lowercased.
    f.merge(Env::prefixed("SQLFLOW_").split("__").filter(|k| {
        let first = k.as_str().split('.').next().unwrap_or("");
        KEYS.iter().any(|key| first.eq_ignore_ascii_case(key))
    }))
}

/// A configuration error, rendered for a human with where each bad value came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

pub fn load(figment: &Figment) -> Result<Config, ConfigError> {
    figment
        .extract::<Config>()
        .map_err(|e| ConfigError(render_figment_error(e)))
}

fn render_figment_error(error: figment::Error) -> String {
    let mut out = String::from("invalid configuration:");
    for e in error {
        let _ = write!(out, "\n  - {}", e.kind);
        if !e.path.is_empty() {
            let _ = write!(out, " for key '{}'", e.path.join("."));
        }
        if let Some(md) = &e.metadata {
            let _ = write!(out, " (from {}", md.name);
            if let Some(src) = &md.source {
                let _ = write!(out, " {src}");
            }
            out.push(')');
        }
    }
    out
}

/// Where a key's value came from, for messages: "sqlflow.toml", "`SQLFLOW_` environment
/// variable(s)" or "default".
pub fn origin_of(figment: &Figment, key: &str) -> String {
    // Walk up the dotted path: a nested key inherits the source of its table.
    let mut k = key.to_string();
    loop {
        if let Some(md) = figment.find_metadata(&k) {
            return match &md.source {
                Some(src) => format!("{} {src}", md.name),
                None => md.name.to_string(),
            };
        }
        match k.rfind('.') {
            Some(i) => k.truncate(i),
            None => return "the defaults".into(),
        }
    }
}

/// A runner's refusal to start, for the operator. A configuration error names the full
/// key as written in sqlflow.toml (`runners.local.max_running_per_user`) and where its
/// value came from; the runner read its table as JSON, but no JSON position is shown,
/// since the operator never wrote any.
pub fn runner_error(cfg: &Config, figment: &Figment, e: &RunnerError) -> String {
    match e.config_path.as_ref().into_option() {
        Some(key) => {
            let full = format!("runners.{}.{key}", cfg.job_runner);
            format!(
                "invalid configuration: {full}: {} (from {})",
                e.message,
                origin_of(figment, &full)
            )
        }
        None => format!("runner '{}' failed to start: {}", cfg.job_runner, e.message),
    }
}

impl Config {
    /// The selected runner's table as JSON (`{}` if the file has none).
    pub fn runner_json(&self) -> Result<String, ConfigError> {
        match self.runners.get(&self.job_runner) {
            Some(v) => serde_json::to_string(v).map_err(|e| {
                ConfigError(format!(
                    "[runners.{}] cannot be passed to the plugin: {e}",
                    self.job_runner
                ))
            }),
            None => Ok("{}".into()),
        }
    }

    pub fn plugin_dir(&self) -> PathBuf {
        self.plugin_dir.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from("."))
        })
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn layers_defaults_file_and_env() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "sqlflow.toml",
                r#"
                listen = "0.0.0.0:6000"
                [runners.local]
                work_dir = "/tmp/x"
                fetch_page_bytes = 4096
                "#,
            )?;
            jail.set_env("SQLFLOW_JOB_RUNNER", "argo");
            jail.set_env("SQLFLOW_RUNNERS__ARGO__NAMESPACE", "ml");
            jail.set_env("SQLFLOW_SERVER", "ignored:1");
            let f = figment(Path::new("sqlflow.toml"));
            let cfg = load(&f).map_err(|e| e.0)?;
            assert_eq!(cfg.listen, "0.0.0.0:6000");
            assert_eq!(cfg.job_runner, "argo");
            assert_eq!(cfg.max_wait_ms, 10_000);
            assert_eq!(cfg.runner_json().map_err(|e| e.0)?, r#"{"namespace":"ml"}"#);
            assert!(origin_of(&f, "runners.local.work_dir").contains("sqlflow.toml"));
            assert!(origin_of(&f, "runners.argo.namespace").contains("SQLFLOW_"));
            Ok(())
        });
    }

    #[test]
    fn a_runner_config_error_names_the_toml_key_and_its_source() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "sqlflow.toml",
                "[runners.local]\nmax_running_per_user = \"x\"\n",
            )?;
            let f = figment(Path::new("sqlflow.toml"));
            let cfg = load(&f).map_err(|e| e.0)?;
            // What the local runner's parse_config returns for that table.
            let e = RunnerError::config(
                "max_running_per_user",
                r#"invalid type: string "x", expected usize"#,
            );
            let msg = runner_error(&cfg, &f, &e);
            assert!(
                msg.starts_with(
                    r#"invalid configuration: runners.local.max_running_per_user: invalid type: string "x", expected usize (from "#
                ),
                "{msg}"
            );
            assert!(msg.contains("sqlflow.toml"), "{msg}");
            assert_eq!(msg.lines().count(), 1, "{msg}");

            let e = RunnerError::unavailable("no cluster");
            assert_eq!(
                runner_error(&cfg, &f, &e),
                "runner 'local' failed to start: no cluster"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_types_name_key_and_source() {
        Jail::expect_with(|jail| {
            jail.create_file("sqlflow.toml", "job_runer = \"local\"\n")?;
            let err = load(&figment(Path::new("sqlflow.toml"))).unwrap_err().0;
            assert!(err.contains("job_runer"), "{err}");
            assert!(err.contains("sqlflow.toml"), "{err}");

            jail.create_file("sqlflow.toml", "")?;
            jail.set_env("SQLFLOW_MAX_WAIT_MS", "soon");
            let err = load(&figment(Path::new("sqlflow.toml"))).unwrap_err().0;
            assert!(err.contains("max_wait_ms"), "{err}");
            assert!(err.contains("SQLFLOW_"), "{err}");
            Ok(())
        });
    }
}
