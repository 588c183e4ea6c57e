#!/usr/bin/env bash
# Creates, or reuses, a cached Python venv installed from a pinned requirements file, and
# prints its path on the last line of stdout. Everything else goes to stderr.
#
#   deploy/venv.sh NAME REQUIREMENTS [extra pip install options...]
#
# The venv lives in ${RADRAFT_CACHE:-$HOME/.cache/radraft}/NAME, outside the repo, so nothing
# downloaded is ever committed. It is re-created whenever the requirements file or the
# interpreter changes: their hash is stored in the venv and written only after a successful
# install, so a failed install is retried next time. RADRAFT_PYTHON picks another python3.
set -euo pipefail

name=$1
requirements=$2
shift 2
cache="${RADRAFT_CACHE:-$HOME/.cache/radraft}"
venv="$cache/$name"
python="${RADRAFT_PYTHON:-python3}"

mkdir -p "$cache"
# Tests and scripts may call this concurrently; one process builds, the others wait and reuse.
exec 9>"$cache/$name.lock"
flock 9

# The interpreter's version is part of the key: a venv is tied to the python that made it.
want=$( { "$python" -c 'import sys; print(sys.version)'; cat "$requirements"; } |
    sha256sum | cut -d' ' -f1)
have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)

if [[ "$want" != "$have" || ! -x "$venv/bin/python" ]]; then
    echo "venv: building $venv from $requirements" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --prefer-binary \
        "$@" --requirement "$requirements" >&2
    echo "$want" >"$venv/.requirements.sha256"
fi

echo "$venv"
