"""The consultation report: one case's prediction as a PDF, in three kinds.

Family copy (``kind="family"``, the default): what a family takes home. Page 1 shows a large
before/after close-up of nose and mouth at the same scale (the lip is what the family looks at),
the whole face small before and after, the filled area outlined, and a plain-language statement
that the picture is a research visualisation and not a promise of the surgical result. It never
prints predicted landmarks, weights or code hashes, or the clinician's notes, whatever the input
asks for.

Every kind may show a second model's prediction after page 1, and (unless ``show_measures`` is
off) a small table of nose and lip symmetry, photo against each prediction, in plain language
(``measures_table``); a prediction the clinician steered is measured at the points it was drawn from.

Optionally (``show_postop``, off by default) a section "Prediction and the photo after surgery": the
prediction beside the post-operative photo aligned to the pre-operative one (``PostopForReport``), the
distance of the predicted lip and nose points from the real ones, and the symmetry table with the photo
after surgery as a third column (``postop_section``).

Clinical record (``kind="clinical"``): the same page 1, then optionally the predicted landmarks and the clinician's notes, and a technical appendix on its own page (model
names and versions, weights SHA-256, where and when each prediction was made) so the result can
be reproduced.

De-identified (``kind="deidentified"``, or the older ``deidentified=True``), for colleagues and
teaching: no patient name or ID, the date reduced to the year, no notes (free text cannot be
checked for names), every picture cut to the nose-and-mouth region (from landmarks 31-35 and
48-67, iBUG 0-based, when known; otherwise the lower middle of the face square) so eyes and brows
never print, and the technical appendix.

The PDF metadata holds only a neutral title, the clinic as author and the real creation date:
nothing about the patient.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer

from inference.alignment import compare_to_postop
from inference.errors import InferenceError
from inference.face.regions import CONTOURS, NOSE_BASE_AND_MOUTH
from inference.io.mask_codec import decode_mask, encode_mask_image
from studies.reports import blocks
from studies.reports.errors import ReportInputError
from studies.reports.marks import add_research_mark
from studies.reports.measures_table import MEASURES_HEADING, measures_block
from studies.reports.postop_section import postop_block

# The family reads this: points on the face, not "landmarks" (a word the family copy never prints).
REPORT_MEASURES_NOTE = ("Measured on points the computer placed on the nose and lip of each 2-D picture; left "
                        "and right are the patient's. Distances are in per cent of the width between the outer "
                        "eye corners (1 % is about 1 mm in an adult). 'Even' means no difference worth noting. "
                        "A research aid for comparing the pictures, not a clinical score.")

Box = tuple[float, float, float, float]
"""``(left, top, right, bottom)`` in photo pixels; may reach outside the photo."""

FAMILY, CLINICAL, DEIDENTIFIED = "family", "clinical", "deidentified"
REPORT_KINDS = (FAMILY, CLINICAL, DEIDENTIFIED)
"""The three kinds of consultation report (see the module docstring)."""

NOSE_MOUTH_LANDMARKS = NOSE_BASE_AND_MOUTH
"""iBUG 300-W 0-based indices of the lower nose (31-35) and the mouth (48-67)."""

_OUTLINE_RGB = (255, 214, 0)
_HALO_RGB = (20, 20, 20)
_PAD_RGB = (238, 238, 238)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PredictionForReport:
    """One model's prediction as it appears in a report.

    ``image_rgb`` is the full-resolution photo with the prediction blended in (same size as the
    pre-operative photo); ``landmarks`` are the predicted (68, 2) points in photo pixels, if any.
    """

    image_rgb: np.ndarray
    model_name: str
    model_version: str
    weights_sha256: str | None  # None for a classical method without learned weights
    landmarks: np.ndarray | None = None
    guide_landmarks: np.ndarray | None = None  # the points the clinician steered it with, if any

    @property
    def drawn_landmarks(self) -> np.ndarray | None:
        """The points the picture was drawn from: the clinician's edit if steered, else the network's."""
        return self.guide_landmarks if self.guide_landmarks is not None else self.landmarks


@dataclass(frozen=True)
class PostopForReport:
    """The post-operative photo as the report shows it, already in the pre-operative photo's frame.

    ``image_rgb``: the post-op photo aligned to the pre-op photo (``inference.alignment.align_postop``,
    same size as the pre-op photo); ``landmarks``: its 68 points moved the same way (photo pixels);
    ``alignment_note``: ``Alignment.describe()``, printed in the clinical and de-identified kinds.
    """

    image_rgb: np.ndarray
    landmarks: np.ndarray | None = None
    alignment_note: str = ""


@dataclass(frozen=True)
class ConsultationReportInput:
    """Everything one consultation report shows; built by the app from a case and its settings.

    ``face_box`` is the face square or box in photo pixels, e.g. ``(crop.x0, crop.y0,
    crop.x0 + crop.size, crop.y0 + crop.size)`` of the app's ``FaceCrop``. ``photo_landmarks``
    (68, 2, photo pixels, detected on the pre-operative photo) steer the nose-and-mouth crop;
    without them the primary prediction's landmarks are used, then the face box. ``kind`` is one of
    :data:`REPORT_KINDS`; ``mark_predictions`` draws the research-visualisation mark into every
    predicted picture; ``provenance`` rows (label, value) go to the technical appendix only.
    ``show_measures`` adds the small symmetry table (photo against each prediction, every kind)
    when the photo or a prediction has landmarks. ``show_postop`` (off by default) adds the section
    comparing the primary prediction with ``postop``, the aligned post-operative photo.
    """

    clinic_name: str
    logo_path: Path | None
    patient_label: str
    date: dt.date
    clinician: str
    photo_rgb: np.ndarray
    mask: np.ndarray
    face_box: Box
    primary: PredictionForReport
    second: PredictionForReport | None = None
    notes: str = ""
    page_size: str = "A4"
    deidentified: bool = False
    show_landmarks: bool = False
    photo_landmarks: np.ndarray | None = None
    kind: str = FAMILY
    mark_predictions: bool = False
    provenance: tuple[tuple[str, str], ...] = ()
    show_measures: bool = True
    postop: PostopForReport | None = None
    show_postop: bool = False

    def __post_init__(self) -> None:
        # ``deidentified=True`` (the older flag) and ``kind="deidentified"`` mean the same report.
        if self.deidentified:
            object.__setattr__(self, "kind", DEIDENTIFIED)
        elif self.kind == DEIDENTIFIED:
            object.__setattr__(self, "deidentified", True)

    @property
    def prints_notes(self) -> bool:
        return self.kind == CLINICAL and bool(self.notes.strip())

    @property
    def prints_landmarks(self) -> bool:
        return self.kind != FAMILY and self.show_landmarks

    @property
    def prints_measures(self) -> bool:
        return self.show_measures and (self.photo_landmarks is not None or any(
            p is not None and p.drawn_landmarks is not None for p in (self.primary, self.second)))

    @property
    def prints_postop(self) -> bool:
        return self.show_postop and self.postop is not None

    @property
    def prints_provenance(self) -> bool:
        return self.kind != FAMILY


# ------------------------------------------------------------------------------------ validation


def _check_image(name: str, rgb: object, shape: tuple[int, int] | None) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ReportInputError(f"The {name} is not an 8-bit colour picture.")
    if shape is not None and rgb.shape[:2] != shape:
        raise ReportInputError(
            f"The {name} ({rgb.shape[1]}x{rgb.shape[0]}) does not match the photo size "
            f"({shape[1]}x{shape[0]}); predict the case again."
        )
    return rgb


def _check_landmarks(name: str, lm: object) -> np.ndarray | None:
    if lm is None:
        return None
    arr = np.asarray(lm, dtype=np.float64)
    if arr.shape != (68, 2) or not np.all(np.isfinite(arr)):
        raise ReportInputError(f"The {name} are not 68 valid points.")
    return arr


def _check_prediction(label: str, p: PredictionForReport, shape: tuple[int, int]) -> None:
    _check_image(f"{label} prediction", p.image_rgb, shape)
    if not p.model_name.strip():
        raise ReportInputError(f"The {label} prediction has no model name.")
    if p.weights_sha256 is not None and not _SHA256.match(p.weights_sha256.strip().lower()):
        raise ReportInputError(
            f"The weights hash of model {p.model_name} is not a SHA-256 (64 hexadecimal digits)."
        )
    _check_landmarks(f"{label} prediction's landmarks", p.landmarks)
    _check_landmarks(f"{label} prediction's steering landmarks", p.guide_landmarks)


def _validate(inp: ConsultationReportInput) -> None:
    photo = _check_image("photo", inp.photo_rgb, None)
    shape = photo.shape[:2]
    if not isinstance(inp.mask, np.ndarray) or inp.mask.dtype != bool or inp.mask.shape != shape:
        raise ReportInputError("The mask is missing or does not match the photo size.")
    if not inp.mask.any():
        raise ReportInputError("The mask is empty: paint the area to fill before making a report.")
    if inp.kind not in REPORT_KINDS:
        raise ReportInputError(f"Unknown report kind {inp.kind!r}; choose one of {', '.join(REPORT_KINDS)}.")
    if not inp.clinic_name.strip():
        raise ReportInputError("The clinic name is not set; fill it in under Settings.")
    if not inp.deidentified and not inp.patient_label.strip():
        raise ReportInputError("The case has no patient pseudonym or ID.")
    if not isinstance(inp.date, dt.date):
        raise ReportInputError("The report date is missing.")
    box = tuple(float(v) for v in inp.face_box)
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] <= box[0] or box[3] <= box[1]:
        raise ReportInputError("The face square is not valid; mark the face again.")
    h, w = shape
    if box[2] <= 0 or box[3] <= 0 or box[0] >= w or box[1] >= h:
        raise ReportInputError("The face square lies outside the photo; mark the face again.")
    _check_prediction("chosen", inp.primary, shape)
    if inp.second is not None:
        _check_prediction("second", inp.second, shape)
    _check_landmarks("photo landmarks", inp.photo_landmarks)
    if inp.show_postop and inp.postop is None:
        raise ReportInputError("The report was asked to show the photo after surgery, but the case has none.")
    if inp.postop is not None:
        _check_image("post-operative photo", inp.postop.image_rgb, shape)
        _check_landmarks("post-operative photo's landmarks", inp.postop.landmarks)
    blocks.content_width(inp.page_size)  # raises for an unknown paper size


# --------------------------------------------------------------------------------------- crops


def _square_around(box: Box) -> Box:
    l, t, r, b = box
    side = max(r - l, b - t)
    cx, cy = (l + r) / 2, (t + b) / 2
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


def nose_mouth_box(face_box: Box, landmarks: np.ndarray | None) -> Box:
    """The de-identified crop: lower nose and mouth with a margin, never up to the eyes.

    From landmarks 31-35 and 48-67 when given (margin: 30 % of their width at each side, 35 % of
    their height above and below); otherwise the lower middle of the face square
    (x 22-78 %, y 50-90 %), which excludes the eyes for a landmark-centred face square.
    """
    if landmarks is not None:
        pts = np.asarray(landmarks, dtype=np.float64)[list(NOSE_MOUTH_LANDMARKS)]
        l, t = pts.min(axis=0)
        r, b = pts.max(axis=0)
        w, h = max(r - l, 1.0), max(b - t, 1.0)
        return l - 0.30 * w, t - 0.35 * h, r + 0.30 * w, b + 0.35 * h
    l, t, r, b = _square_around(face_box)
    w, h = r - l, b - t
    return l + 0.22 * w, t + 0.50 * h, l + 0.78 * w, t + 0.90 * h


@dataclass(frozen=True)
class _Cropper:
    """Cuts the same rectangle out of every image at the same output size (same scale)."""

    box: Box
    out_w: int
    out_h: int

    @classmethod
    def for_box(cls, box: Box, max_side_px: int) -> _Cropper:
        l, t, r, b = (round(v) for v in box)
        r, b = max(r, l + 1), max(b, t + 1)
        w, h = r - l, b - t
        scale = min(1.0, max_side_px / max(w, h))
        return cls((l, t, r, b), max(1, round(w * scale)), max(1, round(h * scale)))

    def _window(self, img: np.ndarray, fill: int | tuple[int, int, int]) -> np.ndarray:
        l, t, r, b = (int(v) for v in self.box)
        h, w = img.shape[:2]
        pad = (max(0, -t), max(0, b - h), max(0, -l), max(0, r - w))
        win = img[max(0, t):min(h, b), max(0, l):min(w, r)]
        if any(pad):
            win = cv2.copyMakeBorder(win, *pad, borderType=cv2.BORDER_CONSTANT, value=fill)
        return win

    def image(self, rgb: np.ndarray) -> np.ndarray:
        win = self._window(rgb, _PAD_RGB)
        if win.shape[1] == self.out_w and win.shape[0] == self.out_h:
            return np.ascontiguousarray(win)
        return cv2.resize(win, (self.out_w, self.out_h), interpolation=cv2.INTER_AREA)

    def mask(self, mask: np.ndarray) -> np.ndarray:
        win = self._window(encode_mask_image(mask), 0)
        return decode_mask(cv2.resize(win, (self.out_w, self.out_h), interpolation=cv2.INTER_NEAREST))

    def points(self, pts: np.ndarray) -> np.ndarray:
        l, t, r, b = self.box
        return (np.asarray(pts, np.float64) - (l, t)) * (self.out_w / (r - l), self.out_h / (b - t))


def outline_overlay(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The photo with the hole's border drawn as a yellow line with a thin dark halo."""
    side = max(rgb.shape[:2])
    t = max(2, round(side * 0.004))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * t + 1, 2 * t + 1))
    m = mask.astype(np.uint8)
    ring = cv2.dilate(m, k) & (1 - cv2.erode(m, k))
    halo = cv2.dilate(ring, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) & (1 - ring)
    out = rgb.copy()
    out[halo.astype(bool)] = _HALO_RGB
    out[ring.astype(bool)] = _OUTLINE_RGB
    return out


