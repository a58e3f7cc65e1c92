//! `sqlflow_models.OneClassSVM`: agreement with scikit-learn's `OneClassSVM` (numbers
//! hard-coded from `models/bench/one_class_svm_baseline.py`, scikit-learn 1.9.1), the
//! ν-property, the bounded kernel cache, saving and loading, EVALUATE against a 1 / -1
//! label, hostile data and attributes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::Instant;

use sqlflow_models::{
    AttrValue, Attrs, ClassLabel, Column, Feature, ModelError, Prediction, Task, TrainedModel,
    train,
};

const SVM: &str = "sqlflow_models.OneClassSVM";

fn attrs(items: &[(&str, AttrValue)]) -> Attrs {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn fit(a: &Attrs, features: &[Column]) -> Result<TrainedModel, ModelError> {
    train(SVM, a, features, None, None, &mut |_| {})
}

fn columns(rows: &[Vec<f64>]) -> Vec<Column> {
    (0..rows[0].len())
        .map(|j| Column::numeric(format!("f{j}"), rows.iter().map(|r| r[j])))
        .collect()
}

fn iris() -> Vec<Column> {
    common::iris().features
}

/// SQLFlow's fraud tutorial rows: time, v1..v28, amount (the class left out).
fn creditcard() -> Vec<Column> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../client/data/sqlflow-tutorial/popularize_creditcardfraud.sql");
    let text = std::fs::read_to_string(&path).expect("the creditcard dump");
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| l.starts_with('('))
        .map(|l| {
            l.trim()
                .trim_end_matches([',', ';'])
                .trim_matches(|c| c == '(' || c == ')')
                .split(',')
                .take(30)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!((rows.len(), rows[0].len()), (984, 30));
    columns(&rows)
}

/// The baseline's synthetic rows: a 64-bit LCG, uniform in [-1, 1], every 20th row × 4.
fn synthetic(n: usize, d: usize) -> Vec<Column> {
    let mut state: u64 = 42;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut row: Vec<f64> = (0..d)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
                })
                .collect();
            if i % 20 == 0 {
                row.iter_mut().for_each(|v| *v *= 4.0);
            }
            row
        })
        .collect();
    columns(&rows)
}

/// The baseline's cases: name, data, attributes.
fn cases() -> Vec<(&'static str, &'static str, Attrs)> {
    use AttrValue::{Float, Str};
    vec![
        ("iris rbf scale nu=0.5", "iris", Attrs::new()),
        (
            "iris rbf auto nu=0.1",
            "iris",
            attrs(&[
                ("model.gamma", Str("auto".into())),
                ("model.nu", Float(0.1)),
            ]),
        ),
        (
            "iris linear nu=0.5",
            "iris",
            attrs(&[("model.kernel", Str("linear".into()))]),
        ),
        (
            "iris poly(3) coef0=1 nu=0.2",
            "iris",
            attrs(&[
                ("model.kernel", Str("poly".into())),
                ("model.coef0", Float(1.0)),
                ("model.nu", Float(0.2)),
            ]),
        ),
        (
            "iris sigmoid gamma=0.01 nu=0.5",
            "iris",
            attrs(&[
                ("model.kernel", Str("sigmoid".into())),
                ("model.gamma", Float(0.01)),
            ]),
        ),
        ("creditcard rbf scale nu=0.5", "creditcard", Attrs::new()),
        (
            "creditcard rbf scale nu=0.05",
            "creditcard",
            attrs(&[("model.nu", Float(0.05))]),
        ),
        (
            "synthetic 20k rbf scale nu=0.1",
            "synthetic",
            attrs(&[("model.nu", Float(0.1))]),
        ),
        (
            "synthetic 60k rbf scale nu=0.1",
            "synthetic60k",
            attrs(&[("model.nu", Float(0.1))]),
        ),
    ]
}

fn outliers(model: &TrainedModel, x: &[Column]) -> usize {
    model
        .predict(x)
        .unwrap()
        .iter()
        .filter(|p| **p == Prediction::Class(ClassLabel::Int(-1)))
        .count()
}

