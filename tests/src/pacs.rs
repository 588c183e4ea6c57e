//! Sending studies the way a modality or PACS does: dcmtk's `dcmsend` and `echoscu`.

use std::path::Path;
use std::process::Output;

/// Sends `files` (or folders) to the SCP on `port`, each in its own transfer syntax.
pub fn dcmsend(port: u16, calling_ae: &str, files: &[&Path]) -> Output {
    let mut command = std::process::Command::new("dcmsend");
    command
        .args([
            "-aet",
            calling_ae,
            "-aec",
            crate::gateway::AE_TITLE,
            "--scan-directories",
            "--recurse",
        ])
        .arg("127.0.0.1")
        .arg(port.to_string())
        .args(files);
    command.output().expect("dcmsend is installed (apt: dcmtk)")
}

/// Whether `dcmsend` reported every file as stored successfully.
pub fn all_stored(output: &Output) -> bool {
    output.status.success() && !String::from_utf8_lossy(&output.stderr).contains("E: ")
}

pub fn echoscu(port: u16, calling_ae: &str) -> Output {
    std::process::Command::new("echoscu")
        .args([
            "-aet",
            calling_ae,
            "-aec",
            crate::gateway::AE_TITLE,
            "127.0.0.1",
        ])
        .arg(port.to_string())
        .output()
        .expect("echoscu is installed (apt: dcmtk)")
}

pub fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
