#!/usr/bin/env bash
# The worker benchmark (docs/benchmarks.md): release builds of radraft-worker and the bench,
# then N chest studies through gateway, RabbitMQ, worker and Postgres with the tiny model.
#   bash deploy/bench-worker.sh [STUDIES] [BATCH]     (default 1000 studies, batches of 100)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh
cargo build --release --locked -p radraft-worker -p radraft-e2e --bin radraft-worker --bin worker-bench
bin="${CARGO_TARGET_DIR:-target}/release"
"$bin/worker-bench" "$(realpath "$bin/radraft-worker")" "${1:-1000}" "${2:-100}"
