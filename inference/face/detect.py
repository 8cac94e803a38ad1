"""Face detection: dlib's HOG detector, with dlib's CNN (MMOD) detector when HOG finds none."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from inference.face.model_files import dlib_model_path


@dataclass(frozen=True)
class FaceBox:
    """A face rectangle in photo pixels (right/bottom exclusive), with the detector that found it."""

    left: float
    top: float
    right: float
    bottom: float
    detector: str = "manual"

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)


@functools.cache
def _hog_detector():
    import dlib

    return dlib.get_frontal_face_detector()


@functools.cache
def _cnn_detector():
    import dlib

    return dlib.cnn_face_detection_model_v1(str(dlib_model_path("mmod_human_face_detector.dat")))


# Small photos are upsampled so that faces of ~40 px (CelebA at half resolution) are still found;
# large ones are detected on a downscaled copy because HOG's cost grows with the pixel count.
_DETECT_LONG_SIDE = 800
# dlib's CNN detector fails inside its pyramid (a RuntimeError, not "no face") on images a few
# pixels across; nothing that small can hold a detectable face anyway.
MIN_DETECT_SIDE = 32


def _detection_scale(rgb: np.ndarray) -> tuple[float, int]:
    long_side = max(rgb.shape[:2])
    if long_side > _DETECT_LONG_SIDE:
        return _DETECT_LONG_SIDE / long_side, 0
    return 1.0, 2 if long_side < 160 else 1


def detect_faces(rgb: np.ndarray, allow_cnn_fallback: bool = True) -> list[FaceBox]:
    """All faces in an RGB uint8 photo, largest first, in photo pixels."""
    import cv2

    scale, upsample = _detection_scale(rgb)
    small = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small)
    if min(small.shape[:2]) < MIN_DETECT_SIDE:
        return []
    rects = [(r, "dlib-hog") for r in _hog_detector()(small, upsample)]
    if not rects and allow_cnn_fallback:
        rects = [(d.rect, "dlib-cnn") for d in _cnn_detector()(small, max(upsample, 1))]
    boxes = [
        FaceBox(r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale, name)
        for r, name in rects
    ]
    return sorted(boxes, key=lambda b: b.area, reverse=True)
