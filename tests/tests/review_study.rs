//! The review service on a study the real gateway and worker drafted: a radiologist sees
//! the images the model saw (byte for byte what the imaging crate renders from the archive),
//! the draft labelled as preliminary AI output, edits and accepts it, sees what changed,
//! cannot decide twice; a viewer cannot decide at all; every step is in the audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_e2e::fixtures;
use radraft_e2e::gateway::Setup;
use radraft_e2e::review::{client, sign_in, start_review};
use radraft_e2e::worker::draft_all;
use radraft_imaging::{StudyOptions, open_path, png, prepare_study};
use radraft_review::users;
use radraft_store::Store;
use reqwest::StatusCode;

const PASSWORD: &str = "a long enough password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_radiologist_reviews_a_real_draft_and_every_step_is_audited() {
    let setup = Setup::new().await;
    draft_all(&setup, fixtures::files("dx-chest/explicit-le"), 1).await;

    let store = Store::connect(&setup.db.url).await.unwrap();
    users::add(&store, "dr-rad", "Dr Rad", "radiologist", PASSWORD, "test")
        .await
        .unwrap();
    users::add(&store, "vera", "Vera Viewer", "viewer", PASSWORD, "test")
        .await
        .unwrap();
    let review = start_review(&store, setup.archive_dir()).await;
    let base = review.base.clone();
    let client = client();
    let uid: String = sqlx::query_scalar("SELECT study_uid FROM drafts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let study_url = format!("{base}/studies/{uid}");

    let (cookie, csrf) = sign_in(&client, &base, "dr-rad", PASSWORD).await;
    // The worklist names the study as the modality did (accession number, description).
    let listed: serde_json::Value = client
        .get(format!("{base}/api/worklist"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let line = &listed["studies"][0];
    assert_eq!(line["accession_number"], "RDA00101");
    assert_eq!(line["description"], "XR CHEST PA AND LATERAL");
    assert_eq!(line["ai_state"], "drafted");
    let get = |url: String, cookie: String| {
        let client = client.clone();
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let page = get(study_url.clone(), cookie.clone()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for expected in [
        "PRELIMINARY AI-GENERATED DRAFT",
        "cxr-report.v1",
        "radraft/medgemma-tiny-random",
        "CPUExecutionProvider",
        "/images/1\"",
        "/images/2\"",
        "Edit and accept [e]",
    ] {
        assert!(html.contains(expected), "{expected} missing:\n{html}");
    }

    // The images are exactly what the imaging crate renders from the archived objects.
    let archived: Vec<_> = setup
        .archived_files()
        .iter()
        .map(|p| open_path(p).unwrap())
        .collect();
    let options = StudyOptions {
        max_slices: 3,
        ..StudyOptions::default()
    };
    let prepared = prepare_study(&archived, &options).unwrap();
    for (n, selected) in prepared.images.iter().enumerate() {
        let served = get(format!("{study_url}/images/{}", n + 1), cookie.clone()).await;
        assert_eq!(served.headers()["content-type"], "image/png");
        assert_eq!(
            served.bytes().await.unwrap().as_ref(),
            png(&selected.image).unwrap()
        );
    }
    assert_eq!(
        get(format!("{study_url}/images/3"), cookie.clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // A viewer reads but cannot decide.
    let (viewer, viewer_csrf) = sign_in(&client, &base, "vera", PASSWORD).await;
    let read = get(study_url.clone(), viewer.clone())
        .await
        .text()
        .await
        .unwrap();
    assert!(read.contains("Read only"));
    let draft_id: i64 = sqlx::query_scalar("SELECT id FROM drafts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let decide = |cookie: String, form: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = format!("{study_url}/decision");
        async move {
            client
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let accept = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("draft_id", draft_id.to_string()),
            ("action", "accept".to_owned()),
        ]
    };
    assert_eq!(
        decide(viewer, accept(&viewer_csrf)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(cookie.clone(), accept("forged")).await.status(),
        StatusCode::FORBIDDEN
    );

    // The radiologist edits and accepts; the page then shows what changed.
    let edit = vec![
        ("csrf", csrf.clone()),
        ("draft_id", draft_id.to_string()),
        ("action", "edit".to_owned()),
        ("findings", "Lungs clear.\nNo pneumothorax.".to_owned()),
        ("impression", "No acute disease.".to_owned()),
    ];
    let done = decide(cookie.clone(), edit).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let html = get(study_url.clone(), cookie.clone())
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<strong>edited</strong> by Dr Rad"), "{html}");
    assert!(
        html.contains("+ No pneumothorax.") && html.contains("+ No acute disease."),
        "{html}"
    );
    let again = decide(cookie.clone(), accept(&csrf)).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let review: String = sqlx::query_scalar("SELECT review::text FROM drafts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(review, "edited");

    let audit = get(format!("{study_url}/audit"), cookie.clone())
        .await
        .text()
        .await
        .unwrap();
    for kind in [
        "study.received",
        "study.settled",
        "study.queued",
        "draft.started",
        "draft.created",
        "draft.viewed",
        "draft.edited",
    ] {
        assert!(audit.contains(kind), "{kind} missing from the audit page");
    }
    let kinds: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, kind FROM audit_events WHERE study_uid = $1 AND kind LIKE 'draft.%' ORDER BY id",
    )
    .bind(&uid)
    .fetch_all(store.pool())
    .await
    .unwrap();
    let viewed = kinds.iter().filter(|(_, k)| k == "draft.viewed").count();
    assert_eq!(viewed, 3, "each opening is recorded: {kinds:?}");
    assert!(kinds.contains(&("dr-rad".to_owned(), "draft.edited".to_owned())));
    assert_eq!(store.verify_audit_chain().await.unwrap().first_break, None);

    drop(review);
    setup.teardown().await;
}
