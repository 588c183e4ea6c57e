//! Archive keys: `study/series/sop-<hash prefix>.dcm`, built only from validated UIDs.

use std::fmt;

use radraft_core::Uid;

/// How many hex digits of the content hash go into the key: enough that two versions of
/// one instance never collide, short enough to keep paths readable.
const HASH_PREFIX: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArchiveKey(String);

impl ArchiveKey {
    /// UIDs contain only digits and dots (see [`Uid::parse`]), so they are safe path parts.
    pub fn for_instance(study: &Uid, series: &Uid, sop_instance: &Uid, sha256_hex: &str) -> Self {
        let prefix = sha256_hex.get(..HASH_PREFIX).unwrap_or(sha256_hex);
        Self(format!("{study}/{series}/{sop_instance}-{prefix}.dcm"))
    }

    /// Re-creates a key read back from the database.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SOP instance UID a key built by [`ArchiveKey::for_instance`] names, read back
    /// from its file name (`{sop}-{hash prefix}.dcm`).
    pub fn sop_instance_uid(&self) -> Option<&str> {
        let name = self.0.rsplit('/').next()?;
        let (sop, _) = name.strip_suffix(".dcm")?.rsplit_once('-')?;
        Some(sop)
    }
}

impl fmt::Display for ArchiveKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_bytes_give_different_keys() {
        let uid = |s| Uid::parse(s).unwrap();
        let a =
            ArchiveKey::for_instance(&uid("1.2"), &uid("1.2.3"), &uid("1.2.3.4"), &"a".repeat(64));
        let b =
            ArchiveKey::for_instance(&uid("1.2"), &uid("1.2.3"), &uid("1.2.3.4"), &"b".repeat(64));
        assert_eq!(a.as_str(), "1.2/1.2.3/1.2.3.4-aaaaaaaaaaaaaaaa.dcm");
        assert_eq!(a.sop_instance_uid(), Some("1.2.3.4"));
        assert_eq!(
            ArchiveKey::from_stored("x/y.dcm".into()).sop_instance_uid(),
            None
        );
        assert_ne!(a, b);
    }
}
