//! HTTP to Orthanc with a bound on every wait: connect and idle-read timeouts on the
//! client, a total time per request, and instance downloads refused by their declared
//! size (Content-Length) before a byte of the body is read, or cut off once they outgrow
//! the limit when no size was declared. Over `https://` Orthanc's certificate is always
//! verified, hostname included: against the system's roots, or, when `ORTHANC__CA_FILE`
//! names a deployment's CA, against that CA alone.

use bytes::{Bytes, BytesMut};
use reqwest::{Certificate, Client, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use crate::config::OrthancConfig;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not build the HTTP client")]
    Build(#[source] reqwest::Error),
    /// `reason` is the whole chain of causes: reqwest's own message stops at "error
    /// sending request", and the log should say why (refused, timed out, a certificate
    /// from an untrusted CA or for another host).
    #[error("Orthanc request {what} failed: {reason}")]
    Http {
        what: String,
        reason: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Orthanc has no {what}")]
    NotFound { what: String },
    #[error("instance is {size} bytes or more, over the limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
}

#[derive(Debug, Clone)]
pub struct OrthancClient {
    config: OrthancConfig,
    client: Client,
}

impl OrthancClient {
    pub fn new(config: OrthancConfig) -> Result<Self, ClientError> {
        let mut builder = Client::builder()
            .connect_timeout(config.timeout)
            .read_timeout(config.timeout);
        if let Some(ca) = &config.ca {
            builder = builder.tls_built_in_root_certs(false);
            for der in ca.certificates() {
                let certificate = Certificate::from_der(der).map_err(ClientError::Build)?;
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(ClientError::Build)?;
        Ok(Self { config, client })
    }

    /// GETs `path` and decodes its JSON, all within the request timeout.
    pub async fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(path, self.request(path).timeout(self.config.timeout))
            .await?
            .json()
            .await
            .map_err(|source| http(path, source))
    }

    /// Downloads `path` if it is at most `limit` bytes, within the download timeout.
    pub async fn download(&self, path: &str, limit: u64) -> Result<Bytes, ClientError> {
        let request = self.request(path).timeout(self.config.download_timeout);
        let mut response = self.send(path, request).await?;
        if let Some(size) = response.content_length()
            && size > limit
        {
            // Dropping the response closes the connection with the body unread.
            return Err(ClientError::TooLarge { size, limit });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| http(path, source))?
        {
            let size = (body.len() + chunk.len()) as u64;
            if size > limit {
                return Err(ClientError::TooLarge { size, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn request(&self, path: &str) -> RequestBuilder {
        let request = self.client.get(format!("{}{path}", self.config.url));
        match &self.config.username {
            Some(user) => {
                let password = self
                    .config
                    .password
                    .as_ref()
                    .map(|p| p.expose_secret().to_owned());
                request.basic_auth(user, password)
            }
            None => request,
        }
    }

    async fn send(&self, path: &str, request: RequestBuilder) -> Result<Response, ClientError> {
        let response = request.send().await.map_err(|source| http(path, source))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(ClientError::NotFound {
                what: path.to_owned(),
            });
        }
        response
            .error_for_status()
            .map_err(|source| http(path, source))
    }
}

fn http(what: &str, source: reqwest::Error) -> ClientError {
    let mut reason = source.to_string();
    let mut cause = std::error::Error::source(&source);
    while let Some(error) = cause {
        reason.push_str(": ");
        reason.push_str(&error.to_string());
        cause = error.source();
    }
    ClientError::Http {
        what: what.to_owned(),
        reason,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// An HTTP peer that answers every request with `head` (and `body`), then keeps the
    /// connection open without sending more.
    async fn peer(head: &'static str, body: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut request = [0_u8; 4096];
                    let _ = stream.read(&mut request).await;
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                    tokio::time::sleep(Duration::from_secs(60)).await;
                });
            }
        });
        format!("http://{addr}")
    }

    fn client(url: String) -> OrthancClient {
        OrthancClient::new(OrthancConfig {
            name: "test".into(),
            url,
            username: None,
            password: None,
            poll_interval: Duration::from_millis(100),
            timeout: Duration::from_millis(300),
            download_timeout: Duration::from_millis(600),
            ca: None,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn an_instance_declared_too_large_is_refused_before_its_body() {
        // 10 GB declared, no body sent: reading it would hang until the timeout.
        let url = peer(
            "HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n",
            Vec::new(),
        )
        .await;
        let started = Instant::now();
        let result = client(url).download("/instances/x/file", 1024).await;
        assert!(
            matches!(
                result,
                Err(ClientError::TooLarge {
                    size: 10_000_000_000,
                    limit: 1024
                })
            ),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_millis(250));
    }

    #[tokio::test]
    async fn an_undeclared_size_is_cut_off_at_the_limit() {
        let mut body = format!("{:x}\r\n", 4096).into_bytes();
        body.extend(std::iter::repeat_n(b'a', 4096));
        body.extend(b"\r\n");
        let url = peer(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            body,
        )
        .await;
        let result = client(url).download("/instances/x/file", 1000).await;
        assert!(
            matches!(result, Err(ClientError::TooLarge { size, limit: 1000 }) if size > 1000),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_peer_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // Accepted (by the backlog) but never read or answered.
        let started = Instant::now();
        let result = client(url).json::<serde_json::Value>("/changes").await;
        assert!(
            matches!(result, Err(ClientError::Http { .. })),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }

    #[tokio::test]
    async fn a_small_instance_downloads_and_a_missing_one_is_not_found() {
        let url = peer(
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n",
            b"DICM".to_vec(),
        )
        .await;
        let body = client(url).download("/instances/x/file", 4).await.unwrap();
        assert_eq!(&body[..], b"DICM");
        let url = peer(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            Vec::new(),
        )
        .await;
        let result = client(url)
            .json::<serde_json::Value>("/studies/x/instances")
            .await;
        assert!(
            matches!(result, Err(ClientError::NotFound { .. })),
            "{result:?}"
        );
    }
}
