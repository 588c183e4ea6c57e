#!/usr/bin/env bash
# Creates, or reuses, the venv with the FHIR R4 validator (fhir.resources 6.4.0) for
# tests/fhir/validate.py, and prints the venv's python on the last line of stdout.
# Idempotent: deploy/venv.sh rebuilds it when missing or when requirements.txt changes.
#
#   RADRAFT_FHIR_PYTHON=$(tests/fhir/venv.sh | tail -n 1)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=$(bash "$here/../../deploy/venv.sh" fhir-venv "$here/requirements.txt" | tail -n 1)
echo "$venv/bin/python"
