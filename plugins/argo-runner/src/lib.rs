//! The `argo` job runner: each SQL program becomes an Argo Workflow on Kubernetes, one
//! step per statement, each step running `sqlflow-step` for its statement. The cluster
//! holds every job's state (job id = Workflow name), so any number of server replicas
//! can serve the same clients.
//!
//! - [`config`]: the `runners.argo` table;
//! - [`codegen`]: program → Workflow + Secret (also used by `sqlflow-argo-dryrun`);
//! - [`cursor`]: the Fetch cursor (step, position in its log, state seen);
//! - [`status`]: what a Workflow says, mapped to the protocol's status codes;
//! - [`logs`]: a step's pod log → responses, through the shared record stream codec;
//! - [`lease`]: the abandonment lease kept on the Workflow;
//! - [`cache`]: the watch on this runner's Workflows, served to Fetch from memory;
//! - [`kubeapi`]: the API calls made, their time limits and error codes;
//! - [`runner`]: Run, Fetch, Cancel, ListJobs;
//! - `background`: long-poll wake-ups, the reaper, the sweeper of orphaned Secrets;
//! - `text`: client input clipped for errors, cluster text capped and redacted.

mod background;
pub mod cache;
pub mod codegen;
pub mod config;
pub mod cursor;
pub mod kubeapi;
pub mod lease;
pub mod logs;
pub mod runner;
pub mod status;
mod text;

use kube::{
    Client,
    config::{KubeConfigOptions, Kubeconfig},
};
use sqlflow_plugin_api::{
    RunnerError,
    sdk::{self, PluginContext},
};

pub use crate::{
    config::Config,
    runner::{ArgoRunner, Tuning},
};

sqlflow_plugin_api::export_runner!(name: "argo", create: create);

/// Builds the runner from its `[runners.argo]` table: validates it, loads the kube
/// config from the standard places, and starts the watch. An unreachable cluster does
/// not stop the server: health says UNAVAILABLE until the watch is established.
pub fn create(config_json: &str, ctx: &PluginContext) -> Result<ArgoRunner, RunnerError> {
    let cfg: Config = sdk::parse_config(config_json)?;
    cfg.validate()?;
    install_crypto_provider();
    let kube_cfg = ctx.runtime.block_on(load_kube_config(&cfg))?;
    let namespace = cfg
        .namespace
        .clone()
        .unwrap_or_else(|| kube_cfg.default_namespace.clone());
    let client = Client::try_from(kube_cfg).map_err(|e| {
        RunnerError::config(
            "kubeconfig",
            format!("cannot build a Kubernetes client from the kube config: {e}"),
        )
    })?;
    let runner = ArgoRunner::new(
        client,
        &namespace,
        cfg,
        ctx.runtime.clone(),
        Tuning::default(),
    );
    tracing::info!(namespace = %namespace, "argo runner started");
    Ok(runner)
}

/// rustls needs a process-wide crypto provider, and this cdylib has its own copy of
/// rustls: a provider the host installed is invisible here.
pub fn install_crypto_provider() {
    // Err only means one is installed already (a second runner from this library).
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn load_kube_config(cfg: &Config) -> Result<kube::Config, RunnerError> {
    match &cfg.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path).map_err(|e| {
                RunnerError::config("kubeconfig", format!("cannot read {}: {e}", path.display()))
            })?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|e| RunnerError::config("kubeconfig", format!("{}: {e}", path.display())))
        }
        None => kube::Config::infer().await.map_err(|e| {
            RunnerError::config(
                "kubeconfig",
                format!(
                    "no Kubernetes configuration found ($KUBECONFIG, ~/.kube/config, or the \
                     in-cluster service account): {e}"
                ),
            )
        }),
    }
}
