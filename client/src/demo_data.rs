//! `sqlflow demo-data`: SQLFlow's own tutorial datasets, loaded through the server like
//! any other program, into SQLite, MySQL/MariaDB or PostgreSQL alike.
//!
//! The data are SQLFlow's MySQL dumps, vendored byte for byte in
//! `client/data/sqlflow-tutorial/` (see its README for their origin and license) and
//! embedded in the binary. `mysql_dump` translates each into statements all three
//! databases accept; the CLI submits them as jobs, and reports each table's row count as
//! the database counts it, checked against the dump's.

mod mysql_dump;

use std::{process::ExitCode, time::Instant};

use sqlflow_proto::sqlflow::{
    FetchRequest, JobId, Request, Response, Session, cell::Value, job_status::Code, response,
};

use self::mysql_dump::{COUNT_TABLE_COLUMN, Dump, Statement};
use crate::{EXIT_FAILED, connect::Client, follow::WAIT_MS};

/// One of SQLFlow's tutorial datasets.
pub struct Dataset {
    /// What `sqlflow demo-data NAME` calls it: the schema it loads into.
    pub name: &'static str,
    /// The dump's file name in `client/data/sqlflow-tutorial/`.
    pub file: &'static str,
    dump: &'static str,
}

macro_rules! dataset {
    ($name:literal, $file:literal) => {
        Dataset {
            name: $name,
            file: $file,
            dump: include_str!(concat!("../data/sqlflow-tutorial/", $file)),
        }
    };
}

/// Every dataset, in the order a full load goes.
pub const DATASETS: [Dataset; 8] = [
    dataset!("iris", "popularize_iris.sql"),
    dataset!("boston", "popularize_boston.sql"),
    dataset!("churn", "popularize_churn.sql"),
    dataset!("creditcard", "popularize_creditcardfraud.sql"),
    dataset!("titanic", "popularize_titanic.sql"),
    dataset!("scorecard", "popularize_give_me_some_credit.sql"),
    dataset!("energy", "popularize_energy.sql"),
    dataset!("sqlflow_models", "create_model_db.sql"),
];

/// The names `sqlflow demo-data` accepts.
pub const NAMES: [&str; 8] = {
    let mut names = [""; 8];
    let mut i = 0;
    while i < DATASETS.len() {
        names[i] = DATASETS[i].name;
        i += 1;
    }
    names
};

/// Program bytes per job, at most: well under the server's `max_program_bytes` (1 MiB by
/// default), so a dataset loads on a server that lowered it too.
const MAX_JOB_BYTES: usize = 256 * 1024;

/// One job of a load: its program, and the tables whose counts it reports.
#[derive(Debug)]
pub struct Job {
    pub sql: String,
    /// Qualified table name and the dump's row count.
    pub tables: Vec<(String, usize)>,
}

impl Dataset {
    /// The jobs that load this dataset into schema `<prefix><name>`.
    pub fn jobs(&self, prefix: &str) -> Result<Vec<Job>, String> {
        let dump = Dump::parse(self.dump).map_err(|e| format!("{}: {e}", self.file))?;
        Ok(pack(dump.statements(prefix)?))
    }
}

/// Statements into jobs of at most MAX_JOB_BYTES (a single larger statement gets a job
/// of its own).
fn pack(statements: Vec<Statement>) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut job = Job {
        sql: String::new(),
        tables: Vec::new(),
    };
    for s in statements {
        if !job.sql.is_empty() && job.sql.len() + s.sql.len() + 2 > MAX_JOB_BYTES {
            jobs.push(std::mem::replace(
                &mut job,
                Job {
                    sql: String::new(),
                    tables: Vec::new(),
                },
            ));
        }
        job.sql.push_str(&s.sql);
        job.sql.push_str(";\n");
        job.tables.extend(s.counts);
    }
    if !job.sql.is_empty() {
        jobs.push(job);
    }
    jobs
}

/// The datasets named, in the order given, each once; all of them for none.
pub fn select(names: &[String]) -> Result<Vec<&'static Dataset>, String> {
    if names.is_empty() {
        return Ok(DATASETS.iter().collect());
    }
    let mut chosen: Vec<&'static Dataset> = Vec::new();
    for n in names {
        let d = DATASETS
            .iter()
            .find(|d| d.name == n)
            .ok_or_else(|| format!("no dataset {n:?}; the datasets are {}", NAMES.join(", ")))?;
        if !chosen.iter().any(|c| c.name == d.name) {
            chosen.push(d);
        }
    }
    Ok(chosen)
}

