//! Trains every estimator on the shared iris / boston splits and prints, per model, the
//! test-split metric and the median training time. `bench/sklearn_baseline.py` prints
//! the same table for scikit-learn (and XGBoost) with matching settings.
//!
//! With `--seeds N` the metric is the mean over seeds 0..N (stochastic models vary with
//! the seed; one 30-row test split moves in steps of 3.3 points) and the time the median
//! over seeds of each seed's time (KMeans' iteration count, for one, depends on its
//! random start); seed 0's time is the median of `--runs` runs, other seeds run once.
//!
//! `--large` runs the same families on a 20,000-row synthetic problem instead, where
//! per-call overheads no longer dominate.
//!
//! `--threads` prints another table instead: each multi-threaded family (boosting,
//! forests) against its peers (XGBoost `hist` and LightGBM, scikit-learn) on
//! `make_classification`'s 100,000 rows × 10 features, 3 classes, with `train.threads` 1
//! and 2 and the peers on as many threads; see [`threads_table`].
//!
//! Usage: `cargo run --release -p sqlflow-models --bin models-bench -- [--runs N] [--seeds N] [--large] [FILTER]`
//! or `models-bench --threads [--runs N] [--rows N] [--data DIR] [FILTER]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::Dataset;
use sqlflow_models::{AttrValue, Attrs, Column, TrainedModel, train};

