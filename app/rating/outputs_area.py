"""Places the output cards so that the images are as large as the window allows.

Every image is square and the same size, so the area tries each number of columns and keeps the
one that gives the largest image; image views get that fixed size, so all outputs are shown at
the same scale and a card's questions never push its image around.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QWidget

from app.rating.output_card import OutputCard

SPACING = 10
MIN_IMAGE = 160


def best_columns(n: int, width: int, height: int, controls_h: int, margins: int) -> tuple[int, int]:
    """(columns, image side) maximising the side of ``n`` square images in ``width`` x ``height``."""
    best = (max(1, n), MIN_IMAGE)
    best_side = -1
    for columns in range(1, max(1, n) + 1):
        rows = math.ceil(n / columns)
        side_w = (width - SPACING * (columns - 1)) // columns - margins
        side_h = (height - SPACING * (rows - 1)) // rows - controls_h
        side = min(side_w, side_h)
        if side > best_side:
            best_side, best = side, (columns, max(MIN_IMAGE, side))
    return best


class Footer(QWidget):
    """Host for what goes under the cards. It reports no height-for-width (its wrapped labels
    would otherwise make QGridLayout keep their wrapped height and squeeze the cards instead)."""

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return False


class OutputsArea(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(SPACING)
        # An explicit minimum stops the fixed-size images from growing the window: the area
        # sizes the images to whatever room it gets instead.
        self.setMinimumSize(2 * MIN_IMAGE, 2 * MIN_IMAGE)
        self.cards: list[OutputCard] = []
        self._placement: tuple[int, tuple[int, ...]] = (0, ())
        self._side = 0
        self.footer: QWidget | None = None
        self.footer_min = 0

    def set_footer(self, widget: QWidget, min_height: int) -> None:
        """A widget under the cards, spanning them, that takes the height the images leave over."""
        self.footer, self.footer_min = widget, min_height
        widget.setMinimumHeight(min_height)
        # The footer's own size hint is ignored: it takes what the images leave, never the reverse
        # (with its hint, QGridLayout would squeeze the fixed-height cards when room is short).
        policy = widget.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
        widget.setSizePolicy(policy)
        self._placement = (0, ())
        self.relayout()

    def set_cards(self, cards: list[OutputCard]) -> None:
        for card in self.cards:
            self.grid.removeWidget(card)
        self.cards = list(cards)
        self._placement = (0, ())
        self.relayout()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.relayout()

    def relayout(self) -> None:
        visible = [c for c in self.cards if not c.isHidden()] or self.cards
        if not visible:
            return
        probe = visible[0]
        margins = probe.layout().contentsMargins()
        frame = 2 * probe.frameWidth()
        controls_h = probe.sizeHint().height() - probe.view.height()
        height = self.height() - (self.footer_min + SPACING if self.footer is not None else 0)
        columns, side = best_columns(len(visible), self.width(), height, controls_h,
                                     margins.left() + margins.right() + frame)
        placement = (columns, tuple(c.index for c in visible))
        if placement != self._placement:
            for card in self.cards:
                self.grid.removeWidget(card)
            if self.footer is not None:
                self.grid.removeWidget(self.footer)
            for i, card in enumerate(visible):
                self.grid.addWidget(card, i // columns, i % columns,
                                    Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            rows = math.ceil(len(visible) / columns)
            for row in range(self.grid.rowCount()):
                self.grid.setRowStretch(row, 0)
            if self.footer is not None:
                self.grid.addWidget(self.footer, rows, 0, 1, columns)
            self.grid.setRowStretch(rows, 1)
            self._placement = placement
        if side != self._side:
            self._side = side
            for card in self.cards:
                card.view.setFixedSize(side, side)
                card.setFixedWidth(side + margins.left() + margins.right() + frame)
        for card in self.cards:  # apply now, so a grab or a key right after sees the final layout
            card.layout().invalidate()
            card.layout().activate()
            card.updateGeometry()  # drops the grid's cached size hint of the card
        self.grid.invalidate()
        self.grid.activate()
