use proptest::prelude::*;

use super::{
    lexer::{is_clause_keyword, is_formula_keyword},
    *,
};
use crate::split::line_col;

fn extendedish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("SELECT * FROM t ".to_string()),
            Just(" TO ".to_string()),
            Just("TRAIN ".to_string()),
            Just("PREDICT ".to_string()),
            Just("EVALUATE ".to_string()),
            Just("EXPLAIN ".to_string()),
            Just("SHOW ".to_string()),
            Just(" WITH ".to_string()),
            Just(" COLUMN ".to_string()),
            Just(" LABEL ".to_string()),
            Just(" USING ".to_string()),
            Just(" INTO ".to_string()),
            Just(" FOR ".to_string()),
            Just("RUN ".to_string()),
            Just("MAXIMIZE ".to_string()),
            Just("minimize ".to_string()),
            Just(" CMD ".to_string()),
            Just(" CONSTRAINT ".to_string()),
            Just(" GROUP BY ".to_string()),
            Just(" AND ".to_string()),
            Just(" OR ".to_string()),
            Just(" NOT ".to_string()),
            Just("SUM(".to_string()),
            Just("EMBEDDING(".to_string()),
            Just("CATEGORY_ID(".to_string()),
            Just("CROSS([".to_string()),
            Just("BUCKET(".to_string()),
            Just("SPARSE(".to_string()),
            Just("f(".repeat(MAX_NESTING + 1)),
            Just(")".to_string()),
            Just("<=".to_string()),
            Just("<>".to_string()),
            Just("!".to_string()),
            Just("*".to_string()),
            Just("/".to_string()),
            Just("%".to_string()),
            Just("label".to_string()),
            Just("`label`".to_string()),
            Just("(".repeat(MAX_NESTING + 1)),
            Just("NOT ".repeat(MAX_NESTING + 1)),
            Just("a.b".to_string()),
            Just("train.x".to_string()),
            Just("PREDICT.".to_string()),
            Just("[".repeat(MAX_NESTING + 1)),
            Just("- ".repeat(MAX_NESTING + 1)),
            Just("=".to_string()),
            Just(",".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("(".to_string()),
            Just("-".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("`".to_string()),
            Just("1e".to_string()),
            Just("9999999999999999999999".to_string()),
            Just("\\".to_string()),
            "[a-z0-9_ .]{0,5}",
            "\\PC{0,3}",
        ],
        0..30,
    )
    .prop_map(|p| p.concat())
}

/// One level of a generated attribute value.
#[derive(Debug, Clone)]
enum Level {
    /// `[before.., <inner>, after..]`
    List(Vec<Expr>, Vec<Expr>),
    /// `- <inner>`
    Neg,
}

/// A value that prints as itself: no sign (a sign is a level of its own), floats
/// with a fraction (`2` would come back an Int), names that are not keywords.
fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0i64..1_000_000).prop_map(Expr::Int),
        (0u32..1000).prop_map(|n| Expr::Float(f64::from(n) + 0.25)),
        "[a-z ,\\\"'\\]\\[-]{0,6}".prop_map(Expr::Str),
        "[a-z][a-z0-9_]{0,4}(\\.[a-z][a-z0-9_]{0,4})?"
            .prop_filter("a keyword", |s| !is_clause_keyword(s) && !is_bool(s))
            .prop_map(Expr::Ident),
        any::<bool>().prop_map(Expr::Bool),
    ]
}

fn is_bool(s: &str) -> bool {
    s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
}

fn levels() -> impl Strategy<Value = Vec<Level>> {
    let list = (
        proptest::collection::vec(leaf(), 0..3),
        proptest::collection::vec(leaf(), 0..3),
    )
        .prop_map(|(before, after)| Level::List(before, after));
    // Up to well past the bound, so about a third of the cases cross it.
    proptest::collection::vec(prop_oneof![4 => list, 1 => Just(Level::Neg)], 0..100)
}

