//! `sqlflow`: the command-line client. Submits a SQL program with Run, then follows the
//! job with Fetch until its end, rendering tables, log lines and the final status.

mod demo_data;
mod render;

use std::{
    io::{self, IsTerminal, Read, Write},
    path::PathBuf,
    pin::pin,
    process::ExitCode,
    time::{Duration, Instant},
};

use clap::{Args, Parser, Subcommand};
use sqlflow_proto::sqlflow::{
    FetchRequest, JobId, JobStatus, ListJobsRequest, Request, Session, job_status::Code, message,
    response, sql_flow_client::SqlFlowClient,
};
use tonic::{
    Status,
    metadata::MetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig},
};

use crate::render::{FiguresDir, Format, Renderer};

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
struct Cli {
    #[command(flatten)]
    conn: Conn,
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    submit: Submit,
}

#[derive(Args)]
struct Conn {
    /// Server address.
    #[arg(
        long,
        env = "SQLFLOW_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    server: String,
    /// Access token, when the server requires one.
    #[arg(long, env = "SQLFLOW_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// CA certificate (PEM) to trust for an https:// server (default: the system's roots).
    #[arg(long, env = "SQLFLOW_CA_CERT", global = true)]
    ca_cert: Option<PathBuf>,
    /// How to print result tables.
    #[arg(long, value_enum, default_value = "table", global = true)]
    format: Format,
    /// Never show the progress spinner.
    #[arg(long, global = true)]
    no_progress: bool,
    /// Write figures (loss curves, feature importance, confusion matrices, ROC curves)
    /// into this directory, created if missing (default: a new temporary directory,
    /// named in the output).
    #[arg(long, env = "SQLFLOW_FIGURES_DIR", value_name = "DIR", global = true)]
    figures_dir: Option<PathBuf>,
}

#[derive(Args)]
struct Submit {
    /// The SQL program to run.
    #[arg(
        short = 'e',
        long = "execute",
        value_name = "SQL",
        conflicts_with = "file"
    )]
    execute: Option<String>,
    /// A file holding the SQL program ('-' for stdin).
    file: Option<PathBuf>,
    /// Datasource (sqlite://path, mysql://user:pass@host:port/db, postgres://...).
    /// Default: the server's.
    #[arg(long, env = "SQLFLOW_DATASOURCE", hide_env_values = true)]
    datasource: Option<String>,
    /// Submit, print the job id and exit; the job is never cancelled for lack of fetches.
    #[arg(long)]
    detach: bool,
    /// Cancel the job if no client fetches it for this many seconds (server default if unset).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u32>,
    /// Idempotency key: submitting again with the same id returns the same job.
    #[arg(long)]
    request_id: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
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

/// Exit statuses.
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_CANCELLED: u8 = 3;
const EXIT_INTERRUPTED: u8 = 130;

/// How long to keep retrying an unreachable server while following a job (a restart).
const RETRY_FOR: Duration = Duration::from_secs(60);
/// Long-poll length: the server answers early when something happens.
const WAIT_MS: u32 = 1000;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
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

struct Client {
    inner: SqlFlowClient<Channel>,
    token: Option<String>,
    server: String,
}

impl Client {
    async fn connect(conn: &Conn) -> Result<Self, String> {
        let server = if conn.server.contains("://") {
            conn.server.clone()
        } else {
            format!("http://{}", conn.server)
        };
        let mut endpoint = Channel::from_shared(server.clone())
            .map_err(|e| format!("invalid server address '{}': {e}", conn.server))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5));
        if server.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(ca) = &conn.ca_cert {
                let pem = std::fs::read(ca)
                    .map_err(|e| format!("cannot read the CA certificate {}: {e}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| format!("cannot set up TLS for {server}: {e}"))?;
        }
        // Lazy: a server that is restarting is retried by the fetch loop.
        let channel = endpoint.connect_lazy();
        Ok(Self {
            inner: SqlFlowClient::new(channel).max_decoding_message_size(64 << 20),
            token: conn.token.clone(),
            server,
        })
    }

    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        if let Some(t) = &self.token
            && let Ok(v) = MetadataValue::try_from(format!("Bearer {t}"))
        {
            req.metadata_mut().insert("authorization", v);
        }
        req
    }

    fn explain(&self, s: &Status) -> String {
        match s.code() {
            tonic::Code::Unavailable => format!(
                "cannot reach the SQLFlow server at {}: {} (set --server or SQLFLOW_SERVER)",
                self.server,
                s.message()
            ),
            _ => format!("{}: {}", code_name(s.code()), s.message()),
        }
    }
}

