//! Conformance checks for a job runner plugin `.so`, through the same loader and ABI the
//! server uses: one named check per server promise, each skipped only when the runner
//! declares (with `Runner::features`) that it does not keep that promise. A runner
//! author calls [`check_runner`] from a test in the runner's crate:
//!
//! ```no_run
//! use std::time::Duration;
//! use sqlflow_runner_testkit::{Fixtures, Limit, TempDir, check_runner, deps_dir};
//!
//! // `cargo test` leaves the crate's own cdylib in target/<profile>/deps.
//! let so = deps_dir().join(sqlflow_plugin_api::library_file_name("my"));
//! let tmp = TempDir::new("my-runner-kit").unwrap();
//! let fx = Fixtures::sqlite(&tmp.path().join("kit.db"));
//! let memory_hog = fx.over_memory_program.clone();
//! // The settings of the promises that depend on them (leave out those not declared).
//! let fx = fx
//!     .with_queueing(r#"{"max_running_per_user": 1}"#)
//!     .with_limit(Limit {
//!         what: "memory".into(),
//!         config: r#"{"memory_mb": 256}"#.into(),
//!         program: memory_hog,
//!         names: "memory_mb = 256".into(),
//!     })
//!     .with_retention(
//!         r#"{"retention_seconds": 2}"#,
//!         Duration::from_secs(2),
//!         Duration::from_secs(2),
//!     );
//! let report = check_runner(&so, "{}", &fx);
//! println!("{report}"); // the table of checks
//! report.assert_all_passed();
//! ```
//!
//! Three promises show only under settings of the runner's own: queueing (a cap on a
//! user's running jobs), limits (a small limit and a program that breaks it) and
//! retention (a short retention period). A runner declaring them gives the kit those
//! settings in its [`Fixtures`] ([`Fixtures::with_queueing`], [`Fixtures::with_limit`],
//! [`Fixtures::with_retention`]); each is a whole configuration (the runner's
//! `[runners.<name>]` table as JSON), from which the kit creates a runner of its own for
//! that check and drops it after. A runner that declares such a promise without giving
//! its setting fails that check, told what to give.
//!
//! The kit depends on no async runtime and turns on no feature of `sqlflow-plugin-api`,
//! so as a dev-dependency it does not change how the runner under test is built: the
//! `.so` that `cargo test` checks is the one `cargo build` ships.

#![deny(missing_docs)]

mod checks;
mod waker;

use std::{
    fmt, io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use sqlflow_plugin_api::Features;
use sqlflow_plugin_host::{self as loader, Plugin, PluginRunner, TracingHost};

/// The programs the checks submit, for the runner's datasource.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// The datasource every program runs on.
    pub datasource: String,
    /// Succeeds and returns at least one table.
    pub ok_program: String,
    /// Its first statement succeeds and returns a table; its second fails.
    pub failing_program: String,
    /// Runs for an hour without output or CPU, holding the database's write lock while
    /// it runs (so [`after_cancel_program`](Self::after_cancel_program) can tell whether
    /// its process is gone).
    pub slow_program: String,
    /// Writes where the slow program holds the lock: it succeeds only once the slow
    /// program's process is gone.
    pub after_cancel_program: String,
    /// Returns a table after about two seconds, then runs for an hour without output.
    pub late_output_program: String,
    /// Returns [`large_rows`](Self::large_rows) rows, several MiB in all.
    pub large_program: String,
    /// How many rows the large program returns.
    pub large_rows: usize,
    /// Allocates about 400 MB at once (a blob), so it fails under a memory limit of a
    /// few hundred MiB: the program of a [`Limit`] on memory.
    pub over_memory_program: String,
    /// Returns one row of one 100 KB value: the program of a [`Limit`] on the size of
    /// one record.
    pub big_record_program: String,
    /// How long the ok program may take, start to end, on this runner.
    pub finish_within: Duration,
    /// How long a cancel may take to end a job.
    pub cancel_within: Duration,
    /// The setting that makes queueing observable; `None`: a runner declaring
    /// [`Features::QUEUEING`] fails the "queueing" check.
    pub queueing: Option<Queueing>,
    /// Limits to break, each under its own setting; empty: a runner declaring
    /// [`Features::LIMITS`] fails the "limits" check.
    pub limits: Vec<Limit>,
    /// The setting that makes retention observable; `None`: a runner declaring
    /// [`Features::RETENTION`] fails the "retention" check.
    pub retention: Option<Retention>,
}

