//! Results out from the review service, on a study the real gateway and worker drafted: the
//! draft goes to the PACS (a real Orthanc) as an UNVERIFIED SR once the PACS comes up (it is
//! down at first: the export is retried, not lost), sign-off sends a VERIFIED SR naming the
//! draft's as predecessor, an amendment one naming the signed SR; the FHIR DiagnosticReport
//! moves partial → final → amended with its history; every export is an audit event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use radraft_e2e::fixtures;
use radraft_e2e::gateway::Setup;
use radraft_e2e::orthanc::{self, Orthanc, free_port};
use radraft_e2e::results::{describe, validate_fhir, write_json};
use radraft_e2e::review::{client, sign_in, start_review_with};
use radraft_e2e::worker::{draft_all, wait_for_count};
use radraft_review::users;
use radraft_store::Store;
use reqwest::StatusCode;
use serde_json::Value;

const PASSWORD: &str = "a long enough password";
const WAIT: Duration = Duration::from_secs(60);
const SR_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.33";

fn sr_with<'a>(srs: &'a [Value], sop_instance_uid: &str) -> &'a Value {
    srs.iter()
        .find(|t| t["SOPInstanceUID"] == sop_instance_uid)
        .unwrap_or_else(|| panic!("SR {sop_instance_uid} not in the PACS: {srs:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_reach_the_pacs_as_sr_and_fhir_follows_sign_off_and_amendment() {
    let setup = Setup::new().await;
    draft_all(&setup, fixtures::files("dx-chest/explicit-le"), 1).await;
    let store = Store::connect(&setup.db.url).await.unwrap();
    users::add(&store, "dr-rad", "Dr Rad", "radiologist", PASSWORD, "test")
        .await
        .unwrap();
    users::add(&store, "vera", "Vera Viewer", "viewer", PASSWORD, "test")
        .await
        .unwrap();
    let (http_port, dicom_port) = (free_port(), free_port());
    let pacs_addr = format!("127.0.0.1:{dicom_port}");
    let review = start_review_with(
        &store,
        setup.archive_dir(),
        &[
            ("PACS__ADDR", &pacs_addr),
            ("PACS__CALLED_AE", orthanc::AE_TITLE),
            ("PACS__EXPORT_DRAFTS", "true"),
            ("PACS__RETRY_MS", "100"),
            ("PACS__RETRY_MAX_MS", "500"),
            ("PACS__TIMEOUT_MS", "5000"),
        ],
    )
    .await;
    let base = review.base.clone();
    let (uid, draft_id): (String, i64) = sqlx::query_as("SELECT study_uid, id FROM drafts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let client = client();
    let (cookie, csrf) = sign_in(&client, &base, "dr-rad", PASSWORD).await;
    let fhir = |path: &'static str| {
        let (client, cookie) = (client.clone(), cookie.clone());
        let url = format!("{base}/api/studies/{uid}/fhir/DiagnosticReport{path}");
        async move {
            let response = client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };

    // The PACS is down: the draft's SR is tried again and again, kept pending.
    wait_for_count(
        &setup,
        "SELECT count(*) FROM report_exports
         WHERE revision = 0 AND state = 'pending' AND attempts >= 3 AND last_error IS NOT NULL",
        1,
        WAIT,
    )
    .await;
    let draft = fhir("").await;
    assert_eq!(
        draft["status"], "partial",
        "an unreviewed AI draft: {draft:#}"
    );

    // The PACS comes up where it was expected: the draft's SR arrives, UNVERIFIED.
    let pacs = tokio::task::spawn_blocking(move || Orthanc::start_on(0, http_port, dicom_port))
        .await
        .unwrap();
    wait_for_count(
        &setup,
        "SELECT count(*) FROM report_exports WHERE state = 'sent'",
        1,
        WAIT,
    )
    .await;
    let sop = |revision: i32| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT sop_instance_uid FROM report_exports WHERE revision = $1",
            )
            .bind(revision)
            .fetch_one(store.pool())
            .await
            .unwrap()
        }
    };
    let draft_sr = sop(0).await;
    let srs = pacs.instances_of_class(SR_CLASS).await;
    let stored = sr_with(&srs, &draft_sr);
    assert_eq!(stored["VerificationFlag"], "UNVERIFIED");
    assert_eq!(stored["StudyInstanceUID"], uid.as_str());

    // Sign-off with an edit: a VERIFIED SR by the radiologist, superseding the draft's.
    let decided = client
        .post(format!("{base}/studies/{uid}/decision"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("draft_id", &draft_id.to_string()),
            ("action", "edit"),
            ("findings", "Lungs are clear."),
            ("impression", "No acute cardiopulmonary process."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    wait_for_count(
        &setup,
        "SELECT count(*) FROM report_exports WHERE state = 'sent'",
        2,
        WAIT,
    )
    .await;
    let signed_sr = sop(1).await;
    let srs = pacs.instances_of_class(SR_CLASS).await;
    let stored = sr_with(&srs, &signed_sr);
    assert_eq!(stored["VerificationFlag"], "VERIFIED");
    assert_eq!(stored["CompletionFlag"], "COMPLETE");
    let observer = &stored["VerifyingObserverSequence"][0];
    assert!(
        observer["VerifyingObserverName"]
            .as_str()
            .unwrap()
            .contains("Rad"),
        "{observer:#}"
    );
    let predecessor = stored["PredecessorDocumentsSequence"].to_string();
    assert!(predecessor.contains(&draft_sr), "{predecessor}");
    let report = fhir("").await;
    assert_eq!(report["status"], "final");
    assert_eq!(report["conclusion"], "No acute cardiopulmonary process.");

    // A viewer cannot amend; nobody can without the session's CSRF token.
    let amend = |cookie: String, csrf: String| {
        let client = client.clone();
        let url = format!("{base}/studies/{uid}/amend");
        async move {
            client
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("draft_id", &draft_id.to_string()),
                    ("findings", "Lungs are clear."),
                    ("impression", "Small left pleural effusion."),
                    ("reason", "effusion missed at sign-off"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (viewer, viewer_csrf) = sign_in(&client, &base, "vera", PASSWORD).await;
    assert_eq!(amend(viewer, viewer_csrf).await, StatusCode::FORBIDDEN);
    assert_eq!(
        amend(cookie.clone(), "forged".into()).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        amend(cookie.clone(), csrf.clone()).await,
        StatusCode::SEE_OTHER
    );
    wait_for_count(
        &setup,
        "SELECT count(*) FROM report_exports WHERE state = 'sent'",
        3,
        WAIT,
    )
    .await;
    let amended_sr = sop(2).await;
    let srs = pacs.instances_of_class(SR_CLASS).await;
    assert_eq!(srs.len(), 3, "each revision once");
    let stored = sr_with(&srs, &amended_sr);
    assert_eq!(stored["VerificationFlag"], "VERIFIED");
    assert!(
        stored["PredecessorDocumentsSequence"]
            .to_string()
            .contains(&signed_sr)
    );
    let report = fhir("").await;
    assert_eq!(report["status"], "amended");
    assert_eq!(report["conclusion"], "Small left pleural effusion.");
    let history = fhir("/_history").await;
    let statuses: Vec<&str> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["amended", "final", "partial"]);
    // What the API serves is valid FHIR R4, checked by a FHIR library.
    let dir = tempfile::tempdir().unwrap();
    let files = [
        write_json(&dir, "draft.json", &draft),
        write_json(&dir, "amended.json", &report),
        write_json(&dir, "history.json", &history),
    ];
    let checked = validate_fhir(&files);
    assert!(checked.status.success(), "{}", describe(&checked));

    // The study page shows the history and where each revision went.
    let html = client
        .get(format!("{base}/studies/{uid}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "Report history",
        "effusion missed at sign-off",
        &amended_sr,
        "sent ",
    ] {
        assert!(html.contains(expected), "{expected} missing");
    }
    let kinds: Vec<String> = store
        .audit_trail(&uid)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("report."))
        .collect();
    assert_eq!(
        kinds,
        [
            "report.exported",
            "report.exported",
            "report.amended",
            "report.exported"
        ]
    );
    assert!(
        store
            .verify_audit_chain()
            .await
            .unwrap()
            .first_break
            .is_none()
    );
}
