//! SQL program text: a lexer that knows each dialect's quotes and comments, the splitter
//! that cuts a program into statements at top-level `;`, and the parser of SQLFlow's
//! extended statements (`TO TRAIN`, `TO PREDICT`, ...). No database, no
//! parser dependencies: the engine, the runners and the CLI can all use it cheaply.

pub mod datasource;
pub mod extended;
pub mod lexer;
pub mod split;

pub use extended::{Expr, ExtKind, Extended, ParseError, Parsed, parse_statement};
pub use extended::{FeatureColumn, feature_column};
pub use split::{SplitError, Statement, split};

/// The SQL dialect, which decides quoting and comment rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    MySql,
    Postgres,
}

impl Dialect {
    /// The dialect of a datasource URL's scheme (`sqlite`/`sqlite3`, `mysql`/`mariadb`,
    /// `postgres`/`postgresql`, any case): the one list the server, the engine and the
    /// runners agree on.
    pub fn of_scheme(scheme: &str) -> Option<Dialect> {
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
            "mysql" | "mariadb" => Some(Dialect::MySql),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            _ => None,
        }
    }
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