def landmark_overlay(rgb: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Predicted landmarks drawn as contour lines and dots (anti-aliased) on a copy of ``rgb``."""
    out = np.ascontiguousarray(rgb.copy())
    side = max(rgb.shape[:2])
    lw = max(1, round(side * 0.0025))
    r = max(2, round(side * 0.005))
    shift = 4  # sub-pixel drawing precision
    p = np.round(pts * (1 << shift)).astype(np.int32)
    for idx, closed in CONTOURS:
        cv2.polylines(out, [p[list(idx)]], closed, (0, 200, 255), lw, cv2.LINE_AA, shift)
    for x, y in p:
        cv2.circle(out, (int(x), int(y)), (r + 1) << shift, (20, 20, 20), -1, cv2.LINE_AA, shift)
        cv2.circle(out, (int(x), int(y)), r << shift, (255, 255, 255), -1, cv2.LINE_AA, shift)
    return out


# -------------------------------------------------------------------------------------- report


def _format_date(d: dt.date, year_only: bool) -> str:
    if year_only:
        return str(d.year)
    months = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
    return f"{d.day} {months[d.month - 1]} {d.year}"


def _load_logo(path: Path | None) -> np.ndarray | None:
    if path is None:
        return None
    try:
        with PILImage.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGBA"))
    except (OSError, ValueError, PILImage.DecompressionBombError) as exc:
        raise ReportInputError(
            f"The clinic logo {Path(path).name} cannot be read; choose another file in Settings."
        ) from exc


def _model_rows(label: str, p: PredictionForReport) -> list[tuple[str, str]]:
    return [
        (label, p.model_name),
        ("Version", p.model_version or "not stated"),
        ("Weights SHA-256", p.weights_sha256.strip().lower() if p.weights_sha256 else "none (classical method, no learned weights)"),
    ]


def build_consultation_report(inp: ConsultationReportInput, out_path: str | os.PathLike[str]) -> Path:
    """Write the consultation report PDF to ``out_path`` (atomically) and return the path.

    Raises :class:`ReportInputError` for inconsistent input and :class:`ReportWriteError` when
    the file cannot be written (full disk, read-only or missing folder).
    """
    _validate(inp)
    story = _story(inp)
    title = {FAMILY: "Consultation report", CLINICAL: "Consultation report (clinical record)",
             DEIDENTIFIED: "Consultation report (de-identified)"}[inp.kind]
    decor = blocks.PageDecor(
        header_left=inp.clinic_name.strip(),
        header_right=title,
        footer_left="Research visualisation, not a promise of the surgical result.",
        logo_rgba=_load_logo(inp.logo_path),
    )
    return blocks.build_pdf(out_path, story, decor, page_size=inp.page_size,
                            title="Consultation report", author=inp.clinic_name.strip(),
                            real_dates=True)


def _postop_section(inp: ConsultationReportInput, prediction_close: np.ndarray, postop_close: np.ndarray,
                    width: float, gap: float) -> Flowable:
    """The primary prediction against the aligned post-op photo (``postop_section``)."""
    postop = inp.postop
    assert postop is not None
    drawn = inp.primary.drawn_landmarks
    comparison = None
    if drawn is not None and postop.landmarks is not None:
        try:
            comparison = compare_to_postop(drawn, postop.landmarks)
        except InferenceError:  # odd points must not cost the family its report
            comparison = None
    columns = [("Before (photo)", inp.photo_landmarks), ("Predicted", drawn),
               ("After surgery (photo)", postop.landmarks)]
    return postop_block(prediction_close, postop_close, columns, comparison, width, gap,
                        model_name=inp.primary.model_name,
                        alignment_note="" if inp.kind == FAMILY else postop.alignment_note)


def _story(inp: ConsultationReportInput) -> list[Flowable]:
    width = blocks.content_width(inp.page_size)
    gap = 6 * mm
    pair_w = (width - gap) / 2
    small_w = (width - 2 * gap) / 3
    deid = inp.kind == DEIDENTIFIED

    lm = inp.photo_landmarks if inp.photo_landmarks is not None else inp.primary.landmarks
    close = _Cropper.for_box(nose_mouth_box(inp.face_box, _check_landmarks("landmarks", lm)),
                             math.ceil(pair_w / 72 * blocks.PRINT_DPI))
    whole = _Cropper.for_box(_square_around(tuple(float(v) for v in inp.face_box)),  # type: ignore[arg-type]
                             math.ceil(small_w / 72 * blocks.PRINT_DPI))
    preds = [p for p in (inp.primary, inp.second) if p is not None]

    def after(crop: _Cropper, p: PredictionForReport) -> np.ndarray:
        img = crop.image(p.image_rgb)
        return add_research_mark(img) if inp.mark_predictions else img

    before_close = close.image(inp.photo_rgb)
    after_close = [after(close, p) for p in preds]
    outlined = outline_overlay(before_close, close.mask(inp.mask))

    story: list[Flowable] = [blocks.title_block(
        "Consultation report", "Predicted appearance of the lip after cleft lip repair")]
    details = [("Patient", inp.patient_label.strip())] if not deid else [
        ("Patient", "De-identified report (no name, face cut to nose and mouth)")]
    details += [
        ("Date", _format_date(inp.date, year_only=deid)),
        ("Clinician", inp.clinician.strip() or "not stated"),
        ("Clinic", inp.clinic_name.strip()),
    ]
    story.append(blocks.key_value_table(details, width))
    story.append(Spacer(1, 4 * mm))

    first_name = preds[0].model_name
    page_one: list[Flowable] = [
        blocks.para("Nose and mouth, before and predicted after (same scale)", "h2"),
        blocks.image_row([
            blocks.image_block(before_close, pair_w, "Before: photo taken before surgery"),
            blocks.image_block(after_close[0], pair_w, f"Predicted after (model: {first_name})"),
        ], width, gap),
        Spacer(1, 3 * mm),
    ]
    outline_panel = blocks.image_block(outlined, small_w, "Outlined: the part the computer filled in")
    if deid:  # never the whole face: eyes and brows must not print
        small = [outline_panel]
    else:
        page_one.append(blocks.para("Whole face, and the area that was filled", "h2"))
        small = [
            blocks.image_block(whole.image(inp.photo_rgb), small_w, "Before"),
            blocks.image_block(after(whole, inp.primary), small_w, "Predicted after"),
            outline_panel,
        ]
    page_one += [blocks.image_row(small, small_w * len(small) + gap * (len(small) - 1), gap),
                 Spacer(1, 3 * mm), blocks.disclaimer_block()]
    story.append(KeepTogether(page_one))

    story.append(KeepTogether([
        blocks.para("How the picture was made", "h2"),
        blocks.para(
            "The clinician marked the area of the cleft on the photo. A computer model trained on "
            "photos of faces without a cleft then drew a lip into that area. Everything outside "
            "the outlined area is the original photo.", "body"),
        Spacer(1, 3 * mm),
    ]))
    panels: list[Flowable] = []
    if inp.second is not None:
        panels.append(blocks.image_block(
            after_close[1], small_w, f"Second prediction (model: {inp.second.model_name})"))
    if inp.prints_landmarks:
        for p, img in zip(preds, after_close, strict=True):
            if p.landmarks is not None:
                panels.append(blocks.image_block(
                    landmark_overlay(img, close.points(p.landmarks)), small_w,
                    f"Predicted facial landmarks ({p.model_name})"))
    for i in range(0, len(panels), 3):
        row = panels[i:i + 3]
        story += [blocks.image_row(row, small_w * len(row) + gap * (len(row) - 1), gap),
                  Spacer(1, 4 * mm)]

    if inp.prints_measures:
        columns = [("Before (photo)", inp.photo_landmarks)]
        columns += [(f"Predicted ({p.model_name})", p.drawn_landmarks) for p in preds]
        try:
            story += [measures_block(columns, width, REPORT_MEASURES_NOTE), Spacer(1, 4 * mm)]
        except ReportInputError:  # odd points must not cost the family its report
            story += [KeepTogether([blocks.para(MEASURES_HEADING, "h2"), blocks.para(
                "The symmetry of nose and lip could not be measured on these pictures.", "small")])]

    if inp.prints_postop:
        story += [_postop_section(inp, after_close[0], close.image(inp.postop.image_rgb), width, gap),
                  Spacer(1, 4 * mm)]

    if inp.prints_notes:
        story.append(KeepTogether([blocks.para("Notes from the clinician", "h2"),
                                   blocks.para(inp.notes.strip(), "body")]))

    if inp.prints_provenance:
        rows = _model_rows("Model", inp.primary)
        if inp.second is not None:
            rows += _model_rows("Second model", inp.second)
        if not deid:
            rows += [(k, v) for k, v in inp.provenance]
        story += [PageBreak(), KeepTogether([
            blocks.para("Appendix: technical record", "h2"),
            blocks.key_value_table(rows, width, value_style="cell_mono"),
            Spacer(1, 2 * mm),
            blocks.para("The weights hash identifies the exact trained model file used, so the "
                        "result can be reproduced. This appendix is not part of the family's copy.",
                        "small"),
        ])]
    return story
