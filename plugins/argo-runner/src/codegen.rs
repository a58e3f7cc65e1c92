//! Compiles a SQL program into the objects one job is made of: a Workflow with one step
//! per statement, and a Secret holding the program and the datasource.
//!
//! No user text reaches a step's command line, environment value or any field Argo
//! substitutes `{{...}}` in: every step runs the same fixed command,
//! `sqlflow-step run --only-statement <i> /var/run/sqlflow/program.sql`, and reads the
//! program from the mounted Secret (byte for byte) and the datasource from
//! `SQLFLOW_DATASOURCE`, a `secretKeyRef`. The original SQLFlow put escaped SQL into
//! `bash -c` and shipped quoting bugs for years; there is nothing to escape here.
//! Operators still see what a step does through a shortened, defused annotation.
//!
//! The one exception is `TO RUN image CMD "arg", ...` ([`run_step`]): its step runs the
//! named image with the CMD arguments as the container's `args` (exec'd by the image's
//! entrypoint, never through a shell), and SQLFlow's environment for runnable images:
//! `SQLFLOW_DATASOURCE` (the same `secretKeyRef` as other steps), `SQLFLOW_TO_RUN_SELECT`,
//! `SQLFLOW_TO_RUN_INTO` (the INTO tables, comma-separated) and `SQLFLOW_TO_RUN_IMAGE`.
//! Those values are user text, so Run refuses any of them holding `{{`, and an image name
//! that is not a plain image reference. The image prints what it likes: each line of its
//! log reaches the client as a log line, as any non-record line of a step does.

use std::collections::BTreeMap;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlflow_plugin_api::{RunnerError, sdk::program_summary};
use sqlflow_sql::Dialect;

use crate::{
    config::{Config, MAX_IMAGE_CHARS, is_image_reference, is_label_value},
    text::redact,
};

pub const API_VERSION: &str = "argoproj.io/v1alpha1";
pub const KIND: &str = "Workflow";
pub const PLURAL: &str = "workflows";
pub const GROUP: &str = "argoproj.io";
pub const VERSION: &str = "v1alpha1";

/// Every object this runner creates carries this label; the watch selects on it.
pub const MANAGED_BY_KEY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "sqlflow-argo-runner";
pub const SELECTOR: &str = "app.kubernetes.io/managed-by=sqlflow-argo-runner";

pub const LABEL_JOB: &str = "sqlflow.org/job";
/// The user, as a valid label value (sanitized and hashed when it is not one).
pub const LABEL_USER: &str = "sqlflow.org/user";
/// On step pods: the statement's 1-based position.
pub const LABEL_STEP: &str = "sqlflow.org/step";

/// The exact user id: the authority for ownership (the label may be a sanitized form).
pub const ANN_USER: &str = "sqlflow.org/user-id";
pub const ANN_REQUEST_ID: &str = "sqlflow.org/request-id";
/// With a request id: what the job was made from ([`request_hash`]), so a Run reusing
/// the id for something else is told so instead of being handed this job.
pub const ANN_REQUEST_HASH: &str = "sqlflow.org/request-hash";
/// The abandonment timeout T in seconds (0: never reaped).
pub const ANN_TIMEOUT: &str = "sqlflow.org/timeout-seconds";
pub const ANN_EXIT_ON_SUBMIT: &str = "sqlflow.org/exit-on-submit";
/// The abandonment lease: when a client last fetched, in ms since the epoch.
pub const ANN_LAST_FETCH: &str = "sqlflow.org/last-fetch";
pub const ANN_STATEMENTS: &str = "sqlflow.org/statements";
/// The program's first line, shortened (for listings).
pub const ANN_SUMMARY: &str = "sqlflow.org/summary";
/// Why the job was cancelled, set together with `spec.shutdown`.
pub const ANN_CANCEL_REASON: &str = "sqlflow.org/cancel-reason";
/// On each step template (and so its pod): the statement, shortened and defused.
pub const ANN_STATEMENT: &str = "sqlflow.org/statement";

pub const SECRET_PROGRAM_KEY: &str = "program.sql";
pub const SECRET_DATASOURCE_KEY: &str = "datasource";
pub const MOUNT_DIR: &str = "/var/run/sqlflow";
pub const VOLUME: &str = "sqlflow-job";
pub const STEP_COMMAND: &str = "sqlflow-step";
/// Argo names the container of a container template `main`; its log is the record stream.
pub const CONTAINER: &str = "main";

