#!/usr/bin/env bash
# The Python venv the fixture generator and the imaging reference run in (pydicom, numpy,
# pillow, pylibjpeg, transformers without torch), cached as $RADRAFT_CACHE/py-fixtures; prints
# its path on the last line of stdout (deploy/venv.sh).
#
#   venv=$(deploy/python-env.sh | tail -n 1)
#   "$venv/bin/python" fixtures/generate.py
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec bash "$root/deploy/venv.sh" py-fixtures "$root/deploy/requirements-fixtures.txt"
