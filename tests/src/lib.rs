//! Test harness: starts the real `sqlflow-server` binary with a real runner plugin in a
//! temporary directory, and gives gRPC and CLI access to it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use sqlflow_grpc::sql_flow_client::SqlFlowClient;
use sqlflow_proto::sqlflow::{
    FetchRequest, JobId, JobStatus, Request, Response, Responses, Session, response,
};
use tonic::transport::Channel;

pub mod results;
/// The protocol's messages and the generated client, under one name for the tests.
pub mod sqlflow {
    pub use sqlflow_grpc::sql_flow_client;
    pub use sqlflow_proto::sqlflow::*;
}

/// Runs a command that must succeed (the failure shows its stderr) and returns its output.
pub fn output_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run the command");
    assert!(
        out.status.success(),
        "{:?} failed ({}): {}",
        cmd.get_program(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// target/<profile>, where cargo puts the binaries.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    // Tests run from target/<profile>/deps/, binaries (the bench) from target/<profile>/.
    let dir = exe.parent().expect("executable directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("target/<profile>").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Where the runner .so files are: target/<profile>/deps for tests (built there as
/// dev-dependencies), else target/<profile> (after `cargo build`).
pub fn plugin_dir() -> PathBuf {
    let deps = profile_dir().join("deps");
    if deps.join("liblocal_runner.so").is_file() {
        deps
    } else {
        profile_dir()
    }
}

/// A workspace binary; `cargo test --workspace` builds them all before running tests.
pub fn bin(name: &str) -> PathBuf {
    let p = profile_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: run the suite with `cargo test --workspace`, which builds every binary",
        p.display()
    );
    p
}

pub struct ServerBuilder {
    tables: String,
    sync_writes: bool,
    work_dir: Option<PathBuf>,
    extra_toml: String,
    local_runner_toml: String,
    env: Vec<(String, String)>,
    dir: Option<tempfile::TempDir>,
    args: Vec<String>,
}

impl ServerBuilder {
    /// Lines added to the top level of sqlflow.toml.
    pub fn toml(mut self, lines: &str) -> Self {
        self.extra_toml.push_str(lines);
        self.extra_toml.push('\n');
        self
    }

    /// Users and their tokens (authentication on).
    pub fn users(mut self, users: &[(&str, &str)]) -> Self {
        for (name, token) in users {
            self.tables.push_str(&format!(
                "[[auth.users]]\nname = \"{name}\"\ntoken_sha256 = \"{}\"\n",
                sha256_hex(token)
            ));
        }
        self
    }

    /// Lines added to `[runners.local]`.
    pub fn local_runner(mut self, lines: &str) -> Self {
        self.local_runner_toml.push_str(lines);
        self.local_runner_toml.push('\n');
        self
    }

    /// Where the local runner keeps job directories (default: `jobs` in the server's dir).
    pub fn work_dir(mut self, dir: &Path) -> Self {
        self.work_dir = Some(dir.to_path_buf());
        self
    }

    /// fsync job files (the production default; tests skip it for speed).
    pub fn sync_writes(mut self, on: bool) -> Self {
        self.sync_writes = on;
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    fn write_config(&self, dir: &Path) {
        let toml = format!(
            "listen = \"127.0.0.1:0\"\n\
             plugin_dir = \"{deps}\"\n\
             datasource = \"sqlite://test.db\"\n\
             {extra}\n\
             {tables}\n\
             [runners.local]\n\
             work_dir = \"{work}\"\n\
             step_binary = \"{step}\"\n\
             sync_writes = {sync}\n\
             {local}",
            sync = self.sync_writes,
            work = self
                .work_dir
                .as_deref()
                .unwrap_or(Path::new("jobs"))
                .display(),
            deps = plugin_dir().display(),
            step = bin("sqlflow-step").display(),
            extra = self.extra_toml,
            tables = self.tables,
            local = self.local_runner_toml,
        );
        fs::write(dir.join("sqlflow.toml"), toml).expect("write sqlflow.toml");
    }

    /// Runs the server and waits until it listens.
    pub fn start(mut self) -> Server {
        let dir = self
            .dir
            .take()
            .unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
        self.write_config(dir.path());
        let mut server = Server {
            child: None,
            addr: String::new(),
            metrics_addr: None,
            dir,
            env: self.env,
            args: self.args,
        };
        server.spawn();
        server
    }

    /// Runs the server expecting it to fail at start-up; returns its exit status and stderr.
    pub fn start_err(mut self) -> (ExitStatus, String) {
        let dir = self
            .dir
            .take()
            .unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
        self.write_config(dir.path());
        let out = Command::new(bin("sqlflow-server"))
            .args(["--config", "sqlflow.toml"])
            .args(&self.args)
            .current_dir(dir.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run sqlflow-server");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening on"),
            "the server started although it should not have:\n{stderr}"
        );
        (out.status, stderr)
    }
}

pub struct Server {
    child: Option<Child>,
    pub addr: String,
    /// `host:port` of the metrics endpoint, when configured.
    pub metrics_addr: Option<String>,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            tables: String::new(),
            sync_writes: false,
            work_dir: None,
            extra_toml: String::new(),
            local_runner_toml: String::new(),
            env: Vec::new(),
            dir: None,
            args: Vec::new(),
        }
    }

    pub fn start() -> Server {
        Self::builder().start()
    }

    /// The server's working directory (holds sqlflow.toml, jobs/, test.db).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn jobs_dir(&self) -> PathBuf {
        self.dir().join("jobs")
    }

    fn spawn(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir().join("server.log"))
            .expect("server log");
        let mut child = Command::new(bin("sqlflow-server"))
            .args(["--config", "sqlflow.toml"])
            .args(&self.args)
            .current_dir(self.dir())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start sqlflow-server");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let listening = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(m) = line.strip_prefix("metrics on ") {
                        self.metrics_addr = Some(m.to_string());
                    }
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break Ok(addr.to_string());
                    }
                }
                Err(e) => break Err(e),
            }
        };
        match listening {
            Ok(addr) => self.addr = addr,
            Err(_) => {
                let _ = child.kill();
                panic!("sqlflow-server did not start; its log:\n{}", self.log());
            }
        }
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("server.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub async fn client(&self) -> SqlFlowClient<Channel> {
        let channel = Channel::from_shared(self.url())
            .expect("server url")
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("connect to the server");
        SqlFlowClient::new(channel)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .expect("server url")
            .connect()
            .await
            .expect("connect to the server")
    }

    /// The `sqlflow` CLI, pointed at this server, run in the server's directory.
    pub fn cli(&self) -> Command {
        let mut c = Command::new(bin("sqlflow"));
        c.current_dir(self.dir())
            .env("SQLFLOW_SERVER", self.url())
            .env_remove("SQLFLOW_DATASOURCE")
            .env_remove("SQLFLOW_TOKEN");
        c
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        wait_with_timeout(&mut child, Duration::from_secs(15))
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again with the same directory, configuration and address.
    pub fn restart(&mut self) {
        self.kill9();
        self.start_again();
    }

    /// Starts a killed server again on the same address (clients keep their channel).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let addr = self.addr.clone();
        self.env.retain(|(k, _)| k != "SQLFLOW_LISTEN");
        self.env.push(("SQLFLOW_LISTEN".into(), addr));
        self.spawn();
    }
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Kill any job processes still running in this server's work dir.
        if let Ok(entries) = fs::read_dir(self.jobs_dir()) {
            for e in entries.flatten() {
                if let Ok(bytes) = fs::read(e.path().join("process.json"))
                    && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
                    && let Some(pgid) = v.get("pgid").and_then(|p| p.as_i64())
                {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pgid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
}

/// Submits `sql` on the default datasource.
pub async fn run(client: &mut SqlFlowClient<Channel>, sql: &str) -> String {
    run_with(
        client,
        Request {
            sql: sql.into(),
            session: Some(Session::default()),
            ..Default::default()
        },
    )
    .await
}

pub async fn run_with(client: &mut SqlFlowClient<Channel>, req: Request) -> String {
    client.run(req).await.expect("Run").into_inner().job_id
}

pub async fn fetch(
    client: &mut SqlFlowClient<Channel>,
    job: &str,
    cursor: &str,
    wait_ms: u32,
) -> Result<Responses, tonic::Status> {
    client
        .fetch(FetchRequest {
            job: Some(JobId { job_id: job.into() }),
            cursor: cursor.into(),
            wait_ms,
        })
        .await
        .map(|r| r.into_inner())
}

/// Follows a job to eof with long-polls; returns every response and the final status.
pub async fn fetch_all(
    client: &mut SqlFlowClient<Channel>,
    job: &str,
) -> (Vec<Response>, JobStatus) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut cursor = String::new();
    let mut all = Vec::new();
    loop {
        let r = fetch(client, job, &cursor, 2000).await.expect("Fetch");
        all.extend(r.response);
        cursor = r.next_cursor;
        if r.eof {
            return (all, r.job_status.unwrap_or_default());
        }
        assert!(
            Instant::now() < deadline,
            "job {job} did not finish within a minute"
        );
    }
}

/// Waits until the job reports `code` (or panics after `limit`).
pub async fn wait_for_status(
    client: &mut SqlFlowClient<Channel>,
    job: &str,
    code: sqlflow::job_status::Code,
    limit: Duration,
) -> JobStatus {
    let deadline = Instant::now() + limit;
    loop {
        let r = fetch(client, job, "", 0).await.expect("Fetch");
        let s = r.job_status.unwrap_or_default();
        if s.code() == code {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} is {:?} ({}), not {code:?}, after {limit:?}",
            s.code(),
            s.message
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The kinds of responses, for compact assertions: H(ead), R(ow), M(essage), F(igure),
/// E(oe).
pub fn shape(responses: &[Response]) -> String {
    responses
        .iter()
        .map(|r| match &r.response {
            Some(response::Response::Head(_)) => 'H',
            Some(response::Response::Row(_)) => 'R',
            Some(response::Response::Message(_)) => 'M',
            Some(response::Response::Figure(_)) => 'F',
            Some(response::Response::Eoe(_)) => 'E',
            None => '?',
        })
        .collect()
}

/// A program that runs for an hour without output or CPU (to cancel or kill).
pub const IDLE_SQL: &str = "SELECT sleep(3600)";

/// A program that runs for minutes on SQLite without output, burning CPU.
pub const SLOW_SQL: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000000) SELECT count(*) FROM n";

/// Whether a process exists and has not exited (a zombie whose parent died and that
/// nobody reaped yet counts as dead).
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The pid and process group the step process of `job` recorded.
pub fn job_process(server: &Server, job: &str) -> Option<(i32, i32)> {
    let bytes = fs::read(server.jobs_dir().join(job).join("process.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Some((
        v.get("pid")?.as_i64()? as i32,
        v.get("pgid")?.as_i64()? as i32,
    ))
}

/// SHA-256 of a token, hex, as `[auth] users` stores it.
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A request carrying a bearer token.
pub fn authed<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

/// Waits (up to 10 s) for the job's step process to record itself.
pub fn wait_job_process(server: &Server, job: &str) -> (i32, i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(p) = job_process(server, job) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} never recorded its process"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A small real file system (tmpfs) mounted on a fresh directory while this lives, to
/// fill up. Mounting needs root and a kernel that lets this sandbox mount; where it
/// cannot, `mount` says why, for the test to print and skip.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `size` as mount(8) reads it: "2m".
    pub fn mount(size: &str) -> Result<SmallDisk, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot make a mount point: {e}"))?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(SmallDisk { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk takes no more; removing it frees the space.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = fs::File::create(&path).expect("create the filler");
        // Big pieces first, then smaller ones down to a byte: nothing is left.
        for piece in [1 << 16, 1 << 12, 1] {
            let block = vec![b'f'; piece];
            while f.write_all(&block).is_ok() {}
        }
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        kill_jobs_in(self.path());
        // Lazy: a dying job may still hold a file open for a moment.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// SIGKILLs the process group of every job in `work_dir` (process.json records it).
pub fn kill_jobs_in(work_dir: &Path) {
    let Ok(entries) = fs::read_dir(work_dir) else {
        return;
    };
    for e in entries.flatten() {
        if let Ok(bytes) = fs::read(e.path().join("process.json"))
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(pgid) = v.get("pgid").and_then(|p| p.as_i64())
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// The caller's listing entry for `job` (status, submit and finish times), which
/// unlike Fetch does not read the job's output.
pub async fn job_info(client: &mut SqlFlowClient<Channel>, job: &str) -> Option<sqlflow::JobInfo> {
    client
        .list_jobs(sqlflow::ListJobsRequest {
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("ListJobs")
        .into_inner()
        .jobs
        .into_iter()
        .find(|j| j.job_id == job)
}

/// Polls `cond` every 50 ms until it holds, panicking with `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The peak resident memory of process `pid` (VmHWM), in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}
