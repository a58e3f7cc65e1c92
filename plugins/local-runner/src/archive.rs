//! Finished jobs, from a few seconds after their end until retention removes them: rows
//! of one SQLite database in the work dir (`jobs.sqlite`), not a directory each.
//!
//! A directory per job made every restart read every retained job, held each in memory
//! and cost 20 KB of disk for a trivial one. Here a restart opens one file, memory is
//! SQLite's page caches whatever the count, and a trivial job is one row of a few hundred
//! bytes. Why SQLite rather than segment files of our own: a crash-safe B-tree with the
//! three indexes the runner needs (by id; by owner, newest first; by end, for retention),
//! already compiled into the workspace for the engine.
//!
//! A job's directory stays the durable record until its row is committed; only then is
//! the directory removed (a little later, see the registry), so a crash in between leaves
//! both and recovery removes the directory. Outputs up to [`INLINE_MAX`] are kept in the
//! row; larger ones are hard-linked into `outputs/<2 hex>/<id>` before the commit, so
//! they are never copied.

use std::{
    collections::BTreeSet,
    fs, io,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, PoisonError},
};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sqlflow_jobdir::{self as jobdir, FinalCode, FinalStatus, StepInput};
use sqlflow_proto::sqlflow::JobInfo;

use crate::job::{Meta, Phase};

/// The database, in the work dir. Not a job id, so recovery never takes it for a job.
pub const DB: &str = "jobs.sqlite";
/// Outputs too large for a row, in the work dir.
pub const OUTPUTS: &str = "outputs";
/// Outputs up to this many bytes live in the row: the common result, a table of a few
/// rows, costs no file. Larger ones would bloat the B-tree with overflow pages.
pub const INLINE_MAX: u64 = 64 * 1024;
/// The layout this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;
/// Read connections kept open for Fetch and ListJobs (more are opened under load).
const IDLE_READERS: usize = 4;
/// Rows removed per transaction by retention, so a large expiry never holds the writer
/// for long.
const EXPIRE_BATCH: usize = 1000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL,
    code INTEGER NOT NULL,
    message TEXT NOT NULL,
    program TEXT NOT NULL,
    datasource TEXT NOT NULL,
    output BLOB
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (user_id, submitted_at_ms, id);
CREATE INDEX IF NOT EXISTS jobs_by_end ON jobs (finished_at_ms);
CREATE INDEX IF NOT EXISTS jobs_by_request ON jobs (user_id, request_id) WHERE request_id <> '';
CREATE TABLE IF NOT EXISTS counts (code INTEGER PRIMARY KEY, n INTEGER NOT NULL);
INSERT OR IGNORE INTO counts VALUES (0, 0), (1, 0), (2, 0);
CREATE TRIGGER IF NOT EXISTS jobs_counted_in AFTER INSERT ON jobs
    BEGIN UPDATE counts SET n = n + 1 WHERE code = NEW.code; END;
CREATE TRIGGER IF NOT EXISTS jobs_counted_out AFTER DELETE ON jobs
    BEGIN UPDATE counts SET n = n - 1 WHERE code = OLD.code; END;
";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(
        "{path} was written by a newer server (layout {found}, this one reads up to {SCHEMA_VERSION}); run that version or move the file away"
    )]
    Newer { path: String, found: i64 },
}

/// Where a finished job's output is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Inline(Vec<u8>),
    File(PathBuf),
}

/// A finished job as Fetch and Cancel need it.
#[derive(Debug, Clone)]
pub struct Archived {
    pub info: JobInfo,
    pub status: FinalStatus,
    pub output: Output,
}

/// The request a retried Run is compared with.
pub struct FirstRequest {
    pub id: String,
    pub program: String,
    pub datasource: String,
}

/// One job to archive: everything its row holds.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub meta: Meta,
    pub status: FinalStatus,
    pub input: StepInput,
    pub output: Output,
}

