//! DICOMweb STOW-RS: `POST /dicom-web/studies` with a `multipart/related` body of
//! `application/dicom` parts (PS3.18 §10.5). Each part is streamed to a spool file as it
//! arrives (never held in memory, the per-part limit enforced on the way) and goes through
//! the same ingest path as C-STORE; the response lists what was stored and what failed,
//! and why, each failure naming the SOP class and instance where its meta group declared
//! them. Every refusal is logged with its reason and the client's address.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::State;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{Value, json};
use tracing::warn;

use crate::api_error::ApiError;
use crate::ingest::{IngestError, Ingestor, Origin, ReceivedFile, Source};

const DICOM_JSON: &str = "application/dicom+json";

pub fn router(ingestor: Ingestor) -> Router {
    Router::new()
        .route("/dicom-web/studies", post(store_instances))
        .with_state(ingestor)
}

/// The client's address, when the server was started with connection info (the gateway
/// always is; a router under test may not be).
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

async fn store_instances(
    State(ingestor): State<Ingestor>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr);
    let result = store_parts(&ingestor, peer, &headers, body).await;
    if let Err(error) = &result {
        warn!(peer = %client(peer), ?error, "refused STOW-RS request");
    }
    result
}

async fn store_parts(
    ingestor: &Ingestor,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let boundary = multipart_boundary(headers)?;
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().per_field(ingestor.max_instance_bytes()));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let origin = Origin {
        source: Source::Stow,
        calling_ae: None,
    };
    let mut outcome = Outcome {
        peer,
        ..Outcome::default()
    };
    while let Some(part) = multipart.next_field().await.map_err(multipart_error)? {
        if let Some(kind) = part.content_type()
            && kind.essence_str() != "application/dicom"
        {
            let error = IngestError::NotDicom {
                reason: format!("part has content type {kind}, expected application/dicom"),
            };
            outcome.failed(&error, (None, None));
            continue;
        }
        let received = spool_part(ingestor, part).await?;
        let declared = received.declared_uids();
        match ingestor.ingest_part10(received, &origin).await {
            Ok(stored) => outcome.stored(&stored.sop_class_uid, &stored.sop_instance_uid),
            Err(error) if error.is_sender_fault() => outcome.failed(&error, declared),
            Err(error) => return Err(unstored(&error)),
        }
    }
    outcome.into_response()
}

/// Streams a part's bytes into a spool file; the multipart reader refuses a part over the
/// per-object limit as it passes it.
async fn spool_part(
    ingestor: &Ingestor,
    mut part: multer::Field<'_>,
) -> Result<ReceivedFile, ApiError> {
    let mut incoming = ingestor.receive_file().await.map_err(|e| unstored(&e))?;
    while let Some(chunk) = part.chunk().await.map_err(multipart_error)? {
        incoming = incoming.append(chunk).await.map_err(|e| unstored(&e))?;
    }
    incoming.finish().await.map_err(|e| unstored(&e))
}

/// A part the gateway could not store through no fault of the client's (the archive or the
/// database is unavailable): logged, and the request answered 503.
fn unstored(error: &IngestError) -> ApiError {
    warn!(%error, code = error.code(), "STOW-RS part could not be stored");
    ApiError::unavailable()
}

/// The client's address for a log line.
fn client(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unknown".to_owned(), |addr| addr.to_string())
}

/// Extracts the boundary of a `multipart/related; type="application/dicom"` request.
fn multipart_boundary(headers: &HeaderMap) -> Result<String, ApiError> {
    let raw = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unsupported_media_type(
                "the request has no Content-Type; expected multipart/related",
            )
        })?;
    let mime: mime::Mime = raw.parse().map_err(|_| {
        ApiError::unsupported_media_type("the Content-Type is not a valid media type")
    })?;
    if mime.essence_str() != "multipart/related" {
        return Err(ApiError::unsupported_media_type(format!(
            "the body is {}, STOW-RS needs multipart/related",
            mime.essence_str()
        )));
    }
    if let Some(kind) = mime.get_param("type")
        && kind.as_str() != "application/dicom"
    {
        return Err(ApiError::unsupported_media_type(format!(
            "only type=\"application/dicom\" parts are accepted, not {}",
            kind.as_str()
        )));
    }
    mime.get_param(mime::BOUNDARY)
        .map(|b| b.to_string())
        .ok_or_else(|| {
            ApiError::bad_request(
                "malformed_multipart",
                "the multipart Content-Type has no boundary",
            )
        })
}

