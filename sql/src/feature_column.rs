//! Feature column expressions in `COLUMN` (SQLFlow's `doc/language_guide.md`):
//!
//! ```text
//! <column>                                   derived from the data (see the engine)
//! NUMERIC(<column>|DENSE(...)|SPARSE(...)[, SHAPE])
//! DENSE(<column>[, SHAPE, DELIMITER, DTYPE])
//! SPARSE(<column>[, SHAPE, DELIMITER, DTYPE, DELIMITER_KV, DTYPE_WEIGHT])
//! CATEGORY_ID(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER])
//! SEQ_CATEGORY_ID(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER])
//! CATEGORY_HASH(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER])
//! WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(...), ...)|CATEGORY_HASH(SPARSE(...), ...)|SPARSE(...))
//! INDICATOR(<categorical>)
//! EMBEDDING(<categorical>, SIZE[, COMBINER[, INITIALIZER]])
//! CROSS([<key>, <key>, ...], HASH_BUCKET_SIZE)
//! BUCKET(<column>|DENSE(...)|NUMERIC(...), BOUNDARIES)
//! ```
//!
//! `<categorical>` is a column, `DENSE`/`SPARSE` (ids), `CATEGORY_ID`, `SEQ_CATEGORY_ID`,
//! `CATEGORY_HASH`, `WEIGHTED_CATEGORY`, `CROSS` or `BUCKET`; a `CROSS` key is a column,
//! `NUMERIC`, `DENSE`, `BUCKET`, `CATEGORY_ID`, `SEQ_CATEGORY_ID` or `CATEGORY_HASH`.
//! `SHAPE` is a number, a list of numbers or `none`; delimiters are strings (or `COMMA`,
//! as SQLFlow's older programs write it); `DTYPE` is `int`, `float` or `string`;
//! `COMBINER` is `sum` (the default), `mean` or `sqrtn`.
//!
//! This module only checks the forms: which column exists, what the data holds and what
//! the numbers mean is the engine's business. It is a child of `extended` so that it
//! reads with the same lexer and positions as the rest of the statement. Calls and lists
//! nest at most [`MAX_NESTING`] levels, like attribute values.

use std::fmt;

use super::{Expr, ExtParser, MAX_NESTING, ParseError, Tok, is_clause_keyword};

/// One item of a `COLUMN` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureColumn {
    /// A bare column: the engine derives its feature column from the data.
    Field(String),
    /// `NUMERIC(...)`: numbers as they are (`NUMERIC(c, 3)` is `NUMERIC(DENSE(c, 3))`).
    Numeric(Input),
    /// `DENSE(...)` alone: a fixed-length list of numbers.
    Dense(FieldDesc),
    /// `SPARSE(...)` alone: indices (or `key:value` pairs) of a vector.
    Sparse(FieldDesc),
    CategoryId(Category),
    SeqCategoryId(Category),
    CategoryHash(Category),
    WeightedCategory(Box<FeatureColumn>),
    Indicator(Box<FeatureColumn>),
    Embedding(Embedding),
    Cross(Cross),
    Bucket(Bucket),
}

/// Where a function's values come from: a column read as the data suggests, or a
/// column parsed as `DENSE(...)` or `SPARSE(...)` says.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Field(String),
    Dense(FieldDesc),
    Sparse(FieldDesc),
}

/// The arguments of `DENSE(...)` and `SPARSE(...)`; `None` where the statement leaves
/// an argument out (the engine infers it).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDesc {
    pub field: String,
    /// `None`: `none` or not given.
    pub shape: Option<Vec<u64>>,
    pub delimiter: Option<String>,
    pub dtype: Option<DType>,
    /// `SPARSE` only: the separator of `key:value` pairs.
    pub delimiter_kv: Option<String>,
    /// `SPARSE` only: the type of the values of `key:value` pairs (`float`).
    pub dtype_weight: Option<DType>,
}

