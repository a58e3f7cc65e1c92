//! The extension's own lexer. It reads from a position in the statement rather than from
//! the SQL lexer's tokens, because SQLFlow names may hold dots, slashes, colons and dashes
//! (`model.hidden_units`, `registry/team/img:v1`) and the SQL dialects disagree on those.

use crate::split::line_col;

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    /// `` `name` ``: a name even when it spells a keyword.
    Quoted(String),
    Int(i64),
    Float(f64),
    Str(String),
    Punct(char),
}

pub(super) struct ExtParser<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    /// Inside an objective or constraint, where `-`, `/` and `:` are operators, not
    /// parts of a name (`price-cost` is a subtraction there, as in the SELECT).
    pub(super) in_formula: bool,
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

pub(super) fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '-')
}

impl<'a> ExtParser<'a> {
    pub(super) fn new(src: &'a str, pos: usize) -> Self {
        Self {
            src,
            pos,
            in_formula: false,
        }
    }

    pub(super) fn error_at(&self, at: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = line_col(self.src, at);
        ParseError {
            message: message.into(),
            line,
            column,
        }
    }

    pub(super) fn skip_space(&mut self) {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("--") || trimmed.starts_with('#') {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                self.pos += trimmed.find("*/").map_or(trimmed.len(), |i| i + 2);
            } else {
                return;
            }
        }
    }

    /// The next token and where it ends, without consuming it.
    pub(super) fn peek(&mut self) -> Result<Option<(Tok, usize)>, ParseError> {
        self.skip_space();
        let rest = &self.src[self.pos..];
        let Some(c) = rest.chars().next() else {
            return Ok(None);
        };
        let start = self.pos;
        if is_ident_start(c) {
            let formula = self.in_formula;
            let len = rest
                .char_indices()
                .find(|&(_, ch)| {
                    !is_ident_continue(ch) || (formula && matches!(ch, '/' | ':' | '-'))
                })
                .map_or(rest.len(), |(i, _)| i);
            // A trailing dot or dash belongs to what follows, not to the name.
            let word = rest[..len].trim_end_matches(['.', '-', ':', '/']);
            return Ok(Some((Tok::Ident(word.to_string()), start + word.len())));
        }
        if c == '`' {
            let end = rest[1..]
                .find('`')
                .ok_or_else(|| self.error_at(start, "unterminated `quoted` name"))?;
            return Ok(Some((
                Tok::Quoted(rest[1..1 + end].to_string()),
                start + end + 2,
            )));
        }
        if c == '"' || c == '\'' {
            return self.string(c, start).map(Some);
        }
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            let len = rest
                .char_indices()
                .find(|&(i, ch)| {
                    !(ch.is_ascii_digit()
                        || ch == '.'
                        || ch == 'e'
                        || ch == 'E'
                        || ((ch == '-' || ch == '+')
                            && i > 0
                            && matches!(rest.as_bytes()[i - 1], b'e' | b'E')))
                })
                .map_or(rest.len(), |(i, _)| i);
            let lit = &rest[..len];
            let tok = if let Ok(i) = lit.parse::<i64>() {
                Tok::Int(i)
            } else if let Ok(f) = lit.parse::<f64>() {
                Tok::Float(f)
            } else {
                return Err(self.error_at(start, format!("'{lit}' is not a number")));
            };
            return Ok(Some((tok, start + len)));
        }
        Ok(Some((Tok::Punct(c), start + c.len_utf8())))
    }

    fn string(&self, quote: char, start: usize) -> Result<(Tok, usize), ParseError> {
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, other)) => out.push(other),
                    None => break,
                }
            } else if c == quote {
                if chars.peek().is_some_and(|&(_, n)| n == quote) {
                    out.push(quote);
                    chars.next();
                } else {
                    return Ok((Tok::Str(out), start + 1 + i + 1));
                }
            } else {
                out.push(c);
            }
        }
        Err(self.error_at(start, "unterminated string"))
    }

    pub(super) fn next(&mut self) -> Result<Option<Tok>, ParseError> {
        let t = self.peek()?;
        Ok(t.map(|(tok, end)| {
            self.pos = end;
            tok
        }))
    }

    pub(super) fn describe(tok: &Option<Tok>) -> String {
        match tok {
            None => "the end of the statement".into(),
            Some(Tok::Ident(s)) => format!("'{s}'"),
            Some(Tok::Quoted(s)) => format!("`{s}`"),
            Some(Tok::Int(i)) => format!("{i}"),
            Some(Tok::Float(f)) => format!("{f}"),
            Some(Tok::Str(s)) => format!("\"{s}\""),
            Some(Tok::Punct(c)) => format!("'{c}'"),
        }
    }
}

pub(super) fn is_clause_keyword(s: &str) -> bool {
    ["WITH", "COLUMN", "LABEL", "USING", "INTO", "FOR"]
        .iter()
        .any(|k| s.eq_ignore_ascii_case(k))
}

/// Words that end or join formulas, so never a column in one (`` `group` `` is).
pub(super) fn is_formula_keyword(s: &str) -> bool {
    is_clause_keyword(s)
        || ["CONSTRAINT", "GROUP", "BY", "AND", "OR", "NOT"]
            .iter()
            .any(|k| s.eq_ignore_ascii_case(k))
}
