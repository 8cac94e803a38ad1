"""numpy <-> Qt image conversions (copies, so Qt never points into freed numpy memory).

Display pyramids are built as ``Format_RGB32`` images (the raster engine's own format), filled by
OpenCV straight into the image's buffer on a worker thread, so turning them into pixmaps on the GUI
thread is a plain copy instead of a conversion of 24 megapixels. A prediction's pyramid is the
photo's, drawn under the patch's region of each level (:func:`patch_pyramid`, :class:`PredictionLevels`),
pixel for pixel the pyramid of the repaired photo, without a second full-resolution copy.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtGui import QImage, QPainter, QPixmap

Box = tuple[int, int, int, int]  # x0, y0, x1, y1, right/bottom exclusive


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """uint8 (H, W, 3) RGB -> an RGB888 QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return data[:, : 3 * w].reshape(h, w, 3).copy()


def display_image(rgb: np.ndarray, region: Box | None = None, region_rgb: np.ndarray | None = None) -> QImage:
    """An RGB32 QImage of ``rgb`` (uint8 (H, W, 3)), with ``region_rgb`` written over ``region`` if given."""
    h, w = rgb.shape[:2]
    if sys.byteorder != "little":  # RGB32 is B, G, R, 255 in memory only on little-endian machines
        if region is not None:
            rgb = rgb.copy()
            rgb[region[1]:region[3], region[0]:region[2]] = region_rgb
        return rgb_to_qimage(rgb)
    image = QImage(w, h, QImage.Format.Format_RGB32)
    view = np.frombuffer(image.bits(), np.uint8).reshape(h, image.bytesPerLine())[:, :4 * w].reshape(h, w, 4)
    cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA, dst=view)
    if region is not None:
        x0, y0, x1, y1 = region
        view[y0:y1, x0:x1] = cv2.cvtColor(np.ascontiguousarray(region_rgb), cv2.COLOR_RGB2BGRA)
    return image


def pyramid(rgb: np.ndarray, min_side: int = 512) -> list[QPixmap]:
    """Full resolution then halvings (area-filtered) down to ``min_side``: drawing at low zoom
    reads a level close to the screen size instead of resampling 24 megapixels per frame."""
    return to_pixmaps(pyramid_images(rgb, min_side))


def pyramid_arrays(rgb: np.ndarray, min_side: int = 512) -> list[np.ndarray]:
    """The pyramid's levels as RGB arrays; level 0 is ``rgb`` itself (not copied)."""
    levels = [rgb]
    current = rgb
    while min(current.shape[:2]) // 2 >= min_side:
        current = cv2.resize(current, (current.shape[1] // 2, current.shape[0] // 2), interpolation=cv2.INTER_AREA)
        levels.append(current)
    return levels


def pyramid_images(rgb: np.ndarray, min_side: int = 512) -> list[QImage]:
    """The pyramid as QImages: safe to build on a worker thread (QPixmap is GUI-thread only)."""
    return display_pyramid(rgb, min_side)[1]


def display_pyramid(rgb: np.ndarray, min_side: int = 512) -> tuple[list[np.ndarray], list[QImage]]:
    """``pyramid_arrays`` and ``pyramid_images`` of a photo in one pass (a worker keeps both)."""
    arrays = pyramid_arrays(rgb, min_side)
    return arrays, [display_image(level) for level in arrays]


@dataclass(frozen=True, eq=False)
class PatchPyramid:
    """A prediction's display pyramid as built on a worker: for each level of the photo's pyramid,
    the region the patch changes there (x0, y0, x1, y1 of that level) and its pixels (RGB32 QImages).

    Drawn over the photo's own levels (:class:`PredictionLevels`), it shows exactly
    ``pyramid_images`` of the repaired photo without a second full-resolution copy of it.
    """

    images: list[QImage]
    regions: list[Box]


def patch_pyramid(levels: list[np.ndarray], pixels: np.ndarray, box: Box) -> PatchPyramid:
    """The patch regions of ``pyramid_images(photo with pixels at box)`` given the photo's ``pyramid_arrays``.

    Only the patch's region of each level is filtered again: an exact halving (even width and
    height) makes every pixel of the next level the area mean of its own 2 x 2 block, so outside
    the region the photo's level is already right. After a level that is not an exact halving the
    region is the whole level, filtered as ``pyramid_arrays`` does.
    """
    region, region_rgb = tuple(int(v) for v in box), np.asarray(pixels)
    regions, rgbs = [region], [region_rgb]
    for prev, level in zip(levels, levels[1:]):
        (ph, pw), (h, w) = prev.shape[:2], level.shape[:2]
        x0, y0, x1, y1 = region
        if ph % 2 == 0 and pw % 2 == 0 and (h, w) == (ph // 2, pw // 2):
            nx0, ny0, nx1, ny1 = x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2
            sx0, sy0, sx1, sy1 = 2 * nx0, 2 * ny0, 2 * nx1, 2 * ny1
        else:
            nx0, ny0, nx1, ny1 = 0, 0, w, h
            sx0, sy0, sx1, sy1 = 0, 0, pw, ph
        source = prev[sy0:sy1, sx0:sx1].copy()
        source[y0 - sy0:y1 - sy0, x0 - sx0:x1 - sx0] = region_rgb
        region = (nx0, ny0, nx1, ny1)
        region_rgb = cv2.resize(source, (nx1 - nx0, ny1 - ny0), interpolation=cv2.INTER_AREA)
        regions.append(region)
        rgbs.append(region_rgb)
    return PatchPyramid([display_image(rgb) for rgb in rgbs], regions)


def patched_pyramid(levels: list[np.ndarray], pixels: np.ndarray, box: Box) -> list[QImage]:
    """Whole levels of the repaired photo's pyramid from the photo's ``levels`` and the patch (for tools
    and tests; the app draws :class:`PatchPyramid` over the photo's pixmaps instead)."""
    patch = patch_pyramid(levels, pixels, box)
    return [display_image(level, region, qimage_to_rgb(image))
            for level, region, image in zip(levels, patch.regions, patch.images)]


class PredictionLevels(Sequence):
    """A prediction as the viewers draw it: the photo's pixmaps, each with its level's patch on top.

    Indexing gives the photo's level (its size and scale); :meth:`patch` what to draw over it.
    """

    def __init__(self, base: list[QPixmap], pyramid: PatchPyramid) -> None:
        if len(base) != len(pyramid.images):
            raise ValueError("the patch pyramid was not built on this photo's pyramid")
        self.base = base
        self.patches = to_pixmaps(pyramid.images)
        self.regions = list(pyramid.regions)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index):  # noqa: ANN001, ANN204 - Sequence protocol
        return self.base[index]

    def patch(self, level: int) -> tuple[QPixmap, Box]:
        return self.patches[level], self.regions[level]

    def composed(self, level: int = -1) -> QPixmap:
        """One level as a single pixmap (the gallery's thumbnail is made from the smallest)."""
        out = QPixmap(self.base[level])
        patch, (x0, y0, _x1, _y1) = self.patch(level)
        painter = QPainter(out)
        painter.drawPixmap(x0, y0, patch)
        painter.end()
        return out


def to_pixmaps(images: list[QImage]) -> list[QPixmap]:
    return [QPixmap.fromImage(image) for image in images]