fn code_name(c: tonic::Code) -> String {
    format!("{c:?}")
        .chars()
        .enumerate()
        .flat_map(|(i, ch)| {
            let sep = (i > 0 && ch.is_uppercase()).then_some('_');
            sep.into_iter()
                .chain(std::iter::once(ch.to_ascii_uppercase()))
        })
        .collect()
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
            let mut c = client.inner.clone();
            let status = c
                .cancel(client.request(JobId {
                    job_id: job_id.clone(),
                }))
                .await
                .map_err(|s| client.explain(&s))?
                .into_inner();
            println!("{job_id}: {}", describe(&status));
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Jobs { limit }) => {
            list_jobs(&client, limit).await?;
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
            let program = read_program(&cli.submit)?;
            let request = Request {
                sql: program,
                session: Some(Session {
                    token: client.token.clone().unwrap_or_default(),
                    db_conn_str: cli.submit.datasource.clone().unwrap_or_default(),
                    exit_on_submit: cli.submit.detach,
                    user_id: String::new(),
                }),
                request_id: cli.submit.request_id.clone().unwrap_or_default(),
                timeout_seconds: cli.submit.timeout.unwrap_or(0),
            };
            let mut c = client.inner.clone();
            let id = c
                .run(client.request(request))
                .await
                .map_err(|s| client.explain(&s))?
                .into_inner()
                .job_id;
            if cli.submit.detach {
                println!("{id}");
                return Ok(ExitCode::SUCCESS);
            }
            Ok(follow(&client, &cli.conn, id, String::new(), true).await)
        }
    }
}

