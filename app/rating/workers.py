"""Output generation off the GUI thread: a QThread worker with progress, cancel and result signals.

The generator of ``StudySetup.iter_generate_outputs`` runs entirely on the worker thread (its
database session and the models live there); cancelling is checked between outputs and closes
the generator, which rolls back the case in progress. Signals arrive queued on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.workers import EXPECTED_ERRORS
from studies.study_outputs import OutputMaker
from studies.study_setup import Generate, Prepare, StudySetup

log = logging.getLogger(__name__)


class GenerationWorker(QObject):
    progress = Signal(int, int, str)  # done, total, case code
    finished = Signal(object)  # StudyInfo
    failed = Signal(object)  # the exception
    cancelled = Signal()

    def __init__(self, setup: StudySetup, study_id: int, passphrase: str,
                 make_callables: Callable[[], tuple[OutputMaker | Generate, Prepare | None]]) -> None:
        super().__init__()
        self._setup = setup
        self._study_id = study_id
        self._passphrase = passphrase
        self._make_callables = make_callables
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            generate, prepare = self._make_callables()
            steps = self._setup.iter_generate_outputs(self._study_id, generate, self._passphrase, prepare)
            try:
                for step in steps:
                    self.progress.emit(step.done, step.total, step.case_code)
                    if self._cancel.is_set():
                        break
            finally:
                steps.close()
            self._passphrase = ""
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.finished.emit(self._setup.get_study(self._study_id))
        except BaseException as exc:  # delivered to the GUI thread, which shows it
            self._passphrase = ""
            if not isinstance(exc, EXPECTED_ERRORS):
                log.error("Output generation failed:\n%s", traceback.format_exc())
            self.failed.emit(exc)


class GenerationRunner(QObject):
    """Owns the thread and the worker; emits the worker's signals and cleans up after itself."""

    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, worker: GenerationWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread(self)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        for signal, mine in ((worker.finished, self.finished), (worker.failed, self.failed),
                             (worker.cancelled, self.cancelled)):
            # quit() is thread-safe; calling it directly from the worker thread means a GUI slot
            # that waits for the thread never waits on a quit queued behind itself.
            signal.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
            signal.connect(mine)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)
