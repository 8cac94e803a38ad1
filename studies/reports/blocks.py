"""Reusable reportlab building blocks for every PDF the app writes (import them from here).

The pieces live in small modules (``theme``: fonts, colours, styles; ``images``; ``charts``;
``pages``: layout and writing) and are re-exported here with the text and table blocks.

The consultation report and the blinded-study report are assembled from the same pieces so that
they look alike and share the same guarantees (embedded fonts, print-resolution images, neutral
PDF metadata, atomic writing):

- Fonts: :func:`register_fonts` embeds DejaVu Sans (Latin, Greek, Cyrillic...) with Droid Sans
  Fallback for CJK; :func:`markup` escapes user text and switches font per character run so any
  name prints. Always pass user-supplied text through :func:`markup` before a ``Paragraph``.
- Text: :func:`styles` (``title``, ``subtitle``, ``h2``, ``body``, ``small``, ``caption``,
  ``cell``, ``cell_bold``, ``disclaimer``), :func:`title_block`, :func:`disclaimer_block`.
- Tables: :func:`key_value_table` (label / value pairs) and :func:`data_table` (header row,
  repeated on page breaks, zebra rows, right-aligned numeric columns). A study report uses
  ``data_table`` for per-model rank/score summaries and rater agreement.
- Images: :func:`image_block` places an RGB array at a given printed size, downsampled to at most
  300 dpi of that size and embedded as JPEG (photos) or PNG (masks, outlines, graphics), with a
  caption; :func:`image_row` puts several side by side.
- Charts: :func:`bar_chart_with_intervals` draws bars with error bars (e.g. mean rank with a 95 %
  confidence interval per model) with ``reportlab.graphics`` only.
- Pages: :class:`PageDecor` + :func:`build_pdf` give every page a header (logo, clinic, document
  title), a footer line and "Page x of y", set neutral metadata and write the file atomically.

A study report therefore looks like::

    decor = PageDecor(header_left="Clinic", header_right="Blinded rating study")
    story = [title_block("Study results", "Closed 2024-05-01"),
             data_table(["Model", "Mean rank", "95 % CI"], rows, numeric_columns=(1, 2)),
             bar_chart_with_intervals(names, means, lows, highs, width=160 * mm, height=70 * mm,
                                      value_label="Mean rank (1 = best)"),
             disclaimer_block(RESEARCH_DISCLAIMER)]
    build_pdf(out_path, story, decor, page_size="A4", title="Study report", author="Clinic")
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from studies.reports.charts import bar_chart_with_intervals
from studies.reports.errors import ReportInputError
from studies.reports.images import (
    JPEG_QUALITY,
    PRINT_DPI,
    encode_for_print,
    image_block,
    image_row,
    print_image,
)
from studies.reports.pages import PAGE_SIZES, PageDecor, build_pdf, content_width
from studies.reports.theme import (
    ACCENT,
    FONT_BOLD,
    FONT_DIR,
    FONT_FALLBACK,
    FONT_REGULAR,
    INK,
    MUTED,
    NOTE_BG,
    NOTE_BORDER,
    RULE,
    ZEBRA,
    FontSet,
    markup,
    register_fonts,
    styles,
)

RESEARCH_DISCLAIMER = (
    "This picture was made by a computer research model. It is a research visualisation, not a "
    "photograph of a real result and not a promise of what surgery will achieve. Every child heals "
    "differently; the surgeon will explain what can realistically be expected."
)

__all__ = [
    "ACCENT", "FONT_BOLD", "FONT_DIR", "FONT_FALLBACK", "FONT_REGULAR", "INK", "JPEG_QUALITY",
    "MUTED", "NOTE_BG", "NOTE_BORDER", "PAGE_SIZES", "PRINT_DPI", "RESEARCH_DISCLAIMER", "RULE",
    "ZEBRA", "FontSet", "PageDecor", "bar_chart_with_intervals", "build_pdf", "content_width",
    "data_table", "disclaimer_block", "encode_for_print", "image_block", "image_row",
    "key_value_table", "markup", "para", "print_image", "register_fonts", "styles", "title_block",
]


# ---------------------------------------------------------------------------------------- text


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of user text (escaped, font fallback applied)."""
    return Paragraph(markup(text), styles()[style])


def title_block(title: str, subtitle: str | None = None) -> KeepTogether:
    """Document title with an optional muted subtitle line."""
    parts: list[Flowable] = [para(title, "title")]
    if subtitle:
        parts.append(para(subtitle, "subtitle"))
    parts.append(Spacer(1, 4 * mm))
    return KeepTogether(parts)


def disclaimer_block(text: str = RESEARCH_DISCLAIMER, heading: str | None = "Please note") -> Table:
    """Boxed, clearly visible statement (used for the research-visualisation disclaimer)."""
    content: list[Flowable] = []
    if heading:
        content.append(Paragraph(f"<b>{markup(heading)}</b>", styles()["disclaimer"]))
    content.append(para(text, "disclaimer"))
    box = Table([[content]], colWidths=["100%"])
    box.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT_REGULAR),
        ("BACKGROUND", (0, 0), (-1, -1), NOTE_BG),
        ("BOX", (0, 0), (-1, -1), 0.8, NOTE_BORDER),
        ("LEFTPADDING", (0, 0), (-1, -1), 8),
        ("RIGHTPADDING", (0, 0), (-1, -1), 8),
        ("TOPPADDING", (0, 0), (-1, -1), 6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
    ]))
    return box


# -------------------------------------------------------------------------------------- tables


def key_value_table(
    rows: Sequence[tuple[str, str]], width: float, label_width: float = 42 * mm,
    value_style: str = "cell",
) -> Table:
    """Two-column label/value table (patient, date, model...), labels muted and bold."""
    st = styles()
    data = [[Paragraph(markup(k), st["cell_bold"]), Paragraph(markup(v), st[value_style])]
            for k, v in rows]
    table = Table(data, colWidths=[label_width, width - label_width], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT_REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def data_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], col_widths: Sequence[float] | None = None,
    numeric_columns: Sequence[int] = (),
) -> Table:
    """Header + rows table for results; the header repeats when the table crosses a page."""
    st = styles()
    right = ParagraphStyle("cell_right", parent=st["cell"], alignment=2)
    right_bold = ParagraphStyle("cell_bold_right", parent=st["cell_bold"], alignment=2)
    for r in rows:
        if len(r) != len(header):
            raise ReportInputError("A table row has a different number of columns than its header.")
    data = [[Paragraph(markup(h), right_bold if i in numeric_columns else st["cell_bold"])
             for i, h in enumerate(header)]]
    data += [[Paragraph(markup(str(c)), right if i in numeric_columns else st["cell"])
              for i, c in enumerate(r)] for r in rows]
    table = Table(data, colWidths=list(col_widths) if col_widths else None, repeatRows=1,
                  hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT_REGULAR),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    style += [("BACKGROUND", (0, i), (-1, i), ZEBRA) for i in range(2, len(data), 2)]
    table.setStyle(TableStyle(style))
    return table
