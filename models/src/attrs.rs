//! `WITH` attributes: the values the SQL parser produces, each estimator's declared
//! attributes, and the validation that turns user input into typed parameters.
//!
//! Validation is strict on purpose: a misspelt attribute silently ignored would train a
//! different model than the user asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::data::whole_number;
use crate::error::{ModelError, Result};

/// One attribute value as written after `WITH` (`key = value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttrValue {
    Int(i64),
    Float(f64),
    /// A quoted string: `objective = "multi:softprob"`.
    Str(String),
    /// A bare identifier: `model.max_features = sqrt`.
    Ident(String),
    List(Vec<AttrValue>),
    Bool(bool),
}

/// Attributes by key (`model.hidden_units`, `train.epoch`, `objective`, ...).
pub type Attrs = BTreeMap<String, AttrValue>;

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Int(v) => write!(f, "{v}"),
            AttrValue::Float(v) => write!(f, "{v:?}"),
            AttrValue::Str(s) => write!(f, "\"{s}\""),
            AttrValue::Ident(s) => write!(f, "{s}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::List(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
        }
    }
}

/// The type (and range) an attribute accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttrType {
    Int {
        min: i64,
        max: i64,
    },
    /// `min_open`: the minimum itself is not allowed (e.g. a learning rate of 0).
    Float {
        min: f64,
        max: f64,
        min_open: bool,
    },
    Bool,
    Choice(&'static [&'static str]),
    /// A non-empty list of integers in `[min, max]` (a single integer is a list of one).
    IntList {
        min: i64,
        max: i64,
    },
    /// scikit-learn's `max_features`: `sqrt`, `log2`, `all`, a count, or a fraction in (0, 1].
    MaxFeatures,
    /// Values a table-free rule checks (optimizer and activation names, metric lists):
    /// `normalize` returns the canonical value or `None`.
    Custom {
        expected: &'static str,
        normalize: fn(&AttrValue) -> Option<AttrValue>,
    },
    /// Accepted for compatibility and dropped: it tuned something that does not exist
    /// here (a distributed runtime, checkpoints, threads). The text says why.
    NoEffect(&'static str),
}

impl AttrType {
    fn expected(&self) -> String {
        match self {
            AttrType::Int { min, max } if *max == i64::MAX => format!("an integer >= {min}"),
            AttrType::Int { min, max } => format!("an integer in [{min}, {max}]"),
            AttrType::Float { min, max, min_open } => {
                let lo = if *min_open { "(" } else { "[" };
                if max.is_infinite() {
                    format!("a number {} {min}", if *min_open { ">" } else { ">=" })
                } else {
                    format!("a number in {lo}{min}, {max}]")
                }
            }
            AttrType::Bool => "true or false".to_string(),
            AttrType::Choice(choices) => format!("one of {}", choices.join(", ")),
            AttrType::IntList { min, max } => {
                format!("a list of integers in [{min}, {max}], e.g. [10, 20]")
            }
            AttrType::MaxFeatures => {
                "sqrt, log2, all, an integer count >= 1 or a fraction in (0, 1]".to_string()
            }
            AttrType::Custom { expected, .. } => expected.to_string(),
            AttrType::NoEffect(_) => "any value".to_string(),
        }
    }
}

/// One accepted attribute of an estimator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrSpec {
    pub name: &'static str,
    /// Other spellings users write for the same attribute.
    pub aliases: &'static [&'static str],
    pub ty: AttrType,
    /// `None`: no default; the estimator works it out from the data.
    pub default: Option<DefaultValue>,
}

/// `const`-friendly defaults (an `AttrValue` holds heap data).
#[derive(Debug, Clone, Copy)]
pub(crate) enum DefaultValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'static str),
    IntList(&'static [i64]),
}

impl DefaultValue {
    fn to_value(self) -> AttrValue {
        match self {
            DefaultValue::Int(v) => AttrValue::Int(v),
            DefaultValue::Float(v) => AttrValue::Float(v),
            DefaultValue::Bool(v) => AttrValue::Bool(v),
            DefaultValue::Str(v) => AttrValue::Str(v.to_string()),
            DefaultValue::IntList(v) => {
                AttrValue::List(v.iter().map(|i| AttrValue::Int(*i)).collect())
            }
        }
    }
}

