#!/usr/bin/env bash
# Prepares this machine for radraft's tests and demo; meant to be sourced (`source
# deploy/setup.sh`) so the variables it exports reach the caller. Idempotent: everything
# downloaded or built is cached under $RADRAFT_CACHE and recreated when missing.
#   - Debian packages (dcmtk, Orthanc, gdcm tools, cmake)
#   - PostgreSQL and RabbitMQ running
#   - ONNX Runtime's library from the pinned PyPI wheel   -> ORT_DYLIB_PATH
#   - the fixture studies in fixtures/generated
#   - the imaging parity references (pydicom + HF processor)  -> RADRAFT_IMAGING_REFERENCE
#   - the FHIR R4 validator's venv (fhir.resources)           -> RADRAFT_FHIR_PYTHON
set -euo pipefail
radraft_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RADRAFT_CACHE="${RADRAFT_CACHE:-$HOME/.cache/radraft}"
mkdir -p "$RADRAFT_CACHE"

bash "$radraft_root/deploy/apt-packages.sh"
bash "$radraft_root/deploy/services.sh"
if [[ -f "$radraft_root/deploy/fetch-onnxruntime.sh" ]]; then
    ORT_DYLIB_PATH="$(bash "$radraft_root/deploy/fetch-onnxruntime.sh" | tail -n 1)"
    export ORT_DYLIB_PATH
fi
bash "$radraft_root/fixtures/generate.sh"
RADRAFT_IMAGING_REFERENCE="$(bash "$radraft_root/services/imaging/reference/run.sh" | tail -n 1)"
export RADRAFT_IMAGING_REFERENCE
RADRAFT_FHIR_PYTHON="$(bash "$radraft_root/tests/fhir/venv.sh" | tail -n 1)"
export RADRAFT_FHIR_PYTHON
