"""The "research visualisation" mark drawn into prediction pictures that leave the app.

A saved or copied prediction travels without the report's disclaimer; the mark keeps the
statement on the picture itself. It is small (bottom-right corner) so it does not hide the lip.
Pillow only (no Qt), so the app and the PDF reports draw the same mark.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from studies.reports.theme import FONT_DIR

MARK_TEXT = "Research visualisation, not a surgical result"


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), size)
    except OSError:  # fonts missing from a broken install: still mark the picture
        return ImageFont.load_default(size)


def add_research_mark(rgb: np.ndarray, text: str = MARK_TEXT) -> np.ndarray:
    """A copy of ``rgb`` (uint8, H x W x 3) with ``text`` on a dark band in the bottom-right corner.

    The text height is about 2.2 % of the picture's longer side (at least 9 px), and the text is
    shortened to fit when the picture is narrow.
    """
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError("the picture to mark is not an 8-bit RGB image")
    h, w = arr.shape[:2]
    img = Image.fromarray(arr).convert("RGBA")
    size = max(9, round(max(h, w) * 0.022))
    font = _font(size)
    draw = ImageDraw.Draw(img)
    pad = max(2, size // 3)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    while right - left + 2 * pad > w and len(text) > 8:
        text = text.rstrip("…")[:-2].rstrip(" ,") + "…"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tw, th = right - left, bottom - top
    x1, y1 = w - 1, h - 1
    x0, y0 = max(0, x1 - tw - 2 * pad), max(0, y1 - th - 2 * pad)
    band = Image.new("RGBA", img.size, (0, 0, 0, 0))
    band_draw = ImageDraw.Draw(band)
    band_draw.rectangle((x0, y0, x1, y1), fill=(20, 20, 20, 170))
    band_draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=(255, 255, 255, 235))
    return np.asarray(Image.alpha_composite(img, band).convert("RGB"))
