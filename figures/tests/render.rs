//! The figures through the crate's public functions: valid PNG (and SVG) of the stated
//! size, the same bytes for the same input, and no panic or blow-up on hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use sqlflow_figures::{
    Format, HEIGHT, MAX_BYTES, Panel, RocCurve, Series, WIDTH, confusion_matrix,
    feature_importance, roc_curve, roc_curves, training_curves,
};

/// Checks the signature and IHDR by hand, then decodes every pixel with `png`.
fn assert_png(bytes: &[u8]) {
    assert!(bytes.len() < MAX_BYTES, "{} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (WIDTH, HEIGHT));
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    // Not a blank page: something was drawn.
    let pixels = &buf[..info.buffer_size()];
    let dark = pixels
        .chunks(3)
        .filter(|p| p.iter().all(|&c| c < 128))
        .count();
    assert!(dark > 100, "only {dark} dark pixels");
}

fn assert_svg(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    assert!(text.starts_with("<svg"), "{}", &text[..40.min(text.len())]);
    assert!(text.contains(&format!("width=\"{WIDTH}\"")));
    assert!(text.trim_end().ends_with("</svg>"));
    assert!(bytes.len() < MAX_BYTES);
}

/// Keeps a picture for a person to look at, where asked (`SQLFLOW_FIGURE_SAMPLES=dir`).
fn sample(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("SQLFLOW_FIGURE_SAMPLES") {
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
    }
}

fn loss_panels() -> Vec<Panel> {
    let train: Vec<(f64, f64)> = (1..=100)
        .map(|e| (e as f64, 2.0 / e as f64 + 0.1))
        .collect();
    let valid: Vec<(f64, f64)> = (1..=100)
        .step_by(5)
        .map(|e| (e as f64, 0.5 + 0.4 * (1.0 - 1.0 / e as f64)))
        .collect();
    vec![
        Panel {
            metric: "loss".into(),
            series: vec![Series {
                name: "train".into(),
                points: train,
            }],
        },
        Panel {
            metric: "accuracy".into(),
            series: vec![Series {
                name: "validate".into(),
                points: valid,
            }],
        },
    ]
}

fn importance() -> Vec<(String, f64)> {
    vec![
        ("petal_length".into(), 0.52),
        ("petal_width".into(), 0.31),
        ("sepal_length".into(), -0.08),
        ("sepal_width".into(), 0.02),
    ]
}

fn iris_matrix() -> (Vec<String>, Vec<Vec<u64>>) {
    (
        vec!["setosa".into(), "versicolor".into(), "virginica".into()],
        vec![vec![50, 0, 0], vec![0, 47, 3], vec![0, 2, 48]],
    )
}

fn rocs() -> Vec<RocCurve> {
    let positive: Vec<bool> = (0..200).map(|i| i % 3 == 0).collect();
    let score: Vec<f64> = (0..200)
        .map(|i| ((i * 37 % 101) as f64 / 101.0 + if i % 3 == 0 { 0.4 } else { 0.0 }) / 1.4)
        .collect();
    let other: Vec<bool> = positive.iter().map(|p| !p).collect();
    let score2: Vec<f64> = score.iter().map(|s| 1.0 - s).collect();
    vec![
        roc_curve("class 0", &positive, &score).unwrap(),
        roc_curve("class 1", &other, &score2).unwrap(),
    ]
}

/// Every kind in both formats, with the samples written where asked
/// (`SQLFLOW_FIGURE_SAMPLES=dir`) for a person to look at.
#[test]
fn every_kind_is_a_valid_picture_of_the_stated_size() {
    let (classes, counts) = iris_matrix();
    for format in [Format::Png, Format::Svg] {
        let figures = [
            (
                "loss",
                training_curves(
                    "DNNClassifier: loss per epoch",
                    "epoch",
                    &loss_panels(),
                    format,
                ),
            ),
            (
                "importance",
                feature_importance("feature importance", &importance(), format),
            ),
            (
                "confusion",
                confusion_matrix("confusion matrix", &classes, &counts, format),
            ),
            ("roc", roc_curves("ROC", &rocs(), format)),
        ];
        for (name, fig) in figures {
            let bytes = fig.unwrap_or_else(|e| panic!("{name}: {e}"));
            match format {
                Format::Png => assert_png(&bytes),
                Format::Svg => assert_svg(&bytes),
            }
            sample(&format!("{name}.{}", format.extension()), &bytes);
        }
    }
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let a = training_curves("t", "epoch", &loss_panels(), Format::Png).unwrap();
    let b = training_curves("t", "epoch", &loss_panels(), Format::Png).unwrap();
    assert_eq!(a, b);
    let (classes, counts) = iris_matrix();
    assert_eq!(
        confusion_matrix("m", &classes, &counts, Format::Png).unwrap(),
        confusion_matrix("m", &classes, &counts, Format::Png).unwrap()
    );
    assert_eq!(
        feature_importance("f", &importance(), Format::Svg).unwrap(),
        feature_importance("f", &importance(), Format::Svg).unwrap()
    );
    // And different input, different bytes.
    let mut other = importance();
    other[0].1 = 0.9;
    assert_ne!(
        feature_importance("f", &importance(), Format::Png).unwrap(),
        feature_importance("f", &other, Format::Png).unwrap()
    );
}

#[test]
fn mime_types_and_extensions() {
    assert_eq!(Format::Png.mime_type(), "image/png");
    assert_eq!(Format::Svg.mime_type(), "image/svg+xml");
    assert_eq!(Format::Png.extension(), "png");
}

#[test]
fn empty_input_draws_a_picture_that_says_so() {
    assert_png(&training_curves("t", "epoch", &[], Format::Png).unwrap());
    let empty_series = [Panel {
        metric: "loss".into(),
        series: vec![Series::default()],
    }];
    assert_png(&training_curves("t", "epoch", &empty_series, Format::Png).unwrap());
    assert_png(&feature_importance("f", &[], Format::Png).unwrap());
    assert_png(&confusion_matrix("m", &[], &[], Format::Png).unwrap());
    assert_png(&roc_curves("r", &[], Format::Png).unwrap());
    // One point, one feature, one class: still drawn.
    let one = [Panel {
        metric: "loss".into(),
        series: vec![Series {
            name: "train".into(),
            points: vec![(1.0, 0.5)],
        }],
    }];
    assert_png(&training_curves("t", "epoch", &one, Format::Png).unwrap());
    assert_png(&feature_importance("f", &[("x".into(), 0.0)], Format::Png).unwrap());
    assert_png(&confusion_matrix("m", &["a".into()], &[vec![3]], Format::Png).unwrap());
}

#[test]
fn nan_and_infinite_values_are_left_out() {
    let weird = [Panel {
        metric: "loss".into(),
        series: vec![Series {
            name: "train".into(),
            points: vec![
                (1.0, f64::NAN),
                (2.0, f64::INFINITY),
                (3.0, 1e308),
                (4.0, -1e308),
                (f64::NAN, 1.0),
                (5.0, 0.5),
            ],
        }],
    }];
    assert_png(&training_curves("t", "epoch", &weird, Format::Png).unwrap());
    let all_nan = [Panel {
        metric: "loss".into(),
        series: vec![Series {
            name: "train".into(),
            points: vec![(1.0, f64::NAN); 10],
        }],
    }];
    assert_png(&training_curves("t", "epoch", &all_nan, Format::Png).unwrap());
    let items = vec![
        ("nan".to_string(), f64::NAN),
        ("inf".to_string(), f64::INFINITY),
        ("-inf".to_string(), f64::NEG_INFINITY),
        ("huge".to_string(), 1e300),
        ("tiny".to_string(), -1e-300),
    ];
    assert_png(&feature_importance("f", &items, Format::Png).unwrap());
    let nan_only = vec![("nan".to_string(), f64::NAN)];
    assert_png(&feature_importance("f", &nan_only, Format::Png).unwrap());
    let curve = RocCurve {
        name: "c".into(),
        points: vec![(0.0, 0.0), (f64::NAN, 0.5), (2.0, -1.0), (1.0, 1.0)],
        auc: f64::NAN,
    };
    assert_png(&roc_curves("r", &[curve], Format::Png).unwrap());
    let scores = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 0.5];
    let c = roc_curve("c", &[true, false, true, false], &scores).unwrap();
    assert!(c.auc.is_finite());
}

