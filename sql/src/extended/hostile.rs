//! Input meant to crash the parser: each must come back as a syntax error with a
//! position, never a panic or a stack overflow.

use super::*;

/// What std gives a spawned thread, and what tokio gives its workers, where the
/// server parses programs; a depth bound that only held on the main thread's 8 MiB
/// would not protect it.
const SMALL_STACK: usize = 2 << 20;

pub(super) fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn a test thread")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Parses `src` in every dialect on a small stack; all must agree on one error.
fn syntax_error(src: String) -> ParseError {
    on_small_stack(move || {
        let errs: Vec<ParseError> = [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres]
            .into_iter()
            .map(|d| match parse_statement(&src, d) {
                Err(e) => e,
                Ok(p) => panic!("{d:?} accepted {:.80}...: {p:?}", src),
            })
            .collect();
        assert!(errs.iter().all(|e| *e == errs[0]), "{errs:?}");
        errs[0].clone()
    })
}

fn too_deep_at(e: &ParseError, column: usize) {
    assert!(e.message.contains("nested too deeply"), "{e}");
    assert_eq!((e.line, e.column), (1, column), "{e}");
}

#[test]
fn to_followed_by_a_dotted_name_is_a_syntax_error() {
    for (src, found) in [
        ("SELECT 1 TO train.x;", "train.x"),
        ("SELECT 1 TO predict.y;", "predict.y"),
        ("SELECT 1 TO explain.z;", "explain.z"),
        ("SELECT 1 TO TRAIN.a;", "TRAIN.a"),
        ("SELECT 1 TO evaluate.w", "evaluate.w"),
        ("SELECT 1 TO TRAIN-x INTO m", "TRAIN-x"),
        ("SELECT 1 TO Train/x INTO m", "Train/x"),
        ("SELECT 1 TO PREDICT:x.y USING m", "PREDICT:x.y"),
        ("SELECT 1 TO run.x", "run.x"),
        ("SELECT 1 TO RUN/x", "RUN/x"),
        ("SELECT 1 TO maximize.y WITH a = 1 INTO t", "maximize.y"),
        ("SELECT 1 TO MINIMIZE-z WITH a = 1 INTO t", "MINIMIZE-z"),
    ] {
        let e = syntax_error(src.to_string());
        assert_eq!(
            e.to_string(),
            format!(
                "syntax error at line 1, column 13: expected TRAIN, PREDICT, EVALUATE, \
                     EXPLAIN, RUN, MAXIMIZE or MINIMIZE after TO, found '{found}'"
            ),
            "{src}"
        );
    }
}

#[test]
fn fifty_thousand_nested_brackets_are_too_deep() {
    let prefix = "SELECT 1 TO TRAIN m WITH a = ";
    let open = "[".repeat(50_000);
    // The 65th `[` is the one too many.
    let at = prefix.len() + MAX_NESTING + 1;
    too_deep_at(&syntax_error(format!("{prefix}{open}")), at);
    let closed = format!("{prefix}{open}1{} INTO n", "]".repeat(50_000));
    too_deep_at(&syntax_error(closed), at);
    let spaced = format!("{prefix}{}", "[ ".repeat(50_000));
    too_deep_at(&syntax_error(spaced), prefix.len() + 2 * MAX_NESTING + 1);
}

#[test]
fn sixty_thousand_unary_minus_signs_are_too_deep() {
    let prefix = "SELECT 1 TO TRAIN m WITH a = ";
    let spaced = format!("{prefix}{}1 INTO n", "- ".repeat(60_000));
    too_deep_at(&syntax_error(spaced), prefix.len() + 2 * MAX_NESTING + 1);
    let newlines = format!("{prefix}{}1 INTO n", "-\n".repeat(60_000));
    let e = syntax_error(newlines);
    assert!(e.message.contains("nested too deeply"), "{e}");
    assert_eq!((e.line, e.column), (MAX_NESTING + 1, 1), "{e}");
    // `--` opens a comment, so an unbroken run hides the rest of the statement.
    let dashes = format!("{prefix}{}1 INTO n", "-".repeat(60_000));
    let e = syntax_error(dashes);
    assert!(e.message.contains("expected a value"), "{e}");
}

#[test]
fn lists_and_signs_share_one_bound() {
    let prefix = "SELECT 1 TO PREDICT t.c WITH a = ";
    let mixed = format!("{prefix}{}1", "[- ".repeat(30_000));
    too_deep_at(
        &syntax_error(mixed),
        prefix.len() + 3 * (MAX_NESTING / 2) + 1,
    );
    for verb in ["EVALUATE m", "EXPLAIN m", "TRAIN m"] {
        let src = format!("SELECT 1 TO {verb} WITH a = 1, b = {}", "[".repeat(10_000));
        let e = syntax_error(src);
        assert!(e.message.contains("nested too deeply"), "{e}");
    }
}

