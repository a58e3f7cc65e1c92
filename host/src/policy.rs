//! Which datasources clients may use: SQLite files only inside the data directory (no
//! `..`, no absolute paths or symlinks leading out), and MySQL/PostgreSQL only on the
//! configured hosts. A refusal is PERMISSION_DENIED with the reason.

use std::path::{Component, Path, PathBuf};

use sqlflow_sql::{
    Dialect,
    datasource::{self, ServerUrl},
};
use tonic::Status;

pub struct DatasourcePolicy {
    /// Canonical.
    pub data_dir: PathBuf,
    /// `host` or `host:port` entries; empty allows any host.
    pub allowed_db_hosts: Vec<String>,
}

impl DatasourcePolicy {
    /// Checks `ds` and returns it in the form the step process gets (SQLite paths made
    /// absolute, since the step runs in its job directory).
    pub fn admit(&self, ds: &str, origin: Origin) -> Result<String, Status> {
        let Some((scheme, rest)) = ds.split_once("://") else {
            // The engine reports malformed datasources with their expected forms.
            return Ok(ds.to_string());
        };
        match Dialect::of_scheme(scheme) {
            Some(Dialect::Sqlite) => self
                .sqlite(rest)
                .map(|p| format!("sqlite://{}", p.display())),
            Some(d @ (Dialect::MySql | Dialect::Postgres)) => {
                self.server(ds, d, origin)?;
                Ok(ds.to_string())
            }
            // The engine reports unknown schemes with the supported ones.
            None => Ok(ds.to_string()),
        }
    }

    fn sqlite(&self, path: &str) -> Result<PathBuf, Status> {
        if path == ":memory:" {
            return Ok(PathBuf::from(path));
        }
        let deny = |why: &str| {
            Status::permission_denied(format!(
                "sqlite datasource '{path}' is not allowed: {why}; use a path inside the \
                 server's data directory"
            ))
        };
        let p = Path::new(path);
        if p.components().any(|c| c == Component::ParentDir) {
            return Err(deny("it contains '..'"));
        }
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.data_dir.join(p)
        };
        if !full.starts_with(&self.data_dir) {
            return Err(deny("it is outside the data directory"));
        }
        // Symlinks: the file (if it exists) or its nearest existing ancestor must resolve
        // to somewhere inside the data directory.
        let mut probe = full.as_path();
        loop {
            if let Ok(real) = probe.canonicalize() {
                if !real.starts_with(&self.data_dir) {
                    return Err(deny("it leads out of the data directory through a symlink"));
                }
                break;
            }
            match probe.parent() {
                Some(parent) => probe = parent,
                None => break,
            }
        }
        Ok(full)
    }

    /// Checks a server datasource as the driver will read it (see
    /// `sqlflow_sql::datasource`): its host against `allowed_db_hosts`, and the
    /// parameters that would take the connection elsewhere or read the server's files.
    fn server(&self, ds: &str, dialect: Dialect, origin: Origin) -> Result<(), Status> {
        let url = ServerUrl::parse(ds).map_err(|e| {
            Status::invalid_argument(format!(
                "datasource {} cannot be read: {e}",
                datasource::redact(ds)
            ))
        })?;
        if url.has_fragment {
            return Err(Status::invalid_argument(format!(
                "datasource {url} has a '#': a datasource has no fragment (percent-encode a \
                 '#' in a password as %23)"
            )));
        }
        if origin == Origin::Client
            && let Some((key, _)) = url.params.iter().find(|(k, _)| reads_server_file(k))
        {
            return Err(Status::permission_denied(format!(
                "datasource parameter '{key}' is not allowed from clients: it names a file \
                 on the server; the operator can set it in the server's default datasource"
            )));
        }
        if self.allowed_db_hosts.is_empty() {
            return Ok(());
        }
        if let Some((key, _)) = url.params.iter().find(|(k, _)| redirects(dialect, k)) {
            return Err(Status::permission_denied(format!(
                "datasource parameter '{key}' is not allowed: it would connect to another host \
                 than {}, and this server limits connections to allowed_db_hosts",
                url.host
            )));
        }
        if url.host.is_empty() {
            return Err(Status::permission_denied(
                "the datasource names no host, and this server limits connections to \
                 allowed_db_hosts: name one of them",
            ));
        }
        let hostport = match url.port {
            Some(p) => format!("{}:{p}", url.host),
            None => url.host.clone(),
        };
        let ok = self
            .allowed_db_hosts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&hostport) || a.eq_ignore_ascii_case(&url.host));
        if ok {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "database host '{hostport}' is not in this server's allowed_db_hosts"
            )))
        }
    }
}

/// Where a datasource came from: the operator's configuration is trusted with the server's
/// files; a client is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Server,
    Client,
}

/// Query parameters that choose where the driver connects (sqlx 0.9: PostgreSQL's
/// `host`, `hostaddr` and `port`; MySQL's `socket`).
fn redirects(dialect: Dialect, key: &str) -> bool {
    match dialect {
        Dialect::Postgres => matches!(key, "host" | "hostaddr" | "port"),
        Dialect::MySql => key == "socket",
        Dialect::Sqlite => false,
    }
}

