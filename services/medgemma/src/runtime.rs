//! ONNX Runtime plumbing: the one environment per process (loaded from the shared library
//! fetched by deploy/fetch-onnxruntime.sh) and sessions built on the first execution provider
//! of the configured list that actually registers.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::ep::{self, ExecutionProviderDispatch};
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::error::LoadError;

/// The environment variable naming ONNX Runtime's shared library when the config does not.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// An execution provider, in the order of preference given by the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    TensorRt,
    Cuda,
    Cpu,
}

impl Provider {
    /// ONNX Runtime's name for the provider, as reported in each draft's provenance.
    pub fn ort_name(self) -> &'static str {
        match self {
            Self::TensorRt => "TensorrtExecutionProvider",
            Self::Cuda => "CUDAExecutionProvider",
            Self::Cpu => "CPUExecutionProvider",
        }
    }

    fn is_gpu(self) -> bool {
        self != Self::Cpu
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tensorrt" | "trt" => Ok(Self::TensorRt),
            "cuda" => Ok(Self::Cuda),
            "cpu" => Ok(Self::Cpu),
            other => Err(format!(
                "unknown execution provider {other:?} (tensorrt, cuda, cpu)"
            )),
        }
    }
}

/// How the model runs: library, providers, threads, and start-up checks.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// ONNX Runtime's shared library; `ORT_DYLIB_PATH` when `None`.
    pub ort_dylib_path: Option<PathBuf>,
    /// Providers to try, first preferred. The CPU provider always backs the GPU ones for
    /// nodes they do not support.
    pub providers: Vec<Provider>,
    /// Fail start-up rather than fall back to the CPU when no GPU provider registers.
    pub require_gpu: bool,
    /// CUDA device for the GPU providers.
    pub device_id: i32,
    /// Where TensorRT keeps its built engines (building one takes minutes).
    pub trt_engine_cache: Option<PathBuf>,
    /// Intra-op threads per session; ONNX Runtime's default (all cores) when `None`.
    pub intra_threads: Option<usize>,
    /// Hash every model file at start-up against the manifest (seconds for a 4B model).
    pub verify_checksums: bool,
    /// Context limit below the model's own, to bound memory.
    pub max_context: Option<usize>,
    /// Run one short generation at start-up so the first request pays no lazy set-up.
    pub warm_up: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            ort_dylib_path: None,
            providers: vec![Provider::TensorRt, Provider::Cuda, Provider::Cpu],
            require_gpu: false,
            device_id: 0,
            trt_engine_cache: None,
            intra_threads: None,
            verify_checksums: true,
            max_context: None,
            warm_up: true,
        }
    }
}

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// The process's ONNX Runtime environment, created on first use from `path` (or
/// `ORT_DYLIB_PATH`). ONNX Runtime allows one per process; later calls share it.
pub fn environment(path: Option<&Path>) -> Result<Environment, LoadError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env.clone());
    }
    let _guard = INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env.clone());
    }
    let lib = match path {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os(ORT_DYLIB_ENV)
            .map(PathBuf::from)
            .ok_or_else(|| LoadError::Runtime {
                reason: format!(
                    "no library configured: set {ORT_DYLIB_ENV} to libonnxruntime.so.1.31.1 \
                 (deploy/fetch-onnxruntime.sh prints its path)"
                ),
            })?,
    };
    if !lib.is_file() {
        return Err(LoadError::Runtime {
            reason: format!("{} does not exist", lib.display()),
        });
    }
    let runtime = |e: &dyn std::fmt::Display| LoadError::Runtime {
        reason: format!("{}: {e}", lib.display()),
    };
    let env = ort::init_from(&lib)
        .map_err(|e| runtime(&e))?
        .with_name("radraft-medgemma")
        .build()
        .map_err(|e| runtime(&e))?;
    Ok(ENVIRONMENT.get_or_init(|| env).clone())
}

