"""The consultation report's symmetry table: plain-language cells, and a real PDF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from reportlab.lib.units import mm

from studies.reports import ReportInputError, blocks
from studies.reports.measures_table import MEASURES_HEADING, measures_block, measures_rows
from tests.test_measures import asymmetric_face, place, symmetric_face


def test_rows_in_plain_language() -> None:
    header, rows = measures_rows([("Before (photo)", place(asymmetric_face())), ("Prediction", symmetric_face()),
                                  ("After (photo)", None)])
    assert header == ["Measure", "Before (photo)", "Prediction", "After (photo)"]
    by_label = {row[0]: row[1:] for row in rows}
    assert by_label["Height of the nostril bases, left minus right"] == ["left higher by 10.0 %", "even", "–"]
    assert by_label["Nose tip off the midline"][0] == "towards the right by 10.0 %"
    assert by_label["Upper lip height, left / right"][:2] == [f"{10.3 / 13:.2f} (left shorter by 21 %)",
                                                              "1.00 (even)"]


def test_unmeasurable_landmarks_are_a_report_error() -> None:
    face = symmetric_face()
    face[35] = np.nan
    with pytest.raises(ReportInputError, match="Prediction"):
        measures_rows([("Prediction", face)])


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
def test_table_prints_in_a_pdf(tmp_path: Path) -> None:
    story = [measures_block([("Before", place(asymmetric_face())), ("Prediction", symmetric_face())], 170 * mm)]
    decor = blocks.PageDecor(header_left="Cleft Centre", header_right="Consultation")
    pdf = blocks.build_pdf(tmp_path / "m.pdf", story, decor, title="Consultation")
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert MEASURES_HEADING in text and "Cupid" in text and "left higher by 10.0 %" in text
