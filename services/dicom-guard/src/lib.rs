//! radraft-dicom-guard: the one way radraft reads DICOM bytes it did not write, shared by
//! the gateway (C-STORE data sets, DIMSE command sets, STOW-RS parts, Orthanc downloads) and
//! imaging (archived objects).
//!
//! dicom-rs trusts what the bytes declare: it reserves every declared length before reading
//! it, inflates deflated data sets without bound and recurses once per nesting level. Here
//! every declared length is checked against the bytes actually left before the parser can
//! allocate for it ([`read_file`], [`read_dataset`], [`read_command`]), a deflated data set's
//! inflated size is capped, and sequences are bounded in depth and, for new objects, must be
//! closed ([`Limits::strict`]). [`check_pixel_data`] then holds an object's pixel data to its
//! own image description, before anything is stored. [`scan_dataset`] reads a data set from
//! a file (or any seekable source) the same way without keeping its pixel data, so a
//! receiver can check an object of any size in little memory.

mod bounded;
mod build;
mod error;
mod meta;
mod pixels;
mod read;
mod rle;
mod scan;

pub use error::GuardError;
pub use pixels::{PixelProblem, check_pixel_data};
pub use read::{
    Limits, MAX_ELEMENTS, MAX_INFLATED_BYTES, read_command, read_dataset, read_file, read_meta,
    read_part10,
};
pub use rle::check_rle_headers;
pub use scan::{Scanned, scan_dataset};

#[cfg(test)]
mod tests;
