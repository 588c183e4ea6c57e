//! The decoder's KV cache, held in an ONNX Runtime I/O binding: each step's `present.*`
//! outputs are bound, as they are, as the next step's `past_key_values.*` inputs. On a GPU
//! provider the presents are allocated in device memory, so the cache never crosses to the
//! host; only the new embeddings, positions and masks go up and the logits come down.
//!
//! The same path runs on every provider. On the CPU it is what a plain `Session::run` does
//! (host outputs handed back as inputs without a copy), so the tests' exact parity with HF
//! checks the code that GPU hosts run.

use ort::memory::MemoryInfo;
use ort::session::{IoBinding, Session};
use ort::value::{DynValue, Tensor};

use crate::error::GenerateError;
use crate::manifest::TextDims;

const GRAPH: &str = "decoder";

fn fail(error: impl std::fmt::Display) -> GenerateError {
    GenerateError::inference(GRAPH, error)
}

/// One generation's KV cache and the binding that carries it from step to step.
pub(crate) struct KvCache {
    binding: IoBinding,
    /// `(past input, present output)` names: layer 0 key, layer 0 value, layer 1 key, ...
    names: Vec<(String, String)>,
    /// Where the presents are allocated (device memory on a GPU provider).
    kv_memory: MemoryInfo<'static>,
    /// Host memory, for the logits.
    host: MemoryInfo<'static>,
}

impl KvCache {
    /// An empty cache (`[1, kv_heads, 0, head_dim]` per layer) bound to `decoder`.
    pub(crate) fn new(
        decoder: &Session,
        dims: &TextDims,
        kv_memory: MemoryInfo<'static>,
        host: MemoryInfo<'static>,
    ) -> Result<Self, GenerateError> {
        let mut binding = decoder.create_binding().map_err(fail)?;
        let names: Vec<(String, String)> = (0..dims.num_layers)
            .flat_map(|layer| {
                ["key", "value"].map(|part| {
                    (
                        format!("past_key_values.{layer}.{part}"),
                        format!("present.{layer}.{part}"),
                    )
                })
            })
            .collect();
        for (past, _) in &names {
            let empty = Tensor::<f32>::from_array((
                vec![1, dims.num_kv_heads, 0, dims.head_dim],
                Vec::new(),
            ))
            .map_err(fail)?;
            binding.bind_input(past.as_str(), &empty).map_err(fail)?;
        }
        Ok(Self {
            binding,
            names,
            kv_memory,
            host,
        })
    }

    /// Binds one of the step's other inputs (a host tensor; ONNX Runtime copies it to the
    /// provider's device if it runs elsewhere).
    pub(crate) fn bind_input(&mut self, name: &str, value: &DynValue) -> Result<(), GenerateError> {
        self.binding.bind_input(name, value).map_err(fail)
    }

    /// Runs one decoder step, hands its `logits` output (on the host) to `read`, and keeps
    /// the presents as the next step's pasts.
    pub(crate) fn run<R>(
        &mut self,
        decoder: &mut Session,
        read: impl FnOnce(&[f32]) -> Result<R, GenerateError>,
    ) -> Result<R, GenerateError> {
        // Outputs are bound again before every run: after a run the binding holds the values
        // it produced and ONNX Runtime would try to write the next, longer presents into them.
        self.binding
            .bind_output_to_device("logits", &self.host)
            .map_err(fail)?;
        for (_, present) in &self.names {
            self.binding
                .bind_output_to_device(present.as_str(), &self.kv_memory)
                .map_err(fail)?;
        }
        // No-ops on the CPU; on a GPU they order the host-to-device input copies before the
        // run and the run before the next step's binding.
        self.binding.synchronize_inputs().map_err(fail)?;
        let mut outputs = decoder.run_binding(&self.binding).map_err(fail)?;
        self.binding.synchronize_outputs().map_err(fail)?;

        let missing = |name: &str| GenerateError::Output {
            graph: GRAPH,
            output: name.to_owned(),
            reason: "missing".to_owned(),
        };
        let (_, logits) = outputs
            .get("logits")
            .ok_or_else(|| missing("logits"))?
            .try_extract_tensor::<f32>()
            .map_err(|e| GenerateError::Output {
                graph: GRAPH,
                output: "logits".to_owned(),
                reason: e.to_string(),
            })?;
        let result = read(logits)?;
        let mut presents: Vec<DynValue> = Vec::with_capacity(self.names.len());
        for (_, present) in &self.names {
            presents.push(outputs.remove(present).ok_or_else(|| missing(present))?);
        }
        drop(outputs);
        // Binding a session output as an input references it: no copy, on any device.
        for ((past, _), value) in self.names.iter().zip(&presents) {
            self.binding
                .bind_input(past.as_str(), value)
                .map_err(fail)?;
        }
        Ok(result)
    }
}