/// `sqlflow demo-data`: loads the datasets named (all for none), printing each table's
/// row count as the database reports it.
pub async fn load(
    client: &Client,
    datasource: String,
    prefix: &str,
    names: &[String],
) -> Result<ExitCode, String> {
    check_prefix(prefix)?;
    let chosen = select(names)?;
    let started = Instant::now();
    let (mut tables, mut rows) = (0usize, 0usize);
    for d in chosen {
        eprintln!("{} ({})", d.name, d.file);
        let mut reported = 0;
        for job in &d.jobs(prefix)? {
            match run_job(client, &datasource, job).await? {
                Ok(n) => {
                    reported += n.len();
                    rows += n.iter().sum::<usize>();
                }
                Err(message) => {
                    eprintln!("ERROR: loading {} failed: {message}", d.name);
                    return Ok(ExitCode::from(EXIT_FAILED));
                }
            }
        }
        if reported == 0 {
            eprintln!("  schema {prefix}{} ready", d.name);
        }
        tables += reported;
    }
    eprintln!(
        "loaded {tables} tables, {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Schema names are written unquoted (so PostgreSQL folds them as it folds the names in
/// programs), so the prefix must keep them plain.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !prefix.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--schema-prefix {prefix:?}: use letters, digits and _, not starting with a digit"
        ))
    }
}

