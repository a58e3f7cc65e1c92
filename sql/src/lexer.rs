//! A small SQL lexer: just enough to split programs into statements and to find SQLFlow's
//! extensions without being fooled by quotes and comments. It never fails on input: an
//! unterminated quote or comment runs to the end and is flagged on the token.
//!
//! Hand-written rather than sqlparser's tokenizer: the splitter needs only quoting rules,
//! and sqlparser is the slowest crate to compile in the whole dependency set.

use crate::Dialect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Whitespace,
    /// `-- ...`, `# ...` (MySQL) or `/* ... */`.
    Comment,
    /// An unquoted word: keyword or identifier (letters, digits, `_`, `$`, non-ASCII).
    Word,
    /// A number literal.
    Number,
    /// `'...'`, `E'...'`, `$tag$...$tag$`, `X'..'`.
    String,
    /// `"..."`, `` `...` `` or `[...]` (SQLite).
    QuotedIdent,
    Semicolon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    /// Any other punctuation, one character at a time.
    Punct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte range in the input.
    pub start: usize,
    pub end: usize,
    /// The token hit the end of input before its closing quote or `*/`.
    pub unterminated: bool,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, TokenKind::Whitespace | TokenKind::Comment)
    }

    /// True for an unquoted word equal to `kw`, ignoring ASCII case.
    pub fn is_keyword(&self, src: &str, kw: &str) -> bool {
        self.kind == TokenKind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }
}

