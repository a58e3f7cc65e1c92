//! `SELECT ... TO RUN program [CMD "arg", ...] [INTO table]` in the step process (the
//! local runner; Argo runs the image as a workflow step of its own instead).
//!
//! Only programs the operator lists in `[runners.local] run_programs` run: the name after
//! `TO RUN` must be a key there, and names the absolute executable to start. The CMD
//! arguments are its argv, as written, never through a shell. It starts with a cleared
//! environment (only `PATH` and `LANG`; in particular no datasource, so no credentials),
//! in the job's working directory, as a child of the job's process, so the job's memory
//! and CPU limits apply to it too, and a cancelled job's process group includes it. It
//! gets the SELECT's rows as CSV on stdin (a header row first; NULL is an empty field).
//! Without INTO, each line it prints on stdout is a log line of the statement; with
//! `INTO table`, stdout must be CSV with a header row, and becomes that table (replaced,
//! column types inferred: integer, float, else text; empty fields are NULL). Its stderr
//! lines are logged as they come. A non-zero exit fails the statement with the tail of
//! stderr; so does running past the job's wall-clock limit.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    path::PathBuf,
    process::{Command, Stdio},
    sync::{OnceLock, mpsc},
    time::{Duration, Instant},
};

use sqlflow_proto::sqlflow::message::Kind;
use sqlflow_sql::extended::Run;

use crate::{
    Value,
    backend::{Backend, Column, ColumnType, TableName, query_all},
    exec::EngineError,
    output::RecordWriter,
};

/// The configuration key operators set, named in refusals.
pub const CONFIG_KEY: &str = "[runners.local] run_programs";

/// Rows of an INTO table shown in the statement's output.
const SHOWN_ROWS: usize = 20;
/// How much of the end of stderr a failure quotes.
const STDERR_TAIL: usize = 4096;
/// The environment a program starts with (nothing else of the step's).
const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    /// Name after `TO RUN` → absolute executable.
    pub programs: BTreeMap<String, PathBuf>,
    /// The job's wall-clock limit, counted from [`configure`] (the job's start); None:
    /// unbounded. A program still running a second before it is stopped, so the step,
    /// which the supervisor kills at the limit, never leaves it behind.
    pub time_limit: Option<Duration>,
}

static CONFIG: OnceLock<(RunConfig, Instant)> = OnceLock::new();

/// Sets the allow-list for this process (the step binary does, from job.json, as the
/// job starts). Without it every `TO RUN` is refused. Only the first call counts.
pub fn configure(config: RunConfig) {
    let _ = CONFIG.set((config, Instant::now()));
}

