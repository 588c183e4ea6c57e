//! The model threads. Each owns one loaded MedGemma (inference is blocking CPU/GPU work, not
//! async work) and takes studies from one bounded channel, so the async runtime stays
//! responsive while a study is drafted and back-pressure is the channel's capacity. Opening
//! the objects, the scope gate and drafting all run here.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use radraft_imaging::{Instance, open_bytes};
use radraft_medgemma::{LoadError, MedGemma, Part, Request, RuntimeConfig};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::draft::{DraftOptions, StudyDraft, draft_study};
use crate::error::DraftError;
use crate::provenance::ModelInfo;
use crate::scope::Scope;

/// One study's objects, as read from the archive.
#[derive(Debug)]
pub struct StudyObjects {
    pub objects: Vec<(String, Vec<u8>)>,
}

/// What a model thread made of a study.
#[derive(Debug)]
pub enum ModelOutcome {
    Drafted {
        draft: Box<StudyDraft>,
        open: Duration,
    },
    OutOfScope(String),
    /// The study cannot be drafted (no readable object, no usable image, prompt too long, ...).
    Failed(DraftError),
    /// An object could not be parsed at all; with no readable object left this is permanent.
    Unreadable(String),
}

struct Work {
    study: StudyObjects,
    span: tracing::Span,
    reply: oneshot::Sender<ModelOutcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("loading the model from {dir}")]
    Load {
        dir: PathBuf,
        #[source]
        source: Box<LoadError>,
    },
    #[error("describing the model in {dir}")]
    Describe {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("warming the model up: {0}")]
    Warm(String),
    #[error("the model thread could not be started")]
    Spawn(#[source] std::io::Error),
    #[error("the model threads have stopped")]
    Stopped,
}

/// A handle to the model threads.
#[derive(Debug, Clone)]
pub struct ModelPool {
    sender: mpsc::Sender<Work>,
    pub info: ModelInfo,
}

impl ModelPool {
    /// Starts `threads` threads, each loading and warming its own model; returns once all
    /// are ready, or with the first thread's error.
    pub async fn start(
        threads: usize,
        dir: PathBuf,
        runtime: RuntimeConfig,
        options: Arc<DraftOptions>,
        scope: Scope,
    ) -> Result<Self, PoolError> {
        let (sender, receiver) = mpsc::channel::<Work>(threads.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        let mut ready = Vec::with_capacity(threads);
        for n in 0..threads {
            let (ready_tx, ready_rx) = oneshot::channel();
            ready.push(ready_rx);
            let receiver = Arc::clone(&receiver);
            let (dir, runtime, options, scope) = (
                dir.clone(),
                runtime.clone(),
                Arc::clone(&options),
                scope.clone(),
            );
            std::thread::Builder::new()
                .name(format!("model-{n}"))
                .spawn(move || {
                    let model = load(&dir, &runtime);
                    let model = match model {
                        Ok((model, info)) => {
                            let _ = ready_tx.send(Ok(info));
                            model
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    serve(model, &receiver, &options, &scope);
                })
                .map_err(PoolError::Spawn)?;
        }
        let mut info = None;
        for rx in ready {
            info = Some(rx.await.map_err(|_| PoolError::Stopped)??);
        }
        Ok(ModelPool {
            sender,
            info: info.ok_or(PoolError::Stopped)?,
        })
    }

    /// Drafts a study on the next free model thread.
    pub async fn draft(&self, study: StudyObjects) -> Result<ModelOutcome, PoolError> {
        let (reply, answer) = oneshot::channel();
        let work = Work {
            study,
            span: tracing::Span::current(),
            reply,
        };
        self.sender
            .send(work)
            .await
            .map_err(|_| PoolError::Stopped)?;
        answer.await.map_err(|_| PoolError::Stopped)
    }
}

fn load(dir: &Path, runtime: &RuntimeConfig) -> Result<(MedGemma, ModelInfo), PoolError> {
    let started = Instant::now();
    let mut model = MedGemma::load(dir, runtime).map_err(|source| PoolError::Load {
        dir: dir.to_path_buf(),
        source: Box::new(source),
    })?;
    let info = ModelInfo::describe(&model, dir).map_err(|source| PoolError::Describe {
        dir: dir.to_path_buf(),
        source,
    })?;
    // One short generation, so the first study does not pay for the sessions' first runs
    // (memory arenas, kernel selection, TensorRT engines).
    let warm = Request {
        system: None,
        parts: vec![Part::Text("Warm up.".to_owned())],
        max_new_tokens: 2,
    };
    model
        .generate(&warm, |_| {})
        .map_err(|e| PoolError::Warm(e.to_string()))?;
    info!(model_id = %info.model_id, provider = model.provider().ort_name(),
          took_ms = started.elapsed().as_millis() as u64, "model loaded and warmed");
    Ok((model, info))
}

fn serve(
    mut model: MedGemma,
    receiver: &Mutex<mpsc::Receiver<Work>>,
    options: &DraftOptions,
    scope: &Scope,
) {
    loop {
        // One thread waits on the channel at a time; the others wait for the lock.
        let work = match receiver.lock() {
            Ok(mut rx) => rx.blocking_recv(),
            Err(_) => None,
        };
        let Some(work) = work else {
            return;
        };
        let _entered = work.span.enter();
        let outcome = draft(&mut model, work.study, options, scope);
        if work.reply.send(outcome).is_err() {
            warn!("the study's task went away before its draft was ready");
        }
    }
}

fn draft(
    model: &mut MedGemma,
    study: StudyObjects,
    options: &DraftOptions,
    scope: &Scope,
) -> ModelOutcome {
    let started = Instant::now();
    let mut instances: Vec<Instance> = Vec::with_capacity(study.objects.len());
    let mut unreadable = Vec::new();
    for (sop_instance_uid, bytes) in &study.objects {
        match open_bytes(bytes) {
            Ok(instance) => instances.push(instance),
            Err(e) => unreadable.push(format!("{sop_instance_uid}: {e}")),
        }
    }
    let open = started.elapsed();
    if instances.is_empty() {
        return ModelOutcome::Unreadable(format!(
            "no object could be read: {}",
            unreadable.join("; ")
        ));
    }
    if let Some(reason) = scope.check(&instances) {
        return ModelOutcome::OutOfScope(reason);
    }
    match draft_study(model, &instances, options, |_| {}) {
        Ok(draft) => ModelOutcome::Drafted {
            draft: Box::new(draft),
            open,
        },
        Err(e) => ModelOutcome::Failed(e),
    }
}
