//! A runner's configuration: its `[runners.<name>]` table, arriving as JSON.

use crate::RunnerError;

/// Parses a runner's configuration (its `[runners.<name>]` table as JSON; `"{}"` when
/// the operator wrote no table, so give every field a default or require it explicitly).
///
/// An error names the failing key (`limits.memory_mb`) in
/// [`RunnerError::config_path`], and its message is serde's without the position in the
/// JSON (which the operator never wrote), so the host can say
/// `runners.local.limits.memory_mb: invalid type: string "x", expected u64` and where
/// the value came from (the file or an environment variable).
pub fn parse_config<T: serde::de::DeserializeOwned>(config_json: &str) -> Result<T, RunnerError> {
    let de = &mut serde_json::Deserializer::from_str(config_json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = without_position(e.inner());
        if path == "." || path.is_empty() {
            RunnerError::invalid_argument(format!("invalid runner configuration: {message}"))
        } else {
            RunnerError::config(path, message)
        }
    })
}

/// serde_json's message without its " at line L column C" suffix.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        #[serde(default)]
        max_jobs: u32,
        #[serde(default)]
        limits: Limits,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Limits {
        #[serde(default)]
        memory_mb: u64,
    }

    fn err(json: &str) -> RunnerError {
        parse_config::<Cfg>(json).unwrap_err()
    }

    #[test]
    fn an_error_names_the_key_and_not_a_json_position() {
        let e = err(r#"{"max_jobs": "x"}"#);
        assert_eq!(
            e.config_path.clone().into_option().unwrap().as_str(),
            "max_jobs"
        );
        assert_eq!(
            e.message.as_str(),
            r#"invalid type: string "x", expected u32"#
        );

        let e = err(r#"{"limits": {"memory_mb": -1}}"#);
        assert_eq!(
            e.config_path.clone().into_option().unwrap().as_str(),
            "limits.memory_mb"
        );
        assert!(!e.message.contains("line"), "{}", e.message);
    }

    #[test]
    fn an_unknown_key_is_named() {
        let e = err(r#"{"max_job": 1}"#);
        assert!(
            e.message.contains("unknown field `max_job`"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("column"), "{}", e.message);
    }

    #[test]
    fn a_missing_table_is_the_defaults() {
        let cfg: Cfg = parse_config("{}").unwrap();
        assert_eq!((cfg.max_jobs, cfg.limits.memory_mb), (0, 0));
    }
}
