//! Decode + preprocess timings per image and for a 300-slice CT study, printed as a table
//! beside the Python reference (pydicom + numpy + HF Gemma3ImageProcessorPil) on the same
//! files in the same run. Run `cargo bench -p radraft-imaging --bench imaging` after
//! `fixtures/generate.sh --bench-ct 500`; set `RADRAFT_BENCH_NO_PYTHON=1` to skip Python and
//! `RADRAFT_BENCH_ONLY=<text>` to run only the cases whose label contains the text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use radraft_imaging::{
    MODEL_SIDE, StudyOptions, decode_reduced, model_batch, open_path, prepare_study,
};

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn rust_times(files: &[PathBuf], runs: usize, j2k_reduce_to: Option<usize>) -> (f64, f64) {
    let dec = median_ms(runs, || {
        for f in files {
            decode_reduced(&open_path(f).unwrap(), u64::MAX, j2k_reduce_to).unwrap();
        }
    });
    let options = StudyOptions {
        j2k_reduce_to,
        ..StudyOptions::default()
    };
    let total = median_ms(runs, || {
        let insts: Vec<_> = files.iter().map(|f| open_path(f).unwrap()).collect();
        let study = prepare_study(&insts, &options).unwrap();
        let images: Vec<_> = study.images.iter().map(|i| &i.image).collect();
        std::hint::black_box(model_batch(&images, MODEL_SIDE));
    });
    (dec, total)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let generated = root.join("fixtures/generated");
    let pdd = generated.join("external/pydicom-data");
    let mut ct: Vec<PathBuf> = std::fs::read_dir(generated.join("bench/ct-500"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
                .collect()
        })
        .unwrap_or_default();
    ct.sort();
    ct.truncate(300);
    let cases: Vec<(&str, Vec<PathBuf>)> = vec![
        (
            "CR 1955x1841 uncompressed (RG1_UNCR)",
            vec![pdd.join("RG1_UNCR.dcm")],
        ),
        (
            "CR 1955x1841 J2K lossless (RG1_J2KR)",
            vec![pdd.join("RG1_J2KR.dcm")],
        ),
        (
            "CR 1955x1841 J2K lossless, decoded at half size (j2k_reduce_to 896)",
            vec![pdd.join("RG1_J2KR.dcm")],
        ),
        (
            "DX 1024x1024 JPEG-LS (dx-chest)",
            vec![generated.join("dx-chest/jpeg-ls-lossless/dx-s1-0001.dcm")],
        ),
        (
            "DX 1024x1024 RLE (dx-chest)",
            vec![generated.join("dx-chest/rle/dx-s1-0001.dcm")],
        ),
        (
            "DX 1024x1024 JPEG lossless (dx-chest)",
            vec![generated.join("dx-chest/jpeg-lossless/dx-s1-0001.dcm")],
        ),
        (
            "CT 512x512 slice uncompressed (ct-500)",
            ct.iter().take(1).cloned().collect(),
        ),
        ("CT study, 300 slices 512x512 -> 85 images", ct.clone()),
    ];
    // RADRAFT_BENCH_ONLY=<text>: only the cases whose label contains it (for profiling).
    let only = std::env::var("RADRAFT_BENCH_ONLY").unwrap_or_default();
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|(label, _)| label.contains(only.as_str()))
        .collect();
    // 15 runs per image by default (RADRAFT_BENCH_RUNS): on a shared 2-vCPU VM the median
    // of 5 moved by 2x between runs.
    let runs = std::env::var("RADRAFT_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let python = if std::env::var_os("RADRAFT_BENCH_NO_PYTHON").is_none() {
        python_times(&root, &cases, runs)
    } else {
        Vec::new()
    };
    println!(
        "| case | Rust decode ms | Rust total ms | Python decode ms | Python total ms | speed-up (total) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, (label, files)) in cases.iter().enumerate() {
        if files.is_empty() || !files[0].exists() {
            println!("| {label} | missing: run fixtures/generate.sh --bench-ct 500 | | | | |");
            continue;
        }
        let reduce = label.contains("j2k_reduce_to").then_some(MODEL_SIDE);
        let (rd, rt) = rust_times(files, if files.len() > 1 { 3 } else { runs }, reduce);
        let (pd, pt) = python
            .get(i)
            .copied()
            .flatten()
            .unwrap_or((f64::NAN, f64::NAN));
        println!(
            "| {label} | {rd:.1} | {rt:.1} | {pd:.1} | {pt:.1} | {:.1}x |",
            pt / rt
        );
    }
}

/// Runs reference/bench.py once for all cases, in the shared venv, pinned to one core.
fn python_times(
    root: &Path,
    cases: &[(&str, Vec<PathBuf>)],
    runs: usize,
) -> Vec<Option<(f64, f64)>> {
    let venv = Command::new(root.join("deploy/python-env.sh"))
        .output()
        .unwrap();
    let venv = String::from_utf8_lossy(&venv.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let mut cmd = Command::new("taskset");
    cmd.args([
        "-c",
        "0",
        &format!("{venv}/bin/python"),
        "bench.py",
        &runs.to_string(),
    ]);
    cmd.current_dir(root.join("services/imaging/reference"));
    for (i, (_, files)) in cases.iter().enumerate() {
        let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        cmd.arg(format!("{i}={}", list.join(",")));
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut res = vec![None; cases.len()];
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let i: usize = v["label"].as_str().unwrap().parse().unwrap();
        res[i] = Some((
            v["decode_ms"].as_f64().unwrap(),
            v["total_ms"].as_f64().unwrap(),
        ));
    }
    res
}
