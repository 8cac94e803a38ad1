"""Vector charts for reports, drawn with ``reportlab.graphics`` (no matplotlib)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics

from studies.reports.errors import ReportInputError
from studies.reports.theme import ACCENT, FONT_REGULAR, INK, MUTED, RULE, register_fonts


def nice_step(span: float, target_ticks: int = 5) -> float:
    """A 1-2-2.5-5 x 10^k axis step giving about ``target_ticks`` ticks (shared with the app's charts)."""
    raw = span / max(target_ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def bar_chart_with_intervals(
    labels: Sequence[str], values: Sequence[float], lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None, *, width: float, height: float, value_label: str = "",
    value_min: float | None = None, value_max: float | None = None,
    bar_color: colors.Color = ACCENT,
) -> Drawing:
    """Vertical bars with optional error bars (``lower``/``upper`` are absolute interval ends).

    Drawn with reportlab.graphics primitives (vector, no matplotlib). Non-finite values raise.
    """
    register_fonts()
    n = len(labels)
    if n == 0 or len(values) != n:
        raise ReportInputError("A chart needs one value per label.")
    lo = list(lower) if lower is not None else list(values)
    hi = list(upper) if upper is not None else list(values)
    if len(lo) != n or len(hi) != n:
        raise ReportInputError("A chart needs one interval per label.")
    all_vals = [*values, *lo, *hi]
    if not all(math.isfinite(v) for v in all_vals):
        raise ReportInputError("A chart value is missing or not a number.")
    vmin = min(0.0, *all_vals) if value_min is None else value_min
    vmax = max(all_vals) if value_max is None else value_max
    if vmax <= vmin:
        vmax = vmin + 1.0
    step = nice_step(vmax - vmin)
    if value_max is None:
        vmax = math.ceil(vmax / step - 1e-9) * step
    if value_min is None:
        vmin = math.floor(vmin / step + 1e-9) * step

    d = Drawing(width, height)
    left, bottom, top, right = 34.0, 26.0, 8.0, 6.0
    if value_label:
        left += 10
    plot_w, plot_h = width - left - right, height - bottom - top

    def y_of(v: float) -> float:
        return bottom + (min(max(v, vmin), vmax) - vmin) / (vmax - vmin) * plot_h

    tick = vmin
    while tick <= vmax + 1e-9:
        y = y_of(tick)
        d.add(Line(left, y, left + plot_w, y, strokeColor=RULE, strokeWidth=0.4))
        d.add(String(left - 4, y - 3, f"{tick:g}", fontName=FONT_REGULAR, fontSize=7,
                     fillColor=MUTED, textAnchor="end"))
        tick += step
    d.add(Line(left, bottom, left, bottom + plot_h, strokeColor=INK, strokeWidth=0.6))
    d.add(Line(left, y_of(max(vmin, 0.0)), left + plot_w, y_of(max(vmin, 0.0)), strokeColor=INK,
               strokeWidth=0.6))
    if value_label:
        s = String(0, 0, value_label, fontName=FONT_REGULAR, fontSize=7.5, fillColor=INK,
                   textAnchor="middle")
        g = Group(s)
        g.translate(9, bottom + plot_h / 2)
        g.rotate(90)
        d.add(g)

    slot = plot_w / n
    bar_w = slot * 0.55
    base_y = y_of(max(vmin, 0.0))
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        cx = left + slot * (i + 0.5)
        y = y_of(v)
        d.add(Rect(cx - bar_w / 2, min(base_y, y), bar_w, abs(y - base_y), fillColor=bar_color,
                   strokeColor=None))
        if lower is not None or upper is not None:
            y0, y1 = y_of(lo[i]), y_of(hi[i])
            cap = bar_w * 0.25
            d.add(Line(cx, y0, cx, y1, strokeColor=INK, strokeWidth=0.9))
            d.add(Line(cx - cap, y0, cx + cap, y0, strokeColor=INK, strokeWidth=0.9))
            d.add(Line(cx - cap, y1, cx + cap, y1, strokeColor=INK, strokeWidth=0.9))
        text = lab
        while len(text) > 1 and pdfmetrics.stringWidth(text, FONT_REGULAR, 7.5) > slot - 2:
            text = text[:-2] + "…"
        d.add(String(cx, bottom - 11, text, fontName=FONT_REGULAR, fontSize=7.5, fillColor=INK,
                     textAnchor="middle"))
    return d


