//! Splits a SQL program into statements at top-level `;`.

use crate::{
    Dialect,
    lexer::{Token, TokenKind, tokenize},
};

/// One statement of a program: the user's own text, without the `;` and without
/// surrounding whitespace or comments. It is executed exactly as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: String,
    /// Byte range of `text` in the program.
    pub start: usize,
    pub end: usize,
    /// 1-based line of the statement's first character in the program.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("unterminated {what} starting at line {line}, column {column}")]
    Unterminated {
        what: &'static str,
        line: usize,
        column: usize,
    },
}

/// Splits `program`. Statements that are only whitespace or comments are dropped.
pub fn split(program: &str, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    let tokens = tokenize(program, dialect);
    if let Some(t) = tokens.iter().find(|t| t.unterminated) {
        let (line, column) = line_col(program, t.start);
        let what = match t.kind {
            TokenKind::Comment => "comment",
            TokenKind::QuotedIdent => "quoted identifier",
            _ => "string literal",
        };
        return Err(SplitError::Unterminated { what, line, column });
    }
    let mut out = Vec::new();
    let mut current: Vec<&Token> = Vec::new();
    for t in tokens.iter() {
        if t.kind == TokenKind::Semicolon {
            push_statement(program, &current, &mut out);
            current.clear();
        } else {
            current.push(t);
        }
    }
    push_statement(program, &current, &mut out);
    Ok(out)
}

fn push_statement(program: &str, tokens: &[&Token], out: &mut Vec<Statement>) {
    let mut significant = tokens.iter().filter(|t| !t.is_trivia());
    let Some(first) = significant.next() else {
        return;
    };
    let last = significant.next_back().unwrap_or(first);
    let (start, end) = (first.start, last.end);
    out.push(Statement {
        text: program[start..end].to_string(),
        start,
        end,
        line: line_col(program, start).0,
    });
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[col_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(program: &str, d: Dialect) -> Vec<String> {
        split(program, d)
            .unwrap()
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let cases: &[(Dialect, &str, &[&str])] = &[
            (
                Dialect::Sqlite,
                "SELECT 1; SELECT 2;",
                &["SELECT 1", "SELECT 2"],
            ),
            (Dialect::Sqlite, "SELECT 1", &["SELECT 1"]),
            (Dialect::Sqlite, "  ;; ; ", &[]),
            (Dialect::Sqlite, "", &[]),
            (
                Dialect::Sqlite,
                "INSERT INTO t VALUES ('a;b', 'it''s;');SELECT 2",
                &["INSERT INTO t VALUES ('a;b', 'it''s;')", "SELECT 2"],
            ),
            (
                Dialect::Sqlite,
                "SELECT \"a;b\" FROM [x;y]; SELECT `c;d`",
                &["SELECT \"a;b\" FROM [x;y]", "SELECT `c;d`"],
            ),
            (
                Dialect::Sqlite,
                "-- lead; comment\nSELECT /* in; side */ 1 -- trailing\n; /* only; a comment */ ;",
                &["SELECT /* in; side */ 1"],
            ),
            (
                Dialect::MySql,
                "SELECT 'a\\';b'; # hash; comment\nSELECT 2",
                &["SELECT 'a\\';b'", "SELECT 2"],
            ),
            (
                Dialect::MySql,
                "SELECT 1--1; SELECT 2",
                &["SELECT 1--1", "SELECT 2"],
            ),
            (
                Dialect::Postgres,
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT $$a;b$$",
                &[
                    "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
                    "SELECT $$a;b$$",
                ],
            ),
            (
                Dialect::Postgres,
                "SELECT E'a\\';b'; /* nested /* ; */ still; */ SELECT $1",
                &["SELECT E'a\\';b'", "SELECT $1"],
            ),
            (
                Dialect::Sqlite,
                "SELECT 'żółw;' AS \"名前\"; SELECT 2",
                &["SELECT 'żółw;' AS \"名前\"", "SELECT 2"],
            ),
        ];
        for (d, program, want) in cases {
            assert_eq!(texts(program, *d), *want, "program: {program:?}");
        }
    }

    #[test]
    fn a_hash_is_not_a_comment_outside_mysql() {
        assert_eq!(
            texts("SELECT 1 # 2; SELECT 3", Dialect::Sqlite),
            ["SELECT 1 # 2", "SELECT 3"]
        );
    }

    #[test]
    fn reports_unterminated_quotes_with_position() {
        let err = split("SELECT 1;\nSELECT 'oops;", Dialect::Sqlite).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unterminated string literal starting at line 2, column 8"
        );
        let err = split("SELECT 1 /* never closed", Dialect::Sqlite).unwrap_err();
        assert!(err.to_string().starts_with("unterminated comment"), "{err}");
    }

    #[test]
    fn statement_positions_point_into_the_program() {
        let p = "\n\n  SELECT 1 ;\nSELECT\n2";
        let s = split(p, Dialect::Sqlite).unwrap();
        assert_eq!(s[0].line, 3);
        assert_eq!(&p[s[1].start..s[1].end], "SELECT\n2");
        assert_eq!(s[1].line, 4);
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;
    use crate::lexer::tokenize;

    fn dialects() -> impl Strategy<Value = Dialect> {
        prop_oneof![
            Just(Dialect::Sqlite),
            Just(Dialect::MySql),
            Just(Dialect::Postgres)
        ]
    }

    /// SQL-ish text rich in the characters the lexer cares about.
    fn sqlish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("'".to_string()),
                Just("\"".to_string()),
                Just("`".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just(";".to_string()),
                Just("--".to_string()),
                Just("#".to_string()),
                Just("/*".to_string()),
                Just("*/".to_string()),
                Just("$$".to_string()),
                Just("$tag$".to_string()),
                Just("\\".to_string()),
                Just("\n".to_string()),
                Just("E'".to_string()),
                Just(" TO TRAIN ".to_string()),
                "[a-z0-9 .,()=]{0,6}",
                "\\PC{0,3}",
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn tokens_cover_the_input_exactly(src in sqlish(), d in dialects()) {
            let tokens = tokenize(&src, d);
            let mut pos = 0;
            for t in &tokens {
                prop_assert_eq!(t.start, pos);
                prop_assert!(t.end > t.start);
                prop_assert!(src.is_char_boundary(t.end));
                pos = t.end;
            }
            prop_assert_eq!(pos, src.len());
        }

        #[test]
        fn statements_are_trimmed_substrings_in_order(src in sqlish(), d in dialects()) {
            if let Ok(stmts) = split(&src, d) {
                let mut last_end = 0;
                for s in &stmts {
                    prop_assert!(s.start >= last_end);
                    prop_assert_eq!(&src[s.start..s.end], s.text.as_str());
                    prop_assert!(!s.text.is_empty());
                    prop_assert_eq!(s.text.trim(), s.text.as_str());
                    last_end = s.end;
                }
            }
        }

        #[test]
        fn splitting_never_panics_on_arbitrary_text(src in "\\PC{0,200}", d in dialects()) {
            let _ = split(&src, d);
        }
    }
}