fn dispatch(provider: Provider, cfg: &RuntimeConfig) -> ExecutionProviderDispatch {
    match provider {
        Provider::TensorRt => {
            let mut trt = ep::TensorRT::default().with_device_id(cfg.device_id);
            if let Some(dir) = &cfg.trt_engine_cache {
                trt = trt
                    .with_engine_cache(true)
                    .with_engine_cache_path(dir.display())
                    .with_timing_cache(true)
                    .with_timing_cache_path(dir.display());
            }
            trt.build()
        }
        Provider::Cuda => ep::CUDA::default().with_device_id(cfg.device_id).build(),
        // ort's `CPU::default()` turns the CPU arena OFF (it calls `DisableCpuMemArena`), unlike
        // ONNX Runtime's own default and Python's. Without the arena every run mallocs and
        // frees its large activations (page faults each time) and the memory pattern planner
        // has nothing to reuse: the 896 px vision encoder ran ~1.8x slower than in Python.
        Provider::Cpu => ep::CPU::default().with_arena_allocator(true).build(),
    }
}

/// Where the decoder's KV cache lives between steps: device memory on the GPU providers (so
/// it never crosses to the host), host memory on the CPU.
pub(crate) fn kv_memory(
    provider: Provider,
    device_id: i32,
) -> Result<MemoryInfo<'static>, ort::Error> {
    let device = if provider.is_gpu() {
        AllocationDevice::CUDA
    } else {
        AllocationDevice::CPU
    };
    let id = if provider.is_gpu() { device_id } else { 0 };
    MemoryInfo::new(device, id, AllocatorType::Device, MemoryType::Default)
}

fn session(
    env: &Environment,
    cfg: &RuntimeConfig,
    eps: &[ExecutionProviderDispatch],
    path: &Path,
) -> Result<Session, String> {
    let mut builder = Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| e.to_string())?;
    if let Some(n) = cfg.intra_threads {
        builder = builder.with_intra_threads(n).map_err(|e| e.to_string())?;
    }
    builder
        .with_execution_providers(eps)
        .map_err(|e| e.to_string())?
        .commit_from_file(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Builds one session per graph on the first provider of `cfg.providers` that registers for
/// all of them, and returns them with that provider. GPU providers after the chosen one stay
/// registered behind it (TensorRT, then CUDA for what TensorRT cannot take).
pub(crate) fn sessions(
    env: &Environment,
    cfg: &RuntimeConfig,
    graphs: &[PathBuf],
) -> Result<(Vec<Session>, Provider), LoadError> {
    let mut reasons = Vec::new();
    for (i, &provider) in cfg.providers.iter().enumerate() {
        if cfg.require_gpu && !provider.is_gpu() {
            continue;
        }
        let mut eps = vec![dispatch(provider, cfg).error_on_failure()];
        if provider.is_gpu() {
            eps.extend(
                cfg.providers[i + 1..]
                    .iter()
                    .filter(|p| p.is_gpu())
                    .map(|p| dispatch(*p, cfg).fail_silently()),
            );
        }
        let built: Result<Vec<_>, String> =
            graphs.iter().map(|g| session(env, cfg, &eps, g)).collect();
        match built {
            Ok(sessions) => return Ok((sessions, provider)),
            Err(reason) if provider.is_gpu() => {
                tracing::warn!(provider = provider.ort_name(), %reason, "execution provider unusable");
                reasons.push(format!("{}: {reason}", provider.ort_name()));
            }
            Err(reason) => {
                return Err(LoadError::Invalid {
                    dir: graphs
                        .first()
                        .and_then(|g| g.parent())
                        .map(Path::to_path_buf)
                        .unwrap_or_default(),
                    problems: vec![format!("ONNX Runtime cannot load a graph: {reason}")],
                });
            }
        }
    }
    if cfg.require_gpu {
        if reasons.is_empty() {
            reasons.push("no GPU provider is configured".to_owned());
        }
        return Err(LoadError::NoGpu { reasons });
    }
    Err(LoadError::Runtime {
        reason: format!(
            "no execution provider could be used: {}",
            reasons.join("; ")
        ),
    })
}
