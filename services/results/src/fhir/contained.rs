//! The resources a DiagnosticReport contains (the AI model as a Device, the signing
//! radiologist as a Practitioner) and the AI security label.

use serde_json::{Value, json};

use crate::report::{Algorithm, Signer};

/// Local id of the contained Device, referenced as `#ai-model`.
pub(super) const DEVICE_ID: &str = "ai-model";
/// Local id of the contained Practitioner, referenced as `#signer`.
pub(super) const SIGNER_ID: &str = "signer";
/// Identifier system of radraft's review accounts.
pub const USER_SYSTEM: &str = "urn:radraft:user";

/// HL7 AI Transparency on FHIR: the resource's content was asserted by an AI.
pub(super) fn ai_asserted_label() -> Value {
    json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "AIAST",
        "display": "Artificial Intelligence asserted",
    })
}

/// The model as a Device, shaped like the AI Transparency IG's AI Device profile (type
/// Artificial-Intelligence). Its identifier is the same Device UID the SR's Contributing
/// Equipment carries, so the FHIR and DICOM results name one device.
pub(super) fn device(algorithm: &Algorithm) -> Value {
    let version = |kind: &str, value: &str| json!({ "type": { "text": kind }, "value": value });
    json!({
        "resourceType": "Device",
        "id": DEVICE_ID,
        "identifier": [{
            "system": "urn:dicom:uid",
            "value": format!("urn:oid:{}", algorithm.device_uid()),
        }],
        "deviceName": [{ "name": algorithm.name, "type": "model-name" }],
        "type": {
            "coding": [{
                "system": "http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIdeviceTypeCS",
                "code": "Artificial-Intelligence",
                "display": "All kinds of Artificial Intelligence",
            }],
        },
        "version": [
            version("model revision", &algorithm.version),
            version("radraft software", &algorithm.software_version),
            version("prompt template", &algorithm.prompt_template),
        ],
    })
}

/// The radiologist who signed, identified by their review account.
pub(super) fn practitioner(signer: &Signer) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": SIGNER_ID,
        "identifier": [{ "system": USER_SYSTEM, "value": signer.username }],
        "name": [{ "text": signer.display_name }],
    })
}
