"""The face pipeline: photo + mask in, full-resolution photo with the repaired lip out.

detect the face -> 68 landmarks -> the square crop training uses (``crop_from_landmarks``) ->
resize to the model's resolution -> inpaint -> paste back only the (feathered) mask. When no face
is found the clinician draws the face square (``analyse_manual``); landmarks then come only from
the model's landmark branch. Landmarks given in photo pixels (a surgeon's edit, ``--landmarks-in``)
are mapped to the crop and steer a landmark-guided network's image branch. Stage timings travel
with every result for the benchmark and logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np

from inference.errors import InferenceError, MaskError, NoFaceError, SteeringError
from inference.face.blend import Patch, blend_patch, default_feather, mask_bounds
from inference.face.crop import FaceCrop, crop_from_box, crop_from_landmarks
from inference.face.detect import FaceBox, detect_faces
from inference.face.landmarks import LandmarkDetector, default_landmark_detector
from inference.io.photo import Photo
from inference.models.base import InpaintModel

_MIN_MANUAL_BOX = 16  # pixels; a smaller square cannot hold a face the network could work on
MIN_PHOTO_SIDE = 32  # pixels; a smaller photo cannot hold a face the detector could find


@dataclass(frozen=True)
class FaceAnalysis:
    """Where the face is: its box, detector landmarks (photo pixels) and the square crop."""

    box: FaceBox
    crop: FaceCrop
    landmarks: np.ndarray | None
    landmark_detector: str | None
    faces_found: int
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def manual(self) -> bool:
        return self.box.detector == "manual"


@dataclass(frozen=True)
class PreparedCase:
    """A case ready for the network: the crop and its hole at model resolution, the photo mask."""

    rgb: np.ndarray
    mask: np.ndarray
    mask_bounds: tuple[int, int, int, int]
    analysis: FaceAnalysis
    crop_image: np.ndarray
    crop_hole: np.ndarray
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    guide_norm: np.ndarray | None = field(default=None, compare=False)   # (68, 2) in [0, 1] of the crop, NaN = keep


@dataclass(frozen=True)
class PipelineResult:
    """The repaired full-resolution photo and everything needed to show or audit it.

    ``patch`` holds the only pixels that changed; ``image`` (the whole repaired photo) is made from
    it and the input ``photo`` on first use, so callers that keep only the patch never copy a
    24-megapixel photo.
    """

    patch: Patch
    mask: np.ndarray
    analysis: FaceAnalysis
    crop_input: np.ndarray
    crop_hole: np.ndarray
    crop_prediction: np.ndarray
    landmarks: np.ndarray | None
    landmarks_norm: np.ndarray | None
    model_name: str
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    guide_landmarks: np.ndarray | None = field(default=None, compare=False)
    """Photo pixels: the landmarks the image branch drew from when steered (given, else predicted), else None."""
    photo: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The input photo (not copied)."""

    @cached_property
    def image(self) -> np.ndarray:
        """The repaired photo: a copy of the input with the patch pasted in."""
        return self.patch.apply(self.photo)


@dataclass(frozen=True)
class CaseOutcome:
    """One case of :meth:`FacePipeline.predict_many`: a result or the clinician-facing error."""

    index: int
    result: PipelineResult | None
    error: InferenceError | None


MaskSpace = Literal["photo", "crop"]
"""What a mask was drawn on: the full photo, or the model's square face crop."""

CaseLoader = Callable[[], tuple[np.ndarray, np.ndarray, "FaceAnalysis | None"]]


