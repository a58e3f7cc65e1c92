use proptest::prelude::*;

use super::{Bucket, Category, Combiner, Cross, DType, Embedding, FeatureColumn, FieldDesc, Input};
use crate::{
    Dialect,
    extended::{
        ExtKind, Extended, MAX_NESTING, ParseError, Parsed, lexer::is_clause_keyword,
        parse_statement,
    },
};

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres];

/// The COLUMN clauses of a TO TRAIN statement, in every dialect (which must agree).
fn clauses(src: &str) -> Vec<(Vec<String>, Vec<FeatureColumn>, Option<String>)> {
    let mut all = DIALECTS.map(|d| match parse_statement(src, d) {
        Ok(Parsed::Extended(Extended {
            kind: ExtKind::Train(t),
            ..
        })) => t
            .columns
            .into_iter()
            .map(|c| (c.columns, c.features, c.for_input))
            .collect::<Vec<_>>(),
        other => panic!("{d:?}: {other:?} for {src}"),
    });
    assert!(all.iter().all(|c| *c == all[0]), "{src}");
    std::mem::take(&mut all[0])
}

/// The one feature column of `COLUMN <fc>`.
fn one(fc: &str) -> FeatureColumn {
    let src = format!("SELECT * FROM t TO TRAIN DNNClassifier COLUMN {fc} LABEL c INTO m");
    let mut c = clauses(&src);
    assert_eq!(c.len(), 1, "{src}");
    let (texts, mut features, _) = c.remove(0);
    assert_eq!(features.len(), 1, "{src}");
    let f = features.remove(0);
    assert_eq!(
        texts,
        [f.to_string()],
        "the item's text is its canonical form"
    );
    f
}

fn err(fc: &str) -> ParseError {
    let src = format!("SELECT * FROM t TO TRAIN DNNClassifier COLUMN {fc} LABEL c INTO m");
    let errs = DIALECTS.map(|d| parse_statement(&src, d).expect_err(&src));
    assert!(errs.iter().all(|e| *e == errs[0]), "{errs:?}");
    errs[0].clone()
}

fn field(n: &str) -> FeatureColumn {
    FeatureColumn::Field(n.into())
}

fn desc(n: &str) -> FieldDesc {
    FieldDesc::of(n.into())
}

fn cat(input: Input, buckets: u64) -> Category {
    Category {
        input,
        buckets,
        delimiter: None,
    }
}

