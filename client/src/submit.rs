//! Submitting a program: where it comes from (`-e`, a file, stdin) and the Run request.

use std::io::{self, IsTerminal, Read};

use sqlflow_proto::sqlflow::{Request, Session};

use crate::{args::Submit, connect::Client};

/// Submits the program the arguments name and returns the new job's id.
pub async fn submit(client: &Client, s: &Submit) -> Result<String, String> {
    let request = Request {
        sql: read_program(s)?,
        session: Some(Session {
            token: client.token.clone().unwrap_or_default(),
            db_conn_str: s.datasource.clone().unwrap_or_default(),
            exit_on_submit: s.detach,
            user_id: String::new(),
        }),
        request_id: s.request_id.clone().unwrap_or_default(),
        timeout_seconds: s.timeout.unwrap_or(0),
    };
    let mut c = client.inner.clone();
    Ok(c.run(client.request(request))
        .await
        .map_err(|s| client.explain(&s))?
        .into_inner()
        .job_id)
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
