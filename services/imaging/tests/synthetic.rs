//! Small DICOM objects built in memory, one pixel behaviour each: windowing, MONOCHROME1,
//! signed data and rescale, multi-frame, colour.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Obj, study, u16s};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use radraft_imaging::{Recipe, StudyOptions, Window};

#[test]
fn file_window_and_monochrome1_inversion() {
    let mut o = Obj::new("CR", 1, 4, 16, "MONOCHROME1", u16s(&[0, 1000, 2048, 4095]));
    o.text(tags::WINDOW_CENTER, VR::DS, "2048")
        .text(tags::WINDOW_WIDTH, VR::DS, "4096");
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    let w = Window::from_center_width(radraft_imaging::FileWindow {
        center: 2048.0,
        width: 4096.0,
    });
    let expect: Vec<u8> = [0.0, 1000.0, 2048.0, 4095.0]
        .iter()
        .map(|&x| 255 - w.apply(x))
        .collect();
    // Padded to a centred 4x4 square: the row sits at y = 1 (the odd row goes below).
    assert_eq!((img.width, img.height), (4, 4));
    assert_eq!(&img.planes[0][4..8], &expect[..]);
    assert_eq!(expect[0], 255, "MONOCHROME1: the lowest value is white");
    assert!(img.planes[0][..4].iter().all(|&v| v == 0));
}

#[test]
fn no_window_falls_back_to_min_max() {
    let o = Obj::new("DX", 2, 2, 16, "MONOCHROME2", u16s(&[100, 200, 300, 400]));
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    assert_eq!(img.planes[0], vec![0, 85, 170, 255]);
}

#[test]
fn signed_12_bit_ct_with_rescale_goes_to_three_hu_windows() {
    // Stored -1024, 0, 1024, 2047 in 12 bits two's complement; intercept -1024 → HU.
    let raw: Vec<u16> = [-1024i16, 0, 1024, 2047]
        .iter()
        .map(|&v| (v as u16) & 0x0fff | if v < 0 { 0xf000 } else { 0 })
        .collect();
    let mut o = Obj::new("CT", 2, 2, 16, "MONOCHROME2", u16s(&raw));
    o.us(tags::BITS_STORED, 12)
        .us(tags::HIGH_BIT, 11)
        .us(tags::PIXEL_REPRESENTATION, 1);
    o.text(tags::RESCALE_INTERCEPT, VR::DS, "-1024")
        .text(tags::RESCALE_SLOPE, VR::DS, "1");
    let s = study(&[&o], &StudyOptions::default()).unwrap();
    assert_eq!(s.recipe, Recipe::Ct);
    let img = &s.images[0].image;
    // HU -2048, -1024, 0, 1023.
    assert_eq!(img.planes[0], vec![0, 0, 128, 255]);
    assert_eq!(img.planes[1], vec![0, 0, 98, 255]);
    assert_eq!(img.planes[2], vec![0, 0, 0, 255]);
}

#[test]
fn multi_frame_mr_uses_one_min_max_for_the_series() {
    let mut o = Obj::new(
        "MR",
        1,
        2,
        16,
        "MONOCHROME2",
        u16s(&[0, 10, 20, 30, 40, 50]),
    );
    o.text(tags::NUMBER_OF_FRAMES, VR::IS, "3");
    let s = study(&[&o], &StudyOptions::default()).unwrap();
    assert_eq!(s.images.len(), 3);
    assert_eq!(s.images[0].image.planes[0], vec![0, 51]);
    assert_eq!(s.images[2].image.planes[0], vec![204, 255]);
    let s = study(
        &[&o],
        &StudyOptions {
            max_slices: 2,
            ..StudyOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        s.images.iter().map(|i| i.frame).collect::<Vec<_>>(),
        vec![0, 2]
    );
}

#[test]
fn rgb_planar_and_ybr_full() {
    let mut o = Obj::new("XC", 1, 2, 8, "RGB", vec![1, 2, 3, 4, 5, 6]);
    o.us(tags::PLANAR_CONFIGURATION, 1);
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    // Planar R=[1,2] G=[3,4] B=[5,6]; padded to 2x2 with the row on top.
    assert_eq!(&img.planes[0][..2], &[1, 2]);
    assert_eq!(&img.planes[2][..2], &[5, 6]);
    let mut o = Obj::new("XC", 1, 1, 8, "YBR_FULL", vec![128, 128, 128]);
    o.us(tags::PLANAR_CONFIGURATION, 0);
    let img = &study(&[&o], &StudyOptions::default()).unwrap().images[0].image;
    assert_eq!(
        img.planes.iter().map(|p| p[0]).collect::<Vec<_>>(),
        vec![128, 128, 128]
    );
}
