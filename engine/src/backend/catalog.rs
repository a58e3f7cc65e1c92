//! MySQL's catalog statements (`SHOW TABLES`, `SHOW DATABASES`, `DESCRIBE t`, `SHOW
//! COLUMNS`), recognized so that backends without them (SQLite, PostgreSQL) answer them
//! from their own catalogs with MySQL's columns, and a program that looks around runs
//! unchanged on every database.

use sqlflow_sql::lexer::{Token, TokenKind, tokenize};

use crate::Dialect;

/// MySQL's catalog statements, which SQLite and PostgreSQL lack, answered with MySQL's
/// column names:
///
/// - `SHOW TABLES [FROM|IN schema] [LIKE 'pattern']`: `Tables_in_<schema>`, tables and
///   views, by name;
/// - `SHOW DATABASES|SCHEMAS [LIKE 'pattern']`: `Database`, from [`Sqlite::schemas`];
/// - `DESCRIBE|DESC [schema.]table`, `SHOW COLUMNS|FIELDS FROM|IN [schema.]table [FROM|IN
///   schema]`: `Field`, `Type`, `Null`, `Key`, `Default`, `Extra`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Catalog {
    Tables {
        schema: Option<String>,
        like: Option<String>,
    },
    Databases {
        like: Option<String>,
    },
    Columns {
        schema: Option<String>,
        table: String,
    },
}

impl Catalog {
    /// Recognizes a catalog statement; anything else, or anything more, is left to
    /// SQLite (which then reports its own syntax error).
    pub(super) fn parse(sql: &str, dialect: Dialect) -> Option<Catalog> {
        // Every statement passes here: lex only those that start like one.
        let start = skip_leading_trivia(sql);
        let head = sql.get(start..start + 4)?;
        if !head.eq_ignore_ascii_case("SHOW") && !head.eq_ignore_ascii_case("DESC") {
            return None;
        }
        let tokens: Vec<Token> = tokenize(sql, dialect)
            .into_iter()
            .filter(|t| !t.is_trivia() && t.kind != TokenKind::Semicolon)
            .collect();
        let mut c = Cursor {
            sql,
            tokens: &tokens,
            i: 0,
            fold: dialect == Dialect::Postgres,
        };
        let found = if c.keyword(&["DESCRIBE", "DESC"]) {
            let (schema, table) = c.table_name()?;
            Catalog::Columns { schema, table }
        } else {
            c.keyword(&["SHOW"]).then_some(())?;
            if c.keyword(&["TABLES"]) {
                let schema = if c.keyword(&["FROM", "IN"]) {
                    Some(c.name()?)
                } else {
                    None
                };
                Catalog::Tables {
                    schema,
                    like: c.like()?,
                }
            } else if c.keyword(&["DATABASES", "SCHEMAS"]) {
                Catalog::Databases { like: c.like()? }
            } else {
                c.keyword(&["COLUMNS", "FIELDS"]).then_some(())?;
                c.keyword(&["FROM", "IN"]).then_some(())?;
                let (mut schema, table) = c.table_name()?;
                if c.keyword(&["FROM", "IN"]) {
                    schema = Some(c.name()?);
                }
                Catalog::Columns { schema, table }
            }
        };
        (c.i == tokens.len()).then_some(found)
    }
}

/// Where the first token of `sql` starts, past whitespace and comments.
fn skip_leading_trivia(sql: &str) -> usize {
    let mut i = 0;
    loop {
        let rest = &sql[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            i += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if trimmed.starts_with("/*") {
            i += trimmed.find("*/").map_or(trimmed.len(), |e| e + 2);
        } else {
            return i;
        }
    }
}

/// Reads a catalog statement's tokens.
struct Cursor<'a> {
    sql: &'a str,
    tokens: &'a [Token],
    i: usize,
    /// PostgreSQL folds unquoted names to lower case.
    fold: bool,
}

