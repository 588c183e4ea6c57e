//! Why untrusted bytes were not read: each variant says what the input declared or lacked,
//! never a value from it (the messages reach logs and peers).

use dicom_core::Tag;

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// An element declares a value longer than the rest of the input; refused before the
    /// parser allocates for it.
    #[error("element {tag} declares {length} bytes, {remaining} remain")]
    DeclaredLength {
        tag: Tag,
        length: u32,
        remaining: usize,
    },
    /// A deflated data set inflates to more than the limit; refused before it is parsed.
    #[error("deflated data set inflates to more than {limit} bytes")]
    InflatedTooLarge { limit: u64 },
    /// Sequences nested deeper than the limit (each level costs the reader a little, and
    /// dicom-rs's own tree code recursion: 100,000 levels in 3.6 MB overflowed a stack).
    #[error("sequences nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// More elements, items and fragments than the limit: each costs memory out of all
    /// proportion to the bytes it took on the wire.
    #[error("data set holds more than {limit} elements")]
    TooManyElements { limit: usize },
    /// The input ended inside a sequence, an item or encapsulated pixel data.
    #[error("{what} {tag} ends without its delimiter")]
    Unterminated { what: &'static str, tag: Tag },
    /// A token the data set's structure does not allow where it stands.
    #[error("unexpected {token} in the data set")]
    Structure { token: &'static str },
    /// The transfer syntax is not one dicom-rs knows or can read a data set in.
    #[error("transfer syntax {uid} cannot be read")]
    TransferSyntax { uid: String },
    /// dicom-object could not read the preamble or file meta group.
    #[error("cannot read the file meta group: {source}")]
    Meta {
        #[source]
        source: Box<dicom_object::ReadError>,
    },
    /// The source holding the data set could not be read or sought (a spooled file).
    #[error("cannot read the data set's source: {source}")]
    Source {
        #[source]
        source: std::io::Error,
    },
    /// dicom-parser could not read the data set (truncated value, bad header, ...).
    #[error("cannot read the data set: {source}")]
    DataSet {
        #[source]
        source: Box<dicom_parser::dataset::read::Error>,
    },
}
