//! SQLFlow's extended statements, following its grammar (`extended_syntax_parser.y`):
//!
//! ```text
//! <select> TO TRAIN <model> [WITH attrs] [COLUMN cols [FOR name]]... [LABEL col] [USING <model>] INTO <model_table>
//! <select> TO PREDICT <table>[.<column>] [WITH attrs] USING <model_table>
//! <select> TO EVALUATE <model_table> [WITH attrs] LABEL <col> INTO <table>
//! <select> TO EXPLAIN <model_table> [WITH attrs] [USING <explainer>] [INTO <table>]
//! <select> TO RUN <program> [CMD "arg", ...] [INTO <table>, ...]
//! <select> TO MAXIMIZE|MINIMIZE <objective> [CONSTRAINT <expr> [GROUP BY <col>], ...]
//!          WITH attrs [USING <solver>] INTO <table>
//! SHOW TRAIN <model_table>
//! ```
//!
//! The `<select>` part is found with the dialect-aware lexer (so a `TO TRAIN` inside a
//! string or comment is not one) and passed to the database as written. The extension
//! has its own small lexer: SQLFlow identifiers may hold dots, slashes, colons and
//! dashes (`model.hidden_units`, `iris.predict.class`, `registry/team/img:v1`).
//!
//! Attribute values nest (`[[1, 2], [3]]`, `- -1`) at most [`MAX_NESTING`] levels deep,
//! and so do the objective and constraint expressions of `TO MAXIMIZE` (parentheses,
//! calls, lists, `NOT`, `-`); deeper input is a syntax error, so hostile text cannot
//! overflow the stack.
//!
//! Column and label names may be keywords (`LABEL label`, `COLUMN for, x`): a keyword is
//! read as a name when what follows it can follow a name there. `` `name` `` and
//! `"name"` are names whatever they hold.

use std::fmt;

use crate::{
    Dialect,
    lexer::{Token, TokenKind, tokenize},
    split::line_col,
};

/// A child module, so it reads with this module's lexer; the file sits beside this one.
#[path = "feature_column.rs"]
pub mod feature_column;
pub use feature_column::FeatureColumn;

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
    Run(Run),
    /// `TO MAXIMIZE` and `TO MINIMIZE`.
    Optimize(Optimize),
    ShowTrain {
        model: String,
    },
}

impl ExtKind {
    /// The statement's clause as users write it, for messages: `TO TRAIN`, `SHOW TRAIN`.
    pub fn clause(&self) -> &'static str {
        match self {
            ExtKind::Train(_) => "TO TRAIN",
            ExtKind::Predict(_) => "TO PREDICT",
            ExtKind::Evaluate(_) => "TO EVALUATE",
            ExtKind::Explain(_) => "TO EXPLAIN",
            ExtKind::Run(_) => "TO RUN",
            ExtKind::Optimize(o) => match o.direction {
                Direction::Maximize => "TO MAXIMIZE",
                Direction::Minimize => "TO MINIMIZE",
            },
            ExtKind::ShowTrain { .. } => "SHOW TRAIN",
        }
    }
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
    /// Each item as text: a column's name, or a feature column call printed canonically.
    pub columns: Vec<String>,
    /// Each item parsed, in the same order as `columns`.
    pub features: Vec<FeatureColumn>,
    /// `FOR name`: which input of a multi-input model the columns feed.
    pub for_input: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Predict {
    /// From `table.column` or `db.table.column`, as SQLFlow splits them; a name without
    /// a dot is a table alone.
    pub table: String,
    /// None when the statement names only the table: the result column then takes the
    /// name of the label the model was trained on, as in SQLFlow.
    pub column: Option<String>,
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

/// `TO RUN program [CMD "arg", ...] [INTO table, ...]`: a program or container image
/// that transforms data in ways SQL cannot (SQLFlow's `doc/design/to_run.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// A program or image name as written: `a_data_scientist/ts_processor:1.0`.
    pub program: String,
    /// The command-line arguments after `CMD`, unquoted.
    pub args: Vec<String>,
    /// The tables the program writes, after `INTO`.
    pub into: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Maximize,
    Minimize,
}

/// `TO MAXIMIZE|MINIMIZE objective [CONSTRAINT c [GROUP BY col], ...] WITH attrs
/// [USING solver] INTO table` (SQLFlow's `doc/tutorial/optimization_guide.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Optimize {
    pub direction: Direction,
    pub objective: Formula,
    pub constraints: Vec<Constraint>,
    /// `variables = "amount(product)"`, `var_type = "Integers"`, solver options.
    pub attrs: Vec<(String, Expr)>,
    /// `glpk` when absent, in SQLFlow.
    pub solver: Option<String>,
    pub into: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub expr: Formula,
    /// `GROUP BY col`: the constraint holds for each value of `col` separately.
    pub group_by: Option<String>,
}