/// A configuration under which one user may run at most **one** job at once (more wait
/// as `PENDING`) while two users' jobs may run together: the "queueing" check.
///
/// The check runs a runner created from `config`: a user's slow job runs, the same
/// user's second job must stay `PENDING` (no output) while another user's job runs to its
/// end, and once the first is cancelled the second must run and succeed.
#[derive(Debug, Clone)]
pub struct Queueing {
    /// The runner's `[runners.<name>]` table as JSON (for the local runner:
    /// `max_running_per_user = 1`). Give it storage of its own (the local runner's
    /// `work_dir`): the kit's other runners may still hold their jobs.
    pub config: String,
}

/// One limit the runner enforces, set small, and a program that breaks it: the
/// "limits" check, once per [`Limit`].
///
/// Under a runner created from `config`, `program` must end `FAILED` with a message
/// containing `names`; then the runner must report itself healthy and still run the ok
/// program to success.
#[derive(Debug, Clone)]
pub struct Limit {
    /// What is limited, for the report ("memory", "record size", ...).
    pub what: String,
    /// The runner's `[runners.<name>]` table as JSON, with this limit small (and
    /// storage of its own, as for [`Queueing::config`]).
    pub config: String,
    /// A program that breaks the limit under `config` (for memory:
    /// [`Fixtures::over_memory_program`]).
    pub program: String,
    /// What the failed job's message must contain to name the limit, e.g. the
    /// configuration key (`limits.memory_mb`).
    pub names: String,
}

/// A configuration with a short retention period: the "retention" check.
///
/// Under a runner created from `config`, a finished job must be fetchable (and listed,
/// with [`Features::LIST_JOBS`]) right after it ends, and gone (`NOT_FOUND`, and no longer
/// listed) at most `retention + sweep_within` after it ended, though not long before
/// `retention`; a job running for longer than that must stay. The check runs two jobs of
/// one user at once: let the setting allow that.
#[derive(Debug, Clone)]
pub struct Retention {
    /// The runner's `[runners.<name>]` table as JSON, with the retention period set to
    /// [`retention`](Self::retention) (and storage of its own, as for
    /// [`Queueing::config`]).
    pub config: String,
    /// The retention period `config` sets; keep it to a few seconds.
    pub retention: Duration,
    /// How long after the period ends the runner may take to remove a job (its sweep
    /// interval and then some).
    pub sweep_within: Duration,
}

impl Fixtures {
    /// With the setting for the "queueing" check: `config`, under which a user runs at
    /// most one job at once (see [`Queueing`]).
    pub fn with_queueing(mut self, config: impl Into<String>) -> Self {
        self.queueing = Some(Queueing {
            config: config.into(),
        });
        self
    }

    /// With one more limit for the "limits" check (see [`Limit`]).
    pub fn with_limit(mut self, limit: Limit) -> Self {
        self.limits.push(limit);
        self
    }

    /// With the setting for the "retention" check: `config` keeps finished jobs for
    /// `retention`, and removes them within `sweep_within` after that (see
    /// [`Retention`]).
    pub fn with_retention(
        mut self,
        config: impl Into<String>,
        retention: Duration,
        sweep_within: Duration,
    ) -> Self {
        self.retention = Some(Retention {
            config: config.into(),
            retention,
            sweep_within,
        });
        self
    }
}

impl Fixtures {
    /// Programs for a SQLite database at `path` (sqlflow-rs's SQLite has MySQL's
    /// `sleep()`), and no settings: add those of the promises the runner declares with
    /// [`with_queueing`](Self::with_queueing), [`with_limit`](Self::with_limit) and
    /// [`with_retention`](Self::with_retention).
    pub fn sqlite(path: &Path) -> Self {
        Fixtures {
            datasource: format!("sqlite://{}", path.display()),
            ok_program: "CREATE TABLE IF NOT EXISTS kit(a INTEGER, b TEXT);\n\
                         INSERT INTO kit VALUES (1, 'one'), (2, NULL);\n\
                         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)\n\
                         SELECT i, 'row ' || i AS label, i * 0.5 AS half FROM n;"
                .into(),
            failing_program: "SELECT 1 AS first; SELECT * FROM no_such_table_anywhere; SELECT 3;"
                .into(),
            slow_program: "CREATE TABLE IF NOT EXISTS kit_lock(x INTEGER);\n\
                           INSERT INTO kit_lock SELECT sleep(3600);"
                .into(),
            after_cancel_program: "CREATE TABLE IF NOT EXISTS kit_lock(x INTEGER);\n\
                                   INSERT INTO kit_lock VALUES (1);"
                .into(),
            late_output_program: "SELECT sleep(2) AS slept; SELECT sleep(3600);".into(),
            large_program: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                            WHERE i < 60000) SELECT i, printf('%080d', i) AS padded FROM n;"
                .into(),
            large_rows: 60_000,
            over_memory_program: "SELECT length(randomblob(400000000)) AS n;".into(),
            big_record_program: "SELECT hex(zeroblob(50000)) AS big;".into(),
            finish_within: Duration::from_secs(30),
            cancel_within: Duration::from_secs(5),
            queueing: None,
            limits: Vec::new(),
            retention: None,
        }
    }
}

