"""Page layout and file output: header/footer with "Page x of y", neutral metadata, atomic write."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from inference.atomic import atomic_write
from studies.reports.errors import ReportInputError, ReportWriteError
from studies.reports.images import encode_for_print
from studies.reports.theme import FONT_BOLD, FONT_REGULAR, INK, MUTED, RULE, font_runs, register_fonts

PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "Letter": LETTER}
MARGIN = 18 * mm


@dataclass(frozen=True)
class PageDecor:
    """What every page shows around the content (nothing about the patient goes here)."""

    header_left: str
    header_right: str = ""
    footer_left: str = ""
    logo_rgba: np.ndarray | None = None


class _NumberedCanvas(Canvas):
    """Canvas that defers page output so the footer can say "Page x of y"."""

    decor: PageDecor

    def __init__(self, *args: object, **kwargs: object) -> None:
        # The initial font is written into every page; use ours so no unembedded Helvetica appears.
        kwargs["initialFontName"] = kwargs.get("initialFontName") or FONT_REGULAR
        kwargs["initialFontSize"] = kwargs.get("initialFontSize") or 10
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._saved: list[dict[str, object]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab API)
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            _draw_decor(self, self.decor, self.getPageNumber(), total)
            super().showPage()
        super().save()


def _draw_decor(c: Canvas, decor: PageDecor, page: int, total: int) -> None:
    w, h = c._pagesize
    margin = MARGIN
    top = h - 12 * mm
    c.saveState()
    rule_y = top - 8 * mm
    x = margin
    if decor.logo_rgba is not None:
        logo_h = 9 * mm
        lh, lw = decor.logo_rgba.shape[:2]
        logo_w = min(logo_h * lw / max(lh, 1), 45 * mm)
        logo_h = logo_w * lh / max(lw, 1)
        data = encode_for_print(decor.logo_rgba, logo_w, logo_h, "graphic")
        c.drawImage(ImageReader(io.BytesIO(data)), x, rule_y + 1.5 * mm, logo_w, logo_h,
                    mask="auto")
        x += logo_w + 4 * mm
    right_w = 0.0
    if decor.header_right:
        c.setFillColor(MUTED)
        right_w = _draw_text(c, w - margin, top - 4 * mm, decor.header_right, FONT_REGULAR, 9,
                             anchor="end")
    c.setFillColor(INK)
    _draw_text(c, x, top - 4 * mm, decor.header_left, FONT_BOLD, 11,
               max_width=w - margin - x - right_w - 8 * mm)
    c.setStrokeColor(RULE)
    c.setLineWidth(0.6)
    c.line(margin, rule_y, w - margin, rule_y)
    c.line(margin, 14 * mm, w - margin, 14 * mm)
    c.setFillColor(MUTED)
    if decor.footer_left:
        _draw_text(c, margin, 9.5 * mm, decor.footer_left, FONT_REGULAR, 7.5,
                   max_width=w - 2 * margin - 30 * mm)
    _draw_text(c, w - margin, 9.5 * mm, f"Page {page} of {total}", FONT_REGULAR, 7.5, anchor="end")
    c.restoreState()


def _draw_text(
    c: Canvas, x: float, y: float, text: str, font: str, size: float, anchor: str = "start",
    max_width: float | None = None,
) -> float:
    """Draw one line with CJK fallback runs, shortened with an ellipsis to ``max_width``.

    Returns the drawn width in points.
    """
    def width(s: str) -> float:
        return sum(pdfmetrics.stringWidth(t, f, size) for f, t in font_runs(s, font))

    if max_width is not None and width(text) > max_width:
        while text and width(text + "…") > max_width:
            text = text[:-1]
        text += "…"
    total = width(text)
    cx = x - total if anchor == "end" else x
    for f, t in font_runs(text, font):
        c.setFont(f, size)
        c.drawString(cx, y, t)
        cx += pdfmetrics.stringWidth(t, f, size)
    return total


def content_width(page_size: str) -> float:
    """Usable width between the page margins, in points."""
    return _page_size(page_size)[0] - 2 * MARGIN


def _page_size(page_size: str) -> tuple[float, float]:
    try:
        return PAGE_SIZES[page_size]
    except KeyError:
        raise ReportInputError(
            f"Unknown paper size {page_size!r}; choose one of {', '.join(PAGE_SIZES)}."
        ) from None


def build_pdf(
    out_path: str | os.PathLike[str], story: Sequence[Flowable], decor: PageDecor, *,
    page_size: str = "A4", title: str, author: str = "", lang: str = "en", real_dates: bool = False,
) -> Path:
    """Lay out ``story`` and write the PDF atomically (temp file in the same folder + rename).

    Metadata carries only ``title`` and ``author`` (keep both free of patient data); subject,
    keywords and creator are blank and the producer is reportlab's fixed string. With
    ``real_dates`` the creation and modification dates are the time of writing (a consultation
    report is dated); otherwise the document is built in reportlab's invariant mode (fixed
    2000-01-01 dates, reproducible bytes).
    """
    register_fonts()
    size = _page_size(page_size)
    out = Path(out_path)

    def write(handle: object) -> None:
        doc = BaseDocTemplate(
            handle, pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN,
            topMargin=24 * mm, bottomMargin=20 * mm, title=title, author=author, subject="",
            keywords="", creator="", lang=lang, invariant=0 if real_dates else 1,
        )
        frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        doc.build(list(story), canvasmaker=_canvas_class(decor))

    return atomic_write(out, write, error=ReportWriteError)


def _canvas_class(decor: PageDecor) -> Callable[..., Canvas]:
    return type("_DecoratedCanvas", (_NumberedCanvas,), {"decor": decor})


