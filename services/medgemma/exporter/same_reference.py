"""Compares two reference.json files written by make_tiny.py: every integer (token ids,
shapes, counts) and string must be equal, floats within 1e-5. Both must also hold the triage
case's fields (REQUIRED), which the Rust tests read. Exits 1 and names each difference
otherwise. Used by check_fixture.sh.

    python same_reference.py fresh/reference.json fixtures/medgemma-tiny/reference.json
"""

import json
import sys

FLOAT_TOLERANCE = 1e-5
# Fields the Rust tests read, by section and type; the comparison below covers their values
# (ids exactly, logits and score within FLOAT_TOLERANCE).
REQUIRED = {
    "triage": {"prompt_ids": list, "answers": dict, "yes_id": int, "no_id": int,
               "yes_logit": float, "no_logit": float, "score": float, "next_logits": list},
}


def missing(reference, label):
    out = []
    for section, fields in REQUIRED.items():
        for field, kind in fields.items():
            value = reference.get(section, {}).get(field)
            if not isinstance(value, kind) or isinstance(value, bool):
                out.append(f"{label}: {section}.{field} missing or not {kind.__name__}")
    return out


def differences(fresh, committed, path="$"):
    if isinstance(fresh, float) or isinstance(committed, float):
        ok = isinstance(fresh, (int, float)) and isinstance(committed, (int, float)) \
            and abs(fresh - committed) <= FLOAT_TOLERANCE
        return [] if ok else [f"{path}: {fresh!r} != {committed!r}"]
    if type(fresh) is not type(committed):
        return [f"{path}: {type(fresh).__name__} != {type(committed).__name__}"]
    if isinstance(fresh, dict):
        out = [f"{path}.{k}: only in one file" for k in sorted(set(fresh) ^ set(committed))]
        for k in sorted(set(fresh) & set(committed)):
            out += differences(fresh[k], committed[k], f"{path}.{k}")
        return out
    if isinstance(fresh, list):
        if len(fresh) != len(committed):
            return [f"{path}: {len(fresh)} items != {len(committed)}"]
        out = []
        for i, (a, b) in enumerate(zip(fresh, committed)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if fresh == committed else [f"{path}: {fresh!r} != {committed!r}"]


def main():
    fresh, committed = (json.load(open(p)) for p in sys.argv[1:3])
    found = missing(fresh, "fresh") + missing(committed, "committed") + differences(fresh, committed)
    for line in found[:20]:
        print(f"reference.json differs: {line}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
