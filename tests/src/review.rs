//! The review service in-process for the end-to-end tests and the review bench: on a given
//! store and archive, plain HTTP on a free port, and signing in as a browser would.

use std::collections::HashMap;
use std::path::Path;

use radraft_review::App;
use radraft_review::config::ReviewConfig;
use radraft_store::Store;
use tokio_util::sync::CancellationToken;

pub struct RunningReview {
    pub base: String,
    pub config: ReviewConfig,
    shutdown: CancellationToken,
}

impl Drop for RunningReview {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The review service's configuration for tests: a free port, plain HTTP, the archive.
pub fn review_config(archive_dir: &Path) -> ReviewConfig {
    review_config_with(archive_dir, &[])
}

/// [`review_config`] with more `RADRAFT_REVIEW__` variables (names without the prefix).
pub fn review_config_with(archive_dir: &Path, extra: &[(&str, &str)]) -> ReviewConfig {
    let mut vars = HashMap::from([
        (
            "RADRAFT_REVIEW__HTTP_ADDR".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "RADRAFT_REVIEW__SECURE_COOKIES".to_owned(),
            "false".to_owned(),
        ),
        (
            "RADRAFT_REVIEW__ARCHIVE_DIR".to_owned(),
            archive_dir.display().to_string(),
        ),
    ]);
    for (name, value) in extra {
        vars.insert(format!("RADRAFT_REVIEW__{name}"), (*value).to_owned());
    }
    ReviewConfig::from_vars(vars).unwrap()
}

/// Starts the review service on `store`; it stops when the returned value is dropped.
pub async fn start_review(store: &Store, archive_dir: &Path) -> RunningReview {
    start_review_with(store, archive_dir, &[]).await
}

/// [`start_review`] with more configuration (names without the `RADRAFT_REVIEW__` prefix).
pub async fn start_review_with(
    store: &Store,
    archive_dir: &Path,
    extra: &[(&str, &str)],
) -> RunningReview {
    let config = review_config_with(archive_dir, extra);
    let app = App::with_store(store.clone(), config.clone())
        .await
        .unwrap();
    let base = format!("http://{}", app.http_addr().unwrap());
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move { app.run(token).await.unwrap() });
    RunningReview {
        base,
        config,
        shutdown,
    }
}

/// An HTTP client that, like these tests, looks at redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in; returns the session cookie (`name=value`) and the session's CSRF token.
pub async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> (String, String) {
    let response = client
        .post(format!("{base}/login"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        reqwest::StatusCode::SEE_OTHER,
        "sign-in as {user}"
    );
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me: serde_json::Value = client
        .get(format!("{base}/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (cookie, me["csrf_token"].as_str().unwrap().to_owned())
}
