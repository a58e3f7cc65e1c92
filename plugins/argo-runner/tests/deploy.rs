//! The deployment in `deploy/` against the code: the RBAC Role grants exactly the API
//! calls the runner makes, the ConfigMap's `[runners.argo]` is a valid configuration
//! for the namespace and service account the manifests create, and the images build
//! in stages and run as non-root. (No cluster or Docker engine here: what can be
//! checked by reading is checked.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use argo_runner::{Config, kubeapi::API_CALLS};
use serde::Deserialize;
use serde_json::Value;
use sqlflow_plugin_api::sdk::parse_config;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// Every document of every manifest, as JSON.
fn manifests() -> Vec<Value> {
    let dir = deploy_dir().join("k8s");
    let mut docs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read manifest");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            if !v.is_null() {
                docs.push(v);
            }
        }
    }
    docs
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/k8s"))
}

fn server_config(docs: &[Value]) -> toml::Table {
    let cm = find(docs, "ConfigMap", "sqlflow-config");
    toml::from_str(cm["data"]["sqlflow.toml"].as_str().expect("sqlflow.toml")).expect("TOML")
}

#[test]
fn the_runners_role_grants_exactly_the_calls_it_makes() {
    let docs = manifests();
    let role = find(&docs, "Role", "sqlflow-runner");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        let groups: Vec<&str> = rule["apiGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        for res in rule["resources"].as_array().unwrap() {
            let res = res.as_str().unwrap();
            let want_group = if res == "workflows" {
                "argoproj.io"
            } else {
                ""
            };
            assert_eq!(groups, [want_group], "{res} is in API group '{want_group}'");
            for verb in rule["verbs"].as_array().unwrap() {
                granted.insert((res.to_string(), verb.as_str().unwrap().to_string()));
            }
        }
    }
    let used: BTreeSet<(String, String)> = API_CALLS
        .iter()
        .map(|(r, v)| (r.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        granted, used,
        "the Role must grant what the runner uses, and nothing more"
    );
}

#[test]
fn the_role_binds_the_servers_account_in_the_jobs_namespace() {
    let docs = manifests();
    let cfg = server_config(&docs);
    let argo = cfg["runners"]["argo"].as_table().expect("[runners.argo]");
    let jobs_ns = argo["namespace"].as_str().expect("namespace");
    let role = find(&docs, "Role", "sqlflow-runner");
    assert_eq!(role["metadata"]["namespace"], jobs_ns);
    let binding = find(&docs, "RoleBinding", "sqlflow-runner");
    assert_eq!(binding["metadata"]["namespace"], jobs_ns);
    assert_eq!(binding["roleRef"]["name"], "sqlflow-runner");
    let deploy = find(&docs, "Deployment", "sqlflow-server");
    let sa = deploy["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .unwrap();
    let subject = &binding["subjects"][0];
    assert_eq!(subject["name"], sa);
    assert_eq!(subject["namespace"], deploy["metadata"]["namespace"]);
    find(&docs, "ServiceAccount", sa);
    // Step pods' account exists where the steps run, with what Argo's executor needs.
    let step_sa = argo["service_account"].as_str().expect("service_account");
    let sa_doc = find(&docs, "ServiceAccount", step_sa);
    assert_eq!(sa_doc["metadata"]["namespace"], jobs_ns);
    let step_role = find(&docs, "Role", step_sa);
    assert_eq!(step_role["rules"][0]["resources"][0], "workflowtaskresults");
    for ns in [jobs_ns, deploy["metadata"]["namespace"].as_str().unwrap()] {
        find(&docs, "Namespace", ns);
    }
}

#[test]
fn the_configmap_is_a_valid_argo_configuration() {
    let docs = manifests();
    let cfg = server_config(&docs);
    assert_eq!(cfg["job_runner"].as_str(), Some("argo"));
    let argo = serde_json::to_string(&cfg["runners"]["argo"]).unwrap();
    let parsed: Config = parse_config(&argo).unwrap_or_else(|e| panic!("[runners.argo]: {e:?}"));
    parsed
        .validate()
        .unwrap_or_else(|e| panic!("[runners.argo]: {e:?}"));
    // The port the server listens on is the one the pod and the Service expose.
    let listen = cfg["listen"].as_str().unwrap();
    let port: u64 = listen.rsplit(':').next().unwrap().parse().unwrap();
    let deploy = find(&docs, "Deployment", "sqlflow-server");
    let c = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["ports"][0]["containerPort"], port);
    assert_eq!(c["readinessProbe"]["grpc"]["port"], port);
    assert_eq!(c["readinessProbe"]["grpc"]["service"], "sqlflow.SQLFlow");
    let svc = find(&docs, "Service", "sqlflow");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], c["ports"][0]["name"]);
    assert!(
        deploy["spec"]["replicas"].as_u64().unwrap() >= 2,
        "several replicas"
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );
    // The tokens file the config names is mounted.
    let tokens = cfg["auth"]["tokens_file"].as_str().unwrap();
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| tokens.starts_with(m["mountPath"].as_str().unwrap()))
    );
}

#[test]
fn the_kustomization_lists_every_manifest() {
    let dir = deploy_dir().join("k8s");
    let k: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap())
            .unwrap();
    let listed: BTreeSet<String> = k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
}

#[test]
fn the_images_build_in_stages_and_run_as_non_root() {
    for name in ["Dockerfile.server", "Dockerfile.step"] {
        let text = std::fs::read_to_string(deploy_dir().join(name)).unwrap();
        let froms = text.lines().filter(|l| l.starts_with("FROM ")).count();
        assert!(froms >= 2, "{name}: multi-stage");
        let last_stage = text.rsplit("\nFROM ").next().unwrap();
        let user = last_stage
            .lines()
            .find_map(|l| l.strip_prefix("USER "))
            .unwrap_or_else(|| panic!("{name}: the final stage sets USER"));
        let uid: u32 = user
            .split(':')
            .next()
            .unwrap()
            .parse()
            .expect("numeric USER");
        assert_ne!(uid, 0, "{name}: non-root");
        assert!(deploy_dir().join(format!("{name}.dockerignore")).is_file());
    }
    // The step image puts sqlflow-step where the Workflow's command finds it.
    let step = std::fs::read_to_string(deploy_dir().join("Dockerfile.step")).unwrap();
    assert!(step.contains("/usr/local/bin/sqlflow-step"));
    assert!(step.contains(argo_runner::codegen::STEP_COMMAND));
    // The server image ships the plugin beside the server (plugin_dir's default).
    let server = std::fs::read_to_string(deploy_dir().join("Dockerfile.server")).unwrap();
    assert!(server.contains(&sqlflow_plugin_api::library_file_name("argo")));
}
