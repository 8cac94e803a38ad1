"""Helpers for the app tests: scripted prompts, a window factory, photo writers, screenshots."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class RecordingPrompts:
    """Stands in for the dialogs: records every message and answers from scripted queues."""

    texts: list[str | None] = field(default_factory=list)
    confirms: list[bool] = field(default_factory=list)
    files: list[Path | None] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    infos: list[tuple[str, str]] = field(default_factory=list)
    questions: list[tuple[str, str]] = field(default_factory=list)
    choices: list[int | None] = field(default_factory=list)
    choice_lists: list[list[str]] = field(default_factory=list)
    report_answers: list = field(default_factory=list)  # ReportOptions or None (cancel)
    report_choices: list = field(default_factory=list)  # the ReportChoices each dialog was given

    def error(self, title: str, text: str) -> None:
        self.errors.append((title, text))

    def info(self, title: str, text: str) -> None:
        self.infos.append((title, text))

    def confirm(self, title: str, text: str) -> bool:
        self.questions.append((title, text))
        return self.confirms.pop(0) if self.confirms else False

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        return self.texts.pop(0) if self.texts else None

    def open_file(self, title: str, file_filter: str) -> Path | None:
        return self.files.pop(0) if self.files else None

    def save_file(self, title: str, file_filter: str, suggested: str) -> Path | None:
        return self.files.pop(0) if self.files else None

    def choose_item(self, title: str, label: str, items: list[str]) -> int | None:
        self.choice_lists.append(list(items))
        return self.choices.pop(0) if self.choices else None


    def report_options(self, choices):  # noqa: ANN001, ANN201 - ReportChoices -> ReportOptions | None
        self.report_choices.append(choices)
        return self.report_answers.pop(0) if self.report_answers else None


def face_photo(path: Path, size: int = 640) -> np.ndarray:
    """A real face (UTKFace, 200 px) upscaled so painting has room; returns the RGB written."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB").resize((size, size), Image.Resampling.BICUBIC))


def write_dicom(path: Path, rgb: np.ndarray, with_pixels: bool = True) -> Path:
    """An RGB Secondary Capture as a camera or PACS would hand it over (pydicom)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Test^Patient"
    ds.PatientID = "T-0001"
    ds.Modality = "XC"
    if with_pixels:
        ds.Rows, ds.Columns = rgb.shape[:2]
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.PixelData = np.ascontiguousarray(rgb).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def screenshot(widget, name: str, folder: Path) -> Path:  # noqa: ANN001 - any QWidget
    """Grab ``widget`` to ``folder/name.png``; also to $CLEFTLIP_SCREENSHOTS when set (for review)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    pixmap = widget.grab()
    assert pixmap.save(str(target)), f"could not write {target}"
    extra = os.environ.get("CLEFTLIP_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        pixmap.save(str(Path(extra) / f"{name}.png"))
    return target


def stored_prediction(window, prediction=None) -> np.ndarray:  # noqa: ANN001 - MainWindow, PredictionView
    """A prediction's full-resolution pixels as stored, read through the one decoder (``CaseStore.prediction_image``)."""
    p = prediction or window.state.current_prediction
    return window.store.prediction_image(p.stored, window.photo.rgb)


def exported(qtbot, window, started: bool, timeout: int = 60000) -> bool:  # noqa: ANN001
    """Wait until an export started on the window's worker pool has been written (or failed)."""
    if started:
        qtbot.waitUntil(lambda: not window.tasks.busy, timeout=timeout)
    return started