#[test]
fn every_function_in_every_argument_form() {
    let dense4 = FieldDesc {
        shape: Some(vec![4]),
        ..desc("c")
    };
    let cases: Vec<(&str, FeatureColumn)> = vec![
        ("sepal_length", field("sepal_length")),
        (
            "NUMERIC(x)",
            FeatureColumn::Numeric(Input::Field("x".into())),
        ),
        (
            "numeric(x, 3)",
            FeatureColumn::Numeric(Input::Dense(FieldDesc {
                shape: Some(vec![3]),
                ..desc("x")
            })),
        ),
        (
            "NUMERIC(DENSE(c, 4))",
            FeatureColumn::Numeric(Input::Dense(dense4.clone())),
        ),
        (
            "NUMERIC(SPARSE(c, 10))",
            FeatureColumn::Numeric(Input::Sparse(FieldDesc {
                shape: Some(vec![10]),
                ..desc("c")
            })),
        ),
        ("DENSE(c)", FeatureColumn::Dense(desc("c"))),
        ("DENSE(c, 4)", FeatureColumn::Dense(dense4.clone())),
        ("DENSE(c, [4])", FeatureColumn::Dense(dense4.clone())),
        (
            "DENSE(c, [2, 3], \";\", float)",
            FeatureColumn::Dense(FieldDesc {
                shape: Some(vec![2, 3]),
                delimiter: Some(";".into()),
                dtype: Some(DType::Float),
                ..desc("c")
            }),
        ),
        (
            "DENSE(dense, none, comma)",
            FeatureColumn::Dense(FieldDesc {
                delimiter: Some(",".into()),
                ..desc("dense")
            }),
        ),
        (
            "DENSE(item, 1, comma, int)",
            FeatureColumn::Dense(FieldDesc {
                shape: Some(vec![1]),
                delimiter: Some(",".into()),
                dtype: Some(DType::Int),
                ..desc("item")
            }),
        ),
        ("SPARSE(c1)", FeatureColumn::Sparse(desc("c1"))),
        (
            "SPARSE(deep_id, 15033, COMMA, int)",
            FeatureColumn::Sparse(FieldDesc {
                shape: Some(vec![15033]),
                delimiter: Some(",".into()),
                dtype: Some(DType::Int),
                ..desc("deep_id")
            }),
        ),
        (
            "SPARSE(feature, 10, \",\", \"int\", \":\", \"float\")",
            FeatureColumn::Sparse(FieldDesc {
                shape: Some(vec![10]),
                delimiter: Some(",".into()),
                dtype: Some(DType::Int),
                delimiter_kv: Some(":".into()),
                dtype_weight: Some(DType::Float),
                ..desc("feature")
            }),
        ),
        (
            "CATEGORY_ID(title, 100)",
            FeatureColumn::CategoryId(cat(Input::Field("title".into()), 100)),
        ),
        (
            "CATEGORY_ID(deep_id, 15033, COMMA)",
            FeatureColumn::CategoryId(Category {
                delimiter: Some(",".into()),
                ..cat(Input::Field("deep_id".into()), 15033)
            }),
        ),
        (
            "CATEGORY_ID(DENSE(c, 4), 50)",
            FeatureColumn::CategoryId(cat(Input::Dense(dense4.clone()), 50)),
        ),
        (
            "SEQ_CATEGORY_ID(news_title, 1600, COMMA)",
            FeatureColumn::SeqCategoryId(Category {
                delimiter: Some(",".into()),
                ..cat(Input::Field("news_title".into()), 1600)
            }),
        ),
        (
            "CATEGORY_HASH(customerid, 10)",
            FeatureColumn::CategoryHash(cat(Input::Field("customerid".into()), 10)),
        ),
        (
            "INDICATOR(gender)",
            FeatureColumn::Indicator(Box::new(field("gender"))),
        ),
        (
            "INDICATOR(CATEGORY_ID(gender, 2))",
            FeatureColumn::Indicator(Box::new(FeatureColumn::CategoryId(cat(
                Input::Field("gender".into()),
                2,
            )))),
        ),
        (
            "EMBEDDING(c3, 32, sum)",
            FeatureColumn::Embedding(Embedding {
                source: Box::new(field("c3")),
                dimension: 32,
                combiner: Some(Combiner::Sum),
                initializer: None,
            }),
        ),
        (
            "EMBEDDING(CATEGORY_ID(f9, 25), 2, \"mean\", \"truncated_normal_initializer\")",
            FeatureColumn::Embedding(Embedding {
                source: Box::new(FeatureColumn::CategoryId(cat(
                    Input::Field("f9".into()),
                    25,
                ))),
                dimension: 2,
                combiner: Some(Combiner::Mean),
                initializer: Some("truncated_normal_initializer".into()),
            }),
        ),
        (
            "EMBEDDING(SPARSE(c5, 64, COMMA), 32)",
            FeatureColumn::Embedding(Embedding {
                source: Box::new(FeatureColumn::Sparse(FieldDesc {
                    shape: Some(vec![64]),
                    delimiter: Some(",".into()),
                    ..desc("c5")
                })),
                dimension: 32,
                combiner: None,
                initializer: None,
            }),
        ),
        (
            "EMBEDDING(CROSS([petal_width, petal_length], 10), 128, 'sqrtn')",
            FeatureColumn::Embedding(Embedding {
                source: Box::new(FeatureColumn::Cross(Cross {
                    keys: vec![field("petal_width"), field("petal_length")],
                    buckets: 10,
                })),
                dimension: 128,
                combiner: Some(Combiner::Sqrtn),
                initializer: None,
            }),
        ),
        (
            "CROSS([a, BUCKET(b, [1, 2]), CATEGORY_HASH(c, 5), NUMERIC(d)], 1000)",
            FeatureColumn::Cross(Cross {
                keys: vec![
                    field("a"),
                    FeatureColumn::Bucket(Bucket {
                        input: Input::Field("b".into()),
                        boundaries: vec![1.0, 2.0],
                    }),
                    FeatureColumn::CategoryHash(cat(Input::Field("c".into()), 5)),
                    FeatureColumn::Numeric(Input::Field("d".into())),
                ],
                buckets: 1000,
            }),
        ),
        (
            "BUCKET(petal_length, [0, 1, 2.5, 1e3])",
            FeatureColumn::Bucket(Bucket {
                input: Input::Field("petal_length".into()),
                boundaries: vec![0.0, 1.0, 2.5, 1000.0],
            }),
        ),
        (
            "BUCKET(DENSE(c, 4), [-1.5, 0])",
            FeatureColumn::Bucket(Bucket {
                input: Input::Dense(dense4.clone()),
                boundaries: vec![-1.5, 0.0],
            }),
        ),
        (
            "WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(feature, 10, \",\", \"int\", \":\", \"float\"), 10))",
            FeatureColumn::WeightedCategory(Box::new(FeatureColumn::CategoryHash(cat(
                Input::Sparse(FieldDesc {
                    shape: Some(vec![10]),
                    delimiter: Some(",".into()),
                    dtype: Some(DType::Int),
                    delimiter_kv: Some(":".into()),
                    dtype_weight: Some(DType::Float),
                    ..desc("feature")
                }),
                10,
            )))),
        ),
    ];
    for (src, want) in cases {
        let got = one(src);
        assert_eq!(got, want, "{src}");
        // The canonical text means the same.
        assert_eq!(one(&got.to_string()), want, "{src} printed as {got}");
    }
}

