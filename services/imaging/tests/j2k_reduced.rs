//! Reduced-resolution JPEG 2000 decoding (`StudyOptions::j2k_reduce_to`) on pydicom-data's
//! real chest CR: how much smaller the decoded image is, and how far the model input moves
//! from the full-resolution path (the figures docs/benchmarks.md quotes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use radraft_imaging::{MODEL_SIDE, StudyOptions, model_input, open_path, prepare_study};

fn pydicom_data(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/generated/external/pydicom-data")
        .join(name);
    assert!(
        path.exists(),
        "{} missing: run fixtures/generate.sh",
        path.display()
    );
    path
}

fn prepared(name: &str, j2k_reduce_to: Option<usize>) -> radraft_imaging::Image8 {
    let instance = open_path(&pydicom_data(name)).unwrap();
    let options = StudyOptions {
        j2k_reduce_to,
        ..StudyOptions::default()
    };
    let study = prepare_study(std::slice::from_ref(&instance), &options).unwrap();
    assert_eq!(study.images.len(), 1);
    study.images.into_iter().next().unwrap().image
}

/// Largest, mean, and share over 16 of the absolute differences of two model inputs, in
/// 8-bit grey levels.
fn difference(a: &radraft_imaging::Image8, b: &radraft_imaging::Image8) -> (f32, f32, f32) {
    let (x, y) = (model_input(a, MODEL_SIDE), model_input(b, MODEL_SIDE));
    let levels: Vec<f32> = x
        .iter()
        .zip(y.iter())
        .map(|(p, q)| (p - q).abs() * 0.5 * 255.0)
        .collect();
    let max = levels.iter().copied().fold(0.0, f32::max);
    let n = levels.len() as f32;
    let over_16 = levels.iter().filter(|&&l| l > 16.0).count() as f32 / n;
    (max, levels.iter().sum::<f32>() / n, over_16)
}

#[test]
fn a_large_film_is_decoded_at_half_size_and_stays_close_to_the_full_decode() {
    // RG1_J2KR: 1955 x 1841 lossless JPEG 2000; half size (978 x 921) still covers 896 px.
    let full = prepared("RG1_J2KR.dcm", None);
    let reduced = prepared("RG1_J2KR.dcm", Some(MODEL_SIDE));
    assert_eq!(
        (full.width, full.height),
        (1955, 1955),
        "padded to a square"
    );
    assert_eq!((reduced.width, reduced.height), (978, 978));

    let (max, mean, over_16) = difference(&full, &reduced);
    eprintln!("RG1_J2KR reduced vs full: max {max} levels, mean {mean:.3}, over 16: {over_16:.4}");
    assert!(max > 0.0, "the reduced path must actually have been taken");
    // Measured: mean 0.99 levels, 0.37% of values over 16 levels; the largest (95 levels)
    // sit on the film's edge against the zero padding, which the half-size image's odd
    // width places half a pixel apart.
    assert!(mean < 1.5, "mean difference {mean} grey levels");
    assert!(
        over_16 < 0.01,
        "{over_16} of the values differ by over 16 grey levels"
    );
}

#[test]
fn images_already_near_the_model_size_are_decoded_in_full() {
    // 693_J2KR is a 512 x 512 CT slice: no level of it covers 896 px at half size.
    let full = prepared("693_J2KR.dcm", None);
    let reduced = prepared("693_J2KR.dcm", Some(MODEL_SIDE));
    assert_eq!(full.planes, reduced.planes);
}

#[test]
fn the_reduced_decode_follows_the_target() {
    // A target of a quarter of the film takes two levels.
    let quarter = prepared("RG1_J2KR.dcm", Some(400));
    assert_eq!((quarter.width, quarter.height), (489, 489));
}
