//! Small byte-level helpers over Part 10 files, for checking what was archived.

use sha2::{Digest, Sha256};

/// The data set of a Part 10 file: everything after the 128-byte preamble, `DICM` and the
/// file meta group (whose length is the value of its first element, (0002,0000) UL).
pub fn dataset_bytes(file: &[u8]) -> &[u8] {
    assert_eq!(&file[128..132], b"DICM", "not a Part 10 file");
    let group_length = u32::from_le_bytes(file[140..144].try_into().unwrap()) as usize;
    &file[144 + group_length..]
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