#[test]
fn sqlflow_test_programs_parse_with_groups() {
    let c = clauses(
        "SELECT * FROM t TO TRAIN DNNLinearCombinedClassifier\n\
             WITH model.n_classes = 3\n\
             COLUMN EMBEDDING(CATEGORY_ID(f9, 25), 2, \"sum\") for dnn_feature_columns\n\
             COLUMN INDICATOR(CATEGORY_ID(f10, 712)), f1 for linear_feature_columns\n\
             LABEL class INTO m",
    );
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].2.as_deref(), Some("dnn_feature_columns"));
    assert_eq!(
        c[0].0,
        ["EMBEDDING(CATEGORY_ID(f9, 25), 2, sum)"],
        "canonical text"
    );
    assert_eq!(c[1].2.as_deref(), Some("linear_feature_columns"));
    assert_eq!(c[1].0, ["INDICATOR(CATEGORY_ID(f10, 712))", "f1"]);
    assert_eq!(c[1].1[1], field("f1"));
    // SQLFlow's ALPS test: calls, lists of them, keywords for delimiters and types.
    let c = clauses(
        "SELECT * FROM t TO TRAIN DNNClassifier WITH model.n_classes = 2\n\
             COLUMN SPARSE(deep_id,15033,COMMA,int),\n\
                    EMBEDDING(CATEGORY_ID(deep_id,15033,COMMA),512,mean),\n\
                    /* comments */ EMBEDDING ( CATEGORY_ID ( space_stat , 418 , COMMA ) , 64 , mean )\n\
             LABEL l INTO m",
    );
    assert_eq!(c[0].1.len(), 3);
    assert_eq!(
        c[0].1[0].fields(),
        ["deep_id"],
        "the column each item reads"
    );
    let FeatureColumn::Embedding(e) = &c[0].1[2] else {
        panic!("{:?}", c[0].1[2])
    };
    assert_eq!((e.dimension, e.combiner), (64, Some(Combiner::Mean)));
    // Keywords and odd names are columns inside calls and come back quoted.
    let f = one("CROSS([label, `a b`, \"x`y\", for], 7)");
    assert_eq!(f.fields(), ["label", "a b", "x`y", "for"]);
    assert_eq!(f.to_string(), "CROSS([`label`, `a b`, \"x`y\", `for`], 7)");
    assert_eq!(one(&f.to_string()), f);
    // A quoted name followed by parentheses is a name, not a call.
    let e = err("`EMBEDDING`(x, 2)");
    assert!(e.message.contains("found '('"), "{e}");
}

