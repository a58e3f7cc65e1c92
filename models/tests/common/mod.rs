//! Loading the datasets in `testdata/` and the shared train/test splits. Also compiled
//! into the `models-bench` binary; `bench/sklearn_baseline.py` implements the same split.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sqlflow_models::{AttrValue, Attrs, Column, Feature, ModelError, TrainedModel, train};

pub struct Dataset {
    pub features: Vec<Column>,
    pub label: Column,
}

pub fn testdata(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(file)
}

fn parse_rows(text: &str, skip: usize) -> Vec<Vec<f64>> {
    text.lines()
        .skip(skip)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim()
                .split(',')
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .unwrap_or_else(|_| panic!("bad number {v:?} in {l:?}"))
                })
                .collect()
        })
        .collect()
}

fn columns(names: &[&str], rows: &[Vec<f64>]) -> Vec<Column> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| Column::numeric(*n, rows.iter().map(|r| r[i])))
        .collect()
}

pub const IRIS_FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
pub const IRIS_CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// scikit-learn's iris.csv: a "150,4,setosa,versicolor,virginica" line, then rows of four
/// measurements and the class index.
pub fn iris() -> Dataset {
    let text = std::fs::read_to_string(testdata("iris.csv")).expect("read iris.csv");
    let rows = parse_rows(&text, 1);
    assert_eq!(rows.len(), 150);
    Dataset {
        features: columns(&IRIS_FEATURES, &rows),
        label: Column::numeric("class", rows.iter().map(|r| r[4])),
    }
}

/// scikit-learn's boston_house_prices.csv: a "506,13" line, a header line, then rows of
/// 13 features and the target MEDV.
pub fn boston() -> Dataset {
    let text = std::fs::read_to_string(testdata("boston_house_prices.csv"))
        .expect("read boston_house_prices.csv");
    let header: Vec<String> = text
        .lines()
        .nth(1)
        .expect("header line")
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect();
    let rows = parse_rows(&text, 2);
    assert_eq!(rows.len(), 506);
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    Dataset {
        features: columns(&names[..13], &rows),
        label: Column::numeric(names[13], rows.iter().map(|r| r[13])),
    }
}

/// Attributes from `(key, value)` pairs.
pub fn attrs(items: &[(&str, AttrValue)]) -> Attrs {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Trains from scratch (no warm start), ignoring progress lines.
pub fn fit(
    estimator: &str,
    a: &Attrs,
    features: &[Column],
    label: &Column,
) -> Result<TrainedModel, ModelError> {
    train(estimator, a, features, Some(label), None, &mut |_| {})
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The shared split: Fisher-Yates shuffle of row indices driven by SplitMix64(seed),
/// first `n_train` rows train, the rest test (see testdata/README.md).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        p.swap(i, j);
    }
    p
}

pub const SPLIT_SEED: u64 = 42;

fn take(col: &Column, rows: &[usize]) -> Column {
    Column::new(
        col.name.clone(),
        rows.iter()
            .map(|&r| col.get(r).map(sqlflow_models::FeatureRef::to_feature))
            .collect(),
    )
}

impl Dataset {
    pub fn rows(&self, rows: &[usize]) -> Dataset {
        Dataset {
            features: self.features.iter().map(|c| take(c, rows)).collect(),
            label: take(&self.label, rows),
        }
    }

    /// (train, test) with the shared seeded split.
    pub fn split(&self, n_train: usize) -> (Dataset, Dataset) {
        let p = permutation(self.label.len(), SPLIT_SEED);
        (self.rows(&p[..n_train]), self.rows(&p[n_train..]))
    }

    /// The label with class indices replaced by names (iris: "setosa", ...).
    pub fn label_as_strings(&self, names: &[&str]) -> Column {
        Column::new(
            self.label.name.clone(),
            self.label
                .to_features()
                .iter()
                .map(|v| match v {
                    Some(Feature::Num(x)) => Some(Feature::Str(names[*x as usize].to_string())),
                    other => other.clone(),
                })
                .collect(),
        )
    }
}

/// iris 120/30.
pub fn iris_split() -> (Dataset, Dataset) {
    iris().split(120)
}

/// boston 400/106.
pub fn boston_split() -> (Dataset, Dataset) {
    boston().split(400)
}

/// A larger synthetic problem for timing (20 uniform features in [-1, 1]; the target is
/// a polynomial of the first eight plus noise; classes cut the target at 0 and 1).
/// Generated with SplitMix64 from `seed` using only exact arithmetic, so
/// `bench/sklearn_baseline.py` generates the same numbers bit for bit.
/// Returns (regression, classification) datasets of `n` rows.
pub fn synthetic(n: usize, seed: u64) -> (Dataset, Dataset) {
    const D: usize = 20;
    let mut state = seed;
    let mut uniform = || (splitmix64(&mut state) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    let mut rows = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f64> = (0..D).map(|_| 2.0 * uniform() - 1.0).collect();
        let noise = 0.1 * (2.0 * uniform() - 1.0);
        y.push(x[0] * x[1] + 2.0 * x[2] * x[2] - x[3] + 0.5 * x[4] * x[5] * x[6] + x[7] + noise);
        rows.push(x);
    }
    let names: Vec<String> = (0..D).map(|j| format!("x{j}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let features = columns(&refs, &rows);
    let class = y.iter().map(|&v| {
        if v < 0.0 {
            0.0
        } else if v < 1.0 {
            1.0
        } else {
            2.0
        }
    });
    (
        Dataset {
            features: features.clone(),
            label: Column::numeric("y", y.iter().copied()),
        },
        Dataset {
            features,
            label: Column::numeric("class", class),
        },
    )
}

/// The first 80% of rows train, the rest test (the rows are already random).
pub fn head_split(data: &Dataset) -> (Dataset, Dataset) {
    let n = data.label.len();
    let cut = n * 4 / 5;
    let all: Vec<usize> = (0..n).collect();
    (data.rows(&all[..cut]), data.rows(&all[cut..]))
}
