//! Datasource strings: `sqlite://path`, `mysql://user:pass@host:port/db`,
//! `postgres://user:pass@host:port/db`.

use std::{fmt, path::PathBuf};

pub use sqlflow_sql::datasource::redact;

use crate::Dialect;

#[derive(Clone, PartialEq, Eq)]
pub enum Datasource {
    /// A SQLite database file, or `:memory:`.
    Sqlite {
        path: PathBuf,
    },
    MySql {
        url: String,
    },
    Postgres {
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasourceError {
    #[error(
        "empty datasource: give one as sqlite://path, mysql://user:pass@host:port/db or postgres://user:pass@host:port/db"
    )]
    Empty,
    #[error("unsupported datasource scheme '{scheme}': use sqlite://, mysql:// or postgres://")]
    UnknownScheme { scheme: String },
    /// The string is not shown: without a scheme, nothing says where a password ends.
    #[error("the datasource has no '://': use sqlite://path, mysql://... or postgres://...")]
    NoScheme,
    #[error("sqlite datasource has no path: use sqlite://path/to/file.db")]
    NoPath,
}

impl Datasource {
    pub fn parse(s: &str) -> Result<Self, DatasourceError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(DatasourceError::Empty);
        }
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(DatasourceError::NoScheme);
        };
        match Dialect::of_scheme(scheme) {
            Some(Dialect::Sqlite) => {
                if rest.is_empty() {
                    return Err(DatasourceError::NoPath);
                }
                Ok(Datasource::Sqlite {
                    path: PathBuf::from(rest),
                })
            }
            Some(Dialect::MySql) => Ok(Datasource::MySql { url: s.to_string() }),
            Some(Dialect::Postgres) => Ok(Datasource::Postgres { url: s.to_string() }),
            None => Err(DatasourceError::UnknownScheme {
                scheme: scheme.to_ascii_lowercase(),
            }),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Datasource::Sqlite { .. } => Dialect::Sqlite,
            Datasource::MySql { .. } => Dialect::MySql,
            Datasource::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// The datasource without its password, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            Datasource::Sqlite { path } => format!("sqlite://{}", path.display()),
            Datasource::MySql { url } | Datasource::Postgres { url } => redact(url),
        }
    }
}

impl fmt::Debug for Datasource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Datasource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes() {
        assert_eq!(
            Datasource::parse("sqlite://data/x.db").unwrap(),
            Datasource::Sqlite {
                path: "data/x.db".into()
            }
        );
        assert_eq!(
            Datasource::parse("sqlite:///abs/x.db").unwrap(),
            Datasource::Sqlite {
                path: "/abs/x.db".into()
            }
        );
        assert_eq!(
            Datasource::parse("mysql://root@127.0.0.1:3306/test")
                .unwrap()
                .dialect(),
            Dialect::MySql
        );
        assert!(matches!(
            Datasource::parse("hive://x"),
            Err(DatasourceError::UnknownScheme { .. })
        ));
        assert_eq!(Datasource::parse(" "), Err(DatasourceError::Empty));
        assert_eq!(Datasource::parse("sqlite://"), Err(DatasourceError::NoPath));
    }

    #[test]
    fn redacts_passwords() {
        // The cases live with `sqlflow_sql::datasource::redact`; this checks the engine's
        // messages use it.
        let ds = Datasource::parse("postgres://u@h/db?password=pw").unwrap();
        assert_eq!(ds.redacted(), "postgres://u@h/db?…");
        let e = Datasource::parse("root:pw@host").unwrap_err().to_string();
        assert!(!e.contains("pw"), "{e}");
    }
}
