#!/usr/bin/env bash
# Re-runs the exporter on the tiny checkpoint (make_tiny.py into a scratch folder) and
# requires byte-identical output to the committed fixtures/medgemma-tiny, so neither the
# exporter nor the fixture can rot. Needs the torch venv (deploy/torch-env.sh, ~6 GB, cached).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
venv=$(bash "$root/deploy/torch-env.sh" | tail -n 1)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$venv/bin/python" "$root/services/medgemma/exporter/make_tiny.py" --out "$scratch/medgemma-tiny" >&2
status=0
for f in "$scratch"/medgemma-tiny/*; do
    name=$(basename "$f")
    if ! cmp -s "$f" "$root/fixtures/medgemma-tiny/$name"; then
        echo "fixtures/medgemma-tiny/$name differs from a fresh export" >&2
        status=1
    fi
done
[[ $status == 0 ]] && echo "fixtures/medgemma-tiny matches a fresh export"
exit $status