/// Writes the Rust model's decision values and times per case, for the baseline script:
/// `ONE_CLASS_SVM_DUMP=/tmp/ocsvm_rust.json cargo test --release -p sqlflow-models --test
/// one_class_svm dump_for_baseline -- --nocapture`. Does nothing without the variable.
#[test]
fn dump_for_baseline() {
    let Ok(path) = std::env::var("ONE_CLASS_SVM_DUMP") else {
        return;
    };
    let mut out = serde_json::Map::new();
    for (name, data, a) in cases() {
        let x = match data {
            "iris" => iris(),
            "creditcard" => creditcard(),
            "synthetic" => synthetic(20_000, 10),
            _ => synthetic(60_000, 10),
        };
        let started = Instant::now();
        let model = train(SVM, &a, &x, None, None, &mut |l| println!("{name}: {l}")).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let decision = model.decision_function(&x).unwrap();
        println!("{name}: {seconds:.3} s");
        out.insert(
            name.to_string(),
            serde_json::json!({ "seconds": seconds, "decision": decision }),
        );
    }
    std::fs::write(&path, serde_json::to_vec(&out).unwrap()).unwrap();
}

/// scikit-learn's outlier count, ρ (`-intercept_`) and decision values at some rows.
struct Expected {
    case: &'static str,
    outliers: usize,
    rho: f64,
    decision: &'static [(usize, f64)],
}

const EXPECTED: &[Expected] = &[
    Expected {
        case: "iris rbf scale nu=0.5",
        outliers: 76,
        rho: 44.517533261328936,
        decision: &[
            (0, -0.34323780111765245),
            (49, -0.3469229908336473),
            (99, 3.086500595832895),
            (149, 0.8819358723132069),
        ],
    },
    Expected {
        case: "iris rbf auto nu=0.1",
        outliers: 14,
        rho: 4.024456578144151,
        decision: &[
            (0, 0.460379977633532),
            (49, 0.45219304536458615),
            (99, 0.39456560614324854),
            (149, 0.39881014199332476),
        ],
    },
    Expected {
        case: "iris linear nu=0.5",
        outliers: 75,
        rho: 3705.7100048065186,
        decision: &[
            (0, -653.2500048065194),
            (49, -739.2900048065185),
            (99, -77.02000480651805),
            (149, 240.27999519348214),
        ],
    },
    Expected {
        case: "iris poly(3) coef0=1 nu=0.2",
        outliers: 30,
        rho: 1178.5817076675703,
        decision: &[
            (0, 11.311404238089608),
            (49, -60.87878433759897),
            (99, 422.32579324433664),
            (149, 718.0795407425794),
        ],
    },
    Expected {
        case: "iris sigmoid gamma=0.01 nu=0.5",
        outliers: 75,
        rho: 34.181135550141335,
        decision: &[
            (0, -5.261985137095504),
            (49, -5.996275775937708),
            (99, -0.5948408995462486),
            (149, 1.8325238177632954),
        ],
    },
    Expected {
        case: "creditcard rbf scale nu=0.5",
        outliers: 492,
        rho: 317.3199835047126,
        decision: &[
            (0, -2.0385860733720733),
            (327, 9.308168426571967),
            (655, 6.292553740138828),
            (983, 5.8579670492920854),
        ],
    },
];