#[test]
fn nesting_up_to_the_limit_parses() {
    let n = MAX_NESTING;
    let src = format!(
        "SELECT 1 TO TRAIN m WITH a = {}1{} INTO n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let Ok(Parsed::Extended(Extended {
        kind: ExtKind::Train(t),
        ..
    })) = on_small_stack(move || parse_statement(&src, Dialect::Postgres))
    else {
        panic!("{n} levels must parse");
    };
    let mut want = Expr::Int(1);
    for _ in 0..n {
        want = Expr::List(vec![want]);
    }
    assert_eq!(t.attrs, [("a".to_string(), want)]);
    let src = format!("SELECT 1 TO EXPLAIN m WITH a = {}2.5", "- ".repeat(n));
    let Ok(Parsed::Extended(Extended {
        kind: ExtKind::Explain(x),
        ..
    })) = on_small_stack(move || parse_statement(&src, Dialect::MySql))
    else {
        panic!("{n} signs must parse");
    };
    // An even number of signs.
    assert_eq!(x.attrs, [("a".to_string(), Expr::Float(2.5))]);
}

#[test]
fn deep_parentheses_never_overflow() {
    let deep = "(".repeat(50_000);
    let e = syntax_error(format!(
        "SELECT 1 TO TRAIN m COLUMN {}a",
        "f(".repeat(50_000)
    ));
    assert!(e.message.contains("nested too deeply"), "{e}");
    let e = syntax_error(format!("SELECT 1 TO TRAIN m WITH a = {deep}1"));
    assert!(e.message.contains("expected a value"), "{e}");
    let e = syntax_error(format!("SHOW TRAIN {deep}"));
    assert!(e.message.contains("expected a model name"), "{e}");
    // Unbalanced brackets in the query hide the extension: the database gets it.
    for src in [
        format!("SELECT {deep} TO TRAIN m INTO n"),
        format!("SELECT {} TO TRAIN m INTO n", ")".repeat(50_000)),
        format!("{deep}SELECT 1{} TO TRAIN m INTO n", ")".repeat(49_999)),
        format!("SELECT {} TO TRAIN m INTO n", "[".repeat(50_000)),
    ] {
        let parsed = on_small_stack(move || {
            [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres]
                .map(|d| (crate::split::split(&src, d), parse_statement(&src, d)))
        });
        for (_, parsed) in parsed {
            assert!(
                matches!(parsed, Ok(Parsed::Standard) | Err(_)),
                "{parsed:?}"
            );
        }
    }
    let balanced = format!("{deep}SELECT 1{} TO TRAIN m INTO n", ")".repeat(50_000));
    let parsed = on_small_stack(move || parse_statement(&balanced, Dialect::Postgres));
    assert!(matches!(parsed, Ok(Parsed::Extended(_))), "{parsed:?}");
}

#[test]
fn deep_formulas_are_too_deep_at_the_first_level_too_many() {
    let prefix = "SELECT 1 TO MAXIMIZE ";
    // Each repetition of `open` opens `levels` levels; the first past MAX_NESTING
    // is refused where it starts.
    for (open, levels) in [
        ("(", 1),
        ("NOT ", 1),
        ("- ", 1),
        ("f(", 1),
        ("[", 1),
        ("g(- ", 2),
    ] {
        let src = format!("{prefix}{}x WITH v = 1 INTO r", open.repeat(50_000));
        let e = syntax_error(src);
        assert!(
            e.message.contains("expression nested too deeply"),
            "{open}: {e}"
        );
        let reps = MAX_NESTING / levels;
        assert_eq!(
            (e.line, e.column),
            (1, prefix.len() + reps * open.len() + 1),
            "{open}: {e}"
        );
    }
    // In a constraint too, after a valid objective.
    let e = syntax_error(format!(
        "SELECT 1 TO MINIMIZE x CONSTRAINT {}1 WITH v = 1 INTO r",
        "(".repeat(10_000)
    ));
    assert!(e.message.contains("nested too deeply"), "{e}");
}

#[test]
fn formulas_up_to_the_limit_parse_and_long_sums_stay_shallow() {
    let n = MAX_NESTING;
    let src = format!(
        "SELECT 1 TO MAXIMIZE {}x{} WITH v = 1 INTO r",
        "SUM(".repeat(n),
        ")".repeat(n)
    );
    let parsed = on_small_stack(move || parse_statement(&src, Dialect::Sqlite));
    assert!(matches!(parsed, Ok(Parsed::Extended(_))), "{parsed:?}");
    // 200k terms: one chain, so building, printing, comparing and dropping it does
    // not recurse per term.
    let terms = vec!["a * 2"; 200_000].join(" + ");
    let src = format!("SELECT 1 TO MAXIMIZE {terms} CONSTRAINT {terms} <= 1 WITH v = 1 INTO r");
    on_small_stack(move || {
        let Ok(Parsed::Extended(Extended {
            kind: ExtKind::Optimize(o),
            ..
        })) = parse_statement(&src, Dialect::MySql)
        else {
            panic!("a long sum must parse");
        };
        let Formula::Chain { rest, .. } = &o.objective else {
            panic!()
        };
        assert_eq!(rest.len(), 199_999);
        assert_eq!(o.objective.to_string(), terms);
        assert_ne!(o.objective, o.constraints[0].expr);
    });
}

#[test]
fn deep_block_comments_never_overflow() {
    let src = format!("SELECT 1 {} TO TRAIN m INTO n", "/*".repeat(50_000));
    on_small_stack(move || {
        for d in [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres] {
            let _ = crate::split::split(&src, d);
            let _ = parse_statement(&src, d);
        }
    });
}
