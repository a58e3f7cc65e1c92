//! The SQL program engine: splits a program into statements, runs standard SQL on a
//! database backend (SQLite, MySQL, PostgreSQL) and SQLFlow's extended statements with
//! the Rust-native models of `sqlflow-models`, keeps trained models in the database, and
//! writes the results as the step record stream (`sqlflow_proto::stream`). It knows
//! nothing of gRPC, runners or the server.

pub mod backend;
pub mod datasource;
pub mod exec;
pub mod extended;
pub mod feature_columns;
pub mod figures;
pub mod model_store;
pub mod optimize;
pub mod output;
pub mod run;

pub use sqlflow_sql::{Dialect, lexer, split};

pub use datasource::Datasource;
pub use exec::{EngineError, FailureKind, ProgramFailure, run_one_statement, run_program};

/// One typed value, the same for every backend: the protocol's cell.
pub type Value = sqlflow_proto::sqlflow::cell::Value;
