//! Parsing: first the call as written (names, numbers, strings, lists, calls), then its
//! check against the function's signature (`check`), so every error can point at its
//! argument.

use super::{FeatureColumn, check::Checker, print::quoted};
use crate::extended::{
    MAX_NESTING, ParseError,
    lexer::{ExtParser, Tok},
};

/// An argument as written.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Call {
        name: String,
        args: Vec<Located>,
    },
    List(Vec<Located>),
    Int(i64),
    Float(f64),
    Str(String),
    /// A bare word: a column, or a word such as `none`, `COMMA`, `int` or `mean`.
    Word(String),
    /// `` `name` ``: always a column.
    Quoted(String),
}

#[derive(Debug, Clone)]
pub(super) struct Located {
    pub(super) arg: Arg,
    /// Byte offset of its first character in the statement.
    pub(super) at: usize,
}

const FUNCTIONS: [(&str, &str); 11] = [
    (
        "NUMERIC",
        "NUMERIC(<column>|DENSE(...)|SPARSE(...)[, SHAPE])",
    ),
    ("DENSE", "DENSE(<column>[, SHAPE, DELIMITER, DTYPE])"),
    (
        "SPARSE",
        "SPARSE(<column>[, SHAPE, DELIMITER, DTYPE, DELIMITER_KV, DTYPE_WEIGHT])",
    ),
    (
        "CATEGORY_ID",
        "CATEGORY_ID(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER])",
    ),
    (
        "SEQ_CATEGORY_ID",
        "SEQ_CATEGORY_ID(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER])",
    ),
    (
        "CATEGORY_HASH",
        "CATEGORY_HASH(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER])",
    ),
    (
        "WEIGHTED_CATEGORY",
        "WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(...), BUCKET_SIZE)|CATEGORY_HASH(SPARSE(...), BUCKET_SIZE))",
    ),
    (
        "INDICATOR",
        "INDICATOR(<column>|CATEGORY_ID(...)|CATEGORY_HASH(...)|WEIGHTED_CATEGORY(...)|CROSS(...)|BUCKET(...))",
    ),
    (
        "EMBEDDING",
        "EMBEDDING(<column>|CATEGORY_ID(...)|CATEGORY_HASH(...)|WEIGHTED_CATEGORY(...)|CROSS(...)|BUCKET(...), SIZE[, COMBINER, INITIALIZER])",
    ),
    (
        "CROSS",
        "CROSS([<column or feature column>, ...], HASH_BUCKET_SIZE)",
    ),
    ("BUCKET", "BUCKET(<column>|DENSE(...), BOUNDARIES)"),
];

pub(super) fn usage(function: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == function)
        .map_or("", |(_, u)| u)
}

pub(super) fn function_names() -> String {
    let names: Vec<&str> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
    let (last, rest) = names.split_last().unwrap_or((&"", &[]));
    format!("{} or {last}", rest.join(", "))
}

pub(super) fn describe_arg(a: &Arg) -> String {
    match a {
        Arg::Call { name, .. } => format!("{name}(...)"),
        Arg::List(_) => "a [list]".into(),
        Arg::Int(i) => i.to_string(),
        Arg::Float(x) => format!("{x}"),
        Arg::Str(s) => quoted(s),
        Arg::Word(w) => format!("'{w}'"),
        Arg::Quoted(q) => format!("`{q}`"),
    }
}

impl ExtParser<'_> {
    /// One item of a `COLUMN` list: a feature column call or a column name. Returns the
    /// item's text (the name, or the call printed canonically) and its value.
    pub(in crate::extended) fn column_item(
        &mut self,
        followers: &[&str],
    ) -> Result<(String, FeatureColumn), ParseError> {
        self.skip_space();
        let at = self.pos;
        if let Some((Tok::Ident(name), end)) = self.peek()? {
            self.pos = end;
            if self.punct('(')? {
                let args = self.call_args(1)?;
                let fc = Checker { p: self }.feature_column(&name, &args, at)?;
                return Ok((fc.to_string(), fc));
            }
            self.pos = at;
        }
        let name = self.column_name("a column name after COLUMN", followers)?;
        Ok((name.clone(), FeatureColumn::Field(name)))
    }

    /// An error unless one more level of calls and lists fits.
    fn feature_nest(&self, depth: usize, at: usize) -> Result<usize, ParseError> {
        if depth >= MAX_NESTING {
            return Err(self.error_at(
                at,
                format!(
                    "feature column nested too deeply: calls and lists may nest at most \
                     {MAX_NESTING} levels"
                ),
            ));
        }
        Ok(depth + 1)
    }

    /// The arguments of a call, after its `(`, through its `)`.
    fn call_args(&mut self, depth: usize) -> Result<Vec<Located>, ParseError> {
        self.arg_list(')', depth)
    }

    fn arg_list(&mut self, close: char, depth: usize) -> Result<Vec<Located>, ParseError> {
        let mut args = Vec::new();
        if self.punct(close)? {
            return Ok(args);
        }
        loop {
            args.push(self.arg(depth)?);
            if self.punct(close)? {
                return Ok(args);
            }
            if !self.punct(',')? {
                return Err(self.expected(&format!("',' or '{close}' in a feature column")));
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Located, ParseError> {
        self.skip_space();
        let at = self.pos;
        let arg = match self.next()? {
            Some(Tok::Ident(name)) => {
                if self.punct('(')? {
                    let depth = self.feature_nest(depth, at)?;
                    Arg::Call {
                        name,
                        args: self.call_args(depth)?,
                    }
                } else {
                    Arg::Word(name)
                }
            }
            Some(Tok::Quoted(q)) => Arg::Quoted(q),
            Some(Tok::Str(s)) => Arg::Str(s),
            Some(Tok::Int(i)) => Arg::Int(i),
            Some(Tok::Float(x)) => Arg::Float(x),
            Some(Tok::Punct('-')) => match self.next()? {
                // Literals are unsigned, so negating one cannot overflow.
                Some(Tok::Int(i)) => Arg::Int(-i),
                Some(Tok::Float(x)) => Arg::Float(-x),
                _ => return Err(self.error_at(at, "'-' must be followed by a number")),
            },
            Some(Tok::Punct('[')) => {
                let depth = self.feature_nest(depth, at)?;
                Arg::List(self.arg_list(']', depth)?)
            }
            other => {
                return Err(self.error_at(
                    at,
                    format!(
                        "expected a column, a number, a string, a [list] or a feature column \
                         such as CATEGORY_ID(...), found {}",
                        Self::describe(&other)
                    ),
                ));
            }
        };
        Ok(Located { arg, at })
    }
}