/// An objective or constraint: arithmetic, comparisons and logic over columns and
/// aggregate calls, such as `SUM((price - cost) * amount)` or `amount <= max_num`.
///
/// Operators of one precedence level form one [`Formula::Chain`] rather than a nested
/// pair per operator, so a long sum stays a shallow tree (dropping, comparing or
/// printing a tree recurses through its depth).
#[derive(Debug, Clone, PartialEq)]
pub enum Formula {
    Int(i64),
    Float(f64),
    Str(String),
    Column(String),
    Call {
        name: String,
        args: Vec<Formula>,
    },
    List(Vec<Formula>),
    /// `-x`
    Neg(Box<Formula>),
    /// `NOT x`
    Not(Box<Formula>),
    /// `first op1 x1 op2 x2 ...`, operators all of one precedence level, applied left to
    /// right.
    Chain {
        first: Box<Formula>,
        rest: Vec<(BinOp, Formula)>,
    },
}

/// A binary operator of a [`Formula`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// Precedence, loosest first. SQL's order rather than SQLFlow's yacc grammar, which put
/// AND and OR on one level and NOT above `*`: `a OR b AND c` means what it means in the
/// SELECT part of the same statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Not,
    Compare,
    Sum,
    Product,
    Neg,
    Atom,
}

impl Prec {
    /// The next tighter level.
    fn tighter(self) -> Prec {
        match self {
            Prec::Or => Prec::And,
            Prec::And => Prec::Not,
            Prec::Not => Prec::Compare,
            Prec::Compare => Prec::Sum,
            Prec::Sum => Prec::Product,
            Prec::Product => Prec::Neg,
            Prec::Neg | Prec::Atom => Prec::Atom,
        }
    }
}

impl BinOp {
    fn prec(self) -> Prec {
        match self {
            BinOp::Or => Prec::Or,
            BinOp::And => Prec::And,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Prec::Compare,
            BinOp::Add | BinOp::Sub => Prec::Sum,
            BinOp::Mul | BinOp::Div | BinOp::Mod => Prec::Product,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "OR",
            BinOp::And => "AND",
            BinOp::Eq => "=",
            BinOp::Ne => "<>",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }
}

impl Formula {
    fn prec(&self) -> Prec {
        match self {
            Formula::Not(_) => Prec::Not,
            Formula::Neg(_) => Prec::Neg,
            Formula::Chain { rest, .. } => rest.first().map_or(Prec::Atom, |(op, _)| op.prec()),
            _ => Prec::Atom,
        }
    }
}

/// Prints `f`, in parentheses unless it binds tighter than `outside`.
fn operand(f: &mut fmt::Formatter<'_>, x: &Formula, outside: Prec) -> fmt::Result {
    if x.prec() > outside {
        write!(f, "{x}")
    } else {
        write!(f, "({x})")
    }
}

fn is_plain_name(s: &str) -> bool {
    s.starts_with(is_ident_start)
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && !s.ends_with('.')
        && !s.contains("..")
        && !is_formula_keyword(s)
}

/// Prints text that parses back to the same formula.
impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Formula::Int(i) => write!(f, "{i}"),
            // Debug keeps the fraction (`2.0`), so it reads back as a float.
            Formula::Float(x) => write!(f, "{x:?}"),
            Formula::Str(s) => write!(f, "{}", Expr::Str(s.clone())),
            Formula::Column(c) if is_plain_name(c) => f.write_str(c),
            Formula::Column(c) => write!(f, "`{c}`"),
            Formula::Call { name, args } => {
                write!(f, "{name}(")?;
                comma_separated(f, args)?;
                f.write_str(")")
            }
            Formula::List(items) => {
                f.write_str("[")?;
                comma_separated(f, items)?;
                f.write_str("]")
            }
            Formula::Neg(x) => {
                // `--` would open a comment.
                let inner = if x.prec() >= Prec::Neg {
                    x.to_string()
                } else {
                    format!("({x})")
                };
                let gap = if inner.starts_with('-') { " " } else { "" };
                write!(f, "-{gap}{inner}")
            }
            Formula::Not(x) => {
                f.write_str("NOT ")?;
                if x.prec() >= Prec::Not {
                    write!(f, "{x}")
                } else {
                    write!(f, "({x})")
                }
            }
            Formula::Chain { first, rest } => {
                let level = self.prec();
                operand(f, first, level)?;
                for (op, x) in rest {
                    write!(f, " {} ", op.symbol())?;
                    operand(f, x, level)?;
                }
                Ok(())
            }
        }
    }
}

