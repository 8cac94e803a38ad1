"""Consultation report PDFs: every variant rendered with poppler, text, metadata, images checked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from studies.reports import (
    ConsultationReportInput,
    PredictionForReport,
    ReportInputError,
    ReportWriteError,
    build_consultation_report,
)
from studies.reports import pages
from studies.reports.consultation import NOSE_MOUTH_LANDMARKS, nose_mouth_box

FACE_STEM = Path("300w-crops") / "helen_testset" / "296814969_3"
POPPLER = all(shutil.which(t) for t in ("pdftotext", "pdftoppm", "pdfinfo", "pdfimages", "pdffonts"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="Debian poppler-utils is not installed")

SHA_A = "0123456789abcdef" * 4
SHA_B = "fedcba9876543210" * 4
PATIENT = "Иван Петров 王小明 P-0042"


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def face(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """A real face (300-W crop, 256 px, hand-placed landmarks) upscaled 8x: the report downsamples."""
    face_path = shared_data / FACE_STEM
    if not face_path.with_suffix(".jpg").is_file():
        pytest.skip(f"{face_path} is not available in the shared data folder")
    rgb = np.asarray(Image.open(face_path.with_suffix(".jpg")).convert("RGB"))
    lines = face_path.with_suffix(".pts").read_text().splitlines()
    pts = np.array([ln.split() for ln in lines[3:71]], dtype=np.float64)
    scale = 8
    big = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return big, pts * scale


def _input(face: tuple[np.ndarray, np.ndarray], tmp_path: Path, **kw: object) -> ConsultationReportInput:
    rgb, pts = face
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), bool)
    mouth = pts[48:68]
    x0, y0 = mouth.min(axis=0).astype(int)
    x1, y1 = mouth.max(axis=0).astype(int)
    mask[y0 - 20:y1 + 10, (x0 + x1) // 2 - 40:(x0 + x1) // 2 + 10] = True
    pred_a = rgb.copy()
    pred_a[mask] = (pred_a[mask] * 0.5 + 100).astype(np.uint8)
    pred_b = rgb.copy()
    pred_b[mask] = 170
    logo = np.zeros((60, 180, 4), np.uint8)
    cv2.circle(logo, (30, 30), 26, (30, 90, 160, 255), -1)
    logo_path = tmp_path / "logo.png"
    Image.fromarray(logo).save(logo_path)
    base = dict(
        clinic_name="Clinique Fente Labiale Genève", logo_path=logo_path, patient_label=PATIENT,
        date=dt.date(2024, 5, 3), clinician="Dr. Zoë Ångström", photo_rgb=rgb, mask=mask,
        face_box=(0.1 * w, 0.1 * h, 0.9 * w, 0.9 * h),
        primary=PredictionForReport(pred_a, "nclg-mt", "1.2.0", SHA_A, pts.astype(np.float32)),
        notes="Parents asked about scarring.\nReview at 3 months.",
    )
    base.update(kw)
    return ConsultationReportInput(**base)  # type: ignore[arg-type]


def _second(face: tuple[np.ndarray, np.ndarray]) -> PredictionForReport:
    rgb, _ = face
    return PredictionForReport(rgb.copy(), "opencv-telea", "5.0", SHA_B, None)


def _metadata(pdf: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _run("pdfinfo", pdf).splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def _images(pdf: Path) -> list[dict[str, str]]:
    lines = _run("pdfimages", "-list", pdf).splitlines()
    head = lines[0].split()
    return [dict(zip(head, ln.split(), strict=False)) for ln in lines[2:]]


def _check_common(pdf: Path, inp: ConsultationReportInput, tmp_path: Path) -> str:
    text = _run("pdftotext", "-enc", "UTF-8", pdf, "-")
    flat = " ".join(text.split())
    assert inp.clinic_name in flat
    assert "not a promise of what surgery will achieve" in flat
    assert "nclg-mt" in flat
    if inp.kind == "family":  # technical provenance only in the appendix of the other kinds
        assert SHA_A not in flat and "1.2.0" not in flat and "SHA-256" not in flat
    else:
        assert SHA_A in flat and "1.2.0" in flat and "Appendix: technical record" in flat
    meta = _metadata(pdf)
    assert meta["Title"] == "Consultation report"
    assert meta["Author"] == inp.clinic_name
    assert meta["Subject"] == "" and meta["Keywords"] == "" and meta["Creator"] == ""
    meta_text = " ".join(meta.values())
    for secret in ("Иван", "王小明", "P-0042", "Ångström", "scarring"):
        assert secret not in meta_text
    fonts = _run("pdffonts", pdf).splitlines()[2:]
    assert fonts and all(" yes yes " in f for f in fonts), fonts  # every font embedded + subset
    for img in _images(pdf):
        assert float(img["x-ppi"]) <= 301 and float(img["y-ppi"]) <= 301, img
    pages = int(meta["Pages"])
    _run("pdftoppm", "-r", "40", "-png", pdf, tmp_path / "page")
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == pages
    for png in pngs:
        grey = np.asarray(Image.open(png).convert("L"))
        assert grey.min() < 80  # something dark (text, photo) was drawn on every page
    return flat


@needs_poppler
def test_clinical_record_a4_with_second_model_landmarks_notes_and_appendix(face, tmp_path: Path) -> None:
    inp = _input(face, tmp_path, kind="clinical", second=_second(face), show_landmarks=True,
                 provenance=(("Device", "CPU"), ("App version", "0.9.1+g1a2b3c4")))
    pdf = build_consultation_report(inp, tmp_path / "report.pdf")
    flat = _check_common(pdf, inp, tmp_path)
    assert _metadata(pdf)["Page size"].startswith("595.276 x 841.89")
    for s in ("Иван Петров", "王小明", "P-0042", "3 May 2024", "Dr. Zoë Ångström", "opencv-telea",
              SHA_B, "Parents asked about scarring.", "Predicted facial landmarks", "0.9.1+g1a2b3c4"):
        assert s in flat, s
    # The technical appendix starts on its own page, after everything a family reads.
    last_page = _run("pdftotext", "-f", _metadata(pdf)["Pages"], "-enc", "UTF-8", pdf, "-")
    assert "Appendix: technical record" in last_page and SHA_A in last_page
    assert "Appendix" not in _run("pdftotext", "-l", "1", "-enc", "UTF-8", pdf, "-")
    images = _images(pdf)
    photos = [i for i in images if i["type"] == "image" and i["enc"] == "jpeg"]
    assert len(photos) >= 6  # close-up before/after, whole face before/after, outline, second, landmarks
    # The source crop is ~1640 px wide: the big pair is downsampled to ~300 dpi of 84 mm.
    assert max(float(i["x-ppi"]) for i in photos) > 290
    assert pdf.stat().st_size < 2_000_000
    assert not list(tmp_path.glob(".report-*"))  # no temp file left


@needs_poppler
def test_letter_minimal_report(face, tmp_path: Path) -> None:
    inp = _input(face, tmp_path, page_size="Letter", logo_path=None, notes="")
    pdf = build_consultation_report(inp, tmp_path / "letter.pdf")
    flat = _check_common(pdf, inp, tmp_path)
    assert _metadata(pdf)["Page size"].startswith("612 x 792")
    assert "P-0042" in flat
    assert "Notes from the clinician" not in flat
    assert "Second prediction" not in flat and "landmarks" not in flat


@needs_poppler
def test_family_copy_page_one_and_what_it_never_prints(face, tmp_path: Path) -> None:
    """Asked for everything, the family copy still leaves out landmarks, hashes, versions, notes."""
    inp = _input(face, tmp_path, second=_second(face), show_landmarks=True, mark_predictions=True)
    assert inp.kind == "family"
    pdf = build_consultation_report(inp, tmp_path / "family.pdf")
    flat = _check_common(pdf, inp, tmp_path)
    for s in ("P-0042", "3 May 2024", "Nose and mouth, before and predicted after (same scale)",
              "Whole face", "Second prediction (model: opencv-telea)"):
        assert s in flat, s
    for s in ("scarring", "Notes from the clinician", "landmarks", SHA_B, "Weights", "Appendix",
              "Version", "5.0"):
        assert s not in flat, s
    page1 = " ".join(_run("pdftotext", "-l", "1", "-enc", "UTF-8", pdf, "-").split())
    assert "Nose and mouth" in page1 and "Whole face" in page1 and "not a promise" in page1
    # Page 1 images: the close-up pair is large (half the width), the whole face small (a third).
    page1_images = [i for i in _images(pdf) if i["page"] == "1" and i["enc"] == "jpeg"]
    assert len(page1_images) == 5
    rgb, pts = face
    box = nose_mouth_box(inp.face_box, pts)
    close_w, close_h = int(page1_images[0]["width"]), int(page1_images[0]["height"])
    assert abs(close_w / close_h - (box[2] - box[0]) / (box[3] - box[1])) < 0.02
    assert (page1_images[1]["width"], page1_images[1]["height"]) == (str(close_w), str(close_h))
    # The real creation date, not reportlab's invariant 2000-01-01.
    created = _metadata(pdf)["CreationDate"]
    assert str(dt.date.today().year) in created and "2000" not in created


def test_research_mark_is_drawn_in_the_corner_only() -> None:
    from studies.reports.marks import add_research_mark

    grey = np.full((600, 900, 3), 128, np.uint8)
    marked = add_research_mark(grey)
    changed = np.any(marked != grey, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any() and ys.min() > 600 * 0.9 and xs.min() > 900 * 0.3
    assert np.array_equal(marked[:500], grey[:500]) and (grey == 128).all()  # input untouched
    tiny = add_research_mark(np.zeros((40, 60, 3), np.uint8))  # shortened, still inside the picture
    assert tiny.shape == (40, 60, 3) and tiny.any()


def test_unknown_report_kind_is_refused(face, tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="report kind"):
        build_consultation_report(_input(face, tmp_path, kind="poster"), tmp_path / "x.pdf")


@needs_poppler
def test_deidentified_report_hides_identity(face, tmp_path: Path) -> None:
    inp = _input(face, tmp_path, deidentified=True, second=_second(face), show_landmarks=True)
    pdf = build_consultation_report(inp, tmp_path / "deid.pdf")
    flat = _check_common(pdf, inp, tmp_path)
    for secret in ("Иван", "王小明", "P-0042", "May", "scarring"):
        assert secret not in flat, secret
    assert "De-identified" in flat and "2024" in flat
    # Pictures are cut to nose and mouth: a wide, low crop rather than the square face.
    rgb, pts = face
    box = nose_mouth_box(inp.face_box, pts)
    photos = [i for i in _images(pdf) if i["enc"] == "jpeg"]
    w, h = int(photos[0]["width"]), int(photos[0]["height"])
    assert abs(w / h - (box[2] - box[0]) / (box[3] - box[1])) < 0.02


def test_nose_mouth_box_excludes_eyes(face) -> None:
    _, pts = face
    l, t, r, b = nose_mouth_box((0, 0, 10, 10), pts)
    eyes = pts[36:48]
    assert t > eyes[:, 1].max()  # top of the crop is below every eye landmark
    keep = pts[list(NOSE_MOUTH_LANDMARKS)]
    assert (keep[:, 0] > l).all() and (keep[:, 0] < r).all()
    assert (keep[:, 1] > t).all() and (keep[:, 1] < b).all()
    # Without landmarks: lower middle of the face square, below a typical eye line (40 %).
    l, t, r, b = nose_mouth_box((100, 100, 300, 300), None)
    assert t >= 100 + 0.45 * 200 and b <= 300 and l > 100 and r < 300


def test_bad_input_is_rejected_with_clear_errors(face, tmp_path: Path) -> None:
    inp = _input(face, tmp_path)
    small = PredictionForReport(inp.photo_rgb[::2, ::2].copy(), "m", "1", SHA_A)
    cases = {
        "does not match the photo size": dataclasses.replace(inp, primary=small),
        "mask is empty": dataclasses.replace(inp, mask=np.zeros_like(inp.mask)),
        "SHA-256": dataclasses.replace(inp, primary=dataclasses.replace(inp.primary,
                                                                        weights_sha256="abc")),
        "paper size": dataclasses.replace(inp, page_size="A5"),
        "clinic name": dataclasses.replace(inp, clinic_name="  "),
        "outside the photo": dataclasses.replace(inp, face_box=(-50, -50, -10, -10)),
        "68 valid points": dataclasses.replace(inp, primary=dataclasses.replace(
            inp.primary, landmarks=np.zeros((5, 2)))),
    }
    for message, bad in cases.items():
        with pytest.raises(ReportInputError, match=message):
            build_consultation_report(bad, tmp_path / "x.pdf")
    bad_logo = tmp_path / "logo.png"
    bad_logo.write_bytes(b"not a png")
    with pytest.raises(ReportInputError, match="logo"):
        build_consultation_report(dataclasses.replace(inp, logo_path=bad_logo), tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_write_errors_are_typed_and_leave_no_partial_file(face, tmp_path: Path, monkeypatch) -> None:
    inp = _input(face, tmp_path, logo_path=None)
    with pytest.raises(ReportWriteError, match="does not exist"):
        build_consultation_report(inp, tmp_path / "missing" / "r.pdf")
    out = tmp_path / "r.pdf"
    out.write_bytes(b"previous report")

    def full_disk(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pages.os, "replace", full_disk)
    with pytest.raises(ReportWriteError, match="disk is full"):
        build_consultation_report(inp, out)
    assert out.read_bytes() == b"previous report"  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir() if re.match(r"\.report-", p.name)] == []


@needs_poppler
def test_family_copy_has_the_symmetry_table_of_what_was_drawn(face, tmp_path: Path) -> None:
    """Photo against prediction in plain language; a steered prediction is measured at its steering points."""
    from inference.measures import DEFINITIONS, mirror_healthy_side

    rgb, pts = face
    steered = mirror_healthy_side(pts, "left")
    primary = PredictionForReport(rgb.copy(), "nclg-mt", "1.2.0", SHA_A, pts.astype(np.float32),
                                  guide_landmarks=steered)
    inp = _input(face, tmp_path, primary=primary, photo_landmarks=pts.astype(np.float32))
    flat = _check_common(build_consultation_report(inp, tmp_path / "family.pdf"), inp, tmp_path)
    assert "Symmetry of nose and lip" in flat and "Before (photo)" in flat and "Predicted (nclg-mt)" in flat
    for d in DEFINITIONS:
        assert " ".join(d.label.split()) in flat, d.label
    assert "landmarks" not in flat
    assert inp.primary.drawn_landmarks is steered
    quiet = _input(face, tmp_path, show_measures=False)
    flat = " ".join(_run("pdftotext", "-enc", "UTF-8", build_consultation_report(quiet, tmp_path / "q.pdf"),
                         "-").split())
    assert "Symmetry of nose and lip" not in flat
