use sqlflow_models::{EmbeddingSpec, FeatureRef};
use sqlflow_sql::{Dialect, ExtKind, Parsed, extended::ColumnClause, parse_statement};

use super::{
    cells::fnv1a,
    plan::FeaturePlan,
    planner::plan,
    table::{Rows, Table},
};
use crate::{
    Value,
    backend::{Collected, Column, RowSink},
};

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn f(x: f64) -> Value {
    Value::Double(x)
}

fn i(x: i64) -> Value {
    Value::Int64(x)
}

fn null() -> Value {
    Value::Null(Default::default())
}

fn table(names: &[&str], rows: Vec<Vec<Value>>) -> Collected {
    Collected {
        columns: names
            .iter()
            .map(|n| Column {
                name: n.to_string(),
                decl_type: String::new(),
            })
            .collect(),
        rows,
    }
}

/// The COLUMN clauses of `COLUMN <items>`.
fn clauses(items: &str) -> Vec<ColumnClause> {
    let src = format!("SELECT * FROM t TO TRAIN DNNClassifier COLUMN {items} LABEL y INTO m");
    match parse_statement(&src, Dialect::Sqlite) {
        Ok(Parsed::Extended(e)) => match e.kind {
            ExtKind::Train(t) => t.columns,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

/// `data` as TRAIN holds it: by column, appended a row at a time.
fn columnar(data: &Collected) -> Table {
    let mut t = Table::default();
    t.head(&data.columns).unwrap();
    for row in &data.rows {
        t.row(row.clone()).unwrap();
    }
    t
}

/// The plan TRAIN makes; every test also checks that the columnar table TRAIN reads
/// into plans exactly as the rows do.
fn plan_of(data: &Collected, items: &str, neural: bool) -> FeaturePlan {
    let p =
        plan(data, &clauses(items), Some("y"), neural).unwrap_or_else(|e| panic!("{items}: {e}"));
    let by_column = plan(&columnar(data), &clauses(items), Some("y"), neural)
        .unwrap_or_else(|e| panic!("{items} by column: {e}"));
    assert_eq!(p, by_column, "{items}");
    p
}

/// The error of planning `items` or of transforming the training rows with the plan
/// (TO TRAIN does both before it trains), the same by column.
fn plan_err(data: &Collected, items: &str) -> String {
    let err = |data: &dyn Rows| match plan(data, &clauses(items), Some("y"), true)
        .and_then(|p| p.transform(data))
    {
        Ok(_) => panic!("{items} planned and transformed"),
        Err(e) => e.to_string(),
    };
    let e = err(data);
    assert_eq!(e, err(&columnar(data)), "{items}");
    e
}

/// Model inputs as (name, values) with numbers and categories as text, the same from
/// the columnar table.
fn inputs(p: &FeaturePlan, data: &Collected) -> Vec<(String, Vec<String>)> {
    let by_column = p.transform(&columnar(data)).unwrap();
    let by_row = p.transform(data).unwrap();
    assert_eq!(by_row, by_column);
    by_row
        .into_iter()
        .map(|c| {
            let v = c
                .iter()
                .map(|v| match v {
                    None => "NULL".to_string(),
                    Some(FeatureRef::Num(x)) => format!("{x}"),
                    Some(FeatureRef::Str(t)) => format!("'{t}'"),
                })
                .collect();
            (c.name, v)
        })
        .collect()
}

fn names(p: &FeaturePlan, data: &Collected) -> Vec<String> {
    inputs(p, data).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn derivation_follows_what_each_column_holds() {
    let data = table(
        &["num", "numtext", "csv", "kv", "word", "empty", "blob", "y"],
        vec![
            vec![
                i(1),
                s("29.85"),
                s("1,2,3"),
                s("0:1.5 3:2"),
                s("Male"),
                null(),
                Value::Bytes(vec![1]),
                i(0),
            ],
            vec![
                f(2.5),
                s(" "),
                s("4, 5,6"),
                s("1:0.5"),
                s("Female"),
                null(),
                Value::Bytes(vec![2]),
                i(1),
            ],
            vec![null(), s("7"), null(), null(), null(), null(), null(), i(1)],
        ],
    );
    let p = plan(&data, &[], Some("y"), false).unwrap();
    assert_eq!(
        p.describe(),
        "NUMERIC(num), NUMERIC(numtext), DENSE(csv, 3), SPARSE(kv, 4, \",\", int, \":\", float), \
             CATEGORY_ID(word, 2), NUMERIC(empty)"
    );
    assert!(p.columns.iter().all(|c| c.derived));
    assert_eq!(
        inputs(&p, &data),
        [
            ("num".into(), vec!["1".into(), "2.5".into(), "NULL".into()]),
            // A blank string is missing, not a category.
            (
                "numtext".into(),
                vec!["29.85".into(), "NULL".into(), "7".into()]
            ),
            ("csv_0".into(), vec!["1".into(), "4".into(), "NULL".into()]),
            ("csv_1".into(), vec!["2".into(), "5".into(), "NULL".into()]),
            ("csv_2".into(), vec!["3".into(), "6".into(), "NULL".into()]),
            // key:value lists: the values at the keys seen in training.
            ("kv=0".into(), vec!["1.5".into(), "0".into(), "0".into()]),
            ("kv=1".into(), vec!["0".into(), "0.5".into(), "0".into()]),
            ("kv=3".into(), vec!["2".into(), "0".into(), "0".into()]),
            (
                "word".into(),
                vec!["'Male'".into(), "'Female'".into(), "NULL".into()]
            ),
            ("empty".into(), vec!["NULL".into(); 3]),
        ],
        "the label and binary columns are left out"
    );
}

#[test]
fn derivation_errors_name_the_column() {
    let ragged = table(
        &["c", "y"],
        vec![vec![s("1,2,3"), i(0)], vec![s("4,5"), i(1)]],
    );
    let e = plan(&ragged, &[], Some("y"), false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "column c holds comma-separated numbers, but row 1 has 3 of them and row 2 has 2"
        ),
        "{e}"
    );
    assert!(e.contains("SPARSE(c, SIZE)"), "{e}");
    let e = plan_err(&ragged, "nope");
    assert!(
        e.contains("the query has no column nope; its columns are c, y"),
        "{e}"
    );
}

#[test]
fn large_vocabularies_get_embeddings_on_dnns_only() {
    let rows = (0..150)
        .map(|k| vec![s(&format!("v{k:03}")), i(k % 2)])
        .collect();
    let data = table(&["w", "y"], rows);
    let dnn = plan(&data, &[], Some("y"), true).unwrap();
    assert_eq!(dnn.describe(), "EMBEDDING(CATEGORY_ID(w, 150), 26, sum)");
    assert_eq!(
        dnn.embeddings(),
        [EmbeddingSpec {
            columns: vec!["w".into()],
            dimension: 26,
            combiner: sqlflow_models::Combiner::Sum,
        }]
    );
    let trees = plan(&data, &[], Some("y"), false).unwrap();
    assert_eq!(trees.describe(), "CATEGORY_ID(w, 150)");
    assert!(trees.embeddings().is_empty());
}

#[test]
fn category_id_checks_ids_at_training_and_prediction() {
    let mut rows: Vec<Vec<Value>> = (0..6).map(|k| vec![i(k * 10), i(0)]).collect();
    rows.push(vec![i(123), i(1)]);
    let bad = table(&["title", "y"], rows.clone());
    let e = plan_err(&bad, "CATEGORY_ID(title, 100)");
    assert_eq!(
        e,
        "CATEGORY_ID(title, 100): value 123 in row 7 is outside 0..100"
    );
    rows.pop();
    let good = table(&["title", "y"], rows);
    let p = plan_of(&good, "CATEGORY_ID(title, 100)", false);
    // One categorical input, ids zero-padded so trees order them as numbers.
    assert_eq!(
        inputs(&p, &good)[0].1,
        ["'00'", "'10'", "'20'", "'30'", "'40'", "'50'"]
    );
    let new_rows = table(&["title"], vec![vec![i(99)], vec![f(2.5)], vec![s("x")]]);
    let e = p
        .transform(&table(&["title"], vec![vec![i(100)]]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "CATEGORY_ID(title, 100): value 100 in row 1 is outside 0..100"
    );
    let e = p.transform(&new_rows).unwrap_err().to_string();
    assert_eq!(
        e,
        "CATEGORY_ID(title, 100): value 2.5 in row 2 is not a whole number"
    );
    // Strings are numbered as a vocabulary, bounded by the bucket size.
    let words = table(
        &["g", "y"],
        vec![vec![s("b"), i(0)], vec![s("a"), i(1)], vec![s("c"), i(0)]],
    );
    let e = plan_err(&words, "CATEGORY_ID(g, 2)");
    assert!(
        e.contains(
            "CATEGORY_ID(g, 2): column g holds 3 distinct values (a, b, c), more than its 2 buckets"
        ),
        "{e}"
    );
    let p = plan_of(&words, "INDICATOR(CATEGORY_ID(g, 3))", true);
    assert_eq!(
        names(&p, &words),
        ["g_indicator=a", "g_indicator=b", "g_indicator=c"]
    );
    let unseen = table(&["g"], vec![vec![s("z")], vec![s("a")]]);
    assert_eq!(
        inputs(&p, &unseen),
        [
            ("g_indicator=a".to_string(), vec!["0".into(), "1".into()]),
            ("g_indicator=b".to_string(), vec!["0".into(), "0".into()]),
            ("g_indicator=c".to_string(), vec!["0".into(), "0".into()]),
        ]
    );
}

#[test]
fn lists_of_ids_become_multi_hot() {
    let data = table(
        &["t", "y"],
        vec![
            vec![s("66,67,42"), i(0)],
            vec![s("42"), i(1)],
            vec![s("7,7"), i(0)],
        ],
    );
    for items in ["CATEGORY_ID(t, 100)", "SEQ_CATEGORY_ID(t, 100, COMMA)"] {
        let p = plan_of(&data, items, false);
        assert_eq!(
            inputs(&p, &data),
            [
                ("t=07".to_string(), vec!["0".into(), "0".into(), "2".into()]),
                ("t=42".to_string(), vec!["1".into(), "1".into(), "0".into()]),
                ("t=66".to_string(), vec!["1".into(), "0".into(), "0".into()]),
                ("t=67".to_string(), vec!["1".into(), "0".into(), "0".into()]),
            ],
            "{items}"
        );
    }
    let e = plan_err(&data, "CATEGORY_ID(DENSE(t, 3), 100)");
    assert_eq!(
        e,
        "CATEGORY_ID(DENSE(t, 3), 100): row 2 has 1 values, expected 3"
    );
    let p = plan_of(&data, "EMBEDDING(t, 4, mean)", true);
    assert_eq!(
        p.describe(),
        "EMBEDDING(CATEGORY_ID(t, 68, \",\"), 4, mean)"
    );
    assert_eq!(
        p.embeddings()[0].columns,
        [
            "t_embedding=07",
            "t_embedding=42",
            "t_embedding=66",
            "t_embedding=67"
        ]
    );
}

#[test]
fn inputs_beyond_the_dense_limit_are_refused_naming_the_feature_column() {
    // Lists of 10,000 distinct ids make 10,000 multi-hot inputs a row: 20,001 rows are
    // one row more than MAX_INPUT_CELLS allows.
    let rows = super::MAX_INPUT_CELLS / 10_000 + 1;
    let data = table(
        &["t", "y"],
        (0..rows)
            .map(|r| vec![s(&format!("{},{}", r % 10_000, (r + 1) % 10_000)), i(0)])
            .collect(),
    );
    let e = plan_err(&data, "CATEGORY_ID(t, 10000)");
    assert!(e.starts_with("CATEGORY_ID(t, 10000): "), "{e}");
    assert!(
        e.contains(&format!("10000 input values per row for {rows} rows")),
        "{e}"
    );
    assert!(e.contains("select fewer rows or use fewer buckets"), "{e}");
    // One row fewer is within the limit.
    let fewer = table(
        &["t", "y"],
        (0..rows - 1)
            .map(|r| vec![s(&format!("{},{}", r % 10_000, (r + 1) % 10_000)), i(0)])
            .collect(),
    );
    plan(&fewer, &clauses("CATEGORY_ID(t, 10000)"), Some("y"), false).unwrap();
}

#[test]
fn dense_and_numeric() {
    let data = table(
        &["d", "x", "y"],
        vec![
            vec![s("1;2;3;4"), s("5"), i(0)],
            vec![s("0.5;1;1;2"), s(""), i(1)],
            vec![null(), s("-1e3"), i(0)],
        ],
    );
    let p = plan_of(&data, "DENSE(d, [2, 2], \";\"), NUMERIC(x)", false);
    assert_eq!(p.describe(), "DENSE(d, 4, \";\"), NUMERIC(x)");
    assert_eq!(
        inputs(&p, &data),
        [
            (
                "d_0".to_string(),
                vec!["1".into(), "0.5".into(), "NULL".into()]
            ),
            (
                "d_1".to_string(),
                vec!["2".into(), "1".into(), "NULL".into()]
            ),
            (
                "d_2".to_string(),
                vec!["3".into(), "1".into(), "NULL".into()]
            ),
            (
                "d_3".to_string(),
                vec!["4".into(), "2".into(), "NULL".into()]
            ),
            (
                "x".to_string(),
                vec!["5".into(), "NULL".into(), "-1000".into()]
            ),
        ]
    );
    let e = plan_err(&data, "DENSE(d, 3, \";\")");
    assert_eq!(e, "DENSE(d, 3, \";\"): row 1 has 4 values, expected 3");
    let e = plan_err(&data, "DENSE(d, 4, \";\", int)");
    assert_eq!(
        e,
        "DENSE(d, 4, \";\", int): value 0.5 in row 2 is not a whole number (DTYPE int)"
    );
    let words = table(&["g", "y"], vec![vec![s("Male"), i(0)]]);
    let e = plan_err(&words, "NUMERIC(g)");
    assert_eq!(e, "NUMERIC(g): row 1 holds 'Male', which is not a number");
    // At prediction, a value that is not a number is an error naming the column.
    let p = plan_of(&data, "NUMERIC(x)", false);
    let e = p
        .transform(&table(&["x"], vec![vec![s("abc")]]))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "NUMERIC(x): row 1 holds 'abc', which is not a number");
}

#[test]
fn sparse_indices_and_weighted_pairs() {
    let data = table(
        &["s", "w", "y"],
        vec![
            vec![s("3,5,7"), s("0:0.2,1:0.3,4:0.8"), i(0)],
            vec![s("5"), s("4:1.5"), i(1)],
        ],
    );
    let p = plan_of(&data, "SPARSE(s, 10)", false);
    assert_eq!(
        inputs(&p, &data),
        [
            ("s=3".to_string(), vec!["1".into(), "0".into()]),
            ("s=5".to_string(), vec!["1".into(), "1".into()]),
            ("s=7".to_string(), vec!["1".into(), "0".into()]),
        ]
    );
    let e = plan_err(&data, "SPARSE(s, 6)");
    assert_eq!(e, "SPARSE(s, 6): value 7 in row 1 is outside 0..6");
    let p = plan_of(
        &data,
        "WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(w, 10, \",\", int, \":\", float), 10))",
        false,
    );
    assert_eq!(
        inputs(&p, &data),
        [
            ("w_weighted=0".to_string(), vec!["0.2".into(), "0".into()]),
            ("w_weighted=1".to_string(), vec!["0.3".into(), "0".into()]),
            ("w_weighted=4".to_string(), vec!["0.8".into(), "1.5".into()]),
        ]
    );
    let e = plan_err(&data, "WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(s, 10), 10))");
    assert!(e.contains("column s holds no key:value pairs"), "{e}");
    let e = plan_err(&table(&["w"], vec![vec![s("4:x")]]), "SPARSE(w, 10)");
    assert_eq!(
        e,
        "SPARSE(w, 10): the value of '4:x' in row 1 is not a number"
    );
}

#[test]
fn hash_bucket_and_cross() {
    let data = table(
        &["id", "x", "z", "y"],
        vec![
            vec![s("7590-VHVEG"), f(0.5), s("a"), i(0)],
            vec![s("5575-GNVDE"), f(1.5), s("b"), i(1)],
            vec![s("7590-VHVEG"), f(3.0), null(), i(1)],
            vec![null(), f(-2.0), s("a"), i(0)],
        ],
    );
    let p = plan_of(
        &data,
        "CATEGORY_HASH(id, 1000), BUCKET(x, [0, 1, 2]), CROSS([BUCKET(x, [1]), z], 50)",
        false,
    );
    let got = inputs(&p, &data);
    assert_eq!(got[0].0, "id");
    // Stable: the same text always lands in the same bucket.
    let h = |t: &str| format!("'{:03}'", fnv1a(&[t]) % 1000);
    assert_eq!(
        got[0].1,
        [
            h("7590-VHVEG"),
            h("5575-GNVDE"),
            h("7590-VHVEG"),
            "NULL".into()
        ]
    );
    assert_eq!(got[1].0, "x_bucketized");
    assert_eq!(got[1].1, ["'1'", "'2'", "'3'", "'0'"]);
    assert_eq!(got[2].0, "x_bucketized_X_z");
    let c = |b: &str, z: &str| format!("'{:02}'", fnv1a(&[b, z]) % 50);
    assert_eq!(
        got[2].1,
        [c("0", "a"), c("1", "b"), "NULL".into(), c("0", "a")]
    );
    let e = plan_err(&data, "BUCKET(id, [1])");
    assert_eq!(
        e,
        "BUCKET(id, [1]): row 1 holds '7590-VHVEG', which is not a number"
    );
    let e = plan_err(&data, "INDICATOR(x)");
    assert!(e.contains("holds numbers that are not whole"), "{e}");
}

#[test]
fn groups_share_columns_and_names_stay_unique() {
    let data = table(
        &["a", "b", "y"],
        vec![vec![i(1), s("p"), i(0)], vec![i(2), s("q"), i(1)]],
    );
    let p = plan_of(
        &data,
        "a, INDICATOR(b) FOR linear_feature_columns COLUMN a, EMBEDDING(b, 2) FOR dnn_feature_columns",
        true,
    );
    assert_eq!(p.columns.len(), 3, "a appears once");
    assert_eq!(
        p.model_groups(),
        [
            (
                "linear_feature_columns".to_string(),
                vec![
                    "a".to_string(),
                    "b_indicator=p".into(),
                    "b_indicator=q".into()
                ]
            ),
            (
                "dnn_feature_columns".to_string(),
                vec!["a".to_string(), "b_embedding".into()]
            ),
        ]
    );
    assert_eq!(
        p.describe(),
        "linear_feature_columns: NUMERIC(a), INDICATOR(CATEGORY_ID(b, 2)); \
             dnn_feature_columns: NUMERIC(a), EMBEDDING(CATEGORY_ID(b, 2), 2, sum)"
    );
    let p = plan_of(&data, "a, NUMERIC(DENSE(a, 1))", false);
    assert_eq!(names(&p, &data), ["a", "a_2"]);
    // USING keeps the old feature columns; other COLUMN clauses are an error.
    assert!(
        p.check_same_clauses(&clauses("a, NUMERIC(DENSE(a, 1))"))
            .is_ok()
    );
    assert!(p.check_same_clauses(&[]).is_ok());
    let e = p.check_same_clauses(&clauses("a")).unwrap_err().to_string();
    assert!(e.contains("USING continues a model"), "{e}");
}

#[test]
fn plans_survive_serialization_and_describe_as_sql_that_parses() {
    let data = table(
        &["t", "w", "g", "x", "y"],
        vec![
            vec![s("1,2"), s("0:1 2:3"), s("u"), f(0.5), i(0)],
            vec![s("3"), s("1:2"), s("v"), f(2.0), i(1)],
        ],
    );
    let items = "EMBEDDING(CATEGORY_ID(t, 5), 3), INDICATOR(CATEGORY_HASH(g, 4)), w, \
                     CROSS([g, BUCKET(x, [1])], 7), BUCKET(DENSE(t, 2), [2])";
    let e = plan_err(&data, items);
    assert!(e.contains("row 2 has 1 values, expected 2"), "{e}");
    let items = "EMBEDDING(CATEGORY_ID(t, 5), 3), INDICATOR(CATEGORY_HASH(g, 4)), w, \
                     CROSS([g, BUCKET(x, [1])], 7), EMBEDDING(SPARSE(w, 3), 2, sqrtn)";
    let p = plan_of(&data, items, true);
    let json = serde_json::to_string(&p).unwrap();
    let back: FeaturePlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert_eq!(inputs(&back, &data), inputs(&p, &data));
    // Each column's text is SQL that plans the same transform again.
    for c in &p.columns {
        let again = plan_of(&data, &c.text, true);
        assert_eq!(again.columns[0].text, c.text);
        let one = FeaturePlan {
            columns: vec![c.clone()],
            groups: Vec::new(),
            written: Vec::new(),
        };
        assert_eq!(inputs(&again, &data), inputs(&one, &data), "{}", c.text);
    }
}