async fn list_jobs(client: &Client, limit: u32) -> Result<(), String> {
    let mut c = client.inner.clone();
    let reply = c
        .list_jobs(client.request(ListJobsRequest {
            page_size: limit,
            page_token: String::new(),
        }))
        .await
        .map_err(|s| client.explain(&s))?
        .into_inner();
    // Like `ls | head`, a closed stdout ends the listing quietly.
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "{:<32}  {:<9}  {:<19}  {:>9}  PROGRAM",
        "JOB", "STATUS", "SUBMITTED", "TOOK"
    );
    for j in reply.jobs {
        let status = j.status.unwrap_or_default();
        let took = if j.finished_at_ms > 0 {
            format!(
                "{:.1}s",
                (j.finished_at_ms - j.submitted_at_ms) as f64 / 1000.0
            )
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{:<32}  {:<9}  {:<19}  {:>9}  {}",
            j.job_id,
            status.code().as_str_name(),
            utc(j.submitted_at_ms),
            took,
            j.summary
        );
    }
    if !reply.next_page_token.is_empty() {
        let _ = writeln!(out, "(more: raise --limit to see older jobs)");
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` in UTC for milliseconds since the epoch.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn read_program(s: &Submit) -> Result<String, String> {
    if let Some(sql) = &s.execute {
        return Ok(sql.clone());
    }
    match &s.file {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        }
        Some(_) => read_stdin(),
        None if !io::stdin().is_terminal() => read_stdin(),
        None => Err("no program: pass -e \"SQL\", a file, or pipe it on stdin (see --help)".into()),
    }
}

fn read_stdin() -> Result<String, String> {
    let mut s = String::new();
    io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("cannot read the program from stdin: {e}"))?;
    Ok(s)
}

fn describe(s: &JobStatus) -> String {
    let code = format!("{:?}", s.code()).to_uppercase();
    if s.message.is_empty() {
        code
    } else {
        format!("{code}: {}", s.message)
    }
}

/// A one-line status on stderr while the job runs, when stderr is a terminal.
struct Spinner {
    enabled: bool,
    shown: bool,
    frame: usize,
    /// The latest progress message, shown after the status.
    detail: String,
}

impl Spinner {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

    fn draw(&mut self, status: Code, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        self.frame = (self.frame + 1) % Self::FRAMES.len();
        let mut err = io::stderr().lock();
        let detail: String = self.detail.chars().take(100).collect();
        let _ = write!(
            err,
            "\r\x1b[2K{} {} {:.1}s {detail}",
            Self::FRAMES[self.frame],
            status.as_str_name(),
            elapsed.as_secs_f64()
        );
        let _ = err.flush();
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            let _ = write!(io::stderr(), "\r\x1b[2K");
            self.shown = false;
        }
    }
}

/// Follows a job to its end. `reached`: the server has answered us already, so an
/// unreachable server is a restart to wait out rather than a wrong address.
async fn follow(
    client: &Client,
    conn: &Conn,
    job_id: String,
    mut cursor: String,
    mut reached: bool,
) -> ExitCode {
    let stdout = io::stdout();
    let figures = match &conn.figures_dir {
        Some(dir) => FiguresDir::Given(dir.clone()),
        None => FiguresDir::Temporary,
    };
    let mut renderer = Renderer::new(conn.format, io::BufWriter::new(stdout.lock()), io::stderr())
        .figures_dir(figures);
    let mut spinner = Spinner {
        enabled: !conn.no_progress && io::stderr().is_terminal(),
        shown: false,
        frame: 0,
        detail: String::new(),
    };
    let started = Instant::now();
    let mut status = JobStatus::default();
    let mut interrupted = false;
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut unreachable_since: Option<Instant> = None;
    loop {
        let mut c = client.inner.clone();
        let req = client.request(FetchRequest {
            job: Some(JobId {
                job_id: job_id.clone(),
            }),
            cursor: cursor.clone(),
            wait_ms: WAIT_MS,
        });
        let mut fetch = pin!(c.fetch(req));
        let reply = loop {
            tokio::select! {
                r = &mut fetch => break r,
                _ = tick.tick() => spinner.draw(status.code(), started.elapsed()),
                _ = &mut ctrl_c => {
                    spinner.clear();
                    if interrupted {
                        return ExitCode::from(EXIT_INTERRUPTED);
                    }
                    interrupted = true;
                    let _ = renderer.note(&format!("cancelling job {job_id} (Ctrl+C again to quit at once)"));
                    let mut c = client.inner.clone();
                    if let Err(s) = c.cancel(client.request(JobId { job_id: job_id.clone() })).await {
                        let _ = renderer.note(&format!("cannot cancel: {}", client.explain(&s)));
                        return ExitCode::from(EXIT_INTERRUPTED);
                    }
                    ctrl_c.set(tokio::signal::ctrl_c());
                }
            }
        };
        match reply {
            Ok(r) => {
                unreachable_since = None;
                reached = true;
                let r = r.into_inner();
                spinner.clear();
                for resp in &r.response {
                    // On a terminal, progress updates the spinner line instead of
                    // scrolling past; elsewhere it goes to stderr like other notes.
                    if spinner.enabled
                        && let Some(response::Response::Message(m)) = &resp.response
                        && m.kind() == message::Kind::Progress
                    {
                        spinner.detail = m.message.clone();
                        continue;
                    }
                    if let Err(e) = renderer.response(resp) {
                        return output_error(e);
                    }
                }
                cursor = r.next_cursor;
                status = r.job_status.unwrap_or_default();
                if r.eof {
                    break;
                }
            }
            Err(s) if s.code() == tonic::Code::Unavailable && reached => {
                // The server may be restarting: the job lives on, and our cursor is safe
                // to replay.
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > RETRY_FOR {
                    spinner.clear();
                    let _ = renderer.note(&format!(
                        "sqlflow: {}\nthe job may still be running: sqlflow fetch {job_id} --cursor '{cursor}'",
                        client.explain(&s)
                    ));
                    return ExitCode::from(EXIT_USAGE);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(s) => {
                spinner.clear();
                let _ = renderer.finish();
                let _ = renderer.note(&format!("sqlflow: {}", client.explain(&s)));
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    spinner.clear();
    if let Err(e) = renderer.finish() {
        return output_error(e);
    }
    match status.code() {
        Code::Succeeded => ExitCode::SUCCESS,
        Code::Cancelled => {
            let _ = renderer.note(&describe(&status));
            ExitCode::from(if interrupted {
                EXIT_INTERRUPTED
            } else {
                EXIT_CANCELLED
            })
        }
        Code::Failed => {
            let _ = renderer.note(&format!("ERROR: {}", status.message));
            ExitCode::from(EXIT_FAILED)
        }
        _ => {
            let _ = renderer.note(&format!("ERROR: the job ended as {}", describe(&status)));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn output_error(e: io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // `sqlflow ... | head` is fine.
        return ExitCode::SUCCESS;
    }
    eprintln!("sqlflow: cannot write output: {e}");
    ExitCode::from(EXIT_USAGE)
}
