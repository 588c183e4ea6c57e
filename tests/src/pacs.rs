//! Sending studies the way a modality or PACS does: dcmtk's `dcmsend` and `echoscu`.

use std::path::Path;
use std::process::Output;

/// Sends `files` (or folders) to the SCP on `port`, each in its own transfer syntax.
pub fn dcmsend(port: u16, calling_ae: &str, files: &[&Path]) -> Output {
    let mut command = std::process::Command::new("dcmsend");
    command
        .args([
            "-v",
            "-aet",
            calling_ae,
            "-aec",
            crate::gateway::AE_TITLE,
            "--scan-directories",
            "--recurse",
            "--scan-pattern",
            "*.dcm",
        ])
        .arg("127.0.0.1")
        .arg(port.to_string())
        .args(files);
    command.output().expect("dcmsend is installed (apt: dcmtk)")
}

/// Whether `dcmsend` reported every file as stored successfully. dcmsend exits 0 even when
/// the peer refuses instances, so its verbose status summary is read instead.
pub fn all_stored(output: &Output) -> bool {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let count = |label: &str| {
        text.lines()
            .find(|line| line.contains(label))
            .and_then(|line| line.rsplit(':').next())
            .and_then(|n| n.trim().parse::<u32>().ok())
    };
    let total = count("Number of SOP instances");
    output.status.success()
        && total.is_some_and(|n| n > 0)
        && count("with status SUCCESS") == total
        && !text.contains("E: ")
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
