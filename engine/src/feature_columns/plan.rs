//! The plan stored with a model: what each feature column reads and how it reaches
//! the model's inputs.

use serde::{Deserialize, Serialize};

/// How a trained model's inputs are made from a query's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturePlan {
    /// Distinct feature columns, in the order of the model's inputs.
    pub columns: Vec<Planned>,
    /// `COLUMN ... FOR input` groups: the input and the indices of its columns. Empty
    /// when the statement has no COLUMN clause.
    pub groups: Vec<(String, Vec<usize>)>,
    /// The COLUMN clauses as written (`FOR` input, item texts), for `USING`.
    pub written: Vec<(Option<String>, Vec<String>)>,
}

/// One feature column, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    /// The feature column in SQL with what derivation found filled in; it parses back
    /// and means the same.
    pub text: String,
    /// Derived from a bare column rather than written as a call.
    pub derived: bool,
    pub spec: Spec,
    /// The model input columns it writes.
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Spec {
    Numeric(Numeric),
    Ids {
        ids: Ids,
        form: Form,
        layout: Layout,
    },
}

/// Numbers: one per row, or a fixed-length list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Numeric {
    pub source: Source,
    /// Values per row (1 for a scalar).
    pub len: usize,
    /// DENSE(..., int): values must be whole numbers.
    pub int_only: bool,
    /// The function as the user sees it, for messages.
    pub what: String,
}

/// A column of the query and how its cells are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub field: String,
    pub read: Read,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Read {
    /// The cell is one value.
    Whole,
    /// A list split on `delimiter`; `len`: the exact count every row must have.
    List {
        delimiter: String,
        len: Option<usize>,
    },
    /// Indices, or `key<kv>value` pairs, split on `delimiter` and whitespace; keys are
    /// below `size`.
    Pairs {
        delimiter: String,
        kv: Option<String>,
        size: u64,
    },
}

/// Where a row's ids come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Ids {
    /// The numbers are the ids (`CATEGORY_ID` on numbers, `SPARSE` indices).
    Identity {
        source: Source,
        buckets: u64,
        /// Pairs' values weigh the ids (else each counts 1).
        weighted: bool,
        what: String,
    },
    /// Each text seen in training is an id, in sorted order.
    Vocabulary {
        source: Source,
        vocabulary: Vec<String>,
        /// The bucket size written, if any.
        buckets: Option<u64>,
        what: String,
    },
    /// A stable hash of the value's text, modulo `buckets`.
    Hash {
        source: Source,
        buckets: u64,
        weighted: bool,
        what: String,
    },
    /// The bucket each number falls in; element `i` of a list uses ids
    /// `i·(boundaries+1)..`.
    Bucket {
        source: Source,
        boundaries: Vec<f64>,
        len: usize,
        what: String,
    },
    /// A hash of the keys' values together, modulo `buckets`.
    Cross {
        keys: Vec<CrossKey>,
        buckets: u64,
        what: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CrossKey {
    /// The column's values as they are (`NUMERIC`, `DENSE` and bare columns).
    Raw(Source),
    Ids(Ids),
}

/// What the user asked of the ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Form {
    /// The ids as a categorical feature (a bare categorical call or derived strings).
    Plain,
    /// `SPARSE` (or derived `key:value` lists) as numbers: the values at their indices.
    Values,
    Indicator,
    Embedding {
        dimension: u64,
        combiner: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Layout {
    /// At most one id per row: one categorical input holding its text.
    Category,
    /// One numeric input per id seen in training, in `seen` order.
    MultiHot { seen: Vec<u64> },
}
