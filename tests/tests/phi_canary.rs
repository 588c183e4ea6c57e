//! The PHI canary: a patient whose name, IDs, birth date, address, referring physician,
//! institution and accession number are distinctive strings is sent through the real
//! gateway (C-STORE and STOW-RS) and the real worker at trace level, with refused copies
//! and a study the worker cannot draft, beside the mixed fixture study. Then every log
//! line of both processes, the worker's and the review service's metrics, every message
//! published to the work, retry and dead-letter exchanges (body and headers), every value
//! of every table but the index's own identity columns, and every error comment and
//! STOW-RS response returned to the senders is searched for the values and their usual
//! encodings: none may appear. The draft text is what the model wrote for a radiologist,
//! not output of ours, and is not searched; the prompt holds no patient data (its
//! templates take only image counts and slice numbers), which this checks too, as the
//! provenance is searched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use dicom_dictionary_std::tags;
use radraft_e2e::broker::amqp_url;
use radraft_e2e::canary::{self, MARKER};
use radraft_e2e::dicom_file::dataset_bytes;
use radraft_e2e::gateway::{SENDER_AE, Setup};
use radraft_e2e::gateway_process::GatewayProcess;
use radraft_e2e::hostile::{part10, with_pixel_data_cut};
use radraft_e2e::leaks::{LoggedWorker, Tap, every_value, free_port};
use radraft_e2e::outage::eventually;
use radraft_e2e::review::start_review_with;
use radraft_e2e::scu::store_raw;
use radraft_e2e::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE};
use radraft_e2e::worker::{dcmsend, wait_for_count};
use radraft_e2e::{fixtures, pacs, stow};
use radraft_store::Store;

/// Everything of ours at TRACE, the libraries at DEBUG.
const FILTER: &str = "debug,radraft_gateway=trace,radraft_worker=trace,radraft_store=trace,\
    radraft_queue=trace,radraft_archive=trace,radraft_imaging=trace,radraft_medgemma=trace,\
    radraft_dicom_guard=trace,radraft_core=trace";
const GOOD_STUDY: &str = "1.2.826.0.1.3680043.10.1234.55.1";
const UNDRAFTABLE_STUDY: &str = "1.2.826.0.1.3680043.10.1234.55.2";
const METRICS_TOKEN: &str = "phi-test-metrics-token-0123456789abcdef";

/// The columns that are the index itself: what a radiologist finds a study by on the
/// worklist (ARCHITECTURE.md, "Schema"), and the draft text the model wrote.
const INDEX_COLUMNS: [(&str, &str); 5] = [
    ("studies", "accession_number"),
    ("studies", "study_description"),
    ("drafts", "raw_text"),
    ("drafts", "findings"),
    ("drafts", "impression"),
];

/// PatientName, PatientID and PatientBirthDate of the mixed fixture: more values to find.
fn fixture_values() -> Vec<String> {
    let mut values: Vec<String> = fixtures::files("mixed")
        .iter()
        .flat_map(|file| {
            let object = dicom_object::open_file(file).unwrap();
            [
                tags::PATIENT_NAME,
                tags::PATIENT_ID,
                tags::PATIENT_BIRTH_DATE,
            ]
            .into_iter()
            .filter_map(move |tag| {
                let element = object.element_opt(tag).ok().flatten()?;
                Some(element.to_str().ok()?.trim().to_owned())
            })
        })
        .filter(|v| v.len() >= 4)
        .collect();
    values.sort();
    values.dedup();
    values
}

async fn state_of(setup: &Setup, study_uid: &str) -> String {
    let pool = setup.db.pool().await;
    let state = sqlx::query_scalar("SELECT state::text FROM studies WHERE study_uid = $1")
        .bind(study_uid)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    state
}

fn stow_url(gateway: &GatewayProcess) -> String {
    format!("http://127.0.0.1:{}/dicom-web/studies", gateway.http_port)
}

