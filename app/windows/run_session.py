"""Running models from the window: Run, Run all and Cancel, their progress, results and errors.

The Qt-free ``CaseController`` decides what a Run does (``plan_run``, ``run_request``); this object
starts the ``ModelRunWorker`` on its own thread (``ModelRunner``), shows the progress in the model
panel and the status bar, hands each stored prediction to the display and the state, and collects
the models that failed into one message when the run ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStatusBar

from app.case_controller import CaseController, Refusal
from app.prompts import Prompts
from app.version import app_version
from app.windows.panels import ModelPanel
from app.windows.prediction_display import PredictionDisplay
from app.workers import ModelRunner, ModelRunWorker, RunOutcome, RunPreview


class RunSession(QObject):
    worker_class = ModelRunWorker  # what runs the models (a benchmark swaps in the old path as a baseline)

    def __init__(self, cases: CaseController, display: PredictionDisplay, panel: ModelPanel, status: QStatusBar,
                 prompts: Prompts, device: Callable[[], str], before_run: Callable[[], None],
                 first_result: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cases, self.state, self.display, self.panel = cases, cases.state, display, panel
        self._status, self.prompts, self._device = status, prompts, device
        self._before_run, self._first_result = before_run, first_result
        self.runner = ModelRunner(self)
        self.runner.stopped.connect(self._stopped)
        self.errors: list[str] = []
        self.started_at: float | None = None
        self.last_run_seconds: dict[str, float] = {}  # model -> Run pressed (or previous result) to result shown
        self._first = True

    def run_models(self, names: list[str], reuse: bool = False) -> bool:
        """Run ``names`` one after the other on the current mask; returns False if refused.

        With ``reuse`` (Run all) a model that already has a prediction of this case made with the
        mask on screen is not run again: its prediction is reused instead of adding a duplicate.
        """
        if self.state.busy or not names:
            return False
        try:
            plan = self.cases.plan_run(names, reuse)
        except Refusal as refusal:
            self.prompts.error(refusal.title, str(refusal))
            return False
        if not plan.names:
            self._status.showMessage("Every model already has a prediction for this mask; "
                                     "change the mask to run them again.", 5000)
            self.panel.status.setText("Up to date: every model has a prediction for this mask.")
            return False
        if plan.reused:
            self._status.showMessage(f"Reusing {plan.reused} prediction(s) made with this mask", 4000)
        self._before_run()
        request = self.cases.run_request(plan, self._device(), app_version(), tuple(self.display.photo_arrays))
        worker = self.worker_class(request, self.cases.pipeline, self.cases.store)
        # Only bound methods of GUI-thread QObjects: Qt then queues the calls onto the GUI thread
        # (a plain function or lambda would run in the worker's thread).
        worker.device_ready.connect(self._device_ready)
        worker.progress.connect(self._progress)
        worker.preview.connect(self._preview)
        worker.result.connect(self._result)
        worker.error.connect(self._error)
        self.errors, self._first = [], True
        self.started_at = time.perf_counter()
        self.state.set_busy(True)
        self.runner.start(worker)
        return True

    def cancel_run(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.panel.status.setText("Cancelling after the current model…")

    def _device_ready(self, description: str) -> None:
        self.state.set_device(description)

    def _progress(self, done: int, total: int, message: str) -> None:
        self.panel.set_progress(done, total, message)
        self._status.showMessage(message)

    def _preview(self, preview: RunPreview) -> None:
        """Show a prediction as soon as it exists; it joins the case's list once it is stored."""
        if self.state.case is None or preview.case_id != self.state.case.id:
            return
        self.display.preview(self.cases.preview_view(preview.prediction), preview.levels)
        self._shown()

    def _result(self, outcome: RunOutcome) -> None:
        if not self.cases.is_open(outcome.record):
            return  # stored with its own case; not shown over another one
        self.display.add(outcome.record.id, outcome.levels)
        self.cases.add_result(outcome.record)
        self._shown()
        if self.started_at is not None:
            self.last_run_seconds[outcome.model_name] = time.perf_counter() - self.started_at
            self.started_at = time.perf_counter()

    def _shown(self) -> None:
        if self._first:
            self._first = False
            self._first_result()

    def _error(self, model: str, message: str) -> None:
        choice = self.state.model_choice(model)
        self.errors.append(f"{choice.display_name if choice else model or 'Run'}: {message}")
        self.display.show(self.state.current_prediction)  # a preview that was not stored leaves the viewers

    def _stopped(self, cancelled: bool) -> None:
        self.state.set_busy(False)
        self._status.showMessage("Run cancelled" if cancelled else "Run finished", 3000)
        if self.errors:
            self.prompts.error("Some models did not run", "\n\n".join(self.errors))

    def wait(self) -> None:
        """Stop after the current model and wait for the run's thread (closing the window)."""
        self.runner.cancel()
        self.runner.wait()
