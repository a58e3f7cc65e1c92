use super::*;

fn ext(s: &str) -> Extended {
    match parse_statement(s, Dialect::Sqlite).unwrap() {
        Parsed::Extended(e) => e,
        Parsed::Standard => panic!("not an extension: {s}"),
    }
}

#[test]
fn train_with_everything() {
    let e = ext("SELECT * FROM iris.train TO TRAIN DNNClassifier\n\
             WITH model.n_classes = 3, model.hidden_units = [10, 20], optimizer.learning_rate = 0.01,\n\
                  validation.select = \"SELECT * FROM iris.test\", train.verbose = true, x = -2\n\
             COLUMN sepal_length, sepal_width FOR dnn COLUMN petal_length\n\
             LABEL class USING sqlflow_models.old INTO sqlflow_models.my_dnn_model");
    assert_eq!(e.select, "SELECT * FROM iris.train");
    let ExtKind::Train(t) = e.kind else { panic!() };
    assert_eq!(t.estimator, "DNNClassifier");
    assert_eq!(
        t.attrs,
        vec![
            ("model.n_classes".into(), Expr::Int(3)),
            (
                "model.hidden_units".into(),
                Expr::List(vec![Expr::Int(10), Expr::Int(20)])
            ),
            ("optimizer.learning_rate".into(), Expr::Float(0.01)),
            (
                "validation.select".into(),
                Expr::Str("SELECT * FROM iris.test".into())
            ),
            ("train.verbose".into(), Expr::Bool(true)),
            ("x".into(), Expr::Int(-2)),
        ]
    );
    assert_eq!(t.columns.len(), 2);
    assert_eq!(t.columns[0].columns, ["sepal_length", "sepal_width"]);
    assert_eq!(t.columns[0].for_input.as_deref(), Some("dnn"));
    assert_eq!(t.label.as_deref(), Some("class"));
    assert_eq!(t.using.as_deref(), Some("sqlflow_models.old"));
    assert_eq!(t.into, "sqlflow_models.my_dnn_model");
}

#[test]
fn the_other_statements() {
    let ExtKind::Predict(p) =
        ext("SELECT * FROM iris.test TO PREDICT iris.predict.class USING sqlflow_models.m;").kind
    else {
        panic!()
    };
    assert_eq!(
        (p.table.as_str(), p.column.as_deref(), p.using.as_str()),
        ("iris.predict", Some("class"), "sqlflow_models.m")
    );
    let ExtKind::Evaluate(ev) = ext(
            "select * from t to evaluate m with validation.metrics = \"Accuracy,F1\" label class into r",
        )
        .kind
        else {
            panic!()
        };
    assert_eq!(
        (ev.model.as_str(), ev.label.as_str(), ev.into.as_str()),
        ("m", "class", "r")
    );
    let ExtKind::Explain(x) = ext("SELECT * FROM t TO EXPLAIN m USING TreeExplainer").kind else {
        panic!()
    };
    assert_eq!(
        (x.using.as_deref(), x.into.as_deref()),
        (Some("TreeExplainer"), None)
    );
    assert_eq!(
        ext("SHOW TRAIN sqlflow_models.my_xgb").kind,
        ExtKind::ShowTrain {
            model: "sqlflow_models.my_xgb".into()
        }
    );
    let ExtKind::Train(t) = ext("SELECT * FROM iris.train TO TRAIN xgboost.gbtree WITH objective=\"multi:softmax\", num_class=3 LABEL class INTO sqlflow_models.my_xgb").kind else {
            panic!()
        };
    assert_eq!(t.estimator, "xgboost.gbtree");
    assert_eq!(
        t.attrs[0],
        ("objective".into(), Expr::Str("multi:softmax".into()))
    );
}

#[test]
fn standard_sql_stays_standard() {
    for s in [
        "SELECT 'x TO TRAIN y' FROM t",
        "SELECT a /* TO TRAIN */ FROM t",
        "ALTER TABLE a RENAME TO train",
        "SELECT (SELECT 1) AS to_train",
        "INSERT INTO t SELECT 1",
        "SHOW TABLES",
    ] {
        assert_eq!(
            parse_statement(s, Dialect::Sqlite).unwrap(),
            Parsed::Standard,
            "{s}"
        );
    }
}

