//! Database-server datasource URLs (`mysql://…`, `postgres://…`) read the way the drivers
//! read them, so that the server's policy checks the host a connection will really go to,
//! and so that messages can show a datasource without its credentials.
//!
//! sqlx parses these with the `url` crate, which follows the WHATWG URL standard for
//! schemes it does not know: the authority ends at the first `/`, `?` or `#`, the user
//! information ends at the authority's last `@`, and the query is
//! `application/x-www-form-urlencoded` (keys are percent-decoded, so `?h%6Fst=` is
//! `host`). Anything this module cannot read exactly that way is refused rather than
//! guessed at: a parser that disagrees with the driver is a way around the policy.

use std::{borrow::Cow, fmt};

/// A server datasource, split as the driver splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// The scheme as written (`mysql`, `postgresql`, …).
    pub scheme: String,
    /// The user name as written (still percent-encoded); empty when none is given.
    pub user: String,
    /// Whether the user information carries a password.
    pub has_password: bool,
    /// The host as written: a name, an IPv4 address, or `[v6]`. May be empty.
    pub host: String,
    pub port: Option<u16>,
    /// The path without its leading `/` (the database).
    pub database: String,
    /// Query parameters, decoded as the driver decodes them, in order.
    pub params: Vec<(String, String)>,
    /// Whether a `#fragment` follows.
    pub has_fragment: bool,
}

/// Why a datasource URL could not be read. Carries no part of the URL: it may hold a
/// password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("it has no '://' after the scheme")]
    NoScheme,
    #[error("it contains spaces or control characters")]
    ControlCharacter,
    #[error("its port is not a number from 0 to 65535")]
    BadPort,
    #[error("its IPv6 host has no closing ']'")]
    BadIpv6,
    #[error("its host contains a character a host name cannot have")]
    BadHost,
}

impl ServerUrl {
    /// Parses `scheme://[user[:password]@]host[:port][/database][?query][#fragment]`.
    pub fn parse(s: &str) -> Result<ServerUrl, UrlError> {
        // WHATWG drops tabs and newlines anywhere and trims spaces and controls at both
        // ends; a host spelled across such characters would read differently here.
        if s.chars().any(|c| c.is_control() || c == ' ') {
            return Err(UrlError::ControlCharacter);
        }
        let (scheme, rest) = s.split_once("://").ok_or(UrlError::NoScheme)?;
        let (before_fragment, has_fragment) = match rest.split_once('#') {
            Some((b, _)) => (b, true),
            None => (rest, false),
        };
        let (before_query, query) = match before_fragment.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (before_fragment, None),
        };
        let (authority, path) = match before_query.find('/') {
            Some(i) => (&before_query[..i], &before_query[i + 1..]),
            None => (before_query, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (user, has_password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((name, _)) => (name, true),
                None => (u, false),
            },
            None => ("", false),
        };
        let (host, port) = split_host_port(hostport)?;
        // The URL standard allows no user or port without a host.
        if host.is_empty() && (userinfo.is_some() || !hostport.is_empty()) {
            return Err(UrlError::BadHost);
        }
        let params = query.map(form_decode).unwrap_or_default();
        Ok(ServerUrl {
            scheme: scheme.to_string(),
            user: user.to_string(),
            has_password,
            host: host.to_string(),
            port,
            database: path.to_string(),
            params,
            has_fragment,
        })
    }

    /// The value of the last parameter named `key` (the driver lets the last one win).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `scheme://user@host:port/database`, with no password and no parameters: what messages,
/// statuses and logs show. Parameters (`?password=…` among them) are only hinted at.
impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if !self.user.is_empty() {
            write!(f, "{}@", self.user)?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if !self.database.is_empty() {
            write!(f, "/{}", self.database)?;
        }
        if !self.params.is_empty() {
            f.write_str("?…")?;
        }
        Ok(())
    }
}

fn split_host_port(hostport: &str) -> Result<(Cow<'_, str>, Option<u16>), UrlError> {
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport.find(']').ok_or(UrlError::BadIpv6)?;
        let (host, after) = hostport.split_at(end + 1);
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or(UrlError::BadHost)?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    // WHATWG's forbidden host code points for opaque hosts, plus the delimiters already
    // consumed: what is left must be one host, nothing that a second parser could split.
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        // The URL standard writes IPv6 addresses in their canonical form; so do we, so
        // that `[::0001]` is compared as the `[::1]` a connection goes to.
        Some(v6) => match v6.parse::<std::net::Ipv6Addr>() {
            Ok(a) if a.to_ipv4_mapped().is_none() && !a.to_string().contains('.') => {
                Cow::Owned(format!("[{a}]"))
            }
            _ => return Err(UrlError::BadIpv6),
        },
        None if host.contains(['<', '>', '\\', '^', '|', '@', ':', '/', '?', '#', '[', ']']) => {
            return Err(UrlError::BadHost);
        }
        None => Cow::Borrowed(host),
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| UrlError::BadPort)?)
        }
        Some(_) => return Err(UrlError::BadPort),
    };
    Ok((host, port))
}

