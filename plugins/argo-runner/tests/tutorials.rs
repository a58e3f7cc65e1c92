//! SQLFlow's tutorials under the Argo runner: the programs the end-to-end suite runs
//! (`tests/tutorials/*.sql` at the workspace root, the tutorials' SQL cells verbatim)
//! compile, for every dialect, to Workflows that Argo's schema accepts, with one step per
//! statement, each running its statement by index from the mounted program; and each
//! statement parses as the step will parse it, so a tutorial the parser cannot read
//! fails here, at compile time, instead of in a pod. Each cell is one program, as a
//! notebook (and the end-to-end suite) submits it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use argo_runner::{
    Config,
    codegen::{self, JobInput},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use sqlflow_sql::{Dialect, Parsed, parse_statement};

#[path = "support/schema.rs"]
mod schema;

use schema::{problems, schema};

const DATASOURCES: [&str; 3] = [
    "mysql://root:pw@mariadb:3306/test",
    "postgres://postgres:pw@postgres:5432/test",
    "sqlite:///data/sqlflow.db",
];

/// Statements by kind: `standard`, or SQLFlow's clause (`TO TRAIN`), in name order.
type Kinds = &'static [(&'static str, usize)];

/// Per tutorial: its cells, and its statements by kind (`standard` or SQLFlow's clause).
/// Counted by hand from the files, so the splitter and the parser are checked, not
/// restated.
const EXPECTED: &[(&str, usize, Kinds)] = &[
    (
        "activepower_clustering.sql",
        7,
        &[("TO PREDICT", 1), ("TO TRAIN", 1), ("standard", 5)],
    ),
    (
        "apsara2019-titanic_dnn.sql",
        4,
        &[("TO PREDICT", 1), ("TO TRAIN", 1), ("standard", 4)],
    ),
    (
        "energe_lstmbasedtimeseries.sql",
        15,
        &[("TO PREDICT", 1), ("TO TRAIN", 1), ("standard", 34)],
    ),
    ("fraud-analysis.sql", 3, &[("TO RUN", 2), ("standard", 1)]),
    (
        "fraud-dnn.cn.sql",
        8,
        &[
            ("TO EXPLAIN", 1),
            ("TO PREDICT", 1),
            ("TO TRAIN", 1),
            ("standard", 6),
        ],
    ),
    (
        "fraud-dnn.sql",
        4,
        &[("TO PREDICT", 1), ("TO TRAIN", 1), ("standard", 2)],
    ),
    (
        "housing-explain.sql",
        3,
        &[("TO EXPLAIN", 2), ("TO TRAIN", 1)],
    ),
    (
        "housing-xgboost.sql",
        5,
        &[("TO PREDICT", 1), ("TO TRAIN", 1), ("standard", 3)],
    ),
    (
        "iris-dnn.sql",
        8,
        &[("TO PREDICT", 1), ("TO TRAIN", 4), ("standard", 3)],
    ),
    (
        "optimization_guide.sql",
        7,
        &[("TO MAXIMIZE", 1), ("TO MINIMIZE", 1), ("standard", 21)],
    ),
    ("score_card.sql", 2, &[("TO TRAIN", 1), ("standard", 1)]),
    (
        "titanic_survival_prediction.cn.sql",
        8,
        &[
            ("TO EXPLAIN", 2),
            ("TO PREDICT", 1),
            ("TO TRAIN", 3),
            ("standard", 3),
        ],
    ),
];

fn tutorials_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tutorials")
}

/// (file name, program), sorted by name.
fn tutorials() -> Vec<(String, String)> {
    let dir = tutorials_dir();
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("a tutorial");
            (name, text)
        })
        .collect();
    out.sort();
    out
}

/// The notebook's cells: what follows each `-- %%sqlflow` line (tests/tests/tutorials.rs
/// reads them the same way).
fn cells(program: &str) -> Vec<String> {
    let mut cells: Vec<Vec<&str>> = Vec::new();
    for line in program.lines() {
        if line == "-- %%sqlflow" {
            cells.push(Vec::new());
        } else if let Some(c) = cells.last_mut() {
            c.push(line);
        }
    }
    cells.into_iter().map(|c| c.join("\n")).collect()
}

fn config() -> Config {
    let cfg = Config {
        step_image: Some("registry.example/sqlflow-step:1".into()),
        // What an operator lists so the fraud analysis tutorial's TO RUN cells compile.
        run_images: vec!["sqlflow/runnable:*".into()],
        ..Config::default()
    };
    cfg.validate().expect("a valid config");
    cfg
}

fn compile(program: &str, datasource: &str) -> codegen::Compiled {
    let cfg = config();
    let statements = codegen::split_program(program, datasource, &cfg)
        .unwrap_or_else(|e| panic!("split: {}", e.message));
    let input = JobInput {
        name: "sqlflow-0123456789abcdef0123456789abcdef".into(),
        namespace: "sqlflow".into(),
        user: "tutorial@example.com".into(),
        request_id: String::new(),
        program: program.into(),
        datasource: datasource.into(),
        timeout_seconds: 0,
        exit_on_submit: false,
        now_ms: 1_700_000_000_000,
    };
    codegen::compile(&cfg, &input, statements)
}

