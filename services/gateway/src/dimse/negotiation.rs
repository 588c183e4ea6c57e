//! What association negotiation refuses, each refusal logged at WARN with its reason and the
//! peer (address and AE titles, never anything from a data set): an association from a
//! calling AE title not allowed or for another called AE title, and each presentation
//! context proposed for a class or transfer syntaxes radraft does not take.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{
    AssociationRJServiceUserReason, PresentationContextNegotiated, PresentationContextResultReason,
    UserIdentity,
};
use tracing::warn;

use crate::config::AllowedAes;

/// Association access control: the called AE must be ours and the calling AE allowed.
#[derive(Debug, Clone)]
pub(super) struct AllowList {
    pub allowed: AllowedAes,
    pub peer: SocketAddr,
    /// Set when this check refused the association and logged why, so the failed
    /// establishment that follows is not logged a second time.
    pub refused: Arc<AtomicBool>,
}

impl AccessControl for AllowList {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        let refusal = if called_ae_title.trim() != this_ae_title.trim() {
            Some((
                AssociationRJServiceUserReason::CalledAETitleNotRecognized,
                "called AE title not ours",
            ))
        } else if !self.allowed.allows(calling_ae_title) {
            Some((
                AssociationRJServiceUserReason::CallingAETitleNotRecognized,
                "calling AE title not allowed",
            ))
        } else {
            None
        };
        match refusal {
            None => Ok(()),
            Some((reason, why)) => {
                // AE titles come off the wire: Debug formatting escapes anything odd.
                warn!(
                    peer = %self.peer,
                    calling_ae = ?calling_ae_title.trim(),
                    called_ae = ?called_ae_title.trim(),
                    reason = why,
                    "association refused"
                );
                self.refused.store(true, Ordering::Relaxed);
                Err(reason)
            }
        }
    }
}

/// Logs every presentation context the negotiation refused.
pub(super) fn log_refused_contexts(
    contexts: &[PresentationContextNegotiated],
    peer: SocketAddr,
    calling_ae: &str,
) {
    for context in contexts {
        let reason = match context.reason {
            PresentationContextResultReason::Acceptance => continue,
            PresentationContextResultReason::AbstractSyntaxNotSupported => {
                "abstract syntax not supported"
            }
            PresentationContextResultReason::TransferSyntaxesNotSupported => {
                "none of its transfer syntaxes supported"
            }
            PresentationContextResultReason::UserRejection
            | PresentationContextResultReason::NoReason => "refused",
        };
        warn!(
            %peer,
            calling_ae = ?calling_ae,
            abstract_syntax = ?context.abstract_syntax.trim_end_matches('\0'),
            context_id = context.id,
            reason,
            "presentation context refused"
        );
    }
}
