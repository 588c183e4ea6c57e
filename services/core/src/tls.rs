//! A deployment's own certificate authority, trusted for the servers a service connects to
//! (the broker, Orthanc): the PEM text of its CA file parsed, each certificate checked to
//! be usable as a trust anchor, so a wrong file is a start-up error reported the same way
//! by every service rather than a handshake failure later. No IO: callers read the file.

use std::fmt;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("is not valid PEM: {0}")]
    Pem(String),
    #[error("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    #[error("certificate {index} cannot be a trust anchor: {reason}")]
    NotAnAnchor { index: usize, reason: String },
}

/// The certificates of a CA file, every one accepted as a trust anchor.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedCa {
    certificates: Vec<CertificateDer<'static>>,
}

impl TrustedCa {
    /// Parses `pem`: every `CERTIFICATE` block (other blocks, such as a key left in the
    /// same file, are skipped); at least one, each a well-formed X.509 certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CaError> {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CaError::Pem(e.to_string()))?;
        if certificates.is_empty() {
            return Err(CaError::NoCertificate);
        }
        for (index, certificate) in certificates.iter().enumerate() {
            webpki::anchor_from_trusted_cert(certificate).map_err(|e| CaError::NotAnAnchor {
                index: index + 1,
                reason: e.to_string(),
            })?;
        }
        Ok(Self { certificates })
    }

    /// The certificates in DER, in file order.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }
}

// Certificates are public, but thousands of DER bytes help no one reading a log.
impl fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedCa")
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_a_certificate_is_refused() {
        assert!(matches!(
            TrustedCa::from_pem(b"hello"),
            Err(CaError::NoCertificate)
        ));
        let key_only = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            TrustedCa::from_pem(key_only),
            Err(CaError::NoCertificate)
        ));
        let bad_base64 = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            TrustedCa::from_pem(bad_base64),
            Err(CaError::Pem(_))
        ));
        // Valid base64 of bytes that are no X.509 certificate.
        let not_x509 =
            b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
        let err = TrustedCa::from_pem(not_x509).unwrap_err();
        assert!(
            matches!(err, CaError::NotAnAnchor { index: 1, .. }),
            "{err}"
        );
    }
}
