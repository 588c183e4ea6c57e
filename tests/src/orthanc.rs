//! A real Orthanc (Debian's package), started by the test with its own configuration.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "radraft";
pub const PASSWORD: &str = "orthanc-test-secret";
pub const AE_TITLE: &str = "ORTHANC";

pub struct Orthanc {
    pub http_port: u16,
    pub dicom_port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

/// A port that was free a moment ago. Orthanc needs fixed ports in its configuration.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Orthanc {
    /// Starts Orthanc with basic auth, a short StableAge and its own storage folder.
    pub fn start(stable_age_s: u32) -> Self {
        Self::start_on(stable_age_s, free_port(), free_port())
    }

    /// [`Orthanc::start`] on given ports: a PACS that comes up where a sender was already
    /// told to find it.
    pub fn start_on(stable_age_s: u32, http_port: u16, dicom_port: u16) -> Self {
        Self::start_tuned(stable_age_s, http_port, dicom_port, serde_json::json!({}))
    }

    /// [`Orthanc::start_on`] with `extra` configuration options merged over ours (a
    /// benchmark's tuning, say).
    pub fn start_tuned(
        stable_age_s: u32,
        http_port: u16,
        dicom_port: u16,
        extra: serde_json::Value,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = serde_json::json!({
            "Name": "radraft-e2e",
            "StorageDirectory": dir.path().join("storage"),
            "IndexDirectory": dir.path().join("index"),
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomAet": AE_TITLE,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": true,
            "RegisteredUsers": { USER: PASSWORD },
            "StableAge": stable_age_s,
            "Plugins": [],
            "DicomCheckCalledAet": false,
            "DicomAlwaysAllowStore": true,
            "StorageCompression": false,
        });
        if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
            config.extend(extra.clone());
        }
        let config_path = dir.path().join("orthanc.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let child = Command::new("Orthanc")
            .arg(&config_path)
            // Debian's Orthanc leaves Nagle on unless told (see STACK-FACTS).
            .env("TCP_NODELAY", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Orthanc is installed (apt: orthanc)");
        let orthanc = Self {
            http_port,
            dicom_port,
            child,
            _dir: dir,
        };
        orthanc.wait_ready();
        orthanc
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The simplified tags of every stored instance of SOP class `sop_class`.
    pub async fn instances_of_class(&self, sop_class: &str) -> Vec<serde_json::Value> {
        let http = reqwest::Client::new();
        let get = |path: String| {
            http.get(format!("{}{path}", self.url()))
                .basic_auth(USER, Some(PASSWORD))
                .send()
        };
        let ids: Vec<String> = get("/instances".into())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut found = Vec::new();
        for id in ids {
            let tags: serde_json::Value = get(format!("/instances/{id}/simplified-tags"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if tags["SOPClassUID"] == sop_class {
                found.push(tags);
            }
        }
        found
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.http_port)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", self.dicom_port)).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Orthanc did not open its ports within 30 s");
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