impl Cursor<'_> {
    fn keyword(&mut self, any: &[&str]) -> bool {
        let hit = self
            .tokens
            .get(self.i)
            .is_some_and(|t| any.iter().any(|k| t.is_keyword(self.sql, k)));
        self.i += usize::from(hit);
        hit
    }

    /// A bare or quoted name, unquoted.
    fn name(&mut self) -> Option<String> {
        let t = self.tokens.get(self.i)?;
        let text = t.text(self.sql);
        let name = match t.kind {
            TokenKind::Word if self.fold => text.to_lowercase(),
            TokenKind::Word => text.to_string(),
            TokenKind::QuotedIdent if !t.unterminated && text.len() >= 2 => {
                let inner = &text[1..text.len() - 1];
                match text.as_bytes()[0] {
                    b'[' => inner.to_string(),
                    q => {
                        let q = char::from(q).to_string();
                        inner.replace(&q.repeat(2), &q)
                    }
                }
            }
            _ => return None,
        };
        self.i += 1;
        Some(name)
    }

    /// `table` or `schema.table`.
    fn table_name(&mut self) -> Option<(Option<String>, String)> {
        let first = self.name()?;
        if self
            .tokens
            .get(self.i)
            .is_some_and(|t| t.kind == TokenKind::Dot)
        {
            self.i += 1;
            return Some((Some(first), self.name()?));
        }
        Some((None, first))
    }

    /// `[LIKE 'pattern']`: Some(None) when absent, None when malformed.
    fn like(&mut self) -> Option<Option<String>> {
        if !self.keyword(&["LIKE"]) {
            return Some(None);
        }
        let t = self.tokens.get(self.i)?;
        let text = t.text(self.sql);
        if t.kind != TokenKind::String
            || t.unterminated
            || !text.starts_with('\'')
            || text.len() < 2
        {
            return None;
        }
        self.i += 1;
        Some(Some(text[1..text.len() - 1].replace("''", "'")))
    }
}

/// `s` as an SQL string literal.
pub(super) fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_statements_are_recognized_and_nothing_else() {
        let tables = |schema: Option<&str>, like: Option<&str>| {
            Some(Catalog::Tables {
                schema: schema.map(str::to_string),
                like: like.map(str::to_string),
            })
        };
        let columns = |schema: Option<&str>, table: &str| {
            Some(Catalog::Columns {
                schema: schema.map(str::to_string),
                table: table.to_string(),
            })
        };
        for (sql, want) in [
            ("SHOW TABLES", tables(None, None)),
            ("  show tables;", tables(None, None)),
            ("/* c */ -- d\nSHOW TABLES", tables(None, None)),
            ("SHOW TABLES FROM iris", tables(Some("iris"), None)),
            (
                "SHOW TABLES IN `iris` LIKE 'a''%'",
                tables(Some("iris"), Some("a'%")),
            ),
            ("SHOW DATABASES", Some(Catalog::Databases { like: None })),
            (
                "show schemas like 'i%'",
                Some(Catalog::Databases {
                    like: Some("i%".into()),
                }),
            ),
            ("DESCRIBE t", columns(None, "t")),
            ("desc iris.train", columns(Some("iris"), "train")),
            ("DESC \"my \"\"t\"\"\"", columns(None, "my \"t\"")),
            ("DESC [a b].`c`", columns(Some("a b"), "c")),
            ("SHOW COLUMNS FROM t", columns(None, "t")),
            ("SHOW FIELDS IN t FROM iris", columns(Some("iris"), "t")),
            ("SHOW COLUMNS FROM iris.t", columns(Some("iris"), "t")),
            ("SHOW TABLES extra", None),
            ("SHOW TABLES LIKE", None),
            ("SHOW TABLES LIKE x", None),
            ("SHOW COLUMNS t", None),
            ("DESCRIBE", None),
            ("DESC t u", None),
            ("DESCRIBE SELECT 1", None),
            ("SHOW", None),
            ("SHOWTABLES", None),
            ("SELECT 'SHOW TABLES'", None),
            ("é", None),
            ("", None),
        ] {
            assert_eq!(Catalog::parse(sql, Dialect::Sqlite), want, "{sql}");
        }
    }

    #[test]
    fn postgres_folds_unquoted_names() {
        assert_eq!(
            Catalog::parse("DESCRIBE Titanic.\"Train\"", Dialect::Postgres),
            Some(Catalog::Columns {
                schema: Some("titanic".into()),
                table: "Train".into(),
            })
        );
        assert_eq!(
            Catalog::parse("SHOW TABLES FROM Iris", Dialect::Postgres),
            Some(Catalog::Tables {
                schema: Some("iris".into()),
                like: None,
            })
        );
    }
}