fn multipart_error(error: multer::Error) -> ApiError {
    if over_body_limit(&error) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is over the gateway's total limit",
        );
    }
    match error {
        multer::Error::FieldSizeExceeded { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a part is over the limit of {limit} bytes"),
        ),
        other => ApiError::bad_request(
            "malformed_multipart",
            format!("the multipart body is malformed: {other}"),
        ),
    }
}

/// Whether reading the body failed because it passed `HTTP_MAX_BODY_BYTES` (a chunked body;
/// one that declares a larger Content-Length is refused before it reaches the handler).
fn over_body_limit(error: &multer::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// The STOW-RS response: ReferencedSOPSequence and FailedSOPSequence (PS3.18 §10.5.3).
#[derive(Default)]
struct Outcome {
    peer: Option<SocketAddr>,
    referenced: Vec<Value>,
    failed: Vec<Value>,
    reasons: Vec<String>,
}

impl Outcome {
    fn stored(&mut self, sop_class: &str, sop_instance: &str) {
        self.referenced.push(json!({
            "00081150": { "vr": "UI", "Value": [sop_class] },
            "00081155": { "vr": "UI", "Value": [sop_instance] },
        }));
    }

    /// Records a refused part; `(sop_class, sop_instance)` are the UIDs it declared, where
    /// they could be read.
    fn failed(
        &mut self,
        error: &IngestError,
        (sop_class, sop_instance): (Option<String>, Option<String>),
    ) {
        let part = self.referenced.len() + self.failed.len() + 1;
        warn!(
            peer = %client(self.peer),
            part,
            code = error.code(),
            %error,
            // A valid UID (checked when read) or nothing: safe to print as it is.
            sop_instance_uid = sop_instance.as_deref().unwrap_or("unknown"),
            "refused STOW-RS part"
        );
        let mut item = serde_json::Map::new();
        if let Some(uid) = sop_class {
            item.insert("00081150".into(), json!({ "vr": "UI", "Value": [uid] }));
        }
        if let Some(uid) = sop_instance {
            item.insert("00081155".into(), json!({ "vr": "UI", "Value": [uid] }));
        }
        item.insert(
            "00081197".into(),
            json!({ "vr": "US", "Value": [error.stow_failure_reason()] }),
        );
        self.failed.push(Value::Object(item));
        self.reasons
            .push(format!("part {part}: {} ({error})", error.code()));
    }

    fn into_response(self) -> Result<Response, ApiError> {
        if self.referenced.is_empty() && self.failed.is_empty() {
            return Err(ApiError::bad_request(
                "empty_body",
                "the multipart body has no parts",
            ));
        }
        let status = match (self.referenced.is_empty(), self.failed.is_empty()) {
            (_, true) => StatusCode::OK,
            (false, false) => StatusCode::ACCEPTED,
            (true, false) => StatusCode::CONFLICT,
        };
        let mut body = serde_json::Map::new();
        if !self.referenced.is_empty() {
            body.insert(
                "00081199".into(),
                json!({ "vr": "SQ", "Value": self.referenced }),
            );
        }
        if !self.failed.is_empty() {
            body.insert(
                "00081198".into(),
                json!({ "vr": "SQ", "Value": self.failed }),
            );
        }
        let mut response = (
            status,
            [(header::CONTENT_TYPE, DICOM_JSON)],
            Value::Object(body).to_string(),
        )
            .into_response();
        if !self.reasons.is_empty() {
            let text = self.reasons.join("; ").replace('"', "'");
            if let Ok(value) = HeaderValue::from_str(&format!("299 radraft \"{text}\"")) {
                response.headers_mut().insert(header::WARNING, value);
            }
        }
        Ok(response)
    }
}
