"""Read the first image of a DICOM file as 8-bit RGB, keeping its header for the DICOM export.

Clinical photos arrive as VL Photographic or Secondary Capture objects: RGB, YBR_FULL(_422),
PALETTE COLOR or MONOCHROME, sometimes multi-frame or compressed. pydicom decodes what its
installed handlers allow; anything else becomes an ``ImageReadError`` a clinician can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from inference.errors import ImageReadError

DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic"})
# Same ceiling as for ordinary photos (``inference.io.photo.MAX_PIXELS``); repeated to avoid a cycle.
MAX_PIXELS = 120_000_000
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass(frozen=True)
class DicomImage:
    """The first frame as uint8 RGB and the dataset with its pixel data removed."""

    rgb: np.ndarray
    dataset: "pydicom.Dataset"  # noqa: F821 - pydicom is imported lazily


def looks_like_dicom(path: str | PathLike[str]) -> bool:
    """True for a file with the DICOM preamble ("DICM" at byte 128) or a DICOM file name."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_dicom(path: str | PathLike[str]) -> DicomImage:
    """Decode the first frame of ``path``; the returned dataset no longer holds pixel data."""
    import pydicom

    path = Path(path)
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as exc:  # pydicom raises many kinds of errors on damaged files
        raise ImageReadError(f"{path.name} is not a readable DICOM file ({type(exc).__name__}: {exc}).") from exc
    try:
        if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
            raise ImageReadError(
                f"{path.name} is a DICOM file without an image (for example a report or a structured "
                "document). Open the DICOM photo itself.")
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        if rows <= 0 or columns <= 0:
            raise ImageReadError(f"{path.name} does not state the size of its image (Rows/Columns).")
        if rows * columns > MAX_PIXELS:
            raise ImageReadError(
                f"{path.name} claims an image of {columns} x {rows} pixels, more than the "
                f"{MAX_PIXELS // 1_000_000} megapixels this program opens.")
        check_pixel_header(ds, path.name)
        frame = _decode_first_frame(ds, path.name)
        check_planar_configuration(ds, frame, path.name)
        rgb = _to_rgb8(frame, ds, path.name)
    except ImageReadError:
        raise
    except Exception as exc:  # a mutated header makes pydicom raise ValueError, TypeError, NotImplementedError...
        raise ImageReadError(f"The DICOM header of {path.name} is damaged ({type(exc).__name__}: {exc}).") from exc
    for keyword in _PIXEL_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    return DicomImage(rgb, ds)


def read_dicom_rgb(path: str | PathLike[str]) -> np.ndarray:
    """Only the pixels of :func:`read_dicom`."""
    return read_dicom(path).rgb


_SAMPLES = {"MONOCHROME1": 1, "MONOCHROME2": 1, "PALETTE COLOR": 1, "RGB": 3, "YBR_FULL": 3,
            "YBR_FULL_422": 3, "YBR_ICT": 3, "YBR_RCT": 3, "YBR_PARTIAL_420": 3}


