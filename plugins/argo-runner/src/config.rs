//! `[runners.argo]` in sqlflow.toml.

use std::{collections::BTreeMap, path::PathBuf};

use serde::{Deserialize, Deserializer};
use sqlflow_plugin_api::RunnerError;

use crate::codegen::MANAGED_BY_KEY;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where Workflows and their Secrets are created. Default: the namespace of the
    /// kube config (in a pod: the pod's own namespace).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The image every step runs; it must contain `sqlflow-step` on its `$PATH`.
    #[serde(default)]
    pub step_image: Option<String>,
    /// `Always`, `IfNotPresent` or `Never`; unset: Kubernetes' default for the tag.
    #[serde(default)]
    pub image_pull_policy: Option<String>,
    /// The service account step pods run as (Argo's executor needs it to report results).
    #[serde(default)]
    pub service_account: Option<String>,
    /// The Argo UI's base URL; jobs then link to `<argo_ui>/workflows/<ns>/<name>`.
    #[serde(default)]
    pub argo_ui: Option<String>,
    /// Requests and limits of each step's container.
    #[serde(default)]
    pub resources: Resources,
    /// Finished Workflows (and their Secrets) are deleted this long after they end.
    #[serde(default = "default_ttl")]
    pub ttl_seconds_after_finished: u32,
    /// Step pods are deleted this long after the Workflow ends; until then the final
    /// Fetch can read the last step's log.
    #[serde(default = "default_pod_gc_delay")]
    pub pod_gc_delay_seconds: u32,
    /// Argo stops a Workflow running longer than this: the backstop when no server is
    /// left to reap abandoned jobs.
    #[serde(default = "default_active_deadline")]
    pub active_deadline_seconds: u32,
    /// More labels on every Workflow, Secret and step pod.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A kube config file to use instead of the standard places (`$KUBECONFIG`,
    /// `~/.kube/config`, then the in-cluster service account).
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Bytes of log per Fetch reply (a single longer record, up to 3 MiB, is still sent
    /// whole). At most 3 MiB, so a reply fits the 4 MiB a default gRPC client accepts.
    #[serde(default = "default_page_bytes")]
    pub fetch_page_bytes: u64,
    /// How often a long-polling Fetch's running step is checked for new log lines.
    #[serde(default = "default_log_poll_ms")]
    pub log_poll_ms: u64,
    /// Programs with more statements are refused: each statement is a step and a pod.
    #[serde(default = "default_max_statements")]
    pub max_statements: usize,
    /// The images `TO RUN` may start: an exact reference (`registry.example/team/binning:1.0`)
    /// or a prefix ending in `*` (`registry.example/team/*`). Empty: `TO RUN` is refused, as
    /// under the local runner, because the image runs with the job's datasource credentials.
    #[serde(default)]
    pub run_images: Vec<String>,
}

/// Kubernetes resource quantities by resource name (`cpu`, `memory`, ...).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub requests: BTreeMap<String, Quantity>,
    #[serde(default)]
    pub limits: BTreeMap<String, Quantity>,
}

/// A quantity such as `500m` or `2Gi`. Numbers are accepted too: an environment
/// override like `SQLFLOW_RUNNERS__ARGO__RESOURCES__REQUESTS__CPU=2` arrives as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(pub String);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
            F(f64),
        }
        Ok(Quantity(match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::I(i) => i.to_string(),
            Raw::F(f) => f.to_string(),
        }))
    }
}

fn default_ttl() -> u32 {
    86_400
}
fn default_pod_gc_delay() -> u32 {
    3_600
}
fn default_active_deadline() -> u32 {
    86_400
}
fn default_page_bytes() -> u64 {
    1 << 20
}
fn default_log_poll_ms() -> u64 {
    1_000
}
fn default_max_statements() -> usize {
    200
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: None,
            step_image: None,
            image_pull_policy: None,
            service_account: None,
            argo_ui: None,
            resources: Resources::default(),
            ttl_seconds_after_finished: default_ttl(),
            pod_gc_delay_seconds: default_pod_gc_delay(),
            active_deadline_seconds: default_active_deadline(),
            labels: BTreeMap::new(),
            kubeconfig: None,
            fetch_page_bytes: default_page_bytes(),
            log_poll_ms: default_log_poll_ms(),
            max_statements: default_max_statements(),
            run_images: Vec::new(),
        }
    }
}