/// Job ids: `sqlflow-` and 32 lowercase hex digits (128 bits: random, or a hash of the
/// user and the request id).
pub const NAME_PREFIX: &str = "sqlflow-";

/// Characters of a statement shown in annotations and status messages.
const HEAD_CHARS: usize = 80;

/// Everything a job is compiled from.
#[derive(Debug, Clone)]
pub struct JobInput {
    pub name: String,
    pub namespace: String,
    pub user: String,
    pub request_id: String,
    pub program: String,
    pub datasource: String,
    pub timeout_seconds: u32,
    pub exit_on_submit: bool,
    /// Milliseconds since the epoch: the initial lease.
    pub now_ms: u64,
}

/// The objects of one job.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub workflow: Value,
    pub secret: Value,
    pub statements: Vec<String>,
}

/// A new random job name.
pub fn random_name() -> String {
    format!("{NAME_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// The job name for a (user, request id): a retried Run computes the same one and finds
/// the Workflow the first attempt created.
pub fn name_for_request(user: &str, request_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sqlflow-argo/1");
    // Length-prefixed, so no (user, request id) pair can be spelled as another.
    h.update((user.len() as u64).to_le_bytes());
    h.update(user.as_bytes());
    h.update(request_id.as_bytes());
    format!("{NAME_PREFIX}{}", &hex(&h.finalize())[..32])
}

/// What a Run with a request id asked for: its program and its datasource, the latter
/// without its password. Anyone who may read Workflows reads this annotation, and a
/// fast hash over a password would let them test guesses of it offline; two Runs that
/// differ only in the password reach the same database as the same user anyway.
pub fn request_hash(program: &str, datasource: &str) -> String {
    let identity = redact(datasource.trim());
    let mut h = Sha256::new();
    h.update(b"sqlflow-argo-request/1");
    // Length-prefixed, so no (program, datasource) pair can be spelled as another.
    h.update((program.len() as u64).to_le_bytes());
    h.update(program.as_bytes());
    h.update(identity.as_bytes());
    hex(&h.finalize())
}

/// Whether `id` can be a job name at all; anything else is NOT_FOUND without a call.
pub fn valid_job_name(id: &str) -> bool {
    id.strip_prefix(NAME_PREFIX)
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The user as a label value: itself when it is a valid one, else a sanitized prefix
/// and a hash (so different users never share a value by sanitizing alike).
pub fn user_label(user: &str) -> String {
    if is_label_value(user) {
        return user.to_string();
    }
    let hash = &hex(&Sha256::digest(user.as_bytes()))[..12];
    let cleaned: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let cleaned: String = cleaned.chars().take(40).collect();
    let cleaned = cleaned.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if cleaned.is_empty() {
        format!("u-{hash}")
    } else {
        format!("{cleaned}-{hash}")
    }
}

/// The SQL dialect of a datasource, decided exactly as the step decides it, so that
/// step i runs statement i.
pub fn dialect_of(datasource: &str) -> Result<Dialect, RunnerError> {
    let Some((scheme, _)) = datasource.trim().split_once("://") else {
        return Err(RunnerError::invalid_argument(
            "the datasource has no scheme: use mysql://user:pass@host:port/db, \
             postgres://user:pass@host:port/db or sqlite://path",
        ));
    };
    // Only a real scheme is quoted back: what precedes "://" in a malformed datasource
    // may be a user name and password.
    let is_scheme = !scheme.is_empty()
        && scheme.len() <= 32
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'));
    if !is_scheme {
        return Err(RunnerError::invalid_argument(
            "the datasource does not start with a scheme: use mysql://user:pass@host:port/db, \
             postgres://user:pass@host:port/db or sqlite://path",
        ));
    }
    Dialect::of_scheme(scheme).ok_or_else(|| {
        RunnerError::invalid_argument(format!(
            "unsupported datasource scheme '{}': use mysql://, postgres:// or sqlite://",
            scheme.to_ascii_lowercase()
        ))
    })
}

/// Splits the program into the statements the steps will run, refusing what `cfg` does
/// not allow: too many statements, a `TO RUN` image not in `run_images`.
pub fn split_program(
    program: &str,
    datasource: &str,
    cfg: &Config,
) -> Result<Vec<String>, RunnerError> {
    let max_statements = cfg.max_statements;
    let dialect = dialect_of(datasource)?;
    let statements = sqlflow_sql::split(program, dialect).map_err(|e| {
        RunnerError::invalid_argument(format!(
            "the program cannot be split into statements ({dialect}): {e}"
        ))
    })?;
    if statements.is_empty() {
        return Err(RunnerError::invalid_argument(
            "the program has no statements: give at least one SQL statement",
        ));
    }
    if statements.len() > max_statements {
        return Err(RunnerError::invalid_argument(format!(
            "the program has {} statements; this server runs at most {max_statements} per job \
             (each is a workflow step): split it into several jobs",
            statements.len()
        )));
    }
    for s in &statements {
        if let Some(run) = run_step(&s.text, dialect)?
            && !cfg.may_run_image(&run.image)
        {
            return Err(RunnerError::permission_denied(
                if cfg.run_images.is_empty() {
                    format!(
                        "TO RUN {}: this server runs no TO RUN images; an operator lists the \
                     allowed ones in [runners.argo] run_images",
                        run.image
                    )
                } else {
                    format!(
                        "TO RUN {}: not an image this server may run; allowed: {}",
                        run.image,
                        cfg.run_images.join(", ")
                    )
                },
            ));
        }
    }
    Ok(statements.into_iter().map(|s| s.text).collect())
}

/// What the step of a `TO RUN` statement runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStep {
    pub image: String,
    pub args: Vec<String>,
    pub select: String,
    pub into: Vec<String>,
}

/// The step of a `TO RUN` statement, or None for any other statement (one that does not
/// parse is left to the step, which reports the error as for local jobs).
pub fn run_step(statement: &str, dialect: Dialect) -> Result<Option<RunStep>, RunnerError> {
    let Ok(sqlflow_sql::Parsed::Extended(ext)) = sqlflow_sql::parse_statement(statement, dialect)
    else {
        return Ok(None);
    };
    let sqlflow_sql::ExtKind::Run(r) = ext.kind else {
        return Ok(None);
    };
    let image = r.program;
    if !is_image_reference(&image) {
        return Err(RunnerError::invalid_argument(format!(
            "TO RUN {}: not a container image reference (letters, digits and . _ - / : @, no .. or //, \
             at most {MAX_IMAGE_CHARS} characters); the argo runner runs TO RUN as an image",
            defuse(&image.chars().take(HEAD_CHARS).collect::<String>())
        )));
    }
    let select = ext.select.trim().to_string();
    let templated = |what: &str, v: &str| {
        if v.contains("{{") {
            Err(RunnerError::invalid_argument(format!(
                "TO RUN {image}: {what} holds two opening braces in a row, which Argo \
                 would read as a template expression; put a space between them"
            )))
        } else {
            Ok(())
        }
    };
    for (i, a) in r.args.iter().enumerate() {
        templated(&format!("CMD argument {}", i + 1), a)?;
    }
    templated("the SELECT", &select)?;
    for t in &r.into {
        templated("INTO", t)?;
    }
    Ok(Some(RunStep {
        image,
        args: r.args,
        select,
        into: r.into,
    }))
}

/// A statement shortened to one line for annotations and status messages, with every
/// `{{` broken up so Argo never sees a template expression in it.
pub fn statement_head(statement: &str) -> String {
    // Redacted before it is cut: a cut could leave a password without its '@'.
    let one_line = redact(statement)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut head: String = one_line.chars().take(HEAD_CHARS).collect();
    if head.len() < one_line.len() {
        head.push_str("...");
    }
    defuse(&head)
}

/// Inserts a space between braces so no `{{` remains.
pub fn defuse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = '\0';
    for c in s.chars() {
        if prev == '{' && c == '{' {
            out.push(' ');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// Labels on the Workflow, its Secret and its pods.
pub fn labels(cfg: &Config, name: &str, user: &str) -> BTreeMap<String, String> {
    let mut l = cfg.labels.clone();
    l.insert(MANAGED_BY_KEY.into(), MANAGED_BY.into());
    l.insert(LABEL_JOB.into(), name.into());
    l.insert(LABEL_USER.into(), user_label(user));
    l
}

pub fn step_template_name(index: usize) -> String {
    format!("step-{}", index + 1)
}

/// Compiles a job. The statements must come from [`split_program`] on the same input.
pub fn compile(cfg: &Config, job: &JobInput, statements: Vec<String>) -> Compiled {
    let labels = labels(cfg, &job.name, &job.user);
    let n = statements.len();
    let image = cfg.step_image.clone().unwrap_or_default();
    let dialect = dialect_of(&job.datasource).ok();

    let mut templates = Vec::with_capacity(n + 1);
    templates.push(json!({
        "name": "main",
        "steps": (0..n)
            .map(|i| json!([{ "name": step_template_name(i), "template": step_template_name(i) }]))
            .collect::<Vec<_>>(),
    }));
    for (i, stmt) in statements.iter().enumerate() {
        let run = dialect.and_then(|d| run_step(stmt, d).ok().flatten());
        let mut container = match run {
            Some(run) => json!({
                "image": run.image,
                "args": run.args,
                "env": [
                    {
                        "name": "SQLFLOW_DATASOURCE",
                        "valueFrom": { "secretKeyRef": { "name": job.name, "key": SECRET_DATASOURCE_KEY } },
                    },
                    { "name": "SQLFLOW_TO_RUN_SELECT", "value": run.select },
                    { "name": "SQLFLOW_TO_RUN_INTO", "value": run.into.join(",") },
                    { "name": "SQLFLOW_TO_RUN_IMAGE", "value": run.image },
                ],
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "runAsNonRoot": true,
                    "capabilities": { "drop": ["ALL"] },
                },
            }),
            None => json!({
                "image": image,
                "command": [STEP_COMMAND],
                "args": ["run", "--only-statement", i.to_string(), format!("{MOUNT_DIR}/{SECRET_PROGRAM_KEY}")],
                "env": [{
                    "name": "SQLFLOW_DATASOURCE",
                    "valueFrom": { "secretKeyRef": { "name": job.name, "key": SECRET_DATASOURCE_KEY } },
                }],
                "volumeMounts": [{ "name": VOLUME, "mountPath": MOUNT_DIR, "readOnly": true }],
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "runAsNonRoot": true,
                    "capabilities": { "drop": ["ALL"] },
                },
            }),
        };
        if let Some(p) = &cfg.image_pull_policy {
            container["imagePullPolicy"] = json!(p);
        }
        let res = &cfg.resources;
        if !res.requests.is_empty() || !res.limits.is_empty() {
            let q = |m: &BTreeMap<String, crate::config::Quantity>| {
                m.iter()
                    .map(|(k, v)| (k.clone(), json!(v.0)))
                    .collect::<serde_json::Map<_, _>>()
            };
            let mut r = serde_json::Map::new();
            if !res.requests.is_empty() {
                r.insert("requests".into(), Value::Object(q(&res.requests)));
            }
            if !res.limits.is_empty() {
                r.insert("limits".into(), Value::Object(q(&res.limits)));
            }
            container["resources"] = Value::Object(r);
        }
        templates.push(json!({
            "name": step_template_name(i),
            "metadata": {
                "labels": { LABEL_STEP: (i + 1).to_string() },
                "annotations": { ANN_STATEMENT: statement_head(stmt) },
            },
            "container": container,
        }));
    }

    let mut spec = json!({
        "entrypoint": "main",
        "activeDeadlineSeconds": cfg.active_deadline_seconds,
        "ttlStrategy": { "secondsAfterCompletion": cfg.ttl_seconds_after_finished },
        "podGC": {
            "strategy": "OnWorkflowCompletion",
            "deleteDelayDuration": format!("{}s", cfg.pod_gc_delay_seconds),
        },
        "podMetadata": { "labels": labels },
        "volumes": [{
            "name": VOLUME,
            "secret": {
                "secretName": job.name,
                // Only the program is a file; the datasource reaches the step as env.
                "items": [{ "key": SECRET_PROGRAM_KEY, "path": SECRET_PROGRAM_KEY }],
            },
        }],
        "templates": templates,
    });
    if let Some(sa) = &cfg.service_account {
        spec["serviceAccountName"] = json!(sa);
    }

    let mut annotations = BTreeMap::new();
    annotations.insert(ANN_USER, job.user.clone());
    if !job.request_id.is_empty() {
        annotations.insert(ANN_REQUEST_ID, job.request_id.clone());
        annotations.insert(
            ANN_REQUEST_HASH,
            request_hash(&job.program, &job.datasource),
        );
    }
    annotations.insert(ANN_TIMEOUT, job.timeout_seconds.to_string());
    annotations.insert(ANN_EXIT_ON_SUBMIT, job.exit_on_submit.to_string());
    annotations.insert(ANN_LAST_FETCH, job.now_ms.to_string());
    annotations.insert(ANN_STATEMENTS, n.to_string());
    annotations.insert(ANN_SUMMARY, program_summary(&redact(&job.program)));

    let workflow = json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": job.name,
            "namespace": job.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    });
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": job.name,
            "namespace": job.namespace,
            "labels": labels,
        },
        "type": "Opaque",
        // The content never changes; immutable Secrets also spare the kubelet a watch.
        "immutable": true,
        "data": {
            SECRET_PROGRAM_KEY: STANDARD.encode(job.program.as_bytes()),
            SECRET_DATASOURCE_KEY: STANDARD.encode(job.datasource.as_bytes()),
        },
    });
    Compiled {
        workflow,
        secret,
        statements,
    }
}

