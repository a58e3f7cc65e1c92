//! Which datasources clients may use: SQLite files only inside the data directory (no
//! `..`, no absolute paths or symlinks leading out), and MySQL/PostgreSQL only on the
//! configured hosts. A refusal is PERMISSION_DENIED with the reason.

use std::path::{Component, Path, PathBuf};

use sqlflow_sql::Dialect;
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
    pub fn admit(&self, ds: &str) -> Result<String, Status> {
        let Some((scheme, rest)) = ds.split_once("://") else {
            // The engine reports malformed datasources with their expected forms.
            return Ok(ds.to_string());
        };
        match Dialect::of_scheme(scheme) {
            Some(Dialect::Sqlite) => self
                .sqlite(rest)
                .map(|p| format!("sqlite://{}", p.display())),
            Some(Dialect::MySql | Dialect::Postgres) => {
                self.db_host(rest)?;
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

    fn db_host(&self, rest: &str) -> Result<(), Status> {
        if self.allowed_db_hosts.is_empty() {
            return Ok(());
        }
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match hostport.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => hostport,
        };
        let ok = self
            .allowed_db_hosts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(hostport) || a.eq_ignore_ascii_case(host));
        if ok {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "database host '{hostport}' is not in this server's allowed_db_hosts"
            )))
        }
    }
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
            p.admit("sqlite://a.db").unwrap(),
            format!("sqlite://{d}/a.db")
        );
        assert_eq!(
            p.admit("sqlite://sub/b.db").unwrap(),
            format!("sqlite://{d}/sub/b.db")
        );
        assert_eq!(
            p.admit(&format!("sqlite://{d}/c.db")).unwrap(),
            format!("sqlite://{d}/c.db")
        );
        assert_eq!(p.admit("sqlite://:memory:").unwrap(), "sqlite://:memory:");
        for bad in [
            "sqlite://../x.db",
            "sqlite:///etc/passwd",
            "sqlite://a/../../x.db",
        ] {
            let e = p.admit(bad).unwrap_err();
            assert_eq!(e.code(), tonic::Code::PermissionDenied, "{bad}");
        }
        std::os::unix::fs::symlink("/tmp", tmp.path().join("out")).unwrap();
        let e = p.admit("sqlite://out/x.db").unwrap_err();
        assert!(e.message().contains("symlink"), "{}", e.message());
    }

    #[test]
    fn database_hosts_are_allow_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let p = policy(tmp.path());
        assert!(p.admit("mysql://u:p@db.internal:3306/x").is_ok());
        assert!(p.admit("postgres://u@10.0.0.5:3306/x").is_ok());
        let e = p.admit("postgres://u:p@10.0.0.5:5432/x").unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(
            !e.message().contains(":p@"),
            "no password in the error: {}",
            e.message()
        );
        assert!(p.admit("mysql://u:p@evil.example/x").is_err());
    }
}
