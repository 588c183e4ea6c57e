//! Every route of the review service, as nobody, as each role, and with a wrong CSRF token,
//! against a real Postgres: nothing answers without a session, each role gets exactly what
//! it may, sign-in failures are rate-limited, and the cookie is locked down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::Duration;

use radraft_review::config::ReviewConfig;
use radraft_review::{App, users};
use radraft_store::Store;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "a long enough password";

struct Service {
    base: String,
    client: reqwest::Client,
    shutdown: CancellationToken,
}

async fn start(pool: PgPool, secure: bool) -> (Service, Store) {
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
    let vars = HashMap::from([
        (
            "RADRAFT_REVIEW__HTTP_ADDR".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "RADRAFT_REVIEW__SECURE_COOKIES".to_owned(),
            secure.to_string(),
        ),
        ("RADRAFT_REVIEW__LOGIN_ATTEMPTS".to_owned(), "3".to_owned()),
    ]);
    let config = ReviewConfig::from_vars(vars).unwrap();
    let app = App::with_store(store.clone(), config).await.unwrap();
    let base = format!("http://{}", app.http_addr().unwrap());
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move { app.run(token).await.unwrap() });
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    (
        Service {
            base,
            client,
            shutdown,
        },
        store,
    )
}

impl Service {
    async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/login", self.base))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in and returns the session cookie and the session's CSRF token.
    async fn session(&self, username: &str) -> (String, String) {
        let response = self.sign_in(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        let me: serde_json::Value = self
            .get("/api/me", Some(&cookie))
            .await
            .json()
            .await
            .unwrap();
        (cookie, me["csrf_token"].as_str().unwrap().to_owned())
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn nothing_answers_without_a_session(pool: PgPool) {
    let (service, _) = start(pool, false).await;
    for path in ["/api/me", "/api/worklist", "/api/users", "/api/governance"] {
        let response = service.get(path, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthenticated");
    }
    for page in [
        "/",
        "/studies/1.2.3",
        "/studies/1.2.3/audit",
        "/studies/1.2.3/images/1",
        "/admin/governance",
    ] {
        let response = service.get(page, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(response.headers()["location"], "/login");
    }
    let forged = service.get("/api/me", Some("radraft_session=00ff")).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let logout = service
        .client
        .post(format!("{}/logout", service.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        logout.status(),
        StatusCode::SEE_OTHER,
        "to the sign-in page"
    );
    assert_eq!(service.get("/login", None).await.status(), StatusCode::OK);
    service.shutdown.cancel();
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn each_role_gets_what_it_may(pool: PgPool) {
    let (service, _) = start(pool, false).await;
    let expect = [
        ("dr-rad", StatusCode::OK, StatusCode::FORBIDDEN),
        ("vera", StatusCode::OK, StatusCode::FORBIDDEN),
        ("ada", StatusCode::OK, StatusCode::OK),
    ];
    for (user, worklist, users) in expect {
        let (cookie, _) = service.session(user).await;
        assert_eq!(
            service.get("/api/worklist", Some(&cookie)).await.status(),
            worklist,
            "{user}"
        );
        let page = service.get("/", Some(&cookie)).await;
        assert_eq!(page.status(), worklist, "{user}");
        assert!(page.text().await.unwrap().contains("<h1>Worklist</h1>"));
        for admin_only in ["/api/governance", "/admin/governance"] {
            let response = service.get(admin_only, Some(&cookie)).await;
            assert_eq!(response.status(), users, "{user} {admin_only}");
        }
        let listed = service.get("/api/users", Some(&cookie)).await;
        assert_eq!(listed.status(), users, "{user}");
        if users == StatusCode::OK {
            let body: serde_json::Value = listed.json().await.unwrap();
            assert_eq!(body["users"].as_array().unwrap().len(), 3);
        } else {
            let body: serde_json::Value = listed.json().await.unwrap();
            assert_eq!(body["error"], "forbidden");
        }
    }
    service.shutdown.cancel();
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn signing_out_needs_the_csrf_token_and_ends_the_session(pool: PgPool) {
    let (service, store) = start(pool, true).await;
    let response = service.sign_in("dr-rad", PASSWORD).await;
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(flag), "{flag} missing in {set}");
    }
    let (cookie, csrf) = service.session("dr-rad").await;
    let without = service
        .client
        .post(format!("{}/logout", service.base))
        .header("cookie", &cookie)
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        service.get("/api/me", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    let with = service
        .client
        .post(format!("{}/logout", service.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        service.get("/api/me", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM audit_events WHERE kind LIKE 'user.sign%' ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        kinds,
        ["user.signed_in", "user.signed_in", "user.signed_out"]
    );
    service.shutdown.cancel();
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn failed_sign_ins_are_limited_and_do_not_say_which_part_was_wrong(pool: PgPool) {
    let (service, store) = start(pool, false).await;
    let unknown = service.sign_in("nobody", PASSWORD).await;
    let wrong = service.sign_in("vera", "not the password").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (a, b) = (unknown.text().await.unwrap(), wrong.text().await.unwrap());
    assert!(a.contains("Wrong username or password.") && a == b);
    service.sign_in("vera", "again wrong").await;
    service.sign_in("vera", "third time").await;
    // Three failures for vera: even the right password waits out the window now.
    let limited = service.sign_in("vera", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        service.sign_in("ada", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        store
            .recent_login_failures("vera", Duration::from_secs(60))
            .await
            .unwrap(),
        3
    );
    // A disabled account's sessions stop working at once.
    let (cookie, _) = service.session("dr-rad").await;
    assert!(
        store
            .set_user_disabled("dr-rad", true, "ada")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_user_disabled("nobody", true, "ada")
            .await
            .unwrap()
    );
    assert_eq!(
        service.get("/api/me", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        service.sign_in("dr-rad", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    store
        .set_user_disabled("dr-rad", false, "ada")
        .await
        .unwrap();
    assert_eq!(
        service.sign_in("dr-rad", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM audit_events WHERE kind IN ('user.disabled', 'user.enabled') ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(kinds, ["user.disabled", "user.enabled"]);
    service.shutdown.cancel();
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn bad_filters_are_clear_errors(pool: PgPool) {
    let (service, _) = start(pool, false).await;
    let (cookie, _) = service.session("vera").await;
    for query in ["review=maybe", "date=30-11-2026"] {
        let response = service
            .get(&format!("/api/worklist?{query}"), Some(&cookie))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "bad_request");
    }
    let ok = service
        .get(
            "/api/worklist?modality=ct&review=pending&date=2026-11-30",
            Some(&cookie),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    service.shutdown.cancel();
}
