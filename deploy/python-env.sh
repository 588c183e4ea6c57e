#!/usr/bin/env bash
# Creates, or reuses, the Python venv that the fixture generator and the imaging reference
# checks run in, and prints its path on the last line of stdout.
#
#   venv=$(deploy/python-env.sh | tail -n 1)
#   "$venv/bin/python" fixtures/generate.py
#
# The venv lives in ${RADRAFT_CACHE:-$HOME/.cache/radraft}/py-fixtures, outside the repo, so
# nothing downloaded is ever committed. It is re-created whenever
# deploy/requirements-fixtures.txt or the interpreter changes: their hash is stored in the
# venv and written only after a successful install, so a failed install is retried next time.
# Everything but the path goes to stderr. Set RADRAFT_PYTHON to pick another python3.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requirements="$root/deploy/requirements-fixtures.txt"
cache="${RADRAFT_CACHE:-$HOME/.cache/radraft}"
venv="$cache/py-fixtures"
python="${RADRAFT_PYTHON:-python3}"

mkdir -p "$cache"
# Tests may call this concurrently; one process builds, the others wait and reuse.
exec 9>"$cache/py-fixtures.lock"
flock 9

# The interpreter's version is part of the key: a venv is tied to the python that made it.
want=$( { "$python" -c 'import sys; print(sys.version)'; cat "$requirements"; } |
    sha256sum | cut -d' ' -f1)
have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)

if [[ "$want" != "$have" || ! -x "$venv/bin/python" ]]; then
    echo "python-env: building $venv from $requirements" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary \
        --requirement "$requirements" >&2
    echo "$want" >"$venv/.requirements.sha256"
fi

echo "$venv"
