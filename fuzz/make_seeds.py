"""Writes the fuzz target's seed corpus (fuzz/seeds/): tiny synthetic DICOM objects covering
the decoder paths (explicit/implicit LE, big endian, RLE, deflate; grey 8/16-bit, signed,
MONOCHROME1, windowed, multi-frame, RGB planar/interleaved, YBR_FULL). Run with the shared
venv: "$(deploy/python-env.sh | tail -n 1)/bin/python" fuzz/make_seeds.py
"""

import zlib
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (DeflatedExplicitVRLittleEndian, JPEG2000Lossless, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, RLELossless, generate_uid)

OUT = Path(__file__).parent / "seeds"
ROOT = "1.2.826.0.1.3680043.10.1234.99."


def make(name, arr, pi="MONOCHROME2", modality="OT", signed=False, bits_stored=None, syntax=ExplicitVRLittleEndian,
         frames=None, planar=0, **extra):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ROOT + str(zlib.crc32(name.encode()))
    ds.SeriesInstanceUID = ROOT + "1"
    ds.Modality = modality
    ds.PhotometricInterpretation = pi
    ds.SamplesPerPixel = 3 if pi in ("RGB", "YBR_FULL") else 1
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = planar
    ds.Rows, ds.Columns = arr.shape[-3:-1] if ds.SamplesPerPixel == 3 else arr.shape[-2:]
    if frames:
        ds.NumberOfFrames = frames
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    for k, v in extra.items():
        setattr(ds, k, v)
    if ds.SamplesPerPixel == 3 and planar == 1:
        arr = np.moveaxis(arr, -1, -3)
    ds.PixelData = arr.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if syntax in (RLELossless, JPEG2000Lossless):
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.compress(syntax, **({"encoding_plugin": "pylibjpeg"} if syntax == JPEG2000Lossless else {}))
    else:
        ds.file_meta.TransferSyntaxUID = syntax
        if syntax == ExplicitVRBigEndian:
            ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    ds.save_as(OUT / f"{name}.dcm", enforce_file_format=True)


def main():
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    g16 = rng.integers(0, 4096, (8, 8), dtype=np.uint16)
    make("mono2-16-window", g16, bits_stored=12, WindowCenter="2048", WindowWidth="4096")
    make("mono1-8", rng.integers(0, 256, (8, 8), dtype=np.uint8), pi="MONOCHROME1", modality="CR")
    make("ct-signed-rescale", rng.integers(-1024, 2000, (8, 8), dtype=np.int16), modality="CT", signed=True,
         RescaleSlope="1", RescaleIntercept="-1024", ImagePositionPatient=[0, 0, 0],
         ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    make("mr-multiframe", rng.integers(0, 1000, (3, 8, 8), dtype=np.uint16), modality="MR", frames=3)
    make("implicit", g16, syntax=ImplicitVRLittleEndian)
    make("bigendian", g16, syntax=ExplicitVRBigEndian)
    make("deflate", g16, syntax=DeflatedExplicitVRLittleEndian)
    make("rle", g16, syntax=RLELossless)
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    make("rgb", rgb, pi="RGB")
    make("rgb-planar", rgb, pi="RGB", planar=1)
    make("ybr-full", rgb, pi="YBR_FULL")
    make("dx-pa", rng.integers(0, 256, (6, 10), dtype=np.uint8), modality="DX", ViewPosition="PA")
    # JPEG 2000 needs 32 px for its default six resolution levels; the fuzz target decodes
    # half of its inputs at reduced resolution, so these exercise both paths.
    ramp = np.add.outer(np.arange(32), np.arange(32))
    make("j2k-16", (ramp * 64).astype(np.uint16), syntax=JPEG2000Lossless, bits_stored=12)
    make("j2k-mono1-8", (ramp * 4).astype(np.uint8), pi="MONOCHROME1", modality="CR",
         syntax=JPEG2000Lossless)


if __name__ == "__main__":
    main()