impl FieldDesc {
    fn of(field: String) -> FieldDesc {
        FieldDesc {
            field,
            shape: None,
            delimiter: None,
            dtype: None,
            delimiter_kv: None,
            dtype_weight: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    Int,
    Float,
    String,
}

impl DType {
    fn from_name(s: &str) -> Option<DType> {
        match s.to_ascii_lowercase().as_str() {
            "int" | "int32" | "int64" => Some(DType::Int),
            "float" | "float32" | "float64" | "double" => Some(DType::Float),
            "string" => Some(DType::String),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::Int => "int",
            DType::Float => "float",
            DType::String => "string",
        }
    }
}

/// `CATEGORY_ID`, `SEQ_CATEGORY_ID` and `CATEGORY_HASH`: ids in `0..buckets`.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub input: Input,
    pub buckets: u64,
    /// The list separator of a column holding several ids (`"66,67,42"`).
    pub delimiter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combiner {
    Sum,
    Mean,
    Sqrtn,
}

impl Combiner {
    fn from_name(s: &str) -> Option<Combiner> {
        match s.to_ascii_lowercase().as_str() {
            "sum" => Some(Combiner::Sum),
            "mean" => Some(Combiner::Mean),
            "sqrtn" => Some(Combiner::Sqrtn),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Combiner::Sum => "sum",
            Combiner::Mean => "mean",
            Combiner::Sqrtn => "sqrtn",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// A categorical column (see the module's grammar).
    pub source: Box<FeatureColumn>,
    pub dimension: u64,
    /// `None`: not given (SQLFlow's default is `sum`).
    pub combiner: Option<Combiner>,
    pub initializer: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cross {
    /// At least two.
    pub keys: Vec<FeatureColumn>,
    pub buckets: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub input: Input,
    /// Strictly ascending, at least one.
    pub boundaries: Vec<f64>,
}

impl FeatureColumn {
    /// The function's name as SQL spells it (`None` for a bare column).
    pub fn function(&self) -> Option<&'static str> {
        Some(match self {
            FeatureColumn::Field(_) => return None,
            FeatureColumn::Numeric(_) => "NUMERIC",
            FeatureColumn::Dense(_) => "DENSE",
            FeatureColumn::Sparse(_) => "SPARSE",
            FeatureColumn::CategoryId(_) => "CATEGORY_ID",
            FeatureColumn::SeqCategoryId(_) => "SEQ_CATEGORY_ID",
            FeatureColumn::CategoryHash(_) => "CATEGORY_HASH",
            FeatureColumn::WeightedCategory(_) => "WEIGHTED_CATEGORY",
            FeatureColumn::Indicator(_) => "INDICATOR",
            FeatureColumn::Embedding(_) => "EMBEDDING",
            FeatureColumn::Cross(_) => "CROSS",
            FeatureColumn::Bucket(_) => "BUCKET",
        })
    }

    /// The columns of the query it reads, in order of appearance, without repeats.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut push = |f: &'a str| {
            if !out.contains(&f) {
                out.push(f);
            }
        };
        match self {
            FeatureColumn::Field(f) => push(f),
            FeatureColumn::Dense(d) | FeatureColumn::Sparse(d) => push(&d.field),
            FeatureColumn::Numeric(i) | FeatureColumn::Bucket(Bucket { input: i, .. }) => {
                push(i.field())
            }
            FeatureColumn::CategoryId(c)
            | FeatureColumn::SeqCategoryId(c)
            | FeatureColumn::CategoryHash(c) => push(c.input.field()),
            FeatureColumn::WeightedCategory(inner) | FeatureColumn::Indicator(inner) => {
                inner.collect_fields(out)
            }
            FeatureColumn::Embedding(e) => e.source.collect_fields(out),
            FeatureColumn::Cross(c) => c.keys.iter().for_each(|k| k.collect_fields(out)),
        }
    }
}

impl Input {
    pub fn field(&self) -> &str {
        match self {
            Input::Field(f) => f,
            Input::Dense(d) | Input::Sparse(d) => &d.field,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Printing: canonical text that parses back to the same value (SHOW TRAIN prints it).

/// A column name as it can be written back: bare when the lexer reads it whole and it
/// is no keyword, else quoted.
pub fn name_text(name: &str) -> String {
    let plain = name.starts_with(super::is_ident_start)
        && name.chars().all(super::is_ident_continue)
        && !name.ends_with(['.', '-', ':', '/'])
        && !is_clause_keyword(name);
    if plain {
        name.to_string()
    } else if name.contains('`') {
        Expr::Str(name.to_string()).to_string()
    } else {
        format!("`{name}`")
    }
}

fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:?}")
    }
}

fn quoted(s: &str) -> String {
    Expr::Str(s.to_string()).to_string()
}

impl fmt::Display for FieldDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut args = vec![name_text(&self.field)];
        // Positional: everything up to the last given argument is printed.
        let given = [
            self.shape.is_some(),
            self.delimiter.is_some(),
            self.dtype.is_some(),
            self.delimiter_kv.is_some(),
            self.dtype_weight.is_some(),
        ];
        let count = given.iter().rposition(|g| *g).map_or(0, |i| i + 1);
        if count > 0 {
            args.push(match &self.shape {
                None => "none".to_string(),
                Some(s) if s.len() == 1 => s[0].to_string(),
                Some(s) => format!(
                    "[{}]",
                    s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        if count > 1 {
            args.push(quoted(self.delimiter.as_deref().unwrap_or(",")));
        }
        if count > 2 {
            args.push(self.dtype.unwrap_or(DType::Float).name().to_string());
        }
        if count > 3 {
            args.push(quoted(self.delimiter_kv.as_deref().unwrap_or(":")));
        }
        if count > 4 {
            args.push(self.dtype_weight.unwrap_or(DType::Float).name().to_string());
        }
        f.write_str(&args.join(", "))
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Field(name) => f.write_str(&name_text(name)),
            Input::Dense(d) => write!(f, "DENSE({d})"),
            Input::Sparse(d) => write!(f, "SPARSE({d})"),
        }
    }
}

impl fmt::Display for FeatureColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let category = |f: &mut fmt::Formatter<'_>, name: &str, c: &Category| {
            write!(f, "{name}({}, {}", c.input, c.buckets)?;
            if let Some(d) = &c.delimiter {
                write!(f, ", {}", quoted(d))?;
            }
            f.write_str(")")
        };
        match self {
            FeatureColumn::Field(name) => f.write_str(&name_text(name)),
            FeatureColumn::Numeric(i) => write!(f, "NUMERIC({i})"),
            FeatureColumn::Dense(d) => write!(f, "DENSE({d})"),
            FeatureColumn::Sparse(d) => write!(f, "SPARSE({d})"),
            FeatureColumn::CategoryId(c) => category(f, "CATEGORY_ID", c),
            FeatureColumn::SeqCategoryId(c) => category(f, "SEQ_CATEGORY_ID", c),
            FeatureColumn::CategoryHash(c) => category(f, "CATEGORY_HASH", c),
            FeatureColumn::WeightedCategory(inner) => write!(f, "WEIGHTED_CATEGORY({inner})"),
            FeatureColumn::Indicator(inner) => write!(f, "INDICATOR({inner})"),
            FeatureColumn::Embedding(e) => {
                write!(f, "EMBEDDING({}, {}", e.source, e.dimension)?;
                if let Some(c) = e.combiner {
                    write!(f, ", {}", c.name())?;
                }
                if let Some(i) = &e.initializer {
                    write!(f, ", {}", quoted(i))?;
                }
                f.write_str(")")
            }
            FeatureColumn::Cross(c) => {
                let keys: Vec<String> = c.keys.iter().map(ToString::to_string).collect();
                write!(f, "CROSS([{}], {})", keys.join(", "), c.buckets)
            }
            FeatureColumn::Bucket(b) => {
                let bounds: Vec<String> = b.boundaries.iter().map(|x| number_text(*x)).collect();
                write!(f, "BUCKET({}, [{}])", b.input, bounds.join(", "))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing: first the call as written (names, numbers, strings, lists, calls), then its
// check against the function's signature, so every error can point at its argument.

/// An argument as written.
#[derive(Debug, Clone)]
enum Arg {
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
struct Located {
    arg: Arg,
    /// Byte offset of its first character in the statement.
    at: usize,
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

fn usage(function: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == function)
        .map_or("", |(_, u)| u)
}

fn function_names() -> String {
    let names: Vec<&str> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
    let (last, rest) = names.split_last().unwrap_or((&"", &[]));
    format!("{} or {last}", rest.join(", "))
}

fn describe_arg(a: &Arg) -> String {
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
    pub(super) fn column_item(
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

/// Checks calls against their signatures, with the parser for positions.
struct Checker<'p, 'a> {
    p: &'p ExtParser<'a>,
}

impl Checker<'_, '_> {
    fn err(&self, at: usize, message: impl Into<String>) -> ParseError {
        self.p.error_at(at, message)
    }

    fn arity(
        &self,
        function: &str,
        args: &[Located],
        range: std::ops::RangeInclusive<usize>,
        at: usize,
    ) -> Result<(), ParseError> {
        if range.contains(&args.len()) {
            return Ok(());
        }
        let count = if range.start() == range.end() {
            format!("{}", range.start())
        } else {
            format!("{} to {}", range.start(), range.end())
        };
        let plural = if *range.end() == 1 { "" } else { "s" };
        Err(self.err(
            at,
            format!(
                "{function} takes {count} argument{plural}, as {}; found {}",
                usage(function),
                args.len()
            ),
        ))
    }

    /// A feature column called `name` with `args`, written at `at`.
    fn feature_column(
        &self,
        name: &str,
        args: &[Located],
        at: usize,
    ) -> Result<FeatureColumn, ParseError> {
        let upper = name.to_ascii_uppercase();
        let f = upper.as_str();
        Ok(match f {
            "NUMERIC" => {
                self.arity(f, args, 1..=2, at)?;
                let input = self.input(f, &args[0])?;
                match (input, args.get(1)) {
                    (input, None) => FeatureColumn::Numeric(input),
                    (Input::Field(field), Some(shape)) => {
                        let mut d = FieldDesc::of(field);
                        d.shape = self.shape(f, shape)?;
                        FeatureColumn::Numeric(Input::Dense(d))
                    }
                    (_, Some(shape)) => {
                        return Err(self.err(
                            shape.at,
                            "NUMERIC(DENSE(...), SHAPE): give the shape inside DENSE or SPARSE",
                        ));
                    }
                }
            }
            "DENSE" => FeatureColumn::Dense(self.field_desc(f, args, at)?),
            "SPARSE" => FeatureColumn::Sparse(self.field_desc(f, args, at)?),
            "CATEGORY_ID" | "SEQ_CATEGORY_ID" | "CATEGORY_HASH" => {
                self.arity(f, args, 2..=3, at)?;
                let c = Category {
                    input: self.input(f, &args[0])?,
                    buckets: self.positive(f, "bucket size", &args[1])?,
                    delimiter: args.get(2).map(|d| self.delimiter(f, d)).transpose()?,
                };
                match f {
                    "CATEGORY_ID" => FeatureColumn::CategoryId(c),
                    "SEQ_CATEGORY_ID" => FeatureColumn::SeqCategoryId(c),
                    _ => FeatureColumn::CategoryHash(c),
                }
            }
            "WEIGHTED_CATEGORY" => {
                self.arity(f, args, 1..=1, at)?;
                let inner = self.categorical(f, &args[0])?;
                let weighted_form = match &inner {
                    FeatureColumn::CategoryId(c)
                    | FeatureColumn::SeqCategoryId(c)
                    | FeatureColumn::CategoryHash(c) => matches!(c.input, Input::Sparse(_)),
                    FeatureColumn::Sparse(_) => true,
                    _ => false,
                };
                if !weighted_form {
                    return Err(self.err(
                        args[0].at,
                        format!(
                            "WEIGHTED_CATEGORY needs ids with weights, as {}: the weights \
                             are the values of SPARSE's key:value pairs; found {inner}",
                            usage(f)
                        ),
                    ));
                }
                FeatureColumn::WeightedCategory(Box::new(inner))
            }
            "INDICATOR" => {
                self.arity(f, args, 1..=1, at)?;
                FeatureColumn::Indicator(Box::new(self.categorical(f, &args[0])?))
            }
            "EMBEDDING" => {
                self.arity(f, args, 2..=4, at)?;
                let combiner = match args.get(2) {
                    None => None,
                    Some(a) => Some(self.text(&a.arg).and_then(Combiner::from_name).ok_or_else(
                        || {
                            self.err(
                                a.at,
                                format!(
                                    "EMBEDDING's combiner is sum, mean or sqrtn; found {}",
                                    describe_arg(&a.arg)
                                ),
                            )
                        },
                    )?),
                };
                let initializer = match args.get(3) {
                    None => None,
                    Some(a) => Some(self.text(&a.arg).map(str::to_string).ok_or_else(|| {
                        self.err(
                            a.at,
                            format!(
                                "EMBEDDING's initializer is a name such as \
                                 truncated_normal_initializer; found {}",
                                describe_arg(&a.arg)
                            ),
                        )
                    })?),
                };
                FeatureColumn::Embedding(Embedding {
                    source: Box::new(self.categorical(f, &args[0])?),
                    dimension: self.positive(f, "size", &args[1])?,
                    combiner,
                    initializer,
                })
            }
            "CROSS" => {
                self.arity(f, args, 2..=2, at)?;
                let Arg::List(items) = &args[0].arg else {
                    return Err(self.err(
                        args[0].at,
                        format!(
                            "CROSS takes a [list] of the columns to cross, as {}; found {}",
                            usage(f),
                            describe_arg(&args[0].arg)
                        ),
                    ));
                };
                if items.len() < 2 {
                    return Err(self.err(
                        args[0].at,
                        format!("CROSS needs at least two keys to cross, as {}", usage(f)),
                    ));
                }
                let keys = items
                    .iter()
                    .map(|k| self.cross_key(k))
                    .collect::<Result<_, _>>()?;
                FeatureColumn::Cross(Cross {
                    keys,
                    buckets: self.positive(f, "hash bucket size", &args[1])?,
                })
            }
            "BUCKET" => {
                self.arity(f, args, 2..=2, at)?;
                let input = self.input(f, &args[0])?;
                if let Input::Sparse(_) = input {
                    return Err(self.err(
                        args[0].at,
                        format!("BUCKET takes numbers, as {}; found SPARSE(...)", usage(f)),
                    ));
                }
                FeatureColumn::Bucket(Bucket {
                    input,
                    boundaries: self.boundaries(&args[1])?,
                })
            }
            _ => {
                return Err(self.err(
                    at,
                    format!(
                        "unknown feature column function {name}(...); expected {}",
                        function_names()
                    ),
                ));
            }
        })
    }

    /// A bare word or string, for names of things such as combiners and types.
    fn text<'x>(&self, a: &'x Arg) -> Option<&'x str> {
        match a {
            Arg::Word(w) | Arg::Str(w) => Some(w),
            _ => None,
        }
    }

    fn column(&self, function: &str, a: &Located) -> Result<String, ParseError> {
        match &a.arg {
            Arg::Word(w) | Arg::Quoted(w) | Arg::Str(w) => Ok(w.clone()),
            other => Err(self.err(
                a.at,
                format!(
                    "{function} expects a column name here, as {}; found {}",
                    usage(function),
                    describe_arg(other)
                ),
            )),
        }
    }

    /// A column, `DENSE(...)`, `SPARSE(...)` or `NUMERIC(...)` around one of those.
    fn input(&self, function: &str, a: &Located) -> Result<Input, ParseError> {
        if let Arg::Call { name, args } = &a.arg {
            let inner = self.feature_column(name, args, a.at)?;
            return match inner {
                FeatureColumn::Dense(d) => Ok(Input::Dense(d)),
                FeatureColumn::Sparse(d) => Ok(Input::Sparse(d)),
                FeatureColumn::Numeric(i) => Ok(i),
                other => Err(self.err(
                    a.at,
                    format!(
                        "{function} reads a column, DENSE(...) or SPARSE(...), as {}; found {other}",
                        usage(function)
                    ),
                )),
            };
        }
        Ok(Input::Field(self.column(function, a)?))
    }

    /// The source of INDICATOR, EMBEDDING or WEIGHTED_CATEGORY: something with ids.
    fn categorical(&self, function: &str, a: &Located) -> Result<FeatureColumn, ParseError> {
        let Arg::Call { name, args } = &a.arg else {
            return Ok(FeatureColumn::Field(self.column(function, a)?));
        };
        let inner = self.feature_column(name, args, a.at)?;
        match inner {
            FeatureColumn::Dense(_)
            | FeatureColumn::Sparse(_)
            | FeatureColumn::CategoryId(_)
            | FeatureColumn::SeqCategoryId(_)
            | FeatureColumn::CategoryHash(_)
            | FeatureColumn::WeightedCategory(_)
            | FeatureColumn::Cross(_)
            | FeatureColumn::Bucket(_) => Ok(inner),
            other => Err(self.err(
                a.at,
                format!(
                    "{function} needs a categorical column, as {}; {} is not one",
                    usage(function),
                    other.function().unwrap_or("a column")
                ),
            )),
        }
    }

    fn cross_key(&self, a: &Located) -> Result<FeatureColumn, ParseError> {
        let Arg::Call { name, args } = &a.arg else {
            return Ok(FeatureColumn::Field(self.column("CROSS", a)?));
        };
        let key = self.feature_column(name, args, a.at)?;
        match key {
            FeatureColumn::Numeric(_)
            | FeatureColumn::Dense(_)
            | FeatureColumn::CategoryId(_)
            | FeatureColumn::SeqCategoryId(_)
            | FeatureColumn::CategoryHash(_)
            | FeatureColumn::Bucket(_) => Ok(key),
            other => Err(self.err(
                a.at,
                format!(
                    "CROSS keys are columns, NUMERIC, DENSE, BUCKET, CATEGORY_ID, \
                     SEQ_CATEGORY_ID or CATEGORY_HASH; {} cannot be crossed",
                    other.function().unwrap_or("this")
                ),
            )),
        }
    }

    fn positive(&self, function: &str, what: &str, a: &Located) -> Result<u64, ParseError> {
        match a.arg {
            Arg::Int(i) if i > 0 => Ok(i.unsigned_abs()),
            ref other => Err(self.err(
                a.at,
                format!(
                    "{function}'s {what} must be a positive whole number, as {}; found {}",
                    usage(function),
                    describe_arg(other)
                ),
            )),
        }
    }

    fn shape(&self, function: &str, a: &Located) -> Result<Option<Vec<u64>>, ParseError> {
        let bad = |what: &Arg| {
            self.err(
                a.at,
                format!(
                    "{function}'s shape is a positive number, a [list] of them or none; found {}",
                    describe_arg(what)
                ),
            )
        };
        match &a.arg {
            Arg::Int(i) if *i > 0 => Ok(Some(vec![i.unsigned_abs()])),
            Arg::Word(w) if w.eq_ignore_ascii_case("none") => Ok(None),
            Arg::List(items) if !items.is_empty() => items
                .iter()
                .map(|x| match x.arg {
                    Arg::Int(i) if i > 0 => Ok(i.unsigned_abs()),
                    ref other => Err(bad(other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            other => Err(bad(other)),
        }
    }

    fn delimiter(&self, function: &str, a: &Located) -> Result<String, ParseError> {
        match &a.arg {
            Arg::Str(s) if !s.is_empty() => Ok(s.clone()),
            // SQLFlow's older programs name the comma.
            Arg::Word(w) if w.eq_ignore_ascii_case("COMMA") => Ok(",".into()),
            other => Err(self.err(
                a.at,
                format!(
                    "{function}'s delimiter is a non-empty string such as \",\" (or COMMA); found {}",
                    describe_arg(other)
                ),
            )),
        }
    }

    fn dtype(&self, function: &str, a: &Located) -> Result<DType, ParseError> {
        self.text(&a.arg).and_then(DType::from_name).ok_or_else(|| {
            self.err(
                a.at,
                format!(
                    "{function}'s data type is int, float or string; found {}",
                    describe_arg(&a.arg)
                ),
            )
        })
    }

    fn field_desc(
        &self,
        function: &str,
        args: &[Located],
        at: usize,
    ) -> Result<FieldDesc, ParseError> {
        let max = if function == "SPARSE" { 6 } else { 4 };
        self.arity(function, args, 1..=max, at)?;
        let mut d = FieldDesc::of(self.column(function, &args[0])?);
        if let Some(a) = args.get(1) {
            d.shape = self.shape(function, a)?;
        }
        if let Some(a) = args.get(2) {
            d.delimiter = Some(self.delimiter(function, a)?);
        }
        if let Some(a) = args.get(3) {
            d.dtype = Some(self.dtype(function, a)?);
        }
        if let Some(a) = args.get(4) {
            d.delimiter_kv = Some(self.delimiter(function, a)?);
            if d.dtype != Some(DType::Int) {
                return Err(self.err(
                    args[3].at,
                    "SPARSE with key:value pairs needs int keys: DTYPE must be int when \
                     DELIMITER_KV is given",
                ));
            }
        }
        if let Some(a) = args.get(5) {
            let t = self.dtype(function, a)?;
            if t != DType::Float {
                return Err(self.err(a.at, "SPARSE's weights (DTYPE_WEIGHT) are float"));
            }
            d.dtype_weight = Some(t);
        }
        Ok(d)
    }

    fn boundaries(&self, a: &Located) -> Result<Vec<f64>, ParseError> {
        let Arg::List(items) = &a.arg else {
            return Err(self.err(
                a.at,
                format!(
                    "BUCKET's boundaries are a [list] of numbers such as [0, 10, 100]; found {}",
                    describe_arg(&a.arg)
                ),
            ));
        };
        if items.is_empty() {
            return Err(self.err(a.at, "BUCKET needs at least one boundary"));
        }
        let mut out: Vec<f64> = Vec::with_capacity(items.len());
        for x in items {
            let v = match x.arg {
                Arg::Int(i) => i as f64,
                Arg::Float(f) if f.is_finite() => f,
                ref other => {
                    return Err(self.err(
                        x.at,
                        format!(
                            "BUCKET's boundaries are numbers; found {}",
                            describe_arg(other)
                        ),
                    ));
                }
            };
            if let Some(&prev) = out.last()
                && v <= prev
            {
                return Err(self.err(
                    x.at,
                    format!(
                        "BUCKET's boundaries must be strictly ascending; {} follows {}",
                        number_text(v),
                        number_text(prev)
                    ),
                ));
            }
            out.push(v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{
        Dialect,
        extended::{ExtKind, Extended, Parsed, parse_statement},
    };

    const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::MySql, Dialect::Postgres];

    /// The COLUMN clauses of a TO TRAIN statement, in every dialect (which must agree).
    fn clauses(src: &str) -> Vec<(Vec<String>, Vec<FeatureColumn>, Option<String>)> {
        let mut all = DIALECTS.map(|d| match parse_statement(src, d) {
            Ok(Parsed::Extended(Extended {
                kind: ExtKind::Train(t),
                ..
            })) => t
                .columns
                .into_iter()
                .map(|c| (c.columns, c.features, c.for_input))
                .collect::<Vec<_>>(),
            other => panic!("{d:?}: {other:?} for {src}"),
        });
        assert!(all.iter().all(|c| *c == all[0]), "{src}");
        std::mem::take(&mut all[0])
    }

    /// The one feature column of `COLUMN <fc>`.
    fn one(fc: &str) -> FeatureColumn {
        let src = format!("SELECT * FROM t TO TRAIN DNNClassifier COLUMN {fc} LABEL c INTO m");
        let mut c = clauses(&src);
        assert_eq!(c.len(), 1, "{src}");
        let (texts, mut features, _) = c.remove(0);
        assert_eq!(features.len(), 1, "{src}");
        let f = features.remove(0);
        assert_eq!(
            texts,
            [f.to_string()],
            "the item's text is its canonical form"
        );
        f
    }

    fn err(fc: &str) -> ParseError {
        let src = format!("SELECT * FROM t TO TRAIN DNNClassifier COLUMN {fc} LABEL c INTO m");
        let errs = DIALECTS.map(|d| parse_statement(&src, d).expect_err(&src));
        assert!(errs.iter().all(|e| *e == errs[0]), "{errs:?}");
        errs[0].clone()
    }

    fn field(n: &str) -> FeatureColumn {
        FeatureColumn::Field(n.into())
    }

    fn desc(n: &str) -> FieldDesc {
        FieldDesc::of(n.into())
    }

    fn cat(input: Input, buckets: u64) -> Category {
        Category {
            input,
            buckets,
            delimiter: None,
        }
    }

    #[test]
    fn every_function_in_every_argument_form() {
        let dense4 = FieldDesc {
            shape: Some(vec![4]),
            ..desc("c")
        };
        let cases: Vec<(&str, FeatureColumn)> = vec![
            ("sepal_length", field("sepal_length")),
            (
                "NUMERIC(x)",
                FeatureColumn::Numeric(Input::Field("x".into())),
            ),
            (
                "numeric(x, 3)",
                FeatureColumn::Numeric(Input::Dense(FieldDesc {
                    shape: Some(vec![3]),
                    ..desc("x")
                })),
            ),
            (
                "NUMERIC(DENSE(c, 4))",
                FeatureColumn::Numeric(Input::Dense(dense4.clone())),
            ),
            (
                "NUMERIC(SPARSE(c, 10))",
                FeatureColumn::Numeric(Input::Sparse(FieldDesc {
                    shape: Some(vec![10]),
                    ..desc("c")
                })),
            ),
            ("DENSE(c)", FeatureColumn::Dense(desc("c"))),
            ("DENSE(c, 4)", FeatureColumn::Dense(dense4.clone())),
            ("DENSE(c, [4])", FeatureColumn::Dense(dense4.clone())),
            (
                "DENSE(c, [2, 3], \";\", float)",
                FeatureColumn::Dense(FieldDesc {
                    shape: Some(vec![2, 3]),
                    delimiter: Some(";".into()),
                    dtype: Some(DType::Float),
                    ..desc("c")
                }),
            ),
            (
                "DENSE(dense, none, comma)",
                FeatureColumn::Dense(FieldDesc {
                    delimiter: Some(",".into()),
                    ..desc("dense")
                }),
            ),
            (
                "DENSE(item, 1, comma, int)",
                FeatureColumn::Dense(FieldDesc {
                    shape: Some(vec![1]),
                    delimiter: Some(",".into()),
                    dtype: Some(DType::Int),
                    ..desc("item")
                }),
            ),
            ("SPARSE(c1)", FeatureColumn::Sparse(desc("c1"))),
            (
                "SPARSE(deep_id, 15033, COMMA, int)",
                FeatureColumn::Sparse(FieldDesc {
                    shape: Some(vec![15033]),
                    delimiter: Some(",".into()),
                    dtype: Some(DType::Int),
                    ..desc("deep_id")
                }),
            ),
            (
                "SPARSE(feature, 10, \",\", \"int\", \":\", \"float\")",
                FeatureColumn::Sparse(FieldDesc {
                    shape: Some(vec![10]),
                    delimiter: Some(",".into()),
                    dtype: Some(DType::Int),
                    delimiter_kv: Some(":".into()),
                    dtype_weight: Some(DType::Float),
                    ..desc("feature")
                }),
            ),
            (
                "CATEGORY_ID(title, 100)",
                FeatureColumn::CategoryId(cat(Input::Field("title".into()), 100)),
            ),
            (
                "CATEGORY_ID(deep_id, 15033, COMMA)",
                FeatureColumn::CategoryId(Category {
                    delimiter: Some(",".into()),
                    ..cat(Input::Field("deep_id".into()), 15033)
                }),
            ),
            (
                "CATEGORY_ID(DENSE(c, 4), 50)",
                FeatureColumn::CategoryId(cat(Input::Dense(dense4.clone()), 50)),
            ),
            (
                "SEQ_CATEGORY_ID(news_title, 1600, COMMA)",
                FeatureColumn::SeqCategoryId(Category {
                    delimiter: Some(",".into()),
                    ..cat(Input::Field("news_title".into()), 1600)
                }),
            ),
            (
                "CATEGORY_HASH(customerid, 10)",
                FeatureColumn::CategoryHash(cat(Input::Field("customerid".into()), 10)),
            ),
            (
                "INDICATOR(gender)",
                FeatureColumn::Indicator(Box::new(field("gender"))),
            ),
            (
                "INDICATOR(CATEGORY_ID(gender, 2))",
                FeatureColumn::Indicator(Box::new(FeatureColumn::CategoryId(cat(
                    Input::Field("gender".into()),
                    2,
                )))),
            ),
            (
                "EMBEDDING(c3, 32, sum)",
                FeatureColumn::Embedding(Embedding {
                    source: Box::new(field("c3")),
                    dimension: 32,
                    combiner: Some(Combiner::Sum),
                    initializer: None,
                }),
            ),
            (
                "EMBEDDING(CATEGORY_ID(f9, 25), 2, \"mean\", \"truncated_normal_initializer\")",
                FeatureColumn::Embedding(Embedding {
                    source: Box::new(FeatureColumn::CategoryId(cat(
                        Input::Field("f9".into()),
                        25,
                    ))),
                    dimension: 2,
                    combiner: Some(Combiner::Mean),
                    initializer: Some("truncated_normal_initializer".into()),
                }),
            ),
            (
                "EMBEDDING(SPARSE(c5, 64, COMMA), 32)",
                FeatureColumn::Embedding(Embedding {
                    source: Box::new(FeatureColumn::Sparse(FieldDesc {
                        shape: Some(vec![64]),
                        delimiter: Some(",".into()),
                        ..desc("c5")
                    })),
                    dimension: 32,
                    combiner: None,
                    initializer: None,
                }),
            ),
            (
                "EMBEDDING(CROSS([petal_width, petal_length], 10), 128, 'sqrtn')",
                FeatureColumn::Embedding(Embedding {
                    source: Box::new(FeatureColumn::Cross(Cross {
                        keys: vec![field("petal_width"), field("petal_length")],
                        buckets: 10,
                    })),
                    dimension: 128,
                    combiner: Some(Combiner::Sqrtn),
                    initializer: None,
                }),
            ),
            (
                "CROSS([a, BUCKET(b, [1, 2]), CATEGORY_HASH(c, 5), NUMERIC(d)], 1000)",
                FeatureColumn::Cross(Cross {
                    keys: vec![
                        field("a"),
                        FeatureColumn::Bucket(Bucket {
                            input: Input::Field("b".into()),
                            boundaries: vec![1.0, 2.0],
                        }),
                        FeatureColumn::CategoryHash(cat(Input::Field("c".into()), 5)),
                        FeatureColumn::Numeric(Input::Field("d".into())),
                    ],
                    buckets: 1000,
                }),
            ),
            (
                "BUCKET(petal_length, [0, 1, 2.5, 1e3])",
                FeatureColumn::Bucket(Bucket {
                    input: Input::Field("petal_length".into()),
                    boundaries: vec![0.0, 1.0, 2.5, 1000.0],
                }),
            ),
            (
                "BUCKET(DENSE(c, 4), [-1.5, 0])",
                FeatureColumn::Bucket(Bucket {
                    input: Input::Dense(dense4.clone()),
                    boundaries: vec![-1.5, 0.0],
                }),
            ),
            (
                "WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(feature, 10, \",\", \"int\", \":\", \"float\"), 10))",
                FeatureColumn::WeightedCategory(Box::new(FeatureColumn::CategoryHash(cat(
                    Input::Sparse(FieldDesc {
                        shape: Some(vec![10]),
                        delimiter: Some(",".into()),
                        dtype: Some(DType::Int),
                        delimiter_kv: Some(":".into()),
                        dtype_weight: Some(DType::Float),
                        ..desc("feature")
                    }),
                    10,
                )))),
            ),
        ];
        for (src, want) in cases {
            let got = one(src);
            assert_eq!(got, want, "{src}");
            // The canonical text means the same.
            assert_eq!(one(&got.to_string()), want, "{src} printed as {got}");
        }
    }

    #[test]
    fn sqlflow_test_programs_parse_with_groups() {
        let c = clauses(
            "SELECT * FROM t TO TRAIN DNNLinearCombinedClassifier\n\
             WITH model.n_classes = 3\n\
             COLUMN EMBEDDING(CATEGORY_ID(f9, 25), 2, \"sum\") for dnn_feature_columns\n\
             COLUMN INDICATOR(CATEGORY_ID(f10, 712)), f1 for linear_feature_columns\n\
             LABEL class INTO m",
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].2.as_deref(), Some("dnn_feature_columns"));
        assert_eq!(
            c[0].0,
            ["EMBEDDING(CATEGORY_ID(f9, 25), 2, sum)"],
            "canonical text"
        );
        assert_eq!(c[1].2.as_deref(), Some("linear_feature_columns"));
        assert_eq!(c[1].0, ["INDICATOR(CATEGORY_ID(f10, 712))", "f1"]);
        assert_eq!(c[1].1[1], field("f1"));
        // SQLFlow's ALPS test: calls, lists of them, keywords for delimiters and types.
        let c = clauses(
            "SELECT * FROM t TO TRAIN DNNClassifier WITH model.n_classes = 2\n\
             COLUMN SPARSE(deep_id,15033,COMMA,int),\n\
                    EMBEDDING(CATEGORY_ID(deep_id,15033,COMMA),512,mean),\n\
                    /* comments */ EMBEDDING ( CATEGORY_ID ( space_stat , 418 , COMMA ) , 64 , mean )\n\
             LABEL l INTO m",
        );
        assert_eq!(c[0].1.len(), 3);
        assert_eq!(
            c[0].1[0].fields(),
            ["deep_id"],
            "the column each item reads"
        );
        let FeatureColumn::Embedding(e) = &c[0].1[2] else {
            panic!("{:?}", c[0].1[2])
        };
        assert_eq!((e.dimension, e.combiner), (64, Some(Combiner::Mean)));
        // Keywords and odd names are columns inside calls and come back quoted.
        let f = one("CROSS([label, `a b`, \"x`y\", for], 7)");
        assert_eq!(f.fields(), ["label", "a b", "x`y", "for"]);
        assert_eq!(f.to_string(), "CROSS([`label`, `a b`, \"x`y\", `for`], 7)");
        assert_eq!(one(&f.to_string()), f);
        // A quoted name followed by parentheses is a name, not a call.
        let e = err("`EMBEDDING`(x, 2)");
        assert!(e.message.contains("found '('"), "{e}");
    }

    #[test]
    fn errors_name_the_function_and_what_it_expects() {
        let prefix = "SELECT * FROM t TO TRAIN DNNClassifier COLUMN ".len();
        for (fc, wants, column) in [
            (
                "NUMERICAL(a)",
                "unknown feature column function NUMERICAL(...); expected NUMERIC, DENSE",
                0,
            ),
            (
                "CATEGORY_ID(a)",
                "CATEGORY_ID takes 2 to 3 arguments, as CATEGORY_ID(<column>|DENSE(...)|SPARSE(...), BUCKET_SIZE[, DELIMITER]); found 1",
                0,
            ),
            (
                "CATEGORY_ID(a, 0)",
                "CATEGORY_ID's bucket size must be a positive whole number",
                15,
            ),
            ("CATEGORY_ID(a, -3)", "found -3", 15),
            ("CATEGORY_ID(a, 2.5)", "found 2.5", 15),
            ("CATEGORY_ID(a, x)", "found 'x'", 15),
            (
                "CATEGORY_ID(EMBEDDING(a, 2), 3)",
                "CATEGORY_ID reads a column, DENSE(...) or SPARSE(...)",
                12,
            ),
            (
                "EMBEDDING(a, 8, max)",
                "EMBEDDING's combiner is sum, mean or sqrtn; found 'max'",
                16,
            ),
            (
                "EMBEDDING(NUMERIC(a), 8)",
                "EMBEDDING needs a categorical column",
                10,
            ),
            ("EMBEDDING(INDICATOR(a), 8)", "INDICATOR is not one", 10),
            ("EMBEDDING(a)", "EMBEDDING takes 2 to 4 arguments", 0),
            ("INDICATOR(a, b)", "INDICATOR takes 1 argument", 0),
            (
                "INDICATOR(EMBEDDING(a, 2))",
                "INDICATOR needs a categorical column",
                10,
            ),
            (
                "WEIGHTED_CATEGORY(a)",
                "WEIGHTED_CATEGORY needs ids with weights",
                18,
            ),
            (
                "WEIGHTED_CATEGORY(CATEGORY_ID(a, 3))",
                "WEIGHTED_CATEGORY needs ids with weights",
                18,
            ),
            (
                "CROSS(a, 10)",
                "CROSS takes a [list] of the columns to cross",
                6,
            ),
            ("CROSS([a], 10)", "CROSS needs at least two keys", 6),
            (
                "CROSS([a, INDICATOR(b)], 10)",
                "INDICATOR cannot be crossed",
                10,
            ),
            ("CROSS([a, b])", "CROSS takes 2 arguments", 0),
            (
                "BUCKET(a, [1, 1])",
                "BUCKET's boundaries must be strictly ascending; 1 follows 1",
                14,
            ),
            ("BUCKET(a, [2, 1.5])", "1.5 follows 2", 14),
            ("BUCKET(a, [])", "BUCKET needs at least one boundary", 10),
            (
                "BUCKET(a, 3)",
                "BUCKET's boundaries are a [list] of numbers",
                10,
            ),
            (
                "BUCKET(a, [x])",
                "BUCKET's boundaries are numbers; found 'x'",
                11,
            ),
            ("BUCKET(SPARSE(a, 3), [1])", "BUCKET takes numbers", 7),
            (
                "DENSE(a, 0)",
                "DENSE's shape is a positive number, a [list] of them or none; found 0",
                9,
            ),
            ("DENSE(a, [2, x])", "found 'x'", 9),
            (
                "DENSE(a, 3, \"\")",
                "DENSE's delimiter is a non-empty string",
                12,
            ),
            ("DENSE(a, 3, semicolon)", "found 'semicolon'", 12),
            (
                "DENSE(a, 3, \",\", bool)",
                "DENSE's data type is int, float or string; found 'bool'",
                17,
            ),
            (
                "DENSE(a, 3, \",\", int, \":\")",
                "DENSE takes 1 to 4 arguments",
                0,
            ),
            (
                "SPARSE(a, 3, \",\", float, \":\")",
                "DTYPE must be int when DELIMITER_KV is given",
                18,
            ),
            (
                "SPARSE(a, 3, \",\", int, \":\", int)",
                "SPARSE's weights (DTYPE_WEIGHT) are float",
                28,
            ),
            (
                "DENSE(CATEGORY_ID(a, 2))",
                "DENSE expects a column name here",
                6,
            ),
            (
                "NUMERIC(DENSE(a, 2), 3)",
                "give the shape inside DENSE or SPARSE",
                21,
            ),
            (
                "CATEGORY_ID(a 3)",
                "expected ',' or ')' in a feature column, found 3",
                14,
            ),
            (
                "CATEGORY_ID(a, 3",
                "expected ',' or ')' in a feature column, found 'LABEL'",
                17,
            ),
            (
                "CATEGORY_ID(, 3)",
                "expected a column, a number, a string, a [list] or a feature column",
                12,
            ),
            ("BUCKET(a, [- x])", "'-' must be followed by a number", 11),
        ] {
            let e = err(fc);
            assert!(e.message.contains(wants), "{fc}: {e}");
            assert_eq!((e.line, e.column), (1, prefix + column + 1), "{fc}: {e}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // 64 levels of calls parse (63 INDICATOR/WEIGHTED... wrappers are not valid, so
        // lists nested inside a CROSS key list stand in); 65 are refused where they start.
        let ok = format!(
            "CROSS([a, b], 3), {}x{}",
            "f(".repeat(MAX_NESTING - 1),
            ")".repeat(MAX_NESTING - 1)
        );
        let e = err(&ok);
        assert!(
            e.message.contains("unknown feature column function f"),
            "the bound is not hit at {}: {e}",
            MAX_NESTING - 1
        );
        let deep = format!(
            "{}x{}",
            "f(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        let e = err(&deep);
        assert!(e.message.contains("nested too deeply"), "{e}");
        let e = err(&format!(
            "BUCKET(a, {}1{})",
            "[".repeat(100),
            "]".repeat(100)
        ));
        assert!(e.message.contains("nested too deeply"), "{e}");
    }

    fn plain_name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,5}".prop_filter("a keyword", |s| !is_clause_keyword(s))
    }

    fn name() -> BoxedStrategy<String> {
        prop_oneof![
            4 => plain_name(),
            1 => prop_oneof![
                Just("label".to_string()),
                Just("INTO".to_string()),
                Just("a b".to_string()),
                Just("x`y".to_string()),
                Just("t.col".to_string()),
                Just("naïve".to_string()),
            ],
        ]
        .boxed()
    }

    fn field_desc(sparse: bool) -> BoxedStrategy<FieldDesc> {
        let shape = proptest::option::of(proptest::collection::vec(1u64..100_000, 1..3));
        let delim = prop_oneof![
            Just(",".to_string()),
            Just(";".to_string()),
            Just("|".to_string()),
            Just(" ".to_string()),
            Just("\"".to_string())
        ];
        let dtype = prop_oneof![Just(DType::Int), Just(DType::Float), Just(DType::String)];
        let given = 0..=if sparse { 5usize } else { 3 };
        (name(), shape, delim.clone(), dtype, delim, given)
            .prop_map(move |(field, shape, delimiter, dtype, kv, given)| {
                // Positional arguments: each given one implies the ones before it.
                let mut d = FieldDesc::of(field);
                if given >= 1 {
                    d.shape = shape;
                }
                if given >= 2 {
                    d.delimiter = Some(delimiter);
                }
                if given >= 3 {
                    d.dtype = Some(dtype);
                }
                if given >= 4 {
                    d.dtype = Some(DType::Int);
                    d.delimiter_kv = Some(kv);
                }
                if given >= 5 {
                    d.dtype_weight = Some(DType::Float);
                }
                d
            })
            .boxed()
    }

    fn input() -> BoxedStrategy<Input> {
        prop_oneof![
            name().prop_map(Input::Field),
            field_desc(false).prop_map(Input::Dense),
            field_desc(true).prop_map(Input::Sparse),
        ]
        .boxed()
    }

    fn category() -> BoxedStrategy<Category> {
        (
            input(),
            1u64..1_000_000,
            proptest::option::of(Just(",".to_string())),
        )
            .prop_map(|(input, buckets, delimiter)| Category {
                input,
                buckets,
                delimiter,
            })
            .boxed()
    }

    fn bucket() -> BoxedStrategy<Bucket> {
        let input = prop_oneof![
            name().prop_map(Input::Field),
            field_desc(false).prop_map(Input::Dense)
        ];
        let bounds = proptest::collection::vec(-1000i32..1000, 1..5).prop_map(|v| {
            let mut v: Vec<f64> = v.into_iter().map(|x| f64::from(x) / 4.0).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        });
        (input, bounds)
            .prop_map(|(input, boundaries)| Bucket { input, boundaries })
            .boxed()
    }

    /// Categorical columns, as INDICATOR and EMBEDDING take them.
    fn categorical() -> BoxedStrategy<FeatureColumn> {
        let cross_key = prop_oneof![
            name().prop_map(FeatureColumn::Field),
            input()
                .prop_filter("numbers", |i| !matches!(i, Input::Sparse(_)))
                .prop_map(FeatureColumn::Numeric),
            category().prop_map(FeatureColumn::CategoryId),
            category().prop_map(FeatureColumn::CategoryHash),
            bucket().prop_map(FeatureColumn::Bucket),
        ];
        let weighted =
            (field_desc(true), 1u64..1000, any::<bool>()).prop_map(|(mut d, n, hash)| {
                d.dtype = Some(DType::Int);
                d.delimiter_kv = Some(":".into());
                d.delimiter.get_or_insert(",".into());
                let c = cat(Input::Sparse(d), n);
                FeatureColumn::WeightedCategory(Box::new(if hash {
                    FeatureColumn::CategoryHash(c)
                } else {
                    FeatureColumn::CategoryId(c)
                }))
            });
        prop_oneof![
            name().prop_map(FeatureColumn::Field),
            field_desc(false).prop_map(FeatureColumn::Dense),
            field_desc(true).prop_map(FeatureColumn::Sparse),
            category().prop_map(FeatureColumn::CategoryId),
            category().prop_map(FeatureColumn::SeqCategoryId),
            category().prop_map(FeatureColumn::CategoryHash),
            bucket().prop_map(FeatureColumn::Bucket),
            weighted,
            (proptest::collection::vec(cross_key, 2..4), 1u64..100_000)
                .prop_map(|(keys, buckets)| FeatureColumn::Cross(Cross { keys, buckets })),
        ]
        .boxed()
    }

    fn feature_column() -> BoxedStrategy<FeatureColumn> {
        let combiner = proptest::option::of(prop_oneof![
            Just(Combiner::Sum),
            Just(Combiner::Mean),
            Just(Combiner::Sqrtn)
        ]);
        let embedding = (
            categorical(),
            1u64..512,
            combiner,
            proptest::option::of("[a-z_]{1,12}"),
        )
            .prop_map(|(source, dimension, combiner, init)| {
                FeatureColumn::Embedding(Embedding {
                    source: Box::new(source),
                    dimension,
                    combiner,
                    // Positional: an initializer comes after a combiner.
                    initializer: combiner.and(init),
                })
            });
        prop_oneof![
            categorical(),
            input().prop_map(FeatureColumn::Numeric),
            categorical().prop_map(|c| FeatureColumn::Indicator(Box::new(c))),
            embedding,
        ]
        .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Every feature column prints as text that parses back to it, in any dialect
        /// and any FOR group.
        #[test]
        fn feature_columns_print_and_parse_back(
            groups in proptest::collection::vec(
                (proptest::collection::vec(feature_column(), 1..4), proptest::option::of(plain_name())),
                1..3,
            ),
        ) {
            let mut src = String::from("SELECT * FROM t TO TRAIN DNNClassifier");
            for (fcs, input) in &groups {
                let items: Vec<String> = fcs.iter().map(ToString::to_string).collect();
                src.push_str(&format!("\nCOLUMN {}", items.join(",\n  ")));
                if let Some(i) = input {
                    src.push_str(&format!(" FOR {i}"));
                }
            }
            src.push_str("\nLABEL class INTO m;");
            let got = clauses(&src);
            prop_assert_eq!(got.len(), groups.len());
            for ((texts, features, input), (want, want_input)) in got.iter().zip(&groups) {
                prop_assert_eq!(features, want, "{}", src);
                prop_assert_eq!(input, want_input);
                // A bare column's text is its name, as before feature columns.
                let printed: Vec<String> = want
                    .iter()
                    .map(|f| match f {
                        FeatureColumn::Field(n) => n.clone(),
                        f => f.to_string(),
                    })
                    .collect();
                prop_assert_eq!(texts, &printed);
            }
        }
    }
}