#[test]
fn thousands_of_features_classes_and_points_stay_bounded() {
    let items: Vec<(String, f64)> = (0..5000)
        .map(|i| (format!("feature_{i}"), ((i * 7919) % 1000) as f64 - 500.0))
        .collect();
    let bytes = feature_importance("5000 features", &items, Format::Png).unwrap();
    assert_png(&bytes);
    sample("hostile-importance.png", &bytes);
    let k = 2000;
    let classes: Vec<String> = (0..k).map(|i| format!("class {i}")).collect();
    let counts: Vec<Vec<u64>> = (0..k)
        .map(|t| {
            (0..k)
                .map(|p| u64::from(t == p) * 5 + u64::from((t + p) % 97 == 0))
                .collect()
        })
        .collect();
    let bytes = confusion_matrix("2000 classes", &classes, &counts, Format::Png).unwrap();
    assert_png(&bytes);
    sample("hostile-confusion.png", &bytes);
    // Ragged or short rows count as zeros; huge counts do not overflow.
    let ragged = vec![vec![u64::MAX, u64::MAX], vec![1]];
    assert_png(
        &confusion_matrix(
            "m",
            &["a".into(), "b".into(), "c".into()],
            &ragged,
            Format::Png,
        )
        .unwrap(),
    );
    let curves: Vec<RocCurve> = (0..50)
        .map(|i| RocCurve {
            name: format!("class {i}"),
            points: (0..=100_000)
                .map(|j| (j as f64 / 1e5, (j as f64 / 1e5).sqrt()))
                .collect(),
            auc: 0.66,
        })
        .collect();
    assert_png(&roc_curves("r", &curves, Format::Png).unwrap());
    let long: Vec<(f64, f64)> = (0..50_000).map(|i| (i as f64, (i as f64).sin())).collect();
    let panels: Vec<Panel> = (0..20)
        .map(|p| Panel {
            metric: format!("m{p}"),
            series: (0..8)
                .map(|s| Series {
                    name: format!("s{s}"),
                    points: long.clone(),
                })
                .collect(),
        })
        .collect();
    let bytes = training_curves("20 panels of 8 lines", "round", &panels, Format::Png).unwrap();
    assert_png(&bytes);
    sample("hostile-curves.png", &bytes);
}

#[test]
fn long_and_strange_names_are_shortened() {
    let name = "x".repeat(100_000);
    let weird = "a\nb\tc\u{0}d\u{202e}e 日本語 🦀".to_string();
    let items = vec![(name.clone(), 1.0), (weird.clone(), -1.0)];
    let bytes = feature_importance(&name, &items, Format::Png).unwrap();
    assert_png(&bytes);
    sample("hostile-names.png", &bytes);
    assert_svg(&feature_importance(&weird, &items, Format::Svg).unwrap());
    let classes = vec![name.clone(), weird.clone()];
    assert_png(&confusion_matrix(&name, &classes, &[vec![1, 2], vec![3, 4]], Format::Png).unwrap());
    let panels = [Panel {
        metric: name.clone(),
        series: vec![Series {
            name: weird.clone(),
            points: vec![(0.0, 1.0), (1.0, 0.5)],
        }],
    }];
    assert_png(&training_curves(&weird, &name, &panels, Format::Png).unwrap());
    let c = roc_curve(&name, &[true, false], &[0.7, 0.2]).unwrap();
    assert_png(&roc_curves(&weird, &[c], Format::Png).unwrap());
}
