"""The app's study outputs: the clinic's prediction service, its face square, and the fallback square."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.rating.generation import service_outputs
from inference.errors import MaskError
from inference.face.crop import crop_from_landmarks
from inference.models import manager as manager_module
from inference.models.manager import ModelManager
from studies.study_outputs import CaseSource, display_square
from test_studies_support import face_files, lip_mask


def test_study_outputs_load_each_model_once_and_change_only_the_hole(tmp_path: Path, monkeypatch) -> None:
    loads: list[str] = []
    real_load = manager_module.load_model

    def counting_load(name, device, weights=None):  # noqa: ANN001
        loads.append(name)
        return real_load(name, device, weights)

    monkeypatch.setattr(manager_module, "load_model", counting_load)
    outputs = service_outputs("cpu", manager=ModelManager())
    yy, xx = np.mgrid[0:384, 0:384]
    photo = np.stack([xx * 255 // 383, yy * 255 // 383, (xx + yy) * 255 // 766], -1).astype(np.uint8)  # > 256 px
    hole = np.zeros((384, 384), bool)
    hole[200:260, 140:250] = True
    photo[hole] = 0  # what the model must paint over
    path = tmp_path / "gradient.png"
    Image.fromarray(photo).save(path)
    case = outputs.case_outputs(CaseSource(path, hole, face_box=(0, 0, 384, 384)))
    out = case.output("opencv-telea")
    case.output("opencv-telea")
    case.output("opencv-ns")
    assert loads == ["opencv-telea", "opencv-ns"]
    assert case.square == (0, 0, 384) and out.shape == (384, 384, 3) and out.dtype == np.uint8
    far = np.ones((384, 384), bool)
    far[180:280, 120:270] = False  # away from the hole (and its feathered seam) the photo is kept exactly
    assert np.array_equal(out[far], photo[far])
    assert out[210:250, 150:240].mean() > 60  # the black square under the hole was filled in


def test_the_square_is_the_models_face_square_and_falls_back_without_a_face(tmp_path: Path) -> None:
    faces = face_files(1)
    if not faces:
        pytest.skip("300-W faces are not available in the shared data folder")
    path, landmarks = faces[0]
    with Image.open(path) as img:
        shape = (img.height, img.width)
    mask = lip_mask(shape, landmarks)
    outputs = service_outputs("cpu")
    case = outputs.case_outputs(CaseSource(path, mask))
    left, top, side = case.square
    assert case.original.shape == (side, side, 3) and case.hole.shape == (side, side) and case.hole.dtype == bool
    assert case.square == display_square(case.analysis.crop, shape) and not outputs.fallbacks
    # the detected face's crop is the landmark crop the pipeline gives the model
    expected = crop_from_landmarks(case.analysis.landmarks)
    assert case.analysis.crop == expected
    assert 0 < case.hole.mean() < 0.2
    ys, xs = np.nonzero(case.hole)
    assert 0.5 < ys.mean() / side < 0.9 and 0.23 < xs.mean() / side < 0.77  # the lip sits low in the middle

    noise = tmp_path / "no_face.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(noise)
    box = np.zeros((200, 300), bool)
    box[100:130, 220:260] = True
    case = outputs.case_outputs(CaseSource(noise, box))
    assert outputs.fallbacks == [noise] and case.original.shape == (200, 200, 3) and case.hole.sum() == box.sum()


def test_a_mask_of_another_photo_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    Image.fromarray(np.zeros((100, 120, 3), np.uint8)).save(path)
    with pytest.raises(MaskError, match="does not match"):
        service_outputs("cpu").case_outputs(CaseSource(path, np.ones((100, 100), bool)))