/// What came back to the senders for copies the gateway refuses: C-STORE error comments,
/// STOW-RS bodies and Warning headers.
async fn refused_copies(gateway: &GatewayProcess, file: &[u8], sop: &str) -> Vec<String> {
    let mut returned = Vec::new();
    let cut = with_pixel_data_cut(file, 64);
    // Cut inside the first canary value (the accession number): the parser stops in the
    // middle of it.
    let at = file
        .windows(MARKER.len())
        .position(|w| w == MARKER.as_bytes())
        .unwrap();
    let truncated = file[..at + 4].to_vec();
    for (what, dataset, part) in [
        (
            "pixel data cut",
            cut.clone(),
            part10(&cut, sop, EXPLICIT_LE),
        ),
        (
            "truncated",
            dataset_bytes(&truncated).to_vec(),
            truncated.clone(),
        ),
    ] {
        let (port, sop_uid) = (gateway.dimse_port, sop.to_owned());
        let answer = tokio::task::spawn_blocking(move || {
            store_raw(port, CT_IMAGE_STORAGE, &sop_uid, EXPLICIT_LE, &dataset)
        })
        .await
        .unwrap();
        assert_ne!(answer.status, 0x0000, "{what} refused");
        returned.push(format!("C-STORE {what}: {answer:?}"));
        let response = stow::store(&stow_url(gateway), &[part]).await;
        assert_eq!(response.status, 409, "{what}: {}", response.body);
        returned.push(format!(
            "STOW-RS {what}: {} {:?}",
            response.body, response.warning
        ));
    }
    returned
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_patient_value_leaves_the_services() {
    let setup = Setup::new().await;
    let tap = Tap::bind(&amqp_url(), &setup.topology).await;
    let mut gateway =
        GatewayProcess::spawn_logging(&setup, &[("QUIET_PERIOD_MS", "500")], FILTER, "phi-gateway");
    // Parked first (the retry exchange), drafted once drafting is switched on again.
    let store = Store::connect(&setup.db.url).await.unwrap();
    store
        .set_drafting(false, Some("held for the leak check"), "phi-test")
        .await
        .unwrap();
    let worker_addr = format!("127.0.0.1:{}", free_port());
    let mut worker =
        LoggedWorker::spawn(&setup, &[("HTTP_ADDR", &worker_addr)], FILTER, "phi-worker");

    // The good study: one slice by C-STORE, one by STOW-RS; the undraftable one by C-STORE;
    // the mixed fixture study beside them.
    let dir = tempfile::tempdir().unwrap();
    let (first_sop, first) = canary::slice(GOOD_STUDY, 0, true);
    let (_, second) = canary::slice(GOOD_STUDY, 1, true);
    let (_, undraftable) = canary::slice(UNDRAFTABLE_STUDY, 0, false);
    let paths: Vec<_> = [("good.dcm", &first), ("undraftable.dcm", &undraftable)]
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    dcmsend(gateway.dimse_port, paths).await;
    let mut returned = Vec::new();
    let response = stow::store(&stow_url(&gateway), &[second]).await;
    assert_eq!(response.status, 200, "{}", response.body);
    returned.push(format!(
        "STOW-RS stored: {} {:?}",
        response.body, response.warning
    ));
    let port = gateway.dimse_port;
    let mixed = fixtures::path("mixed");
    let sent = tokio::task::spawn_blocking(move || pacs::dcmsend(port, SENDER_AE, &[&mixed]))
        .await
        .unwrap();
    assert!(pacs::all_stored(&sent), "{}", pacs::describe(&sent));
    returned.extend(refused_copies(&gateway, &first, &first_sop).await);

    // Parked while drafting is off, then every study drafted or failed.
    let metrics_url = format!("http://{worker_addr}/metrics");
    eventually("a study parked", Duration::from_secs(60), || async {
        match reqwest::get(&metrics_url).await {
            Ok(response) => response
                .text()
                .await
                .is_ok_and(|text| text.contains("outcome=\"parked\"")),
            Err(_) => false,
        }
    })
    .await;
    store.set_drafting(true, None, "phi-test").await.unwrap();
    let studies = setup.count("SELECT count(*) FROM studies").await;
    assert!(studies >= 3, "{studies} studies");
    wait_for_count(
        &setup,
        "SELECT count(*) FROM studies WHERE state IN ('drafted', 'failed', 'out_of_scope')",
        studies,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(state_of(&setup, GOOD_STUDY).await, "drafted");
    assert_eq!(state_of(&setup, UNDRAFTABLE_STUDY).await, "failed");

    let worker_metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let review = start_review_with(
        &store,
        setup.archive_dir(),
        &[("METRICS_TOKEN", METRICS_TOKEN)],
    )
    .await;
    let review_metrics = reqwest::Client::new()
        .get(format!("{}/metrics", review.base))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        worker_metrics.contains("radraft_worker_studies_total"),
        "{worker_metrics}"
    );
    assert!(review_metrics.contains("radraft_"), "{review_metrics}");
    assert!(worker.terminate(Duration::from_secs(30)).success());
    gateway.sigterm();
    assert!(gateway.wait(Duration::from_secs(30)).success());

    let (gateway_log, worker_log) = (gateway.log_text(), worker.log_text());
    assert!(gateway_log.contains("study.ready published") && gateway_log.contains(GOOD_STUDY));
    assert!(gateway_log.contains("TRACE") || gateway_log.contains("DEBUG"));
    assert!(worker_log.contains(GOOD_STUDY) && worker_log.contains(UNDRAFTABLE_STUDY));
    let messages = tap.messages().await;
    for what in ["study.ready", "retry", "dead letter"] {
        assert!(
            messages.iter().any(|(w, _)| *w == what),
            "no {what} message copied"
        );
    }
    let values = every_value(&setup).await;
    let index_value = |table: &str, column: &str| {
        values
            .iter()
            .any(|(t, c, v)| t == table && c == column && v.contains(MARKER))
    };
    // The search sees the database: the index's own columns hold the canary.
    assert!(
        index_value("studies", "accession_number") && index_value("studies", "study_description")
    );

    let mut hits = Vec::new();
    hits.extend(canary::find("gateway log", &gateway_log));
    hits.extend(canary::find("worker log", &worker_log));
    hits.extend(canary::find("worker metrics", &worker_metrics));
    hits.extend(canary::find("review metrics", &review_metrics));
    for (what, text) in &messages {
        hits.extend(canary::find(what, text));
    }
    for text in &returned {
        hits.extend(canary::find("returned to the sender", text));
    }
    for (table, column, value) in &values {
        if !INDEX_COLUMNS.contains(&(table.as_str(), column.as_str())) {
            hits.extend(canary::find(&format!("{table}.{column}"), value));
        }
    }
    // The fixture's own patient values, searched as plain text.
    let outputs = [&gateway_log, &worker_log, &worker_metrics, &review_metrics];
    for value in fixture_values() {
        for output in outputs {
            if output.contains(&value) {
                hits.push(format!("fixture value {value:?} in an output"));
            }
        }
        for (what, text) in &messages {
            if text.contains(&value) {
                hits.push(format!("fixture value {value:?} in a {what} message"));
            }
        }
    }
    eprintln!(
        "searched {} + {} log bytes, {} messages, {} database values, {} answers",
        gateway_log.len(),
        worker_log.len(),
        messages.len(),
        values.len(),
        returned.len()
    );
    assert!(
        hits.is_empty(),
        "patient data left the services:\n{}",
        hits.join("\n")
    );
    setup.teardown().await;
}
