"""Zoomable, pannable image views: the mask canvas with its tools, and read-only viewers.

Wheel zooms towards the cursor; the middle button, or the left button with Space held (or the
pan tool), pans. Views can be linked so that zoom and pan follow each other (side by side).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QUndoStack,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from app.canvas.items import FaceOverlayItem, MaskItem, PhotoItem
from app.canvas.mask_layer import MaskLayer
from app.canvas.undo import MaskEditCommand
from app.state import AppState, Tool

MIN_ZOOM, MAX_ZOOM = 0.01, 32.0


class ZoomPanView(QGraphicsView):
    """A QGraphicsView with zoom-to-cursor and space/middle-button panning."""

    view_moved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setBackgroundBrush(QColor("#1e1f22"))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self._pan_from: QPointF | None = None
        self._auto_fit = True  # keep fitting on resize until the user zooms or pans
        self._space = False
        self._syncing = False
        self._linked: list[ZoomPanView] = []
        self.horizontalScrollBar().valueChanged.connect(self._moved)
        self.verticalScrollBar().valueChanged.connect(self._moved)

    # ---------------------------------------------------------------- zoom
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom so that the scene point under ``anchor`` (viewport pixels; default: centre) stays put."""
        self._auto_fit = False
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        pivot = (anchor if anchor is not None else QPointF(self.viewport().rect().center())).toPoint()
        scene_point = self.mapToScene(pivot)
        self.scale(zoom / self.zoom, zoom / self.zoom)
        delta = self.mapFromScene(scene_point) - pivot
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self._moved()

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def fit(self) -> None:
        """Show the whole photo (the scene rect is always the photo, never the overlays)."""
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self._auto_fit = True
        self._moved()

    def resizeEvent(self, event) -> None:  # noqa: ANN001
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.set_zoom(self.zoom * (1.0015 ** delta), anchor=event.position())
        event.accept()

    # ---------------------------------------------------------------- pan
    def _pan_active(self, event: QMouseEvent) -> bool:
        return event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and (self._space or self._pan_tool()))

    def _pan_tool(self) -> bool:
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._pan_active(event):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._auto_fit = False
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._update_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self._update_cursor()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _update_cursor(self) -> None:
        cursor = Qt.CursorShape.OpenHandCursor if (self._space or self._pan_tool()) else Qt.CursorShape.CrossCursor
        self.viewport().setCursor(cursor)

    # ---------------------------------------------------------------- linking
    def link(self, other: "ZoomPanView") -> None:
        """Make zoom and pan of ``self`` and ``other`` follow each other (same scene coordinates)."""
        self._linked.append(other)
        other._linked.append(self)

    def _moved(self, *_: object) -> None:
        self.view_moved.emit()
        if self._syncing:
            return
        centre = self.mapToScene(self.viewport().rect().center())
        for other in self._linked:
            if other._syncing:
                continue
            other._syncing = True
            try:
                other._auto_fit = self._auto_fit
                other.setTransform(self.transform())
                other.centerOn(centre)
            finally:
                other._syncing = False


class ImageViewer(ZoomPanView):
    """Read-only viewer of one image, with an optional landmark overlay."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._photo: PhotoItem | None = None
        self.overlay = FaceOverlayItem("#2ad4ff")
        self.overlay.setZValue(10)
        self.overlay.setVisible(False)
        self.scene().addItem(self.overlay)

    def set_levels(self, levels: list[QPixmap] | None) -> None:
        keep_view = self._photo is not None and levels is not None
        if self._photo is not None:
            self.scene().removeItem(self._photo)
            self._photo = None
        if levels:
            self._photo = PhotoItem(levels)
            self.scene().addItem(self._photo)
            self.setSceneRect(self._photo.boundingRect())
            if not keep_view:
                self.fit()

    def has_image(self) -> bool:
        return self._photo is not None


class ClippedPhotoItem(PhotoItem):
    """The "after" image of the before/after view, drawn only left of the split line."""

    def __init__(self, levels: list[QPixmap]) -> None:
        super().__init__(levels)
        self.split = 0.5

    def set_split(self, fraction: float) -> None:
        self.split = min(1.0, max(0.0, fraction))
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:  # type: ignore[override]
        rect = self.boundingRect()
        painter.save()
        painter.setClipRect(QRectF(rect.x(), rect.y(), rect.width() * self.split, rect.height()))
        super().paint(painter, option, widget)
        painter.restore()
        x = rect.width() * self.split
        pen = QPen(QColor("#ffffff"), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))


class BeforeAfterViewer(ImageViewer):
    """Prediction left of the split line, the original photo right of it (slider moves the line)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._after: ClippedPhotoItem | None = None
        self._split = 0.5

    def set_after(self, levels: list[QPixmap] | None) -> None:
        if self._after is not None:
            self.scene().removeItem(self._after)
            self._after = None
        if levels:
            self._after = ClippedPhotoItem(levels)
            self._after.setZValue(1)
            self._after.set_split(self._split)
            self.scene().addItem(self._after)

    def set_split(self, fraction: float) -> None:
        self._split = fraction
        if self._after is not None:
            self._after.set_split(fraction)


