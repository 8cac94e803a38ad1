"""Drag landmarks on a viewer: the history of edits (pure) and the handles that draw and move them.

The surgeon steers a landmark-guided prediction by moving its lip and nose points. ``LandmarkEdits``
keeps the points, the network's own points (for Reset) and an undo history without any Qt, so the
rules are testable on their own; ``LandmarkHandles`` is the scene item that paints the points and
turns one drag (press, move, release) into one ``dragged`` signal, so a re-render runs once per
release, never during the drag. Points are (68, 2) float32 in scene (= photo) pixels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsObject, QGraphicsSceneMouseEvent, QStyleOptionGraphicsItem, QWidget

from inference.measures import LIP_AND_NOSE

EDITABLE_POINTS: tuple[int, ...] = LIP_AND_NOSE
"""What the surgeon may move: nose tip and nostril sill (30-35) and the whole mouth (48-67);
Cupid's bow peaks (50, 52) stand for the philtral columns, 31/35 are the alar bases."""

HIT_RADIUS_PX = 9.0  # screen pixels around a point that pick it up, at any zoom
DOT_RADIUS_PX = 4.0


def _as_points(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, np.float32)
    if p.shape != (68, 2) or not np.isfinite(p).all():
        raise ValueError(f"expected 68 finite (x, y) landmarks, got shape {p.shape}")
    return p.copy()


class LandmarkEdits:
    """The points on screen, the network's own points and the undo history of whole-array states."""

    def __init__(self, network: np.ndarray, start: np.ndarray | None = None) -> None:
        self.network = _as_points(network)
        self.current = _as_points(start if start is not None else network)
        self._history: list[np.ndarray] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._history)

    @property
    def is_network(self) -> bool:
        """True when the points are the network's own (nothing to steer with)."""
        return bool(np.array_equal(self.current, self.network))

    def apply(self, points: np.ndarray) -> bool:
        """Make ``points`` current as one undo step; False (no step) when nothing moved."""
        new = _as_points(points)
        if np.array_equal(new, self.current):
            return False
        self._history.append(self.current)
        self.current = new
        return True

    def undo(self) -> bool:
        if not self._history:
            return False
        self.current = self._history.pop()
        return True

    def reset(self) -> bool:
        """Back to the network's own points, itself one undo step."""
        return self.apply(self.network)


class LandmarkHandles(QGraphicsObject):
    """Draggable dots for ``EDITABLE_POINTS`` (the others are drawn faint, for context)."""

    dragged = Signal(object)  # (68, 2) float32: the points after one press-move-release

    def __init__(self, color: str = "#ffb000") -> None:
        super().__init__()
        self._points: np.ndarray | None = None
        self._drag: int | None = None
        self._moved = False
        self._color = QColor(color)
        self._bounds = QRectF()
        self.setZValue(20)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)

    def set_points(self, points: np.ndarray | None) -> None:
        """Show ``points``; a drag in progress keeps its point (a render may finish mid-drag)."""
        self.prepareGeometryChange()
        new = None if points is None else _as_points(points)
        if new is not None and self._drag is not None and self._points is not None:
            new[self._drag] = self._points[self._drag]
        else:
            self._drag = None
        self._points = new
        if self._points is None:
            self._bounds = QRectF()
        else:
            lo, hi = self._points.min(axis=0), self._points.max(axis=0)
            self._bounds = QRectF(QPointF(*lo), QPointF(*hi)).adjusted(-200, -200, 200, 200)
        self.update()

    def points(self) -> np.ndarray | None:
        return None if self._points is None else self._points.copy()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _zoom(self) -> float:
        views = self.scene().views() if self.scene() is not None else []
        return max(views[0].transform().m11(), 1e-6) if views else 1.0

    def point_at(self, pos: QPointF) -> int | None:
        """The editable point within ``HIT_RADIUS_PX`` screen pixels of ``pos`` (scene), nearest first."""
        if self._points is None:
            return None
        idx = np.array(EDITABLE_POINTS)
        d = np.hypot(self._points[idx, 0] - pos.x(), self._points[idx, 1] - pos.y())
        best = int(np.argmin(d))
        return int(idx[best]) if d[best] * self._zoom() <= HIT_RADIUS_PX else None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        hit = self.point_at(event.pos()) if event.button() == Qt.MouseButton.LeftButton else None
        if hit is None:
            event.ignore()  # not on a point: the view pans or does nothing
            return
        self._drag, self._moved = hit, False
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None or self._points is None:
            return
        self._points[self._drag] = (event.pos().x(), event.pos().y())
        self._moved = True
        self.update()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None or self._points is None:
            return
        self._points[self._drag] = (event.pos().x(), event.pos().y())
        moved = self._moved or event.pos() != event.buttonDownPos(Qt.MouseButton.LeftButton)
        self._drag = None
        if moved:
            self.dragged.emit(self._points.copy())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._points is None:
            return
        scale = max(painter.worldTransform().m11(), 1e-6)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        outline = QPen(QColor("#000000"), 1)
        outline.setCosmetic(True)
        painter.setPen(outline)
        faint = QColor(self._color)
        faint.setAlpha(90)
        editable = set(EDITABLE_POINTS)
        for i, (x, y) in enumerate(self._points):
            on = i in editable
            painter.setBrush(self._color if on else faint)
            r = (DOT_RADIUS_PX if on else DOT_RADIUS_PX / 2) / scale
            painter.drawEllipse(QPointF(float(x), float(y)), r, r)