/// The largest page: with the status and a record it fits 4 MiB, what default gRPC
/// clients accept.
pub const MAX_PAGE_BYTES: u64 = 3 << 20;

/// Label keys this runner sets itself; the `labels` table may not override them.
pub const RESERVED_LABEL_PREFIXES: &[&str] = &["sqlflow.org/", "workflows.argoproj.io/"];

impl Config {
    /// Checks everything that can be checked without a cluster, so a misconfigured
    /// server stops at start-up.
    pub fn validate(&self) -> Result<(), RunnerError> {
        match self.step_image.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(RunnerError::config(
                    "step_image",
                    "is required: the image with sqlflow-step that every workflow step runs \
                     (build it from deploy/Dockerfile.step)",
                ));
            }
            Some(img) if img.chars().any(char::is_whitespace) => {
                return Err(RunnerError::config(
                    "step_image",
                    format!("'{img}' is not an image reference (it contains whitespace)"),
                ));
            }
            Some(_) => {}
        }
        if let Some(p) = &self.image_pull_policy
            && !matches!(p.as_str(), "Always" | "IfNotPresent" | "Never")
        {
            return Err(RunnerError::config(
                "image_pull_policy",
                format!("'{p}' is not one of Always, IfNotPresent, Never"),
            ));
        }
        if let Some(ns) = &self.namespace
            && !is_dns_label(ns)
        {
            return Err(RunnerError::config(
                "namespace",
                format!("'{ns}' is not a valid namespace name (lowercase letters, digits, '-')"),
            ));
        }
        if let Some(sa) = &self.service_account
            && !is_dns_subdomain(sa)
        {
            return Err(RunnerError::config(
                "service_account",
                format!("'{sa}' is not a valid service account name"),
            ));
        }
        if let Some(ui) = &self.argo_ui
            && !(ui.starts_with("http://") || ui.starts_with("https://"))
        {
            return Err(RunnerError::config(
                "argo_ui",
                format!("'{ui}' is not an http:// or https:// URL"),
            ));
        }
        for (kind, map) in [
            ("requests", &self.resources.requests),
            ("limits", &self.resources.limits),
        ] {
            for (name, q) in map {
                if !is_quantity(&q.0) {
                    return Err(RunnerError::config(
                        format!("resources.{kind}.{name}"),
                        format!("'{}' is not a Kubernetes quantity (like 500m, 2, 1Gi)", q.0),
                    ));
                }
            }
        }
        if self.ttl_seconds_after_finished == 0 {
            return Err(RunnerError::config(
                "ttl_seconds_after_finished",
                "must be at least 1: clients need time to fetch a finished job",
            ));
        }
        if self.pod_gc_delay_seconds == 0 {
            return Err(RunnerError::config(
                "pod_gc_delay_seconds",
                "must be at least 1: the last step's log is read from its pod after the workflow ends",
            ));
        }
        if self.pod_gc_delay_seconds > self.ttl_seconds_after_finished {
            return Err(RunnerError::config(
                "pod_gc_delay_seconds",
                format!(
                    "{} is longer than ttl_seconds_after_finished ({}): pods go with their workflow",
                    self.pod_gc_delay_seconds, self.ttl_seconds_after_finished
                ),
            ));
        }
        if self.active_deadline_seconds == 0 {
            return Err(RunnerError::config(
                "active_deadline_seconds",
                "must be at least 1 (Argo would stop every workflow at once)",
            ));
        }
        for (k, v) in &self.labels {
            if RESERVED_LABEL_PREFIXES.iter().any(|p| k.starts_with(p)) || k == MANAGED_BY_KEY {
                return Err(RunnerError::config(
                    format!("labels.{k}"),
                    "this label is set by the runner itself",
                ));
            }
            if !is_label_key(k) {
                return Err(RunnerError::config(
                    format!("labels.{k}"),
                    "not a valid label key ([prefix/]name, name up to 63 of [A-Za-z0-9-_.])",
                ));
            }
            if !is_label_value(v) {
                return Err(RunnerError::config(
                    format!("labels.{k}"),
                    format!("'{v}' is not a valid label value (up to 63 of [A-Za-z0-9-_.])"),
                ));
            }
        }
        if !(1024..=MAX_PAGE_BYTES).contains(&self.fetch_page_bytes) {
            return Err(RunnerError::config(
                "fetch_page_bytes",
                format!(
                    "must be between 1024 and {MAX_PAGE_BYTES} (3 MiB): a reply must fit \
                     the 4 MiB a default gRPC client accepts"
                ),
            ));
        }
        if !(100..=60_000).contains(&self.log_poll_ms) {
            return Err(RunnerError::config(
                "log_poll_ms",
                "must be between 100 and 60000",
            ));
        }
        if self.max_statements == 0 || self.max_statements > 10_000 {
            return Err(RunnerError::config(
                "max_statements",
                "must be between 1 and 10000",
            ));
        }
        for (i, pattern) in self.run_images.iter().enumerate() {
            let reference = pattern.strip_suffix('*').unwrap_or(pattern);
            if !is_image_reference(reference) || reference.contains('*') {
                return Err(RunnerError::config(
                    format!("run_images[{i}]"),
                    format!(
                        "'{pattern}' is neither an image reference nor one's prefix followed \
                         by '*' (letters, digits and . _ - / : @)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether `TO RUN` may start `image` (a plain reference, see [`is_image_reference`]).
    pub fn may_run_image(&self, image: &str) -> bool {
        self.run_images.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => image.starts_with(prefix),
            None => image == p,
        })
    }
}

/// Longest image reference accepted (Docker's limit on a repository name is 255).
pub const MAX_IMAGE_CHARS: usize = 255;

/// A plain container image reference: what `TO RUN` may name and `run_images` may list.
/// `..` and `//` are refused too: no registry names an image so, and a prefix pattern must
/// not be escapable by path tricks in whatever later resolves the name.
pub fn is_image_reference(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_IMAGE_CHARS
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@')
        })
        && !s.contains("..")
        && !s.contains("//")
}

