//! Figures through the server and the CLI: the loss curve after TO TRAIN (neural models
//! and boosting, with their validation rows), feature importance after TO EXPLAIN, the
//! confusion matrix and ROC curves after TO EVALUATE on a classifier; none where there is
//! nothing to draw. Each is a `Figure` response before its statement's EndOfExecution,
//! a PNG of 800×500 that decodes; the CLI writes them to files and JSON carries them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use base64::Engine as _;
use sqlflow_e2e::{
    Server, fetch_all, output_ok, run, shape,
    sqlflow::{Figure, Response, job_status::Code, response},
};

/// A server with iris and boston loaded under a unique schema prefix.
fn setup() -> (Server, String) {
    let server = Server::start();
    let p = format!("f{}_", std::process::id());
    output_ok(
        server
            .cli()
            .args(["demo-data", "--schema-prefix", &p, "iris", "boston"]),
    );
    (server, p)
}

/// The figures of each statement, in order, split at the EndOfExecution responses.
fn figures_by_statement(responses: &[Response]) -> Vec<Vec<Figure>> {
    let mut all = vec![Vec::new()];
    for r in responses {
        match &r.response {
            Some(response::Response::Figure(f)) => {
                if let Some(last) = all.last_mut() {
                    last.push(f.clone())
                }
            }
            Some(response::Response::Eoe(_)) => all.push(Vec::new()),
            _ => {}
        }
    }
    all.pop();
    all
}

fn titles(figures: &[Figure]) -> Vec<&str> {
    figures.iter().map(|f| f.title.as_str()).collect()
}

/// A PNG of 800×500 that decodes whole, with more than a blank page in it.
fn assert_png(f: &Figure) {
    assert_eq!(f.mime_type, "image/png", "{}", f.title);
    assert_eq!(&f.data[..8], b"\x89PNG\r\n\x1a\n", "{}", f.title);
    let mut reader = png::Decoder::new(std::io::Cursor::new(&f.data[..]))
        .read_info()
        .expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    assert_eq!((info.width, info.height), (800, 500), "{}", f.title);
    let inked = buf[..info.buffer_size()]
        .chunks(3)
        .filter(|p| p.iter().any(|&c| c < 200))
        .count();
    assert!(inked > 2000, "{}: {inked} inked pixels", f.title);
    assert!(
        f.data.len() < 200 * 1024,
        "{}: {} bytes",
        f.title,
        f.data.len()
    );
}

