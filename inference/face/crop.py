"""The square face crop shared by training and inference, so both see the same framing.

The square is centred on the bounding box of the 68 landmarks and is ``CROP_SCALE`` times its
longer side. 1.3 keeps the whole face (brows to chin) and gives the lip as many of the network's
256 pixels as possible; the 300-W crops in ``shared/data/300w-crops`` (1.6x) contain this square,
so landmark accuracy is measured by re-cropping them with the same function. Parts of the square
outside the photo (small, tightly cropped open-data faces) are filled by mirroring the border.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CROP_SCALE = 1.3


@dataclass(frozen=True)
class FaceCrop:
    """A square ``[x0, x0 + size) x [y0, y0 + size)`` in photo pixels (may reach outside the photo)."""

    x0: float
    y0: float
    size: float

    def _affine(self, out_size: int) -> np.ndarray:
        s = out_size / self.size
        return np.array([[s, 0, -self.x0 * s], [0, s, -self.y0 * s]], dtype=np.float64)

    def extract(self, rgb: np.ndarray, out_size: int, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
        """The crop resampled to ``out_size`` square (area-averaged when shrinking)."""
        if interpolation == cv2.INTER_AREA and self.size < out_size:
            interpolation = cv2.INTER_CUBIC
        if interpolation == cv2.INTER_AREA:
            # warpAffine has no area filter: cut the integer window first, then resize.
            x0, y0, n = int(np.floor(self.x0)), int(np.floor(self.y0)), int(np.ceil(self.size))
            h, w = rgb.shape[:2]
            pad = [max(0, -y0), max(0, y0 + n - h), max(0, -x0), max(0, x0 + n - w)]
            window = rgb[max(0, y0):min(h, y0 + n), max(0, x0):min(w, x0 + n)]
            if any(pad):
                window = cv2.copyMakeBorder(window, *pad, borderType=cv2.BORDER_REFLECT_101)
            return cv2.resize(window, (out_size, out_size), interpolation=cv2.INTER_AREA)
        return cv2.warpAffine(rgb, self._affine(out_size), (out_size, out_size), flags=interpolation,
                              borderMode=cv2.BORDER_REFLECT_101)

    def snapped(self) -> "FaceCrop":
        """The same crop on whole pixels, so ``extract`` with area filtering is exact."""
        return FaceCrop(float(np.floor(self.x0)), float(np.floor(self.y0)), float(np.ceil(self.size)))

    def to_crop(self, points: np.ndarray, out_size: int) -> np.ndarray:
        return ((np.asarray(points, np.float32) - (self.x0, self.y0)) * (out_size / self.size)).astype(np.float32)

    def to_photo(self, points: np.ndarray, out_size: int) -> np.ndarray:
        return (np.asarray(points, np.float32) * (self.size / out_size) + (self.x0, self.y0)).astype(np.float32)


def crop_from_landmarks(landmarks: np.ndarray, scale: float = CROP_SCALE) -> FaceCrop:
    """The square crop around 68 landmarks (photo pixels), snapped to whole pixels."""
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    centre = (lo + hi) / 2
    size = float(max(hi - lo)) * scale
    return FaceCrop(float(centre[0] - size / 2), float(centre[1] - size / 2), size).snapped()


def crop_from_box(left: float, top: float, right: float, bottom: float) -> FaceCrop:
    """A crop the clinician drew by hand (no face found): the square around their rectangle."""
    size = max(right - left, bottom - top)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    return FaceCrop(cx - size / 2, cy - size / 2, size).snapped()
