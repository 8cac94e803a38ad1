"""Opening image files with Pillow safely, shared by the photo reader and the mask codec.

One place for the decompression-bomb guard, the EXIF orientation and the conversions to 8 bit,
so a photo and its mask are always read the same way (a rotated mask must not put the hole on
the eyes). Every failure is an ``ImageReadError`` (the mask codec turns it into ``MaskError``).
"""

from __future__ import annotations

import os
import struct
import warnings
from os import PathLike
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.errors import ImageReadError
from inference.io.dicom import MAX_PIXELS

# Formats Pillow may open: the photo formats clinics use (camera "MPO" JPEGs open through "JPEG").
PILLOW_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP")
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_EXIF_ORIENTATION = 0x0112


def existing_file(path: str | PathLike[str], error: type[Exception] = ImageReadError) -> Path:
    """``path`` as a Path once it is known to be a readable, non-empty file; else ``error``."""
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


def open_image(source: Path | BinaryIO, name: str) -> Image.Image:
    """Open with Pillow, refusing anything above ``MAX_PIXELS`` before any pixel is decoded."""
    Image.init()  # registers every plugin, so the format list below can name TIFF and WebP
    try:
        with warnings.catch_warnings():
            # Our own limit replaces Pillow's DecompressionBombWarning (89 MP) below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source, formats=PILLOW_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{name} claims an image so large that opening it could exhaust the "
                             f"memory (more than {MAX_PIXELS // 1_000_000} megapixels).") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{name} is not an image this program can read (supported: JPEG, PNG, "
                             "TIFF, BMP, WebP and DICOM), or the file is damaged.") from exc
    except OSError as exc:
        raise ImageReadError(f"{name} cannot be read: {exc.strerror or exc}.") from exc
    except ValueError as exc:  # Pillow refuses oversized text/ICC chunks (chunk bombs) with ValueError
        if "too large" in str(exc).lower():
            raise ImageReadError(f"{name} carries an oversized embedded text or colour profile (a "
                                 "decompression bomb) and is refused.") from exc
        raise ImageReadError(f"{name} is damaged and cannot be read ({exc}).") from exc
    except (SyntaxError, EOFError, IndexError, TypeError, struct.error) as exc:  # damaged headers in plugins
        raise ImageReadError(f"{name} is damaged and cannot be read ({type(exc).__name__}: {exc}).") from exc
    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise ImageReadError(f"{name} claims {width} x {height} pixels, more than the "
                             f"{MAX_PIXELS // 1_000_000} megapixels this program opens.")
    if width == 0 or height == 0:
        img.close()
        raise ImageReadError(f"{name} has no pixels ({width} x {height}).")
    try:
        img.load()  # decode now so truncated or corrupt data fail here, as ImageReadError
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error,
            Image.DecompressionBombError) as exc:
        img.close()
        raise ImageReadError(f"{name} is damaged or incomplete and cannot be decoded ({exc}).") from exc
    return img


def upright(img: Image.Image, name: str) -> Image.Image:
    """Apply the EXIF orientation tag, so the image looks as the camera held it."""
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


def has_alpha(img: Image.Image) -> bool:
    return img.mode in ALPHA_MODES or (img.mode == "P" and "transparency" in img.info)


def to_rgb8(img: Image.Image, name: str) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)``; grey is repeated, transparency is laid over white."""
    if img.mode == "RGB":
        return np.asarray(img).copy()
    if img.mode.startswith("I") or img.mode == "F":
        gray = to_gray8(img, name)
        return np.repeat(gray[..., None], 3, axis=2)
    if has_alpha(img):
        img = over_white(img)
    try:
        return np.asarray(img.convert("RGB")).copy()
    except (ValueError, OSError) as exc:
        raise ImageReadError(f"{name} uses a colour format ({img.mode}) this program cannot convert.") from exc


def to_gray8(img: Image.Image, name: str) -> np.ndarray:
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


def over_white(img: Image.Image) -> Image.Image:
    """For photos: transparent pixels become white paper."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def over_black(img: Image.Image) -> Image.Image:
    """For masks: transparent pixels count as not painted."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(background, rgba).convert("L")


def _scale16(data: np.ndarray) -> np.ndarray:
    return ((data.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _stretch(data: np.ndarray) -> np.ndarray:
    data = data.astype(np.float64)
    lo, hi = float(data.min()), float(data.max())
    if hi <= lo:
        return np.zeros(data.shape, np.uint8)
    return np.rint((data - lo) * (255.0 / (hi - lo))).astype(np.uint8)
