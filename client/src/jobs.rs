//! Commands on jobs that already exist: `sqlflow jobs` (the listing) and `sqlflow cancel`.

use std::io::{self, Write};

use sqlflow_proto::sqlflow::{JobId, JobStatus, ListJobsRequest};

use crate::connect::Client;

/// Prints the caller's newest `limit` jobs, one a line.
pub async fn list(client: &Client, limit: u32) -> Result<(), String> {
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

/// Cancels a job and prints the status it ended with.
pub async fn cancel(client: &Client, job_id: String) -> Result<(), String> {
    let mut c = client.inner.clone();
    let status = c
        .cancel(client.request(JobId {
            job_id: job_id.clone(),
        }))
        .await
        .map_err(|s| client.explain(&s))?
        .into_inner();
    println!("{job_id}: {}", describe(&status));
    Ok(())
}

/// A job's status in words: `FAILED: <message>`.
pub fn describe(s: &JobStatus) -> String {
    let code = format!("{:?}", s.code()).to_uppercase();
    if s.message.is_empty() {
        code
    } else {
        format!("{code}: {}", s.message)
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC for milliseconds since the epoch; a time outside the
/// years -9999 to 9999 (which no server sends) as its number.
fn utc(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn times_are_utc_to_the_second() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(999), "1970-01-01 00:00:00");
        assert_eq!(utc(-1), "1969-12-31 23:59:59");
        // A leap day, and the last second of a year.
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc(1_798_761_599_000), "2026-12-31 23:59:59");
        assert_eq!(utc(i64::MAX), format!("{} ms", i64::MAX));
    }
}