class FacePipeline:
    """Stateless apart from the (cached) landmark detector; safe to reuse for many photos."""

    def __init__(self, landmark_detector: LandmarkDetector | None = None, feather_px: float | None = None,
                 allow_cnn_fallback: bool = True) -> None:
        self._landmark_detector = landmark_detector
        self.feather_px = feather_px
        self.allow_cnn_fallback = allow_cnn_fallback

    @property
    def landmark_detector(self) -> LandmarkDetector:
        if self._landmark_detector is None:
            self._landmark_detector = default_landmark_detector()
        return self._landmark_detector

    # ------------------------------------------------------------ finding the face

    def analyse(self, rgb: np.ndarray) -> FaceAnalysis:
        """Detect the largest face and its 68 landmarks; ``NoFaceError`` if there is none."""
        _check_rgb(rgb)
        h, w = rgb.shape[:2]
        if min(h, w) < MIN_PHOTO_SIDE:
            raise NoFaceError(f"This photo is only {w} x {h} pixels, too small to hold a face (at least "
                              f"{MIN_PHOTO_SIDE} pixels wide and high are needed). Open the full-size photo.")
        start = time.perf_counter()
        faces = detect_faces(rgb, allow_cnn_fallback=self.allow_cnn_fallback)
        detected = time.perf_counter()
        if not faces:
            raise NoFaceError("No face was found in this photo. Draw a square around the face by hand to continue.")
        detector = self.landmark_detector
        landmarks = detector(rgb, faces[0])
        done = time.perf_counter()
        return FaceAnalysis(faces[0], crop_from_landmarks(landmarks), landmarks, detector.name, len(faces),
                            {"detect": detected - start, "landmarks": done - detected})

    def analyse_manual(self, rgb: np.ndarray, box: FaceBox | tuple[float, float, float, float]) -> FaceAnalysis:
        """Use a face rectangle the clinician drew (left, top, right, bottom in photo pixels)."""
        _check_rgb(rgb)
        if not isinstance(box, FaceBox):
            left, top, right, bottom = (float(v) for v in box)
            box = FaceBox(left, top, right, bottom, "manual")
        h, w = rgb.shape[:2]
        if box.width < _MIN_MANUAL_BOX or box.height < _MIN_MANUAL_BOX:
            raise NoFaceError(f"The face square must be at least {_MIN_MANUAL_BOX} pixels wide and high.")
        if box.right <= 0 or box.bottom <= 0 or box.left >= w or box.top >= h:
            raise NoFaceError("The face square lies outside the photo.")
        crop = crop_from_box(box.left, box.top, box.right, box.bottom)
        return FaceAnalysis(box, crop, None, None, 0, {"detect": 0.0, "landmarks": 0.0})

    @staticmethod
    def with_landmarks(analysis: FaceAnalysis, landmarks: np.ndarray) -> FaceAnalysis:
        """The analysis with the photo's landmarks corrected by the clinician (photo pixels).

        The face crop follows the corrected points, exactly as it follows detected ones, so the
        crop, "Suggest mask" and the measures all read the same points.
        """
        points = np.asarray(landmarks, np.float32)
        if points.shape != (68, 2) or not np.isfinite(points).all():
            raise InferenceError(f"Corrected landmarks must be 68 finite (x, y) points, got shape {points.shape}.")
        return replace(analysis, crop=crop_from_landmarks(points), landmarks=points,
                       landmark_detector=f"{analysis.landmark_detector or 'manual'}, corrected by hand")

    # ------------------------------------------------------------ preparing the network input

    def prepare(self, rgb: np.ndarray, mask: np.ndarray, resolution: int,
                analysis: FaceAnalysis | None = None, mask_space: MaskSpace = "photo",
                landmarks: np.ndarray | None = None) -> PreparedCase:
        """Crop photo and mask for a model of ``resolution``.

        ``mask_space`` says what the mask was drawn on: the photo (default) or the model's face crop
        (``resolution`` square). It is never guessed from the size: a square photo mask of the crop's
        size would otherwise be pasted onto the wrong part of the face.

        ``landmarks`` (68, 2) in photo pixels, when given, steer the network (NaN: keep its own point).
        """
        _check_rgb(rgb)
        mask = _as_bool_mask(mask)
        h, w = rgb.shape[:2]
        if mask_space == "photo" and mask.shape != (h, w):
            raise MaskError(f"The mask is {mask.shape[1]} x {mask.shape[0]} pixels; it must match the photo "
                            f"({w} x {h}).")
        if mask_space == "crop" and mask.shape != (resolution, resolution):
            raise MaskError(f"The face-crop mask is {mask.shape[1]} x {mask.shape[0]} pixels; it must be "
                            f"{resolution} x {resolution} (the model's face crop).")
        if mask_space not in ("photo", "crop"):
            raise InferenceError(f"Unknown mask space {mask_space!r}: use 'photo' or 'crop'.")
        if not mask.any():
            raise MaskError("The mask has no painted region, so there is nothing to fill.")
        if analysis is None:
            analysis = self.analyse(rgb)
        start = time.perf_counter()
        crop = analysis.crop
        if mask_space == "photo":
            bounds = mask_bounds(mask)
            _check_inside_crop(bounds, crop)
            crop_hole = _photo_mask_to_crop(mask, bounds, crop, resolution)
        else:
            crop_hole = mask
            mask, bounds = _crop_mask_to_photo(mask, crop, rgb.shape[:2])
        crop_image = crop.extract(rgb, resolution)
        guide = None if landmarks is None else landmarks_to_crop_norm(landmarks, crop, resolution)
        timings = dict(analysis.timings, prepare=time.perf_counter() - start)
        return PreparedCase(rgb, mask, bounds, analysis, crop_image, crop_hole, timings, guide)

    # ------------------------------------------------------------ predicting

    def run(self, cases: list[PreparedCase], model: InpaintModel) -> list[PipelineResult]:
        """Inpaint prepared cases as one batch and paste each back into its photo."""
        if not cases:
            return []
        resolution = model.spec.resolution
        for case in cases:
            if case.crop_image.shape[0] != resolution:
                raise InferenceError(f"A case was prepared at {case.crop_image.shape[0]} px but "
                                     f"{model.spec.display_name} works at {resolution} px.")
        start = time.perf_counter()
        guides = None
        if any(c.guide_norm is not None for c in cases):
            guides = np.stack([np.full((68, 2), np.nan, np.float32) if c.guide_norm is None else c.guide_norm
                               for c in cases])
        predictions = model.predict_batch(np.stack([c.crop_image for c in cases]),
                                          np.stack([c.crop_hole for c in cases]), guides)
        forward = (time.perf_counter() - start) / len(cases)
        results = []
        for case, prediction in zip(cases, predictions):
            start = time.perf_counter()
            crop = case.analysis.crop
            feather = self.feather_px if self.feather_px is not None else default_feather(crop, resolution)
            patch = blend_patch(case.rgb, prediction.image, crop, case.mask, feather, case.mask_bounds)
            blended = time.perf_counter()
            landmarks = guide = None
            if prediction.landmarks_norm is not None:
                landmarks = crop.norm_to_photo(prediction.landmarks_norm)
            if prediction.guide_norm is not None:
                guide = crop.norm_to_photo(prediction.guide_norm)
            # "paste_blend" is the work inside the mask's box; the full repaired photo is made on demand.
            timings = dict(case.timings, forward=forward, paste_blend=blended - start,
                           paste=time.perf_counter() - start)
            results.append(PipelineResult(patch, case.mask, case.analysis, case.crop_image, case.crop_hole,
                                          prediction.image, landmarks, prediction.landmarks_norm,
                                          model.spec.name, timings, guide, case.rgb))
        return results

    def predict(self, photo: Photo | np.ndarray, mask: np.ndarray, model: InpaintModel,
                analysis: FaceAnalysis | None = None, mask_space: MaskSpace = "photo",
                landmarks: np.ndarray | None = None) -> PipelineResult:
        """One photo: analyse (unless given), crop, inpaint, paste back.

        ``landmarks`` (68, 2) in photo pixels steer a landmark-guided network (NaN: keep its own point).
        """
        rgb = photo.rgb if isinstance(photo, Photo) else photo
        return self.run([self.prepare(rgb, mask, model.spec.resolution, analysis, mask_space, landmarks)], model)[0]

    def predict_many(self, loaders: Iterable[CaseLoader], model: InpaintModel,
                     batch_size: int | None = None, mask_space: MaskSpace = "photo") -> Iterator[CaseOutcome]:
        """Many cases in batches; each loader returns ``(rgb, mask, analysis or None)`` when called,
        or ``(rgb, mask, analysis or None, landmarks in photo pixels or None)`` to steer the network.

        Loading lazily keeps at most one batch of full-size photos in memory. A case whose photo,
        face or mask is unusable yields an outcome with its error; the others go on.
        """
        batch_size = batch_size or getattr(model, "batch_size", 4)
        pending: list[tuple[int, PreparedCase]] = []
        for index, loader in enumerate(loaders):
            try:
                rgb, mask, analysis, *rest = loader()
                landmarks = rest[0] if rest else None
                pending.append((index, self.prepare(rgb, mask, model.spec.resolution, analysis, mask_space,
                                                    landmarks)))
            except InferenceError as exc:
                yield CaseOutcome(index, None, exc)
            if len(pending) >= batch_size:
                yield from self._run_pending(pending, model)
                pending = []
        yield from self._run_pending(pending, model)

    def _run_pending(self, pending: list[tuple[int, PreparedCase]], model: InpaintModel) -> Iterator[CaseOutcome]:
        if not pending:
            return
        try:
            results = self.run([case for _, case in pending], model)
        except InferenceError as exc:
            for index, _ in pending:
                yield CaseOutcome(index, None, exc)
            return
        for (index, _), result in zip(pending, results):
            yield CaseOutcome(index, result, None)