fn comma_separated(f: &mut fmt::Formatter<'_>, items: &[Formula]) -> fmt::Result {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{x}")?;
    }
    Ok(())
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

const EXTENSIONS: [&str; 7] = [
    "TRAIN", "PREDICT", "EVALUATE", "EXPLAIN", "RUN", "MAXIMIZE", "MINIMIZE",
];

const EXPECTED_VERB: &str = "TRAIN, PREDICT, EVALUATE, EXPLAIN, RUN, MAXIMIZE or MINIMIZE after TO";

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
    let verb = p.ident(EXPECTED_VERB)?;
    let kind = match verb.to_ascii_uppercase().as_str() {
        "TRAIN" => {
            let estimator = p.ident("a model name after TO TRAIN, such as DNNClassifier")?;
            let attrs = p.with_clause()?;
            let mut columns = Vec::new();
            while p.keyword("COLUMN") {
                columns.push(p.column_clause()?);
            }
            let label = if p.keyword("LABEL") {
                Some(p.column_name("a label column after LABEL", &["USING", "INTO"])?)
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
            let target =
                p.ident("a result table after TO PREDICT, as <table> or <table>.<column>")?;
            // SQLFlow's split (`db.table.column`, `table.column`); a table alone gets its
            // result column named after the model's label when the statement runs.
            let (table, column) = match target.rsplit_once('.') {
                Some((table, column)) => (table.to_string(), Some(column.to_string())),
                None => (target, None),
            };
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
            let label = p.column_name("a label column after LABEL", &["INTO"])?;
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
        "RUN" => ExtKind::Run(p.run_clause()?),
        "MAXIMIZE" => ExtKind::Optimize(p.optimize_clause(Direction::Maximize)?),
        "MINIMIZE" => ExtKind::Optimize(p.optimize_clause(Direction::Minimize)?),
        _ => {
            return Err(p.error_at(at, format!("expected {EXPECTED_VERB}, found '{verb}'")));
        }
    };
    p.end()?;
    Ok(kind)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `` `name` ``: a name even when it spells a keyword.
    Quoted(String),
    Int(i64),
    Float(f64),
    Str(String),
    Punct(char),
}

struct ExtParser<'a> {
    src: &'a str,
    pos: usize,
    /// Inside an objective or constraint, where `-`, `/` and `:` are operators, not
    /// parts of a name (`price-cost` is a subtraction there, as in the SELECT).
    in_formula: bool,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | ':' | '-')
}