/// The Workflow runs `statements` one step each, in order, step i running statement i
/// of the program mounted from the Secret, which holds the program byte for byte.
fn assert_one_step_per_statement(
    c: &codegen::Compiled,
    program: &str,
    ds_dialect: Dialect,
    what: &str,
) {
    let n = c.statements.len();
    let templates = c.workflow["spec"]["templates"]
        .as_array()
        .expect("templates");
    assert_eq!(templates.len(), n + 1, "{what}: main and one per step");
    let steps = templates[0]["steps"].as_array().expect("main's steps");
    assert_eq!(steps.len(), n, "{what}");
    for (i, (step, t)) in steps.iter().zip(&templates[1..]).enumerate() {
        assert_eq!(step[0]["template"], t["name"], "{what}: step {i} in order");
        // A TO RUN statement's step runs its image with the CMD arguments instead.
        if let Some(run) = codegen::run_step(&c.statements[i], ds_dialect).unwrap() {
            assert_eq!(
                t["container"]["image"],
                json!(run.image),
                "{what}: step {i}"
            );
            assert_eq!(t["container"]["args"], json!(run.args), "{what}: step {i}");
            assert_eq!(
                t["container"]["env"][0]["valueFrom"]["secretKeyRef"]["key"], "datasource",
                "{what}: step {i}"
            );
            continue;
        }
        assert_eq!(
            t["container"]["args"],
            json!([
                "run",
                "--only-statement",
                i.to_string(),
                "/var/run/sqlflow/program.sql"
            ]),
            "{what}: step {i}"
        );
    }
    let mounted = STANDARD
        .decode(
            c.secret["data"]["program.sql"]
                .as_str()
                .expect("program.sql"),
        )
        .expect("base64");
    assert_eq!(mounted, program.as_bytes(), "{what}");
}

fn dialect(datasource: &str) -> Dialect {
    codegen::dialect_of(datasource).expect("a known scheme")
}

#[test]
fn the_tutorials_are_the_ones_counted_here() {
    let names: Vec<String> = tutorials().into_iter().map(|(n, _)| n).collect();
    let expected: Vec<&str> = EXPECTED.iter().map(|(n, ..)| *n).collect();
    assert_eq!(names, expected);
}

fn expected(name: &str) -> (usize, Kinds) {
    EXPECTED
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, cells, kinds)| (*cells, *kinds))
        .unwrap_or_else(|| panic!("{name} is not in EXPECTED"))
}

/// Every cell, compiled alone: a tutorial's cells are separate programs (some end
/// without a `;`, as notebook cells may), so a file is not one program.
#[test]
fn every_cell_compiles_to_a_valid_workflow_with_one_step_per_statement() {
    let root = schema();
    for (name, program) in tutorials() {
        let (n_cells, kinds) = expected(&name);
        let cells = cells(&program);
        assert_eq!(cells.len(), n_cells, "{name}");
        let statements: usize = kinds.iter().map(|(_, k)| k).sum();
        for ds in DATASOURCES {
            let mut compiled = 0;
            for (i, cell) in cells.iter().enumerate() {
                let what = format!("{name} cell {i} for {}", dialect(ds));
                let c = compile(cell, ds);
                assert_one_step_per_statement(&c, cell, dialect(ds), &what);
                if let Some(root) = &root {
                    let errors = problems(root, &c.workflow);
                    assert!(errors.is_empty(), "{what}: {errors:#?}");
                }
                assert!(
                    !c.workflow.to_string().contains(":pw@"),
                    "{what}: the password stays in the Secret"
                );
                compiled += c.statements.len();
            }
            assert_eq!(compiled, statements, "{name} for {}", dialect(ds));
        }
    }
}

#[test]
fn every_step_parses_as_the_step_will_parse_it() {
    for (name, program) in tutorials() {
        let (_, kinds) = expected(&name);
        for ds in DATASOURCES {
            let mut counted: BTreeMap<&str, usize> = BTreeMap::new();
            for cell in cells(&program) {
                for (i, s) in compile(&cell, ds).statements.iter().enumerate() {
                    let kind = match parse_statement(s, dialect(ds)) {
                        Ok(Parsed::Standard) => "standard",
                        Ok(Parsed::Extended(e)) => e.kind.clause(),
                        Err(e) => panic!("{name}, step {i} for {}: {e}\n{s}", dialect(ds)),
                    };
                    *counted.entry(kind).or_default() += 1;
                }
            }
            let counted: Vec<(&str, usize)> = counted.into_iter().collect();
            assert_eq!(counted, kinds, "{name} for {}", dialect(ds));
        }
    }
}

#[test]
fn the_dry_run_tool_compiles_a_tutorial_file() {
    let exe = Path::new(env!("CARGO_BIN_EXE_sqlflow-argo-dryrun"));
    let dir = tempfile::tempdir().expect("a temp dir");
    let cfg = dir.path().join("sqlflow.toml");
    std::fs::write(
        &cfg,
        "datasource = \"mysql://root:pw@mariadb:3306/test\"\n\
         [runners.argo]\nstep_image = \"sqlflow/step:1\"\n",
    )
    .expect("write the config");
    // Every cell of this one ends with a `;`: the file is one program too.
    let file = tutorials_dir().join("iris-dnn.sql");
    let out = std::process::Command::new(exe)
        .args(["--config", cfg.to_str().expect("a UTF-8 path"), "--json"])
        .arg(&file)
        .output()
        .expect("run sqlflow-argo-dryrun");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(list["items"][1]["kind"], "Workflow");
    let templates = list["items"][1]["spec"]["templates"]
        .as_array()
        .expect("templates");
    assert_eq!(templates.len(), 8 + 1, "iris-dnn has eight statements");
    let program = std::fs::read_to_string(&file).expect("the tutorial");
    let mounted = STANDARD
        .decode(
            list["items"][0]["data"]["program.sql"]
                .as_str()
                .expect("program.sql"),
        )
        .expect("base64");
    assert_eq!(mounted, program.as_bytes());
}
