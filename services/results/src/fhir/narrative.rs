//! The DiagnosticReport's human-readable narrative: what the reader must know before
//! trusting the text (who or what wrote it, whether a radiologist signed it), then the text.

use crate::report::{ReportStatus, Revision};

/// The narrative banner of an unreviewed draft.
pub const DRAFT_BANNER: &str = "Preliminary AI-generated draft, not reviewed by a radiologist";

/// The narrative `div` (XHTML): a status banner, the model that drafted the text, the
/// reason for an amendment or rejection, and the report text itself (withheld when
/// rejected).
pub(super) fn div(rev: &Revision) -> String {
    let signed_by = rev.signer.as_ref().map(|signer| {
        format!(
            "{} on {}",
            signer.display_name,
            signer.signed_at.format("%Y-%m-%d %H:%M UTC")
        )
    });
    let banner = match (rev.status, &signed_by) {
        (ReportStatus::Draft, _) => DRAFT_BANNER.to_owned(),
        (ReportStatus::Final, Some(by)) => {
            format!("Final report: AI-generated draft reviewed and signed by {by}")
        }
        (ReportStatus::Amended, Some(by)) => {
            format!("Amended report: AI-generated draft, amendment signed by {by}")
        }
        (ReportStatus::Final | ReportStatus::Amended, None) => {
            "AI-generated report: signer not recorded".to_owned()
        }
        (ReportStatus::Rejected, Some(by)) => {
            format!("AI-generated draft rejected by {by}; no report issued from it")
        }
        (ReportStatus::Rejected, None) => {
            "AI-generated draft rejected by a radiologist; no report issued from it".to_owned()
        }
    };
    let algorithm = &rev.algorithm;
    let mut html = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>{}</b></p>\
         <p>Drafted by AI model {} (revision {}, radraft {}, prompt {}).</p>",
        escape(&banner),
        escape(&algorithm.name),
        escape(&algorithm.version),
        escape(&algorithm.software_version),
        escape(&algorithm.prompt_template),
    );
    let reason = match rev.status {
        ReportStatus::Amended => rev.amendment_reason.as_deref().map(|r| ("amendment", r)),
        ReportStatus::Rejected => rev.rejection_reason.as_deref().map(|r| ("rejection", r)),
        ReportStatus::Draft | ReportStatus::Final => None,
    };
    if let Some((kind, reason)) = reason {
        html.push_str(&format!("<p>Reason for {kind}: {}</p>", escape(reason)));
    }
    if rev.status != ReportStatus::Rejected {
        html.push_str(&format!("<pre>{}</pre>", escape(&rev.full_text())));
    }
    html.push_str("</div>");
    html
}

/// XML-escapes text for the XHTML narrative.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a < b & \"c\"\u{0}\n"),
            "a &lt; b &amp; &quot;c&quot;\u{FFFD}\n"
        );
    }
}
