"""Writes the `gateway` fuzz target's inputs: seeds (fuzz/gateway-seeds/) and the findings
it guards against (fuzz/gateway-regressions/). Plain Python 3, no packages: `python3
fuzz/make_gateway_seeds.py`. Deterministic.

An input is one byte choosing the association's transfer syntax (an index into
radraft_core::transfer_syntax::DECODABLE, taken modulo its length) followed by the PDUs a
peer sends after negotiation: P-DATA-TF PDUs carrying a command set (Implicit VR Little
Endian) and, for C-STORE, the data set in that transfer syntax.

Seeds: a C-ECHO, then every imaging seed (fuzz/seeds/*.dcm) as a C-STORE of its data set.
Regressions (each named for the finding; services/gateway/tests/regressions.rs states the
status each must get and that none allocates more than 64 MiB at once):
- declared-length-4gb: a few hundred bytes whose Pixel Data declares 4 GB (the gateway
  allocated 4.2 GB for it).
- deflate-bomb-32mib: a deflated data set of 32 KiB that inflates to 32 MiB (past the
  target's 16 MiB limit).
- nested-sequences-1000: sequences nested 1,000 deep (100,000 overflowed a thread's stack).
- pixel-data-cut-short: an 8x8 16-bit slice carrying 64 of its 128 pixel bytes.
- pixel-delimiter-missing: JPEG-LS pixel data without its sequence delimiter.
- pixel-description-overflow: an image description whose byte count saturates (65535
  rows, columns, samples, 2^31 frames, 65528 bits); adding the pad byte overflowed.
- command-declared-length: a command set whose element declares 1 GB.
- element-flood: a deflated data set of about 12 kB inflating to 1.5 million empty elements
  (12 MB, under the target's limit); built whole, they took 112 bytes each. The fuzzing
  campaign's slowest input (32 kB, deflated, 11 s in element header decoding; not kept)
  was most likely of this kind.
"""

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).parent
SEEDS = HERE / "gateway-seeds"
REGRESSIONS = HERE / "gateway-regressions"

# radraft_core::transfer_syntax::DECODABLE, in order.
DECODABLE = [
    "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
]
CT = "1.2.840.10008.5.1.4.1.1.2"
VERIFICATION = "1.2.840.10008.1.1"
UID = "1.2.826.0.1.3680043.10.1234.88."


def even(value: bytes, pad: bytes) -> bytes:
    return value + pad if len(value) % 2 else value


def implicit(group: int, element: int, value: bytes) -> bytes:
    return struct.pack("<HHI", group, element, len(value)) + value


def explicit(group: int, element: int, vr: str, value: bytes) -> bytes:
    if vr in ("OB", "OW", "SQ", "UN", "UT"):
        return struct.pack("<HH2sHI", group, element, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr.encode(), len(value)) + value


def uid(text: str) -> bytes:
    return even(text.encode(), b"\0")


def command(field: int, sop_class: str, sop_instance: str, data_set: bool) -> bytes:
    body = implicit(0x0000, 0x0002, uid(sop_class))
    body += implicit(0x0000, 0x0100, struct.pack("<H", field))
    body += implicit(0x0000, 0x0110, struct.pack("<H", 1))
    if field == 0x0001:
        body += implicit(0x0000, 0x0700, struct.pack("<H", 0))
    body += implicit(0x0000, 0x0800, struct.pack("<H", 0x0000 if data_set else 0x0101))
    if sop_instance:
        body += implicit(0x0000, 0x1000, uid(sop_instance))
    return implicit(0x0000, 0x0000, struct.pack("<I", len(body))) + body


def pdata(is_command: bool, is_last: bool, data: bytes) -> bytes:
    header = (1 if is_command else 0) | (2 if is_last else 0)
    item = struct.pack(">I", len(data) + 2) + bytes([1, header]) + data
    return struct.pack(">BBI", 0x04, 0, len(item)) + item


def store(ts: str, sop_class: str, sop_instance: str, dataset: bytes) -> bytes:
    stream = pdata(True, True, command(0x0001, sop_class, sop_instance, True))
    chunks = [dataset[i:i + 16000] for i in range(0, len(dataset), 16000)] or [b""]
    for i, chunk in enumerate(chunks):
        stream += pdata(False, i + 1 == len(chunks), chunk)
    return bytes([DECODABLE.index(ts)]) + stream


