//! A builder for minimal DICOM image objects in memory, shared by `synthetic.rs` and
//! `study_inputs.rs`.

// Each test binary uses part of this module.
#![allow(clippy::unwrap_used, dead_code)]

pub mod corpus;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use radraft_imaging::{ImagingError, StudyImages, StudyOptions, open_bytes, prepare_study};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// Builder for a minimal image object.
pub struct Obj {
    pub ts: &'static str,
    pub elements: Vec<DataElement<InMemDicomObject>>,
}

impl Obj {
    pub fn new(modality: &str, rows: u16, cols: u16, bits: u16, pi: &str, pixels: Vec<u8>) -> Self {
        let mut o = Obj {
            ts: EXPLICIT_LE,
            elements: Vec::new(),
        };
        o.text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.7");
        o.text(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4");
        o.text(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3");
        o.text(tags::MODALITY, VR::CS, modality);
        o.text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, pi);
        let samples = if pi == "RGB" || pi.starts_with("YBR") {
            3
        } else {
            1
        };
        for (tag, v) in [
            (tags::ROWS, rows),
            (tags::COLUMNS, cols),
            (tags::SAMPLES_PER_PIXEL, samples),
            (tags::BITS_ALLOCATED, bits),
            (tags::BITS_STORED, bits),
            (tags::HIGH_BIT, bits - 1),
            (tags::PIXEL_REPRESENTATION, 0),
        ] {
            o.us(tag, v);
        }
        let vr = if bits == 8 { VR::OB } else { VR::OW };
        o.elements.push(DataElement::new(
            tags::PIXEL_DATA,
            vr,
            PrimitiveValue::from(pixels),
        ));
        o
    }
    pub fn text(&mut self, tag: Tag, vr: VR, v: &str) -> &mut Self {
        self.elements.retain(|e| e.header().tag != tag);
        self.elements
            .push(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        self
    }
    pub fn us(&mut self, tag: Tag, v: u16) -> &mut Self {
        self.elements.retain(|e| e.header().tag != tag);
        self.elements
            .push(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        let obj = InMemDicomObject::from_element_iter(self.elements.clone());
        let file = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(self.ts)
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                    .media_storage_sop_instance_uid("1.2.3.4"),
            )
            .unwrap();
        // `write_all` writes the 128-byte preamble and "DICM" too.
        let mut out = Vec::new();
        file.write_all(&mut out).unwrap();
        out
    }
}

pub fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn study(objs: &[&Obj], options: &StudyOptions) -> Result<StudyImages, ImagingError> {
    let insts: Vec<_> = objs
        .iter()
        .map(|o| open_bytes(&o.bytes()).unwrap())
        .collect();
    prepare_study(&insts, options)
}
