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
//!
//! Its files: this one (what a feature column is), `print` (canonical text),
//! `parse` (the call as written), `check` (the call against its function's signature).

mod check;
mod parse;
mod print;

pub use print::name_text;

#[cfg(test)]
mod tests;

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
