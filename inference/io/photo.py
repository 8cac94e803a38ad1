"""Load clinical photos and masks as the arrays the rest of the program uses, and write them safely.

Every photo comes out as uint8 RGB ``(H, W, 3)`` the right way up (EXIF orientation applied),
whatever its format (JPEG, PNG, TIFF, BMP, WebP, DICOM) or bit depth. Files that cannot be read,
and files that claim absurd sizes (decompression bombs), raise ``ImageReadError``. Writes go to a
temporary file in the target folder that then replaces the target, so a crash or a full disk
never leaves a half-written image where a good one was.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.atomic import atomic_write as _atomic_write
from inference.errors import ImageReadError, ImageWriteError, MaskError
from inference.io.dicom import MAX_PIXELS, looks_like_dicom, read_dicom

# Formats Pillow may open: the photo formats clinics use (camera "MPO" JPEGs open through "JPEG").
PILLOW_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP")
_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_EXIF_ORIENTATION = 0x0112


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
    path = _existing_file(path)
    if looks_like_dicom(path):
        image = read_dicom(path)
        return Photo(image.rgb, path, image.dataset)
    with _open_image(path) as img:
        img = _upright(img, path.name)
        rgb = _to_rgb8(img, path.name)
    return Photo(rgb, path, None)


def load_mask(path: str | PathLike[str], expected_shape: tuple[int, int] | None = None,
              require_hole: bool = True) -> np.ndarray:
    """Read a mask image (white = hole) as bool ``(H, W)``; checks its size and that it has a hole."""
    path = _existing_file(path, error=MaskError)
    try:
        with _open_image(path) as img:
            # The same EXIF orientation as the photo: a rotated mask must not put the hole on the eyes.
            img = _upright(img, path.name)
            if img.mode in _ALPHA_MODES or (img.mode == "P" and "transparency" in img.info):
                img = _over_black(img)
            gray = _to_gray8(img, path.name)
    except ImageReadError as exc:
        raise MaskError(f"The mask {exc}") from exc
    mask = gray >= 128
    if expected_shape is not None and mask.shape != tuple(expected_shape[:2]):
        h, w = expected_shape[:2]
        raise MaskError(f"The mask {path.name} is {mask.shape[1]} x {mask.shape[0]} pixels but should be "
                        f"{w} x {h} (the size of its photo).")
    if require_hole and not mask.any():
        raise MaskError(f"The mask {path.name} has no painted (white) region, so there is nothing to fill.")
    return mask


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


def save_mask(path: str | PathLike[str], mask: np.ndarray) -> Path:
    """Write a bool mask as an 8-bit PNG, white (255) = hole, atomically."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ImageWriteError(f"Masks are saved as PNG (lossless); {path.name} does not end in .png.")
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ImageWriteError(f"Cannot save {path.name}: a mask must be 2-D, got shape {mask.shape}.")
    data = encode_mask_png(mask)
    atomic_write(path, lambda handle: handle.write(data))
    return path


def encode_mask_png(mask: np.ndarray) -> bytes:
    """The one mask encoding of the project: 8-bit grey PNG, white (255) = hole, no metadata."""
    buf = io.BytesIO()
    image = Image.fromarray(np.where(np.asarray(mask).astype(bool), 255, 0).astype(np.uint8), mode="L")
    image.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


# ---------------------------------------------------------------- reading helpers

def _existing_file(path: str | PathLike[str], error: type[Exception] = ImageReadError) -> Path:
    path = Path(path)
    if not path.exists():
        raise error(f"The file {path} does not exist.")
    if not path.is_file():
        raise error(f"{path} is a folder, not an image file.")
    if path.stat().st_size == 0:
        raise error(f"The file {path.name} is empty (0 bytes); it may not have been copied completely.")
    if not os.access(path, os.R_OK):
        raise error(f"No permission to read {path}.")
    return path


