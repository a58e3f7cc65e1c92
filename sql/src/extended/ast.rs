//! What an extended statement parses into, and the printing that parses back.

use std::fmt;

use super::{
    FeatureColumn,
    lexer::{is_formula_keyword, is_ident_start},
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
pub(super) enum Prec {
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
    pub(super) fn tighter(self) -> Prec {
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
    pub(super) fn prec(self) -> Prec {
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
