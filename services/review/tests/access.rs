//! Every route of the review service, as nobody, as each role, and with a wrong CSRF token,
//! against a real Postgres: nothing answers without a session, each role gets exactly what
//! it may, sign-in failures are rate-limited, and the cookie is locked down.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{PASSWORD, Service};
use reqwest::StatusCode;
use sqlx::PgPool;

/// The service with sign-in locked after three failures; its cookie is `Secure` if `secure`.
async fn start(pool: PgPool, secure: bool) -> Service {
    let secure = if secure { "true" } else { "false" };
    common::start(pool, &[("SECURE_COOKIES", secure), ("LOGIN_ATTEMPTS", "3")]).await
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn nothing_answers_without_a_session(pool: PgPool) {
    let service = start(pool, false).await;
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
    assert_eq!(
        service.post("/logout", None, &[]).await,
        StatusCode::SEE_OTHER,
        "to the sign-in page"
    );
    assert_eq!(service.get("/login", None).await.status(), StatusCode::OK);
    service.shutdown.cancel();
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn each_role_gets_what_it_may(pool: PgPool) {
    let service = start(pool, false).await;
    let expect = [
        ("dr-rad", StatusCode::OK, StatusCode::FORBIDDEN),
        ("vera", StatusCode::OK, StatusCode::FORBIDDEN),
        ("ada", StatusCode::OK, StatusCode::OK),
    ];
    for (user, worklist, users) in expect {
        let cookie = service.session(user).await.cookie;
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
    let service = start(pool, true).await;
    let response = service.sign_in("dr-rad", PASSWORD).await;
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(flag), "{flag} missing in {set}");
    }
    let session = service.session("dr-rad").await;
    assert_eq!(
        service.submit("/logout", &session.forged(), &[]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        service.get("/api/me", Some(&session.cookie)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        service.submit("/logout", &session, &[]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        service.get("/api/me", Some(&session.cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM audit_events WHERE kind LIKE 'user.sign%' ORDER BY id",
    )
    .fetch_all(service.store.pool())
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
    let service = start(pool, false).await;
    let store = &service.store;
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
    let cookie = service.session("dr-rad").await.cookie;
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
    let service = start(pool, false).await;
    let cookie = service.session("vera").await.cookie;
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