struct Case {
    model: &'static str,
    dataset: &'static str,
    estimator: &'static str,
    attrs: Vec<(&'static str, AttrValue)>,
    metric: &'static str,
}

fn int(v: i64) -> AttrValue {
    AttrValue::Int(v)
}

fn float(v: f64) -> AttrValue {
    AttrValue::Float(v)
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}

fn list(v: &[i64]) -> AttrValue {
    AttrValue::List(v.iter().map(|i| AttrValue::Int(*i)).collect())
}

/// A maker of cases on `dataset`, scored with `metric`.
fn on(
    dataset: &'static str,
    metric: &'static str,
) -> impl Fn(&'static str, &'static str, Vec<(&'static str, AttrValue)>) -> Case {
    move |model, estimator, attrs| Case {
        model,
        dataset,
        estimator,
        attrs,
        metric,
    }
}

fn cases() -> Vec<Case> {
    let iris = on("iris", "Accuracy");
    let boston = on("boston", "R2");
    vec![
        iris(
            "DNNClassifier",
            "DNNClassifier",
            vec![
                ("model.n_classes", int(3)),
                ("model.hidden_units", list(&[10, 20])),
                ("train.epoch", int(200)),
                ("train.batch_size", int(32)),
                // scikit-learn's MLP trains with Adam
                ("model.optimizer", s("Adam")),
                ("optimizer.learning_rate", float(0.01)),
            ],
        ),
        iris(
            "LinearClassifier",
            "LinearClassifier",
            vec![
                ("model.n_classes", int(3)),
                ("model.l2_reg", float(1.0 / 120.0)),
            ],
        ),
        iris(
            "xgboost multi:softprob",
            "xgboost.gbtree",
            vec![
                ("objective", s("multi:softprob")),
                ("num_class", int(3)),
                ("eta", float(0.3)),
                ("max_depth", int(6)),
                ("num_boost_round", int(100)),
            ],
        ),
        iris(
            "xgboost.dart multi:softprob",
            "xgboost.dart",
            vec![
                ("objective", s("multi:softprob")),
                ("rate_drop", float(0.1)),
                ("num_boost_round", int(100)),
            ],
        ),
        iris(
            "xgboost.gblinear multi:softprob",
            "xgboost.gblinear",
            vec![
                ("objective", s("multi:softprob")),
                ("num_boost_round", int(50)),
            ],
        ),
        iris(
            "BoostedTreesClassifier",
            "BoostedTreesClassifier",
            vec![("model.n_classes", int(3)), ("model.n_trees", int(100))],
        ),
        iris(
            "DNNLinearCombinedClassifier",
            "DNNLinearCombinedClassifier",
            vec![("model.n_classes", int(3)), ("train.epoch", int(100))],
        ),
        iris("DecisionTreeClassifier", "DecisionTreeClassifier", vec![]),
        iris(
            "RandomForestClassifier",
            "RandomForestClassifier",
            vec![("model.n_estimators", int(100))],
        ),
        on("iris", "ARI")("KMeans", "KMeans", vec![("model.n_clusters", int(3))]),
        boston(
            "DNNRegressor",
            "DNNRegressor",
            vec![
                ("model.hidden_units", list(&[64, 32])),
                ("train.epoch", int(200)),
                ("train.batch_size", int(32)),
                ("model.optimizer", s("Adam")),
                ("optimizer.learning_rate", float(0.003)),
            ],
        ),
        boston("LinearRegressor", "LinearRegressor", vec![]),
        boston(
            "xgboost reg:squarederror",
            "xgboost.gbtree",
            vec![
                ("objective", s("reg:squarederror")),
                ("eta", float(0.1)),
                ("max_depth", int(6)),
                ("num_boost_round", int(200)),
            ],
        ),
        boston(
            "xgboost.dart reg:squarederror",
            "xgboost.dart",
            vec![
                ("eta", float(0.1)),
                ("rate_drop", float(0.1)),
                ("num_boost_round", int(200)),
            ],
        ),
        boston(
            "xgboost.gblinear reg:squarederror",
            "xgboost.gblinear",
            vec![("num_boost_round", int(1000))],
        ),
        boston(
            "xgboost lossguide",
            "xgboost.gbtree",
            vec![
                ("eta", float(0.1)),
                ("max_depth", int(0)),
                ("grow_policy", s("lossguide")),
                ("max_leaves", int(16)),
                ("num_boost_round", int(200)),
            ],
        ),
        boston(
            "BoostedTreesRegressor",
            "BoostedTreesRegressor",
            vec![("model.n_trees", int(200))],
        ),
        boston(
            "DNNLinearCombinedRegressor",
            "DNNLinearCombinedRegressor",
            vec![
                ("model.dnn_hidden_units", list(&[64, 32])),
                ("train.epoch", int(200)),
            ],
        ),
        boston("DecisionTreeRegressor", "DecisionTreeRegressor", vec![]),
        boston(
            "RandomForestRegressor",
            "RandomForestRegressor",
            vec![("model.n_estimators", int(100))],
        ),
    ]
}

/// `--large`: the same families on 20,000 synthetic rows (16,000 train / 4,000 test).
fn large_cases() -> Vec<Case> {
    let cls = on("synth-cls", "Accuracy");
    let reg = on("synth-reg", "R2");
    let dnn = |classes: bool| {
        let mut a = vec![
            ("model.hidden_units", list(&[64, 32])),
            ("train.epoch", int(20)),
            ("train.batch_size", int(64)),
            ("model.optimizer", s("Adam")),
            ("optimizer.learning_rate", float(0.003)),
        ];
        if classes {
            a.push(("model.n_classes", int(3)));
        }
        a
    };
    let xgb = |objective: &str| {
        vec![
            ("objective", s(objective)),
            ("eta", float(0.1)),
            ("max_depth", int(6)),
            ("num_boost_round", int(100)),
        ]
    };
    vec![
        cls("DNNClassifier", "DNNClassifier", dnn(true)),
        cls(
            "LinearClassifier",
            "LinearClassifier",
            vec![
                ("model.n_classes", int(3)),
                ("model.l2_reg", float(1.0 / 16000.0)),
            ],
        ),
        cls(
            "xgboost multi:softprob",
            "xgboost.gbtree",
            xgb("multi:softprob"),
        ),
        cls("DecisionTreeClassifier", "DecisionTreeClassifier", vec![]),
        cls(
            "RandomForestClassifier",
            "RandomForestClassifier",
            vec![("model.n_estimators", int(50))],
        ),
        on("synth-cls", "ARI")("KMeans", "KMeans", vec![("model.n_clusters", int(3))]),
        reg("DNNRegressor", "DNNRegressor", dnn(false)),
        reg("LinearRegressor", "LinearRegressor", vec![]),
        reg(
            "xgboost reg:squarederror",
            "xgboost.gbtree",
            xgb("reg:squarederror"),
        ),
        reg("DecisionTreeRegressor", "DecisionTreeRegressor", vec![]),
        reg(
            "RandomForestRegressor",
            "RandomForestRegressor",
            vec![("model.n_estimators", int(50))],
        ),
    ]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let mut runs = 7usize;
    let mut seeds = 1u64;
    let mut large = false;
    let mut verbose = false;
    let mut filter: Option<String> = None;
    let mut threads = false;
    let mut rows = 100_000usize;
    let mut data_dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(runs)
                    .max(1)
            }
            "--large" => large = true,
            "--threads" => threads = true,
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).unwrap_or(rows),
            "--data" => data_dir = args.next().map(PathBuf::from),
            "--progress" => verbose = true,
            "--seeds" => {
                seeds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(seeds)
                    .max(1)
            }
            "-h" | "--help" => {
                println!(
                    "usage: models-bench [--runs N] [--seeds N] [--large] [--progress] [FILTER]\n       \
                     models-bench --threads [--runs N] [--rows N] [--data DIR] [--progress] [FILTER]"
                );
                return;
            }
            other => filter = Some(other.to_ascii_lowercase()),
        }
    }
    if threads {
        let dir =
            data_dir.unwrap_or_else(|| std::env::temp_dir().join(format!("models-bench-{rows}")));
        threads_table(&dir, rows, runs, filter.as_deref(), verbose);
        return;
    }
    let (iris_train, iris_test) = common::iris_split();
    let (boston_train, boston_test) = common::boston_split();
    let (synth_reg, synth_cls) = common::synthetic(if large { 20_000 } else { 0 }, 7);
    let (reg_train, reg_test) = common::head_split(&synth_reg);
    let (cls_train, cls_test) = common::head_split(&synth_cls);
    println!(
        "| model | dataset | metric | value (mean over {seeds} seeds) | median train ms | runs |"
    );
    println!("|---|---|---|---|---|---|");
    let all = if large { large_cases() } else { cases() };
    for case in all {
        if let Some(f) = &filter
            && !case.model.to_ascii_lowercase().contains(f)
            && !case.dataset.contains(f.as_str())
        {
            continue;
        }
        let (train_set, test_set): (&Dataset, &Dataset) = match case.dataset {
            "iris" => (&iris_train, &iris_test),
            "boston" => (&boston_train, &boston_test),
            "synth-cls" => (&cls_train, &cls_test),
            _ => (&reg_train, &reg_test),
        };
        let attrs = common::attrs(&case.attrs);
        // The model and its training time in ms; `run` tags the progress lines.
        let fit = |attrs: &Attrs, run: &str| {
            let start = Instant::now();
            let trained = train(
                case.estimator,
                attrs,
                &train_set.features,
                Some(&train_set.label),
                None,
                &mut |line| {
                    if verbose {
                        eprintln!("{}{run}: {line}", case.model);
                    }
                },
            );
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            match trained {
                Ok(m) => (m, ms),
                Err(e) => {
                    eprintln!("{}: {e}", case.model);
                    std::process::exit(1);
                }
            }
        };
        let mut times = Vec::with_capacity(runs);
        let mut model = None;
        for _ in 0..runs {
            let (m, ms) = fit(&attrs, "");
            times.push(ms);
            model = Some(m);
        }
        let Some(model) = model else { continue };
        let evaluate = |m: &TrainedModel| match m.evaluate(
            &test_set.features,
            &test_set.label,
            &[case.metric],
        ) {
            Ok(v) => v[0].1,
            Err(e) => {
                eprintln!("{}: {e}", case.model);
                std::process::exit(1);
            }
        };
        let mut values = vec![evaluate(&model)];
        // One time per seed (seed 0: the median of its runs), so that every seed counts once.
        let mut seed_times = vec![median(times)];
        let seed_key = match case.estimator {
            "LinearClassifier" | "LinearRegressor" => None,
            "BoostedTreesClassifier" | "BoostedTreesRegressor" => None,
            e if e.starts_with("xgboost.") => Some("seed"),
            _ => Some("model.seed"),
        };
        for seed in 1..seeds {
            let Some(key) = seed_key else { break };
            let mut attrs = attrs.clone();
            attrs.insert(key.to_string(), AttrValue::Int(seed as i64));
            let (m, ms) = fit(&attrs, &format!(" (seed {seed})"));
            seed_times.push(ms);
            values.push(evaluate(&m));
        }
        let value = values.iter().sum::<f64>() / values.len() as f64;
        println!(
            "| {} | {} | {} | {:.4} | {:.3} | {} |",
            case.model,
            case.dataset,
            case.metric,
            value,
            median(seed_times),
            runs
        );
    }
}