/// The statement around `a = <value>`: text before and after.
fn statement() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop_oneof![
        Just((
            "SELECT * FROM t TO TRAIN DNNClassifier WITH ",
            " LABEL c INTO m"
        )),
        Just((
            "SELECT a, b FROM t TO predict t.c WITH n = 1, ",
            " USING m;"
        )),
        Just(("(SELECT 1) TO Evaluate m WITH ", ", z = [] LABEL c INTO r")),
        Just(("SELECT 1\nTO EXPLAIN m WITH ", "")),
        Just(("SELECT a FROM t TO PREDICT out WITH ", " USING m")),
        Just((
            "SELECT * FROM t TO MAXIMIZE SUM(x * p) CONSTRAINT x <= 1 GROUP BY p WITH ",
            " USING glpk INTO r"
        )),
        Just((
            "SELECT 1 TO minimize -x WITH variables = \"x(p)\", ",
            ", var_type = \"Integers\" INTO r"
        )),
    ]
}

fn attrs(kind: ExtKind) -> Vec<(String, Expr)> {
    match kind {
        ExtKind::Train(t) => t.attrs,
        ExtKind::Predict(p) => p.attrs,
        ExtKind::Evaluate(e) => e.attrs,
        ExtKind::Explain(x) => x.attrs,
        ExtKind::Optimize(o) => o.attrs,
        ExtKind::Run(_) | ExtKind::ShowTrain { .. } => Vec::new(),
    }
}

fn plain_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}".prop_filter("a keyword", |s| !is_formula_keyword(s))
}

/// Formulas as the parser builds them: non-negative literals (a sign is `Neg`),
/// chains with at least one operator, all of one precedence level.
fn formula() -> impl Strategy<Value = Formula> {
    let leaf = prop_oneof![
        (0i64..1_000_000).prop_map(Formula::Int),
        (0u32..1000).prop_map(|n| Formula::Float(f64::from(n) / 8.0 + 0.125)),
        Just(Formula::Float(1e300)),
        "[a-z \"'\\\\n]{0,5}".prop_map(Formula::Str),
        plain_name().prop_map(Formula::Column),
        // Keywords and odd characters come back quoted.
        prop_oneof![
            Just("group".to_string()),
            Just("label".to_string()),
            Just("amount-2".to_string()),
            Just("a b".to_string()),
            Just("t.amount".to_string()),
        ]
        .prop_map(Formula::Column),
    ];
    let levels = [
        vec![BinOp::Or],
        vec![BinOp::And],
        vec![
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
        ],
        vec![BinOp::Add, BinOp::Sub],
        vec![BinOp::Mul, BinOp::Div, BinOp::Mod],
    ];
    leaf.prop_recursive(6, 48, 4, move |inner| {
        let chain = (
            0..levels.len(),
            inner.clone(),
            proptest::collection::vec((any::<prop::sample::Index>(), inner.clone()), 1..4),
        )
            .prop_map({
                let levels = levels.clone();
                move |(level, first, rest)| Formula::Chain {
                    first: Box::new(first),
                    rest: rest
                        .into_iter()
                        .map(|(i, x)| (*i.get(&levels[level]), x))
                        .collect(),
                }
            });
        prop_oneof![
            chain,
            inner.clone().prop_map(|x| Formula::Neg(Box::new(x))),
            inner.clone().prop_map(|x| Formula::Not(Box::new(x))),
            (plain_name(), proptest::collection::vec(inner.clone(), 0..3))
                .prop_map(|(name, args)| Formula::Call { name, args }),
            proptest::collection::vec(inner, 0..3).prop_map(Formula::List),
        ]
    })
}

