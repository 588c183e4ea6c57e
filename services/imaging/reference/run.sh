#!/usr/bin/env bash
# Writes the expected model inputs for radraft-imaging's parity test
# (services/imaging/tests/parity.rs) and prints their folder on the last line of stdout.
#
#   services/imaging/reference/run.sh     # ~25 s the first time, a no-op when up to date
#
# Needs the fixtures (fixtures/generate.sh, which it runs) and the shared Python venv
# (deploy/python-env.sh: pydicom, numpy, pillow, pylibjpeg*, transformers without torch).
# The output goes to $RADRAFT_IMAGING_REFERENCE, by default
# ${RADRAFT_CACHE:-$HOME/.cache/radraft}/imaging-reference, where the test looks for it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cache="${RADRAFT_CACHE:-$HOME/.cache/radraft}"
out="${RADRAFT_IMAGING_REFERENCE:-$cache/imaging-reference}"

"$root/fixtures/generate.sh" >&2
venv=$("$root/deploy/python-env.sh" | tail -n 1)

# Up to date when the script, the fixture manifest and the venv's requirements are unchanged.
key=$(cat "$root/services/imaging/reference/reference.py" "$root/fixtures/generated/manifest.json" \
    "$venv/.requirements.sha256" | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$out/.key" 2>/dev/null || true)" != "$key" || ! -f "$out/manifest.tsv" ]]; then
    rm -rf "$out"
    mkdir -p "$out"
    "$venv/bin/python" "$root/services/imaging/reference/reference.py" "$out" 2> >(grep -v PyTorch >&2)
    echo "$key" >"$out/.key"
fi
echo "$out"
