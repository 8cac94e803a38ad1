"""Work off the GUI thread: one-shot tasks (open a photo, find the face, save the mask) and the
model runner (QThread worker with progress / result / error signals and cancel between models).

Nothing that touches torch, dlib or the disk for long runs on the GUI thread; results come back
as queued Qt signals, so slots always run on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThread, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from app.canvas.images import PatchPyramid, patch_pyramid, pyramid_arrays
from app.case_controller import RunRequest  # noqa: F401 (built by the case controller, re-exported)
from app.logfile import current_log_file
from inference.errors import InferenceError
from studies.errors import DatabaseError, StudyError

log = logging.getLogger(__name__)

EXPECTED_ERRORS = (InferenceError, StudyError, OSError)


def describe_error(exc: BaseException) -> str:
    """Messages of our typed errors are written for clinicians; anything else gets a plain prefix.

    Database failures and unexpected errors name the log file (when there is one), where the
    details are.
    """
    if isinstance(exc, DatabaseError):
        return f"{exc}{_see_log()}"
    if isinstance(exc, (InferenceError, StudyError)):
        return str(exc)
    if isinstance(exc, OSError):
        return f"A file could not be read or written: {exc.strerror or exc}."
    log_file = current_log_file()
    where = f"The details were written to the log file {log_file}." if log_file else "See the console for details."
    return f"Unexpected error ({type(exc).__name__}: {exc}). {where}"


def _see_log() -> str:
    log_file = current_log_file()
    return f" (Details: {log_file})" if log_file else ""


# ---------------------------------------------------------------- one-shot tasks

class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(str, float)


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], signals: _TaskSignals, with_progress: bool = False) -> None:
        super().__init__()
        self._fn = fn
        self._signals = signals
        self._with_progress = with_progress
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            value = self._fn(self._signals.progress.emit) if self._with_progress else self._fn()
        except BaseException as exc:  # delivered to the GUI thread, which shows it
            if not isinstance(exc, EXPECTED_ERRORS):
                log.error("Background task failed:\n%s", traceback.format_exc())
            self._signals.failed.emit(exc)
        else:
            self._signals.done.emit(value)


class TaskRunner(QObject):
    """Runs callables on a private thread pool and calls back on the GUI thread."""

    idle_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._pending: set[_TaskSignals] = set()

    def submit(self, fn: Callable[..., Any], on_done: Callable[[Any], None],
               on_error: Callable[[BaseException], None],
               on_progress: Callable[[str, float], None] | None = None) -> None:
        """Run ``fn()`` on the pool; ``on_done(value)`` or ``on_error(exc)`` follow on the GUI thread.

        With ``on_progress``, ``fn`` is called with one argument, ``report(text, fraction)``, whose
        calls reach ``on_progress`` on the GUI thread.
        """
        signals = _TaskSignals()  # lives on the GUI thread, so its slots run there
        self._pending.add(signals)
        was_idle = len(self._pending) == 1

        def finish(callback: Callable[[Any], None], value: Any) -> None:
            self._pending.discard(signals)
            try:
                callback(value)
            finally:
                if not self._pending:
                    self.idle_changed.emit(True)

        signals.done.connect(lambda value: finish(on_done, value))
        signals.failed.connect(lambda exc: finish(on_error, exc))
        if on_progress is not None:
            signals.progress.connect(on_progress)
        if was_idle:
            self.idle_changed.emit(False)
        self._pool.start(_Task(fn, signals, on_progress is not None))

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait(self, timeout_ms: int = 30000) -> bool:
        return self._pool.waitForDone(timeout_ms)


# ---------------------------------------------------------------- model runs

@dataclass(frozen=True, eq=False)
class RunPreview:
    """A model's prediction as soon as it exists, before it is stored (the viewers show it at once)."""

    case_id: int
    model_name: str
    levels: PatchPyramid
    prediction: Any  # inference.service.PredictionRecord


@dataclass(frozen=True, eq=False)
class RunOutcome:
    """One model's finished prediction, already recorded in the case store.

    ``picture`` is what was stored (``studies.prediction_store.PredictionPatch``); ``levels`` the
    patch's display pyramid, drawn over the photo's (``app.canvas.images.PredictionLevels``).
    """

    model_name: str
    record: Any  # studies.cases.PredictionInfo
    picture: Any  # studies.prediction_store.PredictionPatch
    levels: PatchPyramid | list[QImage]
    landmarks: np.ndarray | None
    seconds: float
    prediction: Any = None  # inference.service.PredictionRecord: the patch, its box, hashes, device
    rgb: np.ndarray | None = None  # the photo it was made on (not copied)

    @property
    def image(self) -> np.ndarray:
        """The repaired photo (made on demand: a full-resolution copy)."""
        return self.picture.apply(self.rgb)