/// Splits `src` into tokens covering every byte, in order.
pub fn tokenize(src: &str, dialect: Dialect) -> Vec<Token> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        dialect,
        out: Vec::new(),
    };
    lx.run();
    lx.out
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    dialect: Dialect,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn push(&mut self, kind: TokenKind, start: usize, unterminated: bool) {
        self.out.push(Token {
            kind,
            start,
            end: self.pos,
            unterminated,
        });
    }

    /// Advances past one (possibly multi-byte) character.
    fn bump_char(&mut self) {
        let ch_len = self.src[self.pos..]
            .chars()
            .next()
            .map(char::len_utf8)
            .unwrap_or(1);
        self.pos += ch_len;
    }

    fn run(&mut self) {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let b = self.bytes[self.pos];
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                    while matches!(
                        self.peek(0),
                        Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
                    ) {
                        self.pos += 1;
                    }
                    self.push(TokenKind::Whitespace, start, false);
                }
                b'-' if self.peek(1) == Some(b'-') && self.dash_dash_is_comment() => {
                    self.line_comment(start)
                }
                b'#' if self.dialect == Dialect::MySql => self.line_comment(start),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(start),
                b'\'' => {
                    let backslash = self.dialect == Dialect::MySql;
                    let unterminated = self.quoted(b'\'', backslash);
                    self.push(TokenKind::String, start, unterminated);
                }
                b'"' => {
                    let backslash = self.dialect == Dialect::MySql;
                    let unterminated = self.quoted(b'"', backslash);
                    // MySQL treats "..." as a string by default; either way it is quoted.
                    self.push(TokenKind::QuotedIdent, start, unterminated);
                }
                b'`' => {
                    let unterminated = self.quoted(b'`', false);
                    self.push(TokenKind::QuotedIdent, start, unterminated);
                }
                b'[' if self.dialect == Dialect::Sqlite => {
                    self.pos += 1;
                    let unterminated = match memchr(b']', &self.bytes[self.pos..]) {
                        Some(i) => {
                            self.pos += i + 1;
                            false
                        }
                        None => {
                            self.pos = self.bytes.len();
                            true
                        }
                    };
                    self.push(TokenKind::QuotedIdent, start, unterminated);
                }
                b'$' if self.dialect != Dialect::MySql && self.dollar_quote(start) => {}
                b'0'..=b'9' => self.number(start),
                b'.' if matches!(self.peek(1), Some(b'0'..=b'9'))
                    && !self.previous_is_word_like() =>
                {
                    self.number(start)
                }
                b';' => self.single(TokenKind::Semicolon),
                b'(' => self.single(TokenKind::LParen),
                b')' => self.single(TokenKind::RParen),
                b'[' => self.single(TokenKind::LBracket),
                b']' => self.single(TokenKind::RBracket),
                b',' => self.single(TokenKind::Comma),
                b'.' => self.single(TokenKind::Dot),
                _ if is_word_start(self.src, self.pos) => {
                    // E'..', X'..', B'..', N'..' prefixes make one string token.
                    if matches!(b, b'e' | b'E') && self.peek(1) == Some(b'\'') {
                        self.pos += 1;
                        let unterminated = self.quoted(b'\'', true);
                        self.push(TokenKind::String, start, unterminated);
                        continue;
                    }
                    if matches!(b, b'x' | b'X' | b'b' | b'B' | b'n' | b'N')
                        && self.peek(1) == Some(b'\'')
                    {
                        self.pos += 1;
                        let unterminated = self.quoted(b'\'', self.dialect == Dialect::MySql);
                        self.push(TokenKind::String, start, unterminated);
                        continue;
                    }
                    while self.pos < self.bytes.len() && is_word_continue(self.src, self.pos) {
                        self.bump_char();
                    }
                    self.push(TokenKind::Word, start, false);
                }
                _ => {
                    let space = self.src[self.pos..]
                        .chars()
                        .next()
                        .is_some_and(char::is_whitespace);
                    self.bump_char();
                    let kind = if space {
                        TokenKind::Whitespace
                    } else {
                        TokenKind::Punct
                    };
                    self.push(kind, start, false);
                }
            }
        }
    }

    fn single(&mut self, kind: TokenKind) {
        let start = self.pos;
        self.pos += 1;
        self.push(kind, start, false);
    }

    /// MySQL needs whitespace (or the end) after `--` for a comment; `1--1` is arithmetic.
    fn dash_dash_is_comment(&self) -> bool {
        if self.dialect != Dialect::MySql {
            return true;
        }
        matches!(
            self.peek(2),
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
        )
    }

    fn line_comment(&mut self, start: usize) {
        match memchr(b'\n', &self.bytes[self.pos..]) {
            Some(i) => self.pos += i,
            None => self.pos = self.bytes.len(),
        }
        self.push(TokenKind::Comment, start, false);
    }

    fn block_comment(&mut self, start: usize) {
        // PostgreSQL nests block comments; the others end at the first `*/`.
        let nests = self.dialect == Dialect::Postgres;
        self.pos += 2;
        let mut depth = 1usize;
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos] == b'*' && self.peek(1) == Some(b'/') {
                self.pos += 2;
                depth -= 1;
                if depth == 0 {
                    self.push(TokenKind::Comment, start, false);
                    return;
                }
            } else if nests && self.bytes[self.pos] == b'/' && self.peek(1) == Some(b'*') {
                self.pos += 2;
                depth += 1;
            } else {
                self.pos += 1;
            }
        }
        self.push(TokenKind::Comment, start, true);
    }

    /// Consumes a quoted run starting at the opening `quote`. A doubled quote is an
    /// escaped quote; with `backslash`, `\x` escapes any character. Returns whether
    /// the input ended first.
    fn quoted(&mut self, quote: u8, backslash: bool) -> bool {
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            if backslash && b == b'\\' {
                self.pos = (self.pos + 2).min(self.bytes.len());
            } else if b == quote {
                if self.peek(1) == Some(quote) {
                    self.pos += 2;
                } else {
                    self.pos += 1;
                    return false;
                }
            } else {
                self.pos += 1;
            }
        }
        true
    }

    /// `$tag$ ... $tag$` (PostgreSQL). Returns false, consuming nothing, when the `$`
    /// does not open a dollar quote (a `$1` parameter, say).
    fn dollar_quote(&mut self, start: usize) -> bool {
        let rest = &self.bytes[self.pos + 1..];
        let tag_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if rest.get(tag_len) != Some(&b'$') || rest.first().is_some_and(u8::is_ascii_digit) {
            return false;
        }
        let delim_len = tag_len + 2;
        let delim = &self.bytes[self.pos..self.pos + delim_len];
        let body_start = self.pos + delim_len;
        match find(&self.bytes[body_start..], delim) {
            Some(i) => {
                self.pos = body_start + i + delim_len;
                self.push(TokenKind::String, start, false);
            }
            None => {
                self.pos = self.bytes.len();
                self.push(TokenKind::String, start, true);
            }
        }
        true
    }

    fn number(&mut self, start: usize) {
        while let Some(b) = self.peek(0) {
            match b {
                b'0'..=b'9' | b'.' | b'_' => self.pos += 1,
                b'e' | b'E'
                    if matches!(self.peek(1), Some(b'0'..=b'9'))
                        || (matches!(self.peek(1), Some(b'+' | b'-'))
                            && matches!(self.peek(2), Some(b'0'..=b'9'))) =>
                {
                    self.pos += 2
                }
                b'x' | b'X' if self.pos == start + 1 && self.bytes[start] == b'0' => self.pos += 1,
                b'a'..=b'f' | b'A'..=b'F'
                    if self.pos >= start + 2 && matches!(self.bytes[start + 1], b'x' | b'X') =>
                {
                    self.pos += 1
                }
                _ => break,
            }
        }
        self.push(TokenKind::Number, start, false);
    }

    fn previous_is_word_like(&self) -> bool {
        self.out.last().is_some_and(|t| {
            matches!(
                t.kind,
                TokenKind::Word | TokenKind::QuotedIdent | TokenKind::RParen
            )
        })
    }
}

fn is_word_start(src: &str, pos: usize) -> bool {
    src[pos..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || (!c.is_ascii() && !c.is_whitespace()))
}

fn is_word_continue(src: &str, pos: usize) -> bool {
    src[pos..].chars().next().is_some_and(|c| {
        c.is_alphanumeric() || c == '_' || c == '$' || (!c.is_ascii() && !c.is_whitespace())
    })
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
