//! Many DICOM peers at once against one gateway, for its association limit: each opens an
//! association at the same moment; the accepted ones store an instance of their own, but
//! only once every peer has its answer, so they hold their slots meanwhile.

use std::sync::{Arc, Barrier};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use crate::dimse_peer::{ASSOCIATE_AC, RawPeer};
use crate::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE, ct_image, encode_dataset};

/// What one of many simultaneous peers got.
#[derive(Debug)]
pub enum Outcome {
    /// Accepted, and its instance stored with this status.
    Stored(u16),
    /// Rejected with these PDU bytes.
    Rejected(Vec<u8>),
    /// Closed without an answer.
    Closed,
}

/// Opens `n` associations at once; each accepted one stores its own instance only after
/// every peer has its answer, so the accepted ones hold their slots meanwhile.
pub fn associate_at_once(port: u16, n: usize, study: u32) -> Vec<Outcome> {
    let barrier = Arc::new(Barrier::new(n));
    let peers: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut peer = RawPeer::connect(port);
                peer.request_association(CT_IMAGE_STORAGE, EXPLICIT_LE);
                let answer = peer.read_raw();
                match answer {
                    Some(pdu) if pdu[0] == ASSOCIATE_AC => {
                        barrier.wait();
                        let uid = format!("1.2.826.0.1.3680043.10.1234.{study}.{i}");
                        let mut object = ct_image(CT_IMAGE_STORAGE, Some(&uid));
                        let study_uid = format!("1.2.826.0.1.3680043.10.1234.{study}");
                        for (tag, value) in [
                            (tags::STUDY_INSTANCE_UID, study_uid.clone()),
                            (tags::SERIES_INSTANCE_UID, format!("{study_uid}.1")),
                        ] {
                            object.put(DataElement::new(tag, VR::UI, PrimitiveValue::from(value)));
                        }
                        let status = peer.store(CT_IMAGE_STORAGE, &uid, &encode_dataset(&object));
                        peer.release();
                        Outcome::Stored(status)
                    }
                    other => {
                        drop(peer);
                        barrier.wait();
                        other.map_or(Outcome::Closed, Outcome::Rejected)
                    }
                }
            })
        })
        .collect();
    peers.into_iter().map(|p| p.join().unwrap()).collect()
}
