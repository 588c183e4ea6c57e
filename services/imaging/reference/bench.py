"""Times the Python reference pipeline (pydicom + numpy + HF Gemma3ImageProcessorPil) on
the files radraft-imaging's bench measures, one core, and prints one JSON line per case:
{"label", "decode_ms", "total_ms"} (medians). Called by `cargo bench -p radraft-imaging`.

Usage: bench.py RUNS LABEL=FILE[,FILE...] ...
"""

import json
import statistics
import sys
import time

import pydicom

from reference import model_input, stored_frames, study_images


def median_ms(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    runs = int(sys.argv[1])
    for arg in sys.argv[2:]:
        label, files = arg.split("=", 1)
        files = files.split(",")
        n = 1 if len(files) > 1 else runs

        def decode():
            for f in files:
                ds = pydicom.dcmread(f)
                stored_frames(ds)

        def total():
            images = study_images([pydicom.dcmread(f) for f in files])
            for img in images:
                model_input(img)

        print(json.dumps({"label": label, "decode_ms": median_ms(decode, n), "total_ms": median_ms(total, n)}), flush=True)


if __name__ == "__main__":
    main()