fn refused(name: &str, programs: &BTreeMap<String, PathBuf>) -> EngineError {
    let allowed = if programs.is_empty() {
        "none is configured".to_string()
    } else {
        format!(
            "allowed: {}",
            programs.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    format!(
        "TO RUN {name}: this server runs no program of that name ({allowed}); an operator \
         allows programs with {CONFIG_KEY} in sqlflow.toml, and the argo runner runs \
         container images"
    )
    .into()
}

pub fn run<W: Write>(
    db: &mut dyn Backend,
    select: &str,
    r: &Run,
    out: &mut RecordWriter<W>,
) -> Result<(), EngineError> {
    let empty = (RunConfig::default(), Instant::now());
    let (cfg, configured_at) = CONFIG.get().unwrap_or(&empty);
    let Some(path) = cfg.programs.get(&r.program) else {
        return Err(refused(&r.program, &cfg.programs));
    };
    let into = match r.into.as_slice() {
        [] => None,
        [t] => Some(TableName::parse(t)?),
        _ => {
            return Err(format!(
                "TO RUN {}: INTO names {} tables; a local program writes one (its stdout)",
                r.program,
                r.into.len()
            )
            .into());
        }
    };
    let data = query_all(db, select)?;
    let input = to_csv(&data.columns, &data.rows)?;
    out.message(
        format!(
            "running {} ({}) on {} rows",
            r.program,
            path.display(),
            data.rows.len()
        ),
        Kind::Log,
    )?;

    let mut child = Command::new(path)
        .args(&r.args)
        .env_clear()
        .env("PATH", PATH)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("TO RUN {}: cannot start {}: {e}", r.program, path.display()))?;
    let started = Instant::now();

    // Feed stdin and read both outputs on threads, so no pipe can fill and block.
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut s) = stdin {
            // A program that stops reading early is fine (EPIPE).
            let _ = s.write_all(&input);
        }
    });
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    if let Some(o) = child.stdout.take() {
        readers.push(spawn_lines(o, true, tx.clone()));
    }
    if let Some(e) = child.stderr.take() {
        readers.push(spawn_lines(e, false, tx.clone()));
    }
    drop(tx);

    let deadline = cfg
        .time_limit
        .map(|d| *configured_at + d.saturating_sub(Duration::from_secs(1)));
    let mut stdout_lines = Vec::new();
    let mut stderr_tail = String::new();
    let mut timed_out = false;
    let mut write_err = None;
    loop {
        let wait = deadline.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(Instant::now())
        });
        match rx.recv_timeout(wait) {
            Ok((is_stdout, line)) => {
                if is_stdout && into.is_some() {
                    stdout_lines.push(line);
                    continue;
                }
                if !is_stdout {
                    stderr_tail.push_str(&line);
                    stderr_tail.push('\n');
                    if stderr_tail.len() > 2 * STDERR_TAIL {
                        let cut = stderr_tail.len() - STDERR_TAIL;
                        let cut = (cut..stderr_tail.len())
                            .find(|&i| stderr_tail.is_char_boundary(i))
                            .unwrap_or(cut);
                        stderr_tail.drain(..cut);
                    }
                }
                if write_err.is_none()
                    && let Err(e) = out.message(line, Kind::Log)
                {
                    // Stop the program: its output cannot go anywhere.
                    let _ = child.kill();
                    write_err = Some(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    timed_out = true;
                    let _ = child.kill();
                    break;
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("TO RUN {}: lost track of the program: {e}", r.program))?;
    // Not joined: a grandchild holding stdin open without reading would block it.
    drop(feeder);
    if !timed_out {
        for h in readers {
            let _ = h.join();
        }
    }
    if let Some(e) = write_err {
        return Err(e.into());
    }
    let tail = tail_of(&stderr_tail);
    if timed_out {
        return Err(format!(
            "TO RUN {}: the program ran until the job's wall-clock limit and was stopped \
             (limits.wall_seconds = {}){tail}",
            r.program,
            cfg.time_limit.map_or(0, |d| d.as_secs())
        )
        .into());
    }
    if !status.success() {
        let how = match status.code() {
            Some(c) => format!("exited with code {c}"),
            None => {
                use std::os::unix::process::ExitStatusExt;
                format!(
                    "was killed by signal {} (the job's memory or CPU limit applies to it too)",
                    status.signal().unwrap_or(0)
                )
            }
        };
        return Err(format!("TO RUN {}: the program {how}{tail}", r.program).into());
    }
    let secs = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    match into {
        None => out.message(format!("{} finished in {secs} s", r.program), Kind::Log)?,
        Some(table) => {
            let (names, rows) = from_csv(&stdout_lines)
                .map_err(|e| format!("TO RUN {} ... INTO {table}: {e}", r.program))?;
            let cols: Vec<(String, ColumnType)> = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), infer_text(rows.iter().map(|r| r[i].as_deref()))))
                .collect();
            let rows: Vec<Vec<Value>> = rows
                .into_iter()
                .map(|r| {
                    r.into_iter()
                        .zip(&cols)
                        .map(|(v, (_, t))| typed(v, *t))
                        .collect()
                })
                .collect();
            if let Some(schema) = &table.schema {
                db.ensure_schema(schema)?;
            }
            db.create_table(&table, &cols)?;
            db.insert_rows(&table, &cols, &rows)?;
            out.message(
                format!(
                    "{} finished in {secs} s; saved {} rows ({}) in {table}",
                    r.program,
                    rows.len(),
                    names.join(", ")
                ),
                Kind::Log,
            )?;
            out.saved_rows(&names, rows, SHOWN_ROWS, &table)?;
        }
    }
    Ok(())
}

fn tail_of(stderr: &str) -> String {
    let s = stderr.trim_end();
    if s.is_empty() {
        return String::new();
    }
    let start = s.len().saturating_sub(STDERR_TAIL);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(start);
    format!("; its last output on stderr:\n{}", &s[start..])
}