#[test]
fn errors_name_the_function_and_what_it_expects() {
    let prefix = "SELECT * FROM t TO TRAIN DNNClassifier COLUMN ".len();
    for (fc, wants, column) in [
        (
            "NUMERICAL(a)",
            "unknown feature column function NUMERICAL(...); expected NUMERIC, DENSE",
            0,
        ),
        (
            "CATEGORY_ID(a)",
            "CATEGORY_ID takes 2 to 3 arguments, as CATEGORY_ID(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER]); found 1",
            0,
        ),
        (
            "CATEGORY_ID(a, 0)",
            "CATEGORY_ID's bucket size must be a positive whole number",
            15,
        ),
        ("CATEGORY_ID(a, -3)", "found -3", 15),
        ("CATEGORY_ID(a, 2.5)", "found 2.5", 15),
        ("CATEGORY_ID(a, x)", "found 'x'", 15),
        (
            "CATEGORY_ID(EMBEDDING(a, 2), 3)",
            "CATEGORY_ID reads a column, DENSE(...) or SPARSE(...)",
            12,
        ),
        (
            "EMBEDDING(a, 8, max)",
            "EMBEDDING's combiner is sum, mean or sqrtn; found 'max'",
            16,
        ),
        (
            "EMBEDDING(NUMERIC(a), 8)",
            "EMBEDDING needs a categorical column",
            10,
        ),
        ("EMBEDDING(INDICATOR(a), 8)", "INDICATOR is not one", 10),
        ("EMBEDDING(a)", "EMBEDDING takes 2 to 4 arguments", 0),
        ("INDICATOR(a, b)", "INDICATOR takes 1 argument", 0),
        (
            "INDICATOR(EMBEDDING(a, 2))",
            "INDICATOR needs a categorical column",
            10,
        ),
        (
            "WEIGHTED_CATEGORY(a)",
            "WEIGHTED_CATEGORY needs ids with weights",
            18,
        ),
        (
            "WEIGHTED_CATEGORY(CATEGORY_ID(a, 3))",
            "WEIGHTED_CATEGORY needs ids with weights",
            18,
        ),
        (
            "CROSS(a, 10)",
            "CROSS takes a [list] of the columns to cross",
            6,
        ),
        ("CROSS([a], 10)", "CROSS needs at least two keys", 6),
        (
            "CROSS([a, INDICATOR(b)], 10)",
            "INDICATOR cannot be crossed",
            10,
        ),
        ("CROSS([a, b])", "CROSS takes 2 arguments", 0),
        (
            "BUCKET(a, [1, 1])",
            "BUCKET's boundaries must be strictly ascending; 1 follows 1",
            14,
        ),
        ("BUCKET(a, [2, 1.5])", "1.5 follows 2", 14),
        ("BUCKET(a, [])", "BUCKET needs at least one boundary", 10),
        (
            "BUCKET(a, 3)",
            "BUCKET's boundaries are a [list] of numbers",
            10,
        ),
        (
            "BUCKET(a, [x])",
            "BUCKET's boundaries are numbers; found 'x'",
            11,
        ),
        ("BUCKET(SPARSE(a, 3), [1])", "BUCKET takes numbers", 7),
        (
            "DENSE(a, 0)",
            "DENSE's shape is a positive number, a [list] of them or none; found 0",
            9,
        ),
        ("DENSE(a, [2, x])", "found 'x'", 9),
        (
            "DENSE(a, 3, \"\")",
            "DENSE's delimiter is a non-empty string",
            12,
        ),
        ("DENSE(a, 3, semicolon)", "found 'semicolon'", 12),
        (
            "DENSE(a, 3, \",\", bool)",
            "DENSE's data type is int, float or string; found 'bool'",
            17,
        ),
        (
            "DENSE(a, 3, \",\", int, \":\")",
            "DENSE takes 1 to 4 arguments",
            0,
        ),
        (
            "SPARSE(a, 3, \",\", float, \":\")",
            "DTYPE must be int when DELIMITER_KV is given",
            18,
        ),
        (
            "SPARSE(a, 3, \",\", int, \":\", int)",
            "SPARSE's weights (DTYPE_WEIGHT) are float",
            28,
        ),
        (
            "DENSE(CATEGORY_ID(a, 2))",
            "DENSE expects a column name here",
            6,
        ),
        (
            "NUMERIC(DENSE(a, 2), 3)",
            "give the shape inside DENSE or SPARSE",
            21,
        ),
        (
            "CATEGORY_ID(a 3)",
            "expected ',' or ')' in a feature column, found 3",
            14,
        ),
        (
            "CATEGORY_ID(a, 3",
            "expected ',' or ')' in a feature column, found 'LABEL'",
            17,
        ),
        (
            "CATEGORY_ID(, 3)",
            "expected a column, a number, a string, a [list] or a feature column",
            12,
        ),
        ("BUCKET(a, [- x])", "'-' must be followed by a number", 11),
    ] {
        let e = err(fc);
        assert!(e.message.contains(wants), "{fc}: {e}");
        assert_eq!((e.line, e.column), (1, prefix + column + 1), "{fc}: {e}");
    }
}

