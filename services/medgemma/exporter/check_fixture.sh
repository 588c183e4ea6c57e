#!/usr/bin/env bash
# Re-runs the exporter on the tiny checkpoint (make_tiny.py into a scratch folder) and
# requires the same output as the committed fixtures/medgemma-tiny, so neither the exporter
# nor the fixture can rot: the graphs, tokenizer and manifest byte for byte; in reference.json
# every token id exactly and the floats (HF's logits) within 1e-5, since torch's CPU kernels
# round differently on different CPUs (seen: 4e-7 between a Xeon and an EPYC). Needs the torch
# venv (deploy/torch-env.sh, ~6 GB, cached).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
venv=$(bash "$root/deploy/torch-env.sh" | tail -n 1)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$venv/bin/python" "$root/services/medgemma/exporter/make_tiny.py" --out "$scratch/medgemma-tiny" >&2
status=0
for f in "$scratch"/medgemma-tiny/*; do
    name=$(basename "$f")
    if [[ $name == reference.json ]]; then
        "$venv/bin/python" "$root/services/medgemma/exporter/same_reference.py" \
            "$f" "$root/fixtures/medgemma-tiny/$name" || status=1
    elif ! cmp -s "$f" "$root/fixtures/medgemma-tiny/$name"; then
        echo "fixtures/medgemma-tiny/$name differs from a fresh export" >&2
        status=1
    fi
done
[[ $status == 0 ]] && echo "fixtures/medgemma-tiny matches a fresh export"
exit $status