/// RFC 1123 label: what namespaces and label name parts must be.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: what most object names must be.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label value: empty, or up to 63 of `[A-Za-z0-9-_.]` starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let b = s.as_bytes();
    s.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

pub fn is_label_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

/// A Kubernetes quantity: a signed decimal number with an optional suffix.
fn is_quantity(s: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ];
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(digits_end);
    let num_ok = !num.is_empty() && num != "." && num.matches('.').count() <= 1;
    let exp_ok = suffix.strip_prefix(['e', 'E']).is_some_and(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    num_ok && (SUFFIXES.contains(&suffix) || exp_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlflow_plugin_api::sdk::parse_config;

    fn key_of(e: &RunnerError) -> Option<String> {
        e.config_path.clone().into_option().map(|p| p.to_string())
    }

    fn ok() -> Config {
        Config {
            step_image: Some("registry.example/sqlflow-step:1".into()),
            ..Config::default()
        }
    }

    #[test]
    fn the_minimal_config_is_the_step_image() {
        let c: Config = parse_config(r#"{"step_image": "sqlflow/step:1"}"#).unwrap();
        c.validate().unwrap();
        assert_eq!(c.ttl_seconds_after_finished, 86_400);
        assert_eq!(c.pod_gc_delay_seconds, 3_600);
    }

    #[test]
    fn a_missing_step_image_names_the_key() {
        let c: Config = parse_config("{}").unwrap();
        let e = c.validate().unwrap_err();
        assert_eq!(key_of(&e).as_deref(), Some("step_image"));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let e = parse_config::<Config>(r#"{"step_image":"x","namepsace":"a"}"#).unwrap_err();
        assert!(e.message.contains("namepsace"), "{e:?}");
        let e = parse_config::<Config>(r#"{"resources":{"requests":{"cpu":"1"},"limit":{}}}"#)
            .unwrap_err();
        assert_eq!(key_of(&e).as_deref(), Some("resources.limit"));
    }

    #[test]
    fn numbers_are_quantities_too() {
        let c: Config = parse_config(
            r#"{"step_image":"x","resources":{"requests":{"cpu":2,"memory":"1Gi"},"limits":{"cpu":1.5}}}"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.resources.requests["cpu"], Quantity("2".into()));
        assert_eq!(c.resources.limits["cpu"], Quantity("1.5".into()));
    }

    #[test]
    fn bad_values_name_their_key() {
        type Breaker = Box<dyn Fn(&mut Config)>;
        let cases: Vec<(&str, Breaker)> = vec![
            (
                "image_pull_policy",
                Box::new(|c| c.image_pull_policy = Some("always".into())),
            ),
            (
                "namespace",
                Box::new(|c| c.namespace = Some("Prod_NS".into())),
            ),
            (
                "service_account",
                Box::new(|c| c.service_account = Some("a b".into())),
            ),
            (
                "argo_ui",
                Box::new(|c| c.argo_ui = Some("argo.example".into())),
            ),
            (
                "resources.limits.memory",
                Box::new(|c| {
                    c.resources
                        .limits
                        .insert("memory".into(), Quantity("lots".into()));
                }),
            ),
            (
                "ttl_seconds_after_finished",
                Box::new(|c| c.ttl_seconds_after_finished = 0),
            ),
            (
                "pod_gc_delay_seconds",
                Box::new(|c| c.pod_gc_delay_seconds = 100_000),
            ),
            (
                "active_deadline_seconds",
                Box::new(|c| c.active_deadline_seconds = 0),
            ),
            (
                "labels.sqlflow.org/user",
                Box::new(|c| {
                    c.labels.insert("sqlflow.org/user".into(), "x".into());
                }),
            ),
            (
                "labels.team",
                Box::new(|c| {
                    c.labels.insert("team".into(), "data science".into());
                }),
            ),
            ("fetch_page_bytes", Box::new(|c| c.fetch_page_bytes = 10)),
            (
                "fetch_page_bytes",
                Box::new(|c| c.fetch_page_bytes = MAX_PAGE_BYTES + 1),
            ),
            ("log_poll_ms", Box::new(|c| c.log_poll_ms = 1)),
            ("max_statements", Box::new(|c| c.max_statements = 0)),
            (
                "run_images[1]",
                Box::new(|c| c.run_images = vec!["team/a:1".into(), "team/*/x".into()]),
            ),
            (
                "run_images[0]",
                Box::new(|c| c.run_images = vec!["$(id)".into()]),
            ),
            (
                "step_image",
                Box::new(|c| c.step_image = Some("a b".into())),
            ),
        ];
        for (key, break_it) in cases {
            let mut c = ok();
            break_it(&mut c);
            let e = c.validate().unwrap_err();
            assert_eq!(key_of(&e).as_deref(), Some(key), "{e:?}");
        }
    }

    #[test]
    fn run_images_are_exact_references_or_prefixes() {
        let c = Config {
            run_images: vec![
                "registry.example/team/binning:1.0".into(),
                "registry.example/tools/*".into(),
            ],
            ..ok()
        };
        c.validate().unwrap();
        assert!(c.may_run_image("registry.example/team/binning:1.0"));
        assert!(!c.may_run_image("registry.example/team/binning:1.1"));
        assert!(!c.may_run_image("registry.example/team/binning"));
        assert!(c.may_run_image("registry.example/tools/ts:2"));
        assert!(!c.may_run_image("registry.example/toolsx/ts:2"));
        assert!(!ok().may_run_image("anything:1"), "nothing runs by default");
        for bad in ["a/../b", "a//b", "", "-a", "a b"] {
            assert!(!is_image_reference(bad), "{bad}");
        }
    }

    #[test]
    fn quantities() {
        for good in ["1", "500m", "1.5", "2Gi", "128Mi", "1e3", "+1", "0.5G"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "lots", "1 Gi", "Gi", "1GiB", ".", "1.2.3", "1e"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn label_rules() {
        assert!(is_label_value(""));
        assert!(is_label_value("alice.b-c_d"));
        assert!(!is_label_value("-alice"));
        assert!(!is_label_value("alice@example.com"));
        assert!(!is_label_value(&"a".repeat(64)));
        assert!(is_label_key("example.com/team"));
        assert!(is_label_key("team"));
        assert!(!is_label_key("Example.com/team"));
        assert!(!is_label_key("/team"));
    }
}
