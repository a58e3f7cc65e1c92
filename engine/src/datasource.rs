//! Datasource strings: `sqlite://path`, `mysql://user:pass@host:port/db`,
//! `postgres://user:pass@host:port/db`.

use std::{fmt, path::PathBuf};

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
    #[error(
        "datasource '{redacted}' has no '://': use sqlite://path, mysql://... or postgres://..."
    )]
    NoScheme { redacted: String },
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
            return Err(DatasourceError::NoScheme {
                redacted: redact(s),
            });
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

/// Replaces the password of a `scheme://user:password@host...` string with `***`.
pub fn redact(s: &str) -> String {
    let (prefix, rest) = match s.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), s),
    };
    // The userinfo ends at the last '@' before the path.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{prefix}{masked}{}", &rest[at..])
        }
        None => s.to_string(),
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
        assert_eq!(
            redact("mysql://root:s3cr:et@db:3306/test"),
            "mysql://root:***@db:3306/test"
        );
        assert_eq!(
            redact("postgres://u:p@ss@h/db?sslmode=disable"),
            "postgres://u:***@h/db?sslmode=disable"
        );
        assert_eq!(redact("mysql://root@db/test"), "mysql://root@db/test");
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
        let e = Datasource::parse("root:pw@host").unwrap_err().to_string();
        assert!(!e.contains("pw"), "{e}");
    }
}
