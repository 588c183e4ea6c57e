#!/usr/bin/env bash
# The Python venv with torch + transformers + onnx that the MedGemma exporter, the tiny-model
# fixture builder (services/medgemma/exporter/make_tiny.py) and the model checks run in,
# cached as $RADRAFT_CACHE/py-torch (torch from PyPI brings several GB of CUDA libraries);
# prints its path on the last line of stdout (deploy/venv.sh).
#
#   venv=$(deploy/torch-env.sh | tail -n 1)
#   "$venv/bin/python" services/medgemma/exporter/make_tiny.py
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec bash "$root/deploy/venv.sh" py-torch "$root/services/medgemma/exporter/requirements.txt" \
    --only-binary=:all:
