//! `radraft-worker draft` as an ML engineer runs it: real fixture studies, the tiny model,
//! ONNX Runtime on the CPU.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{fixture, model_dir};
use serde_json::Value;

fn worker(args: &[&str], paths: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_radraft-worker"))
        .arg("draft")
        .args(paths)
        .args(["--provider", "cpu", "--threads", "1", "--model"])
        .arg(model_dir())
        .args(args)
        .output()
        .expect("radraft-worker runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn drafts_a_folder_and_prints_the_draft_with_timings() {
    let out = worker(
        &["--max-new-tokens", "16"],
        &[
            fixture("dx-chest/explicit-le"),
            fixture("bad/not-dicom.dcm"),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("skipped") && stderr.contains("not-dicom.dcm"),
        "{stderr}"
    );
    assert!(stdout.contains("== study "), "{stdout}");
    assert!(
        stdout.contains("Projection recipe: 2 image(s) shown"),
        "{stdout}"
    );
    for stage in [
        "prepare images",
        "preprocess",
        "vision encoder",
        "prefill",
        "decode",
    ] {
        assert!(stdout.contains(stage), "no {stage} timing in {stdout}");
    }
    assert!(stdout.contains("provider CPUExecutionProvider"), "{stdout}");
}

#[test]
fn each_study_is_drafted_on_its_own_and_one_failure_does_not_stop_the_rest() {
    let out = worker(
        &["--json", "--max-new-tokens", "8", "--max-slices", "24"],
        &[
            fixture("ct-chest/explicit-le"),
            fixture("dx-chest/explicit-le"),
        ],
    );
    // The 24-slice CT does not fit the tiny model's 256-token context; the DX study does.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ct = &lines[0];
    assert!(
        ct["error"]
            .as_str()
            .unwrap()
            .contains("the context holds 256"),
        "{ct}"
    );
    let dx = &lines[1];
    assert_eq!(dx["recipe"], "Projection");
    assert_eq!(dx["images"].as_array().unwrap().len(), 2);
    let tokens = dx["token_ids"].as_array().unwrap().len();
    assert!((1..=8).contains(&tokens), "{dx}");
    assert_eq!(dx["provider"], "CPUExecutionProvider");
    assert!(dx["timings_ms"]["prefill"].as_f64().unwrap() > 0.0, "{dx}");
    assert_ne!(ct["study_uid"], dx["study_uid"]);
}

#[test]
fn an_object_given_twice_is_used_once() {
    // A folder and a file inside it, as happens when paths overlap on the command line.
    let out = worker(
        &["--json", "--max-new-tokens", "2", "--max-slices", "2"],
        &[
            fixture("mr-brain/explicit-le"),
            fixture("mr-brain/explicit-le/mr-s1-0001.dcm"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "one study");
    assert_eq!(lines[0]["recipe"], "Mr");
    assert_eq!(lines[0]["images"].as_array().unwrap().len(), 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("already read from another file"),
        "{stderr}"
    );
}

#[test]
fn bad_model_or_no_dicom_exit_with_a_reason() {
    let empty = tempfile::tempdir().unwrap();
    let out = worker(&[], &[empty.path().to_path_buf()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no DICOM object found"),
        "{}",
        text(&out.stderr)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_radraft-worker"))
        .arg("draft")
        .arg(fixture("dx-chest/explicit-le"))
        .arg("--model")
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("loading the model") && stderr.contains("manifest"),
        "{stderr}"
    );
}

#[test]
fn large_jpeg_2000_films_can_be_decoded_at_reduced_resolution() {
    // pydicom-data's 1955 x 1841 chest CR: half size (978) still covers 500 px.
    let pngs = tempfile::tempdir().unwrap();
    let png_dir = pngs.path().to_str().unwrap();
    let flags = ["--json", "--max-new-tokens", "1", "--j2k-reduce-to", "500"];
    let out = worker(
        &[&flags[..], &["--png-dir", png_dir]].concat(),
        &[fixture("external/pydicom-data/RG1_J2KR.dcm")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = &json_lines(&out)[0];
    let bytes = std::fs::read(line["pngs"][0].as_str().unwrap()).unwrap();
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 978, "decoded at half size, padded to a square");
}
