"""Report building blocks: font fallback, image encoding, tables and charts in a real PDF."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reportlab.lib.units import inch, mm

from studies.reports import ReportInputError, blocks

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdftoppm")), reason="poppler-utils missing")


def test_markup_escapes_and_switches_font_for_cjk() -> None:
    out = blocks.markup("A<b>&C 王小明 Ωμέγα\nx")
    assert "&lt;b&gt;&amp;C" in out
    assert f'<font name="{blocks.FONT_FALLBACK}">王小明' in out
    assert "Ωμέγα" in out and "Ωμέγα</font>" not in out  # Greek stays in DejaVu
    assert "<br/>" in out


def test_encode_for_print_downsamples_to_300_dpi_and_never_upsamples() -> None:
    big = np.random.default_rng(0).integers(0, 255, (3000, 2000, 3), dtype=np.uint8)
    data = blocks.encode_for_print(big, 1 * inch, 1.5 * inch, "photo")
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG" and im.size == (300, 450)
    small = np.zeros((50, 40, 3), np.uint8)
    im = Image.open(io.BytesIO(blocks.encode_for_print(small, 2 * inch, 2.5 * inch, "photo")))
    assert im.size == (40, 50)
    mask = np.zeros((64, 64), np.uint8)
    mask[10:20, 5:60] = 255
    png = Image.open(io.BytesIO(blocks.encode_for_print(mask, 1 * inch, 1 * inch, "graphic")))
    assert png.format == "PNG" and np.array_equal(np.asarray(png), mask)  # lossless
    with pytest.raises(ReportInputError):
        blocks.encode_for_print(np.zeros((4, 4), np.float32), inch, inch)


def test_chart_rejects_missing_values() -> None:
    with pytest.raises(ReportInputError, match="not a number"):
        blocks.bar_chart_with_intervals(["a", "b"], [1.0, float("nan")], width=200, height=100)
    with pytest.raises(ReportInputError, match="one value per label"):
        blocks.bar_chart_with_intervals(["a"], [1.0, 2.0], width=200, height=100)


@needs_poppler
def test_study_style_pdf_with_table_chart_and_page_numbers(tmp_path: Path) -> None:
    names = ["nclg-mt", "telea", "navier-stokes"]
    rows = [[n, f"{1.5 + i:.2f}", f"{1.1 + i:.2f} – {1.9 + i:.2f}"] for i, n in enumerate(names)]
    story = [blocks.title_block("Blinded study results", "Closed 1 May 2024")]
    story += [blocks.data_table(["Model", "Mean rank", "95 % CI"], rows * 30,
                                col_widths=[60 * mm, 40 * mm, 60 * mm], numeric_columns=(1, 2))]
    story += [blocks.bar_chart_with_intervals(
        names, [1.5, 2.5, 3.5], [1.1, 2.1, 3.1], [1.9, 2.9, 3.9], width=150 * mm, height=60 * mm,
        value_label="Mean rank (1 = best)")]
    story += [blocks.disclaimer_block()]
    decor = blocks.PageDecor(header_left="Cleft Centre", header_right="Study report",
                             footer_left="Confidential study data")
    pdf = blocks.build_pdf(tmp_path / "study.pdf", story, decor, page_size="A4",
                           title="Study report", author="Cleft Centre")
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    pages = text.count("\f")
    assert pages >= 2
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert text.count("Mean rank") >= pages  # header row repeated on every page of the table
    assert "navier-stokes" in text and "Mean rank (1 = best)" in text
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", str(pages), "-l", str(pages), pdf,
                    tmp_path / "p"], check=True)
    last = np.asarray(Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")).astype(int)
    accent = np.array([0x2B, 0x6C, 0xB0])
    assert (np.abs(last - accent).sum(axis=2) < 40).sum() > 200  # the bars were drawn
