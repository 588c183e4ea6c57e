//! The governance endpoints against a real Postgres, per role and with a wrong CSRF token:
//! `/metrics` behind its bearer token (404 without one configured, 401 without the right
//! one) with values after real decisions; model modes and the drafting switch (admins
//! only); shadow drafts withheld from every page and route; the critical-finding loop
//! (radiologists only), listed on the governance page until closed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::Duration;

use radraft_review::config::ReviewConfig;
use radraft_review::{App, users};
use radraft_store::{Attempt, JobStart, NewDraft, NewInstance, Store};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "a long enough password";
const TOKEN: &str = "prometheus-scrape-token-0123456789";

struct Service {
    base: String,
    client: reqwest::Client,
    shutdown: CancellationToken,
    store: Store,
}

/// A service with a user of each role on a fresh database.
async fn start(pool: PgPool, metrics_token: Option<&str>) -> Service {
    let store = Store::from_pool(pool);
    for (name, role) in [
        ("dr-rad", "radiologist"),
        ("vera", "viewer"),
        ("ada", "admin"),
    ] {
        users::add(&store, name, name, role, PASSWORD, "test")
            .await
            .unwrap();
    }
    serve(store, metrics_token).await
}

async fn serve(store: Store, metrics_token: Option<&str>) -> Service {
    let mut vars = HashMap::from([
        (
            "RADRAFT_REVIEW__HTTP_ADDR".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "RADRAFT_REVIEW__SECURE_COOKIES".to_owned(),
            "false".to_owned(),
        ),
    ]);
    if let Some(token) = metrics_token {
        vars.insert("RADRAFT_REVIEW__METRICS_TOKEN".into(), token.into());
    }
    let app = App::with_store(store.clone(), ReviewConfig::from_vars(vars).unwrap())
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
    /// Signs in; returns the session cookie and the session's CSRF token.
    async fn session(&self, username: &str) -> (String, String) {
        let response = self
            .client
            .post(format!("{}/login", self.base))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let me: serde_json::Value = self.get("/api/me", &cookie).await.json().await.unwrap();
        (cookie, me["csrf_token"].as_str().unwrap().to_owned())
    }

    async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> StatusCode {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn scrape(&self, token: Option<&str>) -> (StatusCode, String) {
        let mut request = self.client.get(format!("{}/metrics", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// A settled CR study drafted (flagged) by `model` revision `r1`; returns the draft id.
    async fn drafted(&self, uid: &str, model: &str) -> String {
        let store = &self.store;
        store
            .record_instance(&NewInstance {
                study_uid: uid.into(),
                series_uid: format!("{uid}.1"),
                sop_instance_uid: format!("{uid}.1.1"),
                sop_class_uid: "1.2.840.10008.5.1.4.1.1.1".into(),
                modality: Some("CR".into()),
                accession_number: None,
                study_description: None,
                transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
                archive_key: format!("{uid}/x"),
                sha256: "a".repeat(64),
                size_bytes: 1,
                calling_ae: None,
                source: "dimse",
            })
            .await
            .unwrap();
        store.settle_quiet_studies(Duration::ZERO).await.unwrap();
        let JobStart::Started { job_id, .. } = store
            .start_job(&Attempt {
                study_uid: uid,
                study_version: 1,
                attempt: 1,
                delivery_count: 0,
                worker: "w",
                replay: false,
            })
            .await
            .unwrap()
        else {
            panic!("started")
        };
        store
            .record_draft(&NewDraft {
                job_id,
                study_uid: uid.into(),
                study_version: 1,
                report_text: "Findings: x\nImpression: y".into(),
                findings: Some("x".into()),
                impression: Some("y".into()),
                triage_score: Some(0.9),
                triage_flag: true,
                triage_question: Some("Pneumothorax?".into()),
                provenance: json!({ "model": { "model_id": model, "revision": "r1" } }),
            })
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar("SELECT id FROM drafts WHERE study_uid = $1")
            .bind(uid)
            .fetch_one(store.pool())
            .await
            .unwrap();
        id.to_string()
    }

    async fn audit_kinds(&self, prefix: &str) -> Vec<(String, String)> {
        sqlx::query_as("SELECT actor, kind FROM audit_events WHERE kind LIKE $1 ORDER BY id")
            .bind(format!("{prefix}%"))
            .fetch_all(self.store.pool())
            .await
            .unwrap()
    }
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn metrics_are_off_without_a_token_and_refused_without_the_right_one(pool: PgPool) {
    let off = start(pool, None).await;
    assert_eq!(off.scrape(Some(TOKEN)).await.0, StatusCode::NOT_FOUND);
    off.shutdown.cancel();

    let on = serve(off.store.clone(), Some(TOKEN)).await;
    assert_eq!(on.scrape(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        on.scrape(Some("prometheus-scrape-token-0123456788"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // A session is not a token.
    let (cookie, _) = on.session("ada").await;
    assert_eq!(
        on.get("/metrics", &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, text) = on.scrape(Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("radraft_review_drafting_enabled 1\n"),
        "{text}"
    );
    assert!(text.contains("radraft_review_critical_findings{loop=\"open\"} 0\n"));
    on.shutdown.cancel();
    assert!(
        ReviewConfig::from_vars(HashMap::from([(
            "RADRAFT_REVIEW__METRICS_TOKEN".to_owned(),
            "short".to_owned()
        )]))
        .is_err()
    );
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn only_admins_set_model_modes_and_the_kill_switch(pool: PgPool) {
    let service = start(pool, Some(TOKEN)).await;
    let shadow = [
        ("model_id", "m-new"),
        ("model_revision", "r1"),
        ("mode", "shadow"),
    ];
    let off = [("action", "off"), ("reason", "model under investigation")];
    for (user, expect) in [
        ("dr-rad", StatusCode::FORBIDDEN),
        ("vera", StatusCode::FORBIDDEN),
        ("ada", StatusCode::SEE_OTHER),
    ] {
        let (cookie, csrf) = service.session(user).await;
        // A wrong token is refused before anything changes, whoever sends it.
        let mut forged = shadow.to_vec();
        forged.push(("csrf", "wrong"));
        assert_eq!(
            service.post("/admin/models/mode", &cookie, &forged).await,
            StatusCode::FORBIDDEN
        );
        let mut form = shadow.to_vec();
        form.push(("csrf", &csrf));
        assert_eq!(
            service.post("/admin/models/mode", &cookie, &form).await,
            expect,
            "{user}"
        );
        let mut form = off.to_vec();
        form.push(("csrf", &csrf));
        assert_eq!(
            service.post("/admin/drafting", &cookie, &form).await,
            expect,
            "{user}"
        );
    }
    assert_eq!(
        service.post("/admin/drafting", "", &off).await,
        StatusCode::SEE_OTHER,
        "to the sign-in page"
    );
    let (cookie, csrf) = service.session("ada").await;
    for bad in [
        vec![("action", "off"), ("reason", " ")],
        vec![("action", "sideways")],
    ] {
        let mut form = bad.clone();
        form.push(("csrf", &csrf));
        assert_eq!(
            service.post("/admin/drafting", &cookie, &form).await,
            StatusCode::BAD_REQUEST
        );
    }
    let mut form = vec![("model_id", "m"), ("model_revision", "r"), ("mode", "x")];
    form.push(("csrf", &csrf));
    assert_eq!(
        service.post("/admin/models/mode", &cookie, &form).await,
        StatusCode::BAD_REQUEST
    );
    assert!(!service.store.drafting_enabled().await.unwrap());
    let page = service
        .get("/admin/governance", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("model under investigation"), "{page}");
    assert!(page.contains("Switch drafting on"));
    assert!(page.contains("<td>m-new (r1)</td><td><strong>shadow</strong></td>"));
    let (_, text) = service.scrape(Some(TOKEN)).await;
    assert!(
        text.contains("radraft_review_drafting_enabled 0\n"),
        "{text}"
    );
    assert!(
        text.contains("radraft_review_model_shadow{model_id=\"m-new\",model_revision=\"r1\"} 1\n")
    );
    assert_eq!(
        service
            .post(
                "/admin/drafting",
                &cookie,
                &[("action", "on"), ("csrf", &csrf)]
            )
            .await,
        StatusCode::SEE_OTHER
    );
    assert!(service.store.drafting_enabled().await.unwrap());
    let events = service.audit_kinds("drafting.").await;
    assert_eq!(
        events,
        [
            ("ada".to_owned(), "drafting.disabled".to_owned()),
            ("ada".to_owned(), "drafting.enabled".to_owned())
        ]
    );
    assert_eq!(service.audit_kinds("model.").await.len(), 1);
    service.shutdown.cancel();
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn a_shadow_draft_is_withheld_everywhere_but_counted(pool: PgPool) {
    let service = start(pool, Some(TOKEN)).await;
    service
        .store
        .set_model_mode("m-new", "r1", true, "ada")
        .await
        .unwrap();
    let draft_id = service.drafted("7.1", "m-new").await;
    let (cookie, csrf) = service.session("dr-rad").await;
    for path in ["/studies/7.1", "/studies/7.1/images/1"] {
        assert_eq!(
            service.get(path, &cookie).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let accept = [
        ("csrf", csrf.as_str()),
        ("draft_id", draft_id.as_str()),
        ("action", "accept"),
    ];
    assert_eq!(
        service
            .post("/studies/7.1/decision", &cookie, &accept)
            .await,
        StatusCode::NOT_FOUND
    );
    let listed: serde_json::Value = service
        .get("/api/worklist", &cookie)
        .await
        .json()
        .await
        .unwrap();
    let line = &listed["studies"][0];
    assert_eq!(
        (&line["study_uid"], &line["ai_state"], &line["draft_id"]),
        (&json!("7.1"), &json!("shadow"), &serde_json::Value::Null)
    );
    assert!(
        service
            .get("/", &cookie)
            .await
            .text()
            .await
            .unwrap()
            .contains("drafted in shadow mode (withheld)")
    );
    let (admin, _) = service.session("ada").await;
    let governance: serde_json::Value = service
        .get("/api/governance", &admin)
        .await
        .json()
        .await
        .unwrap();
    let model = &governance["models"][0];
    assert_eq!(
        (&model["drafts"], &model["shadow_drafts"]),
        (&json!(0), &json!(1))
    );
    let (_, text) = service.scrape(Some(TOKEN)).await;
    let labels = "model_id=\"m-new\",model_revision=\"r1\",modality=\"CR\"";
    assert!(
        text.contains(&format!(
            "radraft_review_drafts_total{{{labels},mode=\"shadow\"}} 1\n"
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "radraft_review_drafts_total{{{labels},mode=\"shown\"}} 0\n"
    )));
    service.shutdown.cancel();
}

#[sqlx::test(migrator = "radraft_store::MIGRATOR")]
async fn decisions_and_a_critical_loop_show_in_the_metrics(pool: PgPool) {
    let service = start(pool, Some(TOKEN)).await;
    let signed = service.drafted("8.1", "m").await;
    let rejected = service.drafted("8.2", "m").await;
    let (rad, csrf) = service.session("dr-rad").await;
    let confirm = |draft: &str| {
        vec![
            ("draft_id", draft.to_owned()),
            ("note", "large pneumothorax".to_owned()),
        ]
    };
    let with_csrf = |form: Vec<(&'static str, String)>, csrf: &str| {
        let mut form = form;
        form.push(("csrf", csrf.to_owned()));
        form
    };
    let post = |path: &'static str, cookie: String, form: Vec<(&'static str, String)>| {
        let service = &service;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            service.post(path, &cookie, &form).await
        }
    };
    // Not before sign-off.
    assert_eq!(
        post(
            "/studies/8.1/critical",
            rad.clone(),
            with_csrf(confirm(&signed), &csrf)
        )
        .await,
        StatusCode::CONFLICT
    );
    let accept = vec![
        ("draft_id", signed.clone()),
        ("action", "accept".to_owned()),
    ];
    assert_eq!(
        post(
            "/studies/8.1/decision",
            rad.clone(),
            with_csrf(accept, &csrf)
        )
        .await,
        StatusCode::SEE_OTHER
    );
    let reject = vec![
        ("draft_id", rejected.clone()),
        ("action", "reject".to_owned()),
        ("reason_code", "wrong_location".to_owned()),
        ("reason", "left, not right".to_owned()),
    ];
    let unknown = vec![
        ("draft_id", rejected.clone()),
        ("action", "reject".to_owned()),
        ("reason_code", "vibes".to_owned()),
    ];
    assert_eq!(
        post(
            "/studies/8.2/decision",
            rad.clone(),
            with_csrf(unknown, &csrf)
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(
            "/studies/8.2/decision",
            rad.clone(),
            with_csrf(reject, &csrf)
        )
        .await,
        StatusCode::SEE_OTHER
    );
    let page = service
        .get("/studies/8.1", &rad)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Critical finding (the AI flagged this study)"),
        "{page}"
    );
    assert!(page.contains("action=\"/studies/8.1/critical\""));

    // Viewers and admins read the loop but may not record it; a wrong token is refused.
    for user in ["vera", "ada"] {
        let (cookie, csrf) = service.session(user).await;
        assert_eq!(
            post(
                "/studies/8.1/critical",
                cookie,
                with_csrf(confirm(&signed), &csrf)
            )
            .await,
            StatusCode::FORBIDDEN,
            "{user}"
        );
    }
    assert_eq!(
        post(
            "/studies/8.1/critical",
            rad.clone(),
            with_csrf(confirm(&signed), "wrong")
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(
            "/studies/8.1/critical",
            rad.clone(),
            with_csrf(confirm(&signed), &csrf)
        )
        .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(
            "/studies/8.1/critical",
            rad.clone(),
            with_csrf(confirm(&signed), &csrf)
        )
        .await,
        StatusCode::CONFLICT,
        "confirmed once"
    );
    let (admin, _) = service.session("ada").await;
    let governance = service
        .get("/admin/governance", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        governance.contains("<a href=\"/studies/8.1\">8.1</a>"),
        "{governance}"
    );
    let (_, text) = service.scrape(Some(TOKEN)).await;
    assert!(
        text.contains("radraft_review_critical_findings{loop=\"open\"} 1\n"),
        "{text}"
    );
    let labels = "model_id=\"m\",model_revision=\"r1\",modality=\"CR\"";
    for line in [
        format!("radraft_review_drafts_total{{{labels},mode=\"shown\"}} 2"),
        format!("radraft_review_decisions_total{{{labels},decision=\"accepted\"}} 1"),
        format!("radraft_review_decisions_total{{{labels},decision=\"rejected\"}} 1"),
        format!("radraft_review_decisions_total{{{labels},decision=\"edited\"}} 0"),
        format!("radraft_review_rejections_total{{{labels},reason=\"wrong_location\"}} 1"),
        format!("radraft_review_edit_distance_characters_count{{{labels}}} 0"),
        format!("radraft_review_time_to_sign_seconds_count{{{labels}}} 1"),
    ] {
        assert!(
            text.contains(&format!("{line}\n")),
            "{line} missing:\n{text}"
        );
    }
    assert!(
        !text.contains("left, not right"),
        "free text never becomes a label"
    );

    // The communication closes the loop: radiologists only, a recipient and a method needed.
    let told = |method: &str, at: &str| {
        vec![
            ("draft_id", signed.clone()),
            ("recipient", "Dr B, emergency department".to_owned()),
            ("method", method.to_owned()),
            ("communicated_at", at.to_owned()),
        ]
    };
    let path = "/studies/8.1/critical/communication";
    let (viewer, viewer_csrf) = service.session("vera").await;
    assert_eq!(
        post(path, viewer, with_csrf(told("phone", ""), &viewer_csrf)).await,
        StatusCode::FORBIDDEN
    );
    for bad in [
        told("email", ""),
        told("phone", "yesterday"),
        told("phone", "2999-01-01T00:00:00Z"),
    ] {
        assert_eq!(
            post(path, rad.clone(), with_csrf(bad, &csrf)).await,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        post(
            path,
            rad.clone(),
            with_csrf(told("phone", "2026-01-15T10:15:00+01:00"), &csrf)
        )
        .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(path, rad.clone(), with_csrf(told("pager", ""), &csrf)).await,
        StatusCode::CONFLICT,
        "recorded once"
    );
    let page = service
        .get("/studies/8.1", &rad)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            "Communicated to Dr B, emergency department by phone at 2026-01-15 09:15 UTC"
        ),
        "{page}"
    );
    let (_, text) = service.scrape(Some(TOKEN)).await;
    assert!(text.contains("radraft_review_critical_findings{loop=\"open\"} 0\n"));
    assert!(text.contains("radraft_review_critical_findings{loop=\"closed\"} 1\n"));
    let kinds: Vec<String> = service
        .audit_kinds("critical.")
        .await
        .into_iter()
        .map(|(actor, kind)| format!("{actor} {kind}"))
        .collect();
    assert_eq!(
        kinds,
        ["dr-rad critical.confirmed", "dr-rad critical.communicated"]
    );
    service.shutdown.cancel();
}