def meta_elements(file: bytes):
    """(tag, value) of the meta group, and where the data set starts."""
    assert file[128:132] == b"DICM"
    pos, end, out = 132, None, {}
    while pos < len(file) and (end is None or pos < end):
        group, element, vr = struct.unpack_from("<HH2s", file, pos)
        if group != 0x0002:
            break
        if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
            (length,), header = struct.unpack_from("<I", file, pos + 8), 12
        else:
            (length,), header = struct.unpack_from("<H", file, pos + 6), 8
        value = file[pos + header:pos + header + length]
        if element == 0x0000:
            end = pos + header + length + struct.unpack("<I", value)[0]
        out[element] = value.rstrip(b"\0 ").decode("ascii", "replace")
        pos += header + length
    return out, pos


def identity(sop_instance: str) -> bytes:
    return (explicit(0x0008, 0x0016, "UI", uid(CT)) + explicit(0x0008, 0x0018, "UI", uid(sop_instance))
            + explicit(0x0020, 0x000D, "UI", uid(UID + "1")) + explicit(0x0020, 0x000E, "UI", uid(UID + "1.1")))


def image(rows: int, bits: int) -> bytes:
    return (explicit(0x0028, 0x0002, "US", struct.pack("<H", 1)) + explicit(0x0028, 0x0010, "US", struct.pack("<H", rows))
            + explicit(0x0028, 0x0011, "US", struct.pack("<H", 8))
            + explicit(0x0028, 0x0100, "US", struct.pack("<H", bits)))


def regressions():
    explicit_le, deflated, jpeg_ls = DECODABLE[1], DECODABLE[3], DECODABLE[8]
    sop = UID + "1.1.1"
    huge = identity(sop) + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFF0) + bytes(16)
    yield "declared-length-4gb", store(explicit_le, CT, sop, huge)
    inflated = identity(sop) + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 32 << 20) + bytes(32 << 20)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = squeeze.compress(inflated) + squeeze.flush()
    yield "deflate-bomb-32mib", store(deflated, CT, sop, bomb)
    depth = 1000
    opening = (struct.pack("<HH2sHI", 0x0008, 0x1140, b"SQ", 0, 0xFFFFFFFF)
               + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF))
    closing = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    yield "nested-sequences-1000", store(explicit_le, CT, sop, identity(sop) + opening * depth + closing * depth)
    cut = identity(sop) + image(8, 16) + explicit(0x7FE0, 0x0010, "OW", bytes(64))
    yield "pixel-data-cut-short", store(explicit_le, CT, sop, cut)
    fragments = (struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
                 + struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE000, 8) + bytes(8))
    yield "pixel-delimiter-missing", store(jpeg_ls, CT, sop, identity(sop) + image(8, 16) + fragments)
    # Every dimension at its largest: the description's byte count saturates at u64::MAX.
    vast = (explicit(0x0028, 0x0002, "US", struct.pack("<H", 65535)) + explicit(0x0028, 0x0008, "IS", b"2147483647 ")
            + explicit(0x0028, 0x0010, "US", struct.pack("<H", 65535))
            + explicit(0x0028, 0x0011, "US", struct.pack("<H", 65535))
            + explicit(0x0028, 0x0100, "US", struct.pack("<H", 65528)) + explicit(0x7FE0, 0x0010, "OW", bytes(8)))
    yield "pixel-description-overflow", store(explicit_le, CT, sop, identity(sop) + vast)
    lying = struct.pack("<HHI", 0x0000, 0x0100, 1 << 30) + bytes(8)
    yield "command-declared-length", bytes([1]) + pdata(True, True, lying)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    empty = struct.pack("<HH2sH", 0x0009, 0x1010, b"LO", 0)
    flood = squeeze.compress(identity(sop) + empty * 1_500_000) + squeeze.flush()
    yield "element-flood", store(deflated, CT, sop, flood)


def seeds():
    yield "echo", bytes([1]) + pdata(True, True, command(0x0030, VERIFICATION, "", False))
    for path in sorted((HERE / "seeds").glob("*.dcm")):
        file = path.read_bytes()
        meta, start = meta_elements(file)
        if meta.get(0x0010) in DECODABLE:
            yield path.stem, store(meta[0x0010], meta[0x0002], meta[0x0003], file[start:])


def main():
    for folder, inputs in ((SEEDS, seeds()), (REGRESSIONS, regressions())):
        folder.mkdir(exist_ok=True)
        for name, data in inputs:
            (folder / f"{name}.bin").write_bytes(data)
            print(f"{folder.name}/{name}.bin: {len(data)} bytes")


if __name__ == "__main__":
    main()
