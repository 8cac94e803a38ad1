"""Zoomable image views on a dark neutral background; views in one group zoom and pan together.

All outputs of a study have the same size, so sharing the transform and the scroll positions
lets the rater compare the same spot of every output side by side.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPixmap, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

VIEW_BACKGROUND = QColor(24, 24, 26)
MIN_ZOOM, MAX_ZOOM = 0.1, 16.0


class ViewGroup(QObject):
    """Keeps the zoom (relative to fit) and the scroll position of its views in step."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.views: list[ImageView] = []
        self.zoom = 1.0  # 1.0 = whole image fits
        self._syncing = False

    def add(self, view: "ImageView") -> None:
        self.views.append(view)
        view.group = self
        view.horizontalScrollBar().valueChanged.connect(lambda v, s=view: self._scrolled(s, "h", v))
        view.verticalScrollBar().valueChanged.connect(lambda v, s=view: self._scrolled(s, "v", v))

    def clear(self) -> None:
        for view in self.views:
            view.group = None
        self.views.clear()

    def set_zoom(self, zoom: float) -> None:
        self.zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        for view in self.views:
            view.apply_zoom()

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def fit(self) -> None:
        self.set_zoom(1.0)

    def _scrolled(self, source: "ImageView", axis: str, value: int) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            for view in self.views:
                if view is not source:
                    bar = view.horizontalScrollBar() if axis == "h" else view.verticalScrollBar()
                    bar.setValue(value)
        finally:
            self._syncing = False


class ImageView(QGraphicsView):
    """One image, fitted to the view at zoom 1, magnified with the wheel (Ctrl not needed)."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None, square: bool = True) -> None:
        super().__init__(parent)
        self.square = square
        self.group: ViewGroup | None = None
        self._own_zoom = 1.0
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.setScene(self._scene)
        self.setBackgroundBrush(QBrush(VIEW_BACKGROUND))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setRenderHints(QPainter.RenderHint.SmoothPixmapTransform | QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumSize(120, 120)

    def set_image(self, path: Path | None) -> bool:
        """Show the PNG at ``path`` (None clears); False when the file cannot be decoded."""
        pixmap = QPixmap(str(path)) if path is not None else QPixmap()
        self._item.setPixmap(pixmap)
        self._scene.setSceneRect(self._item.boundingRect())
        self.apply_zoom()
        return path is None or not pixmap.isNull()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    @property
    def zoom(self) -> float:
        return self.group.zoom if self.group is not None else self._own_zoom

    def apply_zoom(self) -> None:
        rect = self._item.boundingRect()
        if rect.isEmpty() or self.viewport().width() < 2:
            return
        fit = min(self.viewport().width() / rect.width(), self.viewport().height() / rect.height())
        scale = fit * self.zoom
        self.setTransform(QTransform.fromScale(scale, scale))

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        super().resizeEvent(event)
        if self.square and self.maximumHeight() != self.width():
            self.setMaximumHeight(self.width())  # square images: no dead band above and below
        self.apply_zoom()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        if self.group is not None:
            self.group.zoom_by(factor)
        else:
            self._own_zoom = min(MAX_ZOOM, max(MIN_ZOOM, self._own_zoom * factor))
            self.apply_zoom()
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self.clicked.emit()
        super().mousePressEvent(event)
