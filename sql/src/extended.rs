//! SQLFlow's extended statements, following its grammar (`extended_syntax_parser.y`):
//!
//! ```text
//! <select> TO TRAIN <model> [WITH attrs] [COLUMN cols [FOR name]]... [LABEL col] [USING <model>] INTO <model_table>
//! <select> TO PREDICT <table>.<column> [WITH attrs] USING <model_table>
//! <select> TO EVALUATE <model_table> [WITH attrs] LABEL <col> INTO <table>
//! <select> TO EXPLAIN <model_table> [WITH attrs] [USING <explainer>] [INTO <table>]
//! SHOW TRAIN <model_table>
//! ```
//!
//! The `<select>` part is found with the dialect-aware lexer (so a `TO TRAIN` inside a
//! string or comment is not one) and passed to the database as written. The extension
//! has its own small lexer: SQLFlow identifiers may hold dots, slashes, colons and
//! dashes (`model.hidden_units`, `iris.predict.class`, `registry/team/img:v1`).
//!
//! Attribute values nest (`[[1, 2], [3]]`, `- -1`) at most [`MAX_NESTING`] levels deep;
//! deeper input is a syntax error, so hostile text cannot overflow the stack.

use std::fmt;

use crate::{
    Dialect,
    lexer::{Token, TokenKind, tokenize},
    split::line_col,
};

