//! A DICOM peer at the PDU level over a plain TCP socket, for the gateway's DIMSE limits:
//! it sends what a test says, byte for byte (an association request, a command set that
//! cannot be read, a C-FIND on a storage context), and shows what comes back as raw PDU
//! bytes, so a rejection or an abort is asserted exactly as it travelled. Plus the peak
//! memory of another process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use dicom_core::{DataElement, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::pdu::{
    AssociationRQ, MAXIMUM_PDU_SIZE, PDataValue, PDataValueType, Pdu, PresentationContextProposed,
    UserVariableItem, read_pdu, write_pdu,
};

use crate::gateway::{AE_TITLE, SENDER_AE};

/// The PDU types a test looks for (PS3.8 9.3.1).
pub const ASSOCIATE_AC: u8 = 0x02;
pub const ASSOCIATE_RJ: u8 = 0x03;
pub const ABORT: u8 = 0x07;
/// The A-ASSOCIATE-RJ for "too many associations": rejected-transient (2), service
/// provider presentation (3), local limit exceeded (2).
pub const LOCAL_LIMIT_RJ: [u8; 10] = [0x03, 0x00, 0, 0, 0, 4, 0x00, 0x02, 0x03, 0x02];
/// The one presentation context the peer proposes.
pub const CONTEXT_ID: u8 = 1;

pub struct RawPeer {
    stream: TcpStream,
}

impl RawPeer {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream }
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.stream.local_addr().unwrap()
    }

    /// Proposes one presentation context: `abstract_syntax` in `transfer_syntax`.
    pub fn request_association(&mut self, abstract_syntax: &str, transfer_syntax: &str) {
        self.send(&Pdu::AssociationRQ(AssociationRQ {
            protocol_version: 1,
            calling_ae_title: SENDER_AE.into(),
            called_ae_title: AE_TITLE.into(),
            application_context_name: "1.2.840.10008.3.1.1.1".into(),
            presentation_contexts: vec![PresentationContextProposed {
                id: CONTEXT_ID,
                abstract_syntax: abstract_syntax.into(),
                transfer_syntaxes: vec![transfer_syntax.into()],
            }],
            user_variables: vec![UserVariableItem::MaxLength(16_384)],
        }));
    }

    /// Requests an association and returns the answer's raw bytes.
    pub fn associate(&mut self, abstract_syntax: &str, transfer_syntax: &str) -> Vec<u8> {
        self.request_association(abstract_syntax, transfer_syntax);
        self.read_raw()
            .expect("an answer to the association request")
    }

    pub fn send(&mut self, pdu: &Pdu) {
        let mut bytes = Vec::new();
        write_pdu(&mut bytes, pdu).unwrap();
        self.stream.write_all(&bytes).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next whole PDU as it came off the wire, or `None` once the gateway closed.
    pub fn read_raw(&mut self) -> Option<Vec<u8>> {
        let mut header = [0u8; 6];
        if self.stream.read_exact(&mut header).is_err() {
            return None;
        }
        let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
        let mut pdu = header.to_vec();
        pdu.resize(6 + length as usize, 0);
        self.stream.read_exact(&mut pdu[6..]).ok()?;
        Some(pdu)
    }

    pub fn read_pdu(&mut self) -> Option<Pdu> {
        let raw = self.read_raw()?;
        read_pdu(raw.as_slice(), MAXIMUM_PDU_SIZE, false)
            .ok()
            .flatten()
    }

    /// Starts writing `bytes` one at a time, `every` apart, on a second thread, as a peer
    /// that trickles a PDU to hold the association open; it stops at the first write the
    /// gateway no longer takes.
    pub fn trickle(&self, bytes: Vec<u8>, every: Duration) -> std::thread::JoinHandle<usize> {
        let mut stream = self.stream.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut written = 0;
            for byte in bytes {
                if stream.write_all(&[byte]).is_err() {
                    break;
                }
                written += 1;
                std::thread::sleep(every);
            }
            written
        })
    }

    /// Whether the gateway has closed the connection (reads end-of-file).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }

    /// Sends a command set, then `dataset` (if any) in PDVs of at most 16,000 bytes.
    pub fn send_message(&mut self, command: Vec<u8>, dataset: Option<&[u8]>) {
        self.send(&pdata(PDataValueType::Command, true, command));
        if let Some(dataset) = dataset {
            let pieces: Vec<&[u8]> = dataset.chunks(16_000).collect();
            for (i, piece) in pieces.iter().enumerate() {
                let last = i + 1 == pieces.len();
                self.send(&pdata(PDataValueType::Data, last, piece.to_vec()));
            }
        }
    }

    /// Reads the response command set: (command field, message ID responded to, status).
    pub fn read_response(&mut self) -> (u16, u16, u16) {
        let pdu = self.read_pdu().expect("a response");
        let Pdu::PData { data } = pdu else {
            panic!("expected P-DATA, got {pdu:?}");
        };
        let object = InMemDicomObject::read_dataset_with_ts(
            data[0].data.as_slice(),
            &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .unwrap();
        let u16_of = |tag| object.element(tag).unwrap().to_int::<u16>().unwrap();
        (
            u16_of(tags::COMMAND_FIELD),
            u16_of(tags::MESSAGE_ID_BEING_RESPONDED_TO),
            u16_of(tags::STATUS),
        )
    }

    /// A C-STORE of `dataset` on the negotiated context; returns its status.
    pub fn store(&mut self, sop_class: &str, sop_instance: &str, dataset: &[u8]) -> u16 {
        let command = request(0x0001, 7, sop_class, Some(sop_instance), true);
        self.send_message(command, Some(dataset));
        let (field, message_id, status) = self.read_response();
        assert_eq!((field, message_id), (0x8001, 7));
        status
    }

    /// Releases the association and waits for the answer.
    pub fn release(&mut self) {
        self.send(&Pdu::ReleaseRQ);
        assert!(matches!(self.read_pdu(), Some(Pdu::ReleaseRP)));
    }
}

/// One P-DATA PDU holding one PDV on [`CONTEXT_ID`].
pub fn pdata(value_type: PDataValueType, is_last: bool, data: Vec<u8>) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: CONTEXT_ID,
            value_type,
            is_last,
            data,
        }],
    }
}

/// A request command set (Implicit VR Little Endian).
pub fn request(
    command_field: u16,
    message_id: u16,
    sop_class: &str,
    sop_instance: Option<&str>,
    has_data_set: bool,
) -> Vec<u8> {
    let data_set_type: u16 = if has_data_set { 0x0000 } else { 0x0101 };
    let mut elements = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, sop_class),
        ),
        DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            dicom_value!(U16, [command_field]),
        ),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [message_id])),
        DataElement::new(tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [data_set_type]),
        ),
    ];
    if let Some(uid) = sop_instance {
        elements.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            dicom_value!(Str, uid),
        ));
    }
    let mut bytes = Vec::new();
    InMemDicomObject::command_from_element_iter(elements)
        .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

/// A process's peak resident memory (VmHWM), in bytes.
pub fn peak_rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kib * 1024
}
