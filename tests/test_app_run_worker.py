"""The app's Run goes through the one prediction service: what it stores is the service's record."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from app.workers import ModelRunWorker, RunOutcome, RunRequest  # noqa: E402
from inference.io.mask_codec import mask_sha256  # noqa: E402
from inference.models.manager import ModelManager  # noqa: E402
from inference.pipeline import FacePipeline  # noqa: E402
from inference.service import PredictionRequest, PredictionService  # noqa: E402

BOX = (40.0, 20.0, 200.0, 180.0)


class _Store:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple, dict]] = []

    def add_prediction(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self.calls.append((args, kwargs))
        return SimpleNamespace(id=len(self.calls), case_id=args[0])


def _request(names: tuple[str, ...]) -> RunRequest:
    yy, xx = np.mgrid[0:200, 0:240]
    rgb = np.stack([xx, yy, (xx + yy) // 2], -1).astype(np.uint8)
    mask = np.zeros((200, 240), bool)
    mask[110:140, 90:150] = True
    return RunRequest(7, names, rgb, mask, FacePipeline().analyse_manual(rgb, BOX), "cpu", "1.0")


def test_run_stores_the_services_prediction(qapp) -> None:  # noqa: ANN001
    request = _request(("opencv-telea", "opencv-ns"))
    service = PredictionService(ModelManager(), FacePipeline())
    store = _Store()
    worker = ModelRunWorker(request, service.pipeline, store, service)
    outcomes: list[RunOutcome] = []
    progress: list[str] = []
    worker.result.connect(outcomes.append)
    worker.progress.connect(lambda done, total, text: progress.append(text))
    worker.run()
    assert [o.model_name for o in outcomes] == ["opencv-telea", "opencv-ns"]
    assert progress == ["Loading OpenCV Telea (classical)…", "Running OpenCV Telea (classical) on CPU…",
                        "Loading OpenCV Navier-Stokes (classical)…",
                        "Running OpenCV Navier-Stokes (classical) on CPU…", "Done"]
    for outcome, (args, kwargs) in zip(outcomes, store.calls):
        record = service.predict(PredictionRequest(request.rgb, request.mask, outcome.model_name, "cpu",
                                                   analysis=request.analysis))
        stored = args[2]  # the patch and its box (studies.prediction_store.PredictionPatch), not a whole photo
        assert np.array_equal(stored.apply(request.rgb), record.apply(request.rgb))
        assert np.array_equal(outcome.image, stored.apply(request.rgb))
        assert stored.box == record.box and np.array_equal(stored.pixels, record.patch)
        assert stored.photo_size == (request.rgb.shape[1], request.rgb.shape[0])
        assert outcome.prediction.box == record.box and np.array_equal(outcome.prediction.patch, record.patch)
        assert kwargs["mask_sha256"] == mask_sha256(request.mask) and kwargs["device"] == "CPU"
        assert kwargs["mask"] is request.mask  # the mask it was made with is stored with it
        assert kwargs["weights_sha256"] is None and args[:2] == (7, outcome.model_name)


def test_cancel_before_a_model_runs_stores_nothing(qapp) -> None:  # noqa: ANN001
    store = _Store()
    worker = ModelRunWorker(_request(("opencv-telea",)), FacePipeline(), store,
                            PredictionService(ModelManager()))
    finished: list[bool] = []
    worker.finished.connect(finished.append)
    worker.cancel()
    worker.run()
    assert store.calls == [] and finished == [True]
