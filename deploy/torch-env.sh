#!/usr/bin/env bash
# Creates, or reuses, the Python venv with torch + transformers + onnx that the MedGemma
# exporter, the tiny-model fixture builder (services/medgemma/exporter/make_tiny.py) and the
# model checks run in, and prints its path on the last line of stdout.
#
#   venv=$(deploy/torch-env.sh | tail -n 1)
#   "$venv/bin/python" services/medgemma/exporter/make_tiny.py
#
# The venv lives in ${RADRAFT_CACHE:-$HOME/.cache/radraft}/py-torch, outside the repo (torch
# from PyPI brings several GB of CUDA libraries). It is re-created whenever
# services/medgemma/exporter/requirements.txt or the interpreter changes: their hash is
# stored in the venv and written only after a successful install, so a failed install is
# retried next time. Everything but the path goes to stderr. RADRAFT_PYTHON picks python3.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements="$root/services/medgemma/exporter/requirements.txt"
cache="${RADRAFT_CACHE:-$HOME/.cache/radraft}"
venv="$cache/py-torch"
python="${RADRAFT_PYTHON:-python3}"

mkdir -p "$cache"
# Concurrent callers: one builds, the others wait and reuse.
exec 9>"$cache/py-torch.lock"
flock 9

want=$( { "$python" -c 'import sys; print(sys.version)'; cat "$requirements"; } |
    sha256sum | cut -d' ' -f1)
have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)

if [[ "$want" != "$have" || ! -x "$venv/bin/python" ]]; then
    echo "torch-env: building $venv from $requirements (several GB, a few minutes)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary \
        --only-binary=:all: --requirement "$requirements" >&2
    echo "$want" >"$venv/.requirements.sha256"
fi

echo "$venv"
