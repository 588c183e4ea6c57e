//! Pixel data against image descriptions: native lengths, fragments, offset tables, RLE.
#![allow(clippy::unwrap_used, clippy::panic)]

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::{PixelProblem, check_pixel_data};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const JPEG_LS: &str = "1.2.840.10008.1.2.4.80";
const RLE: &str = "1.2.840.10008.1.2.5";

/// A `rows` x 4 image of `bits` bits, `frames` frames, one sample, no pixel data yet.
fn image(rows: u16, bits: u16, frames: Option<&str>) -> InMemDicomObject {
    let mut object = InMemDicomObject::from_element_iter([
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(4_u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(bits)),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16)),
    ]);
    if let Some(frames) = frames {
        object.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames),
        ));
    }
    object
}

fn native(mut object: InMemDicomObject, bytes: usize) -> InMemDicomObject {
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(vec![0_u8; bytes]),
    ));
    object
}

fn encapsulated(
    mut object: InMemDicomObject,
    offsets: Vec<u32>,
    fragments: Vec<Vec<u8>>,
) -> InMemDicomObject {
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(offsets, fragments)),
    ));
    object
}

/// An RLE fragment header naming `segments` segments (64 bytes), then one byte.
fn rle_fragment(segments: u32) -> Vec<u8> {
    let mut fragment = segments.to_le_bytes().to_vec();
    fragment.resize(66, 0);
    fragment
}

#[test]
fn native_pixel_data_must_have_the_described_length_and_at_most_a_pad_byte() {
    let check = |rows, bits, frames, bytes| {
        check_pixel_data(&native(image(rows, bits, frames), bytes), EXPLICIT_LE)
    };
    assert_eq!(check(8, 16, None, 64), Ok(()));
    assert_eq!(check(8, 16, Some("3 "), 192), Ok(()));
    // 3 x 4 x 1 byte = 12; 3 x 4 x 1 bit = 2 bytes (1.5 rounded up), no pad needed.
    assert_eq!(check(3, 8, None, 12), Ok(()));
    assert_eq!(check(3, 1, None, 2), Ok(()));
    // 1 x 4 x 8 bits x 1 frame is even; a 5 x 4 x 1-bit image is 20 bits: 3 bytes + pad.
    assert_eq!(check(5, 1, None, 4), Ok(()));
    assert_eq!(
        check(8, 16, None, 32),
        Err(PixelProblem::TooShort {
            actual: 32,
            expected: 64
        })
    );
    assert_eq!(
        check(8, 16, Some("2"), 64),
        Err(PixelProblem::TooShort {
            actual: 64,
            expected: 128
        })
    );
    assert_eq!(
        check(8, 16, None, 66),
        Err(PixelProblem::TooLong {
            actual: 66,
            expected: 64
        })
    );
    assert_eq!(
        check(8, 12, None, 64),
        Err(PixelProblem::BitsAllocated { bits: 12 })
    );
    assert_eq!(
        check_pixel_data(&image(8, 16, None), EXPLICIT_LE),
        Err(PixelProblem::Missing)
    );
    assert_eq!(
        check(0, 16, None, 0),
        Err(PixelProblem::Attribute { name: "Rows" })
    );
    assert_eq!(
        check(8, 16, Some("many"), 64),
        Err(PixelProblem::Attribute {
            name: "NumberOfFrames"
        })
    );
}

#[test]
fn ybr_full_422_stores_two_samples_per_pixel() {
    let mut object = image(2, 8, None);
    object.put(DataElement::new(
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(3_u16),
    ));
    object.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("YBR_FULL_422"),
    ));
    assert_eq!(
        check_pixel_data(&native(object.clone(), 16), EXPLICIT_LE),
        Ok(())
    );
    assert!(check_pixel_data(&native(object, 24), EXPLICIT_LE).is_err());
}

#[test]
fn encapsulated_pixel_data_must_hold_a_fragment_per_frame_and_a_true_offset_table() {
    let three = || image(8, 16, Some("3"));
    let frags = |n: usize| vec![vec![1_u8; 10]; n];
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![], frags(3)), JPEG_LS),
        Ok(())
    );
    // Frames may span fragments: offsets point at the first fragment of each frame.
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![0, 36, 54], frags(4)), JPEG_LS),
        Ok(())
    );
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![], frags(2)), JPEG_LS),
        Err(PixelProblem::TooFewFragments {
            fragments: 2,
            frames: 3
        })
    );
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![0, 18], frags(3)), JPEG_LS),
        Err(PixelProblem::OffsetTableEntries {
            entries: 2,
            frames: 3
        })
    );
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![0, 18, 30], frags(3)), JPEG_LS),
        Err(PixelProblem::OffsetTableEntry { index: 2 })
    );
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![0, 36, 18], frags(3)), JPEG_LS),
        Err(PixelProblem::OffsetTableEntry { index: 2 })
    );
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![], vec![]), JPEG_LS),
        Err(PixelProblem::NoFragments)
    );
    // The syntax says which form the pixel data must take.
    assert_eq!(
        check_pixel_data(&encapsulated(three(), vec![], frags(3)), EXPLICIT_LE),
        Err(PixelProblem::Encapsulated)
    );
    assert_eq!(
        check_pixel_data(&native(three(), 192), JPEG_LS),
        Err(PixelProblem::NotEncapsulated)
    );
}

#[test]
fn rle_needs_one_fragment_per_frame_with_a_segment_per_sample_byte() {
    let two = || image(8, 16, Some("2"));
    let good = || vec![rle_fragment(2), rle_fragment(2)];
    assert_eq!(
        check_pixel_data(&encapsulated(two(), vec![], good()), RLE),
        Ok(())
    );
    assert_eq!(
        check_pixel_data(
            &encapsulated(two(), vec![], vec![rle_fragment(2), rle_fragment(1)]),
            RLE
        ),
        Err(PixelProblem::RleSegments {
            index: 1,
            segments: 1,
            expected: 2
        })
    );
    assert_eq!(
        check_pixel_data(
            &encapsulated(two(), vec![], vec![rle_fragment(16), rle_fragment(2)]),
            RLE
        ),
        Err(PixelProblem::RleHeader { index: 0 })
    );
    let mut three = good();
    three.push(rle_fragment(2));
    assert_eq!(
        check_pixel_data(&encapsulated(two(), vec![], three), RLE),
        Err(PixelProblem::RleFragments {
            fragments: 3,
            frames: 2
        })
    );
}

#[test]
fn every_message_fits_a_c_store_error_comment() {
    let longest = [
        PixelProblem::TooShort {
            actual: 4_294_967_295,
            expected: 4_294_967_295 * 3,
        }
        .to_string(),
        PixelProblem::OffsetTableEntries {
            entries: 100_000,
            frames: 100_000,
        }
        .to_string(),
        PixelProblem::RleSegments {
            index: 100_000,
            segments: 15,
            expected: 15,
        }
        .to_string(),
    ];
    for message in longest {
        assert!(message.len() <= 64, "{message}: {} chars", message.len());
    }
}
