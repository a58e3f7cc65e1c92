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
    if first.is_keyword(text, "SHOW") && tokens.get(1).is_some_and(|t| t.is_keyword(text, "TRAIN"))
    {
        let mut p = ExtParser::new(text, tokens[1].end);
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
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth -= 1,
            _ => {}
        }
        let next_is_ext = || {
            tokens
                .get(i + 1)
                .is_some_and(|n| EXTENSIONS.iter().any(|k| n.is_keyword(text, k)))
        };
        if i > 0 && depth == 0 && t.is_keyword(text, "TO") && next_is_ext() {
            let select = text[..t.start].trim_end().to_string();
            let kind = parse_extension(text, tokens[i + 1].start)?;
            return Ok(Parsed::Extended(Extended { select, kind }));
        }
    }
    Ok(Parsed::Standard)
}

fn parse_extension(text: &str, at: usize) -> Result<ExtKind, ParseError> {
    let mut p = ExtParser::new(text, at);
    let verb = p
        .ident("TRAIN, PREDICT, EVALUATE or EXPLAIN")?
        .to_ascii_uppercase();
    let kind = match verb.as_str() {
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
        _ => unreachable!("only extension keywords reach here"),
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
            let value = self.value()?;
            if attrs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(self.error_at(at, format!("attribute {name} is given twice")));
            }
            attrs.push((name, value));
            if !self.punct(',')? {
                return Ok(attrs);
            }
        }
    }

    fn value(&mut self) -> Result<Expr, ParseError> {
        self.skip_space();
        let at = self.pos;
        let tok = self.next()?;
        Ok(match tok {
            Some(Tok::Int(i)) => Expr::Int(i),
            Some(Tok::Float(f)) => Expr::Float(f),
            Some(Tok::Str(s)) => Expr::Str(s),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Expr::Bool(true),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Expr::Bool(false),
            Some(Tok::Ident(s)) if !is_clause_keyword(&s) => Expr::Ident(s),
            Some(Tok::Punct('-')) => match self.value()? {
                Expr::Int(i) => Expr::Int(-i),
                Expr::Float(f) => Expr::Float(-f),
                _ => return Err(self.error_at(at, "'-' must be followed by a number")),
            },
            Some(Tok::Punct('[')) => {
                let mut items = Vec::new();
                if !self.punct(']')? {
                    loop {
                        items.push(self.value()?);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

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
