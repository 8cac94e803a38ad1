"""Load clinical photos as the arrays the rest of the program uses, and write them safely.

Every photo comes out as uint8 RGB ``(H, W, 3)`` the right way up (EXIF orientation applied),
whatever its format (JPEG, PNG, TIFF, BMP, WebP, DICOM) or bit depth. Files that cannot be read,
and files that claim absurd sizes (decompression bombs), raise ``ImageReadError``. Writes go to a
temporary file in the target folder that then replaces the target, so a crash or a full disk
never leaves a half-written image where a good one was. Masks have their own codec
(``inference.io.mask_codec``); its readers and writers are re-exported here for older imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from inference.atomic import atomic_write as _atomic_write
from inference.errors import ImageWriteError
from inference.io.dicom import MAX_PIXELS, looks_like_dicom, read_dicom
from inference.io.mask_codec import encode_mask_png, load_mask, save_mask
from inference.io.pillow_read import PILLOW_FORMATS, existing_file, open_image, to_rgb8, upright

__all__ = ["MAX_PIXELS", "PILLOW_FORMATS", "Photo", "atomic_write", "encode_mask_png", "load_mask", "load_photo",
           "save_image", "save_mask"]

_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


@dataclass(frozen=True)
class Photo:
    """A loaded photo; ``dicom`` is the source header (pixel data removed) for DICOM files."""

    rgb: np.ndarray
    source_path: Path | None = None
    dicom: "pydicom.Dataset | None" = None  # noqa: F821 - pydicom is imported lazily

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def load_photo(path: str | PathLike[str]) -> Photo:
    """Read a photo file (any supported format, DICOM included) as upright uint8 RGB."""
    path = existing_file(path)
    if looks_like_dicom(path):
        image = read_dicom(path)
        return Photo(image.rgb, path, image.dataset)
    with open_image(path, path.name) as img:
        rgb = to_rgb8(upright(img, path.name), path.name)
    return Photo(rgb, path, None)


def save_image(path: str | PathLike[str], rgb: np.ndarray, jpeg_quality: int = 95) -> Path:
    """Write uint8 RGB as PNG or JPEG (by the file suffix) without any metadata, atomically."""
    path = Path(path)
    image_format = _write_format(path)
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
        raise ImageWriteError(f"Cannot save {path.name}: expected an RGB uint8 image, got "
                              f"{getattr(rgb, 'dtype', type(rgb).__name__)} {getattr(rgb, 'shape', '')}.")
    # A fresh Image from the array carries no EXIF, ICC profile, or text chunks.
    image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    options = {"quality": jpeg_quality, "subsampling": 0} if image_format == "JPEG" else {"compress_level": 6}
    atomic_write(path, lambda handle: image.save(handle, format=image_format, **options))
    return path


# ---------------------------------------------------------------- writing helpers

def _write_format(path: Path) -> str:
    try:
        return _WRITE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ImageWriteError(f"Cannot save {path.name}: use a file name ending in .png or .jpg.") from None


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write an image file in one step; failures become ``ImageWriteError`` with a clear message."""
    return _atomic_write(path, write, error=ImageWriteError)