impl Entry {
    /// What the archive keeps of the finished job in `dir`. A large output is linked into
    /// `outputs/` (made durable by [`Archive::put`] before its row).
    pub fn from_dir(
        archive: &Archive,
        id: &str,
        dir: &Path,
        meta: &Meta,
        status: &FinalStatus,
    ) -> io::Result<Entry> {
        let input: StepInput = jobdir::read_json(dir, jobdir::JOB)?;
        let output_path = dir.join(jobdir::OUTPUT);
        let output = match fs::metadata(&output_path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Output::Inline(Vec::new()),
            Err(e) => return Err(e),
            Ok(m) if m.len() <= INLINE_MAX => Output::Inline(fs::read(&output_path)?),
            Ok(_) => {
                let kept = archive.output_file(id);
                if let Some(shard) = kept.parent() {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(shard)?;
                }
                // Left over by an archive that crashed before its commit.
                match fs::remove_file(&kept) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                fs::hard_link(&output_path, &kept)?;
                Output::File(kept)
            }
        };
        Ok(Entry {
            id: id.to_string(),
            meta: meta.clone(),
            status: status.clone(),
            input,
            output,
        })
    }
}

pub struct Archive {
    path: PathBuf,
    outputs: PathBuf,
    sync: bool,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Archive {
    /// Opens (or creates) the archive in `work_dir`. A file that is not a database, or is
    /// damaged where opening reads it, is moved into `quarantine` and a new archive is
    /// started, so the runner still serves: the returned note says what was lost.
    pub fn open(
        work_dir: &Path,
        quarantine: &Path,
        sync: bool,
    ) -> Result<(Archive, Option<String>), ArchiveError> {
        let path = work_dir.join(DB);
        match Archive::open_at(&path, work_dir, sync) {
            Ok(a) => Ok((a, None)),
            Err(ArchiveError::Db(e)) if is_damage(&e) => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(quarantine)?;
                let dest = quarantine.join(format!("jobs-{}.sqlite", jobdir::now_ms()));
                fs::rename(&path, &dest)?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    let _ = fs::rename(&side, format!("{}{suffix}", dest.display()));
                }
                let note = format!(
                    "the finished-jobs archive {} cannot be read ({e}); it was moved to {} and a new one started: the jobs it held are no longer served",
                    path.display(),
                    dest.display()
                );
                Ok((Archive::open_at(&path, work_dir, sync)?, Some(note)))
            }
            Err(e) => Err(e),
        }
    }

    fn open_at(path: &Path, work_dir: &Path, sync: bool) -> Result<Archive, ArchiveError> {
        // Made 0600 before SQLite opens it: rows hold datasources, with their passwords.
        // SQLite gives its -wal and -shm files the same mode.
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let writer = connect(path, sync, -2000)?;
        let version: i64 = writer.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(ArchiveError::Newer {
                path: path.display().to_string(),
                found: version,
            });
        }
        writer.execute_batch(SCHEMA)?;
        writer.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        // Reads a page of every table, so a file damaged at its root fails here.
        writer.query_row("SELECT SUM(n) FROM counts", [], |r| {
            r.get::<_, Option<i64>>(0)
        })?;
        Ok(Archive {
            path: path.to_path_buf(),
            outputs: work_dir.join(OUTPUTS),
            sync,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a read connection: readers do not wait for the writer's commits (WAL).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, ArchiveError> {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => connect(&self.path, self.sync, -512)?,
        };
        let out = f(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        Ok(out?)
    }

    /// Where a large output of job `id` is kept.
    pub fn output_file(&self, id: &str) -> PathBuf {
        self.outputs.join(id.get(..2).unwrap_or("00")).join(id)
    }

    /// Records finished jobs in one transaction, durable when this returns (with
    /// `sync_writes`). A job already archived is left as it is.
    pub fn put(&self, entries: &[Entry]) -> Result<(), ArchiveError> {
        if entries.is_empty() {
            return Ok(());
        }
        if self.sync {
            // The links to large outputs, before the rows that name them.
            let shards: BTreeSet<PathBuf> = entries
                .iter()
                .filter_map(|e| match &e.output {
                    Output::File(p) => p.parent().map(Path::to_path_buf),
                    Output::Inline(_) => None,
                })
                .collect();
            for shard in shards {
                jobdir::sync_dir(&shard)?;
            }
        }
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO jobs (id, user_id, request_id, summary, submitted_at_ms, \
                 finished_at_ms, code, message, program, datasource, output) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for e in entries {
                let output: Option<&[u8]> = match &e.output {
                    Output::Inline(bytes) => Some(bytes),
                    Output::File(_) => None,
                };
                insert.execute(params![
                    e.id,
                    e.meta.user_id,
                    e.meta.request_id,
                    e.meta.summary,
                    clamp(e.meta.submitted_at_ms),
                    clamp(e.status.finished_at_ms),
                    code_number(e.status.code),
                    e.status.message,
                    e.input.program,
                    e.input.session.db_conn_str,
                    output,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether job `id` is archived.
    pub fn contains(&self, id: &str) -> Result<bool, ArchiveError> {
        self.read(|c| {
            c.prepare_cached("SELECT 1 FROM jobs WHERE id = ?1")?
                .exists([id])
        })
    }

    /// Job `id` if `user` owns it.
    pub fn get(&self, id: &str, user: &str) -> Result<Option<Archived>, ArchiveError> {
        let row = self.read(|c| {
            c.prepare_cached(
                "SELECT submitted_at_ms, finished_at_ms, code, message, summary, request_id, \
                 output FROM jobs WHERE id = ?1 AND user_id = ?2",
            )?
            .query_row(params![id, user], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<Vec<u8>>>(6)?,
                ))
            })
            .optional()
        })?;
        let Some((submitted, finished, code, message, summary, request_id, output)) = row else {
            return Ok(None);
        };
        let code = final_code(code);
        let status = FinalStatus {
            code,
            message,
            finished_at_ms: finished.max(0) as u64,
        };
        Ok(Some(Archived {
            info: info(id.to_string(), &status, submitted, summary, request_id),
            output: match output {
                Some(bytes) => Output::Inline(bytes),
                None => Output::File(self.output_file(id)),
            },
            status,
        }))
    }

    /// The job an earlier Run of `user` with `request_id` made, if archived.
    pub fn first_request(
        &self,
        user: &str,
        request_id: &str,
    ) -> Result<Option<FirstRequest>, ArchiveError> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT id, program, datasource FROM jobs \
                 WHERE user_id = ?1 AND request_id = ?2 AND request_id <> ''",
            )?
            .query_row(params![user, request_id], |r| {
                Ok(FirstRequest {
                    id: r.get(0)?,
                    program: r.get(1)?,
                    datasource: r.get(2)?,
                })
            })
            .optional()
        })
    }

    /// Up to `limit` of `user`'s jobs submitted before `before` (submission ms, id),
    /// newest first.
    pub fn list(
        &self,
        user: &str,
        before: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<JobInfo>, ArchiveError> {
        const COLUMNS: &str = "SELECT id, submitted_at_ms, finished_at_ms, code, message, \
                               summary, request_id FROM jobs WHERE user_id = ?1";
        // Both walk the owner's index backwards from where the page starts.
        let row = |r: &rusqlite::Row<'_>| {
            let status = FinalStatus {
                code: final_code(r.get(3)?),
                message: r.get(4)?,
                finished_at_ms: r.get::<_, i64>(2)?.max(0) as u64,
            };
            Ok(info(r.get(0)?, &status, r.get(1)?, r.get(5)?, r.get(6)?))
        };
        self.read(|c| match before {
            None => c
                .prepare_cached(&format!(
                    "{COLUMNS} ORDER BY submitted_at_ms DESC, id DESC LIMIT ?2"
                ))?
                .query_map(params![user, limit as i64], row)?
                .collect(),
            Some((ms, id)) => c
                .prepare_cached(&format!(
                    "{COLUMNS} AND (submitted_at_ms, id) < (?2, ?3) \
                     ORDER BY submitted_at_ms DESC, id DESC LIMIT ?4"
                ))?
                .query_map(params![user, clamp(ms), id, limit as i64], row)?
                .collect(),
        })
    }

    /// How many archived jobs ended with each code.
    pub fn counts(&self) -> Result<Vec<(FinalCode, u64)>, ArchiveError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT code, n FROM counts")?;
            let rows = st.query_map([], |r| {
                Ok((final_code(r.get(0)?), r.get::<_, i64>(1)?.max(0) as u64))
            })?;
            rows.collect()
        })
    }

    /// Removes jobs that finished before `horizon_ms`, rows and output files, oldest
    /// first and a batch per transaction: the work is proportional to what expires.
    /// Returns how many were removed.
    pub fn expire(&self, horizon_ms: u64) -> Result<usize, ArchiveError> {
        let mut removed = 0;
        loop {
            let mut conn = self.writer();
            let tx = conn.transaction()?;
            let batch: Vec<(String, bool)> = {
                let mut st = tx.prepare_cached(
                    "SELECT id, output IS NULL FROM jobs WHERE finished_at_ms < ?1 \
                     ORDER BY finished_at_ms LIMIT ?2",
                )?;
                let rows = st.query_map(params![clamp(horizon_ms), EXPIRE_BATCH as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            {
                let mut delete = tx.prepare_cached("DELETE FROM jobs WHERE id = ?1")?;
                for (id, _) in &batch {
                    delete.execute([id])?;
                }
            }
            tx.commit()?;
            drop(conn);
            // After the commit: a crash in between leaves a file no row names, never a
            // row naming no file.
            for (id, in_file) in &batch {
                if *in_file {
                    let _ = fs::remove_file(self.output_file(id));
                }
            }
            removed += batch.len();
            if batch.len() < EXPIRE_BATCH {
                return Ok(removed);
            }
        }
    }
}

/// A connection with the settings every one shares.
fn connect(path: &Path, sync: bool, cache_kib: i64) -> Result<Connection, ArchiveError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL: readers never wait for a commit, and a commit is one append and one flush.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL flushes the log at every commit: a row is durable before its job's directory
    // (the durable record until then) is removed. Without sync_writes, a crash still
    // loses nothing (the directory stays until the commit).
    conn.pragma_update(None, "synchronous", if sync { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "cache_size", cache_kib)?;
    Ok(conn)
}

/// Errors that mean the file is damaged or not a database, not a passing condition.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

fn info(
    id: String,
    status: &FinalStatus,
    submitted_at_ms: i64,
    summary: String,
    request_id: String,
) -> JobInfo {
    JobInfo {
        job_id: id,
        status: Some(Phase::Done(status.clone()).status()),
        submitted_at_ms,
        finished_at_ms: status.finished_at_ms as i64,
        summary,
        request_id,
    }
}

fn code_number(code: FinalCode) -> i64 {
    match code {
        FinalCode::Succeeded => 0,
        FinalCode::Failed => 1,
        FinalCode::Cancelled => 2,
    }
}

/// A stored code; an unknown number (a damaged row) reads as a failure, not a success.
fn final_code(n: i64) -> FinalCode {
    match n {
        0 => FinalCode::Succeeded,
        2 => FinalCode::Cancelled,
        _ => FinalCode::Failed,
    }
}

/// Milliseconds as SQLite's signed integers.
fn clamp(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use sqlflow_jobdir::JobSession;

    use super::*;

    fn entry(id: &str, user: &str, submitted: u64, finished: u64, output: Output) -> Entry {
        Entry {
            id: id.to_string(),
            meta: Meta {
                user_id: user.to_string(),
                submitted_at_ms: submitted,
                request_id: format!("req-{id}"),
                summary: "SELECT 1".to_string(),
                ..Meta::default()
            },
            status: FinalStatus {
                code: FinalCode::Succeeded,
                message: String::new(),
                finished_at_ms: finished,
            },
            input: StepInput {
                program: "SELECT 1;".to_string(),
                session: JobSession {
                    db_conn_str: "sqlite://x.db".to_string(),
                    ..JobSession::default()
                },
            },
            output,
        }
    }

    fn id(n: u32) -> String {
        format!("{n:032x}")
    }

    fn open(dir: &Path) -> Archive {
        let (a, lost) = Archive::open(dir, &dir.join(".quarantine"), true).unwrap();
        assert!(lost.is_none());
        a
    }

    #[test]
    fn rows_read_back_as_written_and_only_by_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let a = open(dir.path());
        let e = entry(&id(1), "alice", 10, 20, Output::Inline(b"line\n".to_vec()));
        a.put(std::slice::from_ref(&e)).unwrap();
        // Putting again (a crash after the commit, before the directory went) changes nothing.
        a.put(&[e]).unwrap();
        let got = a.get(&id(1), "alice").unwrap().unwrap();
        assert_eq!(got.output, Output::Inline(b"line\n".to_vec()));
        assert_eq!(got.status.finished_at_ms, 20);
        assert_eq!(got.info.submitted_at_ms, 10);
        assert_eq!(got.info.request_id, format!("req-{}", id(1)));
        assert!(a.get(&id(1), "bob").unwrap().is_none());
        assert!(a.contains(&id(1)).unwrap());
        assert!(!a.contains(&id(2)).unwrap());
        let first = a
            .first_request("alice", &format!("req-{}", id(1)))
            .unwrap()
            .unwrap();
        assert_eq!(
            (first.program.as_str(), first.datasource.as_str()),
            ("SELECT 1;", "sqlite://x.db")
        );
        assert!(
            a.first_request("bob", &format!("req-{}", id(1)))
                .unwrap()
                .is_none()
        );
        assert!(a.first_request("alice", "").unwrap().is_none());
        let counts = a.counts().unwrap();
        assert!(counts.contains(&(FinalCode::Succeeded, 1)), "{counts:?}");
    }

    #[test]
    fn listing_pages_newest_first_from_any_bound() {
        let dir = tempfile::tempdir().unwrap();
        let a = open(dir.path());
        // Two jobs share a submission time: the id breaks the tie.
        let entries: Vec<Entry> = (1..=5)
            .map(|n| {
                entry(
                    &id(n),
                    "alice",
                    u64::from(n.min(4)),
                    100,
                    Output::Inline(Vec::new()),
                )
            })
            .chain([entry(&id(9), "bob", 3, 100, Output::Inline(Vec::new()))])
            .collect();
        a.put(&entries).unwrap();
        let ids = |v: Vec<JobInfo>| v.into_iter().map(|i| i.job_id).collect::<Vec<_>>();
        assert_eq!(
            ids(a.list("alice", None, 10).unwrap()),
            [id(5), id(4), id(3), id(2), id(1)]
        );
        assert_eq!(ids(a.list("alice", None, 2).unwrap()), [id(5), id(4)]);
        let after = id(4);
        assert_eq!(
            ids(a.list("alice", Some((4, &after)), 2).unwrap()),
            [id(3), id(2)]
        );
        assert_eq!(ids(a.list("alice", Some((2, "")), 10).unwrap()), [id(1)]);
        assert_eq!(ids(a.list("bob", None, 10).unwrap()), [id(9)]);
    }

    #[test]
    fn expiry_removes_rows_and_output_files_of_what_expired_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = open(dir.path());
        let job_dir = dir.path().join("job");
        fs::create_dir(&job_dir).unwrap();
        let mut entries = Vec::new();
        for n in 0..2500u32 {
            entries.push(entry(
                &id(n),
                "u",
                1,
                u64::from(n),
                Output::Inline(Vec::new()),
            ));
        }
        // A large output, kept as a file and expiring with its row.
        fs::write(
            job_dir.join(jobdir::OUTPUT),
            vec![b'x'; INLINE_MAX as usize + 1],
        )
        .unwrap();
        fs::write(
            job_dir.join(jobdir::JOB),
            serde_json::to_vec(&entries[0].input).unwrap(),
        )
        .unwrap();
        let big = Entry::from_dir(
            &a,
            &id(10_000),
            &job_dir,
            &entries[0].meta,
            &FinalStatus {
                code: FinalCode::Failed,
                message: "boom".to_string(),
                finished_at_ms: 5,
            },
        )
        .unwrap();
        let file = a.output_file(&id(10_000));
        assert_eq!(big.output, Output::File(file.clone()));
        entries.push(big);
        a.put(&entries).unwrap();
        assert!(file.exists());
        assert_eq!(a.expire(2200).unwrap(), 2201);
        assert!(!file.exists(), "the expired job's output file is removed");
        assert!(!a.contains(&id(0)).unwrap());
        assert!(a.contains(&id(2200)).unwrap());
        let counts = a.counts().unwrap();
        assert!(counts.contains(&(FinalCode::Succeeded, 300)), "{counts:?}");
        assert!(counts.contains(&(FinalCode::Failed, 0)), "{counts:?}");
        assert_eq!(a.expire(2200).unwrap(), 0);
    }

    #[test]
    fn a_damaged_archive_is_set_aside_and_a_new_one_started() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(DB), vec![0x5a; 8192]).unwrap();
        let (a, lost) = Archive::open(dir.path(), &dir.path().join(".quarantine"), true).unwrap();
        let lost = lost.expect("the damage is reported");
        assert!(lost.contains("moved to"), "{lost}");
        a.put(&[entry(&id(1), "u", 1, 1, Output::Inline(Vec::new()))])
            .unwrap();
        assert!(a.contains(&id(1)).unwrap());
        let kept: Vec<_> = fs::read_dir(dir.path().join(".quarantine"))
            .unwrap()
            .collect();
        assert_eq!(kept.len(), 1, "the damaged file is kept for the operator");
    }

    #[test]
    fn an_archive_of_a_newer_layout_is_refused_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()));
        let c = Connection::open(dir.path().join(DB)).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(c);
        let Err(e) = Archive::open(dir.path(), &dir.path().join(".quarantine"), true) else {
            panic!("opened an archive of a newer layout");
        };
        assert!(e.to_string().contains("newer server"), "{e}");
    }
}
