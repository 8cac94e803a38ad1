"""The one mask codec: how a mask is written to bytes and files, read back, and fingerprinted.

Convention (also in every model card's ``preprocessing.mask_file`` and ``docs/ARCHITECTURE.md``):

- in memory a mask is ``bool (H, W)``, **True = hole** (to be inpainted);
- in a file it is an 8-bit grey PNG, **white (255) = hole**, black (0) = keep, no metadata;
- reading takes any grey level: a pixel is hole when its grey value is ``>= HOLE_THRESHOLD``
  (128, the middle of the 8-bit range), so anti-aliased or JPEG-saved masks read as drawn. Colour
  masks are read through their grey value, transparent pixels count as keep, 16-bit files are
  scaled to 8 bit first, and the EXIF orientation is applied exactly as for the photo.

Every reader of a mask (app, CLI, case store, study generation, reports, training's NVIDIA
masks) decodes through :func:`decode_mask` or :func:`load_mask`, so a mask cannot mean one
thing in the clinic and another in a study.
"""

from __future__ import annotations

import hashlib
import io
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image

from inference.atomic import atomic_write
from inference.errors import ImageReadError, ImageWriteError, MaskError
from inference.io.pillow_read import existing_file, has_alpha, open_image, over_black, to_gray8, upright

HOLE_THRESHOLD = 128
"""An 8-bit grey value at or above this is hole (white); below it is keep (black)."""

MASK_FILE_CONVENTION = (f"8-bit grey PNG, white (grey >= {HOLE_THRESHOLD}) = hole, black = keep; "
                        "transparent = keep; EXIF orientation applied as for the photo")
"""The convention in one sentence, for model cards and help texts."""

MaskSource = np.ndarray | bytes | bytearray | memoryview


def decode_mask(source: MaskSource, name: str = "The mask") -> np.ndarray:
    """A bool ``(H, W)`` mask (True = hole) from encoded bytes or an array.

    ``source`` may be the bytes of an image file (PNG, JPEG, ...), a bool array (returned as a
    copy), or a uint8 grey ``(H, W)`` / ``(H, W, 1)`` or RGB(A) ``(H, W, 3|4)`` image. Raises
    ``MaskError`` for anything else.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        try:
            with open_image(io.BytesIO(bytes(source)), name) as img:
                return _hole_of(img, name)
        except ImageReadError as exc:
            raise MaskError(f"The mask {exc}") from exc
    array = np.asarray(source)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype == np.bool_:
        if array.ndim != 2:
            raise MaskError(f"{name} must be a single-channel image, got shape {array.shape}.")
        return array.copy()
    if array.dtype != np.uint8:
        raise MaskError(f"{name} must be a bool array or an 8-bit image, got {array.dtype}.")
    if array.ndim == 2:
        return array >= HOLE_THRESHOLD
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return _hole_of(Image.fromarray(np.ascontiguousarray(array), "RGBA" if array.shape[2] == 4 else "RGB"),
                        name)
    raise MaskError(f"{name} must be a single-channel image, got shape {array.shape}.")


def encode_mask_image(mask: np.ndarray) -> np.ndarray:
    """The mask as an 8-bit grey image, white (255) = hole, black (0) = keep (``decode_mask`` inverts it)."""
    return np.where(np.asarray(mask).astype(bool), np.uint8(255), np.uint8(0))


def encode_mask_png(mask: np.ndarray) -> bytes:
    """The one mask encoding of the project: 8-bit grey PNG, white (255) = hole, no metadata."""
    buf = io.BytesIO()
    Image.fromarray(encode_mask_image(mask), mode="L").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def mask_sha256(mask: np.ndarray) -> str:
    """sha256 of a bool mask's shape and packed bits: equal exactly when the masks are equal.

    Cheaper than encoding a PNG (the app computes it after every edit) and independent of the
    PNG encoder, so a prediction's mask can be compared with the one on screen. Stored with
    every prediction: the formula must never change.
    """
    m = np.ascontiguousarray(np.asarray(mask, dtype=bool))
    digest = hashlib.sha256(f"{m.shape[0]}x{m.shape[1]}:".encode())
    digest.update(np.packbits(m).tobytes())
    return digest.hexdigest()


def load_mask(path: str | PathLike[str], expected_shape: tuple[int, int] | None = None,
              require_hole: bool = True) -> np.ndarray:
    """Read a mask file (white = hole) as bool ``(H, W)``; checks its size and that it has a hole."""
    path = existing_file(path, error=MaskError)
    try:
        with open_image(path, path.name) as img:
            mask = _hole_of(img, path.name)
    except ImageReadError as exc:
        raise MaskError(f"The mask {exc}") from exc
    if expected_shape is not None and mask.shape != tuple(expected_shape[:2]):
        h, w = expected_shape[:2]
        raise MaskError(f"The mask {path.name} is {mask.shape[1]} x {mask.shape[0]} pixels but should be "
                        f"{w} x {h} (the size of its photo).")
    if require_hole and not mask.any():
        raise MaskError(f"The mask {path.name} has no painted (white) region, so there is nothing to fill.")
    return mask


def save_mask(path: str | PathLike[str], mask: np.ndarray) -> Path:
    """Write a bool mask as an 8-bit PNG, white (255) = hole, atomically."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ImageWriteError(f"Masks are saved as PNG (lossless); {path.name} does not end in .png.")
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ImageWriteError(f"Cannot save {path.name}: a mask must be 2-D, got shape {mask.shape}.")
    data = encode_mask_png(mask)
    atomic_write(path, lambda handle: handle.write(data), error=ImageWriteError)
    return path


def _hole_of(img: Image.Image, name: str) -> np.ndarray:
    """The decoded image's hole: upright, transparent = keep, grey >= ``HOLE_THRESHOLD``."""
    img = upright(img, name)  # the same EXIF orientation as the photo
    if has_alpha(img):
        img = over_black(img)
    return to_gray8(img, name) >= HOLE_THRESHOLD
