//! Text that comes from outside and ends up in what the runner says: client input
//! quoted in errors ([`clip`]), and text the cluster holds (Argo's messages, the steps'
//! logs, annotations) shown in statuses, listings and logs ([`cap`], [`redact`]).
//!
//! [`redact`] is this crate's own stop-gap until `sqlflow_sql::datasource` offers one
//! for free text; that module redacts a string known to be a datasource, while this
//! one looks for datasources inside any message (a step quoting its connection string
//! in an error, say).

use std::borrow::Cow;

/// Characters of client input an error message quotes.
const CLIP_CHARS: usize = 100;

/// Client input as an error quotes it: escaped (no control characters reach a
/// terminal or a log line) and at most [`CLIP_CHARS`] characters.
pub fn clip(s: &str) -> String {
    let mut escaped = s.chars().flat_map(char::escape_debug);
    let mut out: String = escaped.by_ref().take(CLIP_CHARS).collect();
    if escaped.next().is_some() {
        out.push_str(&format!("... ({} bytes)", s.len()));
    }
    out
}

/// At most `max` bytes of `s`, cut at a character boundary and marked when cut, so
/// cluster text cannot make a status or a listing larger than a reply may be.
pub fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len())
}

/// `s` with the password of every URL (`scheme://user:PASSWORD@host`) and every
/// `password=`/`pwd=`/`passwd=` parameter replaced by `***`. A step that quotes its
/// connection string in an error would otherwise put the password in the job's status.
/// Errs on the side of hiding: the password runs to the last `@` before a space or a
/// quote, since a password may hold `/`, `?` or `#` that a real URL would encode.
pub fn redact(s: &str) -> Cow<'_, str> {
    if !s.contains("://") && !has_password_param(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let token_end = after.find(is_token_end).unwrap_or(after.len());
        let token = &after[..token_end];
        match (token.rfind('@'), token.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&token[..=colon]);
                out.push_str("***");
                rest = &after[at..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    match redact_params(&out) {
        Cow::Borrowed(_) => Cow::Owned(out),
        Cow::Owned(o) => Cow::Owned(o),
    }
}

fn is_token_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')
}

const PASSWORD_KEYS: [&str; 3] = ["password=", "passwd=", "pwd="];

fn has_password_param(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    PASSWORD_KEYS.iter().any(|k| lower.contains(k))
}

/// Replaces the values of password parameters (`?password=x&`, `password=x` in a
/// key-value DSN). Keys match case-insensitively and only at a parameter's start.
fn redact_params(s: &str) -> Cow<'_, str> {
    if !has_password_param(s) {
        return Cow::Borrowed(s);
    }
    // ASCII lowercasing keeps byte offsets, so positions in `lower` are positions in `s`.
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        let at_param_start = i == 0
            || matches!(s.as_bytes()[i - 1], b'?' | b'&' | b';' | b',')
            || s.as_bytes()[i - 1].is_ascii_whitespace();
        let key = PASSWORD_KEYS
            .iter()
            .find(|k| at_param_start && lower[i..].starts_with(**k));
        match key {
            Some(k) => {
                let value_start = i + k.len();
                let value_end = s[value_start..]
                    .find(|c: char| matches!(c, '&' | ';' | ',' | '#') || is_token_end(c))
                    .map_or(s.len(), |e| value_start + e);
                out.push_str(&s[copied..value_start]);
                out.push_str("***");
                copied = value_end;
                i = value_end.max(i + 1);
            }
            None => i += 1,
        }
        while i < s.len() && !s.is_char_boundary(i) {
            i += 1;
        }
    }
    out.push_str(&s[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn passwords_in_urls_and_parameters_are_hidden() {
        for (input, want) in [
            ("no url here", "no url here"),
            (
                "cannot connect to mysql://u:pw@db:3306/x: denied",
                "cannot connect to mysql://u:***@db:3306/x: denied",
            ),
            ("mysql://u@db/x", "mysql://u@db/x"),
            ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
            // Unencoded '/', '@' and '#' in a password still hide all of it.
            ("postgres://u:a/b@c#d@h/db", "postgres://u:***@h/db"),
            (
                "'mysql://a:1@h' and \"postgres://b:2@k/db\"",
                "'mysql://a:***@h' and \"postgres://b:***@k/db\"",
            ),
            (
                "mysql://h/db?user=u&Password=pw&ssl=1",
                "mysql://h/db?user=u&Password=***&ssl=1",
            ),
            (
                "host=db user=u password=pw dbname=x",
                "host=db user=u password=*** dbname=x",
            ),
            ("new_password=x", "new_password=x"),
            ("mysql://ü:pä@h pwd=é", "mysql://ü:***@h pwd=***"),
        ] {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn clipping_and_capping_bound_the_text() {
        assert_eq!(clip("abc"), "abc");
        assert_eq!(clip("a\u{0}b"), "a\\0b");
        let long = "x".repeat(5000);
        let c = clip(&long);
        assert!(
            c.starts_with(&"x".repeat(100)) && c.ends_with("(5000 bytes)"),
            "{c}"
        );
        assert!(c.len() < 130);
        assert_eq!(cap("short", 10), "short");
        let c = cap(&"é".repeat(10), 5);
        assert_eq!(c, "éé... (20 bytes)");
    }

    proptest! {
        #[test]
        fn a_password_never_survives(
            user in "[a-z]{1,8}",
            pw in "[A-Za-z0-9!$%^*()/?#@:+=]{6,20}",
            host in "[a-z]{1,8}",
            before in "[ -~]{0,20}",
            after in "( [ -~]{0,20})?",
        ) {
            let text = format!("{before} mysql://{user}:{pw}@{host}:3306/db{after}");
            let r = redact(&text);
            let shown = r.replace(&before, "").replace(&after, "");
            prop_assert!(!shown.contains(&pw), "{} -> {}", text, r);
        }

        #[test]
        fn redaction_never_panics(s in "\\PC{0,80}") {
            let _ = redact(&s);
            let _ = clip(&s);
            let _ = cap(&s, 7);
        }
    }
}
