"""File helpers for the data folder: hashing, atomic writes, identical PNG encoding, safe paths."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from inference.atomic import atomic_write_bytes as _atomic_write_bytes
from inference.errors import MaskError
from inference.hashing import sha256_of as sha256_file  # noqa: F401  (re-exported)
from inference.io.mask_codec import encode_mask_png as _encode_mask_png
from inference.io.mask_codec import load_mask
from studies.errors import StudyError

FIXED_MTIME = 946684800  # 2000-01-01 UTC: every study image carries the same file times


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write_bytes(path: Path, data: bytes, *, create_folder: bool = True) -> None:
    """Write ``data`` to a file of the data folder so that a crash leaves the old file or the new one.

    ``create_folder=False`` for files added to a record's existing folder from another thread (a
    preview): if the record was deleted meanwhile, its folder must not come back.
    """
    _atomic_write_bytes(path, data, create_folder=create_folder, error=StudyError)


def _encode_rgb_png(rgb: np.ndarray, compress_level: int) -> bytes:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise StudyError(f"An image must be RGB uint8 (H, W, 3); got {rgb.dtype} {rgb.shape}.")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def encode_study_png(rgb: np.ndarray) -> bytes:
    """Encode a study image: RGB, 8 bit, no metadata chunks, stored (uncompressed) deflate.

    Uncompressed deflate makes the byte size depend only on the image size, so a file's size
    cannot hint at which model (blurrier, noisier) produced it.
    """
    return _encode_rgb_png(rgb, compress_level=0)


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode a clinical image compactly (deflate level 6), with no metadata chunks."""
    return _encode_rgb_png(rgb, compress_level=6)


def encode_mask_png(mask: np.ndarray) -> bytes:
    """Mask PNG convention of the app (white = hole), through ``inference.io.mask_codec``."""
    return _encode_mask_png(mask)


def decode_mask_png(path: Path) -> np.ndarray:
    """Read a stored mask with the same reader as the app and CLI (orientation, alpha, 16 bit)."""
    try:
        return load_mask(path, require_hole=False)
    except MaskError as exc:
        raise StudyError(str(exc)) from exc


def neutralise_file_times(path: Path) -> None:
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))


def to_relative(data_dir: Path, path: Path) -> str:
    return Path(path).resolve().relative_to(Path(data_dir).resolve()).as_posix()


def resolve_inside(data_dir: Path, relative: str) -> Path:
    """Absolute path of a stored relative path; refuses anything that escapes the data folder."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise StudyError(f"Refusing a stored file path outside the data folder: {relative!r}")
    return Path(data_dir).joinpath(*rel.parts)