def check_pixel_header(ds: "pydicom.Dataset", name: str) -> None:  # noqa: F821
    """Refuse a header that does not describe its own pixel data (instead of decoding garbage).

    Checks what pydicom only warns about or silently accepts: samples per pixel against the colour
    model, signed colour samples, and, for uncompressed data, the byte count that Rows x Columns x
    SamplesPerPixel x BitsAllocated x frames promises against the bytes really there.
    """
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if photometric in _SAMPLES and samples != _SAMPLES[photometric]:
        raise ImageReadError(f"The header of {name} is inconsistent: a {photometric} image has "
                             f"{_SAMPLES[photometric]} sample(s) per pixel, but SamplesPerPixel says {samples}.")
    if samples == 3 and int(ds.get("PixelRepresentation", 0) or 0) != 0:
        raise ImageReadError(f"The header of {name} is inconsistent: colour samples must be unsigned "
                             "(PixelRepresentation 0).")
    syntax = ds.file_meta.get("TransferSyntaxUID") if getattr(ds, "file_meta", None) is not None else None
    if "PixelData" not in ds or (syntax is not None and syntax.is_compressed):
        return
    data = ds["PixelData"].value
    if not isinstance(data, (bytes, bytearray)):
        return
    rows, columns = int(ds.Rows), int(ds.Columns)
    bits = int(ds.get("BitsAllocated", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if bits not in (1, 8, 16, 32) or frames < 1:
        raise ImageReadError(f"The header of {name} is inconsistent: BitsAllocated {bits} and "
                             f"NumberOfFrames {frames} do not describe an image.")
    values = rows * columns * samples * frames
    expected = (values + 7) // 8 if bits == 1 else values * bits // 8
    if len(data) not in (expected, expected + 1):  # one byte of padding keeps the element length even
        raise ImageReadError(
            f"The header of {name} does not match its image: {columns} x {rows} pixels, {samples} sample(s) "
            f"of {bits} bits and {frames} frame(s) need {expected} bytes, but the file holds {len(data)}. "
            "The file was changed or damaged after it was made; export the photo again.")


def check_planar_configuration(ds: "pydicom.Dataset", frame: np.ndarray, name: str) -> None:  # noqa: F821
    """Refuse uncompressed colour data whose PlanarConfiguration contradicts the pixels.

    Interleaved (RGBRGB) data read as planes, or the reverse, gives an image far rougher than the
    other reading; a photo is never like that, so the wrong tag is reported instead of a
    scrambled photo being shown (and later reported as "no face").
    """
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if frame.ndim != 3 or frame.shape[2] != 3 or syntax is None or syntax.is_compressed:
        return
    if int(ds.get("SamplesPerPixel", 1) or 1) != 3 or min(frame.shape[:2]) < 8:
        return
    planar = int(ds.get("PlanarConfiguration", 0) or 0)
    flat = np.ascontiguousarray(frame).reshape(-1) if planar == 0 else np.moveaxis(frame, 2, 0).reshape(-1)
    h, w = frame.shape[:2]
    other = flat.reshape(3, h, w).transpose(1, 2, 0) if planar == 0 else flat.reshape(h, w, 3)
    if _roughness(other) * 2.0 < _roughness(frame):
        raise ImageReadError(f"The header of {name} does not match its image: PlanarConfiguration {planar} "
                             f"says the colour samples are {'interleaved' if planar == 0 else 'in planes'}, but "
                             "the pixel data are stored the other way. Export the photo again.")


def _roughness(rgb: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels (both directions), all channels."""
    data = rgb.astype(np.float32)
    return float(np.abs(np.diff(data, axis=0)).mean() + np.abs(np.diff(data, axis=1)).mean())


def _decode_first_frame(ds: "pydicom.Dataset", name: str) -> np.ndarray:  # noqa: F821
    from pydicom.pixels import pixel_array

    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    if not isinstance(getattr(ds, "file_meta", None), FileMetaDataset):
        ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" not in ds.file_meta:
        # Files written without meta information are almost always uncompressed little endian.
        implicit = bool(ds.original_encoding[0]) if ds.original_encoding[0] is not None else True
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        return pixel_array(ds, index=0)
    except (NotImplementedError, RuntimeError) as exc:
        if syntax.is_compressed:
            raise ImageReadError(
                f"{name} is compressed as '{syntax.name}', which this installation cannot decode. "
                "Export the photo from the archive uncompressed or as JPEG baseline (or ask IT to "
                "install pylibjpeg with its plugins).") from exc
        raise ImageReadError(f"The image in {name} cannot be decoded: {exc}") from exc
    except Exception as exc:  # damaged or truncated pixel data
        raise ImageReadError(f"The image in {name} is damaged or incomplete ({exc}).") from exc


def _to_rgb8(frame: np.ndarray, ds: "pydicom.Dataset", name: str) -> np.ndarray:  # noqa: F821
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        try:
            frame = apply_color_lut(frame, ds)
        except Exception as exc:
            raise ImageReadError(f"The colour palette of {name} is missing or damaged ({exc}).") from exc
        return _scale_to_uint8(frame, bits=8 * frame.dtype.itemsize)
    bits = int(ds.get("BitsStored", 8 * frame.dtype.itemsize) or 8)
    if frame.ndim == 2:
        gray = _scale_to_uint8(frame, bits)
        if photometric == "MONOCHROME1":  # 0 = white in MONOCHROME1
            gray = 255 - gray
        return np.repeat(gray[..., None], 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] == 3:
        # pydicom has already converted YBR_FULL / YBR_FULL_422 to RGB (raw=False).
        return np.ascontiguousarray(_scale_to_uint8(frame, bits))
    raise ImageReadError(
        f"{name} has an image layout this program does not handle ({photometric}, shape {frame.shape}).")


def _scale_to_uint8(values: np.ndarray, bits: int) -> np.ndarray:
    """Map ``bits``-bit samples (or signed/float data by their range) onto 0-255."""
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind == "u" and 0 < bits <= 16:
        top = (1 << bits) - 1
        clipped = np.minimum(values, top).astype(np.uint32)
        return ((clipped * 255 + top // 2) // top).astype(np.uint8)
    data = values.astype(np.float64)
    lo, hi = float(data.min()), float(data.max())
    if hi <= lo:
        return np.zeros(values.shape, np.uint8)
    return np.rint((data - lo) * (255.0 / (hi - lo))).astype(np.uint8)
