//! A STOW-RS client: builds `multipart/related` bodies the way DICOMweb senders do.

pub const BOUNDARY: &str = "radraft-e2e-boundary-7d1f";

pub struct StowResponse {
    pub status: u16,
    pub body: serde_json::Value,
    pub warning: Option<String>,
}

impl StowResponse {
    /// Asserts that the request was answered 409 with one failure, `sop_instance` of
    /// `sop_class` refused for `reason`; returns the Warning header's text ("" when none).
    pub fn refused_one(&self, reason: u64, sop_class: &str, sop_instance: &str) -> String {
        assert_eq!(self.status, 409, "{}", self.body);
        assert_eq!(
            failures(&self.body),
            [Failure {
                reason,
                sop_class: Some(sop_class.into()),
                sop_instance: Some(sop_instance.into()),
            }]
        );
        self.warning.clone().unwrap_or_default()
    }
}

/// Builds a multipart/related body with one `application/dicom` part per file.
pub fn body(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub async fn post(url: &str, content_type: &str, body: Vec<u8>) -> StowResponse {
    post_with_token(url, content_type, body, None).await
}

/// Like `post`, with `Authorization: Bearer <token>` when a token is given.
pub async fn post_with_token(
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> StowResponse {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .header("accept", "application/dicom+json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("gateway answers HTTP");
    let status = response.status().as_u16();
    let warning = response
        .headers()
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    StowResponse {
        status,
        body,
        warning,
    }
}

pub async fn store(url: &str, parts: &[Vec<u8>]) -> StowResponse {
    store_with_token(url, parts, None).await
}

/// Like `store`, presenting a bearer token when one is given.
pub async fn store_with_token(url: &str, parts: &[Vec<u8>], token: Option<&str>) -> StowResponse {
    post_with_token(url, &content_type(), body(parts), token).await
}

/// The Content-Type of a body made by `body`.
pub fn content_type() -> String {
    format!("multipart/related; type=\"application/dicom\"; boundary={BOUNDARY}")
}

/// The FailureReason codes of a response's FailedSOPSequence.
pub fn failure_reasons(body: &serde_json::Value) -> Vec<u64> {
    body["00081198"]["Value"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["00081197"]["Value"][0].as_u64())
                .collect()
        })
        .unwrap_or_default()
}

pub fn stored_count(body: &serde_json::Value) -> usize {
    body["00081199"]["Value"].as_array().map_or(0, Vec::len)
}

/// One FailedSOPSequence item: FailureReason, ReferencedSOPClassUID, ReferencedSOPInstanceUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: u64,
    pub sop_class: Option<String>,
    pub sop_instance: Option<String>,
}

/// The items of a response's FailedSOPSequence.
pub fn failures(body: &serde_json::Value) -> Vec<Failure> {
    let text =
        |item: &serde_json::Value, tag: &str| item[tag]["Value"][0].as_str().map(str::to_owned);
    body["00081198"]["Value"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| Failure {
                    reason: i["00081197"]["Value"][0].as_u64().unwrap_or_default(),
                    sop_class: text(i, "00081150"),
                    sop_instance: text(i, "00081155"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// POSTs a body of one `application/dicom` part, the file at `path`, streamed from disk over
/// plain HTTP/1.1 with a Content-Length: the test process never holds the file. `None` when
/// the gateway closed the connection before its answer could be read (it answers a part
/// over the limit at once, and the rest of the upload may then meet a reset).
pub async fn store_file(http_port: u16, path: &std::path::Path) -> Option<StowResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let head = format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n");
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let size = std::fs::metadata(path).unwrap().len();
    let length = head.len() as u64 + size + tail.len() as u64;
    let request = format!(
        "POST /dicom-web/studies HTTP/1.1\r\nHost: 127.0.0.1:{http_port}\r\n\
         Content-Type: {}\r\nAccept: application/dicom+json\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n{head}",
        content_type()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", http_port))
        .await
        .expect("gateway answers HTTP");
    let mut file = tokio::fs::File::open(path).await.unwrap();
    let sent = async {
        stream.write_all(request.as_bytes()).await?;
        tokio::io::copy(&mut file, &mut stream).await?;
        stream.write_all(tail.as_bytes()).await
    }
    .await;
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer).await;
    if let (Err(sending), Err(reading)) = (&sent, &read) {
        println!("upload cut short ({sending}), answer lost ({reading})");
    }
    let answer = String::from_utf8_lossy(&answer);
    answer.contains("\r\n\r\n").then(|| parse_response(&answer))
}

/// Status, Warning header and JSON body of an HTTP/1.1 response with a Content-Length.
fn parse_response(answer: &str) -> StowResponse {
    let (head, text) = answer.split_once("\r\n\r\n").expect("a whole response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    assert!(header("transfer-encoding").is_none(), "{head}");
    let body = serde_json::from_str(text).unwrap_or(serde_json::Value::String(text.to_owned()));
    StowResponse {
        status,
        body,
        warning: header("warning"),
    }
}