#[test]
fn agrees_with_scikit_learn() {
    let all = cases();
    for e in EXPECTED {
        let (_, data, a) = all.iter().find(|c| c.0 == e.case).unwrap();
        let x = if *data == "iris" {
            iris()
        } else {
            creditcard()
        };
        let model = fit(a, &x).unwrap();
        let decision = model.decision_function(&x).unwrap();
        let scale = decision.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // The same SMO as libsvm's (without shrinking, which changes the path): values
        // agree far inside the tolerance (1e-3); observed within 1e-7 of the scale.
        for (row, want) in e.decision {
            let got = decision[*row];
            assert!(
                (got - want).abs() <= 1e-4 * scale,
                "{}: decision[{row}] {got} vs scikit-learn {want} (scale {scale})",
                e.case
            );
        }
        // ρ: far from every row an RBF kernel vanishes, leaving −ρ.
        if !e.case.contains("linear") && !e.case.contains("poly") && !e.case.contains("sigmoid") {
            let far: Vec<Column> = x
                .iter()
                .map(|c| Column::numeric(c.name.clone(), [1e6]))
                .collect();
            let rho = -model.decision_function(&far).unwrap()[0];
            assert!(
                (rho - e.rho).abs() <= 1e-4 * e.rho.abs(),
                "{}: rho {rho} vs {}",
                e.case,
                e.rho
            );
        }
        // Only rows on the margin (free support vectors, decision ≈ 0) may fall on the
        // other side: iris repeats rows, two of which sit at 3e-7 from 0.
        let got = outliers(&model, &x);
        let margin = decision.iter().filter(|v| v.abs() < 1e-4 * scale).count();
        assert!(
            got.abs_diff(e.outliers) <= margin,
            "{}: {got} outliers, scikit-learn {} ({margin} rows on the margin)",
            e.case,
            e.outliers
        );
    }
}

#[test]
fn nu_bounds_the_outlier_fraction() {
    let x = synthetic(1000, 4);
    for nu in [0.05, 0.2, 0.5, 0.9] {
        let model = fit(&attrs(&[("model.nu", AttrValue::Float(nu))]), &x).unwrap();
        let fraction = outliers(&model, &x) as f64 / 1000.0;
        // ν bounds the fraction of margin errors from above and of support vectors from
        // below; rows on the margin (decision ≈ 0) fall either side.
        assert!(
            (fraction - nu).abs() <= 0.02,
            "nu {nu}: outlier fraction {fraction}"
        );
    }
}

#[test]
fn a_tiny_kernel_cache_gives_the_same_model() {
    let x = synthetic(1500, 5);
    let big = fit(&Attrs::new(), &x).unwrap();
    // 0.02 MB holds one or two kernel rows of 1,500 values: nearly every row is computed
    // again when needed, never all of them kept.
    let mut lines = Vec::new();
    let small = train(
        SVM,
        &attrs(&[("model.cache_size", AttrValue::Float(0.02))]),
        &x,
        None,
        None,
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap();
    assert_eq!(
        big.decision_function(&x).unwrap(),
        small.decision_function(&x).unwrap()
    );
    assert!(lines[0].contains("1500 rows, 5 features"), "{lines:?}");
    assert!(
        lines.last().unwrap().contains("SMO converged") && lines.last().unwrap().contains("rho"),
        "{lines:?}"
    );
}

#[test]
fn progress_reports_smo_iterations() {
    let x = synthetic(4000, 3);
    let mut lines = Vec::new();
    let a = attrs(&[
        ("model.nu", AttrValue::Float(0.1)),
        ("model.gamma", AttrValue::Float(5.0)),
    ]);
    train(SVM, &a, &x, None, None, &mut |l| lines.push(l.to_string())).unwrap();
    let last = lines.last().unwrap();
    let iterations: usize = last
        .split(" after ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{last}"));
    assert!(iterations >= 1000, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("SMO iteration 1000: violation")),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2 + iterations / 1000, "{lines:?}");
    // max_iter stops early and says so.
    let mut lines = Vec::new();
    let model = train(
        SVM,
        &attrs(&[("model.max_iter", AttrValue::Int(5))]),
        &x,
        None,
        None,
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap();
    assert!(
        lines
            .last()
            .unwrap()
            .contains("stopped at model.max_iter (violation"),
        "{lines:?}"
    );
    assert_eq!(model.predict(&x).unwrap().len(), 4000);
}

