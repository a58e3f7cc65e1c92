//! `sqlflow-server`: reads sqlflow.toml, loads the runner plugin it names, serves gRPC.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use sqlflow_server::{
    auth, config,
    server::{self, StartError},
};
use tracing_subscriber::EnvFilter;

/// The SQLFlow server: submit SQL programs with Run, poll them with Fetch.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Configuration file. Default: ./sqlflow.toml if it exists.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make a new access token for a user: prints the token (give it to the user) and the
    /// entry to add under [auth] users in sqlflow.toml (only its hash is stored).
    GenToken { user: String },
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Cmd::GenToken { user }) = &args.cmd {
        let token = auth::new_token();
        println!("token for {user} (shown once; keep it secret):\n  {token}\n");
        println!(
            "add to sqlflow.toml:\n[[auth.users]]\nname = \"{user}\"\ntoken_sha256 = \"{}\"",
            auth::sha256_hex(&token)
        );
        return ExitCode::SUCCESS;
    }
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
