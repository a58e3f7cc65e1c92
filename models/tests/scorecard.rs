//! `sqlflow_models.ScoreCard`: weight of evidence and information value worked out by
//! hand, monotone points, the score as the sum of the card, saving and loading, hostile
//! data, attributes, and the quality on SQLFlow's "give me some credit" data
//! (`client/data/sqlflow-tutorial/popularize_give_me_some_credit.sql`, the rows
//! `sqlflow demo-data` loads) against scikit-learn (`models/bench/scorecard_baseline.py`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Instant;

use sqlflow_models::{
    AttrValue, Attrs, Column, Feature, ModelError, ScoreCardRow, TrainedModel, train,
};

const SC: &str = "sqlflow_models.ScoreCard";

fn attrs(items: &[(&str, AttrValue)]) -> Attrs {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn fit(a: &Attrs, features: &[Column], label: &Column) -> Result<TrainedModel, ModelError> {
    train(SC, a, features, Some(label), None, &mut |_| {})
}

fn card(model: &TrainedModel) -> Vec<ScoreCardRow> {
    model.score_card().expect("a score card")
}

fn rows_of<'a>(card: &'a [ScoreCardRow], feature: &str) -> Vec<&'a ScoreCardRow> {
    card.iter().filter(|r| r.feature == feature).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// 12 rows, x in {1, 2, 3}, 1, 2 and 3 bad rows of 4 respectively.
fn tiny() -> (Vec<Column>, Column) {
    let x = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0];
    let y = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
    (vec![Column::numeric("x", x)], Column::numeric("bad", y))
}

#[test]
fn woe_and_iv_by_hand() {
    let (features, label) = tiny();
    let mut lines = Vec::new();
    let a = attrs(&[("model.pf_bin_size", AttrValue::Int(3))]);
    let model = train(SC, &a, &features, Some(&label), None, &mut |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    let card = card(&model);
    // numpy: quantile([1]*4 + [2]*4 + [3]*4, [0, 1/3, 2/3, 1]) = 1, 1.667, 2.333, 3
    let bins: Vec<&str> = card.iter().map(|r| r.bin.as_str()).collect();
    assert_eq!(bins, ["(0.999, 1.667]", "(1.667, 2.333]", "(2.333, 3.0]"]);
    // 6 bad, 6 good: WoE = ln((bad_i/6) / (good_i/6)).
    let woe: Vec<f64> = card.iter().map(|r| r.woe).collect();
    assert!(close(woe[0], (1.0f64 / 3.0).ln()), "{woe:?}");
    assert!(close(woe[1], 0.0), "{woe:?}");
    assert!(close(woe[2], 3.0f64.ln()), "{woe:?}");
    // IV = (1/6 - 3/6) ln(1/3) + 0 + (3/6 - 1/6) ln 3 = 2/3 ln 3
    let iv = 2.0 / 3.0 * 3.0f64.ln();
    assert!(card.iter().all(|r| close(r.iv, iv)), "{card:?}");
    assert_eq!(card.iter().map(|r| r.rows).collect::<Vec<_>>(), [4, 4, 4]);
    assert_eq!(
        card.iter().map(|r| r.bad_rate).collect::<Vec<_>>(),
        [0.25, 0.5, 0.75]
    );
    let importance = model.feature_importance(&features).unwrap();
    assert_eq!(importance.len(), 1);
    assert!(close(importance[0].1, iv));
    // More bad, fewer points; the middle bin (WoE 0, the population's odds of 1:1)
    // scores offset/m - factor*b0 = 600 - 20/ln2*ln(20) - 28.85*b0 with b0 = 0 here.
    assert!(card[0].points > card[1].points && card[1].points > card[2].points);
    let factor = 20.0 / 2f64.ln();
    assert_eq!(card[1].points, (600.0 - factor * 20f64.ln()).round());
    // Progress: summary, binning, regression, metrics, the card as SQLFlow printed it.
    assert!(
        lines[0].contains("12 rows, 6 good (bad = 0) and 6 bad (bad = 1)"),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("x: 3 bins, IV 0.7324")));
    assert!(lines.iter().any(|l| l.contains("L-BFGS stopped after")));
    assert!(lines.iter().any(|l| l.starts_with("training rows: AUC ")));
    assert!(lines.iter().any(|l| l.starts_with("TARGET SCORE: 600")));
    assert_eq!(
        lines.last().unwrap(),
        &format!("x (2.333, 3.0] {:?}", card[2].points)
    );
}

