"""The one prediction path: photo, mask, model and face in; one prediction record out.

The app's Run, the study generation, the CLI and anything else that predicts a case call
:class:`PredictionService`, so a study output for a case, model and mask is the very pixels the
clinician saw for the same inputs. The service finds the face (or takes the one given), gets the
model from the :class:`~inference.models.manager.ModelManager` and runs
:class:`~inference.pipeline.FacePipeline`; it adds nothing to the pixels. ``iter_predict`` is a
generator that yields progress, so a worker thread can show it and stop between stages (napari's
``thread_worker`` pattern); its return value is the record. No Qt here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from inference.devices import describe_device
from inference.errors import InferenceError
from inference.face.detect import FaceBox
from inference.io.mask_codec import mask_sha256
from inference.io.photo import Photo
from inference.models.base import InpaintModel
from inference.models.manager import ModelManager, default_manager
from inference.pipeline import CaseLoader, FaceAnalysis, FacePipeline, MaskSpace, PipelineResult

Box = tuple[float, float, float, float]
"""A face rectangle drawn by hand: left, top, right, bottom in photo pixels."""


@dataclass(frozen=True)
class PredictionProgress:
    """One step of a prediction: what is happening, and how far along (0 to 1) the prediction is."""

    stage: str
    fraction: float


@dataclass(frozen=True)
class PredictionRequest:
    """Everything one prediction depends on; equal requests give bit-identical records.

    ``mask``: bool (H, W) of the photo, True = hole (or the model's crop with ``mask_space="crop"``).
    The face: ``analysis`` when the caller already has it (the app's detected or corrected face),
    else ``face_box`` drawn by hand, else it is detected; ``corrected_landmarks`` (68, 2 photo
    pixels) are the clinician's corrections of detected points, which the crop follows.
    ``landmarks`` (68, 2 photo pixels, NaN rows = keep the network's own) steer a landmark-guided
    network. ``device``: "cpu", "cuda", "mps" or None for the best available.
    """

    photo: np.ndarray | Photo
    mask: np.ndarray
    model: str
    device: str | None = None
    analysis: FaceAnalysis | None = None
    face_box: FaceBox | Box | None = None
    corrected_landmarks: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    mask_space: MaskSpace = "photo"

    @property
    def rgb(self) -> np.ndarray:
        return self.photo.rgb if isinstance(self.photo, Photo) else self.photo


@dataclass(frozen=True, eq=False)
class PredictionRecord:
    """One prediction: the changed pixels and where they go, and what they were made from.

    ``patch`` (uint8 RGB) replaces the photo's pixels in ``box`` = (x0, y0, x1, y1), photo pixels,
    right/bottom exclusive; every other pixel of the repaired photo is the input's. ``landmarks``:
    the network's (photo pixels, None for models without a landmark branch); ``guide_landmarks``:
    what its image branch drew from when steered. ``device``: where it ran, as a person reads it.
    """

    model_name: str
    patch: np.ndarray
    box: tuple[int, int, int, int]
    photo_shape: tuple[int, int]
    landmarks: np.ndarray | None
    guide_landmarks: np.ndarray | None
    mask_sha256: str
    weights_sha256: str | None
    device: str
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    analysis: FaceAnalysis | None = field(default=None, compare=False, repr=False)
    """The face the model worked on (box, landmarks, the square crop)."""

    def apply(self, rgb: np.ndarray, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The repaired photo: a copy of ``rgb`` (the request's photo) with the patch pasted in.

        ``region`` (x0, y0, x1, y1 inside the photo): only that part of the repaired photo, the same
        pixels as cutting it from the full result, without copying a whole 24-megapixel photo.
        """
        if rgb.shape[:2] != self.photo_shape:
            raise InferenceError(f"This prediction was made on a {self.photo_shape[1]} x {self.photo_shape[0]} "
                                 f"photo, not on one of {rgb.shape[1]} x {rgb.shape[0]} pixels.")
        h, w = self.photo_shape
        rx0, ry0, rx1, ry1 = (0, 0, w, h) if region is None else region
        if not (0 <= rx0 < rx1 <= w and 0 <= ry0 < ry1 <= h):
            raise InferenceError(f"The region {region} is not inside the {w} x {h} photo.")
        out = rgb[ry0:ry1, rx0:rx1].copy()
        x0, y0, x1, y1 = self.box
        ix0, iy0, ix1, iy1 = max(x0, rx0), max(y0, ry0), min(x1, rx1), min(y1, ry1)
        if ix1 > ix0 and iy1 > iy0:
            out[iy0 - ry0:iy1 - ry0, ix0 - rx0:ix1 - rx0] = self.patch[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        return out


@dataclass(frozen=True)
class PredictionOutcome:
    """One case of :meth:`PredictionService.iter_predict_many`: a record (and the repaired photo) or an error."""

    index: int
    record: PredictionRecord | None
    image: np.ndarray | None
    error: InferenceError | None


class PredictionService:
    """Predicts cases through one ``FacePipeline`` and one ``ModelManager`` (both reusable, thread-safe)."""

    def __init__(self, manager: ModelManager | None = None, pipeline: FacePipeline | None = None) -> None:
        self.manager = manager or default_manager()
        self.pipeline = pipeline or FacePipeline()

    def analyse(self, rgb: np.ndarray, face_box: FaceBox | Box | None = None,
                corrected_landmarks: np.ndarray | None = None) -> FaceAnalysis:
        """The face as the clinic sets it: the hand-drawn square if there is one, else the detected face
        with the clinician's corrected landmarks (``NoFaceError`` when none is found)."""
        analysis = self.pipeline.analyse_manual(rgb, face_box) if face_box is not None else self.pipeline.analyse(rgb)
        if corrected_landmarks is not None and analysis.landmarks is not None:
            analysis = self.pipeline.with_landmarks(analysis, corrected_landmarks)
        return analysis

    def iter_predict(self, request: PredictionRequest) -> Generator[PredictionProgress, None, PredictionRecord]:
        """Yield progress; return the record. Closing the generator between steps stops the prediction."""
        start = time.perf_counter()
        rgb = request.rgb
        spec = self.manager.spec(request.model)
        analysis = request.analysis
        if analysis is None:
            yield PredictionProgress("Finding the face…", 0.0)
            analysis = self.analyse(rgb, request.face_box, request.corrected_landmarks)
        yield PredictionProgress(f"Loading {spec.display_name}…", 0.1)
        loaded = time.perf_counter()
        model = self.manager.load(request.model, request.device)
        load_time = time.perf_counter() - loaded
        ran_on = _ran_on(model)
        yield PredictionProgress(f"Running {spec.display_name} on {ran_on}…", 0.3)
        prepared = self.pipeline.prepare(rgb, request.mask, model.spec.resolution, analysis, request.mask_space,
                                         request.landmarks)
        result = self.pipeline.run([prepared], model)[0]
        record = _record(result, model, ran_on, dict(load=load_time, total=time.perf_counter() - start))
        yield PredictionProgress("Done", 1.0)
        return record

    def predict(self, request: PredictionRequest,
                progress: Callable[[PredictionProgress], None] | None = None) -> PredictionRecord:
        """``iter_predict`` run to its end."""
        steps = self.iter_predict(request)
        while True:
            try:
                event = next(steps)
            except StopIteration as done:
                return done.value
            if progress is not None:
                progress(event)

    def iter_predict_many(self, loaders: Iterable[CaseLoader], model: str, device: str | None = None,
                          batch_size: int | None = None,
                          mask_space: MaskSpace = "photo") -> Iterator[PredictionOutcome]:
        """Many photos with one model, in batches (``FacePipeline.predict_many``: at most one batch of
        photos in memory); an unusable case yields its error and the others go on."""
        model_obj = self.manager.load(model, device)
        ran_on = _ran_on(model_obj)
        for outcome in self.pipeline.predict_many(loaders, model_obj, batch_size, mask_space):
            if outcome.result is None:
                yield PredictionOutcome(outcome.index, None, None, outcome.error)
            else:
                yield PredictionOutcome(outcome.index, _record(outcome.result, model_obj, ran_on, {}),
                                        outcome.result.image, None)


def _ran_on(model: InpaintModel) -> str:
    # The classical fills are recorded as CPU whatever device was chosen (as the app always has).
    return describe_device(model.device) if model.spec.neural else "CPU"


def _record(result: PipelineResult, model: InpaintModel, ran_on: str, extra: dict[str, float]) -> PredictionRecord:
    top, left, bottom, right = result.patch.bounds
    return PredictionRecord(
        model_name=model.spec.name, patch=result.patch.pixels, box=(left, top, right, bottom),
        photo_shape=tuple(result.mask.shape[:2]), landmarks=result.landmarks,
        guide_landmarks=result.guide_landmarks, mask_sha256=mask_sha256(result.mask),
        weights_sha256=model.spec.weights_sha256, device=ran_on, timings={**result.timings, **extra},
        analysis=result.analysis)
