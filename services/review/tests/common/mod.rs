//! What the review service's integration tests share: the service on a fresh database with a
//! user of each role, signed-in sessions, and the requests a browser makes with them.

// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;

use radraft_review::config::ReviewConfig;
use radraft_review::{App, users};
use radraft_store::Store;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Every test user's password.
pub const PASSWORD: &str = "a long enough password";

/// The service under test, listening on a free local port.
pub struct Service {
    pub base: String,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    pub store: Store,
}

/// A signed-in browser: its session cookie and the session's CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    /// This session's cookie sent with a CSRF token that is not its own.
    pub fn forged(&self) -> Session {
        Session {
            cookie: self.cookie.clone(),
            csrf: "wrong".into(),
        }
    }
}

/// The service on the fresh database `pool` with radiologist `dr-rad`, viewer `vera` and
/// admin `ada`; `vars` (`RADRAFT_REVIEW__` left off their names) are set over the tests'
/// defaults.
pub async fn start(pool: PgPool, vars: &[(&str, &str)]) -> Service {
    let store = Store::from_pool(pool);
    for (name, role) in [
        ("dr-rad", "radiologist"),
        ("vera", "viewer"),
        ("ada", "admin"),
    ] {
        users::add(
            &store,
            name,
            &format!("{name} (test)"),
            role,
            PASSWORD,
            "test",
        )
        .await
        .unwrap();
    }
    serve(store, vars).await
}

/// The service on `store`, with cookies fit for plain HTTP unless `vars` say otherwise.
pub async fn serve(store: Store, vars: &[(&str, &str)]) -> Service {
    let mut config = HashMap::from([("HTTP_ADDR", "127.0.0.1:0"), ("SECURE_COOKIES", "false")]);
    config.extend(vars.iter().copied());
    let config = config
        .into_iter()
        .map(|(name, value)| (format!("RADRAFT_REVIEW__{name}"), value.to_owned()))
        .collect();
    let app = App::with_store(store.clone(), ReviewConfig::from_vars(config).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", app.http_addr().unwrap());
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move { app.run(token).await.unwrap() });
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    Service {
        base,
        client,
        shutdown,
        store,
    }
}

impl Service {
    pub async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/login", self.base))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// Signs `username` in with [`PASSWORD`].
    pub async fn session(&self, username: &str) -> Session {
        let response = self.sign_in(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let me: serde_json::Value = self
            .get("/api/me", Some(&cookie))
            .await
            .json()
            .await
            .unwrap();
        let csrf = me["csrf_token"].as_str().unwrap().to_owned();
        Session { cookie, csrf }
    }

    /// GET `path`, with `cookie` if there is one.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// The body of page `path` as `session` sees it.
    pub async fn page(&self, path: &str, session: &Session) -> String {
        let response = self.get(path, Some(&session.cookie)).await;
        response.text().await.unwrap()
    }

    /// The JSON `path` answers `session` with.
    pub async fn json(&self, path: &str, session: &Session) -> serde_json::Value {
        let response = self.get(path, Some(&session.cookie)).await;
        response.json().await.unwrap()
    }

    /// POSTs `form` to `path`, with `cookie` if there is one; returns the status.
    pub async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> StatusCode {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap().status()
    }

    /// Submits `form` to `path` as `session` does, with its CSRF token; returns the status.
    pub async fn submit(&self, path: &str, session: &Session, form: &[(&str, &str)]) -> StatusCode {
        let mut form = form.to_vec();
        form.push(("csrf", &session.csrf));
        self.post(path, Some(&session.cookie), &form).await
    }
}
