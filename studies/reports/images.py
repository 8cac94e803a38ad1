"""Images at print resolution: downsampled to 300 dpi of their printed size, JPEG or PNG."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image as PILImage
from reportlab.lib.units import inch, mm
from reportlab.platypus import Flowable, Image, Paragraph, Table, TableStyle

from studies.reports.errors import ReportInputError
from studies.reports.theme import FONT_REGULAR, RULE, markup, styles

PRINT_DPI = 300
JPEG_QUALITY = 90


def encode_for_print(
    rgb: np.ndarray, width: float, height: float, kind: str = "photo", dpi: int = PRINT_DPI
) -> bytes:
    """Downsample an image to ``dpi`` at its printed size (points) and encode it.

    Images are never upsampled (the PDF viewer scales a small image up). ``kind="photo"`` gives a
    JPEG (quality 90, no chroma subsampling so thin coloured outlines stay crisp);
    ``kind="graphic"`` gives a lossless PNG for masks, outlines and logos (alpha kept).
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
        raise ReportInputError("An image for the report is not an 8-bit picture.")
    if rgb.ndim == 3 and rgb.shape[2] not in (3, 4):
        raise ReportInputError("An image for the report is not an RGB picture.")
    if min(rgb.shape[:2]) < 1 or width <= 0 or height <= 0:
        raise ReportInputError("An image for the report is empty.")
    img = PILImage.fromarray(rgb)
    target_w = max(1, math.ceil(width / inch * dpi))
    target_h = max(1, math.ceil(height / inch * dpi))
    if img.width > target_w or img.height > target_h:
        scale = min(target_w / img.width, target_h / img.height)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, PILImage.Resampling.LANCZOS, reducing_gap=3.0)
    buf = io.BytesIO()
    if kind == "photo":
        img.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    elif kind == "graphic":
        img.save(buf, "PNG", optimize=True)
    else:
        raise ValueError(f"unknown image kind {kind!r}")
    return buf.getvalue()


def print_image(
    rgb: np.ndarray, width: float, height: float | None = None, kind: str = "photo"
) -> Image:
    """A platypus ``Image`` at ``width`` x ``height`` points (height from the aspect if None)."""
    h_px, w_px = rgb.shape[:2]
    if height is None:
        height = width * h_px / max(w_px, 1)
    data = encode_for_print(rgb, width, height, kind)
    return Image(io.BytesIO(data), width=width, height=height)


def image_block(
    rgb: np.ndarray, width: float, caption: str | None = None, height: float | None = None,
    kind: str = "photo",
) -> Table:
    """Image at a fixed printed size with a centred caption underneath, kept on one page."""
    cells: list[list[Flowable]] = [[print_image(rgb, width, height, kind)]]
    if caption:
        cells.append([Paragraph(markup(caption), styles()["caption"])])
    table = Table(cells, colWidths=[width])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT_REGULAR),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (0, 0), 3),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 0),
        ("BOX", (0, 0), (0, 0), 0.3, RULE),
    ]))
    table.keepWithNext = False
    return table


def image_row(blocks: Sequence[Flowable], total_width: float, gap: float = 6 * mm) -> Table:
    """Place image blocks side by side in equal columns (the blocks set their own size)."""
    if not blocks:
        raise ReportInputError("No images to place.")
    n = len(blocks)
    col = (total_width - gap * (n - 1)) / n
    row: list[Flowable | str] = []
    widths: list[float] = []
    for i, b in enumerate(blocks):
        if i:
            row.append("")
            widths.append(gap)
        row.append(b)
        widths.append(col)
    table = Table([row], colWidths=widths, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT_REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]))
    return table



