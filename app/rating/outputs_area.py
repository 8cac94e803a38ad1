"""Places the output cards so that the images are as large as the window allows.

Every image is square and the same size, so the area tries each arrangement and keeps the one
that gives the largest image: each number of columns, the panel with the ranking, comment and
keys under the cards or in a column to their right, and, for a single output, its questions
under the image or beside it. Image views get that fixed size, so all outputs are shown at the
same scale and a card's questions never push its image around. Two outputs on a wide window
therefore take about half its width each; one output shown alone fills the window.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QSizePolicy, QWidget

from app.rating.output_card import OutputCard

SPACING = 10
MIN_IMAGE = 160
SIDE_FOOTER_WIDTH = 340  # the ranking, comment and keys panel when it stands right of the cards


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


@dataclass(frozen=True)
class Placement:
    side: int  # image side in pixels
    columns: int
    footer: str  # "below", "side" or "none"
    beside: bool  # a single card's questions right of its image


def best_placement(n: int, width: int, height: int, *, controls_h: int, controls_w: int, head_h: int,
                   margins: int, v_margins: int = 0, footer_min: int | None,
                   footer_side: int = SIDE_FOOTER_WIDTH) -> Placement:
    """The arrangement giving the largest images (ties keep the earlier, more familiar one:
    panel below, questions under the image)."""
    footers = ("none",) if footer_min is None else ("below", "side")
    best: Placement | None = None
    for footer in footers:
        w = width - (footer_side + SPACING if footer == "side" else 0)
        h = height - (footer_min + SPACING if footer == "below" and footer_min is not None else 0)
        columns, side = best_columns(n, w, h, controls_h, margins)
        options = [Placement(side, columns, footer, False)]
        if n == 1:
            beside = min(w - margins - controls_w - SPACING, h - head_h - v_margins)
            options.append(Placement(max(MIN_IMAGE, beside), 1, footer, True))
        for option in options:
            if best is None or option.side > best.side:
                best = option
    assert best is not None
    return best


class Footer(QWidget):
    """Host for the panel shown with the cards. It reports no height-for-width (its wrapped labels
    would otherwise make QGridLayout keep their wrapped height and squeeze the cards instead).

    Its box layout runs left to right under the cards and top to bottom beside them;
    ``on_orientation`` callbacks (e.g. re-flowing the key help) hear of each change."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(SPACING)
        self.vertical = False
        self.on_orientation: list[Callable[[bool], None]] = []

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt API)
        return False

    def set_vertical(self, vertical: bool) -> None:
        if vertical == self.vertical:
            return
        self.vertical = vertical
        self.box.setDirection(QBoxLayout.Direction.TopToBottom if vertical else QBoxLayout.Direction.LeftToRight)
        for callback in self.on_orientation:
            callback(vertical)


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
        self._key: tuple = ()
        self._side = 0
        self.placement: Placement | None = None
        self.footer: QWidget | None = None
        self.footer_min = 0
        self.footer_shown = True

    def set_footer(self, widget: QWidget, min_height: int) -> None:
        """A widget under the cards (or right of them), spanning them, that takes the room the images
        leave over."""
        self.footer, self.footer_min = widget, min_height
        widget.setMinimumHeight(min_height)
        # The footer's own size hint is ignored: it takes what the images leave, never the reverse
        # (with its hint, QGridLayout would squeeze the fixed-height cards when room is short).
        policy = widget.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
        widget.setSizePolicy(policy)
        self._key = ()
        self.relayout()

    def show_footer(self, shown: bool) -> None:
        """Hide the panel (one output shown alone takes the whole window) or bring it back."""
        self.footer_shown = shown
        if self.footer is not None:
            self.footer.setVisible(shown)
        self._key = ()
        self.relayout()

    def set_cards(self, cards: list[OutputCard]) -> None:
        for card in self.cards:
            self.grid.removeWidget(card)
        self.cards = list(cards)
        self._key = ()
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
        h_margins = margins.left() + margins.right() + frame
        v_margins = margins.top() + margins.bottom() + frame
        controls_w, controls_h = probe.controls_size()
        spacing = probe.layout().spacing()
        under = probe.head_height() + spacing + probe.body.spacing() + controls_h + v_margins
        footer = self.footer if self.footer is not None and self.footer_shown else None
        placement = best_placement(
            len(visible), self.width(), self.height(), controls_h=under, controls_w=controls_w,
            head_h=probe.head_height() + spacing, margins=h_margins, v_margins=v_margins,
            footer_min=None if footer is None else self.footer_min)
        self.placement = placement
        key = (placement.columns, placement.footer, placement.beside, tuple(c.index for c in visible))
        if key != self._key:
            for card in self.cards:
                self.grid.removeWidget(card)
                card.set_controls_beside(placement.beside and card in visible)
            if self.footer is not None:
                self.grid.removeWidget(self.footer)
            for row in range(self.grid.rowCount()):
                self.grid.setRowStretch(row, 0)
            for col in range(self.grid.columnCount()):
                self.grid.setColumnStretch(col, 0)
            columns = placement.columns
            for i, card in enumerate(visible):
                self.grid.addWidget(card, i // columns, i % columns,
                                    Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            rows = math.ceil(len(visible) / columns)
            if footer is not None and isinstance(footer, Footer):
                footer.set_vertical(placement.footer == "side")
            if footer is not None and placement.footer == "side":
                footer.setFixedWidth(SIDE_FOOTER_WIDTH)
                self.grid.addWidget(footer, 0, columns, rows + 1, 1)
                self.grid.setRowStretch(rows, 1)
            else:
                if footer is not None:
                    footer.setMinimumWidth(0)
                    footer.setMaximumWidth(16777215)
                    self.grid.addWidget(footer, rows, 0, 1, columns)
                self.grid.setRowStretch(rows, 1)
            self._key = key
        side = placement.side
        if side != self._side or key != getattr(self, "_sized_key", None):
            self._side = side
            self._sized_key = key
            for card in self.cards:
                card.view.setFixedSize(side, side)
                extra = controls_w + probe.body.spacing() if card.controls_beside() else 0
                card.setFixedWidth(side + h_margins + extra)
        for card in self.cards:  # apply now, so a grab or a key right after sees the final layout
            card.layout().invalidate()
            card.layout().activate()
            card.updateGeometry()  # drops the grid's cached size hint of the card
        self.grid.invalidate()
        self.grid.activate()