/// The owner reference that makes Kubernetes delete the Secret with its Workflow.
pub fn owner_reference(name: &str, uid: &str) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": name,
        "uid": uid,
        "controller": false,
        "blockOwnerDeletion": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            step_image: Some("sqlflow/step:test".into()),
            ..Config::default()
        }
    }

    fn input(program: &str) -> JobInput {
        JobInput {
            name: "sqlflow-0123456789abcdef0123456789abcdef".into(),
            namespace: "jobs".into(),
            user: "alice".into(),
            request_id: String::new(),
            program: program.into(),
            datasource: "mysql://u:p@db:3306/x".into(),
            timeout_seconds: 300,
            exit_on_submit: false,
            now_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn names() {
        let a = random_name();
        assert!(valid_job_name(&a), "{a}");
        assert_ne!(a, random_name());
        let r = name_for_request("alice", "req-1");
        assert!(valid_job_name(&r));
        assert_eq!(r, name_for_request("alice", "req-1"));
        assert_ne!(r, name_for_request("bob", "req-1"));
        // The length prefix keeps ("a", "b\0c") and ("a\0b", "c") apart.
        assert_ne!(name_for_request("a", "b\0c"), name_for_request("a\0b", "c"));
        for bad in [
            "",
            "sqlflow-",
            "00000000000000000000000000000000",
            "sqlflow-0123456789ABCDEF0123456789abcdef",
            "sqlflow-0123456789abcdef0123456789abcde",
            "../../etc/passwd",
        ] {
            assert!(!valid_job_name(bad), "{bad}");
        }
    }

    #[test]
    fn user_labels_are_valid_and_distinct() {
        assert_eq!(user_label("alice"), "alice");
        assert_eq!(user_label(""), "");
        for u in [
            "alice@example.com",
            "Alice Smith",
            "-x-",
            "日本語",
            &"a".repeat(80),
        ] {
            let l = user_label(u);
            assert!(is_label_value(&l), "{u:?} -> {l:?}");
            assert!(!l.is_empty());
        }
        assert_ne!(user_label("a@b"), user_label("a#b"));
    }

    #[test]
    fn dialects_follow_the_scheme() {
        assert_eq!(dialect_of("sqlite:///x.db").unwrap(), Dialect::Sqlite);
        assert_eq!(dialect_of("MySQL://h/db").unwrap(), Dialect::MySql);
        assert_eq!(dialect_of("mariadb://h/db").unwrap(), Dialect::MySql);
        assert_eq!(dialect_of("postgresql://h/db").unwrap(), Dialect::Postgres);
        assert!(dialect_of("hive://h").is_err());
        assert!(dialect_of("h/db").is_err());
        let e = dialect_of("u:secret@h://db").unwrap_err();
        assert!(!e.message.contains("secret"), "{}", e.message);
    }

    #[test]
    fn request_hashes_tell_programs_and_databases_apart_but_not_passwords() {
        let h = request_hash("SELECT 1", "mysql://u:p@db/x");
        assert_eq!(h, request_hash("SELECT 1", "mysql://u:other@db/x"));
        assert_ne!(h, request_hash("SELECT 2", "mysql://u:p@db/x"));
        assert_ne!(h, request_hash("SELECT 1", "mysql://u:p@db/y"));
        assert_ne!(h, request_hash("SELECT 1", "mysql://v:p@db/x"));
        assert_ne!(request_hash("a", "bc"), request_hash("ab", "c"));
    }

    fn max(max_statements: usize) -> Config {
        Config {
            max_statements,
            ..cfg()
        }
    }

    #[test]
    fn splitting_depends_on_the_dialect() {
        // A backslash escapes the quote in MySQL only.
        let p = r"SELECT 'a\'; SELECT 2'; SELECT 3";
        assert_eq!(split_program(p, "mysql://h/d", &max(10)).unwrap().len(), 2);
        // In PostgreSQL it does not: the rest is an unterminated string.
        assert!(split_program(p, "postgres://h/d", &max(10)).is_err());
        assert_eq!(
            split_program("SELECT 1; SELECT 2;", "sqlite://x", &max(10))
                .unwrap()
                .len(),
            2
        );
        let e = split_program("SELECT 'open", "sqlite://x", &max(10)).unwrap_err();
        assert!(e.message.contains("unterminated"), "{e:?}");
        assert!(split_program(" -- nothing\n ;", "sqlite://x", &max(10)).is_err());
        let e = split_program("SELECT 1; SELECT 2; SELECT 3", "sqlite://x", &max(2)).unwrap_err();
        assert!(e.message.contains("at most 2"), "{e:?}");
    }

    #[test]
    fn defusing_leaves_no_template_braces() {
        for s in ["{{", "{{{", "a{{b}}c", "{ {", "{{{{{", "x{"] {
            assert!(!defuse(s).contains("{{"), "{s:?} -> {:?}", defuse(s));
        }
        assert_eq!(defuse("{{workflow.name}}"), "{ {workflow.name}}");
        assert_eq!(statement_head("SELECT\n  1,\t2"), "SELECT 1, 2");
        let long = format!("SELECT '{}'", "é".repeat(200));
        let head = statement_head(&long);
        assert!(head.ends_with("...") && head.chars().count() == HEAD_CHARS + 3);
    }

    #[test]
    fn the_workflow_runs_one_fixed_command_per_statement() {
        let program = "CREATE TABLE t(a INT); INSERT INTO t VALUES (1); SELECT * FROM t";
        let stmts = split_program(program, "mysql://h/d", &max(10)).unwrap();
        let c = compile(&cfg(), &input(program), stmts);
        let wf = &c.workflow;
        assert_eq!(
            wf["metadata"]["name"],
            "sqlflow-0123456789abcdef0123456789abcdef"
        );
        let templates = wf["spec"]["templates"].as_array().unwrap();
        assert_eq!(templates.len(), 4);
        assert_eq!(templates[0]["steps"].as_array().unwrap().len(), 3);
        for i in 0..3 {
            let t = &templates[i + 1];
            assert_eq!(t["name"], format!("step-{}", i + 1));
            assert_eq!(t["container"]["command"], json!(["sqlflow-step"]));
            assert_eq!(
                t["container"]["args"],
                json!([
                    "run",
                    "--only-statement",
                    i.to_string(),
                    "/var/run/sqlflow/program.sql"
                ])
            );
        }
        assert_eq!(wf["metadata"]["annotations"][ANN_STATEMENTS], "3");
        assert_eq!(wf["spec"]["podGC"]["deleteDelayDuration"], "3600s");
        assert_eq!(wf["spec"]["activeDeadlineSeconds"], 86_400);
        assert_eq!(wf["spec"]["ttlStrategy"]["secondsAfterCompletion"], 86_400);
        // The password is nowhere in the Workflow.
        assert!(!wf.to_string().contains("u:p@"), "{wf}");
        let data = &c.secret["data"];
        assert_eq!(
            STANDARD
                .decode(data[SECRET_DATASOURCE_KEY].as_str().unwrap())
                .unwrap(),
            b"mysql://u:p@db:3306/x"
        );
    }
}
