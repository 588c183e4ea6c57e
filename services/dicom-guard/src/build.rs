//! Building the in-memory object from dicom-parser's tokens, as dicom-object's own builder
//! does, with two differences that untrusted input needs: nesting is bounded (dicom-object
//! recurses once per level, and a few MB of nested sequences overflowed the stack of the
//! thread reading them, aborting the process), and where the input simply stops, every open
//! structure is reported rather than closed silently (dicom-object ends encapsulated pixel
//! data at the end of the input as if its delimiter had been there). Alongside the object it
//! records the top-level Pixel Data's layout from the headers, which is all the checks need
//! when the reader left the pixel bytes behind.

use dicom_core::header::Length;
use dicom_core::value::{DataSetSequence, PixelFragmentSequence, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use dicom_parser::dataset::DataToken;
use dicom_parser::dataset::read::Error as TokenError;

use crate::error::GuardError;
use crate::meta::consumed;
use crate::pixels::{Fragment, PixelLayout};
use crate::read::Limits;

/// One structure still open while tokens arrive.
enum Open {
    /// The top-level data set, or an item of a sequence.
    DataSet(Vec<InMemElement>),
    Sequence {
        tag: Tag,
        len: Length,
        items: Vec<InMemDicomObject>,
    },
}

/// Builds the data set from `tokens` within `limits`: `max_depth` bounds the sequences
/// open at once, `max_elements` the elements, items and fragments read, and
/// `pixel_delimiter_required` refuses encapsulated pixel data cut off by the end of input.
pub(crate) fn object<I>(
    tokens: I,
    limits: &Limits,
) -> Result<(InMemDicomObject, PixelLayout), GuardError>
where
    I: Iterator<Item = Result<DataToken, TokenError>>,
{
    let mut counted = 0_usize;
    let mut tokens = tokens.map(|t| {
        let token = t.map_err(|source| GuardError::DataSet {
            source: Box::new(source),
        })?;
        if matches!(
            token,
            DataToken::ElementHeader(_)
                | DataToken::SequenceStart { .. }
                | DataToken::ItemStart { .. }
                | DataToken::PixelSequenceStart
        ) {
            counted += 1;
            if counted > limits.max_elements {
                return Err(GuardError::TooManyElements {
                    limit: limits.max_elements,
                });
            }
        }
        Ok(token)
    });
    let mut stack = vec![Open::DataSet(Vec::new())];
    let mut depth = 0;
    let mut layout = PixelLayout::Missing;
    while let Some(token) = tokens.next() {
        match token? {
            DataToken::ElementHeader(header) => {
                let Some(DataToken::PrimitiveValue(value)) = tokens.next().transpose()? else {
                    return Err(structure("element header without a value"));
                };
                if header.tag == tags::PIXEL_DATA && stack.len() == 1 {
                    let length = header
                        .len
                        .get()
                        .map_or(0, |len| consumed(header.vr, len as usize));
                    layout = PixelLayout::Native {
                        length: length as u64,
                    };
                }
                let element = DataElement::new_with_len(header.tag, header.vr, header.len, value);
                push_element(&mut stack, element)?;
            }
            DataToken::SequenceStart { tag, len } => {
                if !matches!(stack.last(), Some(Open::DataSet(_))) {
                    return Err(structure("sequence start"));
                }
                if depth >= limits.max_depth {
                    return Err(GuardError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                depth += 1;
                stack.push(Open::Sequence {
                    tag,
                    len,
                    items: Vec::new(),
                });
            }
            DataToken::ItemStart { .. } => {
                if !matches!(stack.last(), Some(Open::Sequence { .. })) {
                    return Err(structure("item start"));
                }
                stack.push(Open::DataSet(Vec::new()));
            }
            DataToken::ItemEnd => {
                // The top-level data set is never closed by an item delimiter.
                if stack.len() < 2 {
                    return Err(structure("item end"));
                }
                let Some(Open::DataSet(elements)) = stack.pop() else {
                    return Err(structure("item end"));
                };
                let Some(Open::Sequence { items, .. }) = stack.last_mut() else {
                    return Err(structure("item end"));
                };
                items.push(InMemDicomObject::from_element_iter(elements));
            }
            DataToken::SequenceEnd => {
                let Some(Open::Sequence { tag, len, items }) = stack.pop() else {
                    return Err(structure("sequence end"));
                };
                depth -= 1;
                if tag == tags::PIXEL_DATA && stack.len() == 1 {
                    layout = PixelLayout::Sequence;
                }
                let value = Value::Sequence(DataSetSequence::new(items, len));
                push_element(
                    &mut stack,
                    DataElement::new_with_len(tag, VR::SQ, len, value),
                )?;
            }
            DataToken::PixelSequenceStart => {
                let (value, found) = pixel_sequence(&mut tokens, limits.pixel_delimiter_required)?;
                if stack.len() == 1 {
                    layout = found;
                }
                push_element(
                    &mut stack,
                    DataElement::new(tags::PIXEL_DATA, VR::OB, value),
                )?;
            }
            DataToken::PrimitiveValue(_) => return Err(structure("value without a header")),
            DataToken::ItemValue(_) | DataToken::OffsetTable(_) => {
                return Err(structure("fragment outside pixel data"));
            }
        }
    }
    match stack.pop() {
        Some(Open::DataSet(elements)) if stack.is_empty() => {
            Ok((InMemDicomObject::from_element_iter(elements), layout))
        }
        // Report the outermost structure left open: that is where the input went wrong.
        _ => {
            let tag = stack
                .iter()
                .find_map(|open| match open {
                    Open::Sequence { tag, .. } => Some(*tag),
                    Open::DataSet(_) => None,
                })
                .unwrap_or(Tag(0xFFFE, 0xE000));
            Err(GuardError::Unterminated {
                what: "sequence",
                tag,
            })
        }
    }
}

fn structure(token: &'static str) -> GuardError {
    GuardError::Structure { token }
}

/// Adds an element to the data set or item being read.
fn push_element(stack: &mut [Open], element: InMemElement) -> Result<(), GuardError> {
    match stack.last_mut() {
        Some(Open::DataSet(elements)) => {
            elements.push(element);
            Ok(())
        }
        _ => Err(structure("element inside a sequence but outside its items")),
    }
}

/// The fragments of encapsulated pixel data, up to its sequence delimiter, and their
/// layout (each fragment's length is its item's: the reader may have kept only its head).
fn pixel_sequence<I>(
    tokens: &mut I,
    delimiter_required: bool,
) -> Result<(Value<InMemDicomObject, Vec<u8>>, PixelLayout), GuardError>
where
    I: Iterator<Item = Result<DataToken, GuardError>>,
{
    let mut offset_table: Option<Vec<u32>> = None;
    let mut fragments = Vec::new();
    let mut layout = Vec::new();
    let mut item_length = 0;
    loop {
        match tokens.next().transpose()? {
            Some(DataToken::OffsetTable(table)) => offset_table = Some(table),
            Some(DataToken::ItemValue(data)) => {
                layout.push(Fragment::of(u64::from(item_length), &data));
                fragments.push(data);
            }
            // After the first item, later items are fragments, even when it was empty.
            Some(DataToken::ItemEnd) => {
                offset_table.get_or_insert_with(Vec::new);
            }
            Some(DataToken::ItemStart { len }) => item_length = len.get().unwrap_or(0),
            Some(DataToken::SequenceEnd) => break,
            None if !delimiter_required => break,
            None => {
                return Err(GuardError::Unterminated {
                    what: "encapsulated pixel data",
                    tag: tags::PIXEL_DATA,
                });
            }
            Some(_) => return Err(structure("element inside encapsulated pixel data")),
        }
    }
    let offset_table = offset_table.unwrap_or_default();
    let layout = PixelLayout::Encapsulated {
        offset_table: offset_table.clone(),
        fragments: layout,
    };
    Ok((
        Value::PixelSequence(PixelFragmentSequence::new(offset_table, fragments)),
        layout,
    ))
}
