//! Feature columns: from the SELECT's columns to the models' input columns.
//!
//! At `TO TRAIN`, every `COLUMN` item (or, without `COLUMN`, every selected column but
//! the label) becomes a [`Planned`] column: bare columns are *derived* from the training
//! rows as SQLFlow's `doc/design/feature_derivation.md` describes, calls are checked
//! against the data (ids in range, list lengths, key:value pairs). The resulting
//! [`FeaturePlan`] is stored with the model, and PREDICT, EVALUATE and EXPLAIN apply
//! exactly the same transform from it, never re-deriving anything.
//!
//! The models take named columns of numbers or categories (`sqlflow_models::Column`), so
//! every feature column becomes some of those:
//! - numbers stay numbers; a `DENSE` list of `n` becomes `n` numeric inputs `c_0..`;
//! - ids (`CATEGORY_ID`, `CATEGORY_HASH`, `BUCKET`, `CROSS`, derived strings) with at most
//!   one id per row become one categorical input, which neural, linear and clustering
//!   models one-hot encode and tree models code as one ordinal feature;
//! - several ids per row (lists, `SPARSE`), `INDICATOR` and weighted ids become one
//!   numeric input per id seen in training (`c=66`), holding 1, the count, or the weight;
//! - `EMBEDDING` is that one-hot or multi-hot input plus an embedding table that DNNs learn
//!   with the network ([`FeaturePlan::embeddings`]); other models use the ids as above.
//!
//! Ids written as categories are zero-padded (`007`), so that tree models, which order
//! categories by their text, order bucket and id numbers as numbers.
//!
//! Its files: `plan` (the plan stored with a model), `cells` (reading a query's cells),
//! `transform` (applying a plan to a query's rows), `derive` (what a bare column holds,
//! and the feature column derived from it), `planner` (resolving the `COLUMN` items into
//! a plan, numbers and names), `ids` (ids from categorical calls, checked against the data).

mod cells;
mod derive;
mod ids;
mod plan;
mod planner;
mod table;
mod transform;

pub use cells::Cell;
pub(crate) use cells::column_index;
pub use plan::{CrossKey, FeaturePlan, Form, Ids, Layout, Numeric, Planned, Read, Source, Spec};
pub use planner::plan;
pub use table::Rows;
pub(crate) use table::{Table, query_table};

#[cfg(test)]
mod tests;

/// Multi-hot and sparse inputs wider than this are refused: the models take a dense matrix,
/// and a column per id quickly outgrows it.
pub const MAX_IDS_PER_COLUMN: usize = 10_000;
/// Rows × numeric model inputs the transform may produce: 1.6 GB as the dense matrix
/// most models build, 10M rows of 20 inputs. Trees hold columns and bins, not the matrix,
/// so what they can take is bounded by the job's memory limit rather than by this.
pub const MAX_INPUT_CELLS: usize = 200_000_000;
