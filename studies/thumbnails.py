"""Small previews of case photos for the case list, and the date each photo was taken.

The preview is a JPEG of at most ``THUMBNAIL_SIZE`` pixels a side, stored beside the case's photo
(``cases/<uid>/thumbnail.jpg``) with ``thumbnail.json`` holding the photo's sha256 and date: a
cache whose sha256 does not match, or that is half written, is simply made again. Deleting the
case removes its folder, previews included. Making a preview reads the whole photo (up to a few
hundred milliseconds for a large one), so a GUI runs :func:`case_thumbnail` in a worker thread.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference.errors import InferenceError
from inference.io.photo import load_photo
from studies.errors import CaseError
from studies.files import atomic_write_bytes

THUMBNAIL_SIZE = 96
THUMBNAIL_NAME = "thumbnail.jpg"
META_NAME = "thumbnail.json"
_EXIF_IFD, _DATE_TIME_ORIGINAL, _DATE_TIME = 0x8769, 36867, 306


@dataclass(frozen=True)
class CaseThumbnail:
    path: Path  # the JPEG preview
    photo_taken: datetime | None  # camera time as the photo states it (no time zone); None: unknown


def case_thumbnail(photo_path: Path, photo_sha256: str, *, size: int = THUMBNAIL_SIZE) -> CaseThumbnail:
    """The cached preview of a case photo, made (and cached) first if missing or stale.

    Raises ``CaseError`` when the photo cannot be read or the preview cannot be written.
    """
    photo_path = Path(photo_path)
    jpg, meta_path = photo_path.with_name(THUMBNAIL_NAME), photo_path.with_name(META_NAME)
    meta = _read_meta(meta_path)
    if meta is not None and meta.get("photo_sha256") == photo_sha256 and meta.get("size") == size and jpg.is_file():
        return CaseThumbnail(jpg, _parse_iso(meta.get("photo_taken")))
    try:
        photo = load_photo(photo_path)
    except InferenceError as exc:
        raise CaseError(f"No preview: {exc}") from exc
    taken = photo_date(photo_path, photo.dicom)
    # the case may be deleted while its preview is made (a worker thread): never recreate its folder
    atomic_write_bytes(jpg, encode_thumbnail(photo.rgb, size), create_folder=False)
    atomic_write_bytes(meta_path, json.dumps({
        "photo_sha256": photo_sha256, "size": size,
        "photo_taken": None if taken is None else taken.isoformat()}).encode("utf-8"), create_folder=False)
    return CaseThumbnail(jpg, taken)


def encode_thumbnail(rgb: np.ndarray, size: int = THUMBNAIL_SIZE) -> bytes:
    """A JPEG (quality 85, no metadata) of the image shrunk to fit ``size`` x ``size``."""
    image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def photo_date(path: Path, dicom: Any = None) -> datetime | None:
    """When the photo was taken: EXIF DateTimeOriginal (else DateTime), or the DICOM acquisition,
    content or study date; None when the file does not say (a date is optional information)."""
    if dicom is not None:
        for date_key, time_key in (("AcquisitionDate", "AcquisitionTime"), ("ContentDate", "ContentTime"),
                                   ("StudyDate", "StudyTime"), ("SeriesDate", "SeriesTime")):
            when = _dicom_datetime(str(dicom.get(date_key, "") or ""), str(dicom.get(time_key, "") or ""))
            if when is not None:
                return when
        return None
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            value = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
    except Exception:  # noqa: BLE001 - an unreadable header only means the date is unknown
        return None
    return _exif_datetime(value)


def _exif_datetime(value: object) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _dicom_datetime(date: str, time: str) -> datetime | None:
    date, time = date.strip(), time.strip().split(".")[0]
    if len(date) != 8 or not date.isdigit():
        return None
    time = (time if time.isdigit() else "")[:6].ljust(6, "0")
    try:
        return datetime.strptime(date + time, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def _read_meta(path: Path) -> dict | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _parse_iso(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
