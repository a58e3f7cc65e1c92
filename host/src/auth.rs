//! Who is calling. With users configured, every call needs a valid token (the
//! `authorization: Bearer <token>` header, or `Session.token` on Run) and the user is
//! the token's owner, never what the client claims. Without users, every caller is the
//! same anonymous user.

use std::{collections::HashMap, fmt::Write as _, path::Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tonic::{Status, metadata::MetadataMap};

/// `[auth]` in sqlflow.toml.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Users and the SHA-256 (hex) of their tokens. `sqlflow-server gen-token NAME`
    /// prints a new token and the entry to add here.
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// A TOML file with more `users = [...]`, read at start-up (keeps hashes out of the
    /// main file).
    #[serde(default)]
    pub tokens_file: Option<std::path::PathBuf>,
    /// Without users, the server refuses to listen on a non-loopback address unless this
    /// is true.
    #[serde(default)]
    pub allow_unauthenticated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub token_sha256: String,
}

#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    /// token hash → user name; empty means authentication is off.
    by_hash: HashMap<String, String>,
}

pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl Authenticator {
    pub fn new(cfg: &AuthConfig) -> Result<Self, String> {
        let mut users = cfg.users.clone();
        if let Some(file) = &cfg.tokens_file {
            users.extend(read_tokens_file(file)?);
        }
        let mut by_hash = HashMap::new();
        for u in users {
            let hash = u.token_sha256.trim().to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "auth.users: the token_sha256 of user '{}' is not 64 hex digits",
                    u.name
                ));
            }
            if u.name.is_empty() {
                return Err("auth.users: a user has an empty name".into());
            }
            if by_hash.insert(hash, u.name.clone()).is_some() {
                return Err(format!(
                    "auth.users: user '{}' reuses another user's token",
                    u.name
                ));
            }
        }
        Ok(Self { by_hash })
    }

    pub fn enabled(&self) -> bool {
        !self.by_hash.is_empty()
    }

    pub fn users(&self) -> usize {
        self.by_hash.len()
    }

    /// The caller's user name ("" when authentication is off).
    pub fn authenticate(
        &self,
        metadata: &MetadataMap,
        session_token: Option<&str>,
    ) -> Result<String, Status> {
        if !self.enabled() {
            return Ok(String::new());
        }
        let header = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let token = header
            .filter(|t| !t.is_empty())
            .or(session_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| {
                Status::unauthenticated(
                    "this server requires a token: pass --token or set SQLFLOW_TOKEN \
                     (the `authorization: Bearer <token>` header)",
                )
            })?;
        self.by_hash
            .get(&sha256_hex(token))
            .cloned()
            .ok_or_else(|| Status::unauthenticated("invalid token"))
    }
}

fn read_tokens_file(path: &Path) -> Result<Vec<UserEntry>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        users: Vec<UserEntry>,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("auth.tokens_file {}: {e}", path.display()))?;
    use figment::providers::Format as _;
    let f: File = figment::Figment::from(figment::providers::Toml::string(&text))
        .extract()
        .map_err(|e| format!("auth.tokens_file {}: {e}", path.display()))?;
    Ok(f.users)
}

/// A fresh random token: 64 hex digits holding 244 random bits (two v4 UUIDs, each with 6
/// fixed version and variant bits), far beyond guessing.
pub fn new_token() -> String {
    let mut out = String::with_capacity(64);
    for b in uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
    {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(token: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", format!("Bearer {token}").parse().unwrap());
        m
    }

    #[test]
    fn tokens_map_to_users() {
        let a = Authenticator::new(&AuthConfig {
            users: vec![UserEntry {
                name: "alice".into(),
                token_sha256: sha256_hex("s3cret"),
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(a.authenticate(&md("s3cret"), None).unwrap(), "alice");
        assert_eq!(
            a.authenticate(&MetadataMap::new(), Some("s3cret")).unwrap(),
            "alice"
        );
        assert_eq!(
            a.authenticate(&md("wrong"), None).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            a.authenticate(&MetadataMap::new(), None)
                .unwrap_err()
                .code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn off_without_users() {
        let a = Authenticator::new(&AuthConfig::default()).unwrap();
        assert!(!a.enabled());
        assert_eq!(a.authenticate(&MetadataMap::new(), None).unwrap(), "");
    }

    #[test]
    fn bad_hashes_are_configuration_errors() {
        let e = Authenticator::new(&AuthConfig {
            users: vec![UserEntry {
                name: "bob".into(),
                token_sha256: "xyz".into(),
            }],
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("bob"), "{e}");
    }

    #[test]
    fn new_tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
