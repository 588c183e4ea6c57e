"""The Python side of bench.sh: drives the same ONNX files with ort_loop.py (onnxruntime's
Python API, the same 1.31.1 library) on the prompt the Rust bench used, and prints JSON.

    python bench.py <model dir> <rust bench json> [runs] [threads]
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ort_loop  # noqa: E402


def main() -> None:
    model_dir = Path(sys.argv[1])
    rust = json.loads(Path(sys.argv[2]).read_text())
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    manifest = json.loads((model_dir / "manifest.json").read_text())
    sess = ort_loop.sessions(model_dir, threads)
    pixel = None
    if rust["with_image"]:
        side = manifest["vision"]["image_size"]
        pixel = np.full((1, 3, side, side), 0.25, dtype=np.float32)
    best, wall = None, float("inf")
    for _ in range(runs):
        timings: dict = {}
        t = time.perf_counter()
        ids, _ = ort_loop.generate(model_dir, manifest, rust["prompt_ids"], pixel, len(rust["generated_ids"]),
                                   sess=sess, timings=timings)
        wall = min(wall, time.perf_counter() - t)
        if best is None or timings["prefill_s"] + timings["decode_s"] < best["prefill_s"] + best["decode_s"]:
            best = timings
    assert ids == rust["generated_ids"], "Python and Rust loops generated different tokens"
    print(json.dumps({
        "runtime": "python-onnxruntime", "threads": threads, "prompt_tokens": best["prompt_tokens"],
        "new_tokens": best["new_tokens"], "prefill_s": best["prefill_s"], "decode_s": best["decode_s"], "wall_s": wall,
        "prefill_tok_per_s": best["prompt_tokens"] / best["prefill_s"],
        "decode_tok_per_s": (best["new_tokens"] - 1) / best["decode_s"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
