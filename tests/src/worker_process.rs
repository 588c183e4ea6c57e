//! `radraft-worker serve` as a real process, for the fault tests: killed with SIGKILL,
//! stopped with SIGTERM, its logs kept. Binaries are built (or found up to date) by cargo
//! itself, so a test never runs a stale one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::gateway::Setup;
use crate::worker::worker_vars;

/// The `radraft-worker` executable, built by `cargo build` once per test process.
pub fn worker_binary() -> PathBuf {
    built_binary("radraft-worker", "radraft-worker")
}

/// A workspace binary, built (or found up to date) by `cargo build` once per test process.
pub fn built_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap();
    if let Some(path) = built.get(bin) {
        return path.clone();
    }
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .args(["--message-format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .unwrap_or_else(|| panic!("cargo names the {bin} executable"));
    built.insert(bin.to_owned(), path.clone());
    path
}

pub struct WorkerProcess {
    child: Child,
    pub log: PathBuf,
}

impl WorkerProcess {
    /// Starts the worker on `setup`'s database, archive and queues; its JSON log goes to a
    /// file in the archive's parent folder.
    pub fn spawn(setup: &Setup, extra: &[(&str, &str)], log_name: &str) -> Self {
        Self::spawn_binary(&worker_binary(), setup, extra, log_name)
    }

    /// As [`WorkerProcess::spawn`], with a given executable (a release build for benches).
    pub fn spawn_binary(
        binary: &std::path::Path,
        setup: &Setup,
        extra: &[(&str, &str)],
        log_name: &str,
    ) -> Self {
        let log =
            std::env::temp_dir().join(format!("{log_name}-{}.log", uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .envs(worker_vars(setup, extra))
            .env("RUST_LOG", "info,sqlx=warn,lapin=warn,ort=warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("radraft-worker starts");
        WorkerProcess { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no drain, no ack, no clean-up.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits up to `timeout` for the exit.
    pub fn terminate(mut self, timeout: Duration) -> ExitStatus {
        sigterm(&self.child);
        let log = self.log.clone();
        wait_for_exit(&mut self.child, timeout, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        })
    }
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits up to `timeout` for `child` to exit, failing with its `log` if it does not.
pub fn wait_for_exit(child: &mut Child, timeout: Duration, log: impl Fn() -> String) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process did not stop within {timeout:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `radraft-worker dead ...` against the setup's queues.
pub fn dead_command(setup: &Setup, args: &[&str]) -> std::process::Output {
    std::process::Command::new(worker_binary())
        .arg("dead")
        .args(args)
        .env("RADRAFT_WORKER__AMQP_URL", crate::broker::amqp_url())
        .env("RADRAFT_WORKER__QUEUE_PREFIX", &setup.topology.exchange)
        .env(
            "RADRAFT_WORKER__RETRY_DELAY_MS",
            setup.topology.retry_delay_ms.to_string(),
        )
        .output()
        .unwrap()
}
