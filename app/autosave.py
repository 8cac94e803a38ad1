"""Mask autosave: debounced, off the GUI thread, atomic (the case store replaces the PNG in one step).

Every finished edit (stroke, fill, undo, redo) restarts a short timer; when it fires the mask is
read from the canvas (one fast pass over the QImage) and written by a single background thread,
so saves never overlap and always land in order. A crash therefore loses at most the stroke
being drawn plus the debounce delay. ``flush()`` saves synchronously (case switch, quit);
``save_now()`` starts the write at once without waiting (a Run, whose prediction stores its own mask).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.workers import TaskRunner, describe_error

log = logging.getLogger(__name__)

DEBOUNCE_MS = 300


class MaskAutosaver(QObject):
    saved = Signal(int)  # case id
    failed = Signal(str)

    def __init__(self, read_mask: Callable[[], np.ndarray | None], save: Callable[[int, np.ndarray], object],
                 parent: QObject | None = None, debounce_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self._read_mask = read_mask
        self._save = save
        self._tasks = TaskRunner(self, max_threads=1)  # one writer: saves land in order
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self._save_now)
        self.case_id: int | None = None
        self.dirty = False

    def set_case(self, case_id: int | None) -> None:
        self.flush()
        self.case_id = case_id
        self.dirty = False

    def mark_dirty(self) -> None:
        if self.case_id is None:
            return
        self.dirty = True
        self._timer.start()

    def _snapshot(self) -> tuple[int, np.ndarray] | None:
        if not self.dirty or self.case_id is None:
            return None
        mask = self._read_mask()
        self.dirty = False
        if mask is None:
            return None
        return self.case_id, mask

    def _save_now(self) -> None:
        snapshot = self._snapshot()
        if snapshot is None:
            return
        case_id, mask = snapshot
        self._tasks.submit(lambda: self._save(case_id, mask), lambda _info: self.saved.emit(case_id),
                           lambda exc: self.failed.emit(f"The mask could not be saved: {describe_error(exc)}"))

    def save_now(self) -> None:
        """Start writing any pending change on the writer thread now, without waiting for it (a Run)."""
        self._timer.stop()
        self._save_now()

    def flush(self, timeout_ms: int = 30000) -> None:
        """Write any pending change now and wait for the writer to finish."""
        self._timer.stop()
        snapshot = self._snapshot()
        self._tasks.wait(timeout_ms)
        if snapshot is not None:
            case_id, mask = snapshot
            try:
                self._save(case_id, mask)
                self.saved.emit(case_id)
            except Exception as exc:  # shown to the user; the in-memory mask is still intact
                log.exception("mask save failed")
                self.failed.emit(f"The mask could not be saved: {describe_error(exc)}")