class MaskCanvas(ZoomPanView):
    """The painting view: photo, mask overlay, face overlay and the active tool."""

    mask_edited = Signal()  # after every finished edit, undo or redo (drives the autosave)
    face_box_drawn = Signal(QRectF)
    cursor_moved = Signal(QPointF)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.undo_stack = QUndoStack(self)
        self.layer: MaskLayer | None = None
        # Draggable landmark handles (app.canvas.landmark_editor) that take a press on one of their
        # points before the painting tool does; set by whoever corrects the photo's landmarks.
        self.landmark_handles: Any = None
        self._photo: PhotoItem | None = None
        self._mask_item: MaskItem | None = None
        self.face_overlay = FaceOverlayItem()
        self.face_overlay.setZValue(20)
        self.scene().addItem(self.face_overlay)
        self._cursor = QGraphicsEllipseItem()
        pen = QPen(QColor("#ffffff"), 1)
        pen.setCosmetic(True)
        self._cursor.setPen(pen)
        self._cursor.setZValue(100)
        self._cursor.setVisible(False)
        self.scene().addItem(self._cursor)
        self._preview = QGraphicsPathItem()
        ppen = QPen(QColor("#ffd400"), 1.5, Qt.PenStyle.DashLine)
        ppen.setCosmetic(True)
        self._preview.setPen(ppen)
        self._preview.setZValue(90)
        self.scene().addItem(self._preview)
        self._box_preview = QGraphicsRectItem()
        self._box_preview.setPen(ppen)
        self._box_preview.setZValue(90)
        self._box_preview.setVisible(False)
        self.scene().addItem(self._box_preview)
        self._last: QPointF | None = None
        self._points: list[QPointF] = []
        self._box_from: QPointF | None = None
        self._edit_erases = False
        self._suppress_index = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._update_cursor()

        state.tool_changed.connect(lambda _t: self._tool_changed())
        state.brush_size_changed.connect(lambda _s: self._update_brush_cursor())
        self.view_moved.connect(self._update_brush_cursor)  # the brush keeps its size on screen
        state.overlay_color_changed.connect(self._recolor)
        state.overlay_opacity_changed.connect(lambda o: self._mask_item and self._mask_item.setOpacity(o))
        state.mask_visible_changed.connect(lambda v: self._mask_item and self._mask_item.setVisible(v))
        state.face_changed.connect(lambda _f: self._update_face_overlay())
        state.face_overlay_visible_changed.connect(lambda _v: self._update_face_overlay())

    # ---------------------------------------------------------------- content
    def set_photo(self, levels: list[QPixmap], width: int, height: int) -> None:
        """Show a new photo with an empty mask; clears the undo history."""
        self.cancel_tool()
        for item in (self._photo, self._mask_item):
            if item is not None:
                self.scene().removeItem(item)
        self.undo_stack.clear()
        self._photo = PhotoItem(levels)
        self.layer = MaskLayer(width, height, self.state.overlay_color)
        self._mask_item = MaskItem(self.layer)
        self._mask_item.setZValue(5)
        self._mask_item.setOpacity(self.state.overlay_opacity)
        self._mask_item.setVisible(self.state.mask_visible)
        self.scene().addItem(self._photo)
        self.scene().addItem(self._mask_item)
        self.setSceneRect(self._photo.boundingRect())
        self.fit()

    def clear_photo(self) -> None:
        self.cancel_tool()
        for item in (self._photo, self._mask_item):
            if item is not None:
                self.scene().removeItem(item)
        self._photo = self._mask_item = None
        self.layer = None
        self.undo_stack.clear()

    def has_photo(self) -> bool:
        return self.layer is not None

    def load_mask(self, mask) -> None:  # noqa: ANN001 - bool ndarray
        """Put a stored mask in place without an undo step (reopening a case)."""
        if self.layer is None:
            return
        self.layer.replace_region(mask)
        self.undo_stack.clear()

    def replace_mask(self, mask, text: str) -> bool:  # noqa: ANN001 - bool ndarray
        """Replace the whole mask as one undoable step (suggest, import, clear)."""
        if self.layer is None:
            return False
        self.layer.begin_edit()
        self.layer.replace_region(mask)
        return self._push(text)

    def _push(self, text: str) -> bool:
        assert self.layer is not None
        patch = self.layer.end_edit()
        if patch is None:
            return False
        self.undo_stack.push(MaskEditCommand(self.layer, patch, text, self.mask_edited.emit))
        return True

    # ---------------------------------------------------------------- overlays
    def _recolor(self, color: str) -> None:
        if self.layer is not None:
            self.layer.set_color(color)

    def _update_face_overlay(self) -> None:
        face = self.state.face
        visible = self.state.face_overlay_visible and face is not None
        self.face_overlay.setVisible(visible)
        if face is not None:
            self.face_overlay.set_data(face.box, face.landmarks)

    # ---------------------------------------------------------------- tools
    def _pan_tool(self) -> bool:
        return self.state.tool == Tool.PAN

    def _tool_changed(self) -> None:
        self.cancel_tool()
        self._update_cursor()
        self._update_brush_cursor()

    @property
    def brush_radius(self) -> float:
        """Brush radius in photo pixels: the brush size is a diameter in screen pixels, so a 4096 px
        photo seen whole does not get a hairline brush and a zoomed-in one not a huge one."""
        return self.state.brush_size / 2 / max(self.zoom, 1e-6)

    def _update_brush_cursor(self, scene_pos: QPointF | None = None) -> None:
        brush = self.state.tool in (Tool.BRUSH, Tool.ERASER) and self.layer is not None
        self._cursor.setVisible(brush and (scene_pos is not None or self._cursor.isVisible()))
        r = self.brush_radius
        centre = scene_pos if scene_pos is not None else self._cursor.rect().center()
        self._cursor.setRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))

    def cancel_tool(self) -> None:
        """Abandon a half-drawn polygon, lasso or face box (Escape)."""
        if self.layer is not None and self.layer.editing:
            self._push("Brush stroke")
        self._points.clear()
        self._last = None
        self._box_from = None
        self._preview.setPath(QPainterPath())
        self._box_preview.setVisible(False)

    def _erasing(self, modifiers: Qt.KeyboardModifier) -> bool:
        if self.state.tool == Tool.ERASER:
            return True
        return bool(modifiers & Qt.KeyboardModifier.ShiftModifier) and self.state.tool in (Tool.LASSO, Tool.POLYGON)

    def tool_press(self, pos: QPointF, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        """Start the current tool at scene position ``pos`` (also used by tests and benchmarks)."""
        if self.layer is None:
            return
        tool = self.state.tool
        radius = self.brush_radius
        if tool in (Tool.BRUSH, Tool.ERASER):
            self.layer.begin_edit()
            self._last = pos
            self.layer.stroke(pos, pos, radius, erase=tool == Tool.ERASER)
        elif tool == Tool.LASSO:
            self._points = [pos]
            self._edit_erases = self._erasing(modifiers)
            self._update_preview(closed=False)
        elif tool == Tool.POLYGON:
            self._edit_erases = self._erasing(modifiers) if not self._points else self._edit_erases
            self._points.append(pos)
            self._update_preview(closed=False)
        elif tool == Tool.FACE_BOX:
            self._box_from = pos
            self._box_preview.setRect(QRectF(pos, pos))
            self._box_preview.setVisible(True)

    def tool_move(self, pos: QPointF) -> None:
        tool = self.state.tool
        if tool in (Tool.BRUSH, Tool.ERASER) and self._last is not None and self.layer is not None:
            self.layer.stroke(self._last, pos, self.brush_radius, erase=tool == Tool.ERASER)
            self._last = pos
        elif tool == Tool.LASSO and self._points:
            if (pos - self._points[-1]).manhattanLength() * self.zoom >= 2:
                self._points.append(pos)
                self._update_preview(closed=False)
        elif tool == Tool.POLYGON and self._points:
            self._update_preview(closed=False, hover=pos)
        elif tool == Tool.FACE_BOX and self._box_from is not None:
            self._box_preview.setRect(QRectF(self._box_from, pos).normalized())

    def tool_release(self, pos: QPointF) -> None:
        tool = self.state.tool
        if tool in (Tool.BRUSH, Tool.ERASER) and self._last is not None and self.layer is not None:
            self._last = None
            self._push("Erase" if tool == Tool.ERASER else "Brush stroke")
        elif tool == Tool.LASSO and self._points:
            self._points.append(pos)
            self.close_polygon("Lasso fill")
        elif tool == Tool.FACE_BOX and self._box_from is not None:
            rect = QRectF(self._box_from, pos).normalized()
            self._box_from = None
            self._box_preview.setVisible(False)
            if rect.width() >= 8 and rect.height() >= 8:
                self.face_box_drawn.emit(rect)

    def close_polygon(self, text: str = "Polygon fill") -> bool:
        """Fill the lasso/polygon drawn so far (Enter or double-click closes a polygon)."""
        points, self._points = self._points, []
        self._preview.setPath(QPainterPath())
        if self.layer is None or len(points) < 3:
            return False
        self.layer.begin_edit()
        self.layer.fill_polygon(points, erase=self._edit_erases)
        return self._push(("Erase " + text.lower()) if self._edit_erases else text)

    def _update_preview(self, closed: bool, hover: QPointF | None = None) -> None:
        path = QPainterPath()
        if self._points:
            path.moveTo(self._points[0])
            for p in self._points[1:]:
                path.lineTo(p)
            if hover is not None:
                path.lineTo(hover)
            if closed:
                path.closeSubpath()
        self._preview.setPath(path)

    # ---------------------------------------------------------------- Qt events
    def _on_handle(self, event: QMouseEvent) -> bool:
        handles = self.landmark_handles
        return (handles is not None and handles.isVisible() and handles.isEnabled()
                and handles.point_at(self.mapToScene(event.position().toPoint())) is not None)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._pan_active(event) or event.button() != Qt.MouseButton.LeftButton or self._on_handle(event):
            super().mousePressEvent(event)  # a landmark handle under the cursor grabs the drag
            return
        self.tool_press(self.mapToScene(event.position().toPoint()), event.modifiers())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = self.mapToScene(event.position().toPoint())
        self._update_brush_cursor(pos)
        self.cursor_moved.emit(pos)
        if self._pan_from is not None or self.scene().mouseGrabberItem() is not None:
            super().mouseMoveEvent(event)
            return
        if event.buttons() & Qt.MouseButton.LeftButton or self.state.tool == Tool.POLYGON:
            self.tool_move(pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None or self.scene().mouseGrabberItem() is not None:
            super().mouseReleaseEvent(event)
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self.tool_release(self.mapToScene(event.position().toPoint()))
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.state.tool == Tool.POLYGON:
            self.close_polygon()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._cursor.setVisible(False)
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_BracketLeft:
            self.state.grow_brush(1 / 1.2)
        elif key == Qt.Key.Key_BracketRight:
            self.state.grow_brush(1.2)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.state.tool == Tool.POLYGON:
            self.close_polygon()
        elif key == Qt.Key.Key_Escape:
            self.cancel_tool()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


__all__ = ["BeforeAfterViewer", "ImageViewer", "MaskCanvas", "ZoomPanView"]