/// Validated attributes: every declared attribute under its canonical name, in its
/// canonical type, with defaults filled in.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    values: Attrs,
    /// Canonical names of the attributes the user gave (not filled in by default).
    given: BTreeSet<&'static str>,
    /// One line per accepted attribute that has no effect here.
    notices: Vec<String>,
}

/// Checks `attrs` against `specs`. Keys are matched case-insensitively.
pub(crate) fn resolve(estimator: &str, specs: &[AttrSpec], attrs: &Attrs) -> Result<Resolved> {
    let mut values = Attrs::new();
    let mut notices = Vec::new();
    let mut given_as: BTreeMap<&'static str, String> = BTreeMap::new();
    for (key, value) in attrs {
        let lower = key.trim().to_ascii_lowercase();
        let spec = specs
            .iter()
            .find(|s| s.name == lower || s.aliases.contains(&lower.as_str()))
            .ok_or_else(|| ModelError::UnknownAttribute {
                estimator: estimator.to_string(),
                name: key.clone(),
                accepted: accepted_list(specs),
            })?;
        if let Some(first) = given_as.get(spec.name) {
            return Err(ModelError::InvalidAttribute {
                estimator: estimator.to_string(),
                name: key.clone(),
                expected: format!(
                    "'{}' given once (it was also given as '{first}')",
                    spec.name
                ),
                got: value.to_string(),
            });
        }
        given_as.insert(spec.name, key.clone());
        if let AttrType::NoEffect(why) = spec.ty {
            notices.push(format!("{key} has no effect here: {why}"));
            continue;
        }
        let normalized =
            normalize(&spec.ty, value).ok_or_else(|| ModelError::InvalidAttribute {
                estimator: estimator.to_string(),
                name: key.clone(),
                expected: spec.ty.expected(),
                got: value.to_string(),
            })?;
        values.insert(spec.name.to_string(), normalized);
    }
    let given = values
        .keys()
        .filter_map(|k| specs.iter().find(|s| s.name == k).map(|s| s.name))
        .collect();
    for spec in specs {
        if let (false, Some(default)) = (values.contains_key(spec.name), spec.default) {
            values.insert(spec.name.to_string(), default.to_value());
        }
    }
    Ok(Resolved {
        values,
        given,
        notices,
    })
}

/// (name, default) per spec, defaults rendered as a user would write them.
pub(crate) fn describe(specs: &[AttrSpec]) -> Vec<(&'static str, Option<String>)> {
    specs
        .iter()
        .map(|s| (s.name, s.default.map(|d| d.to_value().to_string())))
        .collect()
}