/// A column name as written, and the name it means.
fn column() -> impl Strategy<Value = (String, String)> {
    let word = prop_oneof![
        plain_name(),
        Just("label".to_string()),
        Just("LABEL".to_string()),
        Just("column".to_string()),
        Just("for".to_string()),
        Just("with".to_string()),
        Just("using".to_string()),
        Just("into".to_string()),
    ];
    (word, 0..3).prop_map(|(w, quoting)| match quoting {
        0 => (w.clone(), w),
        1 => (format!("`{w}`"), w),
        _ => (format!("\"{w}\""), w),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Generated extended statements with a randomly nested value parse to that
    /// value, or fail at the right place: the first level past [`MAX_NESTING`], or
    /// the innermost `-` in front of something other than a number.
    #[test]
    fn nested_values_parse_or_fail_where_they_should(
        (before, after) in statement(),
        levels in levels(),
        leaf in leaf(),
        sep in prop_oneof![Just(" "), Just("\n"), Just(" /* c */\t")],
    ) {
        let mut src = format!("{before}a = ");
        let mut openers = Vec::new();
        for level in &levels {
            openers.push(src.len());
            match level {
                Level::List(items, _) => {
                    src.push('[');
                    src.push_str(sep);
                    for x in items {
                        src.push_str(&format!("{x},{sep}"));
                    }
                }
                Level::Neg => src.push_str(&format!("-{sep}")),
            }
        }
        src.push_str(&leaf.to_string());
        for level in levels.iter().rev() {
            if let Level::List(_, items) = level {
                for x in items {
                    src.push_str(&format!(",{sep}{x}"));
                }
                src.push_str(&format!("{sep}]"));
            }
        }
        src.push_str(after);

        let want = if levels.len() > MAX_NESTING {
            Err((openers[MAX_NESTING], "nested too deeply"))
        } else {
            levels.iter().zip(&openers).rev().try_fold(leaf, |v, (level, &at)| match (level, v) {
                (Level::List(b, a), v) => {
                    Ok(Expr::List(b.iter().cloned().chain([v]).chain(a.iter().cloned()).collect()))
                }
                (Level::Neg, Expr::Int(i)) => Ok(Expr::Int(-i)),
                (Level::Neg, Expr::Float(f)) => Ok(Expr::Float(-f)),
                (Level::Neg, _) => Err((at, "must be followed by a number")),
            })
        };
        let text = src.clone();
        let got = hostile::on_small_stack(move || {
            [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres].map(|d| parse_statement(&text, d))
        });
        for got in got {
            match (&want, got) {
                (Ok(value), Ok(Parsed::Extended(e))) => {
                    let attrs = attrs(e.kind);
                    let a = attrs.iter().find(|(n, _)| n == "a").map(|(_, v)| v);
                    prop_assert_eq!(a, Some(value), "{}", src);
                }
                (Err((at, message)), Err(e)) => {
                    prop_assert!(e.message.contains(message), "{} for {}", e, src);
                    prop_assert_eq!((e.line, e.column), line_col(&src, *at), "{}", src);
                }
                (want, got) => prop_assert!(false, "want {:?}, got {:?} for {}", want, got, src),
            }
        }
    }

    /// Any formula prints as text that parses back to it, as an objective and as
    /// constraints.
    #[test]
    fn formulas_print_and_parse_back(
        objective in formula(),
        constraints in proptest::collection::vec((formula(), proptest::option::of(plain_name())), 0..3),
        max in any::<bool>(),
    ) {
        let mut src = format!(
            "SELECT * FROM t TO {} {objective}",
            if max { "MAXIMIZE" } else { "MINIMIZE" }
        );
        for (i, (c, group)) in constraints.iter().enumerate() {
            src.push_str(if i == 0 { "\nCONSTRAINT " } else { ",\n  " });
            src.push_str(&c.to_string());
            if let Some(g) = group {
                src.push_str(&format!(" GROUP BY {g}"));
            }
        }
        src.push_str("\nWITH variables = \"x(p)\" INTO r;");
        let text = src.clone();
        let got = hostile::on_small_stack(move || {
            [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres].map(|d| parse_statement(&text, d))
        });
        for got in got {
            let Ok(Parsed::Extended(Extended { kind: ExtKind::Optimize(o), .. })) = got else {
                prop_assert!(false, "{:?} for {}", got, src);
                unreachable!();
            };
            prop_assert_eq!(&o.objective, &objective, "{}", src);
            let want: Vec<Constraint> = constraints
                .iter()
                .map(|(expr, group_by)| Constraint { expr: expr.clone(), group_by: group_by.clone() })
                .collect();
            prop_assert_eq!(&o.constraints, &want, "{}", src);
            prop_assert_eq!(o.direction, if max { Direction::Maximize } else { Direction::Minimize });
        }
    }

    /// `TO RUN` with any program name, arguments and output tables.
    #[test]
    fn run_statements_parse(
        program in "[a-z][a-z0-9_]{0,5}(/[a-z0-9_]{1,3}([.-][a-z0-9_]{1,3})?){0,2}(:[0-9]\\.[0-9])?"
            .prop_filter("CMD", |p| !p.eq_ignore_ascii_case("CMD") && !is_clause_keyword(p)),
        args in proptest::option::of(proptest::collection::vec("[a-z =\"'\\\\-]{0,8}", 1..4)),
        into in proptest::collection::vec(plain_name().prop_filter("CMD", |t| t != "cmd"), 0..3),
    ) {
        let mut src = format!("SELECT * FROM t ORDER BY d TO RUN {program}");
        if let Some(args) = &args {
            let quoted: Vec<String> = args.iter().map(|a| Expr::Str(a.clone()).to_string()).collect();
            src.push_str(&format!(" CMD {}", quoted.join(", ")));
        }
        if !into.is_empty() {
            src.push_str(&format!(" INTO {}", into.join(", ")));
        }
        let got = parse_statement(&src, Dialect::MySql);
        let want = Run { program: program.clone(), args: args.unwrap_or_default(), into };
        prop_assert_eq!(
            got,
            Ok(Parsed::Extended(Extended {
                select: "SELECT * FROM t ORDER BY d".into(),
                kind: ExtKind::Run(want),
            })),
            "{}", src
        );
    }

    /// Column and label names that spell keywords, bare or quoted, are names.
    #[test]
    fn keyword_column_names_are_names(
        columns in proptest::collection::vec(column(), 0..4),
        label in column(),
    ) {
        let mut src = String::from("SELECT * FROM t TO TRAIN DNNClassifier");
        if !columns.is_empty() {
            let written: Vec<&str> = columns.iter().map(|(w, _)| w.as_str()).collect();
            src.push_str(&format!(" COLUMN {}", written.join(", ")));
        }
        src.push_str(&format!(" LABEL {} INTO m", label.0));
        let Ok(Parsed::Extended(Extended { kind: ExtKind::Train(t), .. })) =
            parse_statement(&src, Dialect::Postgres)
        else {
            prop_assert!(false, "{}", src);
            unreachable!();
        };
        let names: Vec<String> = columns.iter().map(|(_, n)| n.clone()).collect();
        let got: Vec<String> = t.columns.into_iter().flat_map(|c| c.columns).collect();
        prop_assert_eq!(got, names, "{}", src);
        prop_assert_eq!(t.label.as_deref(), Some(label.1.as_str()), "{}", src);

        let src = format!("SELECT * FROM t TO EVALUATE m LABEL {} INTO r", label.0);
        let Ok(Parsed::Extended(Extended { kind: ExtKind::Evaluate(e), .. })) =
            parse_statement(&src, Dialect::Sqlite)
        else {
            prop_assert!(false, "{}", src);
            unreachable!();
        };
        prop_assert_eq!(e.label, label.1, "{}", src);
    }

    #[test]
    fn parsing_never_panics(src in extendedish()) {
        for d in [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres] {
            if let Err(e) = parse_statement(&src, d) {
                prop_assert!(e.line >= 1 && e.column >= 1);
            }
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(src in "\\PC{0,120}") {
        let _ = parse_statement(&src, Dialect::Sqlite);
    }
}
