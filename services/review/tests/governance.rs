//! The governance endpoints against a real Postgres, per role and with a wrong CSRF token:
//! `/metrics` behind its bearer token (404 without one configured, 401 without the right
//! one) with values after real decisions; model modes and the drafting switch (admins
//! only); shadow drafts withheld from every page and route; the critical-finding loop
//! (radiologists only), listed on the governance page until closed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::{Service, serve, start};
use radraft_review::config::ReviewConfig;
use radraft_store::testing::drafted_study;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

const TOKEN: &str = "prometheus-scrape-token-0123456789";
const METRICS: [(&str, &str); 1] = [("METRICS_TOKEN", TOKEN)];

impl Service {
    async fn scrape(&self, token: Option<&str>) -> (StatusCode, String) {
        let mut request = self.client.get(format!("{}/metrics", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// A settled CR study drafted (flagged) by `model`; returns the draft id.
    async fn drafted(&self, uid: &str, model: &str) -> String {
        drafted_study(&self.store, uid, model).await.to_string()
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
    let off = start(pool, &[]).await;
    assert_eq!(off.scrape(Some(TOKEN)).await.0, StatusCode::NOT_FOUND);
    off.shutdown.cancel();

    let on = serve(off.store.clone(), &METRICS).await;
    assert_eq!(on.scrape(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        on.scrape(Some("prometheus-scrape-token-0123456788"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // A session is not a token.
    let ada = on.session("ada").await;
    assert_eq!(
        on.get("/metrics", Some(&ada.cookie)).await.status(),
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
    let service = start(pool, &METRICS).await;
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
        let session = service.session(user).await;
        // A wrong token is refused before anything changes, whoever sends it.
        assert_eq!(
            service
                .submit("/admin/models/mode", &session.forged(), &shadow)
                .await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            service
                .submit("/admin/models/mode", &session, &shadow)
                .await,
            expect,
            "{user}"
        );
        assert_eq!(
            service.submit("/admin/drafting", &session, &off).await,
            expect,
            "{user}"
        );
    }
    assert_eq!(
        service.post("/admin/drafting", None, &off).await,
        StatusCode::SEE_OTHER,
        "to the sign-in page"
    );
    let ada = service.session("ada").await;
    for bad in [
        &[("action", "off"), ("reason", " ")][..],
        &[("action", "sideways")],
    ] {
        assert_eq!(
            service.submit("/admin/drafting", &ada, bad).await,
            StatusCode::BAD_REQUEST
        );
    }
    let unknown_mode = [("model_id", "m"), ("model_revision", "r"), ("mode", "x")];
    assert_eq!(
        service
            .submit("/admin/models/mode", &ada, &unknown_mode)
            .await,
        StatusCode::BAD_REQUEST
    );
    assert!(!service.store.drafting_enabled().await.unwrap());
    let page = service.page("/admin/governance", &ada).await;
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
            .submit("/admin/drafting", &ada, &[("action", "on")])
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
    let service = start(pool, &METRICS).await;
    service
        .store
        .set_model_mode("m-new", "r1", true, "ada")
        .await
        .unwrap();
    let draft_id = service.drafted("7.1", "m-new").await;
    let rad = service.session("dr-rad").await;
    for path in ["/studies/7.1", "/studies/7.1/images/1"] {
        assert_eq!(
            service.get(path, Some(&rad.cookie)).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let accept = [("draft_id", draft_id.as_str()), ("action", "accept")];
    assert_eq!(
        service.submit("/studies/7.1/decision", &rad, &accept).await,
        StatusCode::NOT_FOUND
    );
    let listed = service.json("/api/worklist", &rad).await;
    let line = &listed["studies"][0];
    assert_eq!(
        (&line["study_uid"], &line["ai_state"], &line["draft_id"]),
        (&json!("7.1"), &json!("shadow"), &serde_json::Value::Null)
    );
    assert!(
        service
            .page("/", &rad)
            .await
            .contains("drafted in shadow mode (withheld)")
    );
    let ada = service.session("ada").await;
    let governance = service.json("/api/governance", &ada).await;
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
    let service = start(pool, &METRICS).await;
    let signed = service.drafted("8.1", "m").await;
    let rejected = service.drafted("8.2", "m").await;
    let rad = service.session("dr-rad").await;
    let critical = "/studies/8.1/critical";
    let confirm = [
        ("draft_id", signed.as_str()),
        ("note", "large pneumothorax"),
    ];
    // Not before sign-off.
    assert_eq!(
        service.submit(critical, &rad, &confirm).await,
        StatusCode::CONFLICT
    );
    let accept = [("draft_id", signed.as_str()), ("action", "accept")];
    assert_eq!(
        service.submit("/studies/8.1/decision", &rad, &accept).await,
        StatusCode::SEE_OTHER
    );
    let reject = [
        ("draft_id", rejected.as_str()),
        ("action", "reject"),
        ("reason_code", "wrong_location"),
        ("reason", "left, not right"),
    ];
    let unknown = [
        ("draft_id", rejected.as_str()),
        ("action", "reject"),
        ("reason_code", "vibes"),
    ];
    assert_eq!(
        service
            .submit("/studies/8.2/decision", &rad, &unknown)
            .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        service.submit("/studies/8.2/decision", &rad, &reject).await,
        StatusCode::SEE_OTHER
    );
    let page = service.page("/studies/8.1", &rad).await;
    assert!(
        page.contains("Critical finding (the AI flagged this study)"),
        "{page}"
    );
    assert!(page.contains("action=\"/studies/8.1/critical\""));

    // Viewers and admins read the loop but may not record it; a wrong token is refused.
    for user in ["vera", "ada"] {
        let session = service.session(user).await;
        assert_eq!(
            service.submit(critical, &session, &confirm).await,
            StatusCode::FORBIDDEN,
            "{user}"
        );
    }
    assert_eq!(
        service.submit(critical, &rad.forged(), &confirm).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        service.submit(critical, &rad, &confirm).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        service.submit(critical, &rad, &confirm).await,
        StatusCode::CONFLICT,
        "confirmed once"
    );
    let ada = service.session("ada").await;
    let governance = service.page("/admin/governance", &ada).await;
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
    let draft_id = signed.as_str();
    let told = move |method: &'static str, at: &'static str| {
        [
            ("draft_id", draft_id),
            ("recipient", "Dr B, emergency department"),
            ("method", method),
            ("communicated_at", at),
        ]
    };
    let path = "/studies/8.1/critical/communication";
    let vera = service.session("vera").await;
    assert_eq!(
        service.submit(path, &vera, &told("phone", "")).await,
        StatusCode::FORBIDDEN
    );
    for bad in [
        told("email", ""),
        told("phone", "yesterday"),
        told("phone", "2999-01-01T00:00:00Z"),
    ] {
        assert_eq!(
            service.submit(path, &rad, &bad).await,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        service
            .submit(path, &rad, &told("phone", "2026-01-15T10:15:00+01:00"))
            .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        service.submit(path, &rad, &told("pager", "")).await,
        StatusCode::CONFLICT,
        "recorded once"
    );
    let page = service.page("/studies/8.1", &rad).await;
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