/// 2000 rows where the chance of "bad" grows with x and does not depend on z.
fn graded(n: usize) -> (Vec<Column>, Column) {
    let mut state = 42u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut z, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let xi = i as f64 / n as f64;
        x.push(xi * 100.0);
        z.push(next());
        y.push(if next() < 0.05 + 0.5 * xi { 1.0 } else { 0.0 });
    }
    (
        vec![Column::numeric("x", x), Column::numeric("z", z)],
        Column::numeric("y", y),
    )
}

#[test]
fn points_fall_as_risk_rises_and_the_score_adds_up() {
    let (features, label) = graded(2000);
    let model = fit(&Attrs::new(), &features, &label).unwrap();
    let card = card(&model);
    let x = rows_of(&card, "x");
    assert_eq!(x.len(), 5);
    assert!(
        x.windows(2)
            .all(|w| w[0].points > w[1].points && w[0].woe < w[1].woe),
        "{x:?}"
    );
    let (iv_x, iv_z) = (x[0].iv, rows_of(&card, "z")[0].iv);
    assert!(iv_x > 0.3 && iv_z < 0.02, "{iv_x} {iv_z}");
    // The score is the sum of the card's points for each row's bins, and agrees with
    // the probability: offset - factor * ln(odds of bad), within the rounding.
    let scores = model.predict_scores(&features).unwrap();
    let proba = model.predict_proba(&features).unwrap();
    let factor = 20.0 / 2f64.ln();
    let offset = 600.0 - factor * 20f64.ln();
    for r in [0, 700, 1999] {
        let v = r as f64 / 20.0;
        let bin_of = |rows: &[&ScoreCardRow], v: f64| {
            rows.iter()
                .find(|row| {
                    let (lo, hi) = row.bin[1..row.bin.len() - 1].split_once(", ").unwrap();
                    v > lo.parse::<f64>().unwrap() && v <= hi.parse::<f64>().unwrap()
                })
                .map(|row| row.points)
        };
        let zv = match &features[1]
            .get(r)
            .map(sqlflow_models::FeatureRef::to_feature)
        {
            Some(Feature::Num(z)) => *z,
            _ => unreachable!(),
        };
        let by_hand = bin_of(&x, v).unwrap_or(x[4].points)
            + bin_of(&rows_of(&card, "z"), zv).unwrap_or(rows_of(&card, "z")[4].points);
        assert_eq!(scores[r], by_hand, "row {r}");
        let p = proba[r][1];
        let exact = offset - factor * (p / (1.0 - p)).ln();
        assert!((scores[r] - exact).abs() <= 1.0, "{} vs {exact}", scores[r]);
    }
    // Riskier rows score lower.
    assert!(scores[0] > scores[1999]);
    // EVALUATE's metrics, KS among them.
    let m = model
        .evaluate(&features, &label, &["AUC", "ks", "Accuracy"])
        .unwrap();
    assert_eq!(m[1].0, "ks");
    assert!(m[0].1 > 0.65 && m[1].1 > 0.25 && m[1].1 <= 1.0, "{m:?}");
    let err = model.evaluate(&features, &label, &["KSS"]).unwrap_err();
    assert!(err.to_string().contains("KS (two classes)"), "{err}");
}

