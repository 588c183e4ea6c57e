//! Hand-built DICOM objects for the bad-input and worker tests, encoded with dicom-rs.

use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// A small 8x8 CT image. `sop_instance_uid: None` leaves the attribute out.
pub fn ct_image(sop_class: &str, sop_instance_uid: Option<&str>) -> InMemDicomObject {
    let mut object = InMemDicomObject::new_empty();
    let mut put = |tag, vr, value: PrimitiveValue| object.put(DataElement::new(tag, vr, value));
    put(tags::SOP_CLASS_UID, VR::UI, sop_class.into());
    if let Some(uid) = sop_instance_uid {
        put(tags::SOP_INSTANCE_UID, VR::UI, uid.into());
    }
    put(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        "1.2.826.0.1.3680043.10.1234.99".into(),
    );
    put(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        "1.2.826.0.1.3680043.10.1234.99.1".into(),
    );
    put(tags::MODALITY, VR::CS, "CT".into());
    put(tags::PATIENT_NAME, VR::PN, "SYNTHETIC^BAD".into());
    put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16));
    put(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2".into(),
    );
    put(tags::ROWS, VR::US, PrimitiveValue::from(8_u16));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(8_u16));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16_u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(12_u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11_u16));
    put(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0_u16),
    );
    put(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(vec![0_u8; 128]),
    );
    object
}

/// Instance `i` of `study`'s series `{study}.1`: a CT slice (see [`ct_image`]) with its SOP
/// instance UID `{study}.1.{i}`, which is returned with it.
pub fn ct_in_series(study: &str, i: u32) -> (String, InMemDicomObject) {
    let sop = format!("{study}.1.{i}");
    let mut object = ct_image(CT_IMAGE_STORAGE, Some(&sop));
    object.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(study),
    ));
    object.put(DataElement::new(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(format!("{study}.1")),
    ));
    (sop, object)
}

/// The data set encoded in Explicit VR Little Endian, as a C-STORE carries it.
pub fn encode_dataset(object: &InMemDicomObject) -> Vec<u8> {
    let mut bytes = Vec::new();
    object
        .write_dataset_with_ts(&mut bytes, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

/// The data set of [`ct_image`] with `sop_instance_uid`, as a C-STORE carries it.
pub fn ct_dataset(sop_instance_uid: &str) -> Vec<u8> {
    encode_dataset(&ct_image(CT_IMAGE_STORAGE, Some(sop_instance_uid)))
}

/// A Part 10 file; the meta group names `meta_sop_instance` even when the data set lacks it.
pub fn encode_file(
    object: InMemDicomObject,
    meta_sop_class: &str,
    meta_sop_instance: &str,
) -> Vec<u8> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(meta_sop_class)
        .media_storage_sop_instance_uid(meta_sop_instance)
        .transfer_syntax(EXPLICIT_LE)
        .build()
        .unwrap();
    let mut bytes = Vec::new();
    object.with_exact_meta(meta).write_all(&mut bytes).unwrap();
    bytes
}

/// Writes a one-slice 8x8 CT study of its own (study UID ending in `.77.{n}`) to `dir`.
/// `pixel_bytes` 128 gives a good slice; any other value a slice the gateway admits but
/// the worker cannot decode: 32-bit samples, which no decoder takes, with the 256 bytes its
/// description needs. (Pixel data whose length does not match the description, as this
/// gave before, is refused at the gateway since issue 12.)
pub fn one_slice_ct_study(dir: &Path, n: u32, pixel_bytes: usize) -> PathBuf {
    let study = format!("1.2.826.0.1.3680043.10.1234.77.{n}");
    let (sop, mut object) = ct_in_series(&study, 1);
    if pixel_bytes != 128 {
        make_undecodable(&mut object);
    }
    let path = dir.join(format!("ct-{n}.dcm"));
    std::fs::write(&path, encode_file(object, CT_IMAGE_STORAGE, &sop)).unwrap();
    path
}

/// Makes an 8x8 slice one the gateway admits (its pixel data matches its description) but
/// no decoder of the worker takes: 32-bit samples.
pub fn make_undecodable(object: &mut InMemDicomObject) {
    let mut put = |tag, vr, value: PrimitiveValue| object.put(DataElement::new(tag, vr, value));
    put(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(32_u16));
    put(tags::BITS_STORED, VR::US, PrimitiveValue::from(32_u16));
    put(tags::HIGH_BIT, VR::US, PrimitiveValue::from(31_u16));
    put(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(vec![0_u8; 256]),
    );
}