fn spawn_lines(
    r: impl Read + Send + 'static,
    is_stdout: bool,
    tx: mpsc::Sender<(bool, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    while matches!(buf.last(), Some(b'\n' | b'\r')) {
                        buf.pop();
                    }
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.send((is_stdout, line)).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// RFC 4180 CSV: a header row, then one line per row; NULL is an empty field.
pub fn to_csv(columns: &[Column], rows: &[Vec<Value>]) -> Result<Vec<u8>, EngineError> {
    let mut s = String::new();
    let line = |s: &mut String, fields: &mut dyn Iterator<Item = String>| {
        let mut first = true;
        for f in fields {
            if !first {
                s.push(',');
            }
            first = false;
            if f.contains([',', '"', '\n', '\r']) {
                s.push('"');
                s.push_str(&f.replace('"', "\"\""));
                s.push('"');
            } else {
                s.push_str(&f);
            }
        }
        s.push('\n');
    };
    line(&mut s, &mut columns.iter().map(|c| c.name.clone()));
    for row in rows {
        let mut fields = Vec::with_capacity(row.len());
        for (i, v) in row.iter().enumerate() {
            fields.push(match v {
                Value::Null(_) => String::new(),
                Value::Bool(b) => u8::from(*b).to_string(),
                Value::Int64(i) => i.to_string(),
                Value::Double(f) => f.to_string(),
                Value::Decimal(s)
                | Value::String(s)
                | Value::Date(s)
                | Value::Time(s)
                | Value::Timestamp(s) => s.clone(),
                Value::Bytes(_) => {
                    let name = columns.get(i).map_or("?", |c| c.name.as_str());
                    return Err(format!(
                        "column {name} holds binary data, which TO RUN cannot pass as CSV; \
                         leave it out of the SELECT"
                    )
                    .into());
                }
            });
        }
        line(&mut s, &mut fields.into_iter());
    }
    Ok(s.into_bytes())
}

/// Parses CSV lines (a header first) into names and text cells (None for empty).
/// CSV records: text cells, None for an empty unquoted field.
type Records = Vec<Vec<Option<String>>>;

fn from_csv(lines: &[String]) -> Result<(Vec<String>, Records), String> {
    // Rejoin, so quoted fields may span lines.
    let text = lines.join("\n");
    let records = parse_csv(&text)?;
    let mut it = records.into_iter();
    let Some(header) = it.next() else {
        return Err("the program printed nothing; INTO needs CSV with a header row".into());
    };
    let names: Vec<String> = header
        .into_iter()
        .map(|h| h.unwrap_or_default().trim().to_string())
        .collect();
    if names.iter().any(String::is_empty) {
        return Err("its CSV header has an empty column name".into());
    }
    let mut rows = Vec::new();
    for (n, rec) in it.enumerate() {
        if rec.len() == 1 && rec[0].is_none() && names.len() > 1 {
            continue; // a blank line
        }
        if rec.len() != names.len() {
            return Err(format!(
                "row {} of its CSV has {} fields, the header {}",
                n + 1,
                rec.len(),
                names.len()
            ));
        }
        rows.push(rec);
    }
    Ok((names, rows))
}

fn parse_csv(text: &str) -> Result<Records, String> {
    let mut records = Vec::new();
    let mut rec = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    let end_field = |rec: &mut Vec<Option<String>>, field: &mut String, quoted: &mut bool| {
        let f = std::mem::take(field);
        rec.push(if f.is_empty() && !*quoted {
            None
        } else {
            Some(f)
        });
        *quoted = false;
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                in_quotes = true;
                quoted = true;
            }
            ',' => end_field(&mut rec, &mut field, &mut quoted),
            '\n' => {
                end_field(&mut rec, &mut field, &mut quoted);
                records.push(std::mem::take(&mut rec));
            }
            '\r' => {}
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err("its CSV ends inside a quoted field".into());
    }
    if !field.is_empty() || quoted || !rec.is_empty() {
        end_field(&mut rec, &mut field, &mut quoted);
        records.push(rec);
    }
    Ok(records)
}

/// Text cells typed by inference: integers, floats, else text.
fn typed(v: Option<String>, t: ColumnType) -> Value {
    let Some(s) = v else {
        return Value::Null(Default::default());
    };
    match t {
        ColumnType::Int => s.trim().parse().map_or(Value::String(s), Value::Int64),
        ColumnType::Float => s.trim().parse().map_or(Value::String(s), Value::Double),
        _ => Value::String(s),
    }
}

/// The type of a column of text cells: integer, float, else text.
fn infer_text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ColumnType {
    {
        let mut t: Option<ColumnType> = None;
        for s in values.flatten() {
            let s = s.trim();
            let this = if s.parse::<i64>().is_ok() {
                ColumnType::Int
            } else if s.parse::<f64>().is_ok_and(f64::is_finite) {
                ColumnType::Float
            } else {
                return ColumnType::Text;
            };
            t = Some(match (t, this) {
                (None, x) => x,
                (Some(ColumnType::Int), ColumnType::Int) => ColumnType::Int,
                _ => ColumnType::Float,
            });
        }
        t.unwrap_or(ColumnType::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip() {
        let cols = vec![
            Column {
                name: "a".into(),
                decl_type: String::new(),
            },
            Column {
                name: "b".into(),
                decl_type: String::new(),
            },
        ];
        let rows = vec![
            vec![Value::Int64(1), Value::String("x, \"y\"".into())],
            vec![
                Value::Null(Default::default()),
                Value::String("two\nlines".into()),
            ],
        ];
        let csv = String::from_utf8(to_csv(&cols, &rows).unwrap()).unwrap();
        assert_eq!(csv, "a,b\n1,\"x, \"\"y\"\"\"\n,\"two\nlines\"\n");
        let lines: Vec<String> = csv.lines().map(String::from).collect();
        let (names, rows) = from_csv(&lines).unwrap();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(rows[0], [Some("1".into()), Some("x, \"y\"".into())]);
        assert_eq!(rows[1], [None, Some("two\nlines".into())]);
    }

    #[test]
    fn unlisted_program_is_refused_naming_the_key() {
        let e = refused("x.py", &BTreeMap::new()).to_string();
        assert!(e.contains("run_programs") && e.contains("x.py"), "{e}");
    }
}