#[test]
fn saves_loads_and_describes_itself() {
    let x = iris();
    let model = fit(&Attrs::new(), &x).unwrap();
    assert_eq!(model.task(), Task::OutlierDetection);
    assert_eq!(model.estimator(), SVM);
    assert_eq!(model.label_name(), None);
    assert_eq!(
        model.classes(),
        Some(&[ClassLabel::Int(-1), ClassLabel::Int(1)][..])
    );
    assert_eq!(
        model.attributes().get("model.gamma"),
        Some(&AttrValue::Str("scale".into()))
    );
    let info = sqlflow_models::estimator_info("SQLFLOW_MODELS.oneclasssvm").unwrap();
    assert!(!info.needs_label && info.name == SVM);
    let bytes = model.to_bytes().unwrap();
    assert_eq!(&bytes[8..12], &4u32.to_le_bytes());
    let loaded = TrainedModel::from_bytes(&bytes).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(
        loaded.decision_function(&x).unwrap(),
        model.decision_function(&x).unwrap()
    );
    // An older version number cannot hold this model: damaged, not silently misread.
    let mut old = bytes.clone();
    old[8..12].copy_from_slice(&3u32.to_le_bytes());
    assert!(matches!(
        TrainedModel::from_bytes(&old),
        Err(ModelError::Corrupt(_))
    ));
    // Damaged multipliers fail at load time.
    let text = String::from_utf8(bytes[12..].to_vec()).unwrap();
    let damaged = text.replacen("\"rho\":", "\"rho\":1e999999,\"x\":", 1);
    let mut bad = bytes[..12].to_vec();
    bad.extend_from_slice(damaged.as_bytes());
    assert!(TrainedModel::from_bytes(&bad).is_err());
    // Warm start is refused with the reason.
    let err = train(SVM, &Attrs::new(), &x, None, Some(&model), &mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("cannot continue training"),
        "{err}"
    );
    assert!(model.feature_importance(&x).is_err());
}

#[test]
fn evaluates_against_a_label_of_one_and_minus_one() {
    let x = iris();
    let model = fit(&Attrs::new(), &x).unwrap();
    let pred: Vec<f64> = model
        .predict(&x)
        .unwrap()
        .iter()
        .map(|p| match p {
            Prediction::Class(ClassLabel::Int(v)) => *v as f64,
            other => panic!("{other:?}"),
        })
        .collect();
    let truth = Column::numeric("is_inlier", pred.clone());
    let m = model
        .evaluate(&x, &truth, &["Accuracy", "AUC", "F1"])
        .unwrap();
    assert_eq!(m[0], ("Accuracy".to_string(), 1.0));
    assert_eq!(m[1].1, 1.0);
    assert_eq!(model.evaluate(&x, &truth, &[]).unwrap()[0].0, "Accuracy");
    let zero_one = Column::numeric("y", pred.iter().map(|v| v.max(0.0)));
    let err = model.evaluate(&x, &zero_one, &[]).unwrap_err().to_string();
    assert!(err.contains("1 (inlier) / -1 (outlier)"), "{err}");
    assert!(model.evaluate(&x, &truth, &["MSE"]).is_err());
}

