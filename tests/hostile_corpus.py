"""A small corpus of hostile and broken image files, generated at test time (nothing is stored).

Each case says what a loader must do with it: ``cause`` set means a typed error whose message
names that cause; ``cause`` None (byte mutants) accepts a typed error or a well-formed image.
Fixed seeds keep every run identical.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from app_support import write_dicom


@dataclass(frozen=True)
class HostileFile:
    path: Path
    cause: str | None  # a phrase the typed error must contain; None: typed error or a good image


def smooth_rgb(h: int = 48, w: int = 64) -> np.ndarray:
    """Smooth ramps (a photo-like image: neighbouring pixels are alike)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (h + w - 2)], -1).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _encoded(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt)
    return buf.getvalue()


def _dicom_variant(base: Path, target: Path, **tags: object) -> Path:
    import pydicom

    ds = pydicom.dcmread(base)
    for keyword, value in tags.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(target)
    return target


def _planar_flipped(base: Path, target: Path, rgb: np.ndarray) -> Path:
    """The same interleaved pixels, but the header says they are stored as planes."""
    import pydicom

    ds = pydicom.dcmread(base)
    ds.PlanarConfiguration = 1
    ds.PixelData = np.ascontiguousarray(rgb).tobytes()
    ds.save_as(target)
    return target


def build_corpus(folder: Path, mutants: int = 24) -> list[HostileFile]:
    """Write the corpus into ``folder``; returns every file with what is expected of it."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    rgb = smooth_rgb()
    cases: list[HostileFile] = []

    png = _encoded(rgb, "PNG")
    bomb = zlib.compress(b"a" * 40_000_000)  # 40 MB of text in 40 kB: Pillow's MAX_TEXT_CHUNK refuses it
    for kind, payload in ((b"zTXt", b"Comment\x00\x00" + bomb), (b"iCCP", b"icc\x00\x00" + bomb)):
        path = folder / f"bomb_{kind.decode().lower()}.png"
        path.write_bytes(png[:33] + _png_chunk(kind, payload) + png[33:])
        cases.append(HostileFile(path, "oversized embedded text or colour profile"))

    base = write_dicom(folder / "base_ok.dcm", rgb)
    inconsistent = {
        "bits_allocated_16": dict(BitsAllocated=16, BitsStored=16, HighBit=15),
        "bits_allocated_1": dict(BitsAllocated=1, BitsStored=1, HighBit=0),
        "rows_fewer": dict(Rows=20),
        "rows_more": dict(Rows=60),
        "columns_fewer": dict(Columns=30),
        "samples_1_rgb": dict(SamplesPerPixel=1),
        "samples_1_mono": dict(SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2"),
        "signed_colour": dict(PixelRepresentation=1),
        "frames_5": dict(NumberOfFrames=5),
    }
    causes = {"samples_1_rgb": "SamplesPerPixel", "signed_colour": "PixelRepresentation"}
    for name, tags in inconsistent.items():
        path = _dicom_variant(base, folder / f"dicom_{name}.dcm", **tags)
        cases.append(HostileFile(path, causes.get(name, "does not match its image")))
    cases.append(HostileFile(_planar_flipped(base, folder / "dicom_planar_flipped.dcm", rgb), "PlanarConfiguration"))

    # Byte mutants: the DICOM header (after the preamble), and PNG/JPEG/BMP/TIFF bodies.
    dicom = base.read_bytes()
    header_end = dicom.index(b"\xe0\x7f\x10\x00")  # the PixelData tag: mutate only what comes before
    sources = {"dcm": (dicom, 132, header_end), "png": (png, 8, len(png)),
               "jpg": (_encoded(rgb, "JPEG"), 2, 600), "bmp": (_encoded(rgb, "BMP"), 0, 54),
               "tif": (_encoded(rgb, "TIFF"), 0, 400)}
    for suffix, (data, lo, hi) in sources.items():
        for i in range(mutants):
            mutant = bytearray(data)
            for _ in range(int(rng.integers(1, 4))):
                mutant[int(rng.integers(lo, hi))] = int(rng.integers(0, 256))
            if i % 6 == 5:
                mutant = mutant[: int(rng.integers(lo, len(data)))]  # truncated too
            path = folder / f"mutant_{suffix}_{i:02d}.{suffix}"
            path.write_bytes(bytes(mutant))
            cases.append(HostileFile(path, None))
    return cases