impl<'a> ExtParser<'a> {
    fn new(src: &'a str, pos: usize) -> Self {
        Self {
            src,
            pos,
            in_formula: false,
        }
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
            Some(Tok::Quoted(s)) => format!("`{s}`"),
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
            Some(Tok::Quoted(s)) => Ok(s),
            other => Err(self.error_at(
                at,
                format!("expected {what}, found {}", Self::describe(&other)),
            )),
        }
    }

    /// A column name: an identifier, `` `name` `` or `"name"`, or a bare keyword when
    /// what follows it is one of `followers` (keywords, or `,`) or the end: so
    /// `LABEL label INTO m` names the column `label`, while `LABEL INTO m` lacks one.
    /// Columns are where data names collide with SQLFlow's keywords.
    fn column_name(&mut self, what: &str, followers: &[&str]) -> Result<String, ParseError> {
        self.skip_space();
        let at = self.pos;
        match self.peek()? {
            Some((Tok::Str(s) | Tok::Quoted(s), end)) => {
                self.pos = end;
                Ok(s)
            }
            Some((Tok::Ident(s), end)) if is_clause_keyword(&s) => {
                self.pos = end;
                let fits = match self.peek()? {
                    None | Some((Tok::Punct(';'), _)) => true,
                    Some((Tok::Punct(c), _)) => {
                        followers.iter().any(|f| f.len() == 1 && f.starts_with(c))
                    }
                    Some((Tok::Ident(n), _)) => followers.iter().any(|f| n.eq_ignore_ascii_case(f)),
                    Some(_) => false,
                };
                if fits {
                    Ok(s)
                } else {
                    self.pos = at;
                    Err(self.expected(what))
                }
            }
            _ => self.ident(what),
        }
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
        if !self.keyword("WITH") {
            return Ok(Vec::new());
        }
        self.attr_list()
    }

    /// `name = value, ...` after WITH.
    fn attr_list(&mut self) -> Result<Vec<(String, Expr)>, ParseError> {
        let mut attrs: Vec<(String, Expr)> = Vec::new();
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
            Some(Tok::Quoted(s)) => Expr::Ident(s),
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
        let (mut columns, mut features) = (Vec::new(), Vec::new());
        loop {
            let (text, feature) =
                self.column_item(&[",", "FOR", "COLUMN", "LABEL", "USING", "INTO"])?;
            columns.push(text);
            features.push(feature);
            if !self.punct(',')? {
                break;
            }
        }
        let for_input = if self.keyword("FOR") {
            Some(self.ident("an input name after FOR")?)
        } else {
            None
        };
        Ok(ColumnClause {
            columns,
            features,
            for_input,
        })
    }

    /// After `TO RUN`: `program [CMD "arg", ...] [INTO table, ...]`. SQLFlow takes INTO
    /// only after CMD; a program without arguments may write tables too.
    fn run_clause(&mut self) -> Result<Run, ParseError> {
        self.skip_space();
        let at = self.pos;
        let program =
            self.ident("a program or image after TO RUN, such as team/extract_features:1.0")?;
        if program.eq_ignore_ascii_case("CMD") {
            return Err(self.error_at(at, "expected a program or image after TO RUN, found 'CMD'"));
        }
        let mut args = Vec::new();
        if self.keyword("CMD") {
            loop {
                self.skip_space();
                match self.peek()? {
                    Some((Tok::Str(s), end)) => {
                        self.pos = end;
                        args.push(s);
                    }
                    _ => {
                        return Err(
                            self.expected("a quoted argument after CMD, such as \"--window=120\"")
                        );
                    }
                }
                if !self.punct(',')? {
                    break;
                }
            }
        }
        let mut into = Vec::new();
        if self.keyword("INTO") {
            loop {
                into.push(self.ident("a table after INTO")?);
                if !self.punct(',')? {
                    break;
                }
            }
        }
        Ok(Run {
            program,
            args,
            into,
        })
    }

    /// After `TO MAXIMIZE` or `TO MINIMIZE`.
    fn optimize_clause(&mut self, direction: Direction) -> Result<Optimize, ParseError> {
        let objective = self.formula("an objective such as SUM(price * amount)")?;
        let mut constraints = Vec::new();
        if self.keyword("CONSTRAINT") {
            loop {
                let expr = self.formula("a constraint such as SUM(amount) <= 100")?;
                let group_by = if self.keyword("GROUP") {
                    self.expect_keyword("BY", "BY after GROUP")?;
                    Some(self.ident("a column after GROUP BY")?)
                } else {
                    None
                };
                constraints.push(Constraint { expr, group_by });
                if !self.punct(',')? {
                    break;
                }
            }
        }
        self.expect_keyword(
            "WITH",
            "WITH variables = \"amount(product)\", var_type = \"...\"",
        )?;
        let attrs = self.attr_list()?;
        let solver = if self.keyword("USING") {
            Some(self.ident("a solver after USING, such as glpk")?)
        } else {
            None
        };
        self.expect_keyword("INTO", "INTO <table> for the solution")?;
        let into = self.ident("a table after INTO")?;
        Ok(Optimize {
            direction,
            objective,
            constraints,
            attrs,
            solver,
            into,
        })
    }

    /// One objective or constraint expression, read with formula lexing.
    fn formula(&mut self, what: &str) -> Result<Formula, ParseError> {
        self.in_formula = true;
        let f = self.formula_at(Prec::Or, 0, what);
        self.in_formula = false;
        f
    }

    /// An error unless one more level of nesting fits.
    fn nest(&self, depth: usize, at: usize) -> Result<usize, ParseError> {
        if depth >= MAX_NESTING {
            return Err(self.error_at(
                at,
                format!(
                    "expression nested too deeply: parentheses, lists, calls, NOT and '-' \
                     may nest at most {MAX_NESTING} levels"
                ),
            ));
        }
        Ok(depth + 1)
    }

    /// A formula binding at least as tight as `level`, inside `depth` nestings.
    fn formula_at(&mut self, level: Prec, depth: usize, what: &str) -> Result<Formula, ParseError> {
        self.skip_space();
        let at = self.pos;
        match level {
            Prec::Not if self.keyword("NOT") => {
                let inner = self.formula_at(Prec::Not, self.nest(depth, at)?, what)?;
                Ok(Formula::Not(Box::new(inner)))
            }
            Prec::Neg if self.punct('-')? => {
                let inner = self.formula_at(Prec::Neg, self.nest(depth, at)?, what)?;
                Ok(Formula::Neg(Box::new(inner)))
            }
            Prec::Not | Prec::Neg => self.formula_at(level.tighter(), depth, what),
            Prec::Atom => self.atom(depth, what),
            _ => {
                let first = self.formula_at(level.tighter(), depth, what)?;
                let mut rest = Vec::new();
                while let Some(op) = self.bin_op(level)? {
                    rest.push((op, self.formula_at(level.tighter(), depth, what)?));
                }
                Ok(if rest.is_empty() {
                    first
                } else {
                    Formula::Chain {
                        first: Box::new(first),
                        rest,
                    }
                })
            }
        }
    }

    /// Consumes a binary operator of `level` if one is next.
    fn bin_op(&mut self, level: Prec) -> Result<Option<BinOp>, ParseError> {
        let Some((tok, end)) = self.peek()? else {
            return Ok(None);
        };
        // Two-character operators are one token only when written together, as in SQL.
        let then = self.src[end..].chars().next();
        let (op, end) = match (level, tok) {
            (Prec::Or, Tok::Ident(w)) if w.eq_ignore_ascii_case("OR") => (BinOp::Or, end),
            (Prec::And, Tok::Ident(w)) if w.eq_ignore_ascii_case("AND") => (BinOp::And, end),
            (Prec::Compare, Tok::Punct(c)) => match (c, then) {
                ('=', _) => (BinOp::Eq, end),
                ('<', Some('=')) => (BinOp::Le, end + 1),
                ('<', Some('>')) => (BinOp::Ne, end + 1),
                ('<', _) => (BinOp::Lt, end),
                ('>', Some('=')) => (BinOp::Ge, end + 1),
                ('>', _) => (BinOp::Gt, end),
                ('!', Some('=')) => (BinOp::Ne, end + 1),
                _ => return Ok(None),
            },
            (Prec::Sum, Tok::Punct('+')) => (BinOp::Add, end),
            (Prec::Sum, Tok::Punct('-')) => (BinOp::Sub, end),
            (Prec::Product, Tok::Punct('*')) => (BinOp::Mul, end),
            (Prec::Product, Tok::Punct('/')) => (BinOp::Div, end),
            (Prec::Product, Tok::Punct('%')) => (BinOp::Mod, end),
            _ => return Ok(None),
        };
        self.pos = end;
        Ok(Some(op))
    }

    /// A literal, a column, a call, `(formula)` or `[list]`.
    fn atom(&mut self, depth: usize, what: &str) -> Result<Formula, ParseError> {
        self.skip_space();
        let at = self.pos;
        let tok = self.next()?;
        Ok(match tok {
            Some(Tok::Int(i)) => Formula::Int(i),
            Some(Tok::Float(x)) => Formula::Float(x),
            Some(Tok::Str(s)) => Formula::Str(s),
            Some(Tok::Quoted(c)) => Formula::Column(c),
            Some(Tok::Ident(name)) if !is_formula_keyword(&name) => {
                if !self.punct('(')? {
                    return Ok(Formula::Column(name));
                }
                let args = self.formula_list(')', self.nest(depth, at)?, what)?;
                Formula::Call { name, args }
            }
            Some(Tok::Punct('(')) => {
                let inner = self.formula_at(Prec::Or, self.nest(depth, at)?, what)?;
                if !self.punct(')')? {
                    return Err(self.expected("')'"));
                }
                inner
            }
            Some(Tok::Punct('[')) => {
                Formula::List(self.formula_list(']', self.nest(depth, at)?, what)?)
            }
            other => {
                return Err(self.error_at(
                    at,
                    format!("expected {what}, found {}", Self::describe(&other)),
                ));
            }
        })
    }

    /// `a, b, c` up to `close` (already past the opening bracket); may be empty.
    fn formula_list(
        &mut self,
        close: char,
        depth: usize,
        what: &str,
    ) -> Result<Vec<Formula>, ParseError> {
        let mut items = Vec::new();
        if self.punct(close)? {
            return Ok(items);
        }
        loop {
            items.push(self.formula_at(Prec::Or, depth, what)?);
            if self.punct(close)? {
                return Ok(items);
            }
            if !self.punct(',')? {
                return Err(self.expected(&format!("',' or '{close}'")));
            }
        }
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

/// Words that end or join formulas, so never a column in one (`` `group` `` is).
fn is_formula_keyword(s: &str) -> bool {
    is_clause_keyword(s)
        || ["CONSTRAINT", "GROUP", "BY", "AND", "OR", "NOT"]
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
        let e =
            parse_statement("SELECT * FROM t\nTO PREDICT USING m", Dialect::Sqlite).unwrap_err();
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
}
