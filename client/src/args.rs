//! The command line: what `sqlflow --help` shows, parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{demo_data, render::Format};

/// Run SQLFlow programs: standard SQL plus TO TRAIN / PREDICT / EVALUATE / EXPLAIN.
///
/// Examples:
///   sqlflow -e "SELECT 1"
///   sqlflow program.sql
///   sqlflow --detach -e "..."      # prints the job id and exits
///   sqlflow fetch <job-id>
///   sqlflow cancel <job-id>
#[derive(Parser)]
#[command(
    name = "sqlflow",
    version,
    verbatim_doc_comment,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: Conn,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    #[command(flatten)]
    pub submit: Submit,
}

#[derive(Args)]
pub struct Conn {
    /// Server address.
    #[arg(
        long,
        env = "SQLFLOW_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// Access token, when the server requires one.
    #[arg(long, env = "SQLFLOW_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// CA certificate (PEM) to trust for an https:// server (default: the system's roots).
    #[arg(long, env = "SQLFLOW_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// How to print result tables.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub format: Format,
    /// Never show the progress spinner.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Write figures (loss curves, feature importance, confusion matrices, ROC curves)
    /// into this directory, created if missing (default: a new temporary directory,
    /// named in the output).
    #[arg(long, env = "SQLFLOW_FIGURES_DIR", value_name = "DIR", global = true)]
    pub figures_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct Submit {
    /// The SQL program to run.
    #[arg(
        short = 'e',
        long = "execute",
        value_name = "SQL",
        conflicts_with = "file"
    )]
    pub execute: Option<String>,
    /// A file holding the SQL program ('-' for stdin).
    pub file: Option<PathBuf>,
    /// Datasource (sqlite://path, mysql://user:pass@host:port/db, postgres://...).
    /// Default: the server's.
    #[arg(long, env = "SQLFLOW_DATASOURCE", hide_env_values = true)]
    pub datasource: Option<String>,
    /// Submit, print the job id and exit; the job is never cancelled for lack of fetches.
    #[arg(long)]
    pub detach: bool,
    /// Cancel the job if no client fetches it for this many seconds (server default if unset).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// Idempotency key: submitting again with the same id returns the same job.
    #[arg(long)]
    pub request_id: Option<String>,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Follow a job and print its output, from the start or from a cursor.
    Fetch {
        job_id: String,
        /// Resume after this cursor (printed by --detach or a previous fetch).
        #[arg(long, default_value = "")]
        cursor: String,
    },
    /// Cancel a job.
    Cancel { job_id: String },
    /// List your jobs, newest first.
    Jobs {
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Load SQLFlow's tutorial datasets into the datasource: iris.train/test,
    /// boston.train/test, churn.train/test, creditcard.creditcard, titanic.train/test,
    /// scorecard.train, energy.raw, and the sqlflow_models schema. Existing tables of
    /// those names are replaced.
    DemoData {
        /// Datasets to load (default: all).
        #[arg(
            value_name = "DATASET",
            value_parser = clap::builder::PossibleValuesParser::new(demo_data::NAMES)
        )]
        datasets: Vec<String>,
        /// Datasource to load into. Default: the server's.
        #[arg(long, env = "SQLFLOW_DATASOURCE", hide_env_values = true)]
        datasource: Option<String>,
        /// Put the tables into schemas <prefix>iris, <prefix>boston, ... (letters, digits, _).
        #[arg(long, default_value = "")]
        schema_prefix: String,
    },
}
