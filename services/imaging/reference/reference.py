"""Reference pipeline for radraft-imaging's parity test.

pydicom (+ pylibjpeg decoders) decodes, numpy applies the same documented recipe as the Rust
crate (rescale, linear window, MONOCHROME1 inversion, per-modality selection), and Hugging
Face's Gemma3ImageProcessorPil (the model's own processor, no torch) makes the model input.
The processor's float output is turned back into the 8-bit image it came from (checked to be
exact) and written as raw planes, deduplicated by content:

    OUT/manifest.tsv   case <TAB> image files (comma-separated, in order) <TAB> input files...
    OUT/<sha256>.u8    C x 896 x 896 uint8, C = 1 (grey, the processor repeats it) or 3
    OUT/corpus.txt     folders of DICOM test files (pydicom's, pydicom-data's, ours) for the
                       bad-input test

Usage: reference.py OUT [--bench FILE...]
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from transformers import Gemma3ImageProcessorPil

SIDE = 896
MAX_SLICES = 85
CT_WINDOWS = [(-1024.0, 1024.0), (-135.0, 215.0), (0.0, 80.0)]
PROC = Gemma3ImageProcessorPil(size={"height": SIDE, "width": SIDE}, do_pan_and_scan=False)


def apply_window(x, lo, hi):
    """floor(clip((x - lo) / (hi - lo), 0, 1) * 255 + 0.5); a threshold when hi <= lo."""
    if hi <= lo:
        return np.where(x > lo, 255, 0).astype(np.uint8)
    y = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return np.floor(y * 255.0 + 0.5).astype(np.uint8)


def first(ds, keyword):
    v = ds.get(keyword)
    if v is None or v == "":
        return None
    if isinstance(v, pydicom.multival.MultiValue):
        v = v[0] if len(v) else None
    return None if v is None else float(v)


def stored_frames(ds):
    """Stored values as int64 [frames, rows, cols] (masked to BitsStored, sign-extended)."""
    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    bits_alloc, bits_stored = int(ds.BitsAllocated), int(ds.BitsStored)
    raw = arr.view(np.uint8 if bits_alloc == 8 else np.uint16).astype(np.int64)
    v = raw & ((1 << bits_stored) - 1)
    if int(ds.PixelRepresentation) == 1:
        v = np.where(v >= (1 << (bits_stored - 1)), v - (1 << bits_stored), v)
    return v.reshape(frames, int(ds.Rows), int(ds.Columns))


def modality(ds, v):
    slope = first(ds, "RescaleSlope")
    intercept = first(ds, "RescaleIntercept")
    return v.astype(np.float64) * (1.0 if slope is None else slope) + (0.0 if intercept is None else intercept)


def is_gray(ds):
    return ds.PhotometricInterpretation in ("MONOCHROME1", "MONOCHROME2")


def render_projection(ds):
    out = []
    if not is_gray(ds):
        arr = ds.pixel_array.reshape(int(ds.get("NumberOfFrames", 1) or 1), int(ds.Rows), int(ds.Columns), 3)
        return [np.moveaxis(f, -1, 0).astype(np.uint8) for f in arr]
    center, width = first(ds, "WindowCenter"), first(ds, "WindowWidth")
    for frame in stored_frames(ds):
        x = modality(ds, frame)
        if center is not None and width is not None:
            lo, hi = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
        else:
            lo, hi = float(x.min()), float(x.max())
        img = apply_window(x, lo, hi)
        if ds.PhotometricInterpretation == "MONOCHROME1":
            img = 255 - img
        out.append(img[None])
    return out


def pad_square(img):
    c, h, w = img.shape
    side = max(h, w)
    out = np.zeros((c, side, side), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    out[:, y0:y0 + h, x0:x0 + w] = img
    return out


VIEW_RANK = {"PA": 0, "AP": 1, "LL": 2, "RL": 2, "LATERAL": 2, "LAT": 2, "RLD": 2, "LLD": 2}


def slice_position(ds):
    p, o = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
    if p is None or o is None or len(p) != 3 or len(o) != 6:
        return None
    o = [float(v) for v in o]
    n = np.cross(o[:3], o[3:])
    return float(np.dot([float(v) for v in p], n))


def evenly_spaced(n, k):
    if n <= k:
        return list(range(n))
    if k <= 1:
        return [n // 2]
    return [i * (n - 1) // (k - 1) for i in range(k)]


def inum(ds):
    v = ds.get("InstanceNumber")
    return int(v) if v not in (None, "") else 2**63 - 1


def study_images(datasets):
    """The 8-bit images (C x H x W) for one study, in prompt order."""
    mods = [str(ds.get("Modality", "")).upper() for ds in datasets]
    recipe = "CT" if "CT" in mods else "MR" if "MR" in mods else "PROJ"
    if recipe == "PROJ":
        chosen = [ds for ds, m in zip(datasets, mods) if m not in ("CT", "MR")]
        chosen.sort(key=lambda ds: (VIEW_RANK.get(str(ds.get("ViewPosition", "")).upper(), 3), inum(ds)))
        return [pad_square(img) for ds in chosen for img in render_projection(ds)]
    chosen = [ds for ds, m in zip(datasets, mods) if m == recipe]
    by_series = {}
    for ds in chosen:
        by_series.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append(ds)
    best = min(by_series, key=lambda uid: (-len(by_series[uid]), uid))
    series = by_series[best]
    if all(slice_position(ds) is not None for ds in series):
        series.sort(key=lambda ds: (slice_position(ds), str(ds.SOPInstanceUID)))
    else:
        series.sort(key=lambda ds: (inum(ds), str(ds.SOPInstanceUID)))
    if recipe == "CT":
        picked = [series[i] for i in evenly_spaced(len(series), MAX_SLICES)]
        frames = [modality(ds, f) for ds in picked for f in stored_frames(ds)]
        return [np.stack([apply_window(frames[i], lo, hi) for lo, hi in CT_WINDOWS])
                for i in evenly_spaced(len(frames), MAX_SLICES)]
    frames = [(modality(ds, f), ds.PhotometricInterpretation == "MONOCHROME1") for ds in series for f in stored_frames(ds)]
    lo = min(float(f.min()) for f, _ in frames)
    hi = max(float(f.max()) for f, _ in frames)
    out = []
    for i in evenly_spaced(len(frames), MAX_SLICES):
        img = apply_window(frames[i][0], lo, hi)
        out.append((255 - img if frames[i][1] else img)[None])
    return out


def model_input(img):
    """HF Gemma3ImageProcessorPil on the RGB PIL image: float32 [3, 896, 896]."""
    rgb = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img
    pil = Image.fromarray(np.ascontiguousarray(np.moveaxis(rgb, 0, -1)), mode="RGB")
    return PROC(images=[pil], return_tensors="np")["pixel_values"][0]


def to_u8(pv):
    """Back from the processor's floats to the resized 8-bit image, checked to be exact."""
    u8 = np.round((pv.astype(np.float64) * 0.5 + 0.5) * 255.0).astype(np.uint8)
    again = ((u8.astype(np.float64) * (1 / 255)).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
    assert np.array_equal(again, pv), "processor output is not an exact function of 8-bit values"
    return u8


def cases(repo):
    gen = repo / "fixtures" / "generated"
    manifest = json.loads((gen / "manifest.json").read_text())
    for study in manifest["studies"]:
        files = [gen / i["file"] for i in study["instances"]]
        yield f"{study['name']}/{study['transfer_syntax']}", files
    pdd = gen / "external" / "pydicom-data"
    for name in ["RG1_UNCR", "RG1_J2KR", "RG3_UNCR", "693_UNCR", "693_J2KR", "MR2_UNCR", "MR2_J2KR",
                 "emri_small", "emri_small_RLE", "emri_small_jpeg_ls_lossless", "SC_rgb", "SC_rgb_rle" ]:
        if (pdd / f"{name}.dcm").exists():
            yield f"pydicom-data/{name}", [pdd / f"{name}.dcm"]


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[3]
    lines = []
    started = time.time()
    for name, files in cases(repo):
        datasets = [pydicom.dcmread(f) for f in files]
        names = []
        for img in study_images(datasets):
            pv = model_input(img)
            u8 = to_u8(pv)
            if img.shape[0] == 1:
                assert np.array_equal(u8[0], u8[1]) and np.array_equal(u8[0], u8[2])
                u8 = u8[:1]
            digest = hashlib.sha256(u8.tobytes()).hexdigest()[:32]
            path = out / f"{digest}.u8"
            if not path.exists():
                path.write_bytes(u8.tobytes())
            names.append(path.name)
        lines.append("\t".join([name, ",".join(names)] + [str(f) for f in files]))
        print(f"reference: {name}: {len(names)} images", file=sys.stderr)
    # The bad-input test walks these folders: pydicom's own test files and pydicom-data's.
    corpus = [Path(pydicom.__file__).parent / "data" / "test_files",
              (repo / "fixtures" / "generated" / "external" / "pydicom-data").resolve(),
              repo / "fixtures" / "generated" / "bad"]
    (out / "corpus.txt").write_text("".join(f"{d}\n" for d in corpus if d.is_dir()))
    tmp = out / "manifest.tsv.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, out / "manifest.tsv")
    print(f"reference: {len(lines)} cases in {time.time() - started:.1f} s -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
