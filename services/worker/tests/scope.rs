//! The scope gate on real fixture objects: modality and Body Part Examined allow-lists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fixture;
use radraft_imaging::Instance;
use radraft_worker::inputs;
use radraft_worker::scope::{Allowed, Scope};

fn instances(relative: &str) -> Vec<Instance> {
    let mut found = inputs::collect(&[fixture(relative)]);
    assert_eq!(found.studies.len(), 1, "{relative}");
    found.studies.remove(0).instances
}

#[test]
fn modality_and_body_part_lists_decide_and_the_reason_names_what_was_seen() {
    let chest = instances("dx-chest/explicit-le");
    let brain = instances("real-mr-brain/explicit-le");
    assert_eq!(chest[0].body_part, "CHEST");
    assert_eq!(Scope::default().check(&chest), None);
    assert_eq!(Scope::default().check(&brain), None);

    let chest_only = Scope {
        modalities: "CR,DX,CT".parse().unwrap(),
        body_parts: "chest".parse().unwrap(),
    };
    assert_eq!(chest_only.check(&chest), None);
    let reason = chest_only
        .check(&brain)
        .expect("MR head is out of this scope");
    assert!(
        reason.contains("modalities MR") && reason.contains("body parts HEAD"),
        "{reason}"
    );

    let any_head = Scope {
        modalities: Allowed::Any,
        body_parts: "HEAD".parse().unwrap(),
    };
    assert_eq!(any_head.check(&brain), None);
    assert!(any_head.check(&chest).is_some());
}