#[test]
fn attributes_change_the_card() {
    let (features, label) = graded(1000);
    let a = attrs(&[
        ("model.pf_bin_size", AttrValue::Int(10)),
        ("model.target_score", AttrValue::Int(500)),
        ("model.pdo", AttrValue::Float(40.0)),
        ("model.target_odds", AttrValue::Int(50)),
        ("train.epoch", AttrValue::Int(3)),
    ]);
    let model = fit(&a, &features, &label).unwrap();
    assert_eq!(rows_of(&card(&model), "x").len(), 10);
    let saved = model.attributes();
    assert_eq!(
        saved.get("model.target_score"),
        Some(&AttrValue::Float(500.0))
    );
    assert_eq!(saved.get("model.pf_bin_size"), Some(&AttrValue::Int(10)));
    // 40 points double the odds: scores spread twice as far as with 20.
    let wide = model.predict_scores(&features).unwrap();
    let narrow = fit(&Attrs::new(), &features, &label)
        .unwrap()
        .predict_scores(&features)
        .unwrap();
    let spread = |s: &[f64]| {
        s.iter().cloned().fold(f64::MIN, f64::max) - s.iter().cloned().fold(f64::MAX, f64::min)
    };
    assert!(spread(&wide) > 1.5 * spread(&narrow));

    let defaults = sqlflow_models::accepted_attributes(SC).unwrap();
    for (name, default) in [
        ("model.pf_bin_size", "5"),
        ("model.target_score", "600.0"),
        ("model.target_odds", "20.0"),
        ("model.pdo", "20.0"),
        ("model.l2_reg", "0.0"),
        ("train.max_iter", "100"),
    ] {
        assert!(
            defaults
                .iter()
                .any(|(n, d)| *n == name && d.as_deref() == Some(default)),
            "{name}: {defaults:?}"
        );
    }
    for (name, value, expected) in [
        (
            "model.pf_bin_size",
            AttrValue::Int(0),
            "an integer in [1, 1000]",
        ),
        ("model.pdo", AttrValue::Int(0), "a number > 0"),
        (
            "model.target_odds",
            AttrValue::Str("x".into()),
            "a number > 0",
        ),
    ] {
        let err = fit(&attrs(&[(name, value)]), &features, &label).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("attribute '{name}' of {SC}")) && msg.contains(expected),
            "{msg}"
        );
    }
    let err = fit(
        &attrs(&[("model.bins", AttrValue::Int(3))]),
        &features,
        &label,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("unknown attribute 'model.bins'")
            && err.contains("model.pf_bin_size (default 5)"),
        "{err}"
    );
    let notices =
        sqlflow_models::validate_attributes(SC, &attrs(&[("train.epoch", AttrValue::Int(2))]))
            .unwrap();
    assert!(
        notices[0].contains("train.epoch has no effect"),
        "{notices:?}"
    );
    // No warm start.
    let err = train(
        SC,
        &Attrs::new(),
        &features,
        Some(&label),
        Some(&model),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::WarmStart(_)), "{err}");
}

#[test]
fn save_and_load() {
    let (features, label) = graded(500);
    let model = fit(&Attrs::new(), &features, &label).unwrap();
    let bytes = model.to_bytes().unwrap();
    // Format 3 added the score card; other models still write 2.
    assert_eq!(&bytes[..12], b"SQLFMODL\x03\x00\x00\x00");
    let loaded = TrainedModel::from_bytes(&bytes).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(
        loaded.predict_scores(&features).unwrap(),
        model.predict_scores(&features).unwrap()
    );
    assert_eq!(
        loaded.predict_proba(&features).unwrap(),
        model.predict_proba(&features).unwrap()
    );
    assert_eq!(loaded.to_bytes().unwrap(), bytes);
    // A build of format 2 could not have written a score card.
    let mut old = bytes.clone();
    old[8] = 2;
    let err = TrainedModel::from_bytes(&old).unwrap_err();
    assert!(
        err.to_string()
            .contains("format version 2 cannot hold a sqlflow_models.ScoreCard"),
        "{err}"
    );
    // Damaged bytes are errors, never panics: every truncation, and flipped bytes.
    for cut in (0..bytes.len()).step_by(7) {
        assert!(TrainedModel::from_bytes(&bytes[..cut]).is_err());
    }
    for at in (12..bytes.len()).step_by(5) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x55;
        if let Ok(m) = TrainedModel::from_bytes(&bad) {
            // Still a consistent model: it must score without panicking.
            let _ = m.predict_scores(&features);
        }
    }
    // Inconsistent content: the bins of a feature against its edges.
    let text = String::from_utf8(bytes[12..].to_vec()).unwrap();
    let broken = text.replacen("\"edges\":[", "\"edges\":[1e300,", 1);
    assert_ne!(broken, text);
    let mut damaged = bytes[..12].to_vec();
    damaged.extend_from_slice(broken.as_bytes());
    let err = TrainedModel::from_bytes(&damaged).unwrap_err();
    assert!(matches!(err, ModelError::Corrupt(_)), "{err}");
}

