//! The worker's Prometheus metrics, kept in memory and rendered in the text exposition
//! format at `/metrics`: studies by outcome, failures by reason, triage flags, queue lag,
//! stage timings (as summaries: `_sum` and `_count`) and decoded tokens. Labels are fixed
//! words, never UIDs or patient data.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
struct Counters {
    /// `(name, label key, label value)` → count.
    counts: BTreeMap<(&'static str, &'static str, String), f64>,
    /// stage → (sum of seconds, count).
    stages: BTreeMap<&'static str, (f64, u64)>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
    pub model_ready: AtomicBool,
    pub broker_connected: AtomicBool,
    pub in_flight: AtomicI64,
}

/// The help text of each counter family, in output order.
const FAMILIES: [(&str, &str, &str); 5] = [
    (
        "radraft_worker_studies_total",
        "outcome",
        "Study versions settled by this worker, by outcome.",
    ),
    (
        "radraft_worker_failures_total",
        "reason",
        "Study versions failed permanently, by the stage that failed.",
    ),
    (
        "radraft_worker_triage_flags_total",
        "recipe",
        "Drafted studies whose triage score was above the threshold.",
    ),
    (
        "radraft_worker_generated_tokens_total",
        "kind",
        "Tokens the model read (prompt) and wrote (generated).",
    ),
    (
        "radraft_worker_decode_seconds_total",
        "kind",
        "Seconds spent in decode steps; rate(tokens)/rate(seconds) is tokens per second.",
    ),
];

impl Metrics {
    pub fn count(&self, name: &'static str, label: &'static str, value: &str, by: f64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.counts.entry((name, label, value.to_owned())).or_default() += by;
        }
    }

    pub fn outcome(&self, outcome: &str) {
        self.count("radraft_worker_studies_total", "outcome", outcome, 1.0);
    }

    pub fn failure(&self, reason: &str) {
        self.count("radraft_worker_failures_total", "reason", reason, 1.0);
    }

    pub fn stage(&self, stage: &'static str, took: Duration) {
        if let Ok(mut c) = self.counters.lock() {
            let entry = c.stages.entry(stage).or_default();
            entry.0 += took.as_secs_f64();
            entry.1 += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let gauges = [
            (
                "radraft_worker_model_ready",
                "1 once every model thread has loaded and warmed its model.",
                i64::from(self.model_ready.load(Ordering::Relaxed)),
            ),
            (
                "radraft_worker_broker_connected",
                "1 while the consumer holds a channel to RabbitMQ.",
                i64::from(self.broker_connected.load(Ordering::Relaxed)),
            ),
            (
                "radraft_worker_in_flight",
                "Deliveries being processed now.",
                self.in_flight.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let Ok(c) = self.counters.lock() else {
            return out;
        };
        for (family, _, help) in FAMILIES {
            let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} counter");
            for ((name, label, value), count) in &c.counts {
                if *name == family {
                    let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {count}");
                }
            }
        }
        let name = "radraft_worker_stage_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time per study in each pipeline stage (queue lag included).\n# TYPE {name} summary"
        );
        for (stage, (sum, count)) in &c.stages {
            let _ = writeln!(out, "{name}_sum{{stage=\"{stage}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{stage=\"{stage}\"}} {count}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_summaries() {
        let m = Metrics::default();
        m.outcome("drafted");
        m.outcome("drafted");
        m.failure("imaging");
        m.stage("vision", Duration::from_millis(250));
        m.stage("vision", Duration::from_millis(250));
        let text = m.render();
        assert!(
            text.contains("radraft_worker_studies_total{outcome=\"drafted\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("radraft_worker_failures_total{reason=\"imaging\"} 1\n"));
        assert!(text.contains("radraft_worker_stage_seconds_sum{stage=\"vision\"} 0.5\n"));
        assert!(text.contains("radraft_worker_stage_seconds_count{stage=\"vision\"} 2\n"));
        assert!(text.contains("radraft_worker_model_ready 0\n"));
    }
}
