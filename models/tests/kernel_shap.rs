//! The model-agnostic SHAP estimate (`TrainedModel::sampled_shap_values`, `USING
//! KernelExplainer` / `DeepExplainer`): equality with the Shapley values by brute force
//! (every coalition, the same background) on iris's 4 features (17 rows: every
//! permutation is walked), additivity on boston's
//! 13 (sampled permutations), the closed form `w_i (x_i − E[x_i])` of a linear model,
//! determinism for a seed, the evaluation cap, and (when Python's `shap` package is
//! installed) equality with shap's KernelExplainer on a logistic model.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::attrs;
use sqlflow_models::{AttrValue, Column, Feature, Prediction, ShapValues, TrainedModel};

fn int(i: i64) -> AttrValue {
    AttrValue::Int(i)
}

fn hidden() -> AttrValue {
    AttrValue::List(vec![int(8), int(4)])
}

/// The explained outputs of `rows` (class probabilities, or the value).
fn outputs(model: &TrainedModel, cols: &[Column]) -> Vec<Vec<f64>> {
    if model.classes().is_some() {
        model.predict_proba(cols).unwrap()
    } else {
        model
            .predict(cols)
            .unwrap()
            .into_iter()
            .map(|p| match p {
                Prediction::Value(v) => vec![v],
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

fn num(c: &Column, r: usize) -> f64 {
    match &c.get(r).map(sqlflow_models::FeatureRef::to_feature) {
        Some(Feature::Num(x)) => *x,
        other => panic!("{other:?}"),
    }
}

fn take(cols: &[Column], rows: &[usize]) -> Vec<Column> {
    cols.iter()
        .map(|c| {
            Column::new(
                c.name.clone(),
                rows.iter()
                    .map(|&r| c.get(r).map(sqlflow_models::FeatureRef::to_feature))
                    .collect(),
            )
        })
        .collect()
}

/// Columns whose row `k` is row `x` with the features outside `mask(k)` from row `b(k)`.
fn mixed(cols: &[Column], spec: &[(usize, usize, u32)]) -> Vec<Column> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| {
            Column::new(
                c.name.clone(),
                spec.iter()
                    .map(|&(x, b, mask)| {
                        let r = if mask & (1 << i) != 0 { x } else { b };
                        c.get(r).map(sqlflow_models::FeatureRef::to_feature)
                    })
                    .collect(),
            )
        })
        .collect()
}

fn largest_gap_from_output(model: &TrainedModel, cols: &[Column], v: &ShapValues) -> f64 {
    let out = outputs(model, cols);
    let mut gap: f64 = 0.0;
    for (r, row) in out.iter().enumerate() {
        for (o, want) in row.iter().enumerate() {
            let got = v.row(r, o).iter().sum::<f64>() + v.expected_value[o];
            gap = gap.max((got - want).abs());
        }
    }
    gap
}

/// Shapley values by definition: v(S) = mean over the background (all `rows`) of the
/// output with the features outside S from the background row.
fn brute_force(model: &TrainedModel, cols: &[Column]) -> Vec<f64> {
    let n = cols[0].len();
    let f = cols.len();
    let k = model.classes().map_or(1, <[_]>::len);
    let fact = |m: usize| (1..=m).product::<usize>() as f64;
    let mut values = vec![0.0; n * k * f];
    for x in 0..n {
        let spec: Vec<(usize, usize, u32)> = (0..1u32 << f)
            .flat_map(|mask| (0..n).map(move |b| (x, b, mask)))
            .collect();
        let out = outputs(model, &mixed(cols, &spec));
        let v = |mask: u32, o: usize| -> f64 {
            let start = mask as usize * n;
            out[start..start + n].iter().map(|r| r[o]).sum::<f64>() / n as f64
        };
        for o in 0..k {
            for i in 0..f {
                let mut phi = 0.0;
                for mask in 0..1u32 << f {
                    if mask & (1 << i) != 0 {
                        continue;
                    }
                    let s = mask.count_ones() as usize;
                    let w = fact(s) * fact(f - s - 1) / fact(f);
                    phi += w * (v(mask | 1 << i, o) - v(mask, o));
                }
                values[(x * k + o) * f + i] = phi;
            }
        }
    }
    values
}

#[test]
fn equals_the_shapley_values_by_brute_force() {
    let iris = common::iris();
    let rows: Vec<usize> = (0..150).step_by(9).collect();
    let cols = take(&iris.features, &rows);
    for (est, a) in [
        (
            "DNNClassifier",
            attrs(&[
                ("model.n_classes", int(3)),
                ("model.hidden_units", hidden()),
            ]),
        ),
        ("LinearClassifier", attrs(&[("model.n_classes", int(3))])),
        ("DNNRegressor", attrs(&[("model.hidden_units", hidden())])),
    ] {
        let label = if est == "DNNRegressor" {
            // petal width from the other columns' model: a regression on iris.
            Column::numeric("y", (0..150).map(|r| num(&iris.features[3], r)))
        } else {
            iris.label.clone()
        };
        let model =
            common::fit(est, &a, &iris.features, &label).unwrap_or_else(|e| panic!("{est}: {e}"));
        let v = model.sampled_shap_values(&cols, None, 0).unwrap();
        assert_eq!(v.rows, rows.len());
        assert_eq!(v.outputs.len(), model.classes().map_or(1, <[_]>::len));
        let exact = brute_force(&model, &cols);
        let gap = v
            .values
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let add = largest_gap_from_output(&model, &cols, &v);
        eprintln!("{est}: largest difference from brute force {gap:e}, additivity {add:e}");
        assert!(gap < 1e-9, "{est}: {gap}");
        assert!(add < 1e-9, "{est}: {add}");
        // A DNN classifier's probabilities: the expected value is a distribution.
        if model.classes().is_some() {
            assert!((v.expected_value.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }
}

#[test]
fn sampled_values_add_up_and_are_deterministic() {
    let (train, test) = common::boston_split();
    let cols = take(&test.features, &(0..40).collect::<Vec<_>>());
    for (est, a) in [
        ("DNNRegressor", attrs(&[("model.hidden_units", hidden())])),
        (
            "DNNLinearCombinedRegressor",
            attrs(&[("model.hidden_units", hidden())]),
        ),
    ] {
        let model = common::fit(est, &a, &train.features, &train.label)
            .unwrap_or_else(|e| panic!("{est}: {e}"));
        let v = model.sampled_shap_values(&cols, None, 7).unwrap();
        assert_eq!(v.features.len(), 13);
        let add = largest_gap_from_output(&model, &cols, &v);
        eprintln!("{est}: additivity on 40 boston rows {add:e}");
        assert!(add < 1e-6, "{est}: {add}");
        assert_eq!(v, model.sampled_shap_values(&cols, None, 7).unwrap());
        let other = model.sampled_shap_values(&cols, None, 8).unwrap();
        assert_ne!(v.values, other.values);
        // The estimate converges: two seeds agree closely relative to the values' size.
        let scale = v.values.iter().map(|x| x.abs()).fold(0.0, f64::max);
        let gap = v
            .values
            .iter()
            .zip(&other.values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!("{est}: two seeds differ by {gap:e} (largest |value| {scale:e})");
        assert!(gap < 0.2 * scale, "{est}: {gap} vs {scale}");
        // More samples still add up.
        let more = model.sampled_shap_values(&cols, Some(20_000), 7).unwrap();
        assert!(largest_gap_from_output(&model, &cols, &more) < 1e-6);
    }
}

#[test]
fn linear_model_gets_the_closed_form() {
    let (train, test) = common::boston_split();
    let model = common::fit(
        "LinearRegressor",
        &attrs(&[]),
        &train.features,
        &train.label,
    )
    .unwrap();
    let n = 30;
    let cols = take(&test.features, &(0..n).collect::<Vec<_>>());
    let v = model.sampled_shap_values(&cols, None, 3).unwrap();
    let base = outputs(&model, &cols);
    let mut gap: f64 = 0.0;
    for (i, c) in cols.iter().enumerate() {
        // The slope of the prediction in feature i (the model is affine in its inputs).
        let mut bumped = cols.clone();
        bumped[i] = Column::numeric(c.name.clone(), (0..n).map(|r| num(c, r) + 1.0));
        let w = outputs(&model, &bumped)[0][0] - base[0][0];
        let mean = (0..n).map(|r| num(c, r)).sum::<f64>() / n as f64;
        for r in 0..n {
            gap = gap.max((v.row(r, 0)[i] - w * (num(c, r) - mean)).abs());
        }
    }
    eprintln!("LinearRegressor: largest difference from w_i (x_i − E[x_i]) {gap:e}");
    assert!(gap < 1e-9, "{gap}");
    assert!(largest_gap_from_output(&model, &cols, &v) < 1e-9);
}

#[test]
fn refuses_too_many_evaluations_and_tree_models() {
    let (train, test) = common::boston_split();
    let model = common::fit(
        "LinearRegressor",
        &attrs(&[]),
        &train.features,
        &train.label,
    )
    .unwrap();
    let e = model
        .sampled_shap_values(&test.features, Some(10_000_000), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("fewer rows"), "{e}");
    let tree = common::fit(
        "DecisionTreeRegressor",
        &attrs(&[]),
        &train.features,
        &train.label,
    )
    .unwrap();
    let e = tree
        .sampled_shap_values(&test.features, None, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("TreeExplainer"), "{e}");
    let empty = take(&test.features, &[]);
    assert!(model.sampled_shap_values(&empty, None, 0).is_err());
}

const SHAP_CHECK: &str = r#"
import sys, numpy as np, shap
x = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
w = np.loadtxt(sys.argv[2], delimiter=",", ndmin=1)
b = w[-1]; w = w[:-1]
ours = np.loadtxt(sys.argv[3], delimiter=",", ndmin=2)
def f(X):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return p
e = shap.KernelExplainer(f, x)
sv = np.asarray(e.shap_values(x, silent=True))
print(np.abs(sv - ours).max())
"#;

/// A logistic model on two iris classes; shap's KernelExplainer gets the same function
/// (its weights read from the model's log-odds) and the same background.
#[test]
fn equals_shap_kernel_explainer() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import shap, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 with the shap package is not installed (pip install shap)");
        return;
    }
    let iris = common::iris();
    let label = Column::numeric("y", (0..150).map(|r| f64::from(num(&iris.label, r) == 2.0)));
    let model = common::fit("LinearClassifier", &attrs(&[]), &iris.features, &label).unwrap();
    let rows: Vec<usize> = (0..150).step_by(9).collect();
    let cols = take(&iris.features, &rows);
    let v = model.sampled_shap_values(&cols, None, 0).unwrap();
    let logit = |c: &[Column]| -> f64 {
        let p = model.predict_proba(c).unwrap()[0][1];
        (p / (1.0 - p)).ln()
    };
    let origin: Vec<Column> = cols
        .iter()
        .map(|c| Column::numeric(c.name.clone(), [0.0]))
        .collect();
    let b = logit(&origin);
    let mut wb: Vec<f64> = (0..origin.len())
        .map(|i| {
            let mut unit = origin.clone();
            unit[i] = Column::numeric(origin[i].name.clone(), [1.0]);
            logit(&unit) - b
        })
        .collect();
    wb.push(b);
    let csv = |rows: Vec<Vec<f64>>| {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|v| format!("{v:e}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let dir = std::env::temp_dir().join(format!("sqlflow-kernel-shap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = ["x.csv", "w.csv", "ours.csv"].map(|f| dir.join(f));
    let x: Vec<Vec<f64>> = (0..rows.len())
        .map(|r| cols.iter().map(|c| num(c, r)).collect())
        .collect();
    std::fs::write(&files[0], csv(x)).unwrap();
    std::fs::write(&files[1], csv(vec![wb])).unwrap();
    // The second class's probability (shap explains f's single output).
    let ours: Vec<Vec<f64>> = (0..v.rows).map(|r| v.row(r, 1).to_vec()).collect();
    std::fs::write(&files[2], csv(ours)).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(SHAP_CHECK)
        .args(&files)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    eprintln!("LinearClassifier: largest difference from shap.KernelExplainer {diff:e}");
    assert!(diff < 1e-6, "{diff}");
}