/// `application/x-www-form-urlencoded` decoding, as `url::Url::query_pairs` does it.
fn form_decode(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode_plus(k), percent_decode_plus(v))
        })
        .collect()
}

fn percent_decode_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A datasource for messages: no password, in whatever form it was given. SQLite paths
/// are shown as they are; server URLs as [`ServerUrl`] displays them; anything that does
/// not parse cleanly is not shown at all, since a misplaced `@`, `/` or `#` can put a
/// password anywhere in the string.
pub fn redact(ds: &str) -> String {
    let ds = ds.trim();
    let Some((scheme, rest)) = ds.split_once("://") else {
        return "(a datasource without a scheme, not shown)".to_string();
    };
    if crate::Dialect::of_scheme(scheme) == Some(crate::Dialect::Sqlite) {
        return ds.to_string();
    }
    let scheme: String = scheme
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '.' || *c == '-')
        .take(32)
        .collect();
    match ServerUrl::parse(ds) {
        // A '@' after the authority means the user information was not where the URL
        // syntax says it is: part of a password may be in the path or the query.
        Ok(url) if !rest.contains('@') || authority_holds_last_at(rest) => url.to_string(),
        _ => format!("{scheme}://(malformed datasource, not shown)"),
    }
}

fn authority_holds_last_at(rest: &str) -> bool {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.rfind('@').is_some_and(|at| at < authority_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(s: &str) -> (String, Option<u16>) {
        let u = ServerUrl::parse(s).unwrap();
        (u.host, u.port)
    }

    #[test]
    fn reads_the_host_the_driver_connects_to() {
        assert_eq!(
            host_of("postgres://u:p@db.internal:5433/x"),
            ("db.internal".into(), Some(5433))
        );
        // The fragment starts before the second '@': the host is 127.0.0.1.
        assert_eq!(
            host_of("postgres://u:p@127.0.0.1:9#@db.internal/x"),
            ("127.0.0.1".into(), Some(9))
        );
        assert_eq!(
            host_of("mysql://u@127.0.0.1:9?@db.internal/x"),
            ("127.0.0.1".into(), Some(9))
        );
        assert_eq!(
            host_of("postgres://[::1]:5432/x"),
            ("[::1]".into(), Some(5432))
        );
        assert_eq!(host_of("postgres:///x"), ("".into(), None));
        let u = ServerUrl::parse("postgres://db.internal/x?h%6Fst=evil&a=1+2").unwrap();
        assert_eq!(u.param("host"), Some("evil"));
        assert_eq!(u.param("a"), Some("1 2"));
        for bad in [
            "postgres://db.internal\t/x",
            "postgres://u@db:99999/x",
            "postgres://u@db:p0rt/x",
            "postgres://[::1/x",
            "postgres://a<b/x",
            "nothing",
        ] {
            assert!(ServerUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redacts_every_credential_form() {
        for (ds, shown) in [
            (
                "mysql://root:s3cr:et@db:3306/test",
                "mysql://root@db:3306/test",
            ),
            (
                "postgres://u:p@ss@h/db?sslmode=disable",
                "postgres://u@h/db?…",
            ),
            ("mysql://root@db/test", "mysql://root@db/test"),
            ("sqlite://a.db", "sqlite://a.db"),
            (
                "postgres://u@h:9/db?password=hunter2",
                "postgres://u@h:9/db?…",
            ),
            // An unencoded '/', '?' or '#' in the password.
            (
                "postgres://u:pa/ss@h/db",
                "postgres://(malformed datasource, not shown)",
            ),
            (
                "postgres://u:1234/hunter2@h/db",
                "postgres://(malformed datasource, not shown)",
            ),
            (
                "postgres://u:pa#hunter2@h/db",
                "postgres://(malformed datasource, not shown)",
            ),
            (
                "postgres://u:pa?hunter2@h/db",
                "postgres://(malformed datasource, not shown)",
            ),
            ("root:pw@host", "(a datasource without a scheme, not shown)"),
        ] {
            let r = redact(ds);
            assert_eq!(r, shown, "{ds}");
            for secret in ["s3cr", "et@", "hunter2", "pa/ss", "pw"] {
                assert!(!r.contains(secret), "{ds} -> {r}");
            }
        }
    }
}