#[test]
fn nesting_is_bounded() {
    // 64 levels of calls parse (63 INDICATOR/WEIGHTED... wrappers are not valid, so
    // lists nested inside a CROSS key list stand in); 65 are refused where they start.
    let ok = format!(
        "CROSS([a, b], 3), {}x{}",
        "f(".repeat(MAX_NESTING - 1),
        ")".repeat(MAX_NESTING - 1)
    );
    let e = err(&ok);
    assert!(
        e.message.contains("unknown feature column function f"),
        "the bound is not hit at {}: {e}",
        MAX_NESTING - 1
    );
    let deep = format!(
        "{}x{}",
        "f(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    let e = err(&deep);
    assert!(e.message.contains("nested too deeply"), "{e}");
    let e = err(&format!(
        "BUCKET(a, {}1{})",
        "[".repeat(100),
        "]".repeat(100)
    ));
    assert!(e.message.contains("nested too deeply"), "{e}");
}

fn plain_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}".prop_filter("a keyword", |s| !is_clause_keyword(s))
}

fn name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => plain_name(),
        1 => prop_oneof![
            Just("label".to_string()),
            Just("INTO".to_string()),
            Just("a b".to_string()),
            Just("x`y".to_string()),
            Just("t.col".to_string()),
            Just("naïve".to_string()),
        ],
    ]
    .boxed()
}

fn field_desc(sparse: bool) -> BoxedStrategy<FieldDesc> {
    let shape = proptest::option::of(proptest::collection::vec(1u64..100_000, 1..3));
    let delim = prop_oneof![
        Just(",".to_string()),
        Just(";".to_string()),
        Just("|".to_string()),
        Just(" ".to_string()),
        Just("\"".to_string())
    ];
    let dtype = prop_oneof![Just(DType::Int), Just(DType::Float), Just(DType::String)];
    let given = 0..=if sparse { 5usize } else { 3 };
    (name(), shape, delim.clone(), dtype, delim, given)
        .prop_map(move |(field, shape, delimiter, dtype, kv, given)| {
            // Positional arguments: each given one implies the ones before it.
            let mut d = FieldDesc::of(field);
            if given >= 1 {
                d.shape = shape;
            }
            if given >= 2 {
                d.delimiter = Some(delimiter);
            }
            if given >= 3 {
                d.dtype = Some(dtype);
            }
            if given >= 4 {
                d.dtype = Some(DType::Int);
                d.delimiter_kv = Some(kv);
            }
            if given >= 5 {
                d.dtype_weight = Some(DType::Float);
            }
            d
        })
        .boxed()
}

fn input() -> BoxedStrategy<Input> {
    prop_oneof![
        name().prop_map(Input::Field),
        field_desc(false).prop_map(Input::Dense),
        field_desc(true).prop_map(Input::Sparse),
    ]
    .boxed()
}

fn category() -> BoxedStrategy<Category> {
    (
        input(),
        1u64..1_000_000,
        proptest::option::of(Just(",".to_string())),
    )
        .prop_map(|(input, buckets, delimiter)| Category {
            input,
            buckets,
            delimiter,
        })
        .boxed()
}

fn bucket() -> BoxedStrategy<Bucket> {
    let input = prop_oneof![
        name().prop_map(Input::Field),
        field_desc(false).prop_map(Input::Dense)
    ];
    let bounds = proptest::collection::vec(-1000i32..1000, 1..5).prop_map(|v| {
        let mut v: Vec<f64> = v.into_iter().map(|x| f64::from(x) / 4.0).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    });
    (input, bounds)
        .prop_map(|(input, boundaries)| Bucket { input, boundaries })
        .boxed()
}

