//! The review UI in a real browser (headless chromium over WebDriver) on studies the real
//! gateway and worker drafted: sign in, the worklist in triage order with the flagged study
//! first, open it with the keyboard, edit and accept the draft with the shortcut, see the
//! change, the signed report's SR sent to the PACS (a real Orthanc, where it is read back),
//! and the audit page; the chain still verifies. A screenshot of each page is saved (the
//! path is printed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use radraft_e2e::browser::{Browser, ENTER};
use radraft_e2e::fixtures;
use radraft_e2e::gateway::Setup;
use radraft_e2e::orthanc::{self, Orthanc};
use radraft_e2e::review::start_review_with;
use radraft_e2e::synthetic::one_slice_ct_study;
use radraft_e2e::worker::draft_all;
use radraft_review::users;
use radraft_store::{Store, WorklistFilter};
use std::time::Duration;

const PASSWORD: &str = "a long enough password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_radiologist_signs_in_opens_the_first_study_and_edits_its_draft() {
    let setup = Setup::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut files = fixtures::files("dx-chest/explicit-le");
    files.push(one_slice_ct_study(dir.path(), 700, 128));
    draft_all(&setup, files, 2).await;

    let store = Store::connect(&setup.db.url).await.unwrap();
    users::add(&store, "dr-rad", "Dr Rad", "radiologist", PASSWORD, "test")
        .await
        .unwrap();
    let pacs = Orthanc::start(0);
    let pacs_addr = format!("127.0.0.1:{}", pacs.dicom_port);
    let review = start_review_with(
        &store,
        setup.archive_dir(),
        &[
            ("PACS__ADDR", &pacs_addr),
            ("PACS__CALLED_AE", orthanc::AE_TITLE),
        ],
    )
    .await;
    let expected = store
        .worklist(&WorklistFilter::default(), review.config.max_wait, 10)
        .await
        .unwrap();
    assert_eq!(expected.len(), 2);
    let first = expected[0].clone();
    assert!(
        first.triage_flag || !expected[1].triage_flag,
        "flagged first"
    );
    let base = review.base.clone();

    let shots =
        std::env::temp_dir().join(format!("radraft-review-screenshots-{}", std::process::id()));
    std::fs::create_dir_all(&shots).unwrap();
    let browser = Browser::start().await;
    browser.goto(&format!("{base}/")).await;
    browser.wait_for_url("/login").await;
    browser.screenshot(&shots.join("1-sign-in.png")).await;
    browser.type_into("input[name=username]", "dr-rad").await;
    browser.type_into("input[name=password]", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url(&format!("{base}/")).await;
    let top = browser.text("#rows tr:first-child td:first-child").await;
    assert_eq!(
        top, first.study_uid,
        "the worklist's first line is the triage's first"
    );
    let flag = browser.text("#rows tr:first-child td:nth-child(7)").await;
    assert_eq!(flag.starts_with("FLAGGED"), first.triage_flag);
    browser.screenshot(&shots.join("2-worklist.png")).await;

    // Keyboard only: Enter opens the selected (first) study, `e` goes to the edit form.
    browser.press(ENTER).await;
    browser
        .wait_for_url(&format!("/studies/{}", first.study_uid))
        .await;
    assert!(
        browser
            .source()
            .await
            .contains("PRELIMINARY AI-GENERATED DRAFT")
    );
    browser.screenshot(&shots.join("3-study.png")).await;
    // `e` puts the cursor in the findings; what is typed goes there, not to the shortcuts.
    browser.press("e").await;
    browser.press("\nNo focal consolidation.").await;
    browser.clear("#edit textarea[name=impression]").await;
    browser
        .type_into("#edit textarea[name=impression]", "Normal study.")
        .await;
    browser.click("#edit button").await;
    let page = browser
        .wait_for_text("<strong>edited</strong> by Dr Rad")
        .await;
    assert!(page.contains("+ No focal consolidation."), "{page}");
    browser.screenshot(&shots.join("4-edited.png")).await;
    // The signed report reaches the PACS; the study page says so once it has.
    let sent_sql = "SELECT count(*) FROM report_exports WHERE state = 'sent'";
    radraft_e2e::worker::wait_for_count(&setup, sent_sql, 1, Duration::from_secs(30)).await;
    // A query makes it a new load (a fragment alone only scrolls the page already shown).
    browser
        .goto(&format!(
            "{base}/studies/{}?sent#revisions",
            first.study_uid
        ))
        .await;
    let page = browser.wait_for_text("id=\"exports\"").await;
    assert!(page.contains("<td>sent 20"), "{page}");
    browser.screenshot(&shots.join("5-sent-to-pacs.png")).await;
    let srs = pacs
        .instances_of_class("1.2.840.10008.5.1.4.1.1.88.33")
        .await;
    assert_eq!(srs.len(), 1, "{srs:#?}");
    assert_eq!(srs[0]["StudyInstanceUID"], first.study_uid.as_str());
    assert_eq!(srs[0]["VerificationFlag"], "VERIFIED");
    browser.click("a[href$='/audit']").await;
    browser.wait_for_url("/audit").await;
    let audit = browser.source().await;
    for kind in [
        "draft.created",
        "draft.viewed",
        "draft.edited",
        "report.exported",
    ] {
        assert!(audit.contains(kind), "{kind} missing");
    }
    browser.screenshot(&shots.join("6-audit.png")).await;
    browser.quit().await;
    eprintln!("screenshots: {}", shots.display());

    let decided: (String, String) = sqlx::query_as(
        "SELECT d.review::text, r.findings FROM drafts d JOIN review_decisions r ON r.draft_id = d.id",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(decided.0, "edited");
    assert!(
        decided.1.ends_with("No focal consolidation."),
        "{}",
        decided.1
    );
    assert_eq!(store.verify_audit_chain().await.unwrap().first_break, None);
    drop(review);
    setup.teardown().await;
}