# ---------------------------------------------------------------- helpers

def landmarks_to_crop_norm(landmarks: np.ndarray, crop: FaceCrop, resolution: int) -> np.ndarray:
    """(68, 2) photo-pixel landmarks as (68, 2) float32 in [0, 1] of the crop (NaN stays NaN)."""
    points = np.asarray(landmarks, np.float64)
    if points.shape != (68, 2):
        raise SteeringError(f"Expected 68 landmarks (x, y) in photo pixels, got shape {points.shape}.")
    return crop.to_crop_norm(points)


def _check_rgb(rgb: np.ndarray) -> None:
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
        raise InferenceError(f"Expected an RGB uint8 photo, got {getattr(rgb, 'dtype', type(rgb).__name__)} "
                             f"{getattr(rgb, 'shape', '')}.")


def _as_bool_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise MaskError(f"A mask must be a single-channel image, got shape {mask.shape}.")
    return mask if mask.dtype == np.bool_ else mask != 0


def _check_inside_crop(bounds: tuple[int, int, int, int], crop: FaceCrop) -> None:
    top, left, bottom, right = bounds
    if left < crop.x0 or top < crop.y0 or right > crop.x0 + crop.size or bottom > crop.y0 + crop.size:
        raise MaskError("The painted region reaches outside the face square the model works on. "
                        "Paint only over the lip area.")


def _photo_mask_to_crop(mask: np.ndarray, bounds: tuple[int, int, int, int], crop: FaceCrop,
                        resolution: int) -> np.ndarray:
    """The hole at model resolution: a crop pixel is hole if any photo pixel it overlaps is."""
    return crop.mask_to_crop(mask, resolution, bounds)


def _crop_mask_to_photo(hole: np.ndarray, crop: FaceCrop,
                        shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A crop-resolution hole drawn onto the photo (``FaceCrop.hole_in_photo``), with its bounds."""
    top, left, region = crop.hole_in_photo(hole, shape)
    bounds = mask_bounds(region) if region.size else None
    if bounds is None:
        raise MaskError("The painted region lies outside the photo.")
    photo_mask = np.zeros(shape, bool)
    photo_mask[top:top + region.shape[0], left:left + region.shape[1]] = region
    return photo_mask, (bounds[0] + top, bounds[1] + left, bounds[2] + top, bounds[3] + left)