/// The attributes that change the model, then those accepted without effect: a user
/// looking for a misspelt name reads the useful ones first.
fn accepted_list(specs: &[AttrSpec]) -> String {
    let useful = specs
        .iter()
        .filter(|s| !matches!(s.ty, AttrType::NoEffect(_)))
        .map(|s| match s.default {
            Some(d) => format!("{} (default {})", s.name, d.to_value()),
            None => s.name.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let ignored: Vec<&str> = specs
        .iter()
        .filter(|s| matches!(s.ty, AttrType::NoEffect(_)))
        .map(|s| s.name)
        .collect();
    if ignored.is_empty() {
        useful
    } else {
        format!("{useful}; accepted without effect: {}", ignored.join(", "))
    }
}

/// Brings a user value to the spec's canonical type; `None` when it does not fit.
fn normalize(ty: &AttrType, value: &AttrValue) -> Option<AttrValue> {
    match ty {
        AttrType::Int { min, max } => {
            let v = as_int(value)?;
            (v >= *min && v <= *max).then_some(AttrValue::Int(v))
        }
        AttrType::Float { min, max, min_open } => {
            let v = match value {
                AttrValue::Int(i) => *i as f64,
                AttrValue::Float(f) => *f,
                _ => return None,
            };
            let above = if *min_open { v > *min } else { v >= *min };
            (v.is_finite() && above && v <= *max).then_some(AttrValue::Float(v))
        }
        AttrType::Bool => match value {
            AttrValue::Bool(b) => Some(AttrValue::Bool(*b)),
            AttrValue::Ident(s) | AttrValue::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(AttrValue::Bool(true)),
                "false" => Some(AttrValue::Bool(false)),
                _ => None,
            },
            AttrValue::Int(0) => Some(AttrValue::Bool(false)),
            AttrValue::Int(1) => Some(AttrValue::Bool(true)),
            _ => None,
        },
        AttrType::Choice(choices) => match value {
            AttrValue::Str(s) | AttrValue::Ident(s) => {
                let lower = s.trim().to_ascii_lowercase();
                choices
                    .iter()
                    .find(|c| c.to_ascii_lowercase() == lower)
                    .map(|c| AttrValue::Str(c.to_string()))
            }
            _ => None,
        },
        AttrType::IntList { min, max } => {
            let items: Vec<i64> = match value {
                AttrValue::List(items) => items.iter().map(as_int).collect::<Option<_>>()?,
                other => vec![as_int(other)?],
            };
            (!items.is_empty() && items.iter().all(|v| v >= min && v <= max))
                .then(|| AttrValue::List(items.into_iter().map(AttrValue::Int).collect()))
        }
        AttrType::MaxFeatures => match value {
            AttrValue::Str(s) | AttrValue::Ident(s) => {
                let lower = s.trim().to_ascii_lowercase();
                match lower.as_str() {
                    "sqrt" | "log2" | "all" => Some(AttrValue::Str(lower)),
                    "auto" | "none" => Some(AttrValue::Str("all".to_string())),
                    _ => None,
                }
            }
            AttrValue::Int(i) if *i >= 1 => Some(AttrValue::Int(*i)),
            AttrValue::Float(f) if *f > 0.0 && *f <= 1.0 => Some(AttrValue::Float(*f)),
            _ => None,
        },
        AttrType::Custom { normalize, .. } => normalize(value),
        AttrType::NoEffect(_) => Some(value.clone()),
    }
}

/// The text of a string or bare-name value.
pub(crate) fn text_of(value: &AttrValue) -> Option<&str> {
    match value {
        AttrValue::Str(s) | AttrValue::Ident(s) => Some(s.trim()),
        _ => None,
    }
}

/// Integers, and numbers that are whole (`train.epoch = 10.0`).
fn as_int(value: &AttrValue) -> Option<i64> {
    match value {
        AttrValue::Int(i) => Some(*i),
        AttrValue::Float(f) => whole_number(*f),
        _ => None,
    }
}

impl Resolved {
    /// Every attribute in effect, defaults included.
    pub fn values(&self) -> &Attrs {
        &self.values
    }

    /// Whether the user gave `name` (under any alias) rather than leaving the default.
    pub fn given(&self, name: &str) -> bool {
        self.given.contains(name)
    }

    /// Lines for the job's log about attributes accepted without effect.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Records a value worked out at training time (from the data or the estimator), so
    /// the saved attributes say what was used.
    pub fn set(&mut self, name: &str, value: AttrValue) {
        self.values.insert(name.to_string(), value);
    }

    pub fn opt_float(&self, name: &str) -> Option<f64> {
        match self.values.get(name) {
            Some(AttrValue::Float(v)) => Some(*v),
            Some(AttrValue::Int(v)) => Some(*v as f64),
            _ => None,
        }
    }

    pub fn opt_str(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(AttrValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(AttrValue::Bool(true)))
    }

    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.values.get(name)
    }

    // The getters below read values `resolve` already checked against the spec, so a
    // mismatch is a bug in a spec table; tests cover every table.
    pub fn int(&self, name: &str) -> i64 {
        match self.values.get(name) {
            Some(AttrValue::Int(v)) => *v,
            other => {
                debug_assert!(false, "attribute {name} is {other:?}, not an integer");
                0
            }
        }
    }

    pub fn opt_int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(AttrValue::Int(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn usize(&self, name: &str) -> usize {
        usize::try_from(self.int(name)).unwrap_or(0)
    }

    pub fn float(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(AttrValue::Float(v)) => *v,
            Some(AttrValue::Int(v)) => *v as f64,
            other => {
                debug_assert!(false, "attribute {name} is {other:?}, not a number");
                0.0
            }
        }
    }

    pub fn str(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(AttrValue::Str(s)) => s,
            other => {
                debug_assert!(false, "attribute {name} is {other:?}, not a string");
                ""
            }
        }
    }

    pub fn int_list(&self, name: &str) -> Vec<usize> {
        match self.values.get(name) {
            Some(AttrValue::List(items)) => items
                .iter()
                .filter_map(|v| match v {
                    AttrValue::Int(i) => usize::try_from(*i).ok(),
                    _ => None,
                })
                .collect(),
            other => {
                debug_assert!(false, "attribute {name} is {other:?}, not a list");
                Vec::new()
            }
        }
    }

    pub fn seed(&self, name: &str) -> u64 {
        self.int(name) as u64
    }
}

