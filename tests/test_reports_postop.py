"""The consultation report's optional "Prediction and the photo after surgery" section (issue 14): printed
only when asked, with the aligned post-op photo, the point distances and a third measures column."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_reports_consultation import _input, face, needs_poppler  # noqa: F401 - face is a fixture

from inference.alignment import Similarity, align_postop
from studies.reports import PostopForReport, PredictionForReport, ReportInputError, build_consultation_report
from studies.reports.postop_section import POSTOP_HEADING

SHA_A = "0123456789abcdef" * 4


def _text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.split())


def _postop(face_data: tuple[np.ndarray, np.ndarray]) -> PostopForReport:
    """The same face 'photographed again' (scaled, turned, moved), then aligned back as the app does."""
    rgb, pts = face_data
    h, w = rgb.shape[:2]
    truth = Similarity(0.8, np.deg2rad(6.0), 150.0, -60.0)
    photo = cv2.warpAffine(rgb, truth.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    aligned = align_postop(photo, truth.apply(pts), pts, (w, h))
    return PostopForReport(aligned.image, aligned.landmarks, aligned.alignment.describe())


@needs_poppler
def test_postop_section_prints_only_when_asked(face, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    rgb, pts = face
    predicted = pts.astype(np.float32).copy()
    predicted[48:68] += (0.0, 0.05 * np.linalg.norm(pts[45] - pts[36]))   # the predicted lip 5 % IOD low
    primary = PredictionForReport(rgb.copy(), "nclg-mt", "1.2.0", SHA_A, predicted)
    postop = _postop(face)
    off = _input(face, tmp_path, primary=primary, photo_landmarks=pts.astype(np.float32), postop=postop)
    assert not off.show_postop and not off.prints_postop                  # off by default
    flat = _text(build_consultation_report(off, tmp_path / "off.pdf"))
    assert POSTOP_HEADING not in flat and "After surgery" not in flat

    on = dataclasses.replace(off, show_postop=True)
    pdf = build_consultation_report(on, tmp_path / "family.pdf")
    flat = _text(pdf)
    assert POSTOP_HEADING in flat and "After surgery: photo, aligned" in flat and "After surgery (photo)" in flat
    assert "lip 5.0 %, nose 0.0 % apart" in flat
    assert "landmark" not in flat.lower() and "px RMS" not in flat         # the family's words only
    clinical = _text(build_consultation_report(dataclasses.replace(on, kind="clinical"), tmp_path / "clin.pdf"))
    assert POSTOP_HEADING in clinical and "turned by -6.0°" in clinical and "nose bridge agree within" in clinical
    deid = _text(build_consultation_report(dataclasses.replace(on, kind="deidentified"), tmp_path / "deid.pdf"))
    assert POSTOP_HEADING in deid and "P-0042" not in deid

    pages = tmp_path / "pages"
    pages.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(pages / "family")], check=True)
    assert len(list(pages.glob("family-*.png"))) >= 2
    target = os.environ.get("CLEFTLIP_SCREENSHOTS")                      # for looking at the pages
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(Path(target) / "postop-report")], check=True)


def test_postop_section_needs_a_matching_photo(face, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    rgb, _ = face
    with pytest.raises(ReportInputError, match="photo after surgery, but the case has none"):
        build_consultation_report(_input(face, tmp_path, show_postop=True), tmp_path / "x.pdf")
    wrong = PostopForReport(rgb[:100], None)
    with pytest.raises(ReportInputError, match="post-operative photo"):
        build_consultation_report(_input(face, tmp_path, postop=wrong, show_postop=True), tmp_path / "x.pdf")
    bad_points = PostopForReport(rgb.copy(), np.zeros((10, 2)))
    with pytest.raises(ReportInputError, match="68 valid points"):
        build_consultation_report(_input(face, tmp_path, postop=bad_points, show_postop=True), tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
