"""The one prediction path: progress events, one record (patch, box, hashes, device), the pipeline's pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.errors import InferenceError, NoFaceError
from inference.io.mask_codec import mask_sha256
from inference.models.manager import ModelManager
from inference.models.registry import get_spec
from inference.pipeline import FacePipeline
from inference.service import PredictionProgress, PredictionRecord, PredictionRequest, PredictionService

BOX = (100.0, 60.0, 300.0, 260.0)


def _same(a: PredictionRecord, b: PredictionRecord) -> bool:
    """Equal predictions: the same pixels in the same box, from the same mask, model and device."""
    def eq(x, y) -> bool:  # noqa: ANN001
        return (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
    return (a.box == b.box and eq(a.patch, b.patch) and eq(a.landmarks, b.landmarks)
            and eq(a.guide_landmarks, b.guide_landmarks) and a.photo_shape == b.photo_shape
            and (a.model_name, a.mask_sha256, a.weights_sha256, a.device)
            == (b.model_name, b.mask_sha256, b.weights_sha256, b.device))


@pytest.fixture(scope="module")
def service() -> PredictionService:
    return PredictionService(ModelManager(), FacePipeline())


@pytest.fixture(scope="module")
def photo() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    smooth = cv2.resize(rng.uniform(60, 200, (5, 6, 3)).astype(np.float32), (400, 300), interpolation=cv2.INTER_CUBIC)
    rgb = (smooth + rng.normal(0, 3, smooth.shape)).clip(0, 255).astype(np.uint8)
    mask = np.zeros((300, 400), bool)
    mask[170:200, 160:240] = True
    return rgb, mask


def test_iter_predict_yields_progress_and_returns_the_pipelines_prediction(service, photo) -> None:
    rgb, mask = photo
    steps = service.iter_predict(PredictionRequest(rgb, mask, "opencv-telea", "cpu", face_box=BOX))
    events: list[PredictionProgress] = []
    while True:
        try:
            events.append(next(steps))
        except StopIteration as done:
            record: PredictionRecord = done.value
            break
    assert [e.stage for e in events] == ["Finding the face…", "Loading OpenCV Telea (classical)…",
                                         "Running OpenCV Telea (classical) on CPU…", "Done"]
    assert [e.fraction for e in events] == sorted(e.fraction for e in events) and events[-1].fraction == 1.0
    pipeline = FacePipeline()
    expected = pipeline.predict(rgb, mask, service.manager.load("opencv-telea", "cpu"),
                                pipeline.analyse_manual(rgb, BOX))
    assert np.array_equal(record.apply(rgb), expected.image)  # the service adds nothing to the pixels
    top, left, bottom, right = expected.patch.bounds
    assert record.box == (left, top, right, bottom) and np.array_equal(record.patch, expected.patch.pixels)
    assert record.patch.dtype == np.uint8 and record.patch.shape == (bottom - top, right - left, 3)
    assert record.mask_sha256 == mask_sha256(mask) and record.weights_sha256 is None
    assert (record.model_name, record.device, record.photo_shape) == ("opencv-telea", "CPU", (300, 400))
    assert record.landmarks is None and record.analysis.manual and {"forward", "total"} <= set(record.timings)
    assert _same(service.predict(PredictionRequest(rgb, mask, "opencv-telea", "cpu", face_box=BOX)), record)


def test_a_region_of_the_repaired_photo_is_the_same_pixels_as_cutting_it(service, photo) -> None:
    rgb, mask = photo
    record = service.predict(PredictionRequest(rgb, mask, "opencv-ns", "cpu", face_box=BOX))
    full = record.apply(rgb)
    assert not np.array_equal(full, rgb) and np.array_equal(rgb, photo[0])  # the input is never changed
    for region in [(0, 0, 400, 300), (150, 150, 200, 190), (0, 0, 50, 40), (190, 180, 400, 300)]:
        x0, y0, x1, y1 = region
        assert np.array_equal(record.apply(rgb, region), full[y0:y1, x0:x1]), region
    with pytest.raises(InferenceError, match="300 photo"):
        record.apply(rgb[:200])
    with pytest.raises(InferenceError, match="not inside"):
        record.apply(rgb, (0, 0, 500, 300))


def test_closing_the_generator_stops_before_the_model_is_loaded(photo) -> None:
    rgb, mask = photo
    service = PredictionService(ModelManager())
    steps = service.iter_predict(PredictionRequest(rgb, mask, "opencv-telea", "cpu", face_box=BOX))
    next(steps)
    next(steps)  # "Loading …" is announced before the weights are read
    steps.close()
    assert service.manager.loaded() == []


def test_the_face_comes_from_the_request(service, photo) -> None:
    rgb, mask = photo
    with pytest.raises(NoFaceError):
        service.predict(PredictionRequest(rgb, mask, "opencv-telea", "cpu"))
    analysis = service.analyse(rgb, BOX)
    given = service.predict(PredictionRequest(rgb, mask, "opencv-telea", "cpu", analysis=analysis))
    assert _same(given, service.predict(PredictionRequest(rgb, mask, "opencv-telea", "cpu", face_box=BOX)))


def test_many_photos_in_batches_give_the_same_records(service, photo) -> None:
    rgb, mask = photo
    analysis = service.analyse(rgb, BOX)
    single = service.predict(PredictionRequest(rgb, mask, "opencv-telea", "cpu", analysis=analysis))
    loaders = [lambda: (rgb, mask, analysis), lambda: (rgb, np.zeros_like(mask), analysis),
               lambda: (rgb, mask, analysis, None)]
    outcomes = list(service.iter_predict_many(loaders, "opencv-telea", "cpu", batch_size=2))
    assert sorted(o.index for o in outcomes) == [0, 1, 2]
    by_index = {o.index: o for o in outcomes}
    assert by_index[1].error is not None and by_index[1].record is None
    for i in (0, 2):
        assert _same(by_index[i].record, single) and np.array_equal(by_index[i].image, single.apply(rgb))


def test_the_lite_network_records_its_weights_landmarks_and_steering(service, photo) -> None:
    if not get_spec("nclg-mt-lite").weights_status().available:
        pytest.skip("the shipped nclg-mt-lite weights are not present")
    rgb, mask = photo
    analysis = service.analyse(rgb, BOX)
    guide = np.full((68, 2), np.nan, np.float32)
    guide[51] = (200.0, 175.0)  # the top of the upper lip's vermilion, in photo pixels
    record = service.predict(PredictionRequest(rgb, mask, "nclg-mt-lite", "cpu", analysis=analysis,
                                               landmarks=guide))
    assert record.weights_sha256 == get_spec("nclg-mt-lite").weights_sha256 and len(record.weights_sha256) == 64
    assert record.landmarks.shape == (68, 2) and record.device == "CPU"
    assert np.allclose(record.guide_landmarks[51], guide[51], atol=1e-3)
    keep = np.isnan(guide[:, 0])
    assert np.allclose(record.guide_landmarks[keep], record.landmarks[keep], atol=1e-3)


def test_nothing_in_inference_imports_studies_for_the_mask_hash() -> None:
    source = (Path(__file__).resolve().parents[1] / "inference" / "service.py").read_text()
    assert "studies" not in source.split('"""', 2)[2]
