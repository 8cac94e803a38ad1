"""numpy <-> Qt image conversions (copies, so Qt never points into freed numpy memory)."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage, QPixmap


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


def pyramid(rgb: np.ndarray, min_side: int = 512) -> list[QPixmap]:
    """Full resolution then halvings (area-filtered) down to ``min_side``: drawing at low zoom
    reads a level close to the screen size instead of resampling 24 megapixels per frame."""
    return to_pixmaps(pyramid_images(rgb, min_side))


def pyramid_images(rgb: np.ndarray, min_side: int = 512) -> list[QImage]:
    """The pyramid as QImages: safe to build on a worker thread (QPixmap is GUI-thread only)."""
    levels = [rgb_to_qimage(rgb)]
    current = rgb
    while min(current.shape[:2]) // 2 >= min_side:
        current = cv2.resize(current, (current.shape[1] // 2, current.shape[0] // 2), interpolation=cv2.INTER_AREA)
        levels.append(rgb_to_qimage(current))
    return levels


def to_pixmaps(images: list[QImage]) -> list[QPixmap]:
    return [QPixmap.fromImage(image) for image in images]
