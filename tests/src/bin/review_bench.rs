//! Review benchmark: a fresh database seeded with N studies, each with a version, a job and
//! a draft (random triage scores, ~5% flagged, arrival times spread over 30 days), then the
//! worklist query and the study page (HTML, images excluded, over HTTP with a signed-in
//! radiologist) timed; prints p50 / p95 / max.
//!
//! Usage: `cargo run --release -p radraft-e2e --bin review-bench -- [STUDIES] [ROUNDS]`
//! (default 100,000 studies, 100 rounds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use radraft_e2e::db::TestDb;
use radraft_review::config::ReviewConfig;
use radraft_review::{App, users};
use radraft_store::{Store, WorklistFilter};
use tokio_util::sync::CancellationToken;

const SEED: &str = "
INSERT INTO studies (study_uid, state, version, first_received_at, last_received_at)
SELECT '9.' || n, 'drafted', 1, now() - (n % 43200) * interval '1 minute',
       now() - (n % 43200) * interval '1 minute'
FROM generate_series(1, $1) AS n;
INSERT INTO series (series_uid, study_uid, modality)
SELECT '9.' || n || '.1', '9.' || n, (ARRAY['CR', 'DX', 'CT', 'MR'])[1 + n % 4]
FROM generate_series(1, $1) AS n;
INSERT INTO study_versions (study_uid, version, instance_count, published_at)
SELECT '9.' || n, 1, 1, now() FROM generate_series(1, $1) AS n;
INSERT INTO jobs (study_uid, study_version, state, finished_at)
SELECT '9.' || n, 1, 'succeeded', now() FROM generate_series(1, $1) AS n;
INSERT INTO drafts (job_id, study_uid, study_version, report_text, findings, impression,
                    triage_score, triage_flag, triage_question, provenance)
SELECT j.id, j.study_uid, 1, 'Findings: none.\nImpression: normal.', 'none.', 'normal.',
       s.score, s.score > 0.95, 'Is there a pneumothorax?',
       '{\"model\": {\"model_id\": \"bench\"}, \"inputs\": {\"images\": []}}'::jsonb
FROM jobs j CROSS JOIN LATERAL (SELECT (random() + 0 * j.id)::real AS score) s;
ANALYZE;
";

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(samples[((samples.len() as f64 * q).ceil() as usize).saturating_sub(1)]);
    (at(0.5), at(0.95), ms(samples[samples.len() - 1]))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let studies: i64 = args.get(1).map_or(100_000, |a| a.parse().unwrap());
    let rounds: usize = args.get(2).map_or(100, |a| a.parse().unwrap());
    let db = TestDb::create().await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let started = Instant::now();
    for statement in SEED.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") {
            query.bind(studies)
        } else {
            query
        };
        query.execute(store.pool()).await.unwrap();
    }
    eprintln!(
        "seeded {studies} studies in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let config = ReviewConfig::from_vars(HashMap::from([
        (
            "RADRAFT_REVIEW__HTTP_ADDR".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "RADRAFT_REVIEW__SECURE_COOKIES".to_owned(),
            "false".to_owned(),
        ),
    ]))
    .unwrap();
    // Arrivals span 30 days: with the default 60-minute cap nearly every study is overdue
    // (the age segment fills the page); with a 60-day cap none is (flags and scores do).
    let mut by_cap = Vec::new();
    for cap in [config.max_wait, Duration::from_secs(60 * 24 * 3600)] {
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let rows = store
                .worklist(&WorklistFilter::default(), cap, 500)
                .await
                .unwrap();
            samples.push(t.elapsed());
            assert_eq!(rows.len(), 500);
        }
        by_cap.push(samples);
    }
    let pending = WorklistFilter {
        review: Some("pending".into()),
        modality: Some("CT".into()),
        ..WorklistFilter::default()
    };
    let mut filtered = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        store
            .worklist(&pending, config.max_wait, 500)
            .await
            .unwrap();
        filtered.push(t.elapsed());
    }

    let password = "a long enough password";
    users::add(&store, "bench", "Bench", "radiologist", password, "bench")
        .await
        .unwrap();
    let app = App::with_store(store.clone(), config).await.unwrap();
    let base = format!("http://{}", app.http_addr().unwrap());
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move { app.run(token).await.unwrap() });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed = client
        .post(format!("{base}/login"))
        .form(&[("username", "bench"), ("password", password)])
        .send()
        .await
        .unwrap();
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut page = Vec::with_capacity(rounds);
    let mut list_page = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let uid = format!("9.{}", 1 + (i as i64 * 7919) % studies);
        let t = Instant::now();
        let response = client
            .get(format!("{base}/studies/{uid}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        page.push(t.elapsed());
        let t = Instant::now();
        let response = client
            .get(format!("{base}/"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        list_page.push(t.elapsed());
    }
    println!("{studies} studies with drafts, {rounds} rounds each");
    println!("{:<42} {:>8} {:>8} {:>8}", "ms", "p50", "p95", "max");
    let never_overdue = by_cap.pop().unwrap();
    let mostly_overdue = by_cap.pop().unwrap();
    for (name, samples) in [
        ("worklist query, 60 min cap (500 lines)", mostly_overdue),
        ("worklist query, 60 day cap (500 lines)", never_overdue),
        ("worklist query, CT + pending filter", filtered),
        ("worklist page over HTTP (500 lines)", list_page),
        ("study page over HTTP (images excluded)", page),
    ] {
        let (p50, p95, max) = percentiles(samples);
        println!("{name:<42} {p50:>8.2} {p95:>8.2} {max:>8.2}");
    }
    shutdown.cancel();
    store.pool().close().await;
    drop(db);
}