#[test]
fn to_run_as_sqlflow_writes_it() {
    let run = |s: &str| match ext(s).kind {
        ExtKind::Run(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        run("SELECT * FROM t TO RUN a_data_scientist/ts_data_processor:1.0;"),
        Run {
            program: "a_data_scientist/ts_data_processor:1.0".into(),
            args: vec![],
            into: vec![],
        }
    );
    let r = run(
        "SELECT * FROM source ORDER BY created\nTO RUN registry.io/team/extract-ts:v2\n\
             CMD \"slide_window_to_row\", '--window=120', \"--name=\\\"x\\\"\"\n\
             INTO db.out_1, out_2",
    );
    assert_eq!(r.program, "registry.io/team/extract-ts:v2");
    assert_eq!(
        r.args,
        ["slide_window_to_row", "--window=120", "--name=\"x\""]
    );
    assert_eq!(r.into, ["db.out_1", "out_2"]);
    assert_eq!(run("SELECT 1 to run prog INTO t").into, ["t"]);
    let e = ext("SELECT * FROM t TO RUN p");
    assert_eq!(
        (e.select.as_str(), e.kind.clause()),
        ("SELECT * FROM t", "TO RUN")
    );
    for (bad, wants) in [
        (
            "SELECT 1 TO RUN \"quoted/image\"",
            "expected a program or image",
        ),
        (
            "SELECT 1 TO RUN p CMD unquoted",
            "expected a quoted argument",
        ),
        ("SELECT 1 TO RUN p CMD \"a\" INTO \"t\"", "expected a table"),
        ("SELECT 1 TO RUN p CMD \"a\",", "expected a quoted argument"),
        ("SELECT 1 TO RUN CMD \"a\"", "found 'CMD'"),
        ("SELECT 1 TO RUN", "expected a program or image"),
        ("SELECT 1 TO RUN p INTO", "expected a table"),
    ] {
        let e = parse_statement(bad, Dialect::MySql).unwrap_err();
        assert!(e.message.contains(wants), "{bad}: {e}");
    }
}

fn optimize(s: &str) -> Optimize {
    match ext(s).kind {
        ExtKind::Optimize(o) => o,
        other => panic!("{other:?}"),
    }
}

#[test]
fn to_maximize_and_minimize_as_the_optimization_guide_writes_them() {
    let o = optimize(
        "SELECT * FROM my_db.woodcarving -- the input data source\n\
             TO MAXIMIZE\n    SUM((price - materials_cost - other_cost) * amount) -- objective\n\
             CONSTRAINT\n    SUM(finishing * amount) <= 100, -- finishing\n\
                 SUM(carpentry * amount) <= 80,\n    amount <= max_num\n\
             WITH\n    variables=\"amount(product)\",\n    var_type=\"NonNegativeIntegers\"\n\
             USING glpk\nINTO my_db.woodcarving_result_table;",
    );
    assert_eq!(o.direction, Direction::Maximize);
    assert_eq!(
        o.objective.to_string(),
        "SUM((price - materials_cost - other_cost) * amount)"
    );
    let col = |c: &str| Formula::Column(c.into());
    assert_eq!(
        o.objective,
        Formula::Call {
            name: "SUM".into(),
            args: vec![Formula::Chain {
                first: Box::new(Formula::Chain {
                    first: Box::new(col("price")),
                    rest: vec![
                        (BinOp::Sub, col("materials_cost")),
                        (BinOp::Sub, col("other_cost")),
                    ],
                }),
                rest: vec![(BinOp::Mul, col("amount"))],
            }],
        }
    );
    let shown: Vec<String> = o.constraints.iter().map(|c| c.expr.to_string()).collect();
    assert_eq!(
        shown,
        [
            "SUM(finishing * amount) <= 100",
            "SUM(carpentry * amount) <= 80",
            "amount <= max_num"
        ]
    );
    assert!(o.constraints.iter().all(|c| c.group_by.is_none()));
    assert_eq!(
        o.attrs,
        [
            ("variables".into(), Expr::Str("amount(product)".into())),
            ("var_type".into(), Expr::Str("NonNegativeIntegers".into())),
        ]
    );
    assert_eq!(o.solver.as_deref(), Some("glpk"));
    assert_eq!(o.into, "my_db.woodcarving_result_table");

    let o = optimize(
        "SELECT t.plants AS plants, t.markets AS markets FROM my_db.transportation AS t \
             TO MINIMIZE SUM(amount * distance) \
             CONSTRAINT SUM(amount) <= capacity GROUP BY plants, \
                        SUM(amount) >= demand GROUP BY markets \
             WITH variables=\"amount(plants,markets)\", var_type=\"NonNegativeIntegers\" \
             INTO my_db.transportation_result_table",
    );
    assert_eq!(o.direction, Direction::Minimize);
    let groups: Vec<Option<&str>> = o
        .constraints
        .iter()
        .map(|c| c.group_by.as_deref())
        .collect();
    assert_eq!(groups, [Some("plants"), Some("markets")]);
    assert_eq!(o.solver, None);
    // No CONSTRAINT at all, SQL's precedence, every operator.
    let o = optimize(
        "SELECT 1 TO MAXIMIZE NOT a OR b AND c = 1 OR -x * 2 % 3 / 4 + 5 - 6 <> 7 \
             AND y != 8 AND z < 9 AND w > .5 AND v >= 1e3 AND u <= 'k' AND f() = [1, [ ], g(h, 2)] \
             WITH variables = \"x(p)\" INTO r",
    );
    assert!(o.constraints.is_empty());
    assert_eq!(
        o.objective.to_string(),
        "NOT a OR b AND c = 1 OR -x * 2 % 3 / 4 + 5 - 6 <> 7 AND y <> 8 AND z < 9 AND \
             w > 0.5 AND v >= 1000.0 AND u <= \"k\" AND f() = [1, [], g(h, 2)]"
    );
    let Formula::Chain { first, rest } = &o.objective else {
        panic!("{:?}", o.objective)
    };
    assert!(matches!(**first, Formula::Not(_)));
    assert!(rest.iter().all(|(op, _)| *op == BinOp::Or) && rest.len() == 2);
    // Names with dashes and slashes are SQLFlow's everywhere else; in a formula they
    // are operators, as in the SELECT.
    let o = optimize("SELECT 1 TO MINIMIZE a-b/c WITH v = \"a\" INTO r");
    assert_eq!(o.objective.to_string(), "a - b / c");
    // Keywords and odd names are columns when quoted.
    let o = optimize("SELECT 1 TO MINIMIZE `group` + `a b` WITH v = \"a\" INTO r");
    assert_eq!(o.objective.to_string(), "`group` + `a b`");
}

#[test]
fn to_maximize_errors_say_what_and_where() {
    for (bad, wants, column) in [
        (
            "SELECT 1 TO MAXIMIZE WITH v = 1 INTO r",
            "expected an objective",
            22,
        ),
        (
            "SELECT 1 TO MAXIMIZE x INTO r",
            "expected WITH variables",
            24,
        ),
        ("SELECT 1 TO MAXIMIZE x WITH v = 1", "expected INTO", 34),
        (
            "SELECT 1 TO MAXIMIZE x CONSTRAINT WITH v = 1 INTO r",
            "expected a constraint",
            35,
        ),
        (
            "SELECT 1 TO MAXIMIZE x CONSTRAINT y GROUP x WITH v = 1 INTO r",
            "expected BY",
            43,
        ),
        (
            "SELECT 1 TO MAXIMIZE x CONSTRAINT y GROUP BY WITH v = 1 INTO r",
            "expected a column after GROUP BY",
            46,
        ),
        (
            "SELECT 1 TO MAXIMIZE SUM(x WITH v = 1 INTO r",
            "expected ',' or ')'",
            28,
        ),
        (
            "SELECT 1 TO MAXIMIZE (x WITH v = 1 INTO r",
            "expected ')'",
            25,
        ),
        (
            "SELECT 1 TO MAXIMIZE x ! y WITH v = 1 INTO r",
            "expected WITH",
            24,
        ),
        (
            "SELECT 1 TO MAXIMIZE x + WITH v = 1 INTO r",
            "expected an objective",
            26,
        ),
        (
            "SELECT 1 TO MINIMIZE x WITH v = 1 USING INTO r",
            "expected a solver",
            41,
        ),
        (
            "SELECT 1 TO MINIMIZE x WITH v = 1 INTO r s",
            "unexpected 's'",
            42,
        ),
    ] {
        let e = parse_statement(bad, Dialect::Postgres).unwrap_err();
        assert!(e.message.contains(wants), "{bad}: {e}");
        assert_eq!((e.line, e.column), (1, column), "{bad}: {e}");
    }
}

#[test]
fn predict_without_a_column_names_only_the_table() {
    let p = |s: &str| match ext(s).kind {
        ExtKind::Predict(p) => (p.table, p.column),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        p("SELECT * FROM t TO PREDICT result USING m"),
        ("result".to_string(), None)
    );
    assert_eq!(
        p("SELECT * FROM t TO PREDICT result WITH predict.batch_size = 1 USING m"),
        ("result".to_string(), None)
    );
    // SQLFlow's split: the last part is the column.
    assert_eq!(
        p("SELECT * FROM t TO PREDICT db.result USING m"),
        ("db".to_string(), Some("result".to_string()))
    );
    assert_eq!(
        p("SELECT * FROM t TO PREDICT db.result.class USING m"),
        ("db.result".to_string(), Some("class".to_string()))
    );
}

#[test]
fn labels_and_columns_may_be_keywords_or_quoted() {
    let train = |s: &str| match ext(s).kind {
        ExtKind::Train(t) => t,
        other => panic!("{other:?}"),
    };
    for (label, want) in [
        ("label", "label"),
        ("LABEL", "LABEL"),
        ("`label`", "label"),
        ("\"label\"", "label"),
        ("'label'", "label"),
        ("`INTO`", "INTO"),
        ("into", "into"),
        ("using", "using"),
        ("`my label`", "my label"),
        ("class", "class"),
    ] {
        let t = train(&format!(
            "SELECT * FROM t TO TRAIN DNNClassifier LABEL {label} INTO m"
        ));
        assert_eq!(t.label.as_deref(), Some(want), "{label}");
        let t = train(&format!(
            "SELECT * FROM t TO TRAIN DNNClassifier LABEL {label} USING old INTO m"
        ));
        assert_eq!(
            (t.label.as_deref(), t.using.as_deref()),
            (Some(want), Some("old"))
        );
        let ExtKind::Evaluate(e) = ext(&format!(
            "SELECT * FROM t TO EVALUATE m LABEL {label} INTO r"
        ))
        .kind
        else {
            panic!()
        };
        assert_eq!(e.label, want);
    }
    let t = train(
        "SELECT * FROM t TO TRAIN X COLUMN label, `for`, \"x y\", column FOR dnn \
             COLUMN for LABEL label INTO m",
    );
    assert_eq!(t.columns[0].columns, ["label", "for", "x y", "column"]);
    assert_eq!(t.columns[0].for_input.as_deref(), Some("dnn"));
    assert_eq!(t.columns[1].columns, ["for"]);
    assert_eq!(t.label.as_deref(), Some("label"));
    // A keyword with nothing that can follow a name after it is not one.
    for (bad, wants) in [
        (
            "SELECT * FROM t TO TRAIN X LABEL INTO m",
            "expected a label column after LABEL, found 'INTO'",
        ),
        (
            "SELECT * FROM t TO TRAIN X LABEL USING a INTO m",
            "expected a label column after LABEL, found 'USING'",
        ),
        (
            "SELECT * FROM t TO EVALUATE m LABEL INTO r",
            "expected a label column after LABEL, found 'INTO'",
        ),
        (
            "SELECT * FROM t TO TRAIN X COLUMN LABEL c INTO m",
            "expected a column name after COLUMN, found 'LABEL'",
        ),
        (
            "SELECT * FROM t TO TRAIN X COLUMN a, INTO m",
            "expected a column name after COLUMN, found 'INTO'",
        ),
    ] {
        let e = parse_statement(bad, Dialect::Sqlite).unwrap_err();
        assert!(e.message.contains(wants), "{bad}: {e}");
    }
    // A quoted keyword is never the keyword.
    let e = parse_statement(
        "SELECT * FROM t TO TRAIN X LABEL c `INTO` m",
        Dialect::Sqlite,
    )
    .unwrap_err();
    assert!(e.message.contains("expected INTO"), "{e}");
}

#[test]
fn errors_say_what_and_where() {
    let e = parse_statement(
        "SELECT * FROM t TO TRAIN DNNClassifier WITH a = 1, a = 2 INTO m",
        Dialect::Sqlite,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "syntax error at line 1, column 52: attribute a is given twice"
    );
    let e = parse_statement(
        "SELECT * FROM t TO TRAIN DNNClassifier LABEL c",
        Dialect::Sqlite,
    )
    .unwrap_err();
    assert!(e.to_string().contains("expected INTO"), "{e}");
    let e = parse_statement("SELECT * FROM t\nTO PREDICT USING m", Dialect::Sqlite).unwrap_err();
    assert!(
        e.message.contains("<table> or <table>.<column>") && e.line == 2,
        "{e}"
    );
    let e = parse_statement(
        "SELECT * FROM t TO TRAIN X COLUMN NUMERICAL(a, 2) INTO m",
        Dialect::Sqlite,
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("unknown feature column function NUMERICAL"),
        "{e}"
    );
    let e = parse_statement(
        "SELECT * FROM t TO TRAIN X WITH a = INTO m",
        Dialect::Sqlite,
    )
    .unwrap_err();
    assert!(e.message.contains("expected a value"), "{e}");
    let e =
        parse_statement("SELECT * FROM t TO EXPLAIN m INTO r extra", Dialect::Sqlite).unwrap_err();
    assert!(e.message.contains("unexpected 'extra'"), "{e}");
}
