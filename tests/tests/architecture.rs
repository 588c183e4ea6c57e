//! Architecture invariants from ARCHITECTURE.md, checked on the resolved dependency graph
//! (`cargo metadata`), so a new dependency cannot quietly break them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// Every package reachable from `root` through normal (non-dev, non-build) dependencies.
fn runtime_closure(metadata: &Value, root: &str) -> BTreeSet<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let start = names
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .expect("package exists");
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        if !seen.insert(names[id].to_owned()) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    seen
}

fn metadata() -> Value {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn core_does_no_io() {
    let closure = runtime_closure(&metadata(), "radraft-core");
    for io in [
        "tokio", "sqlx", "lapin", "ort", "reqwest", "axum", "dicom-ul",
    ] {
        assert!(
            !closure.contains(io),
            "radraft-core must not depend on {io}: {closure:?}"
        );
    }
}

#[test]
fn the_gateway_and_review_never_link_onnx_runtime() {
    let metadata = metadata();
    for service in ["radraft-gateway", "radraft-review"] {
        let closure = runtime_closure(&metadata, service);
        for heavy in ["ort", "ort-sys", "tokenizers", "radraft-medgemma"] {
            assert!(
                !closure.contains(heavy),
                "{service} must not depend on {heavy}"
            );
        }
    }
}
