//! `sqlflow-server`: reads sqlflow.toml, loads the runner plugin it names, serves gRPC.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::Parser;
use sqlflow_server::{
    config,
    server::{self, StartError},
};
use tracing_subscriber::EnvFilter;

/// The SQLFlow server: submit SQL programs with Run, poll them with Fetch.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Configuration file. Default: ./sqlflow.toml if it exists.
    #[arg(long, short)]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = server::config_path(args.config).and_then(|path| {
        let figment = config::figment(&path);
        let cfg = config::load(&figment).map_err(|e| StartError::Config(e.0))?;
        let filter = EnvFilter::try_from_default_env()
            .or_else(|_| EnvFilter::try_new(&cfg.log))
            .map_err(|e| {
                StartError::Config(format!("invalid configuration: log = '{}': {e}", cfg.log))
            })?;
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| StartError::Serve(format!("cannot start the runtime: {e}")))?;
        rt.block_on(server::serve(cfg, figment))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ StartError::Config(_)) => {
            eprintln!("sqlflow-server: {e}");
            ExitCode::from(78)
        }
        Err(e @ StartError::Serve(_)) => {
            eprintln!("sqlflow-server: {e}");
            ExitCode::FAILURE
        }
    }
}
