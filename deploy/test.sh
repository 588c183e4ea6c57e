#!/usr/bin/env bash
# radraft's test command: prepares the machine (deploy/setup.sh), then runs every test in
# the workspace against the real PostgreSQL, RabbitMQ, dcmtk, Orthanc and ONNX Runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh
cargo test --workspace --locked "$@"
