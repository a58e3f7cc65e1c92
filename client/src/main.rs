//! `sqlflow`: the command-line client. Submits a SQL program with Run, then follows the
//! job with Fetch until its end, rendering tables, log lines and the final status.
//!
//! - `args`: the command line;
//! - `connect`: the server connection (TLS, token, errors in words);
//! - `submit`: the program and the Run request;
//! - `follow`: the Fetch loop to the job's end, with `spinner` on a terminal;
//! - `render`: tables, CSV/TSV/JSON and figure files;
//! - `jobs`: listing and cancelling jobs;
//! - `demo_data`: the tutorial datasets.

mod args;
mod connect;
mod demo_data;
mod follow;
mod jobs;
mod render;
mod spinner;
mod submit;

use std::process::ExitCode;

use clap::Parser;

use crate::{
    args::{Cli, Cmd},
    connect::Client,
    follow::follow,
};

/// Exit statuses.
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_CANCELLED: u8 = 3;
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One worker: a follow's next Fetch travels and decodes there while this thread
    // renders the page before it (see `follow`).
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sqlflow: cannot start: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("sqlflow: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    if cli.cmd.is_some()
        && (cli.submit.execute.is_some() || cli.submit.file.is_some() || cli.submit.detach)
    {
        return Err(
            "-e, FILE and --detach submit a program; they cannot be combined with a subcommand"
                .into(),
        );
    }
    let client = Client::connect(&cli.conn).await?;
    match cli.cmd {
        Some(Cmd::Fetch { job_id, cursor }) => {
            Ok(follow(&client, &cli.conn, job_id, cursor, false).await)
        }
        Some(Cmd::Cancel { job_id }) => {
            jobs::cancel(&client, job_id).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Jobs { limit }) => {
            jobs::list(&client, limit).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::DemoData {
            datasets,
            datasource,
            schema_prefix,
        }) => {
            demo_data::load(
                &client,
                datasource.unwrap_or_default(),
                &schema_prefix,
                &datasets,
            )
            .await
        }
        None => {
            let id = submit::submit(&client, &cli.submit).await?;
            if cli.submit.detach {
                println!("{id}");
                return Ok(ExitCode::SUCCESS);
            }
            Ok(follow(&client, &cli.conn, id, String::new(), true).await)
        }
    }
}