#[test]
fn hostile_data() {
    let (features, _) = tiny();
    // One class only.
    let err = fit(&Attrs::new(), &features, &Column::numeric("bad", [0.0; 12])).unwrap_err();
    assert!(
        err.to_string()
            .contains("label column 'bad' has 1 distinct value"),
        "{err}"
    );
    // Three classes.
    let three = Column::numeric("bad", [0., 1., 2., 0., 1., 2., 0., 1., 2., 0., 1., 2.]);
    let err = fit(&Attrs::new(), &features, &three).unwrap_err();
    assert!(
        err.to_string().contains("needs a label of 2 classes") && err.to_string().contains("3"),
        "{err}"
    );
    // A NULL label.
    let mut nulls = tiny().1;
    let mut values = nulls.to_features();
    values[3] = None;
    nulls = Column::new(nulls.name.clone(), values);
    let err = fit(&Attrs::new(), &features, &nulls).unwrap_err();
    assert!(err.to_string().contains("NULL at row 4"), "{err}");

    // A constant column, an all-NULL one, NULLs, categories; no bin is ever empty of
    // meaning: WoE stays finite (a pure bin is smoothed).
    let (_, label) = tiny();
    let n = 12;
    let with_nulls: Vec<Option<Feature>> = (0..n)
        .map(|i| (i % 3 != 0).then_some(Feature::Num(i as f64)))
        .collect();
    let colors = ["red", "blue", "red", "green"];
    let features = vec![
        Column::numeric("constant", [7.0; 12]),
        Column::new("empty", vec![None; n]),
        Column::new("holes", with_nulls),
        Column::new(
            "color",
            (0..n)
                .map(|i| Some(Feature::Str(colors[i % 4].to_string())))
                .collect(),
        ),
        // Perfectly separating: its pure bins are smoothed.
        Column::numeric(
            "leak",
            label
                .to_features()
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Some(Feature::Num(y)) => y * 100.0 + i as f64,
                    _ => 0.0,
                }),
        ),
    ];
    let model = fit(&Attrs::new(), &features, &label).unwrap();
    let card = card(&model);
    assert!(
        card.iter()
            .all(|r| r.woe.is_finite() && r.points.is_finite())
    );
    let constant = rows_of(&card, "constant");
    assert_eq!(constant.len(), 1);
    assert_eq!(constant[0].bin, "(6.999, 7.0]");
    assert_eq!(constant[0].woe, 0.0);
    let empty = rows_of(&card, "empty");
    assert_eq!(
        empty.iter().map(|r| r.bin.as_str()).collect::<Vec<_>>(),
        ["NULL", "(other)"]
    );
    let holes = rows_of(&card, "holes");
    assert_eq!(holes.last().unwrap().bin, "NULL");
    assert_eq!(holes.last().unwrap().rows, 4);
    let color = rows_of(&card, "color");
    assert_eq!(
        color.iter().map(|r| r.bin.as_str()).collect::<Vec<_>>(),
        ["blue", "green", "red", "(other)"]
    );
    let leak = rows_of(&card, "leak");
    assert!(
        leak[0].woe < -1.0 && leak.last().unwrap().woe > 1.0,
        "{leak:?}"
    );
    // Scoring rows the training never saw: NULLs where there were none, an unseen
    // category, numbers beyond the training range, NaN.
    let odd = vec![
        Column::new("constant", vec![None, Some(Feature::Num(1e9))]),
        Column::new("empty", vec![Some(Feature::Num(3.0)), None]),
        Column::new(
            "holes",
            vec![Some(Feature::Num(f64::NAN)), Some(Feature::Num(-5.0))],
        ),
        Column::new("color", vec![Some(Feature::Str("purple".into())), None]),
        Column::new(
            "leak",
            vec![Some(Feature::Num(f64::INFINITY)), Some(Feature::Num(0.5))],
        ),
    ];
    let scores = model.predict_scores(&odd).unwrap();
    let proba = model.predict_proba(&odd).unwrap();
    assert!(scores.iter().all(|s| s.is_finite()));
    assert!(proba.iter().all(|p| p[1] > 0.0 && p[1] < 1.0));
    // A string where a number was trained is an error naming the column.
    let mut wrong = odd.clone();
    wrong[0] = Column::strings("constant", ["a", "b"]);
    let err = model.predict_scores(&wrong).unwrap_err().to_string();
    assert!(err.contains("'constant'"), "{err}");
    // A missing column is named.
    let err = model.predict_scores(&odd[1..]).unwrap_err().to_string();
    assert!(err.contains("column 'constant' is missing"), "{err}");
    // An identifier: a bin per value, the card printed while training is cut short.
    let n = 600;
    let ids = Column::strings("id", (0..n).map(|i| format!("id{i:04}")));
    let y = Column::strings(
        "risk",
        (0..n).map(|i| if i % 3 == 0 { "high" } else { "low" }),
    );
    let mut lines = Vec::new();
    let model = train(SC, &Attrs::new(), &[ids], Some(&y), None, &mut |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    assert_eq!(model.score_card().unwrap().len(), n + 1);
    // String labels: the second in sorted order is "bad".
    assert!(
        lines[0].contains("200 good (risk = high) and 400 bad (risk = low)"),
        "{}",
        lines[0]
    );
    assert!(lines.len() < 220, "{}", lines.len());
    assert!(
        lines.last().unwrap().starts_with("... and 401 more bins"),
        "{:?}",
        lines.last()
    );
    // Other models give no card and no scores.
    let other = train(
        "LinearClassifier",
        &Attrs::new(),
        &tiny().0,
        Some(&tiny().1),
        None,
        &mut |_| {},
    )
    .unwrap();
    assert!(other.score_card().is_none());
    assert!(other.predict_scores(&tiny().0).is_err());
}

