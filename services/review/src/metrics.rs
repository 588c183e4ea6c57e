//! `/metrics` for Prometheus: per model version and modality, drafts shown and kept in
//! shadow, decisions, rejections by reason code, characters changed in edited drafts and
//! seconds to sign-off (summaries: `_sum` and `_count`); beside them the drafting switch,
//! the model versions in shadow mode, the critical-finding loops and the studies waiting
//! for a draft. It reads the governance page's queries, so the two agree.
//!
//! Prometheus has no session: the route takes a bearer token
//! (`RADRAFT_REVIEW__METRICS_TOKEN`) instead, and answers 404 when none is configured.
//! Labels are model ids, revisions, modality codes and fixed words: never free text, never
//! patient data.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use radraft_store::{GovernanceRow, GovernanceStatus, ModelMode, RejectionReason};
use secrecy::ExposeSecret;

use crate::app::AppState;
use crate::auth::{same_secret, token_digest};
use crate::error::ApiError;

/// Whether `headers` carry `Authorization: Bearer <expected>`. The digests are compared,
/// in constant time, so neither the token nor its length shows in the timing.
fn authorised(headers: &HeaderMap, expected: &str) -> bool {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    sent.is_some_and(|sent| {
        same_secret(
            &hex::encode(token_digest(sent)),
            &hex::encode(token_digest(expected.trim())),
        )
    })
}

pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(expected) = &state.config.metrics_token else {
        return Err(ApiError::NotFound);
    };
    if !authorised(&headers, expected.expose_secret()) {
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"radraft-metrics\"")],
            "a bearer token is required\n",
        )
            .into_response());
    }
    let text = render(
        &state.store.governance().await?,
        &state.store.rejection_reasons().await?,
        &state.store.governance_status().await?,
        &state.store.model_modes().await?,
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// A label value as the exposition format wants it: backslash, quote and newline escaped.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label_value(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The exposition text.
pub fn render(
    rows: &[GovernanceRow],
    reasons: &[RejectionReason],
    status: &GovernanceStatus,
    modes: &[ModelMode],
) -> String {
    let mut out = String::new();
    let model = |r: &GovernanceRow| {
        [
            ("model_id", r.model_id.clone()),
            ("model_revision", r.model_revision.clone()),
            ("modality", r.modality.clone()),
        ]
    };
    let with = |base: &[(&'static str, String); 3], extra: Option<(&'static str, &str)>| {
        let mut pairs: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.extend(extra);
        labels(&pairs)
    };

    let name = "radraft_review_drafts_total";
    family(
        &mut out,
        name,
        "counter",
        "Drafts made, shown to radiologists or kept in shadow mode.",
    );
    for r in rows {
        let m = model(r);
        let _ = writeln!(
            out,
            "{name}{} {}",
            with(&m, Some(("mode", "shown"))),
            r.drafts
        );
        let _ = writeln!(
            out,
            "{name}{} {}",
            with(&m, Some(("mode", "shadow"))),
            r.shadow_drafts
        );
    }
    let name = "radraft_review_decisions_total";
    family(
        &mut out,
        name,
        "counter",
        "Radiologists' decisions on shown drafts.",
    );
    for r in rows {
        let m = model(r);
        for (decision, n) in [
            ("accepted", r.accepted),
            ("edited", r.edited),
            ("rejected", r.rejected),
        ] {
            let _ = writeln!(out, "{name}{} {n}", with(&m, Some(("decision", decision))));
        }
    }
    let name = "radraft_review_rejections_total";
    family(&mut out, name, "counter", "Rejected drafts by reason code.");
    for r in reasons {
        let pairs = [
            ("model_id", r.model_id.as_str()),
            ("model_revision", r.model_revision.as_str()),
            ("modality", r.modality.as_str()),
            ("reason", r.reason.as_str()),
        ];
        let _ = writeln!(out, "{name}{} {}", labels(&pairs), r.count);
    }
    let name = "radraft_review_edit_distance_characters";
    family(
        &mut out,
        name,
        "summary",
        "Characters changed in edited drafts (Levenshtein).",
    );
    for r in rows {
        let l = with(&model(r), None);
        let _ = writeln!(
            out,
            "{name}_sum{l} {}\n{name}_count{l} {}",
            r.edit_distance_sum, r.edited
        );
    }
    let name = "radraft_review_time_to_sign_seconds";
    family(
        &mut out,
        name,
        "summary",
        "Seconds from draft to sign-off (accepted or edited).",
    );
    for r in rows {
        let l = with(&model(r), None);
        let _ = writeln!(
            out,
            "{name}_sum{l} {}\n{name}_count{l} {}",
            r.seconds_to_sign_sum,
            r.signed()
        );
    }

    let name = "radraft_review_model_shadow";
    family(
        &mut out,
        name,
        "gauge",
        "1 for a model version in shadow mode, 0 once set active again.",
    );
    for m in modes {
        let pairs = [
            ("model_id", m.model_id.as_str()),
            ("model_revision", m.model_revision.as_str()),
        ];
        let _ = writeln!(out, "{name}{} {}", labels(&pairs), u8::from(m.shadow));
    }
    let gauges = [
        (
            "radraft_review_drafting_enabled",
            "1 while workers draft; 0 while the kill switch parks studies.",
            i64::from(status.drafting_enabled),
        ),
        (
            "radraft_review_studies_awaiting_draft",
            "Studies settled and queued, not yet drafted (they pile up while drafting is off).",
            status.awaiting_draft,
        ),
    ];
    for (name, help, value) in gauges {
        family(&mut out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    let name = "radraft_review_critical_findings";
    family(
        &mut out,
        name,
        "gauge",
        "Confirmed critical findings: open (nobody recorded as told) or closed.",
    );
    let _ = writeln!(
        out,
        "{name}{{loop=\"open\"}} {}",
        status.open_critical_findings
    );
    let _ = writeln!(
        out,
        "{name}{{loop=\"closed\"}} {}",
        status.closed_critical_findings
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_only_the_right_token_passes() {
        assert_eq!(
            labels(&[("a", "x\"y\\z\nw"), ("b", "c")]),
            "{a=\"x\\\"y\\\\z\\nw\",b=\"c\"}"
        );
        let mut headers = HeaderMap::new();
        assert!(!authorised(&headers, "s3cret-token"));
        headers.insert(
            header::AUTHORIZATION,
            "Bearer s3cret-token".parse().unwrap(),
        );
        assert!(authorised(&headers, "s3cret-token"));
        assert!(!authorised(&headers, "s3cret-tokem"));
        headers.insert(header::AUTHORIZATION, "Basic s3cret-token".parse().unwrap());
        assert!(!authorised(&headers, "s3cret-token"));
    }
}
