//! Generated Workflows against Argo's JSON schema (plus a check for keys the schema does
//! not know, which it would let through), and golden tests for quoting: statements
//! with quotes, backslashes, `$`, `{{`, newlines and unicode reach the step byte for
//! byte, and nothing in the spec is subject to Argo's `{{...}}` substitution.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};

use argo_runner::{
    Config,
    codegen::{self, JobInput},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use sqlflow_plugin_api::sdk::parse_config;

#[path = "support/schema.rs"]
mod schema;

use schema::{schema, validate};

fn full_config() -> Config {
    let cfg: Config = parse_config(
        &json!({
            "namespace": "analytics",
            "step_image": "registry.example/sqlflow-step:1.2.3",
            "image_pull_policy": "IfNotPresent",
            "service_account": "sqlflow-step",
            "argo_ui": "https://argo.example",
            "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
            "ttl_seconds_after_finished": 7200,
            "pod_gc_delay_seconds": 600,
            "active_deadline_seconds": 3600,
            "labels": {"team": "data", "example.com/cost-center": "42"},
            "run_images": ["registry.example/team/*", "img:1"],
        })
        .to_string(),
    )
    .expect("config");
    cfg.validate().expect("valid");
    cfg
}

fn input(program: &str, datasource: &str) -> JobInput {
    JobInput {
        name: "sqlflow-0123456789abcdef0123456789abcdef".into(),
        namespace: "analytics".into(),
        user: "alice@example.com".into(),
        request_id: "req-1".into(),
        program: program.into(),
        datasource: datasource.into(),
        timeout_seconds: 300,
        exit_on_submit: false,
        now_ms: 1_700_000_000_000,
    }
}

fn compile(cfg: &Config, program: &str, datasource: &str) -> codegen::Compiled {
    let statements = codegen::split_program(program, datasource, cfg).expect("split");
    codegen::compile(cfg, &input(program, datasource), statements)
}

/// Statements that broke the original SQLFlow's `bash -c "step -e \"...\""` steps.
const HOSTILE: &str = concat!(
    "SELECT 'it''s', \"quoted \\\"ident\\\"\", 'back\\\\slash' AS b;\n",
    "SELECT '$HOME $(rm -rf /) `id` ${x}' AS shell;\n",
    "SELECT '{{workflow.name}} {{inputs.parameters.x}} {{=sprig.env(\"X\")}}' AS argo;\n",
    "SELECT 'line one\nline two\r\nline three' AS nl;\n",
    "SELECT '日本語 ünïcödé 🚀 \u{200b}' AS uni -- trailing comment\n;\n",
    "SELECT 1 /* ; not a separator */ ; SELECT \"a;b\" FROM `t;t`",
);

#[test]
fn generated_workflows_validate_against_argos_schema_and_use_no_unknown_keys() {
    let Some(root) = schema() else { return };
    let programs = [
        ("SELECT 1", "mysql://u:p@db:3306/x"),
        (HOSTILE, "mysql://u:p@db:3306/x"),
        (
            "CREATE TABLE t(a INT); INSERT INTO t VALUES (1); SELECT * FROM t",
            "sqlite:///data/x.db",
        ),
        ("SELECT $$a;b$$; SELECT 2", "postgres://u:p@db/x"),
    ];
    let minimal = Config {
        step_image: Some("sqlflow/step".into()),
        ..Config::default()
    };
    for cfg in [full_config(), minimal] {
        for (program, ds) in programs {
            let c = compile(&cfg, program, ds);
            let (errors, unknown) = validate(&root, &c.workflow);
            assert!(errors.is_empty(), "schema errors: {errors:#?}");
            assert!(unknown.is_empty(), "keys Argo does not know: {unknown:#?}");
        }
    }
}

#[test]
fn the_validator_catches_what_it_should() {
    let Some(root) = schema() else { return };
    let c = compile(&full_config(), "SELECT 1", "mysql://h/d");
    let mut bad = c.workflow.clone();
    bad["spec"]["activeDeadLineSeconds"] = json!(5);
    bad["spec"]["templates"][1]["container"]
        .as_object_mut()
        .unwrap()
        .remove("image");
    bad["spec"]["ttlStrategy"]["secondsAfterCompletion"] = json!("soon");
    let (errors, unknown) = validate(&root, &bad);
    assert_eq!(unknown, ["$.spec.activeDeadLineSeconds"]);
    assert!(
        errors.iter().any(|e| e.contains("missing required image")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("not of type integer")),
        "{errors:?}"
    );
}

#[test]
fn statements_reach_the_step_byte_for_byte_and_nothing_is_substituted() {
    for ds in ["mysql://u:p@db/x", "postgres://u:p@db/x", "sqlite:///x.db"] {
        let program = if ds.starts_with("mysql") {
            HOSTILE.to_string()
        } else {
            // Backticks quote identifiers in MySQL only; elsewhere they are plain text.
            HOSTILE.replace("`t;t`", "t")
        };
        let c = compile(&full_config(), &program, ds);
        // The step reads the program from the Secret: exactly the user's bytes.
        let mounted = STANDARD
            .decode(c.secret["data"]["program.sql"].as_str().unwrap())
            .unwrap();
        assert_eq!(mounted, program.as_bytes());
        let dialect = codegen::dialect_of(ds).unwrap();
        let again: Vec<String> =
            sqlflow_sql::split(std::str::from_utf8(&mounted).unwrap(), dialect)
                .unwrap()
                .into_iter()
                .map(|s| s.text)
                .collect();
        assert_eq!(again, c.statements, "step i runs statement i");
        assert_eq!(c.statements.len(), 7);
        let spec = c.workflow["spec"].to_string();
        assert!(!spec.contains("{{"), "Argo would substitute in: {spec}");
        for (i, t) in c.workflow["spec"]["templates"].as_array().unwrap()[1..]
            .iter()
            .enumerate()
        {
            assert_eq!(
                t["container"]["args"],
                json!([
                    "run",
                    "--only-statement",
                    i.to_string(),
                    "/var/run/sqlflow/program.sql"
                ]),
                "no SQL on any command line"
            );
            let env = &t["container"]["env"];
            assert_eq!(env.as_array().unwrap().len(), 1);
            assert!(
                env[0].get("value").is_none(),
                "the datasource is never a plain value"
            );
        }
        let wf = c.workflow.to_string();
        assert!(
            !wf.contains("u:p@"),
            "the password is nowhere in the Workflow"
        );
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares with a file under tests/golden; `UPDATE_GOLDEN=1` rewrites it.
fn golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(
        actual, expected,
        "{name} changed; review and rerun with UPDATE_GOLDEN=1"
    );
}

#[test]
fn golden_workflow_and_secret_for_hostile_statements() {
    let c = compile(&full_config(), HOSTILE, "mysql://u:p@db:3306/x");
    golden(
        "hostile-workflow.json",
        &(serde_json::to_string_pretty(&c.workflow).unwrap() + "\n"),
    );
    golden(
        "hostile-secret.json",
        &(serde_json::to_string_pretty(&c.secret).unwrap() + "\n"),
    );
    let heads: Vec<String> = c
        .statements
        .iter()
        .map(|s| codegen::statement_head(s))
        .collect();
    golden("hostile-heads.txt", &(heads.join("\n") + "\n"));
}

#[test]
fn the_dry_run_yaml_reads_back_as_the_same_objects() {
    // What kubectl would see: YAML quoting must not turn strings into numbers,
    // booleans or folded lines.
    let c = compile(&full_config(), HOSTILE, "mysql://u:p@db:3306/x");
    for obj in [&c.workflow, &c.secret] {
        let yaml = serde_yaml::to_string(obj).unwrap();
        let back: Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(&back, obj);
    }
}

#[test]
fn the_dry_run_tool_prints_what_the_runner_submits() {
    let exe = Path::new(env!("CARGO_BIN_EXE_sqlflow-argo-dryrun"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sqlflow.toml");
    std::fs::write(
        &cfg,
        "datasource = \"mysql://u:p@db/x\"\n[runners.argo]\nstep_image = \"sqlflow/step:1\"\nnamespace = \"jobs\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["--config", cfg.to_str().unwrap(), "--json", "--name"])
        .arg("sqlflow-0123456789abcdef0123456789abcdef")
        .args(["-e", "SELECT 1; SELECT '{{x}}'"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"][0]["kind"], "Secret");
    assert_eq!(list["items"][1]["kind"], "Workflow");
    assert_eq!(list["items"][1]["metadata"]["namespace"], "jobs");
    assert_eq!(
        list["items"][1]["spec"]["templates"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let yaml = std::process::Command::new(exe)
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "-e",
            "SELECT 1;\nSELECT 2",
        ])
        .output()
        .unwrap();
    assert!(yaml.status.success());
    let text = String::from_utf8(yaml.stdout).unwrap();
    assert!(text.contains("# step-2:\n#   SELECT 2\n"), "{text}");
    let docs: Vec<Value> = text
        .split("\n---\n")
        .skip(1)
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1]["kind"], "Workflow");

    // Configuration errors name the key.
    std::fs::write(
        &cfg,
        "[runners.argo]\nstep_image = \"x\"\nttl_seconds_after_finished = 0\n",
    )
    .unwrap();
    let bad = std::process::Command::new(exe)
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--datasource",
            "mysql://h/d",
            "-e",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ttl_seconds_after_finished"));
}

#[test]
fn the_dry_run_tool_exits_2_on_bad_usage() {
    let exe = Path::new(env!("CARGO_BIN_EXE_sqlflow-argo-dryrun"));
    let usage = |args: &[&str]| {
        let out = std::process::Command::new(exe).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(usage(&[]).contains("<-e <SQL>|FILE>"));
    assert!(usage(&["--bogus", "-e", "SELECT 1"]).contains("--bogus"));
    assert!(usage(&["--config"]).contains("--config <FILE>"));
    assert!(
        usage(&["--name", "job-1", "-e", "SELECT 1"])
            .contains("job names are sqlflow- and 32 hex digits")
    );
    assert!(usage(&["/nonexistent/p.sql"]).contains("cannot read /nonexistent/p.sql"));
    let help = std::process::Command::new(exe).arg("-h").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--namespace"));
}

const TO_RUN: &str = concat!(
    "CREATE TABLE t(a INT);\n",
    "SELECT a FROM t TO RUN registry.example/team/binning:1.0 ",
    "CMD \"binning.py\", \"--columns=a,b\", \"$(touch /tmp/x) `id` ; rm -rf /\" ",
    "INTO out1, out2;\n",
    "SELECT 1",
);

#[test]
fn a_to_run_step_runs_its_image_with_the_arguments_and_the_datasource_secret() {
    for ds in ["mysql://u:p@db/x", "postgres://u:p@db/x", "sqlite:///x.db"] {
        let c = compile(&full_config(), TO_RUN, ds);
        assert_eq!(c.statements.len(), 3);
        let templates = c.workflow["spec"]["templates"].as_array().unwrap();
        let t = &templates[2]["container"];
        assert_eq!(t["image"], "registry.example/team/binning:1.0");
        assert!(t.get("command").is_none(), "the image's entrypoint runs");
        assert_eq!(
            t["args"],
            json!([
                "binning.py",
                "--columns=a,b",
                "$(touch /tmp/x) `id` ; rm -rf /"
            ]),
            "the CMD arguments, verbatim, as argv"
        );
        let env: Vec<(String, Value)> = t["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
            .collect();
        assert_eq!(env[0].0, "SQLFLOW_DATASOURCE");
        assert_eq!(
            env[0].1["valueFrom"]["secretKeyRef"],
            json!({ "name": "sqlflow-0123456789abcdef0123456789abcdef", "key": "datasource" })
        );
        let value = |n: &str| env.iter().find(|(k, _)| k == n).unwrap().1["value"].clone();
        assert_eq!(value("SQLFLOW_TO_RUN_SELECT"), "SELECT a FROM t");
        assert_eq!(value("SQLFLOW_TO_RUN_INTO"), "out1,out2");
        assert_eq!(
            value("SQLFLOW_TO_RUN_IMAGE"),
            "registry.example/team/binning:1.0"
        );
        assert_eq!(t["imagePullPolicy"], "IfNotPresent");
        assert_eq!(t["resources"]["limits"]["memory"], "2Gi");
        assert_eq!(t["securityContext"]["runAsNonRoot"], true);
        // The other statements still run sqlflow-step.
        assert_eq!(
            templates[1]["container"]["image"],
            "registry.example/sqlflow-step:1.2.3"
        );
        assert_eq!(
            templates[3]["container"]["args"][2], "2",
            "statement 3 by index"
        );
        assert!(!c.workflow.to_string().contains("u:p@"));
        if let Some(root) = schema() {
            let (errors, unknown) = validate(&root, &c.workflow);
            assert!(errors.is_empty(), "schema errors: {errors:#?}");
            assert!(unknown.is_empty(), "keys Argo does not know: {unknown:#?}");
        }
    }
}

#[test]
fn a_to_run_step_with_template_braces_or_a_bad_image_is_refused() {
    let cfg = full_config();
    for (program, says) in [
        (
            "SELECT 1 TO RUN img:1 CMD \"{{workflow.name}}\"",
            "CMD argument 1",
        ),
        ("SELECT '{{x}}' TO RUN img:1 CMD \"a\"", "the SELECT"),
        (
            "SELECT 1 TO RUN `img name; rm` CMD \"a\"",
            "not a container image",
        ),
    ] {
        let e = codegen::split_program(program, "mysql://u:p@db/x", &cfg).expect_err(program);
        assert!(e.message.contains(says), "{program}: {}", e.message);
        assert!(!e.message.contains("{{"), "{}", e.message);
    }
}

#[test]
fn to_run_starts_only_the_images_the_operator_lists() {
    let listed = full_config();
    let e = codegen::split_program(
        "SELECT 1 TO RUN registry.example/other/x:1 CMD \"a\"",
        "mysql://u:p@db/x",
        &listed,
    )
    .expect_err("an image outside run_images");
    assert_eq!(e.code, sqlflow_plugin_api::ErrorCode::PERMISSION_DENIED);
    assert!(
        e.message
            .contains("not an image this server may run; allowed: registry.example/team/*, img:1"),
        "{}",
        e.message
    );
    let none = Config {
        run_images: Vec::new(),
        ..full_config()
    };
    let e = codegen::split_program(TO_RUN, "mysql://u:p@db/x", &none).expect_err("no run_images");
    assert!(
        e.message.contains("runs no TO RUN images")
            && e.message.contains("[runners.argo] run_images"),
        "{}",
        e.message
    );
    // The statements around it are untouched by the list.
    assert!(codegen::split_program("SELECT 1; SELECT 2", "mysql://u:p@db/x", &none).is_ok());
}