/// The Python side of `--threads`.
fn baseline_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/threads_baseline.py")
}

/// One CSV written by `threads_baseline.py --make-data`: ten feature columns and a class.
fn read_csv(path: &Path) -> Dataset {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (c, v) in cols.iter_mut().zip(line.split(',')) {
            c.push(
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("bad number {v:?}")),
            );
        }
    }
    let label = cols.pop().expect("a label column");
    let label_name = header[header.len() - 1];
    Dataset {
        features: header
            .iter()
            .zip(cols)
            .map(|(n, c)| Column::numeric(*n, c))
            .collect(),
        label: Column::numeric(label_name, label),
    }
}

/// A family of `--threads`: its name, our estimator and its attributes.
type ThreadCase = (&'static str, &'static str, Vec<(&'static str, AttrValue)>);

/// Each family's estimator and attributes on our side; the peers' settings match them in
/// `threads_baseline.py`.
fn thread_cases() -> Vec<ThreadCase> {
    vec![
        (
            "gbtree",
            "xgboost.gbtree",
            vec![
                ("objective", s("multi:softprob")),
                ("num_class", int(3)),
                ("eta", float(0.3)),
                ("max_depth", int(6)),
                ("num_boost_round", int(100)),
                ("verbose_eval", AttrValue::Bool(false)),
            ],
        ),
        (
            "forest",
            "RandomForestClassifier",
            vec![
                ("model.n_estimators", int(100)),
                ("model.max_depth", int(12)),
            ],
        ),
        // Clusters against the three classes: the ARI, not accuracy.
        ("kmeans", "KMeans", vec![("model.n_clusters", int(3))]),
    ]
}

/// `--threads`: family × threads (1, 2) × {our time, peer time, our accuracy, peer
/// accuracy}, ours and the peers' measured alternately in the same run so that both see
/// the same machine load. Times are medians of `runs` fits.
fn threads_table(dir: &Path, rows: usize, runs: usize, filter: Option<&str>, verbose: bool) {
    let script = baseline_script();
    if !dir.join("train.csv").exists() {
        let status = Command::new("python3")
            .arg(&script)
            .arg("--make-data")
            .arg(dir)
            .arg("--rows")
            .arg(rows.to_string())
            .status()
            .expect("run python3 (pip install scikit-learn xgboost lightgbm)");
        assert!(status.success(), "threads_baseline.py --make-data failed");
    }
    let train_set = read_csv(&dir.join("train.csv"));
    let test_set = read_csv(&dir.join("test.csv"));
    let n_rows = train_set.label.len();
    println!(
        "{n_rows} training rows × {} features, {} test rows; median of {runs} fits",
        train_set.features.len(),
        test_set.label.len()
    );
    println!(
        "| family | threads | ours s | peer s | ours accuracy (k-means: ARI) | peer accuracy | peer |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (family, estimator, base) in thread_cases() {
        if filter.is_some_and(|f| !family.contains(f)) {
            continue;
        }
        let metric = if family == "kmeans" {
            "ARI"
        } else {
            "Accuracy"
        };
        for threads in [1usize, 2] {
            let mut attrs = common::attrs(&base);
            attrs.insert("train.threads".into(), AttrValue::Int(threads as i64));
            let mut times = Vec::new();
            let mut model = None;
            for _ in 0..runs {
                let start = Instant::now();
                let supervised = family != "kmeans";
                let trained = train(
                    estimator,
                    &attrs,
                    &train_set.features,
                    supervised.then_some(&train_set.label),
                    None,
                    &mut |line| {
                        if verbose {
                            eprintln!("{family} ({threads} threads): {line}");
                        }
                    },
                );
                times.push(start.elapsed().as_secs_f64());
                model = Some(trained.unwrap_or_else(|e| panic!("{family}: {e}")));
            }
            let ours = model
                .expect("at least one run")
                .evaluate(&test_set.features, &test_set.label, &[metric])
                .unwrap_or_else(|e| panic!("{family}: {e}"))[0]
                .1;
            let ours_s = median(times);
            let out = Command::new("python3")
                .arg(&script)
                .args(["--run"])
                .arg(dir)
                .args(["--family", family, "--threads", &threads.to_string()])
                .args(["--runs", &runs.to_string()])
                .env("OMP_NUM_THREADS", threads.to_string())
                .env("OPENBLAS_NUM_THREADS", threads.to_string())
                .env("MKL_NUM_THREADS", threads.to_string())
                .output()
                .expect("run python3 (pip install scikit-learn xgboost lightgbm)");
            if !out.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            }
            let peers: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if peers.is_empty() {
                println!("| {family} | {threads} | {ours_s:.3} | - | {ours:.4} | - | (no peer) |");
            }
            for p in peers {
                println!(
                    "| {family} | {threads} | {ours_s:.3} | {:.3} | {ours:.4} | {:.4} | {} |",
                    p["seconds"].as_f64().unwrap_or(f64::NAN),
                    p["score"].as_f64().unwrap_or(f64::NAN),
                    p["peer"].as_str().unwrap_or("?"),
                );
            }
        }
    }
}