/// Runs one job to its end, printing each table count as it arrives. The outer error is
/// the client's (the server unreachable); the inner one the job's (a failed statement, or
/// a count that is not the dump's).
async fn run_job(
    client: &Client,
    datasource: &str,
    job: &Job,
) -> Result<Result<Vec<usize>, String>, String> {
    let mut c = client.inner.clone();
    let id = c
        .run(client.request(Request {
            sql: job.sql.clone(),
            session: Some(Session {
                token: client.token.clone().unwrap_or_default(),
                db_conn_str: datasource.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .map_err(|s| client.explain(&s))?
        .into_inner()
        .job_id;
    let mut cursor = String::new();
    let mut counted = Vec::new();
    let mut wrong = None;
    // Only count statements return rows here, but say so by their header.
    let mut counting = false;
    let status = loop {
        let r = c
            .fetch(client.request(FetchRequest {
                job: Some(JobId { job_id: id.clone() }),
                cursor: cursor.clone(),
                wait_ms: WAIT_MS,
            }))
            .await
            .map_err(|s| client.explain(&s))?
            .into_inner();
        for resp in &r.response {
            if let Some(response::Response::Head(h)) = &resp.response {
                counting = h
                    .column_names
                    .first()
                    .is_some_and(|c| c.eq_ignore_ascii_case(COUNT_TABLE_COLUMN));
                continue;
            }
            if let Some((table, n)) = table_count(resp).filter(|_| counting) {
                let expected = job
                    .tables
                    .iter()
                    .find(|(t, _)| *t == table)
                    .map(|(_, n)| *n);
                eprintln!("  {table:<28} {n:>7} rows");
                if expected != Some(n) && wrong.is_none() {
                    wrong = Some(match expected {
                        Some(e) => format!("{table} holds {n} rows, but its dump has {e}"),
                        None => format!("an unexpected count for {table}"),
                    });
                }
                counted.push(n);
            }
        }
        cursor = r.next_cursor;
        if r.eof {
            break r.job_status.unwrap_or_default();
        }
    };
    if status.code() != Code::Succeeded {
        return Ok(Err(status.message));
    }
    if let Some(w) = wrong {
        return Ok(Err(w));
    }
    if counted.len() != job.tables.len() {
        return Ok(Err(format!(
            "{} of {} tables reported their row count",
            counted.len(),
            job.tables.len()
        )));
    }
    Ok(Ok(counted))
}

/// A row of a count statement (`SELECT 'name' AS loaded, count(*) ...`): table and count.
fn table_count(r: &Response) -> Option<(String, usize)> {
    let Some(response::Response::Row(row)) = &r.response else {
        return None;
    };
    let [name, n] = row.cells.as_slice() else {
        return None;
    };
    let Some(Value::String(name)) = &name.value else {
        return None;
    };
    let n = match &n.value {
        Some(Value::Int64(i)) => usize::try_from(*i).ok()?,
        // A driver may say DECIMAL for a count.
        Some(Value::Decimal(s)) => s.parse().ok()?,
        _ => return None,
    };
    Some((name.clone(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row counts of SQLFlow's dumps, as MariaDB 10.11 reports them after
    /// `mysql < popularize_*.sql` of the unchanged files.
    const ROWS: [(&str, usize); 11] = [
        ("iris.train", 110),
        ("iris.test", 10),
        ("boston.train", 496),
        ("boston.test", 10),
        ("churn.train", 82),
        ("churn.test", 10),
        ("creditcard.creditcard", 984),
        ("titanic.train", 891),
        ("titanic.test", 418),
        ("scorecard.train", 2000),
        ("energy.raw", 2209),
    ];

    #[test]
    fn every_dump_translates_with_the_row_counts_mariadb_loads() {
        let mut seen = Vec::new();
        for d in &DATASETS {
            let jobs = d.jobs("").unwrap();
            for job in &jobs {
                assert!(job.sql.len() <= MAX_JOB_BYTES, "{}", d.name);
                seen.extend(job.tables.iter().cloned());
            }
            assert!(
                jobs[0]
                    .sql
                    .starts_with(&format!("CREATE SCHEMA IF NOT EXISTS {};", d.name))
            );
        }
        let expected: Vec<(String, usize)> =
            ROWS.iter().map(|(t, n)| (t.to_string(), *n)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn the_prefix_goes_on_every_schema() {
        let jobs = DATASETS[7].jobs("p1_").unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            jobs[0].sql,
            "CREATE SCHEMA IF NOT EXISTS p1_sqlflow_models;\n"
        );
        let jobs = DATASETS[2].jobs("p1_").unwrap();
        let sql = &jobs[0].sql;
        assert!(
            sql.contains("CREATE TABLE p1_churn.train (\n  customerID VARCHAR(255),"),
            "{sql}"
        );
        assert!(sql.contains("SeniorCitizen SMALLINT,"), "{sql}");
        assert!(sql.contains("MonthlyCharges DOUBLE PRECISION,"), "{sql}");
        assert!(sql.contains("PRIMARY KEY (customerID)"), "{sql}");
        // The dump's quoted numbers come out bare, its strings single-quoted.
        assert!(
            sql.contains("('7590-VHVEG','Female',0,'Yes','No',1,'No','No phone service','DSL',"),
            "{sql}"
        );
        assert!(!sql.contains(" churn."), "{sql}");
    }

    #[test]
    fn a_large_dataset_is_split_into_jobs_at_statement_boundaries() {
        let statements: Vec<Statement> = (0..10)
            .map(|i| Statement {
                sql: format!("INSERT {i} {}", "x".repeat(100 * 1024)),
                counts: (i == 9).then(|| ("s.t".to_string(), 5)),
            })
            .collect();
        let jobs = pack(statements);
        assert_eq!(jobs.len(), 5);
        assert!(jobs.iter().all(|j| j.sql.len() <= MAX_JOB_BYTES));
        assert!(jobs[4].sql.starts_with("INSERT 8 ") && jobs[4].sql.ends_with(";\n"));
        assert_eq!(jobs[4].tables, [("s.t".to_string(), 5)]);
        assert!(jobs[..4].iter().all(|j| j.tables.is_empty()));
    }

    #[test]
    fn prefixes_must_keep_schema_names_plain() {
        for ok in ["", "t1_", "_x", "Abc9"] {
            check_prefix(ok).unwrap();
        }
        for bad in ["1a_", "a-b", "a.b", "a b", "é"] {
            let e = check_prefix(bad).unwrap_err();
            assert!(e.contains("letters, digits and _"), "{e}");
        }
    }

    #[test]
    fn selecting_datasets() {
        let names = |v: &[&str]| -> Result<Vec<&str>, String> {
            let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            select(&v).map(|d| d.iter().map(|d| d.name).collect())
        };
        assert_eq!(names(&[]).unwrap(), NAMES);
        assert_eq!(
            names(&["churn", "iris", "churn"]).unwrap(),
            ["churn", "iris"]
        );
        let e = names(&["iris", "mnist"]).unwrap_err();
        assert!(e.contains("\"mnist\"") && e.contains("scorecard"), "{e}");
    }
}
