"""Fonts, colours and text escaping shared by every report page element.

DejaVu Sans (Latin, Greek, Cyrillic...) is the main font; characters it lacks (CJK) switch to
Droid Sans Fallback. Both ship in ``assets/fonts`` (see its README for sources and licences) and
are embedded as subsets, so names print identically on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from inference.paths import assets_dir
from studies.reports.errors import ReportInputError

FONT_DIR = assets_dir() / "fonts"
FONT_REGULAR = "ReportSans"
FONT_BOLD = "ReportSans-Bold"
FONT_FALLBACK = "ReportSansCJK"

INK = colors.HexColor("#1f2a36")
MUTED = colors.HexColor("#5b6773")
RULE = colors.HexColor("#c9d1d9")
ACCENT = colors.HexColor("#2b6cb0")
ZEBRA = colors.HexColor("#f3f6f9")
NOTE_BG = colors.HexColor("#fff8e6")
NOTE_BORDER = colors.HexColor("#e0b84c")


@dataclass(frozen=True)
class FontSet:
    """Names of the registered fonts and the code points each covers."""

    regular: str
    bold: str
    fallback: str
    main_cmap: frozenset[int]
    fallback_cmap: frozenset[int]


@lru_cache(maxsize=1)
def register_fonts() -> FontSet:
    """Register the embedded report fonts once per process (TrueType, subset on embedding)."""
    files = {
        FONT_REGULAR: FONT_DIR / "DejaVuSans.ttf",
        FONT_BOLD: FONT_DIR / "DejaVuSans-Bold.ttf",
        FONT_FALLBACK: FONT_DIR / "DroidSansFallback.ttf",
    }
    fonts: dict[str, TTFont] = {}
    for name, path in files.items():
        if not path.is_file():
            raise ReportInputError(
                f"The report font {path.name} is missing from {path.parent}. Reinstall the app."
            )
        fonts[name] = TTFont(name, str(path))
        pdfmetrics.registerFont(fonts[name])
    pdfmetrics.registerFontFamily(
        FONT_REGULAR, normal=FONT_REGULAR, bold=FONT_BOLD, italic=FONT_REGULAR, boldItalic=FONT_BOLD
    )
    pdfmetrics.registerFontFamily(
        FONT_FALLBACK, normal=FONT_FALLBACK, bold=FONT_FALLBACK, italic=FONT_FALLBACK,
        boldItalic=FONT_FALLBACK,
    )
    return FontSet(
        regular=FONT_REGULAR,
        bold=FONT_BOLD,
        fallback=FONT_FALLBACK,
        main_cmap=frozenset(fonts[FONT_REGULAR].face.charToGlyph),
        fallback_cmap=frozenset(fonts[FONT_FALLBACK].face.charToGlyph),
    )


def markup(text: str) -> str:
    """Escape user text for a ``Paragraph`` and wrap characters DejaVu lacks in the CJK font.

    Line breaks become ``<br/>``. Characters neither font has are kept (they print as a box),
    never silently dropped.
    """
    fonts = register_fonts()
    out: list[str] = []
    run: list[str] = []
    run_is_fallback = False

    def flush() -> None:
        if not run:
            return
        chunk = escape("".join(run)).replace("\n", "<br/>")
        out.append(f'<font name="{fonts.fallback}">{chunk}</font>' if run_is_fallback else chunk)
        run.clear()

    for ch in text.replace("\r\n", "\n"):
        cp = ord(ch)
        if ch.isspace():
            run.append(ch)
            continue
        wants_fallback = cp not in fonts.main_cmap and cp in fonts.fallback_cmap
        if wants_fallback != run_is_fallback:
            flush()
            run_is_fallback = wants_fallback
        run.append(ch)
    flush()
    return "".join(out)




def font_runs(text: str, font: str) -> list[tuple[str, str]]:
    """Split one line into ``(font, text)`` runs: ``font`` unless only the CJK font has a glyph."""
    fonts = register_fonts()
    out: list[tuple[str, str]] = []
    for ch in text:
        cp = ord(ch)
        f = fonts.fallback if (cp not in fonts.main_cmap and cp in fonts.fallback_cmap) else font
        if out and out[-1][0] == f:
            out[-1] = (f, out[-1][1] + ch)
        else:
            out.append((f, ch))
    return out


@lru_cache(maxsize=1)
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles shared by all reports (sizes in points)."""
    register_fonts()
    base = ParagraphStyle(
        "body", fontName=FONT_REGULAR, fontSize=10, leading=14, textColor=INK, wordWrap="CJK"
    )

    def derive(name: str, **kw: object) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **kw)

    return {
        "body": base,
        "title": derive("title", fontName=FONT_BOLD, fontSize=18, leading=23, spaceAfter=2),
        "subtitle": derive("subtitle", fontSize=10.5, leading=14, textColor=MUTED),
        "h2": derive("h2", fontName=FONT_BOLD, fontSize=12, leading=16, spaceBefore=10,
                     spaceAfter=4, textColor=ACCENT),
        "small": derive("small", fontSize=8, leading=10.5, textColor=MUTED),
        "caption": derive("caption", fontSize=8.5, leading=11, textColor=INK, alignment=TA_CENTER),
        "cell": derive("cell", fontSize=9, leading=12),
        "cell_bold": derive("cell_bold", fontName=FONT_BOLD, fontSize=9, leading=12),
        "cell_mono": derive("cell_mono", fontSize=7.5, leading=10, wordWrap=None),
        "disclaimer": derive("disclaimer", fontSize=10, leading=14, alignment=TA_LEFT),
    }