class ModelRunWorker(QObject):
    """Runs models one after the other in its own QThread; ``cancel()`` stops before the next step.

    Each model is one ``PredictionService.iter_predict`` (the one prediction path, shared with the
    study generation and the CLI); its progress events become the ``progress`` signal.
    """

    device_ready = Signal(str)
    progress = Signal(int, int, str)  # done, total, what is happening
    preview = Signal(object)  # RunPreview: the picture, shown while it is being stored
    result = Signal(object)  # RunOutcome
    error = Signal(str, str)  # model name ("" for the run as a whole), clinician message
    finished = Signal(bool)  # True when cancelled

    def __init__(self, request: RunRequest, pipeline: Any, store: Any, service: Any = None) -> None:
        super().__init__()
        self.request = request
        self._pipeline = pipeline
        self._service = service  # inference.service.PredictionService; built on the worker thread if None
        self._store = store
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        from inference.devices import describe_device, select_device
        from inference.service import PredictionRequest, PredictionService
        from studies.prediction_store import PredictionPatch

        req = self.request
        try:
            description = describe_device(select_device(req.device))
        except InferenceError as exc:
            self.error.emit("", str(exc))
            self.moveToThread(QCoreApplication.instance().thread())
            self.finished.emit(False)
            return
        self.device_ready.emit(description)
        service = self._service or PredictionService(pipeline=self._pipeline)
        total = len(req.model_names)
        completed = 0  # models that ran to an end (result or error); what the bar shows after Cancel
        for index, name in enumerate(req.model_names):
            if self._cancel.is_set():
                break
            start = time.perf_counter()
            try:
                steps = service.iter_predict(PredictionRequest(req.rgb, req.mask, name, req.device,
                                                               analysis=req.analysis))
                prediction = self._drain(steps, index, total)
                if prediction is None:
                    break
                picture = PredictionPatch.of_record(prediction, req.rgb)  # stored: the changed patch and its box
                photo_levels = list(req.photo_levels) or pyramid_arrays(req.rgb)
                levels = patch_pyramid(photo_levels, picture.pixels, picture.box)
                self.preview.emit(RunPreview(req.case_id, name, levels, prediction))  # shown while it is stored
                record = self._store.add_prediction(
                    req.case_id, name, picture, device=prediction.device, app_version=req.app_version,
                    weights_sha256=prediction.weights_sha256, landmarks=prediction.landmarks,
                    mask_sha256=prediction.mask_sha256, mask=req.mask)
                self.result.emit(RunOutcome(name, record, picture, levels, prediction.landmarks,
                                            time.perf_counter() - start, prediction, req.rgb))
            except Exception as exc:  # one failing model must not stop the others
                if not isinstance(exc, EXPECTED_ERRORS):
                    log.error("Model %s failed:\n%s", name, traceback.format_exc())
                self.error.emit(name, describe_error(exc))
            completed += 1
        if self._cancel.is_set():
            self.progress.emit(completed, total, f"Cancelled after {completed} of {total} models")
        else:
            self.progress.emit(completed, total, "Done")
        # Hand the worker back to the GUI thread, where Python will eventually destroy it.
        self.moveToThread(QCoreApplication.instance().thread())
        self.finished.emit(self._cancel.is_set())

    def _drain(self, steps: Any, index: int, total: int) -> Any:
        """Run one prediction, forwarding its progress; None when cancelled between its steps."""
        while True:
            try:
                event = next(steps)
            except StopIteration as done:
                return done.value
            if event.fraction >= 1:
                continue  # finished: kept even if Cancel came during the forward pass
            if self._cancel.is_set():
                steps.close()
                return None
            self.progress.emit(index, total, event.stage)


class ModelRunner(QObject):
    """Owns the QThread of the current run; the window talks to this, tests too."""

    started = Signal()
    stopped = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread: QThread | None = None
        self.worker: ModelRunWorker | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(self, worker: ModelRunWorker) -> None:
        if self.running:
            raise RuntimeError("a run is already in progress")
        thread = QThread()
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(self._on_finished)
        self.thread, self.worker = thread, worker
        thread.start()
        self.started.emit()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_finished(self, cancelled: bool) -> None:
        thread = self.thread
        self.thread = self.worker = None
        if thread is not None:
            thread.quit()
            thread.wait()
        self.stopped.emit(cancelled)

    def wait(self, timeout_ms: int = 60000) -> None:
        """Block until the run has ended (closing the window, tests)."""
        if self.thread is not None:
            self.thread.wait(timeout_ms)