/// Attributes a warm start may not change: they fix the shape of the model.
pub(crate) fn check_same(
    estimator: &str,
    old: &Attrs,
    new: &Resolved,
    names: &[&str],
) -> Result<()> {
    for name in names {
        let (before, now) = (old.get(*name), new.get(name));
        if before != now {
            let show = |v: Option<&AttrValue>| v.map_or("unset".to_string(), |v| v.to_string());
            return Err(ModelError::WarmStart(format!(
                "{estimator} attribute '{name}' was {} in the existing model but is {} now; \
                 it fixes the model's shape, so keep it or train from scratch without USING",
                show(before),
                show(now)
            )));
        }
    }
    Ok(())
}

/// Shorthands that keep the per-estimator spec tables readable.
pub(crate) mod spec {
    use super::{AttrSpec, AttrType, DefaultValue};

    pub const fn int(name: &'static str, min: i64, default: i64) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Int { min, max: i64::MAX },
            default: Some(DefaultValue::Int(default)),
        }
    }

    pub const fn positive(name: &'static str, default: f64) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Float {
                min: 0.0,
                max: f64::INFINITY,
                min_open: true,
            },
            default: Some(DefaultValue::Float(default)),
        }
    }

    pub const fn non_negative(name: &'static str, default: f64) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Float {
                min: 0.0,
                max: f64::INFINITY,
                min_open: false,
            },
            default: Some(DefaultValue::Float(default)),
        }
    }

    pub const fn fraction(name: &'static str, default: f64) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Float {
                min: 0.0,
                max: 1.0,
                min_open: true,
            },
            default: Some(DefaultValue::Float(default)),
        }
    }

    pub const fn bool(name: &'static str, default: bool) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Bool,
            default: Some(DefaultValue::Bool(default)),
        }
    }

    pub const fn seed(name: &'static str) -> AttrSpec {
        int(name, 0, 0)
    }

    /// `spec` also answering to other spellings.
    pub const fn aliased(spec: AttrSpec, aliases: &'static [&'static str]) -> AttrSpec {
        AttrSpec { aliases, ..spec }
    }

    /// `spec` without a default: the estimator works the value out when it is not given.
    pub const fn optional(spec: AttrSpec) -> AttrSpec {
        AttrSpec {
            default: None,
            ..spec
        }
    }

    /// A number in `[min, max]` (`max` may be infinite).
    pub const fn float(name: &'static str, min: f64, max: f64, default: f64) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Float {
                min,
                max,
                min_open: false,
            },
            default: Some(DefaultValue::Float(default)),
        }
    }

    pub const fn choice(
        name: &'static str,
        choices: &'static [&'static str],
        default: &'static str,
    ) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Choice(choices),
            default: Some(DefaultValue::Str(default)),
        }
    }

    pub const fn custom(
        name: &'static str,
        expected: &'static str,
        normalize: fn(&super::AttrValue) -> Option<super::AttrValue>,
        default: Option<DefaultValue>,
    ) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::Custom {
                expected,
                normalize,
            },
            default,
        }
    }

    /// Accepted and dropped with a notice saying `why`.
    pub const fn no_effect(name: &'static str, why: &'static str) -> AttrSpec {
        AttrSpec {
            name,
            aliases: &[],
            ty: AttrType::NoEffect(why),
            default: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[AttrSpec] = &[
        spec::int("train.epoch", 1, 10),
        AttrSpec {
            name: "num_boost_round",
            aliases: &["train.num_boost_round"],
            ty: AttrType::Int {
                min: 1,
                max: i64::MAX,
            },
            default: Some(DefaultValue::Int(10)),
        },
        AttrSpec {
            name: "model.hidden_units",
            aliases: &[],
            ty: AttrType::IntList {
                min: 1,
                max: 100_000,
            },
            default: Some(DefaultValue::IntList(&[10, 20])),
        },
        AttrSpec {
            name: "objective",
            aliases: &[],
            ty: AttrType::Choice(&["binary:logistic", "reg:squarederror"]),
            default: None,
        },
        spec::positive("optimizer.learning_rate", 0.001),
    ];

    fn attrs(items: &[(&str, AttrValue)]) -> Attrs {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn defaults_fill_in_and_aliases_resolve() {
        let r = resolve(
            "X",
            SPECS,
            &attrs(&[("TRAIN.NUM_BOOST_ROUND", AttrValue::Int(5))]),
        )
        .unwrap();
        assert_eq!(r.int("num_boost_round"), 5);
        assert_eq!(r.int("train.epoch"), 10);
        assert_eq!(r.int_list("model.hidden_units"), vec![10, 20]);
        assert!(r.get("objective").is_none());
    }

    #[test]
    fn unknown_attribute_lists_accepted() {
        let err = resolve("X", SPECS, &attrs(&[("train.epochs", AttrValue::Int(5))])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("'train.epochs'"), "{msg}");
        assert!(msg.contains("train.epoch (default 10)"), "{msg}");
        assert!(msg.contains("model.hidden_units"), "{msg}");
    }

    #[test]
    fn wrong_types_and_ranges_are_named() {
        for (key, value, expect) in [
            (
                "train.epoch",
                AttrValue::Str("ten".into()),
                "an integer >= 1",
            ),
            ("train.epoch", AttrValue::Int(0), "an integer >= 1"),
            (
                "optimizer.learning_rate",
                AttrValue::Float(0.0),
                "a number > 0",
            ),
            (
                "model.hidden_units",
                AttrValue::List(vec![AttrValue::Int(0)]),
                "a list of integers",
            ),
            (
                "objective",
                AttrValue::Str("multi:foo".into()),
                "one of binary:logistic",
            ),
        ] {
            let msg = resolve("X", SPECS, &attrs(&[(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(msg.contains(key) && msg.contains(expect), "{msg}");
        }
    }

    #[test]
    fn alias_given_twice_is_an_error() {
        let err = resolve(
            "X",
            SPECS,
            &attrs(&[
                ("num_boost_round", AttrValue::Int(5)),
                ("train.num_boost_round", AttrValue::Int(6)),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("given once"), "{err}");
    }

    #[test]
    fn lenient_spellings() {
        let r = resolve(
            "X",
            SPECS,
            &attrs(&[
                ("train.epoch", AttrValue::Float(3.0)),
                ("model.hidden_units", AttrValue::Int(7)),
                ("objective", AttrValue::Ident("Binary:Logistic".into())),
                ("optimizer.learning_rate", AttrValue::Int(1)),
            ]),
        )
        .unwrap();
        assert_eq!(r.int("train.epoch"), 3);
        assert_eq!(r.int_list("model.hidden_units"), vec![7]);
        assert_eq!(r.str("objective"), "binary:logistic");
        assert_eq!(r.float("optimizer.learning_rate"), 1.0);
    }
}