#[test]
fn hostile_data() {
    // One row: it is the boundary (decision 0), hence an outlier, as scikit-learn says.
    let one = vec![Column::numeric("a", [1.0]), Column::numeric("b", [2.0])];
    let model = fit(&Attrs::new(), &one).unwrap();
    assert_eq!(model.decision_function(&one).unwrap(), [0.0]);
    assert_eq!(
        model.predict(&one).unwrap(),
        [Prediction::Class(ClassLabel::Int(-1))]
    );
    // Constant columns: variance 0, gamma 'scale' falls back to 1 as scikit-learn.
    let constant = vec![
        Column::numeric("c", [3.0; 50]),
        Column::numeric("d", [0.0; 50]),
    ];
    let model = fit(&Attrs::new(), &constant).unwrap();
    let d = model.decision_function(&constant).unwrap();
    assert!(d.iter().all(|v| v.is_finite() && v.abs() < 1e-9), "{d:?}");
    // NULL and NaN become the training mean; a category is one-hot encoded.
    let mut a: Vec<Option<Feature>> = (0..40).map(|i| Some(Feature::Num(i as f64))).collect();
    a[3] = None;
    a[7] = Some(Feature::Num(f64::NAN));
    let color: Vec<Option<Feature>> = (0..40)
        .map(|i| Some(Feature::Str(["red", "blue"][i % 2].into())))
        .collect();
    let mixed = vec![Column::new("a", a), Column::new("color", color)];
    let model = fit(&Attrs::new(), &mixed).unwrap();
    assert!(
        model
            .decision_function(&mixed)
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
    assert_eq!(model.encoded_feature_names().len(), 3);
    // Huge values: the variance overflows, said in words, not NaN predictions.
    let huge = vec![Column::numeric("h", [1e300, -1e300, 5.0])];
    let err = fit(&Attrs::new(), &huge).unwrap_err().to_string();
    assert!(err.contains("scale the features"), "{err}");
    // Large but representable values train (the kernel underflows to 0, not NaN).
    let large = vec![Column::numeric("h", [1e150, -1e150, 5.0, 7.0])];
    let model = fit(&attrs(&[("model.gamma", AttrValue::Float(1.0))]), &large).unwrap();
    assert!(
        model
            .decision_function(&large)
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
    // A polynomial kernel that overflows is an error, not a model of NaNs.
    let poly = attrs(&[
        ("model.kernel", AttrValue::Str("poly".into())),
        ("model.degree", AttrValue::Int(1000)),
        ("model.gamma", AttrValue::Float(1.0)),
    ]);
    let err = fit(&poly, &iris()).unwrap_err().to_string();
    assert!(err.contains("overflow"), "{err}");
    // ν = 1: every multiplier at the bound (scikit-learn fails: ρ infinite); here every
    // training row is an outlier.
    let x = iris();
    let model = fit(&attrs(&[("model.nu", AttrValue::Float(1.0))]), &x).unwrap();
    assert_eq!(outliers(&model, &x), 150);
    // No rows.
    let empty = vec![Column::numeric("a", Vec::<f64>::new())];
    assert!(fit(&Attrs::new(), &empty).is_err());
}

#[test]
fn bad_attributes_are_named() {
    let x = iris();
    let bad: &[(&str, AttrValue, &str)] = &[
        ("model.nu", AttrValue::Float(0.0), "(0, 1]"),
        ("model.nu", AttrValue::Float(1.5), "(0, 1]"),
        ("model.kernel", AttrValue::Str("precomputed".into()), "rbf"),
        ("model.gamma", AttrValue::Str("often".into()), "scale, auto"),
        ("model.gamma", AttrValue::Float(-1.0), "scale, auto"),
        ("model.degree", AttrValue::Int(-1), "model.degree"),
        ("model.tol", AttrValue::Float(0.0), "model.tol"),
        ("model.max_iter", AttrValue::Int(-2), "model.max_iter"),
        (
            "model.cache_size",
            AttrValue::Float(0.0),
            "model.cache_size",
        ),
        ("model.C", AttrValue::Float(1.0), "model.nu"),
    ];
    for (name, value, says) in bad {
        let err = fit(&attrs(&[(name, value.clone())]), &x)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(name) && err.contains(says),
            "{name}={value}: {err}"
        );
        assert!(
            sqlflow_models::validate_attributes(SVM, &attrs(&[(name, value.clone())])).is_err()
        );
    }
    let notes = sqlflow_models::validate_attributes(
        SVM,
        &attrs(&[("model.shrinking", AttrValue::Bool(false))]),
    )
    .unwrap();
    assert!(
        notes[0].contains("model.shrinking has no effect"),
        "{notes:?}"
    );
    // gamma as a number, integer or float; kernel and gamma case-insensitive.
    let model = fit(
        &attrs(&[
            ("model.gamma", AttrValue::Int(1)),
            ("MODEL.KERNEL", AttrValue::Ident("RBF".into())),
            (
                "model.gamma".to_ascii_uppercase().as_str(),
                AttrValue::Int(1),
            ),
        ]),
        &x,
    );
    assert!(model.is_err(), "the same attribute twice");
    let model = fit(
        &attrs(&[("model.gamma", AttrValue::Ident("AUTO".into()))]),
        &x,
    )
    .unwrap();
    assert_eq!(
        model.attributes().get("model.gamma"),
        Some(&AttrValue::Str("auto".into()))
    );
}