/// The "give me some credit" rows of SQLFlow's tutorial dump: the label and ten features.
fn give_me_some_credit() -> (Vec<String>, Vec<Vec<f64>>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../client/data/sqlflow-tutorial/popularize_give_me_some_credit.sql");
    let text = std::fs::read_to_string(&path).expect("the scorecard dump");
    let create = text.find("scorecard.train(").expect("CREATE TABLE");
    let body = &text[create + "scorecard.train(".len()..];
    let names: Vec<String> = body[..body.find(");").unwrap()]
        .split(',')
        .map(|c| c.split_whitespace().next().unwrap().to_string())
        .collect();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| l.starts_with('('))
        .map(|l| {
            l.trim_end_matches([',', ';'])
                .trim_matches(|c| c == '(' || c == ')')
                .split(',')
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    (names, rows)
}

/// The split `models/bench/scorecard_baseline.py` uses: every fourth row (index % 4 == 3)
/// held out.
fn credit_split() -> ((Vec<Column>, Column), (Vec<Column>, Column)) {
    let (names, rows) = give_me_some_credit();
    assert_eq!((names.len(), rows.len()), (11, 2000));
    let part = |test: bool| {
        let picked: Vec<&Vec<f64>> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| (i % 4 == 3) == test)
            .map(|(_, r)| r)
            .collect();
        let features = (1..names.len())
            .map(|j| Column::numeric(names[j].clone(), picked.iter().map(|r| r[j])))
            .collect();
        (
            features,
            Column::numeric(names[0].clone(), picked.iter().map(|r| r[0])),
        )
    };
    (part(false), part(true))
}

#[test]
fn give_me_some_credit_against_scikit_learn() {
    let ((train_x, train_y), (test_x, test_y)) = credit_split();
    // The median of 5 trainings (bin + fit), as the Python side measures.
    let mut times = Vec::new();
    let mut model = None;
    for _ in 0..5 {
        let started = Instant::now();
        model = Some(fit(&Attrs::new(), &train_x, &train_y).unwrap());
        times.push(started.elapsed());
    }
    times.sort();
    let (model, took) = (model.unwrap(), times[2]);
    let m = model.evaluate(&test_x, &test_y, &["AUC", "KS"]).unwrap();
    let (auc, ks) = (m[0].1, m[1].1);
    println!(
        "ScoreCard on give me some credit (1500/500): AUC {auc:.4}, KS {ks:.4}, trained in {:.1} ms",
        took.as_secs_f64() * 1e3
    );
    // scikit-learn's LogisticRegression on the same WoE values (scorecard_baseline.py):
    // AUC 0.8084 (C = 1, SQLFlow's model), 0.8079 without a penalty.
    assert!((auc - 0.8079).abs() < 0.01, "AUC {auc}");
    assert!(ks > 0.45, "KS {ks}");
    // The card names pandas' intervals as the tutorial shows them.
    let card = card(&model);
    let age = rows_of(&card, "age");
    assert_eq!(age.len(), 5);
    // The youngest borrower in these rows is 22.
    assert!(age[0].bin.starts_with("(21.999, "), "{:?}", age[0]);
    let util = rows_of(&card, "revolving_utilization_of_unsecured_lines");
    assert!(util[4].points < util[0].points, "{util:?}");
}
