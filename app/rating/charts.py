"""Bar charts with interval whiskers, painted with QPainter (PySide6-Essentials has no QtCharts)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from studies.reports.charts import nice_step

BAR = QColor("#3b6ea8")
INK = QColor("#202124")
GRID = QColor("#dadce0")
MUTED = QColor("#5f6368")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    note: str = ""  # printed above the bar (e.g. "n = 12")


class IntervalBarChart(QWidget):
    """Vertical bars with optional [low, high] whiskers, a y axis with grid lines, and a title."""

    def __init__(self, title: str = "", y_label: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.y_label = y_label
        self.bars: list[Bar] = []
        self.y_max: float | None = None
        self.value_format = "{:.2f}"
        self.setMinimumSize(320, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_bars(self, bars: Sequence[Bar], y_max: float | None = None, value_format: str = "{:.2f}") -> None:
        self.bars = [b for b in bars if math.isfinite(b.value)]
        self.y_max = y_max
        self.value_format = value_format
        self.setAccessibleName(self.title)
        self.setToolTip("\n".join(self.describe()))
        self.update()

    def describe(self) -> list[str]:
        """The chart as text lines (tooltip, accessibility)."""
        lines = []
        for b in self.bars:
            text = f"{b.label}: {self.value_format.format(b.value)}"
            if b.low is not None and b.high is not None:
                text += f" ({self.value_format.format(b.low)} to {self.value_format.format(b.high)})"
            lines.append(text)
        return lines

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        font = QFont(self.font())
        p.setFont(font)
        metrics = p.fontMetrics()
        line = metrics.height()
        title_font = QFont(font)
        title_font.setBold(True)
        p.setFont(title_font)
        p.setPen(INK)
        p.drawText(QRectF(8, 4, self.width() - 16, line + 4), Qt.AlignmentFlag.AlignLeft, self.title)
        p.setFont(font)
        left, top, right, bottom = 56.0, line + 16.0, 12.0, 2.2 * line + 8
        plot = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        if not self.bars or plot.width() < 20 or plot.height() < 20:
            p.setPen(MUTED)
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No data to show yet")
            p.end()
            return
        highs = [b.high if b.high is not None else b.value for b in self.bars]
        vmax = self.y_max if self.y_max is not None else max([*highs, 1e-9])
        step = nice_step(vmax)
        vmax = math.ceil(vmax / step - 1e-9) * step if self.y_max is None else vmax

        def y_of(v: float) -> float:
            return plot.bottom() - max(0.0, min(v, vmax)) / vmax * plot.height()

        tick = 0.0
        while tick <= vmax + 1e-9:
            y = y_of(tick)
            p.setPen(QPen(GRID, 1))
            p.drawLine(int(plot.left()), int(y), int(plot.right()), int(y))
            p.setPen(MUTED)
            p.drawText(QRectF(0, y - line / 2, left - 6, line), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{tick:g}")
            tick += step
        if self.y_label:
            p.save()
            p.translate(12, plot.center().y())
            p.rotate(-90)
            p.drawText(QRectF(-plot.height() / 2, -line / 2, plot.height(), line), Qt.AlignmentFlag.AlignCenter,
                       self.y_label)
            p.restore()
        p.setPen(QPen(INK, 1))
        p.drawLine(int(plot.left()), int(plot.bottom()), int(plot.right()), int(plot.bottom()))

        slot = plot.width() / len(self.bars)
        width = min(slot * 0.55, 90)
        for i, bar in enumerate(self.bars):
            cx = plot.left() + slot * (i + 0.5)
            y = y_of(bar.value)
            p.fillRect(QRectF(cx - width / 2, y, width, plot.bottom() - y), BAR)
            if bar.low is not None and bar.high is not None:
                y0, y1 = y_of(bar.low), y_of(bar.high)
                cap = width * 0.25
                p.setPen(QPen(INK, 1.5))
                p.drawLine(int(cx), int(y0), int(cx), int(y1))
                p.drawLine(int(cx - cap), int(y0), int(cx + cap), int(y0))
                p.drawLine(int(cx - cap), int(y1), int(cx + cap), int(y1))
            p.setPen(INK)
            label = metrics.elidedText(bar.label, Qt.TextElideMode.ElideRight, int(slot - 4))
            p.drawText(QRectF(cx - slot / 2, plot.bottom() + 4, slot, line), Qt.AlignmentFlag.AlignCenter, label)
            p.setPen(MUTED)
            value = self.value_format.format(bar.value) + (f"  {bar.note}" if bar.note else "")
            p.drawText(QRectF(cx - slot / 2, plot.bottom() + 4 + line, slot, line), Qt.AlignmentFlag.AlignCenter,
                       metrics.elidedText(value, Qt.TextElideMode.ElideRight, int(slot - 4)))
        p.end()