/// A statement, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Plain SQL for the database.
    Standard,
    Extended(Extended),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Extended {
    /// The standard query before `TO` (empty for `SHOW TRAIN`).
    pub select: String,
    pub kind: ExtKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExtKind {
    Train(Train),
    Predict(Predict),
    Evaluate(Evaluate),
    Explain(Explain),
    ShowTrain { model: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Train {
    pub estimator: String,
    pub attrs: Vec<(String, Expr)>,
    pub columns: Vec<ColumnClause>,
    pub label: Option<String>,
    /// Warm start from this model.
    pub using: Option<String>,
    pub into: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnClause {
    pub columns: Vec<String>,
    /// `FOR name`: which input of a multi-input model the columns feed.
    pub for_input: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Predict {
    /// `table.column` (the table may itself be qualified: `db.table.column`).
    pub table: String,
    pub column: String,
    pub attrs: Vec<(String, Expr)>,
    pub using: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluate {
    pub model: String,
    pub attrs: Vec<(String, Expr)>,
    pub label: String,
    pub into: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    pub model: String,
    pub attrs: Vec<(String, Expr)>,
    pub using: Option<String>,
    pub into: Option<String>,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    Bool(bool),
    List(Vec<Expr>),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Float(x) => write!(f, "{x}"),
            Expr::Str(s) => write!(f, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
            Expr::Ident(s) => f.write_str(s),
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::List(items) => {
                f.write_str("[")?;
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A syntax error in an extended statement, with its place in the statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error at line {line}, column {column}: {message}")]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// How deeply an attribute value may nest: each `[` list and each unary `-` opens one
/// level, so `[[1]]` and `- -1` are two deep. Parsing a value recurses once per level,
/// and the bound keeps that well inside a 2 MiB thread stack (what the server's worker
/// threads get) whatever the input; real values nest two or three levels. Deeper input
/// is a [`ParseError`] saying it is "nested too deeply", at the first level too many.
pub const MAX_NESTING: usize = 64;

const EXTENSIONS: [&str; 4] = ["TRAIN", "PREDICT", "EVALUATE", "EXPLAIN"];

/// Classifies one statement (as the splitter produced it) and parses an extension.
pub fn parse_statement(text: &str, dialect: Dialect) -> Result<Parsed, ParseError> {
    let tokens: Vec<Token> = tokenize(text, dialect)
        .into_iter()
        .filter(|t| !t.is_trivia())
        .collect();
    let Some(first) = tokens.first() else {
        return Ok(Parsed::Standard);
    };
    let train_after_show = tokens
        .get(1)
        .filter(|t| first.is_keyword(text, "SHOW") && t.is_keyword(text, "TRAIN"));
    if let Some(train) = train_after_show {
        let mut p = ExtParser::new(text, train.end);
        let model = p.ident("a model name after SHOW TRAIN")?;
        p.end()?;
        return Ok(Parsed::Extended(Extended {
            select: String::new(),
            kind: ExtKind::ShowTrain { model },
        }));
    }
    // SQLFlow's extensions follow a query; `ALTER TABLE a RENAME TO train` is not one.
    let query_like = first.kind == TokenKind::LParen
        || first.is_keyword(text, "SELECT")
        || first.is_keyword(text, "WITH");
    if !query_like {
        return Ok(Parsed::Standard);
    }
    // isize cannot overflow: there are fewer tokens than bytes.
    let mut depth = 0isize;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth -= 1,
            _ => {}
        }
        if i == 0 || depth != 0 || !t.is_keyword(text, "TO") {
            continue;
        }
        let verb = tokens
            .get(i + 1)
            .filter(|n| EXTENSIONS.iter().any(|k| n.is_keyword(text, k)));
        if let Some(verb) = verb {
            let select = text[..t.start].trim_end().to_string();
            let kind = parse_extension(text, verb.start)?;
            return Ok(Parsed::Extended(Extended { select, kind }));
        }
    }
    Ok(Parsed::Standard)
}

fn parse_extension(text: &str, at: usize) -> Result<ExtKind, ParseError> {
    let mut p = ExtParser::new(text, at);
    // The SQL lexer saw a bare keyword, but this lexer's names run on through dots,
    // dashes, slashes and colons: `TO train.x` reads as the name `train.x`.
    let verb = p.ident("TRAIN, PREDICT, EVALUATE or EXPLAIN after TO")?;
    let kind = match verb.to_ascii_uppercase().as_str() {
        "TRAIN" => {
            let estimator = p.ident("a model name after TO TRAIN, such as DNNClassifier")?;
            let attrs = p.with_clause()?;
            let mut columns = Vec::new();
            while p.keyword("COLUMN") {
                columns.push(p.column_clause()?);
            }
            let label = if p.keyword("LABEL") {
                Some(p.name("a label column after LABEL")?)
            } else {
                None
            };
            let using = if p.keyword("USING") {
                Some(p.ident("a model to start from after USING")?)
            } else {
                None
            };
            p.expect_keyword("INTO", "INTO <model_table> to name the trained model")?;
            let into = p.ident("a table to save the model into, after INTO")?;
            ExtKind::Train(Train {
                estimator,
                attrs,
                columns,
                label,
                using,
                into,
            })
        }
        "PREDICT" => {
            let at = p.pos;
            let target = p.ident("<table>.<column> after TO PREDICT")?;
            let Some((table, column)) = target.rsplit_once('.') else {
                return Err(p.error_at(
                    at,
                    format!("TO PREDICT needs <table>.<column> (the column to write predictions into), got '{target}'"),
                ));
            };
            let (table, column) = (table.to_string(), column.to_string());
            let attrs = p.with_clause()?;
            p.expect_keyword("USING", "USING <model_table> to name the model")?;
            let using = p.ident("a model after USING")?;
            ExtKind::Predict(Predict {
                table,
                column,
                attrs,
                using,
            })
        }
        "EVALUATE" => {
            let model = p.ident("a model after TO EVALUATE")?;
            let attrs = p.with_clause()?;
            p.expect_keyword("LABEL", "LABEL <column> to name the true values")?;
            let label = p.name("a label column after LABEL")?;
            p.expect_keyword("INTO", "INTO <table> for the metrics")?;
            let into = p.ident("a table after INTO")?;
            ExtKind::Evaluate(Evaluate {
                model,
                attrs,
                label,
                into,
            })
        }
        "EXPLAIN" => {
            let model = p.ident("a model after TO EXPLAIN")?;
            let attrs = p.with_clause()?;
            let using = if p.keyword("USING") {
                Some(p.ident("an explainer after USING")?)
            } else {
                None
            };
            let into = if p.keyword("INTO") {
                Some(p.ident("a table after INTO")?)
            } else {
                None
            };
            ExtKind::Explain(Explain {
                model,
                attrs,
                using,
                into,
            })
        }
        _ => {
            return Err(p.error_at(
                at,
                format!("expected TRAIN, PREDICT, EVALUATE or EXPLAIN after TO, found '{verb}'"),
            ));
        }
    };
    p.end()?;
    Ok(kind)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Float(f64),
    Str(String),
    Punct(char),
}

struct ExtParser<'a> {
    src: &'a str,
    pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '-')
}

impl<'a> ExtParser<'a> {
    fn new(src: &'a str, pos: usize) -> Self {
        Self { src, pos }
    }

    fn error_at(&self, at: usize, message: impl Into<String>) -> ParseError {
        let (line, column) = line_col(self.src, at);
        ParseError {
            message: message.into(),
            line,
            column,
        }
    }

    fn skip_space(&mut self) {
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
    fn peek(&mut self) -> Result<Option<(Tok, usize)>, ParseError> {
        self.skip_space();
        let rest = &self.src[self.pos..];
        let Some(c) = rest.chars().next() else {
            return Ok(None);
        };
        let start = self.pos;
        if is_ident_start(c) {
            let len = rest
                .char_indices()
                .find(|&(_, ch)| !is_ident_continue(ch))
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
                Tok::Ident(rest[1..1 + end].to_string()),
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

    fn next(&mut self) -> Result<Option<Tok>, ParseError> {
        let t = self.peek()?;
        Ok(t.map(|(tok, end)| {
            self.pos = end;
            tok
        }))
    }

    fn describe(tok: &Option<Tok>) -> String {
        match tok {
            None => "the end of the statement".into(),
            Some(Tok::Ident(s)) => format!("'{s}'"),
            Some(Tok::Int(i)) => format!("{i}"),
            Some(Tok::Float(f)) => format!("{f}"),
            Some(Tok::Str(s)) => format!("\"{s}\""),
            Some(Tok::Punct(c)) => format!("'{c}'"),
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        let at = {
            self.skip_space();
            self.pos
        };
        match self.next()? {
            Some(Tok::Ident(s)) if !is_clause_keyword(&s) => Ok(s),
            other => Err(self.error_at(
                at,
                format!("expected {what}, found {}", Self::describe(&other)),
            )),
        }
    }

    /// An identifier or a quoted name.
    fn name(&mut self, what: &str) -> Result<String, ParseError> {
        self.skip_space();
        if let Some((Tok::Str(s), end)) = self.peek()? {
            self.pos = end;
            return Ok(s);
        }
        self.ident(what)
    }

    /// Consumes keyword `kw` if it is next.
    fn keyword(&mut self, kw: &str) -> bool {
        match self.peek() {
            Ok(Some((Tok::Ident(s), end))) if s.eq_ignore_ascii_case(kw) => {
                self.pos = end;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, kw: &str, what: &str) -> Result<(), ParseError> {
        if self.keyword(kw) {
            return Ok(());
        }
        Err(self.expected(what))
    }

    /// "expected {what}, found ..." at the next token.
    fn expected(&mut self, what: &str) -> ParseError {
        let found = match self.peek() {
            Ok(t) => t.map(|(t, _)| t),
            Err(e) => return e,
        };
        self.error_at(
            self.pos,
            format!("expected {what}, found {}", Self::describe(&found)),
        )
    }

    fn punct(&mut self, c: char) -> Result<bool, ParseError> {
        match self.peek()? {
            Some((Tok::Punct(p), end)) if p == c => {
                self.pos = end;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// `WITH name = value, ...` (or nothing). Duplicates are errors.
    fn with_clause(&mut self) -> Result<Vec<(String, Expr)>, ParseError> {
        let mut attrs: Vec<(String, Expr)> = Vec::new();
        if !self.keyword("WITH") {
            return Ok(attrs);
        }
        loop {
            self.skip_space();
            let at = self.pos;
            let name = self.ident("an attribute name such as model.n_classes")?;
            if !self.punct('=')? {
                return Err(self.expected(&format!("'=' after attribute {name}")));
            }
            let value = self.value(0)?;
            if attrs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(self.error_at(at, format!("attribute {name} is given twice")));
            }
            attrs.push((name, value));
            if !self.punct(',')? {
                return Ok(attrs);
            }
        }
    }

    /// A value inside `depth` open lists and signs.
    fn value(&mut self, depth: usize) -> Result<Expr, ParseError> {
        self.skip_space();
        let at = self.pos;
        let tok = self.next()?;
        if matches!(tok, Some(Tok::Punct('[' | '-'))) && depth >= MAX_NESTING {
            return Err(self.error_at(
                at,
                format!(
                    "value nested too deeply: lists and '-' signs may nest at most \
                     {MAX_NESTING} levels"
                ),
            ));
        }
        Ok(match tok {
            Some(Tok::Int(i)) => Expr::Int(i),
            Some(Tok::Float(f)) => Expr::Float(f),
            Some(Tok::Str(s)) => Expr::Str(s),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Expr::Bool(true),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Expr::Bool(false),
            Some(Tok::Ident(s)) if !is_clause_keyword(&s) => Expr::Ident(s),
            Some(Tok::Punct('-')) => match self.value(depth + 1)? {
                // Literals are unsigned, so i64::MIN never gets here; were it to, a
                // float beats an overflow panic.
                Expr::Int(i) => i.checked_neg().map_or(Expr::Float(-(i as f64)), Expr::Int),
                Expr::Float(f) => Expr::Float(-f),
                _ => return Err(self.error_at(at, "'-' must be followed by a number")),
            },
            Some(Tok::Punct('[')) => {
                let mut items = Vec::new();
                if !self.punct(']')? {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.punct(']')? {
                            break;
                        }
                        if !self.punct(',')? {
                            return Err(self.expected("',' or ']' in a list"));
                        }
                    }
                }
                Expr::List(items)
            }
            other => {
                return Err(self.error_at(
                    at,
                    format!(
                        "expected a value (number, string, name, true/false or [list]), found {}",
                        Self::describe(&other)
                    ),
                ));
            }
        })
    }

    /// After `COLUMN`: `a, b, c [FOR name]`.
    fn column_clause(&mut self) -> Result<ColumnClause, ParseError> {
        let mut columns = Vec::new();
        loop {
            let name = self.name("a column name after COLUMN")?;
            if self.punct('(')? {
                return Err(self.error_at(
                    self.pos,
                    format!(
                        "feature column functions such as {name}(...) are not supported; \
                         list plain column names (strings are category-encoded automatically)"
                    ),
                ));
            }
            columns.push(name);
            if !self.punct(',')? {
                break;
            }
        }
        let for_input = if self.keyword("FOR") {
            Some(self.ident("an input name after FOR")?)
        } else {
            None
        };
        Ok(ColumnClause { columns, for_input })
    }

    fn end(&mut self) -> Result<(), ParseError> {
        self.skip_space();
        let at = self.pos;
        match self.peek()? {
            None => Ok(()),
            Some((Tok::Punct(';'), _)) => Ok(()),
            Some((t, _)) => Err(self.error_at(
                at,
                format!(
                    "unexpected {} after the end of the statement",
                    Self::describe(&Some(t))
                ),
            )),
        }
    }
}

fn is_clause_keyword(s: &str) -> bool {
    ["WITH", "COLUMN", "LABEL", "USING", "INTO", "FOR"]
        .iter()
        .any(|k| s.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
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
            ext("SELECT * FROM iris.test TO PREDICT iris.predict.class USING sqlflow_models.m;")
                .kind
        else {
            panic!()
        };
        assert_eq!(
            (p.table.as_str(), p.column.as_str(), p.using.as_str()),
            ("iris.predict", "class", "sqlflow_models.m")
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
        let ExtKind::Explain(x) = ext("SELECT * FROM t TO EXPLAIN m USING TreeExplainer").kind
        else {
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
        let e = parse_statement("SELECT * FROM t\nTO PREDICT nodot USING m", Dialect::Sqlite)
            .unwrap_err();
        assert!(e.message.contains("<table>.<column>") && e.line == 2, "{e}");
        let e = parse_statement(
            "SELECT * FROM t TO TRAIN X COLUMN NUMERIC(a, 2) INTO m",
            Dialect::Sqlite,
        )
        .unwrap_err();
        assert!(e.message.contains("not supported"), "{e}");
        let e = parse_statement(
            "SELECT * FROM t TO TRAIN X WITH a = INTO m",
            Dialect::Sqlite,
        )
        .unwrap_err();
        assert!(e.message.contains("expected a value"), "{e}");
        let e = parse_statement("SELECT * FROM t TO EXPLAIN m INTO r extra", Dialect::Sqlite)
            .unwrap_err();
        assert!(e.message.contains("unexpected 'extra'"), "{e}");
    }
}

#[cfg(test)]
mod hostile {
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
        ] {
            let e = syntax_error(src.to_string());
            assert_eq!(
                e.to_string(),
                format!(
                    "syntax error at line 1, column 13: expected TRAIN, PREDICT, EVALUATE or \
                     EXPLAIN after TO, found '{found}'"
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
        assert!(e.message.contains("not supported"), "{e}");
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
    fn deep_block_comments_never_overflow() {
        let src = format!("SELECT 1 {} TO TRAIN m INTO n", "/*".repeat(50_000));
        on_small_stack(move || {
            for d in [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres] {
                let _ = crate::split::split(&src, d);
                let _ = parse_statement(&src, d);
            }
        });
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

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
        ]
    }

    fn attrs(kind: ExtKind) -> Vec<(String, Expr)> {
        match kind {
            ExtKind::Train(t) => t.attrs,
            ExtKind::Predict(p) => p.attrs,
            ExtKind::Evaluate(e) => e.attrs,
            ExtKind::Explain(x) => x.attrs,
            ExtKind::ShowTrain { .. } => Vec::new(),
        }
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
}