/// Categorical columns, as INDICATOR and EMBEDDING take them.
fn categorical() -> BoxedStrategy<FeatureColumn> {
    let cross_key = prop_oneof![
        name().prop_map(FeatureColumn::Field),
        input()
            .prop_filter("numbers", |i| !matches!(i, Input::Sparse(_)))
            .prop_map(FeatureColumn::Numeric),
        category().prop_map(FeatureColumn::CategoryId),
        category().prop_map(FeatureColumn::CategoryHash),
        bucket().prop_map(FeatureColumn::Bucket),
    ];
    let weighted = (field_desc(true), 1u64..1000, any::<bool>()).prop_map(|(mut d, n, hash)| {
        d.dtype = Some(DType::Int);
        d.delimiter_kv = Some(":".into());
        d.delimiter.get_or_insert(",".into());
        let c = cat(Input::Sparse(d), n);
        FeatureColumn::WeightedCategory(Box::new(if hash {
            FeatureColumn::CategoryHash(c)
        } else {
            FeatureColumn::CategoryId(c)
        }))
    });
    prop_oneof![
        name().prop_map(FeatureColumn::Field),
        field_desc(false).prop_map(FeatureColumn::Dense),
        field_desc(true).prop_map(FeatureColumn::Sparse),
        category().prop_map(FeatureColumn::CategoryId),
        category().prop_map(FeatureColumn::SeqCategoryId),
        category().prop_map(FeatureColumn::CategoryHash),
        bucket().prop_map(FeatureColumn::Bucket),
        weighted,
        (proptest::collection::vec(cross_key, 2..4), 1u64..100_000)
            .prop_map(|(keys, buckets)| FeatureColumn::Cross(Cross { keys, buckets })),
    ]
    .boxed()
}

fn feature_column() -> BoxedStrategy<FeatureColumn> {
    let combiner = proptest::option::of(prop_oneof![
        Just(Combiner::Sum),
        Just(Combiner::Mean),
        Just(Combiner::Sqrtn)
    ]);
    let embedding = (
        categorical(),
        1u64..512,
        combiner,
        proptest::option::of("[a-z_]{1,12}"),
    )
        .prop_map(|(source, dimension, combiner, init)| {
            FeatureColumn::Embedding(Embedding {
                source: Box::new(source),
                dimension,
                combiner,
                // Positional: an initializer comes after a combiner.
                initializer: combiner.and(init),
            })
        });
    prop_oneof![
        categorical(),
        input().prop_map(FeatureColumn::Numeric),
        categorical().prop_map(|c| FeatureColumn::Indicator(Box::new(c))),
        embedding,
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Every feature column prints as text that parses back to it, in any dialect
    /// and any FOR group.
    #[test]
    fn feature_columns_print_and_parse_back(
        groups in proptest::collection::vec(
            (proptest::collection::vec(feature_column(), 1..4), proptest::option::of(plain_name())),
            1..3,
        ),
    ) {
        let mut src = String::from("SELECT * FROM t TO TRAIN DNNClassifier");
        for (fcs, input) in &groups {
            let items: Vec<String> = fcs.iter().map(ToString::to_string).collect();
            src.push_str(&format!("\nCOLUMN {}", items.join(",\n  ")));
            if let Some(i) = input {
                src.push_str(&format!(" FOR {i}"));
            }
        }
        src.push_str("\nLABEL class INTO m;");
        let got = clauses(&src);
        prop_assert_eq!(got.len(), groups.len());
        for ((texts, features, input), (want, want_input)) in got.iter().zip(&groups) {
            prop_assert_eq!(features, want, "{}", src);
            prop_assert_eq!(input, want_input);
            // A bare column's text is its name, as before feature columns.
            let printed: Vec<String> = want
                .iter()
                .map(|f| match f {
                    FeatureColumn::Field(n) => n.clone(),
                    f => f.to_string(),
                })
                .collect();
            prop_assert_eq!(texts, &printed);
        }
    }
}