def _open_image(path: Path) -> Image.Image:
    """Open with Pillow, refusing anything above ``MAX_PIXELS`` before any pixel is decoded."""
    Image.init()  # registers every plugin, so the format list below can name TIFF and WebP
    try:
        with warnings.catch_warnings():
            # Our own limit replaces Pillow's DecompressionBombWarning (89 MP) below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path, formats=PILLOW_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{path.name} claims an image so large that opening it could exhaust the "
                             f"memory (more than {MAX_PIXELS // 1_000_000} megapixels).") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{path.name} is not an image this program can read (supported: JPEG, PNG, "
                             "TIFF, BMP, WebP and DICOM), or the file is damaged.") from exc
    except OSError as exc:
        raise ImageReadError(f"{path.name} cannot be read: {exc.strerror or exc}.") from exc
    except ValueError as exc:  # Pillow refuses oversized text/ICC chunks (chunk bombs) with ValueError
        if "too large" in str(exc).lower():
            raise ImageReadError(f"{path.name} carries an oversized embedded text or colour profile (a "
                                 "decompression bomb) and is refused.") from exc
        raise ImageReadError(f"{path.name} is damaged and cannot be read ({exc}).") from exc
    except (SyntaxError, EOFError, IndexError, TypeError, struct.error) as exc:  # damaged headers in plugins
        raise ImageReadError(f"{path.name} is damaged and cannot be read ({type(exc).__name__}: {exc}).") from exc
    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise ImageReadError(f"{path.name} claims {width} x {height} pixels, more than the "
                             f"{MAX_PIXELS // 1_000_000} megapixels this program opens.")
    if width == 0 or height == 0:
        img.close()
        raise ImageReadError(f"{path.name} has no pixels ({width} x {height}).")
    try:
        img.load()  # decode now so truncated or corrupt data fail here, as ImageReadError
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error,
            Image.DecompressionBombError) as exc:
        img.close()
        raise ImageReadError(f"{path.name} is damaged or incomplete and cannot be decoded ({exc}).") from exc
    return img


def _upright(img: Image.Image, name: str) -> Image.Image:
    """Apply the EXIF orientation tag, so the photo looks as the camera held it."""
    try:
        orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # unreadable EXIF must not block a readable photo; it only decides rotation
        orientation = 1
    if orientation in (None, 1):
        return img
    try:
        return ImageOps.exif_transpose(img)
    except Exception as exc:
        raise ImageReadError(f"The orientation information of {name} is damaged ({exc}).") from exc


def _to_rgb8(img: Image.Image, name: str) -> np.ndarray:
    if img.mode == "RGB":
        return np.asarray(img).copy()
    if img.mode.startswith("I") or img.mode == "F":
        gray = _to_gray8(img, name)
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode in _ALPHA_MODES or (img.mode == "P" and "transparency" in img.info):
        img = _over_white(img)
    try:
        return np.asarray(img.convert("RGB")).copy()
    except (ValueError, OSError) as exc:
        raise ImageReadError(f"{name} uses a colour format ({img.mode}) this program cannot convert.") from exc


def _to_gray8(img: Image.Image, name: str) -> np.ndarray:
    """One channel as uint8: 16-bit data scaled by the full 16-bit range, 32-bit/float by their range."""
    if img.mode.startswith("I;16"):
        return _scale16(np.asarray(img).astype(np.uint16))
    if img.mode == "I":
        data = np.asarray(img)
        if data.size and data.min() >= 0 and data.max() <= 65535:
            return _scale16(data.astype(np.uint16))
        return _stretch(data)
    if img.mode == "F":
        return _stretch(np.asarray(img))
    try:
        return np.asarray(img.convert("L")).copy()
    except (ValueError, OSError) as exc:
        raise ImageReadError(f"{name} uses a format ({img.mode}) this program cannot convert.") from exc


def _scale16(data: np.ndarray) -> np.ndarray:
    return ((data.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _stretch(data: np.ndarray) -> np.ndarray:
    data = data.astype(np.float64)
    lo, hi = float(data.min()), float(data.max())
    if hi <= lo:
        return np.zeros(data.shape, np.uint8)
    return np.rint((data - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _over_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _over_black(img: Image.Image) -> Image.Image:
    """For masks: transparent pixels count as not painted."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(background, rgba).convert("L")


# ---------------------------------------------------------------- writing helpers

def _write_format(path: Path) -> str:
    try:
        return _WRITE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ImageWriteError(f"Cannot save {path.name}: use a file name ending in .png or .jpg.") from None


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write an image file in one step; failures become ``ImageWriteError`` with a clear message."""
    return _atomic_write(path, write, error=ImageWriteError)