/// Query parameters naming files the driver reads on the server (TLS material).
fn reads_server_file(key: &str) -> bool {
    matches!(
        key,
        "sslrootcert"
            | "ssl-root-cert"
            | "ssl-ca"
            | "sslca"
            | "sslcert"
            | "ssl-cert"
            | "sslkey"
            | "ssl-key"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(dir: &Path) -> DatasourcePolicy {
        DatasourcePolicy {
            data_dir: dir.canonicalize().unwrap(),
            allowed_db_hosts: vec!["db.internal".into(), "10.0.0.5:3306".into()],
        }
    }

    #[test]
    fn sqlite_paths_stay_in_the_data_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let p = policy(tmp.path());
        let d = p.data_dir.display().to_string();
        assert_eq!(
            p.admit("sqlite://a.db", Origin::Client).unwrap(),
            format!("sqlite://{d}/a.db")
        );
        assert_eq!(
            p.admit("sqlite://sub/b.db", Origin::Client).unwrap(),
            format!("sqlite://{d}/sub/b.db")
        );
        assert_eq!(
            p.admit(&format!("sqlite://{d}/c.db"), Origin::Client)
                .unwrap(),
            format!("sqlite://{d}/c.db")
        );
        assert_eq!(
            p.admit("sqlite://:memory:", Origin::Client).unwrap(),
            "sqlite://:memory:"
        );
        for bad in [
            "sqlite://../x.db",
            "sqlite:///etc/passwd",
            "sqlite://a/../../x.db",
        ] {
            let e = p.admit(bad, Origin::Client).unwrap_err();
            assert_eq!(e.code(), tonic::Code::PermissionDenied, "{bad}");
        }
        std::os::unix::fs::symlink("/tmp", tmp.path().join("out")).unwrap();
        let e = p.admit("sqlite://out/x.db", Origin::Client).unwrap_err();
        assert!(e.message().contains("symlink"), "{}", e.message());
    }

    #[test]
    fn database_hosts_are_allow_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let p = policy(tmp.path());
        assert!(
            p.admit("mysql://u:p@db.internal:3306/x", Origin::Client)
                .is_ok()
        );
        assert!(
            p.admit("postgres://u@10.0.0.5:3306/x", Origin::Client)
                .is_ok()
        );
        let e = p
            .admit("postgres://u:p@10.0.0.5:5432/x", Origin::Client)
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(
            !e.message().contains(":p@"),
            "no password in the error: {}",
            e.message()
        );
        assert!(
            p.admit("mysql://u:p@evil.example/x", Origin::Client)
                .is_err()
        );
    }

    #[test]
    fn query_and_fragment_cannot_redirect_the_connection() {
        let tmp = tempfile::tempdir().unwrap();
        let p = policy(tmp.path());
        for bad in [
            "postgres://u:p@db.internal/x?host=127.0.0.1&port=5432",
            "postgres://u:p@db.internal/x?hostaddr=127.0.0.1",
            "postgres://u:p@db.internal/x?host=/var/run/postgresql",
            "postgres://u:p@db.internal/x?h%6Fst=127.0.0.1",
            "postgres://u:p@db.internal/x?port=6432",
            "mysql://u:p@db.internal/x?socket=/run/mysqld/mysqld.sock",
            "postgres://u:p@127.0.0.1:5432#@db.internal/x",
            "mysql://u:p@127.0.0.1:3306#@db.internal/x",
            "mysql://u:p@127.0.0.1:3306?@db.internal/x",
            "postgres:///x",
            "postgres://u:p@db.internal\t/x",
        ] {
            let e = p.admit(bad, Origin::Client).unwrap_err();
            assert!(
                matches!(
                    e.code(),
                    tonic::Code::PermissionDenied | tonic::Code::InvalidArgument
                ),
                "{bad}: {e:?}"
            );
            assert!(!e.message().contains(":p@"), "{bad}: {}", e.message());
        }
        let e = p
            .admit(
                "postgres://u:p@127.0.0.1:5432#@db.internal/x",
                Origin::Client,
            )
            .unwrap_err();
        assert!(e.message().contains("fragment"), "{}", e.message());
        let e = p
            .admit("mysql://u:p@127.0.0.1:3306?@db.internal/x", Origin::Client)
            .unwrap_err();
        assert!(e.message().contains("'127.0.0.1:3306'"), "{}", e.message());
        // Harmless parameters pass.
        assert!(
            p.admit(
                "postgres://u:p@db.internal/x?sslmode=require",
                Origin::Client
            )
            .is_ok()
        );
    }

    #[test]
    fn clients_cannot_name_server_files() {
        let tmp = tempfile::tempdir().unwrap();
        let open = DatasourcePolicy {
            data_dir: tmp.path().canonicalize().unwrap(),
            allowed_db_hosts: vec![],
        };
        let ds = "postgres://u@db/x?sslkey=/etc/shadow";
        let e = open.admit(ds, Origin::Client).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(e.message().contains("sslkey"), "{}", e.message());
        assert!(open.admit(ds, Origin::Server).is_ok());
    }
}
