//! The assembler against what peers send: commands in pieces, data sets in pieces and past
//! the limit, and the breaches that abort an association.

use dicom_core::{DataElement, VR, dicom_value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::pdu::{PDataValue, PDataValueType};

use super::{Assembler, Breach, Event, Message};

fn command(field: u16, data_set_type: u16) -> Vec<u8> {
    let object = InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, "1.2.840.10008.5.1.4.1.1.2"),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [field])),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [9])),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [data_set_type]),
        ),
    ]);
    let mut bytes = Vec::new();
    object
        .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    bytes
}

/// A command PDV when `command`, else a data set PDV.
fn pdv(command: bool, context: u8, is_last: bool, data: Vec<u8>) -> PDataValue {
    PDataValue {
        presentation_context_id: context,
        value_type: if command {
            PDataValueType::Command
        } else {
            PDataValueType::Data
        },
        is_last,
        data,
    }
}

const LIMIT: u64 = 100;

#[test]
fn a_store_is_handed_on_piece_by_piece() {
    let mut assembler = Assembler::default();
    let bytes = command(0x0001, 0);
    let (first, second) = bytes.split_at(10);
    let cmd = true;
    assert!(
        assembler
            .take(pdv(cmd, 1, false, first.to_vec()), LIMIT)
            .is_none()
    );
    let started = assembler.take(pdv(cmd, 1, true, second.to_vec()), LIMIT);
    let Some(Event::StoreStarts {
        context_id: 1,
        request,
    }) = started
    else {
        panic!("{started:?}");
    };
    assert_eq!(request.message_id, 9);
    let data = false;
    for (piece, last) in [(vec![1; 60], false), (vec![2; 40], true)] {
        let event = assembler.take(pdv(data, 1, last, piece.clone()), LIMIT);
        let Some(Event::Data { bytes, last: l }) = event else {
            panic!("{event:?}");
        };
        assert_eq!((bytes, l), (piece, last));
    }
    // The association is idle again: a stray data PDV is a breach.
    let stray = assembler.take(pdv(data, 1, true, vec![0]), LIMIT);
    assert!(matches!(stray, Some(Event::Abort(Breach::UnexpectedData))));
}

#[test]
fn a_data_set_past_the_limit_overflows_once_then_is_refused_with_its_size() {
    let mut assembler = Assembler::default();
    let cmd = true;
    let data = false;
    assembler.take(pdv(cmd, 3, true, command(0x0001, 0)), LIMIT);
    assert!(matches!(
        assembler.take(pdv(data, 3, false, vec![0; 80]), LIMIT),
        Some(Event::Data { .. })
    ));
    assert!(matches!(
        assembler.take(pdv(data, 3, false, vec![0; 80]), LIMIT),
        Some(Event::Overflowed)
    ));
    assert!(
        assembler
            .take(pdv(data, 3, false, vec![0; 80]), LIMIT)
            .is_none()
    );
    let end = assembler.take(pdv(data, 3, true, vec![0; 10]), LIMIT);
    assert!(
        matches!(
            end,
            Some(Event::Answer(Message::TooLarge {
                context_id: 3,
                size: 250,
                ..
            }))
        ),
        "{end:?}"
    );
}

#[test]
fn other_requests_are_answered_once_their_data_set_is_in() {
    let mut assembler = Assembler::default();
    let cmd = true;
    let data = false;
    // C-FIND with an identifier: answered after it.
    assert!(
        assembler
            .take(pdv(cmd, 1, true, command(0x0020, 0)), LIMIT)
            .is_none()
    );
    let answer = assembler.take(pdv(data, 1, true, vec![0; 8]), LIMIT);
    assert!(matches!(
        answer,
        Some(Event::Answer(Message::Unsupported { .. }))
    ));
    // N-GET without a data set: at once. C-ECHO too; C-CANCEL and responses get nothing.
    let answer = assembler.take(pdv(cmd, 1, true, command(0x0110, 0x0101)), LIMIT);
    assert!(matches!(
        answer,
        Some(Event::Answer(Message::Unsupported { .. }))
    ));
    let echo = assembler.take(pdv(cmd, 1, true, command(0x0030, 0x0101)), LIMIT);
    assert!(matches!(echo, Some(Event::Answer(Message::Echo { .. }))));
    for field in [0x0FFF, 0x8001] {
        let ignored = assembler.take(pdv(cmd, 1, true, command(field, 0x0101)), LIMIT);
        assert!(matches!(ignored, Some(Event::Ignored { .. })), "{field:#x}");
    }
    let empty_store = assembler.take(pdv(cmd, 1, true, command(0x0001, 0x0101)), LIMIT);
    assert!(matches!(
        empty_store,
        Some(Event::Answer(Message::StoreWithoutData { .. }))
    ));
}

#[test]
fn breaches_abort() {
    let cmd = true;
    let data = false;
    // A command set growing past 64 KiB.
    let mut assembler = Assembler::default();
    assert!(
        assembler
            .take(pdv(cmd, 1, false, vec![0; 60_000]), LIMIT)
            .is_none()
    );
    let long = assembler.take(pdv(cmd, 1, false, vec![0; 10_000]), LIMIT);
    assert!(matches!(long, Some(Event::Abort(Breach::CommandTooLong))));
    // An unreadable command set.
    let mut assembler = Assembler::default();
    let unreadable = assembler.take(pdv(cmd, 1, true, vec![1, 2, 3]), LIMIT);
    assert!(matches!(
        unreadable,
        Some(Event::Abort(Breach::Unreadable(_)))
    ));
    // Data on another presentation context, or a command in the middle of a data set.
    let mut assembler = Assembler::default();
    assembler.take(pdv(cmd, 1, true, command(0x0001, 0)), LIMIT);
    let other = assembler.take(pdv(data, 3, false, vec![0; 4]), LIMIT);
    assert!(matches!(
        other,
        Some(Event::Abort(Breach::OtherContext {
            expected: 1,
            found: 3
        }))
    ));
    let mut assembler = Assembler::default();
    assembler.take(pdv(cmd, 1, true, command(0x0001, 0)), LIMIT);
    let during = assembler.take(pdv(cmd, 1, true, command(0x0030, 0x0101)), LIMIT);
    assert!(matches!(
        during,
        Some(Event::Abort(Breach::CommandDuringData))
    ));
}
