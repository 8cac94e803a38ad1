"""The square face crop shared by training and inference, so both see the same framing.

The square is centred on the bounding box of the 68 landmarks and is ``CROP_SCALE`` times its
longer side. 1.3 keeps the whole face (brows to chin) and gives the lip as many of the network's
256 pixels as possible; the 300-W crops in ``shared/data/300w-crops`` (1.6x) contain this square,
so landmark accuracy is measured by re-cropping them with the same function. Parts of the square
outside the photo (small, tightly cropped open-data faces) are filled by mirroring the border.
Both directions of the transform (points, images, masks) are methods of ``FaceCrop``, so no
caller writes the inverse itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.io.mask_codec import decode_mask, encode_mask_image

CROP_SCALE = 1.3


@dataclass(frozen=True)
class FaceCrop:
    """A square ``[x0, x0 + size) x [y0, y0 + size)`` in photo pixels (may reach outside the photo)."""

    x0: float
    y0: float
    size: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``(left, top, right, bottom)`` in photo pixels, as reports and the face overlay draw it."""
        return self.x0, self.y0, self.x0 + self.size, self.y0 + self.size

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

    # ---- points: photo pixels <-> crop pixels <-> [0, 1] of the crop (NaN stays NaN) ------------

    def to_crop(self, points: np.ndarray, out_size: int) -> np.ndarray:
        """Photo-pixel points ``(..., 2)`` in the pixels of the ``out_size`` square crop."""
        return ((np.asarray(points, np.float32) - (self.x0, self.y0)) * (out_size / self.size)).astype(np.float32)

    def to_photo(self, points: np.ndarray, out_size: int) -> np.ndarray:
        """Points in the pixels of the ``out_size`` square crop back in photo pixels (inverse of ``to_crop``)."""
        return (np.asarray(points, np.float32) * (self.size / out_size) + (self.x0, self.y0)).astype(np.float32)

    def to_crop_norm(self, points: np.ndarray) -> np.ndarray:
        """Photo-pixel points in [0, 1] of the crop, the networks' landmark convention."""
        return ((np.asarray(points, np.float64) - (self.x0, self.y0)) / self.size).astype(np.float32)

    def norm_to_photo(self, points_norm: np.ndarray) -> np.ndarray:
        """Points in [0, 1] of the crop back in photo pixels (inverse of ``to_crop_norm``)."""
        return (np.asarray(points_norm, np.float64) * self.size + (self.x0, self.y0)).astype(np.float32)

    # ---- images and masks: crop resolution <-> photo pixels ---------------------------------------

    def window_to_crop_matrix(self, out_size: int, top: int, left: int) -> np.ndarray:
        """The 2x3 affine from pixel indices of a photo window at ``(top, left)`` to crop pixel indices.

        Pixel centres are aligned: photo pixel x (centre x + 0.5) sits at crop coordinate
        ``(x + 0.5 - x0) / k`` with ``k`` photo pixels per crop pixel, i.e. at index that - 0.5.
        """
        k = self.size / out_size
        return np.array([[1 / k, 0, (left + 0.5 - self.x0) / k - 0.5],
                         [0, 1 / k, (top + 0.5 - self.y0) / k - 0.5]], dtype=np.float64)

    def sample_in_photo(self, crop_image: np.ndarray, top: int, left: int, height: int, width: int,
                        interpolation: int = cv2.INTER_CUBIC, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
        """A crop-resolution image sampled at the photo pixels of one rectangle (the inverse of ``extract``)."""
        inverse = self.window_to_crop_matrix(crop_image.shape[0], top, left)
        return cv2.warpAffine(crop_image, inverse, (width, height), flags=interpolation | cv2.WARP_INVERSE_MAP,
                              borderMode=border, borderValue=0)

    def hole_in_photo(self, hole: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, np.ndarray]:
        """A crop-resolution hole on the photo's pixels: ``(top, left, bool region)`` of the window holding it.

        Bilinear, and a photo pixel is hole where the resampled hole is at least half (the mask
        codec's threshold on the 8-bit image). The window is the hole's box plus one pixel, clipped
        to the photo of ``shape`` (H, W); it is empty when the hole lies outside the photo.
        """
        resolution = hole.shape[0]
        k = self.size / resolution
        h, w = shape[:2]
        cleft, ctop, cw, ch = cv2.boundingRect(np.ascontiguousarray(hole, dtype=bool).view(np.uint8))
        if cw == 0 or ch == 0:
            return 0, 0, np.zeros((0, 0), bool)
        top, left = max(0, int(np.floor(self.y0 + ctop * k)) - 1), max(0, int(np.floor(self.x0 + cleft * k)) - 1)
        bottom = min(h, int(np.ceil(self.y0 + (ctop + ch) * k)) + 1)
        right = min(w, int(np.ceil(self.x0 + (cleft + cw) * k)) + 1)
        if bottom <= top or right <= left:
            return 0, 0, np.zeros((0, 0), bool)
        region = self.sample_in_photo(encode_mask_image(hole), top, left, bottom - top, right - left,
                                      cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)
        return top, left, decode_mask(region)

    def mask_to_photo(self, hole: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """A crop-resolution hole as a bool mask of the whole photo of ``shape`` (see ``hole_in_photo``)."""
        top, left, region = self.hole_in_photo(hole, shape)
        photo_mask = np.zeros(shape[:2], bool)
        photo_mask[top:top + region.shape[0], left:left + region.shape[1]] = region
        return photo_mask

    def mask_to_crop(self, mask: np.ndarray, out_size: int,
                     bounds: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """A photo mask at crop resolution: a crop pixel is hole if any photo pixel it overlaps is.

        Exact and limited to the mask's box ``bounds`` (top, left, bottom, right; computed when not
        given): prefix sums count hole pixels per crop cell.
        """
        if bounds is None:
            x, y, bw, bh = cv2.boundingRect(np.ascontiguousarray(mask, dtype=bool).view(np.uint8))
            if bw == 0 or bh == 0:
                return np.zeros((out_size, out_size), bool)
            bounds = (y, x, y + bh, x + bw)
        top, left, bottom, right = bounds
        k = self.size / out_size
        region = mask[top:bottom, left:right]
        y_first, y_last, y_from, y_to = _cell_spans(top, bottom, self.y0, k, out_size)
        x_first, x_last, x_from, x_to = _cell_spans(left, right, self.x0, k, out_size)
        per_row = np.zeros((region.shape[0] + 1, region.shape[1]), np.int32)
        np.cumsum(region, axis=0, out=per_row[1:])
        rows = (per_row[y_to] - per_row[y_from]) > 0                       # (cells_y, width)
        per_col = np.zeros((rows.shape[0], rows.shape[1] + 1), np.int32)
        np.cumsum(rows, axis=1, out=per_col[:, 1:])
        hole = np.zeros((out_size, out_size), bool)
        hole[y_first:y_last, x_first:x_last] = (per_col[:, x_to] - per_col[:, x_from]) > 0
        return hole


def _cell_spans(lo: int, hi: int, origin: float, k: float,
                resolution: int) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Crop cells overlapping photo pixels ``[lo, hi)`` and, per cell, its pixel range relative to ``lo``.

    Cell j covers ``[origin + j k, origin + (j + 1) k)``; pixel x overlaps it iff
    ``floor(origin + j k) <= x < ceil(origin + (j + 1) k)``.
    """
    first = max(0, int(np.floor((lo - origin) / k)))
    last = min(resolution, int(np.ceil((hi - origin) / k)))
    cells = np.arange(first, last)
    starts = np.clip(np.floor(origin + cells * k).astype(np.int64) - lo, 0, hi - lo)
    ends = np.clip(np.ceil(origin + (cells + 1) * k).astype(np.int64) - lo, 0, hi - lo)
    return first, last, starts, ends


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
