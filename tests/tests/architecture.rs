//! The architecture's dependency rules, checked mechanically (ARCHITECTURE.md,
//! "Invariants"): what each crate may depend on, in the graph a workspace build resolves
//! (Cargo unifies features across the workspace, so an optional dependency that any
//! member turns on counts for everyone), and that the runner `.so` files this build made
//! do not contain tonic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::{
    collections::{BTreeSet, HashMap},
    fs,
    path::Path,
    process::Command,
};

use serde_json::Value;

/// The workspace's dependency graph: package name → the names of its normal (linked)
/// dependencies, as `cargo metadata` resolves them for the whole workspace.
struct Graph {
    normal: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    fn load() -> Graph {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        // The graph of a build on this machine: other platforms' dependencies are
        // neither linked nor downloaded.
        let version = Command::new(&cargo)
            .arg("-vV")
            .output()
            .expect("run cargo -vV");
        let version = String::from_utf8_lossy(&version.stdout);
        let host = version
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .expect("cargo -vV names the host");
        let out = Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--offline"])
            .args(["--filter-platform", host, "--manifest-path"])
            .arg(&manifest)
            .output()
            .expect("run cargo metadata");
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
        let names: HashMap<&str, &str> = meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        let mut normal = HashMap::new();
        for node in meta["resolve"]["nodes"].as_array().expect("resolve.nodes") {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|d| {
                    // A dependency is linked when one of its kinds is normal (kind null);
                    // dev- and build-dependencies never end up in the artifact.
                    d["dep_kinds"]
                        .as_array()
                        .expect("dep_kinds")
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| names[d["pkg"].as_str().unwrap()].to_string())
                .collect();
            normal.insert(names[node["id"].as_str().unwrap()].to_string(), deps);
        }
        Graph { normal }
    }

    /// Every crate `root` links, directly or not.
    fn closure(&self, root: &str) -> BTreeSet<String> {
        assert!(
            self.normal.contains_key(root),
            "no package {root} in the workspace"
        );
        let mut seen = BTreeSet::new();
        let mut todo = vec![root.to_string()];
        while let Some(p) = todo.pop() {
            for d in &self.normal[&p] {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    }

    /// Fails naming every forbidden crate `root` links, and through which of its
    /// direct dependencies.
    fn forbid(&self, root: &str, forbidden: &[&str], why: &str) -> Vec<String> {
        let reached = self.closure(root);
        forbidden
            .iter()
            .filter(|f| reached.contains(**f))
            .map(|f| {
                let via: Vec<&str> = self.normal[root]
                    .iter()
                    .filter(|d| d.as_str() == *f || self.closure(d).contains(*f))
                    .map(String::as_str)
                    .collect();
                format!("{root} links {f} (via {via:?}): {why}")
            })
            .collect()
    }
}

/// The gRPC service stack: only the host, the CLI and the end-to-end tests link it.
const GRPC: &[&str] = &[
    "tonic",
    "tonic-prost",
    "tonic-health",
    "tonic-reflection",
    "sqlflow-grpc",
    "axum",
];
const RUNNERS: &[&str] = &["local-runner", "argo-runner"];

#[test]
fn crates_depend_only_on_what_the_architecture_allows() {
    let g = Graph::load();
    let mut broken = Vec::new();
    let no_grpc = "runners, the engine and the plugin API never compile tonic";
    for krate in [
        "sqlflow-proto",
        "sqlflow-jobdir",
        "sqlflow-plugin-api",
        "sqlflow-plugin-host",
        "sqlflow-runner-testkit",
        "local-runner",
        "argo-runner",
        "fixture-runner",
        "sqlflow-engine",
        "sqlflow-sql",
        "sqlflow-models",
    ] {
        broken.extend(g.forbid(krate, GRPC, no_grpc));
    }
    broken.extend(g.forbid(
        "sqlflow-proto",
        &["tokio", "hyper", "h2", "sqlflow-jobdir"],
        "the protocol crate is messages and the record codec only",
    ));
    broken.extend(
        g.forbid(
            "sqlflow-plugin-api",
            &[
                "hyper",
                "h2",
                "sqlflow-jobdir",
                "sqlflow-engine",
                "sqlflow-server",
            ]
            .iter()
            .chain(RUNNERS)
            .copied()
            .collect::<Vec<_>>(),
            "the plugin API knows no concrete runner, no server and no HTTP stack",
        ),
    );
    broken.extend(
        g.forbid(
            "sqlflow-server",
            &["sqlflow-engine", "sqlflow-jobdir", "kube"]
                .iter()
                .chain(RUNNERS)
                .copied()
                .collect::<Vec<_>>(),
            "the host never names a concrete runner; it knows plugin-api and nothing else",
        ),
    );
    broken.extend(
        g.forbid(
            "sqlflow-engine",
            &[
                "hyper",
                "h2",
                "kube",
                "sqlflow-plugin-api",
                "sqlflow-server",
            ]
            .iter()
            .chain(RUNNERS)
            .copied()
            .collect::<Vec<_>>(),
            "the engine knows nothing of gRPC, runners or the server",
        ),
    );
    broken.extend(g.forbid(
        "argo-runner",
        &["sqlflow-jobdir", "sqlflow-engine", "local-runner"],
        "the job directory is the local runner's storage; Argo's jobs live in the cluster",
    ));
    broken.extend(
        g.forbid(
            "sqlflow-client",
            &["sqlflow-plugin-api", "sqlflow-engine", "sqlflow-jobdir"]
                .iter()
                .chain(RUNNERS)
                .copied()
                .collect::<Vec<_>>(),
            "the CLI knows only the public protocol",
        ),
    );
    broken.extend(g.forbid(
        "sqlflow-sql",
        &["rusqlite", "sqlx", "libsqlite3-sys"],
        "runners share the SQL text handling without database drivers",
    ));
    let models: Vec<&String> = g.normal["sqlflow-models"]
        .iter()
        .filter(|d| !["serde", "serde_json", "thiserror", "matrixmultiply"].contains(&d.as_str()))
        .collect();
    if !models.is_empty() {
        broken.push(format!(
            "sqlflow-models depends on {models:?}: it has only serde, serde_json, thiserror \
             and matrixmultiply (the recurrent models' f32 products)"
        ));
    }
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}

/// The rule holds for the artifact too: the runner libraries this build produced (as
/// dev-dependencies of this crate, so with this build's features) hold no tonic, h2 or
/// hyper code, nor their names in debug information.
#[test]
fn runner_libraries_do_not_contain_tonic() {
    let dir = sqlflow_e2e::plugin_dir();
    for lib in ["liblocal_runner.so", "libfixture_runner.so"] {
        let path = dir.join(lib);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for needle in ["tonic", "h2::", "hyper"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} contains {needle:?}",
                path.display()
            );
        }
    }
}
