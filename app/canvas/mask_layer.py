"""The painted mask as a photo-sized QImage, edited in place with per-edit tile patches.

Painting happens straight into an ARGB32 image of the photo's size (opaque overlay colour =
hole, transparent = keep), so a brush segment costs only its own pixels and the view repaints
only the dirty rectangle; the full frame is converted to numpy only when the mask is saved,
exported or sent to a model. Before an edit touches a 256 x 256 tile for the first time, that
tile is copied; the copies (before and after) are the edit's undo patch, so undo memory grows
with the painted area, not with the photo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPolygonF

TILE = 256
_FORMAT = QImage.Format.Format_ARGB32_Premultiplied
_OPAQUE_MIN = np.uint32(1 << 24)  # any non-zero alpha counts as painted


@dataclass(frozen=True)
class MaskPatch:
    """The tiles one edit changed: ``{(tx, ty): (before, after)}`` and their union rectangle."""

    tiles: dict[tuple[int, int], tuple[QImage, QImage]]
    rect: QRect

    @property
    def nbytes(self) -> int:
        return sum(b.sizeInBytes() + a.sizeInBytes() for b, a in self.tiles.values())


class MaskLayer:
    """A mask the size of the photo; ``on_change(rect)`` is called with every dirty rectangle."""

    def __init__(self, width: int, height: int, color: str = "#ff2d6f") -> None:
        self.image = QImage(width, height, _FORMAT)
        self.image.fill(0)
        self._color = QColor(color)
        self._before: dict[tuple[int, int], QImage] | None = None
        self.on_change: Callable[[QRect], None] = lambda rect: None

    # ------------------------------------------------------------------ geometry
    @property
    def width(self) -> int:
        return self.image.width()

    @property
    def height(self) -> int:
        return self.image.height()

    @property
    def bounds(self) -> QRect:
        return self.image.rect()

    @property
    def color(self) -> QColor:
        return QColor(self._color)

    def _tile_rect(self, tx: int, ty: int) -> QRect:
        return QRect(tx * TILE, ty * TILE, TILE, TILE).intersected(self.bounds)

    # ------------------------------------------------------------------ edit sessions
    def begin_edit(self) -> None:
        """Start recording an undoable edit (a stroke, a fill, a suggestion, an import)."""
        self._before = {}

    @property
    def editing(self) -> bool:
        return self._before is not None

    def _touch(self, rect: QRect) -> QRect:
        rect = rect.intersected(self.bounds)
        if rect.isEmpty():
            return rect
        if self._before is not None:
            for ty in range(rect.top() // TILE, rect.bottom() // TILE + 1):
                for tx in range(rect.left() // TILE, rect.right() // TILE + 1):
                    if (tx, ty) not in self._before:
                        self._before[(tx, ty)] = self.image.copy(self._tile_rect(tx, ty))
        return rect

    def end_edit(self) -> MaskPatch | None:
        """Finish the edit; ``None`` when no pixel changed (a click outside the photo, say)."""
        before, self._before = self._before or {}, None
        tiles: dict[tuple[int, int], tuple[QImage, QImage]] = {}
        union = QRect()
        for key, old in before.items():
            rect = self._tile_rect(*key)
            new = self.image.copy(rect)
            if new != old:
                tiles[key] = (old, new)
                union = union.united(rect)
        return MaskPatch(tiles, union) if tiles else None

    def apply(self, patch: MaskPatch, after: bool) -> None:
        """Put a patch's before (undo) or after (redo) tiles back."""
        painter = QPainter(self.image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        for (tx, ty), (old, new) in patch.tiles.items():
            painter.drawImage(tx * TILE, ty * TILE, new if after else old)
        painter.end()
        self.on_change(patch.rect)

    # ------------------------------------------------------------------ painting
    def _painter(self, erase: bool) -> QPainter:
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # a mask is binary
        if erase:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        else:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        return painter

    def stroke(self, p0: QPointF, p1: QPointF, radius: float, erase: bool = False) -> QRect:
        """Paint (or erase) a round-capped segment of the given radius; returns the dirty rect."""
        r = max(0.5, float(radius))
        pad = int(np.ceil(r)) + 2
        dirty = QRect(int(min(p0.x(), p1.x())) - pad, int(min(p0.y(), p1.y())) - pad,
                      int(abs(p1.x() - p0.x())) + 2 * pad + 1, int(abs(p1.y() - p0.y())) + 2 * pad + 1)
        dirty = self._touch(dirty)
        if dirty.isEmpty():
            return dirty
        painter = self._painter(erase)
        painter.setClipRect(dirty)
        if p0 == p1:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(self._color))
            painter.drawEllipse(p0, r, r)
        else:
            pen = QPen(self._color, 2 * r, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawLine(p0, p1)
        painter.end()
        self.on_change(dirty)
        return dirty

    def fill_polygon(self, points: Sequence[QPointF], erase: bool = False) -> QRect:
        """Fill a closed polygon or lasso (odd-even rule) with the hole colour, or erase it."""
        if len(points) < 3:
            return QRect()
        polygon = QPolygonF(list(points))
        dirty = self._touch(polygon.boundingRect().toAlignedRect().adjusted(-1, -1, 1, 1))
        if dirty.isEmpty():
            return dirty
        painter = self._painter(erase)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(self._color))
        painter.drawPolygon(polygon)
        painter.end()
        self.on_change(dirty)
        return dirty

    def replace_region(self, mask: np.ndarray, rect: QRect | None = None) -> QRect:
        """Set the pixels of ``rect`` (default: the bounding box of old and new holes) from a bool mask."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.height, self.width):
            raise ValueError(f"mask {mask.shape[::-1]} does not match the photo {self.width} x {self.height}")
        if rect is None:
            rect = _bbox(mask).united(_bbox(self.to_bool()))
        rect = self._touch(rect)
        if rect.isEmpty():
            return rect
        view = self._pixels()
        y0, y1, x0, x1 = rect.top(), rect.bottom() + 1, rect.left(), rect.right() + 1
        view[y0:y1, x0:x1] = np.where(mask[y0:y1, x0:x1], np.uint32(self._color.rgba()), np.uint32(0))
        self.on_change(rect)
        return rect

    def clear(self) -> QRect:
        return self.replace_region(np.zeros((self.height, self.width), bool))

    def set_color(self, color: str) -> None:
        """Recolour every painted pixel (the mask itself is unchanged)."""
        self._color = QColor(color)
        view = self._pixels()
        painted = view >= _OPAQUE_MIN
        view[painted] = np.uint32(self._color.rgba())
        self.on_change(self.bounds)

    # ------------------------------------------------------------------ reading
    def _pixels(self) -> np.ndarray:
        """A writable uint32 view of the image (0xAARRGGBB per pixel)."""
        bpl = self.image.bytesPerLine()
        data = np.frombuffer(self.image.bits(), np.uint32, count=self.height * bpl // 4)
        return data.reshape(self.height, bpl // 4)[:, : self.width]

    def _const_pixels(self) -> np.ndarray:
        """A read-only view; never detaches (copies) the image."""
        bpl = self.image.bytesPerLine()
        data = np.frombuffer(self.image.constBits(), np.uint32, count=self.height * bpl // 4)
        return data.reshape(self.height, bpl // 4)[:, : self.width]

    def to_bool(self) -> np.ndarray:
        """The mask as bool (H, W), True = hole (a copy)."""
        return self._const_pixels() >= _OPAQUE_MIN

    def region_bool(self, rect: QRect) -> np.ndarray:
        rect = rect.intersected(self.bounds)
        return self._const_pixels()[rect.top():rect.bottom() + 1, rect.left():rect.right() + 1] >= _OPAQUE_MIN

    def is_empty(self) -> bool:
        return not self.to_bool().any()


def _bbox(mask: np.ndarray) -> QRect:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return QRect()
    return QRect(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
