//! Harness for the results-out tests: a fixture study as SR input, example revisions, the
//! real checkers (dcmtk's dsrdump, dicom3tools' dciodvfy, the FHIR R4 validator in
//! tests/fhir), and reading SRs back from Orthanc's REST API.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, TimeZone, Utc};
use dicom_dictionary_std::tags;
use radraft_results::sr::{self, PatientContext, Predecessor, ReferencedInstance, SrIdentity};
use radraft_results::{Algorithm, ReportStatus, Revision, Signer};
use serde_json::Value;

use crate::orthanc::{self, Orthanc};

pub const FINDINGS: &str =
    "Heart size is normal. No focal consolidation, effusion or pneumothorax.";
pub const IMPRESSION: &str = "No acute cardiopulmonary abnormality.";

/// A fixture study's patient context (from its first object) and all its objects as
/// referenced instances, in file order.
pub fn study(relative: &str) -> (PatientContext, Vec<ReferencedInstance>) {
    let files = crate::fixtures::files(relative);
    let objects: Vec<_> = files
        .iter()
        .map(|file| dicom_object::open_file(file).unwrap())
        .collect();
    let patient = PatientContext::from_object(&objects[0]).unwrap();
    let text = |object: &dicom_object::DefaultDicomObject, tag| {
        object
            .element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_owned()
    };
    let images = objects
        .iter()
        .map(|object| ReferencedInstance {
            series_uid: text(object, tags::SERIES_INSTANCE_UID),
            sop_class_uid: text(object, tags::SOP_CLASS_UID),
            sop_instance_uid: text(object, tags::SOP_INSTANCE_UID),
        })
        .collect();
    (patient, images)
}

pub fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, hour, 15, 0).unwrap()
}

/// Revision of report 7 on the study of `patient`: revision 0 the draft, 1 signed (or
/// rejected), 2 amended.
pub fn revision(status: ReportStatus, patient: &PatientContext) -> Revision {
    let revision = match status {
        ReportStatus::Draft => 0,
        ReportStatus::Final | ReportStatus::Rejected => 1,
        ReportStatus::Amended => 2,
    };
    Revision {
        report_id: 7,
        revision,
        status,
        study_uid: patient.study_instance_uid.clone(),
        accession_number: Some(patient.accession_number.clone()).filter(|a| !a.is_empty()),
        findings: Some(FINDINGS.into()),
        impression: Some(IMPRESSION.into()),
        text: format!("{FINDINGS} {IMPRESSION}"),
        algorithm: Algorithm {
            name: "google/medgemma-4b-it".into(),
            version: "e9792da5fb8ee651083d345ec4bce07c3c9f1641".into(),
            software_version: "0.1.0".into(),
            prompt_template: "cxr-report.v1".into(),
        },
        drafted_at: at(8),
        signer: status.is_signed().then(|| Signer {
            username: "dr-rad".into(),
            display_name: "Dr Rad Ologist".into(),
            signed_at: at(9 + revision),
        }),
        amendment_reason: (status == ReportStatus::Amended)
            .then(|| "Added comparison with prior".into()),
        rejection_reason: (status == ReportStatus::Rejected)
            .then(|| "Draft describes the wrong side".into()),
        issued_at: at(9 + revision),
    }
}

/// A fresh SR identity (new UIDs).
pub fn identity(instance_number: u32) -> SrIdentity {
    SrIdentity {
        sop_instance_uid: sr::new_uid(),
        series_instance_uid: sr::new_uid(),
        instance_number,
        content_datetime: at(10),
    }
}

/// The SR with `id` as the predecessor of the next one.
pub fn predecessor(id: &SrIdentity) -> Predecessor {
    Predecessor {
        sop_instance_uid: id.sop_instance_uid.clone(),
        series_uid: id.series_instance_uid.clone(),
        sop_class_uid: sr::SOP_CLASS_UID.into(),
    }
}

/// Writes `value` as `dir/name` and returns the path.
pub fn write_json(dir: &tempfile::TempDir, name: &str, value: &Value) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

/// `dsrdump` (dcmtk) of an SR file: the document as a radiologist's tools render it.
pub fn dsrdump(path: &Path) -> Output {
    Command::new("dsrdump")
        .arg("+Pn")
        .arg(path)
        .output()
        .expect("dsrdump is installed (apt: dcmtk)")
}

/// `dciodvfy` (dicom3tools) of a file: IOD and module conformance.
pub fn dciodvfy(path: &Path) -> Output {
    Command::new("dciodvfy")
        .arg(path)
        .output()
        .expect("dciodvfy is installed (apt: dicom3tools, deploy/apt-packages.sh)")
}

/// The python of the FHIR validator's venv: `RADRAFT_FHIR_PYTHON` (set by deploy/setup.sh)
/// or made now by tests/fhir/venv.sh.
pub fn fhir_python() -> PathBuf {
    if let Some(python) = std::env::var_os("RADRAFT_FHIR_PYTHON") {
        return PathBuf::from(python);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fhir/venv.sh");
    let output = Command::new("bash").arg(&script).output().unwrap();
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    PathBuf::from(
        stdout
            .lines()
            .last()
            .expect("venv.sh prints the python path"),
    )
}

/// Runs tests/fhir/validate.py on JSON resource files.
pub fn validate_fhir(files: &[PathBuf]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fhir/validate.py");
    Command::new(fhir_python())
        .arg(script)
        .args(files)
        .output()
        .unwrap()
}

/// stdout and stderr of a checker, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An Orthanc REST client with the test credentials.
pub struct OrthancRest<'a>(&'a Orthanc, reqwest::Client);

impl<'a> OrthancRest<'a> {
    pub fn new(orthanc: &'a Orthanc) -> Self {
        Self(orthanc, reqwest::Client::new())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let response = self
            .1
            .get(format!("{}{path}", self.0.url()))
            .basic_auth(orthanc::USER, Some(orthanc::PASSWORD))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response
    }

    pub async fn json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Vec<u8>) -> Value {
        let response = self
            .1
            .post(format!("{}{path}", self.0.url()))
            .basic_auth(orthanc::USER, Some(orthanc::PASSWORD))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "POST {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Orthanc's id of the instance with `sop_instance_uid`.
    pub async fn instance(&self, sop_instance_uid: &str) -> String {
        let found = self
            .post("/tools/lookup", sop_instance_uid.as_bytes().to_vec())
            .await;
        let found = found.as_array().unwrap();
        let instance = found.iter().find(|hit| hit["Type"] == "Instance");
        instance.unwrap_or_else(|| panic!("{sop_instance_uid} not in Orthanc: {found:?}"))["ID"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Every SOP Instance UID the SR's evidence references.
pub fn evidence_uids(tags: &Value) -> Vec<String> {
    let mut uids: Vec<String> =
        tags["CurrentRequestedProcedureEvidenceSequence"][0]["ReferencedSeriesSequence"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|series| series["ReferencedSOPSequence"].as_array().unwrap().clone())
            .map(|sop| sop["ReferencedSOPInstanceUID"].as_str().unwrap().to_owned())
            .collect();
    uids.sort();
    uids
}

/// The text values in the content tree under concept `code`.
pub fn content_texts(item: &Value, code: &str, out: &mut Vec<String>) {
    for child in item["ContentSequence"].as_array().into_iter().flatten() {
        if child["ConceptNameCodeSequence"][0]["CodeValue"] == code {
            out.push(child["TextValue"].as_str().unwrap_or_default().to_owned());
        }
        content_texts(child, code, out);
    }
}
