//! Following a job: Fetch with the cursor until the end, rendering each reply as it
//! comes, riding out a server restart, and cancelling the job on Ctrl+C.

use std::{
    io::{self, IsTerminal},
    pin::pin,
    process::ExitCode,
    time::{Duration, Instant},
};

use sqlflow_proto::sqlflow::{
    FetchRequest, JobId, JobStatus, Responses, job_status::Code, message, response,
};

use crate::{
    EXIT_CANCELLED, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE,
    args::Conn,
    connect::Client,
    jobs::describe,
    render::{FiguresDir, Renderer},
    spinner::Spinner,
};

/// How long to keep retrying an unreachable server while following a job (a restart).
const RETRY_FOR: Duration = Duration::from_secs(60);
/// Long-poll length: the server answers early when something happens.
pub const WAIT_MS: u32 = 1000;

/// Follows a job to its end. `reached`: the server has answered us already, so an
/// unreachable server is a restart to wait out rather than a wrong address.
pub async fn follow(
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
    let mut spinner = Spinner::new(!conn.no_progress && io::stderr().is_terminal());
    let started = Instant::now();
    let mut status = JobStatus::default();
    let mut interrupted = false;
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut unreachable_since: Option<Instant> = None;
    // The next page is asked for as soon as a reply names its cursor, and travels and
    // decodes on the runtime's worker while this thread renders the reply in hand: the
    // CLI then writes as fast as the server sends, not that minus a round trip per page.
    let mut pending = fetch_page(client, &job_id, &cursor);
    loop {
        let reply = loop {
            tokio::select! {
                r = &mut pending => break r.unwrap_or_else(|e| {
                    Err(tonic::Status::internal(format!("the fetch task failed: {e}")))
                }),
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
                if !r.eof {
                    pending = fetch_page(client, &job_id, &r.next_cursor);
                }
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
                // What this reply completed (a table at its end, log and figure lines,
                // rows of CSV, TSV or JSON) is shown now, not when the job ends; within
                // the reply, writes stay buffered.
                if let Err(e) = renderer.flush() {
                    return output_error(e);
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
                pending = fetch_page(client, &job_id, &cursor);
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

/// A Fetch of the page after `cursor`, running on its own task.
fn fetch_page(
    client: &Client,
    job_id: &str,
    cursor: &str,
) -> tokio::task::JoinHandle<Result<tonic::Response<Responses>, tonic::Status>> {
    let mut c = client.inner.clone();
    let req = client.request(FetchRequest {
        job: Some(JobId {
            job_id: job_id.to_string(),
        }),
        cursor: cursor.to_string(),
        wait_ms: WAIT_MS,
    });
    tokio::spawn(async move { c.fetch(req).await })
}

fn output_error(e: io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // `sqlflow ... | head` is fine.
        return ExitCode::SUCCESS;
    }
    eprintln!("sqlflow: cannot write output: {e}");
    ExitCode::from(EXIT_USAGE)
}
