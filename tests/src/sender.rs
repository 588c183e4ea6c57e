//! A C-STORE SCU that sends many instances on one association and records the answer to
//! each, for the fault tests: what a sender was told is exactly what the gateway promised.
//! Unlike dcmsend it reports its progress while it sends, so a test can act after exactly
//! N successes, and it stops quietly (keeping what it was told) when the peer goes away.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::dicom_file::dataset_bytes;
use crate::outage::slice;
use crate::scu::{StoreStatus, associate, store_one};
use crate::synthetic::{CT_IMAGE_STORAGE, EXPLICIT_LE};

/// One instance to send: its SOP instance UID and its data set, already encoded in the
/// transfer syntax the sender proposes.
#[derive(Debug, Clone)]
pub struct Instance {
    pub sop_instance_uid: String,
    pub dataset: Vec<u8>,
}

/// What the sender was told: an answer per instance, in order, and why it stopped early.
#[derive(Debug, Default)]
pub struct Sent {
    pub answers: Vec<(String, StoreStatus)>,
    /// The transport error that ended the association before every instance was answered.
    pub broken: Option<String>,
}

impl Sent {
    /// The instances answered with status 0x0000.
    pub fn succeeded(&self) -> BTreeSet<String> {
        self.answers
            .iter()
            .filter(|(_, answer)| answer.status == 0x0000)
            .map(|(sop, _)| sop.clone())
            .collect()
    }
}

/// Counts the answers as they arrive, shared with the test that watches them.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    answers: Arc<AtomicUsize>,
    successes: Arc<AtomicUsize>,
}

impl Progress {
    pub fn answers(&self) -> usize {
        self.answers.load(Ordering::SeqCst)
    }

    pub fn successes(&self) -> usize {
        self.successes.load(Ordering::SeqCst)
    }

    /// Answers other than success.
    pub fn failures(&self) -> usize {
        // Successes are counted before answers, so this never overstates the failures.
        self.answers().saturating_sub(self.successes())
    }
}

/// Sends `instances` of `sop_class` in `transfer_syntax` to the gateway on `port`, one
/// C-STORE after another on a single association, each waiting for its answer (at most
/// `answer_timeout`). Stops at the first transport error.
pub fn send_all(
    port: u16,
    sop_class: &str,
    transfer_syntax: &str,
    instances: &[Instance],
    answer_timeout: Duration,
    progress: &Progress,
) -> Sent {
    let mut sent = Sent::default();
    let (mut association, context) =
        match associate(port, sop_class, transfer_syntax, answer_timeout) {
            Ok(open) => open,
            Err(error) => {
                sent.broken = Some(error);
                return sent;
            }
        };
    for (message_id, instance) in (1_u16..).zip(instances) {
        let answer = store_one(
            &mut association,
            context,
            message_id,
            sop_class,
            &instance.sop_instance_uid,
            &instance.dataset,
        );
        match answer {
            Ok(answer) => {
                // Successes first: see `Progress::failures`.
                if answer.status == 0x0000 {
                    progress.successes.fetch_add(1, Ordering::SeqCst);
                }
                progress.answers.fetch_add(1, Ordering::SeqCst);
                sent.answers
                    .push((instance.sop_instance_uid.clone(), answer));
            }
            Err(error) => {
                sent.broken = Some(error);
                return sent;
            }
        }
    }
    let _ = association.release();
    sent
}

/// Instances `range` of `study`'s CT series (`side` x `side` slices, see
/// [`slice`]), as the sender sends them: their data sets.
pub fn ct_series(study: &str, range: std::ops::Range<u32>, side: u16) -> Vec<Instance> {
    range
        .map(|i| {
            let (sop, file) = slice(study, i, side);
            Instance {
                sop_instance_uid: sop,
                dataset: dataset_bytes(&file).to_vec(),
            }
        })
        .collect()
}

/// [`send_all`] of CT slices in Explicit VR Little Endian, each answer awaited up to 30 s,
/// off the async runtime.
pub async fn send_ct(port: u16, instances: Vec<Instance>, progress: &Progress) -> Sent {
    let progress = progress.clone();
    tokio::task::spawn_blocking(move || {
        send_all(
            port,
            CT_IMAGE_STORAGE,
            EXPLICIT_LE,
            &instances,
            Duration::from_secs(30),
            &progress,
        )
    })
    .await
    .unwrap()
}
