//! Generated Workflows against Argo's JSON schema
//! (`shared/argo/workflow-schema.json` beside the workspace), for the tests that compile
//! programs: tests/codegen.rs and tests/tutorials.rs. Included on its own, with
//! `#[path = "support/schema.rs"] mod schema;`, so those tests do not build the fake
//! API server of `mod support`.

use std::path::Path;

use serde_json::{Value, json};

/// Argo's Workflow schema, relative to this package.
const SCHEMA: &str = "../../../shared/argo/workflow-schema.json";
/// The definition in it that a Workflow must satisfy.
const WORKFLOW_DEF: &str = "io.argoproj.workflow.v1alpha1.Workflow";

/// Argo's schema; None (and a SKIPPED line on stderr) when its file is absent, in which
/// case the schema checks do not run.
pub fn schema() -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA);
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).expect("the schema is JSON")),
        Err(_) => {
            eprintln!(
                "SKIPPED: {} is absent; the schema checks did not run",
                path.display()
            );
            None
        }
    }
}

/// Checks `workflow` against the Workflow definition of the schema `root`: the errors,
/// and the keys the schema does not know (see [`Validator`]), each as a JSON path.
pub fn validate(root: &Value, workflow: &Value) -> (Vec<String>, Vec<String>) {
    let mut v = Validator {
        root,
        errors: Vec::new(),
        unknown: Vec::new(),
    };
    v.check(
        &json!({"$ref": format!("#/definitions/{WORKFLOW_DEF}")}),
        workflow,
        "$",
    );
    (v.errors, v.unknown)
}

/// [`validate`]'s errors and unknown keys in one list, an unknown key reading
/// `<path>: a key Argo does not know`.
#[allow(dead_code)] // tests/codegen.rs looks at the two apart
pub fn problems(root: &Value, workflow: &Value) -> Vec<String> {
    let (mut errors, unknown) = validate(root, workflow);
    errors.extend(
        unknown
            .into_iter()
            .map(|p| format!("{p}: a key Argo does not know")),
    );
    errors
}

/// The subset of JSON Schema Argo's schema uses: $ref, type, properties, required,
/// items, additionalProperties, const, enum, oneOf. `unknown` collects keys of objects
/// whose schema lists properties and says nothing about others: the schema accepts
/// them, Argo would silently ignore them.
struct Validator<'a> {
    root: &'a Value,
    errors: Vec<String>,
    unknown: Vec<String>,
}

impl Validator<'_> {
    fn check(&mut self, schema: &Value, v: &Value, path: &str) {
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.trim_start_matches("#/definitions/");
            let def = &self.root["definitions"][name];
            assert!(!def.is_null(), "unresolvable $ref {r}");
            return self.check(def, v, path);
        }
        if let Some(c) = schema.get("const")
            && c != v
        {
            self.errors
                .push(format!("{path}: {v} is not the constant {c}"));
        }
        if let Some(e) = schema["enum"].as_array()
            && !e.contains(v)
        {
            self.errors.push(format!("{path}: {v} is not one of {e:?}"));
        }
        if let Some(t) = schema["type"].as_str() {
            let ok = match t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "null" => v.is_null(),
                other => panic!("type {other} not handled"),
            };
            if !ok {
                self.errors.push(format!("{path}: {v} is not of type {t}"));
                return;
            }
        }
        if let Some(options) = schema["oneOf"].as_array() {
            let matching = options
                .iter()
                .filter(|o| {
                    let mut sub = Validator {
                        root: self.root,
                        errors: Vec::new(),
                        unknown: Vec::new(),
                    };
                    sub.check(o, v, path);
                    sub.errors.is_empty()
                })
                .count();
            if matching != 1 {
                self.errors
                    .push(format!("{path}: matches {matching} of oneOf"));
            }
        }
        if let Some(obj) = v.as_object() {
            for r in schema["required"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap_or_default();
                if !obj.contains_key(r) {
                    self.errors.push(format!("{path}: missing required {r}"));
                }
            }
            let props = schema["properties"].as_object();
            for (k, val) in obj {
                let p = format!("{path}.{k}");
                match (
                    props.and_then(|ps| ps.get(k)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(s), _) => self.check(s, val, &p),
                    (None, Some(Value::Bool(false))) => {
                        self.errors.push(format!("{p}: not allowed"))
                    }
                    (None, Some(Value::Bool(true))) => {}
                    (None, Some(s)) => self.check(s, val, &p),
                    (None, None) if props.is_some() => self.unknown.push(p),
                    (None, None) => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                self.check(items, x, &format!("{path}[{i}]"));
            }
        }
    }
}
