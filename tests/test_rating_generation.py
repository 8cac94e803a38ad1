"""The app's generation callables for a study: registry models and the face pipeline's crop."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.rating.generation import PipelinePrepare, RegistryGenerate, square_around_mask
from inference.errors import MaskError
from inference.models.registry import load_model
from test_studies_support import face_files, lip_mask


def test_registry_generate_loads_each_model_once_and_fills_only_the_hole() -> None:
    loads: list[str] = []

    def loader(name: str, device: str | None):
        loads.append(name)
        return load_model(name, device)

    generate = RegistryGenerate("cpu", loader=loader)
    yy, xx = np.mgrid[0:384, 0:384]
    crop = np.stack([xx * 255 // 383, yy * 255 // 383, (xx + yy) * 255 // 766], -1).astype(np.uint8)  # > 256 px
    hole = np.zeros((384, 384), bool)
    hole[200:260, 140:250] = True
    crop[hole] = 0  # what the model must paint over
    out = generate(crop, hole, "opencv-telea")
    generate(crop, hole, "opencv-telea")
    generate(crop, hole, "opencv-ns")
    assert loads == ["opencv-telea", "opencv-ns"]
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8
    small = np.asarray(Image.fromarray(crop).resize((256, 256), Image.Resampling.BOX), np.int16)
    far = np.ones((256, 256), bool)
    far[120:190, 80:180] = False  # away from the (scaled) hole the input is kept
    assert np.abs(out.astype(np.int16) - small)[far].max() <= 2
    assert out[140:165, 100:160].mean() > 60  # the black square under the hole was filled in


def test_pipeline_prepare_uses_the_landmark_crop_and_falls_back_without_a_face(tmp_path) -> None:
    faces = face_files(1)
    if not faces:
        pytest.skip("300-W faces are not available in the shared data folder")
    path, landmarks = faces[0]
    with Image.open(path) as img:
        shape = (img.height, img.width)
    mask = lip_mask(shape, landmarks)
    prepare = PipelinePrepare(256)
    crop, hole = prepare(path, mask)
    assert crop.shape == (256, 256, 3) and hole.shape == (256, 256) and hole.dtype == bool
    assert 0 < hole.mean() < 0.2 and not prepare.fallbacks
    ys, xs = np.nonzero(hole)
    assert 128 < ys.mean() < 230 and 60 < xs.mean() < 196  # the lip sits in the lower middle of the face crop

    noise = tmp_path / "no_face.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(noise)
    box = np.zeros((200, 300), bool)
    box[100:130, 220:260] = True
    crop, hole = prepare(noise, box)
    assert prepare.fallbacks == [noise] and crop.shape == (200, 200, 3) and hole.sum() == box.sum()


def test_square_around_mask_refuses_a_mask_of_another_photo() -> None:
    with pytest.raises(MaskError, match="does not match"):
        square_around_mask(np.zeros((100, 120, 3), np.uint8), np.ones((100, 100), bool))
