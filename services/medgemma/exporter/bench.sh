#!/usr/bin/env bash
# Rust runtime vs a minimal Python onnxruntime loop on the same ONNX files and prompt, in one
# run, CPU execution provider, same thread count. Prints both JSON lines and a table row.
#
#   bash services/medgemma/exporter/bench.sh [model dir] [new tokens] [runs] [threads]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
dir=${1:-$root/fixtures/medgemma-tiny}
new=${2:-64}
runs=${3:-5}
threads=${4:-1}
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(bash "$root/deploy/fetch-onnxruntime.sh" | tail -n 1)}"
venv=$(bash "$root/deploy/torch-env.sh" | tail -n 1)
rust_json=$(mktemp)
trap 'rm -f "$rust_json"' EXIT
cd "$root"
cargo run --quiet --release -p radraft-medgemma --example bench -- "$dir" "$new" "$runs" "$threads" >"$rust_json"
py=$("$venv/bin/python" "$root/services/medgemma/exporter/bench.py" "$dir" "$rust_json" "$runs" "$threads")
echo "$py"
"$venv/bin/python" - "$rust_json" "$py" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = json.loads(sys.argv[2])
print(json.dumps({k: v for k, v in r.items() if k not in ("prompt_ids", "generated_ids")}))
print("| runtime | prompt tokens | new tokens | prefill tok/s | decode tok/s | wall s | peak RSS MiB |")
for x in (r, p):
    print(f"| {x['runtime']} | {x['prompt_tokens']} | {x['new_tokens']} | {x['prefill_tok_per_s']:.0f} "
          f"| {x['decode_tok_per_s']:.1f} | {x['wall_s']:.3f} | {x['peak_rss_mib']:.0f} |")
print(f"Rust decode overhead vs Python loop: {100 * (p['decode_tok_per_s'] / r['decode_tok_per_s'] - 1):+.1f}% "
      "(positive: Rust slower)")
PY