/// What became of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The runner keeps the promise, as far as the check can tell.
    Passed,
    /// It does not: why.
    Failed(String),
    /// The runner declares it does not keep this promise (and the host says so at
    /// start-up).
    NotOffered,
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's name.
    pub name: &'static str,
    /// The optional promise it checks ([`Features::NONE`] for a promise every runner
    /// keeps).
    pub promise: Features,
    /// What became of it.
    pub outcome: Outcome,
}

/// The outcome of every check.
#[derive(Debug)]
pub struct Report {
    /// The plugin: name, version and file.
    pub plugin: String,
    /// The promises it declares.
    pub features: Features,
    /// One result per check, in the order they ran.
    pub results: Vec<CheckResult>,
}

impl Report {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.results
            .iter()
            .all(|r| !matches!(r.outcome, Outcome::Failed(_)))
    }

    /// Panics with the table when a check failed.
    pub fn assert_all_passed(&self) {
        assert!(self.passed(), "{self}");
    }

    /// The outcome of the check `name`, if it ran.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.results
            .iter()
            .find(|r| r.name == name)
            .map(|r| &r.outcome)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of {}:", self.plugin)?;
        writeln!(f, "  {:<34} {:<22} result", "check", "promise")?;
        for r in &self.results {
            let promise = Features::NAMED
                .iter()
                .find(|(flag, _)| *flag == r.promise)
                .map_or("(every runner)", |(_, name)| name);
            let result = match &r.outcome {
                Outcome::Passed => "passed".to_string(),
                Outcome::Failed(why) => format!("FAILED: {why}"),
                Outcome::NotOffered => "skipped: the runner does not offer it".to_string(),
            };
            writeln!(f, "  {:<34} {promise:<22} {result}", r.name)?;
        }
        Ok(())
    }
}

/// `target/<profile>/deps` of the running test binary: where `cargo test` leaves the
/// cdylib of the crate under test (and of its dev-dependencies).
pub fn deps_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

/// A directory removed when dropped, for the fixtures' database and the runner's files.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory in the system's temporary directory, its name starting with
    /// `prefix`.
    pub fn new(prefix: &str) -> io::Result<TempDir> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(TempDir(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Loads the plugin at `path`, creates a runner from `config_json` (its
/// `[runners.<name>]` table as JSON), and runs every check.
pub fn check_runner(path: &Path, config_json: &str, fx: &Fixtures) -> Report {
    let plugin = match loader::load(path) {
        Ok(p) => p,
        Err(e) => {
            return Report {
                plugin: path.display().to_string(),
                features: Features::NONE,
                results: vec![result("loads", Features::NONE, Err(e.to_string()))],
            };
        }
    };
    let name = format!("{} {} ({})", plugin.name, plugin.version, path.display());
    let runner = match create(&plugin, config_json) {
        Ok(r) => r,
        Err(e) => {
            return Report {
                plugin: name,
                features: Features::NONE,
                results: vec![
                    result("loads", Features::NONE, Ok(())),
                    result("creates", Features::NONE, Err(e)),
                ],
            };
        }
    };
    let features = runner.features();
    let mut kit = checks::Kit {
        runner,
        plugin,
        config: config_json.to_string(),
        fx: fx.clone(),
    };
    let mut results = vec![
        result("loads", Features::NONE, Ok(())),
        result("creates", Features::NONE, Ok(())),
    ];
    for (check_name, promise, check) in checks::ALL {
        let outcome = if !features.contains(*promise) {
            Outcome::NotOffered
        } else {
            to_outcome(check(&mut kit))
        };
        results.push(CheckResult {
            name: check_name,
            promise: *promise,
            outcome,
        });
    }
    Report {
        plugin: name,
        features,
        results,
    }
}

fn result(name: &'static str, promise: Features, r: Result<(), String>) -> CheckResult {
    CheckResult {
        name,
        promise,
        outcome: to_outcome(r),
    }
}

fn to_outcome(r: Result<(), String>) -> Outcome {
    match r {
        Ok(()) => Outcome::Passed,
        Err(e) => Outcome::Failed(e),
    }
}

fn create(plugin: &Plugin, config_json: &str) -> Result<PluginRunner, String> {
    plugin
        .create(config_json, TracingHost::boxed(plugin.name.clone()))
        .map_err(|e| format!("{:?}: {}", e.code, e.message))
}
