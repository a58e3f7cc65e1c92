//! The SQL program engine: splits a program into statements, runs each on a database
//! backend, and writes the results as the step record stream (`sqlflow_proto::stream`).
//! It knows nothing of gRPC, runners or the server.

#![deny(rust_2018_idioms)]

pub mod backend;
pub mod datasource;
pub mod exec;
pub mod lexer;
pub mod output;
pub mod split;

pub use datasource::Datasource;
pub use exec::{ProgramFailure, run_program};

/// One typed value, the same for every backend: the protocol's cell.
pub type Value = sqlflow_proto::sqlflow::cell::Value;

/// The SQL dialect, which decides quoting and comment rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    MySql,
    Postgres,
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::MySql => "MySQL",
            Dialect::Postgres => "PostgreSQL",
        })
    }
}
