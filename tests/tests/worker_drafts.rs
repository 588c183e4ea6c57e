//! The draft worker end to end: studies sent with dcmtk's dcmsend through the real gateway,
//! RabbitMQ and Postgres, drafted by `radraft-worker serve` with the tiny MedGemma: one
//! draft per version with provenance and audit, reproducible, superseded by a late
//! instance, out of scope when configured so, and exactly once with two workers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use radraft_core::StudyReady;
use radraft_e2e::gateway::Setup;
use radraft_e2e::synthetic::one_slice_ct_study as ct_study;
use radraft_e2e::worker::{dcmsend, quick, start_worker, tiny_model_dir, wait_for_count};
use radraft_e2e::{broker::amqp_url, fixtures};
use radraft_medgemma::{MedGemma, Provider, RuntimeConfig};
use radraft_queue::{Publisher, dead};
use radraft_store::Store;
use radraft_worker::DraftOptions;
use radraft_worker::prompt::Templates;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chest_study_becomes_one_draft_with_provenance_audit_and_no_duplicate() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    let worker = start_worker(&setup, &[]).await;
    let files = fixtures::files("dx-chest/explicit-le");
    dcmsend(gateway.dimse_port, files.clone()).await;

    wait_for_count(&setup, "SELECT count(*) FROM drafts", 1, WAIT).await;
    let store = Store::from_pool(setup.db.pool().await);
    let (study_uid,): (String,) = sqlx::query_as("SELECT study_uid FROM drafts")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(
        setup
            .count("SELECT count(*) FROM studies WHERE state = 'drafted'")
            .await,
        1
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
            .await,
        1
    );
    let draft = store.drafts_of(&study_uid).await.unwrap().remove(0);
    let p = &draft.provenance;
    assert_eq!(p["model"]["model_id"], "radraft/medgemma-tiny-random");
    assert_eq!(p["model"]["manifest_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(p["execution_provider"], "CPUExecutionProvider");
    assert_eq!(p["prompt"]["template_id"], "cxr-report.v1");
    assert_eq!(p["inputs"]["objects"].as_array().unwrap().len(), 2);
    assert_eq!(p["inputs"]["images"].as_array().unwrap().len(), 2);
    let indexed: Vec<String> =
        sqlx::query_scalar("SELECT sha256 FROM instances ORDER BY sop_instance_uid")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let recorded: Vec<String> = p["inputs"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sha256"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recorded, indexed);
    let score = draft.triage_score.expect("triage score");
    assert!((0.0..=1.0).contains(&score));
    assert_eq!(draft.triage_flag, f64::from(score) > 0.5);
    assert_eq!(
        p["tokens"]["generated_ids"].as_array().unwrap().len() as u64,
        p["tokens"]["generated"].as_u64().unwrap()
    );

    // Reproducible: the same objects, options and model give the same tokens and inputs.
    let archived: Vec<PathBuf> = setup.archived_files();
    let found = radraft_worker::inputs::collect(&archived);
    let mut model = MedGemma::load(
        &tiny_model_dir(),
        &RuntimeConfig {
            providers: vec![Provider::Cpu],
            intra_threads: Some(1),
            ..RuntimeConfig::default()
        },
    )
    .unwrap();
    let mut options = DraftOptions::new(Templates::builtin().unwrap());
    options.max_new_tokens = 12;
    options.study.max_slices = 3;
    let again =
        radraft_worker::draft_study(&mut model, &found.studies[0].instances, &options, |_| {})
            .unwrap();
    let ids: Vec<u64> = again
        .generation
        .token_ids
        .iter()
        .map(|&i| u64::from(i))
        .collect();
    let stored: Vec<u64> = p["tokens"]["generated_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(ids, stored);
    assert_eq!(again.generation.text, draft.report_text);
    let hashes: Vec<&str> = p["inputs"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["model_input_sha256"].as_str().unwrap())
        .collect();
    assert_eq!(
        hashes,
        again
            .images
            .iter()
            .map(|i| i.input_sha256.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(again.triage.unwrap().score as f32, score);

    let kinds: Vec<String> = store
        .audit_trail(&study_uid)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "study.received",
            "study.settled",
            "study.queued",
            "draft.started",
            "draft.created"
        ]
    );

    // A redelivered study.ready (a lost ack, a second announcement) is acknowledged
    // without a second draft or a second audit event.
    let connection = radraft_queue::connect(&amqp_url()).await.unwrap();
    let publisher = Publisher::open(&connection, &setup.topology).await.unwrap();
    let message = StudyReady {
        study_uid: radraft_core::Uid::parse(&study_uid).unwrap(),
        study_version: 1,
        instance_count: 2,
    };
    publisher.publish_study_ready(&message).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, metrics) = worker.get("/metrics").await;
        if metrics.contains("radraft_worker_studies_total{outcome=\"duplicate\"} 1") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "redelivery not seen: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(setup.count("SELECT count(*) FROM drafts").await, 1);
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'draft.created'")
            .await,
        1
    );

    let (status, ready) = worker.get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let (_, metrics) = worker.get("/metrics").await;
    assert!(
        metrics.contains("radraft_worker_studies_total{outcome=\"drafted\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("radraft_worker_stage_seconds_count{stage=\"vision\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("SYNTHETIC"), "no patient data in metrics");

    worker.stop().await;
    gateway.stop().await;
    connection.close(200, "done".into()).await.unwrap();
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_instance_gets_a_superseding_draft_and_out_of_scope_is_neither() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    let worker = start_worker(&setup, &[("SCOPE__MODALITIES", "DX,CR")]).await;
    let views = fixtures::files("dx-chest/explicit-le");
    dcmsend(gateway.dimse_port, vec![views[0].clone()]).await;
    wait_for_count(&setup, "SELECT count(*) FROM drafts", 1, WAIT).await;
    dcmsend(gateway.dimse_port, vec![views[1].clone()]).await;
    wait_for_count(&setup, "SELECT count(*) FROM drafts", 2, WAIT).await;
    assert_eq!(setup.count("SELECT count(*) FROM drafts WHERE study_version = 2 AND superseded_at IS NULL AND supersedes IS NOT NULL").await, 1);
    assert_eq!(
        setup
            .count(
                "SELECT count(*) FROM drafts WHERE study_version = 1 AND superseded_at IS NOT NULL"
            )
            .await,
        1
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'draft.superseded'")
            .await,
        1
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM studies WHERE state = 'drafted' AND version = 2")
            .await,
        1
    );

    // A CT study, outside this deployment's scope: recorded, acknowledged, not dead-lettered.
    let dir = tempfile::tempdir().unwrap();
    dcmsend(gateway.dimse_port, vec![ct_study(dir.path(), 3, 128)]).await;
    wait_for_count(
        &setup,
        "SELECT count(*) FROM studies WHERE state = 'out_of_scope'",
        1,
        WAIT,
    )
    .await;
    assert_eq!(
        setup
            .count("SELECT count(*) FROM jobs WHERE state = 'out_of_scope'")
            .await,
        1
    );
    let connection = radraft_queue::connect(&amqp_url()).await.unwrap();
    assert!(
        dead::list(&connection, &setup.topology)
            .await
            .unwrap()
            .is_empty()
    );

    worker.stop().await;
    gateway.stop().await;
    connection.close(200, "done".into()).await.unwrap();
    setup.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_draft_fifty_studies_exactly_once() {
    let setup = Setup::new().await;
    let gateway = setup.start(quick()).await;
    let first = start_worker(&setup, &[("NAME", "worker-a")]).await;
    let second = start_worker(&setup, &[("NAME", "worker-b")]).await;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (100..150).map(|n| ct_study(dir.path(), n, 128)).collect();
    dcmsend(gateway.dimse_port, files).await;

    wait_for_count(
        &setup,
        "SELECT count(*) FROM studies WHERE state = 'drafted'",
        50,
        Duration::from_secs(180),
    )
    .await;
    assert_eq!(setup.count("SELECT count(*) FROM drafts").await, 50);
    assert_eq!(
        setup
            .count("SELECT count(DISTINCT study_uid) FROM drafts")
            .await,
        50
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
            .await,
        50
    );
    assert_eq!(
        setup
            .count("SELECT count(*) FROM audit_events WHERE kind = 'draft.created'")
            .await,
        50
    );
    assert_eq!(
        setup.count("SELECT count(DISTINCT worker) FROM jobs").await,
        2,
        "both workers took studies"
    );

    first.stop().await;
    second.stop().await;
    gateway.stop().await;
    setup.teardown().await;
}
