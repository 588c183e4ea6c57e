//! Execution provider selection with the CPU-only ONNX Runtime library: GPU providers fail to
//! register, so `require_gpu` must refuse to start and the default list must fall back to the
//! CPU and say so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use radraft_medgemma::{LoadError, MedGemma, Provider, RuntimeConfig};

#[test]
fn require_gpu_fails_instead_of_falling_back() {
    let cfg = RuntimeConfig {
        providers: vec![Provider::TensorRt, Provider::Cuda, Provider::Cpu],
        require_gpu: true,
        ..common::cpu_config()
    };
    match MedGemma::load(&common::fixture_dir(), &cfg) {
        Err(LoadError::NoGpu { reasons }) => {
            assert_eq!(reasons.len(), 2, "{reasons:?}");
            assert!(
                reasons[0].starts_with("TensorrtExecutionProvider"),
                "{reasons:?}"
            );
            assert!(
                reasons[1].starts_with("CUDAExecutionProvider"),
                "{reasons:?}"
            );
        }
        other => panic!("expected NoGpu, got {other:?}"),
    }
}

#[test]
fn default_list_falls_back_to_cpu_and_reports_it() {
    let cfg = RuntimeConfig {
        providers: vec![Provider::TensorRt, Provider::Cuda, Provider::Cpu],
        ..common::cpu_config()
    };
    let model = MedGemma::load(&common::fixture_dir(), &cfg).unwrap();
    assert_eq!(model.provider(), Provider::Cpu);
}

#[test]
fn provider_names_parse() {
    let parsed: Vec<Provider> = "tensorrt, CUDA ,cpu"
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(
        parsed,
        vec![Provider::TensorRt, Provider::Cuda, Provider::Cpu]
    );
    assert!("tpu".parse::<Provider>().is_err());
}

#[test]
fn model_can_move_to_a_worker_thread() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<MedGemma>();
    let mut model = MedGemma::load(&common::fixture_dir(), &common::cpu_config()).unwrap();
    let handle = std::thread::spawn(move || {
        let request = radraft_medgemma::Request {
            system: None,
            parts: vec![radraft_medgemma::Part::Text("Findings".into())],
            max_new_tokens: 3,
        };
        model.generate(&request, |_| {}).unwrap().token_ids.len()
    });
    assert_eq!(handle.join().unwrap(), 3);
}