fn program(p: &str) -> String {
    format!(
        "SELECT * FROM {p}iris.train TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 10], train.epoch = 20, train.batch_size = 16,
     validation.select = \"SELECT * FROM {p}iris.test\"
LABEL class INTO sqlflow_models.{p}dnn;
SELECT * FROM {p}iris.train TO TRAIN xgboost.gbtree
WITH objective = \"multi:softprob\", num_class = 3, train.num_boost_round = 20,
     validation.select = \"SELECT * FROM {p}iris.test\"
LABEL class INTO sqlflow_models.{p}xgb;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}dnn LABEL class INTO {p}iris.eval_dnn;
SELECT * FROM {p}iris.train TO EXPLAIN sqlflow_models.{p}xgb;
SELECT * FROM {p}iris.train TO EXPLAIN sqlflow_models.{p}dnn INTO {p}iris.explain_dnn;
SELECT * FROM {p}iris.train WHERE class < 2 TO TRAIN xgboost.gbtree
WITH objective = \"binary:logistic\", train.num_boost_round = 10
LABEL class INTO sqlflow_models.{p}xgb_binary;
SELECT * FROM {p}iris.test WHERE class < 2 TO EVALUATE sqlflow_models.{p}xgb_binary
LABEL class INTO {p}iris.eval_binary;
SELECT * FROM {p}boston.train TO TRAIN xgboost.gbtree
WITH objective = \"reg:squarederror\", train.num_boost_round = 10
LABEL medv INTO sqlflow_models.{p}xgb_reg;
SELECT * FROM {p}boston.test TO EVALUATE sqlflow_models.{p}xgb_reg LABEL medv INTO {p}boston.eval_reg;
SELECT * FROM {p}iris.train TO TRAIN DecisionTreeClassifier LABEL class INTO sqlflow_models.{p}tree;
SELECT * FROM {p}iris.train TO TRAIN KMeans WITH model.n_clusters = 3
COLUMN sepal_length, sepal_width, petal_length, petal_width INTO sqlflow_models.{p}km;
SELECT * FROM {p}iris.train TO TRAIN LinearClassifier WITH model.n_classes = 3 LABEL class INTO sqlflow_models.{p}lin;"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_send_their_figures_before_they_end() {
    let (server, p) = setup();
    let mut c = server.client().await;
    let job = run(&mut c, &program(&p)).await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Succeeded, "{}", status.message);
    let by_statement = figures_by_statement(&responses);
    let expected: [&[&str]; 12] = [
        &["loss"],                    // DNN with validation rows
        &["loss"],                    // boosting with validation rows
        &["confusion matrix", "ROC"], // EVALUATE a classifier
        &["feature importance"],      // EXPLAIN, rows returned
        &["feature importance"],      // EXPLAIN INTO a table
        &["loss"],                    // boosting without validation rows
        &["confusion matrix", "ROC"], // a binary classifier
        &["loss"],                    // boosting regression
        &[],                          // EVALUATE a regressor: no classes
        &[],                          // a tree: no iterations
        &[],                          // k-means: no iterations
        &["loss"],                    // L-BFGS iterations
    ];
    assert_eq!(by_statement.len(), expected.len());
    // For a person to look at: SQLFLOW_FIGURE_SAMPLES=<dir>.
    if let Ok(dir) = std::env::var("SQLFLOW_FIGURE_SAMPLES") {
        for (i, figures) in by_statement.iter().enumerate() {
            for f in figures {
                let name = format!("e2e-s{}-{}.png", i + 1, f.title.replace(' ', "-"));
                std::fs::write(std::path::Path::new(&dir).join(name), &f.data).unwrap();
            }
        }
    }
    for (i, (got, want)) in by_statement.iter().zip(expected).enumerate() {
        assert_eq!(titles(got), want, "statement {}", i + 1);
        got.iter().for_each(assert_png);
    }
    // Each figure comes right before its statement's end, after its messages and rows.
    let s = shape(&responses);
    assert!(s.contains("MFE"), "{s}");
    assert!(s.contains("MFFE"), "{s}");
    assert!(s.contains("RFE"), "{s}");
    assert!(
        !s.contains("FM") && !s.contains("FR") && !s.contains("FH"),
        "{s}"
    );
    // Training and evaluating again give the same pictures.
    let job2 = run(&mut c, &program(&p)).await;
    let (again, status) = fetch_all(&mut c, &job2).await;
    assert_eq!(status.code(), Code::Succeeded, "{}", status.message);
    assert_eq!(figures_by_statement(&again), by_statement);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_writes_figures_to_files_and_json_carries_them() {
    let (server, p) = setup();
    let dir = tempfile::tempdir().unwrap();
    let figures = dir.path().join("figs");
    let sql = format!(
        "SELECT 1;
SELECT * FROM {p}iris.train TO TRAIN xgboost.gbtree
WITH objective = \"multi:softprob\", num_class = 3, train.num_boost_round = 10
LABEL class INTO sqlflow_models.{p}cli_xgb;
SELECT * FROM {p}iris.test TO EVALUATE sqlflow_models.{p}cli_xgb LABEL class INTO {p}iris.cli_eval;"
    );
    let out = output_ok(server.cli().args([
        "--no-progress",
        "--figures-dir",
        figures.to_str().unwrap(),
        "-e",
        &sql,
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("figure: "))
        .collect();
    let path = |name: &str| figures.join(name).display().to_string();
    assert_eq!(
        lines,
        [
            format!("figure: loss (statement 2) -> {}", path("s2-1-loss.png")),
            format!(
                "figure: confusion matrix (statement 3) -> {}",
                path("s3-1-confusion-matrix.png")
            ),
            format!("figure: ROC (statement 3) -> {}", path("s3-2-roc.png")),
        ],
        "{stdout}"
    );
    for name in ["s2-1-loss.png", "s3-1-confusion-matrix.png", "s3-2-roc.png"] {
        let data = std::fs::read(figures.join(name)).unwrap();
        assert_png(&Figure {
            title: name.into(),
            mime_type: "image/png".into(),
            data,
        });
    }

    // Without --figures-dir: a new directory, named in the output.
    let out = output_ok(server.cli().args(["--no-progress", "-e", &sql]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("figure: loss (statement 2) -> "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let file = std::path::PathBuf::from(line.rsplit(" -> ").next().unwrap());
    assert!(file.is_file(), "{line}");
    let made = file.parent().unwrap();
    assert!(
        made.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("sqlflow-figures-"),
        "{line}"
    );
    std::fs::remove_dir_all(made).unwrap();

    // JSON: one object per figure with its data in base64; CSV keeps stdout a table.
    let out = output_ok(server.cli().args([
        "--no-progress",
        "--format",
        "json",
        "--figures-dir",
        figures.to_str().unwrap(),
        "-e",
        &sql,
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let figs: Vec<&serde_json::Value> = objects.iter().filter_map(|o| o.get("figure")).collect();
    assert_eq!(figs.len(), 3, "{stdout}");
    assert_eq!(figs[0]["title"], "loss");
    assert_eq!(figs[0]["statement"], 2);
    assert_eq!(figs[0]["mime_type"], "image/png");
    assert_eq!(figs[2]["title"], "ROC");
    assert_eq!(figs[2]["file"], path("s3-2-roc.png"));
    let data = base64::engine::general_purpose::STANDARD
        .decode(figs[2]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, std::fs::read(figures.join("s3-2-roc.png")).unwrap());
    let out = output_ok(server.cli().args([
        "--no-progress",
        "--format",
        "csv",
        "--figures-dir",
        figures.to_str().unwrap(),
        "-e",
        &sql,
    ]));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(stdout, "1\n1\n", "{stdout}");
    assert_eq!(stderr.matches("figure: ").count(), 3, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_figure_larger_than_a_record_is_left_out_with_a_note() {
    let server = Server::builder()
        .local_runner("limits.record_kb = 4")
        .start();
    let p = format!("g{}_", std::process::id());
    output_ok(
        server
            .cli()
            .args(["demo-data", "--schema-prefix", &p, "iris"]),
    );
    let mut c = server.client().await;
    let job = run(
        &mut c,
        &format!(
            "SELECT * FROM {p}iris.train TO TRAIN xgboost.gbtree
WITH objective = \"multi:softprob\", num_class = 3, train.num_boost_round = 5
LABEL class INTO sqlflow_models.{p}small;"
        ),
    )
    .await;
    let (responses, status) = fetch_all(&mut c, &job).await;
    assert_eq!(status.code(), Code::Succeeded, "{}", status.message);
    assert!(figures_by_statement(&responses)[0].is_empty());
    let notes: Vec<&str> = responses
        .iter()
        .filter_map(|r| match &r.response {
            Some(response::Response::Message(m)) => Some(m.message.as_str()),
            _ => None,
        })
        .filter(|m| m.starts_with("note: the loss figure is left out"))
        .collect();
    assert_eq!(notes.len(), 1, "{responses:#?}");
    assert!(notes[0].contains("limits.record_kb"), "{}", notes[0]);
}
