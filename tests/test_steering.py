"""Steering: given landmarks replace the network's own in its image branch (model, pipeline, CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from inference.cli import EXIT_BAD_INPUT, EXIT_OK, main, read_landmarks_json
from inference.errors import SteeringError, WeightsMissingError
from inference.face.blend import default_feather
from inference.face.crop import FaceCrop
from inference.face.regions import MOUTH
from inference.face.suggest import mouth_nostril_mask
from inference.io import load_photo, save_mask
from inference.models.base import TorchInpaintModel
from inference.models.nclg_mt import NCLGMTGenerator
from inference.models.registry import get_spec, load_model
from inference.pipeline import FacePipeline


def _crop_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth synthetic 256 px crop and a mouth-sized hole."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:256] / 255.0
    image = np.stack([0.6 + 0.2 * xx, 0.45 + 0.2 * yy, 0.4 + 0.1 * xx * yy], -1)
    image = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1)
    hole = np.zeros((256, 256), bool)
    hole[160:215, 80:180] = True
    return (image * 255).round().astype(np.uint8)[None], hole[None]


@pytest.fixture(scope="module")
def random_model() -> TorchInpaintModel:
    """A small network with random weights whose image branch depends on the landmarks (tests only)."""
    torch.manual_seed(0)
    network = NCLGMTGenerator(width=0.125, residual_blocks=1, coarse_fill="none", landmark_sigma=2.0)
    return TorchInpaintModel(get_spec("nclg-mt-lite"), torch.device("cpu"), network)


@pytest.fixture(scope="module")
def shipped_model() -> TorchInpaintModel:
    try:
        return load_model("nclg-mt-lite", "cpu")
    except WeightsMissingError as exc:
        pytest.skip(str(exc))


def test_override_changes_only_the_hole_and_follows_the_landmarks(random_model: TorchInpaintModel) -> None:
    images, holes = _crop_case()
    (own,) = random_model.predict_batch(images, holes)
    assert random_model.accepts_landmarks and own.guide_norm is None
    moved = own.landmarks_norm.copy()
    moved[list(MOUTH), 1] += 0.05
    (steered,) = random_model.predict_batch(images, holes, moved[None])
    changed = (steered.image != own.image).any(-1)
    assert not changed[~holes[0]].any()                       # known pixels are never touched
    # the hole is redrawn around the moved points (a random network: how much depends on the CPU's arithmetic)
    assert changed[holes[0]].mean() > 0.01
    assert np.allclose(steered.landmarks_norm, own.landmarks_norm)   # the prediction is reported unchanged
    assert np.array_equal(steered.guide_norm, moved)


def test_override_equal_to_the_prediction_changes_nothing(random_model: TorchInpaintModel) -> None:
    images, holes = _crop_case(1)
    (own,) = random_model.predict_batch(images, holes)
    (same,) = random_model.predict_batch(images, holes, own.landmarks_norm[None])
    assert np.abs(same.image.astype(int) - own.image).max() <= 1
    (kept,) = random_model.predict_batch(images, holes, np.full((1, 68, 2), np.nan, np.float32))
    assert np.array_equal(kept.image, own.image)              # NaN keeps the network's own points
    assert np.allclose(kept.guide_norm, own.landmarks_norm)


def test_only_the_given_points_are_replaced(random_model: TorchInpaintModel) -> None:
    images, holes = _crop_case(2)
    (own,) = random_model.predict_batch(images, holes)
    partial = np.full((1, 68, 2), np.nan, np.float32)
    partial[0, 48] = (0.3, 0.75)
    (steered,) = random_model.predict_batch(images, holes, partial)
    expected = own.landmarks_norm.copy()
    expected[48] = (0.3, 0.75)
    assert np.allclose(steered.guide_norm, expected)


@pytest.mark.parametrize("name", ["opencv-telea", "harmonic-fill"])
def test_models_without_landmarks_refuse_them(name: str) -> None:
    model = load_model(name, "cpu")
    images, holes = _crop_case()
    assert not model.accepts_landmarks
    with pytest.raises(SteeringError, match="does not draw from facial landmarks"):
        model.predict_batch(images, holes, np.full((1, 68, 2), 0.5, np.float32))


def test_bad_guides_are_refused(random_model: TorchInpaintModel) -> None:
    images, holes = _crop_case()
    with pytest.raises(SteeringError, match="68 landmarks"):
        random_model.predict_batch(images, holes, np.zeros((1, 5, 2)))
    with pytest.raises(SteeringError, match="outside the face square"):
        random_model.predict_batch(images, holes, np.full((1, 68, 2), 1.5))


class _GuideRecorder(torch.nn.Module):
    """Echoes its input and records the landmarks it was told to follow."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor | None] = []

    def forward(self, image, hole, landmarks=None):
        self.seen.append(None if landmarks is None else landmarks.clone())
        return image, torch.full((image.shape[0], 68, 2), 0.5)


