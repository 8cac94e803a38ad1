"""Scene items: the photo (drawn from a resolution pyramid), the mask overlay and face overlays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.mask_layer import MaskLayer
from inference.face.regions import CONTOURS


class PhotoItem(QGraphicsItem):
    """Draws the photo from the pyramid level nearest the current zoom, only in the exposed rect.

    At full zoom-out a 24-megapixel photo is drawn from a ~1.5 MP level, so panning and zooming
    resample a screen's worth of pixels, not the whole photo.
    """

    def __init__(self, levels: Sequence[QPixmap]) -> None:
        """``levels``: full resolution first; a ``PredictionLevels`` also draws its patch over each level."""
        super().__init__()
        self._levels = levels
        self._rect = QRectF(0, 0, levels[0].width(), levels[0].height())
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def boundingRect(self) -> QRectF:
        return self._rect

    def level_for_scale(self, scale: float) -> int:
        level = 0
        while level + 1 < len(self._levels) and scale * (2 ** (level + 1)) <= 1.0:
            level += 1
        return level

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scale = painter.worldTransform().m11()
        level = self.level_for_scale(abs(scale))
        pixmap = self._levels[level]
        target = option.exposedRect.intersected(self._rect)
        if target.isEmpty():
            return
        f = pixmap.width() / self._rect.width()
        source = QRectF(target.x() * f, target.y() * f, target.width() * f, target.height() * f)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, abs(scale) < 2.0)
        painter.drawPixmap(target, pixmap, source)
        if hasattr(self._levels, "patch"):  # a prediction: its changed region of this level on top
            patch, (x0, y0, x1, y1) = self._levels.patch(level)
            inside = target.intersected(QRectF(x0 / f, y0 / f, (x1 - x0) / f, (y1 - y0) / f))
            if not inside.isEmpty():
                painter.drawPixmap(inside, patch, QRectF(inside.x() * f - x0, inside.y() * f - y0,
                                                         inside.width() * f, inside.height() * f))


class MaskItem(QGraphicsItem):
    """The mask layer in the overlay colour; only the dirty rectangle is repainted per stroke."""

    def __init__(self, layer: MaskLayer) -> None:
        super().__init__()
        self.layer = layer
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        layer.on_change = lambda rect: self.update(QRectF(rect))

    def boundingRect(self) -> QRectF:
        return QRectF(self.layer.bounds)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        target = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        if target.isEmpty():
            return
        painter.drawImage(target, self.layer.image, target)


class FaceOverlayItem(QGraphicsItem):
    """Face box and 68 landmarks (detected: green, predicted: cyan), drawn with cosmetic pens."""

    def __init__(self, color: str = "#39d353") -> None:
        super().__init__()
        self._box: QRectF | None = None
        self._points: np.ndarray | None = None
        self._color = QColor(color)
        self._bounds = QRectF()

    def set_data(self, box: tuple[float, float, float, float] | None, landmarks: np.ndarray | None) -> None:
        self.prepareGeometryChange()
        self._box = None if box is None else QRectF(QPointF(box[0], box[1]), QPointF(box[2], box[3]))
        self._points = None if landmarks is None else np.asarray(landmarks, np.float64)
        bounds = QRectF(self._box) if self._box is not None else QRectF()
        if self._points is not None and len(self._points):
            lo, hi = self._points.min(axis=0), self._points.max(axis=0)
            bounds = bounds.united(QRectF(QPointF(*lo), QPointF(*hi)))
        self._bounds = bounds.adjusted(-20, -20, 20, 20) if not bounds.isEmpty() else QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pen = QPen(self._color, 2)
        pen.setCosmetic(True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._box is not None:
            painter.drawRect(self._box)
        if self._points is None:
            return
        scale = max(painter.worldTransform().m11(), 1e-6)
        r = 2.5 / scale  # 2.5 screen pixels at any zoom
        path = QPainterPath()
        for indices, _closed in CONTOURS:  # jaw, brows, nose, eyes, lips as connected lines
            pts = self._points[list(indices)]
            path.moveTo(*pts[0])
            for p in pts[1:]:
                path.lineTo(*p)
        thin = QPen(self._color, 1)
        thin.setCosmetic(True)
        painter.setPen(thin)
        painter.drawPath(path)
        painter.setBrush(self._color)
        painter.setPen(Qt.PenStyle.NoPen)
        for x, y in self._points:
            painter.drawEllipse(QPointF(x, y), r, r)