def test_pipeline_maps_photo_landmarks_to_the_crop() -> None:
    recorder = _GuideRecorder()
    model = TorchInpaintModel(get_spec("nclg-mt-lite"), torch.device("cpu"), recorder)
    rgb = np.full((300, 400, 3), 128, np.uint8)
    pipeline = FacePipeline()
    analysis = pipeline.analyse_manual(rgb, (100, 50, 300, 250))
    crop: FaceCrop = analysis.crop
    mask = np.zeros(rgb.shape[:2], bool)
    mask[180:220, 160:240] = True
    landmarks = np.column_stack([np.linspace(120, 280, 68), np.linspace(70, 230, 68)]).astype(np.float32)
    landmarks[10] = np.nan
    result = pipeline.predict(rgb, mask, model, analysis, landmarks=landmarks)
    seen = recorder.seen[-1][0].numpy()
    expected = (landmarks - (crop.x0, crop.y0)) / crop.size
    assert np.allclose(seen, expected, atol=1e-5, equal_nan=True)
    assert np.isnan(seen[10]).all()
    assert np.allclose(result.guide_landmarks[10], crop.to_photo(np.array([[128.0, 128.0]]), 256)[0])
    assert np.allclose(np.delete(result.guide_landmarks, 10, 0), np.delete(landmarks, 10, 0), atol=1e-3)
    pipeline.predict(rgb, mask, model, analysis)
    assert recorder.seen[-1] is None and result.landmarks is not None


def _face_case(path: Path):
    rgb = load_photo(path).rgb
    pipeline = FacePipeline()
    analysis = pipeline.analyse(rgb)
    return rgb, pipeline, analysis, mouth_nostril_mask(analysis.landmarks, rgb.shape[:2])


def test_shipped_network_is_steered_inside_the_mask_only(utkface_paths: list[Path], shipped_model) -> None:
    rgb, pipeline, analysis, mask = _face_case(utkface_paths[1])
    own = pipeline.predict(rgb, mask, shipped_model, analysis)
    same = pipeline.predict(rgb, mask, shipped_model, analysis, landmarks=own.landmarks)
    assert np.abs(same.image.astype(int) - own.image).max() <= 1
    moved = own.landmarks.copy()
    moved[list(MOUTH), 1] += 0.05 * np.linalg.norm(analysis.landmarks[8] - analysis.landmarks[27])
    steered = pipeline.predict(rgb, mask, shipped_model, analysis, landmarks=moved)
    crop_changed = (steered.crop_prediction != own.crop_prediction).any(-1)
    assert crop_changed[own.crop_hole].any() and not crop_changed[~own.crop_hole].any()
    feather = default_feather(analysis.crop, 256)
    far = ndimage.distance_transform_edt(~mask) >= feather
    assert np.array_equal(steered.image[far], rgb[far])      # the photo outside the (feathered) mask is the photo


def test_cli_landmarks_round_trip(utkface_paths: list[Path], tmp_path: Path, shipped_model,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    rgb, _, analysis, mask = _face_case(utkface_paths[1])
    save_mask(tmp_path / "mask.png", mask)
    base = ["predict", "--image", str(utkface_paths[1]), "--mask", str(tmp_path / "mask.png"),
            "--model", "nclg-mt-lite", "--device", "cpu"]
    assert main([*base, "--out", str(tmp_path / "own.png"), "--landmarks-out", str(tmp_path / "L.json")]) == EXIT_OK
    document = json.loads((tmp_path / "L.json").read_text())
    assert "guide_landmarks" not in document
    # the model's own landmarks fed back: the same picture (JSON keeps 0.01 px, so allow rounding)
    assert main([*base, "--out", str(tmp_path / "same.png"), "--landmarks-in", str(tmp_path / "L.json"),
                 "--landmarks-out", str(tmp_path / "L2.json")]) == EXIT_OK
    own, same = load_photo(tmp_path / "own.png").rgb.astype(int), load_photo(tmp_path / "same.png").rgb.astype(int)
    assert np.abs(own - same)[mask].mean() < 0.5 and np.array_equal(own[~mask], same[~mask])
    document2 = json.loads((tmp_path / "L2.json").read_text())
    assert np.allclose(document2["guide_landmarks"], document["model_landmarks"], atol=0.02)
    # only some points given (null = keep the network's own)
    points = [None] * 68
    points[51] = document["model_landmarks"][51]
    (tmp_path / "partial.json").write_text(json.dumps(points))
    assert np.isnan(read_landmarks_json(tmp_path / "partial.json")[0]).all()
    assert main([*base, "--out", str(tmp_path / "partial.png"), "--landmarks-in", str(tmp_path / "partial.json")]) \
        == EXIT_OK
    capsys.readouterr()


def test_cli_refuses_landmarks_for_a_classical_model(utkface_paths: list[Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rgb = load_photo(utkface_paths[0]).rgb
    save_mask(tmp_path / "mask.png", np.pad(np.ones((20, 20), bool), ((120, 60), (90, 90))))
    (tmp_path / "L.json").write_text(json.dumps({"detected_landmarks": [[100.0, 100.0]] * 68}))
    code = main(["predict", "--image", str(utkface_paths[0]), "--mask", str(tmp_path / "mask.png"),
                 "--model", "opencv-telea", "--out", str(tmp_path / "o.png"),
                 "--landmarks-in", str(tmp_path / "L.json")])
    assert code == EXIT_BAD_INPUT
    assert "does not draw from facial landmarks" in capsys.readouterr().err
    assert rgb.shape[:2] == (200, 200)


@pytest.mark.parametrize("content, message", [
    ("not json", "cannot be read as JSON"),
    (json.dumps({"model_landmarks": [[1, 2]] * 5}), "must hold 68 points"),
    (json.dumps({"face_box": {}}), "has no"),
    (json.dumps([[1, "x"]] * 68), "list of \\[x, y\\] pairs"),
])
def test_bad_landmark_files_give_one_clear_message(content: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "L.json").write_text(content)
    with pytest.raises(SteeringError, match=message):
        read_landmarks_json(tmp_path / "L.json")
