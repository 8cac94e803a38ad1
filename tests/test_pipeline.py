"""The face pipeline end to end with a classical model on real faces, and its input checks."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from inference.errors import ImageReadError, MaskError
from inference.face.blend import default_feather
from inference.io import load_photo
from inference.models.base import InpaintModel
from inference.models.registry import get_spec, load_model
from inference.pipeline import FacePipeline


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return FacePipeline()


@pytest.fixture(scope="module")
def telea():
    return load_model("opencv-telea", "cpu")


@pytest.fixture(scope="module")
def face(utkface_paths: list[Path], pipeline: FacePipeline):
    rgb = load_photo(utkface_paths[1]).rgb
    return rgb, pipeline.analyse(rgb)


def _mouth_mask(rgb: np.ndarray, landmarks: np.ndarray, margin: int = 3) -> np.ndarray:
    lo = np.floor(landmarks[48:68].min(axis=0)).astype(int) - margin
    hi = np.ceil(landmarks[48:68].max(axis=0)).astype(int) + margin
    mask = np.zeros(rgb.shape[:2], bool)
    mask[lo[1]:hi[1], lo[0]:hi[0]] = True
    return mask


def test_predict_changes_only_the_feathered_mouth(face, pipeline: FacePipeline, telea) -> None:
    rgb, analysis = face
    mask = _mouth_mask(rgb, analysis.landmarks)
    result = pipeline.predict(rgb, mask, telea, analysis)
    assert result.image.shape == rgb.shape and result.image.dtype == np.uint8
    feather = default_feather(analysis.crop, 256)
    outside = ndimage.distance_transform_edt(~mask) >= feather
    assert np.array_equal(result.image[outside], rgb[outside])
    assert (result.image[mask] != rgb[mask]).any(axis=1).mean() > 0.3
    assert result.crop_hole.shape == (256, 256) and result.crop_hole.any()
    assert result.landmarks is None and result.model_name == "opencv-telea"
    assert set(result.timings) >= {"detect", "landmarks", "prepare", "forward", "paste"}


def test_crop_resolution_mask_is_accepted(face, pipeline: FacePipeline, telea) -> None:
    rgb, analysis = face
    by_photo = pipeline.prepare(rgb, _mouth_mask(rgb, analysis.landmarks), 256, analysis)
    result = pipeline.predict(rgb, by_photo.crop_hole, telea, analysis, mask_space="crop")
    assert np.array_equal(result.crop_hole, by_photo.crop_hole)
    # Drawn back onto the photo, the crop mask covers the original painted area (give or take its edge).
    overlap = (result.mask & by_photo.mask).sum() / by_photo.mask.sum()
    assert overlap > 0.9


def test_crop_sized_mask_is_never_guessed(face, pipeline: FacePipeline, telea) -> None:
    """A 256 x 256 mask for a 200 x 200 photo is refused unless crop space is asked for."""
    rgb, analysis = face
    by_photo = pipeline.prepare(rgb, _mouth_mask(rgb, analysis.landmarks), 256, analysis)
    with pytest.raises(MaskError, match="must match the photo"):
        pipeline.predict(rgb, by_photo.crop_hole, telea, analysis)
    with pytest.raises(MaskError, match="must be 256 x 256"):
        pipeline.predict(rgb, by_photo.mask, telea, analysis, mask_space="crop")


def test_mask_errors(face, pipeline: FacePipeline, telea) -> None:
    rgb, analysis = face
    with pytest.raises(MaskError, match="must match the photo"):
        pipeline.predict(rgb, np.ones((50, 70), bool), telea, analysis)
    with pytest.raises(MaskError, match="no painted"):
        pipeline.predict(rgb, np.zeros(rgb.shape[:2], bool), telea, analysis)
    with pytest.raises(MaskError, match="no painted"):
        pipeline.predict(rgb, np.zeros((256, 256), bool), telea, analysis, mask_space="crop")
    corner = np.zeros(rgb.shape[:2], bool)
    corner[:3, :3] = True
    centre = pipeline.analyse_manual(rgb, (60, 60, 140, 140))
    with pytest.raises(MaskError, match="outside the face square"):
        pipeline.predict(rgb, corner, telea, centre)


def test_manual_crop_on_a_photo_without_face(pipeline: FacePipeline, telea) -> None:
    grey = np.full((300, 400, 3), 120, np.uint8)
    grey[140:160, 180:220] = 30                       # a dark "lip" to be filled
    mask = np.zeros(grey.shape[:2], bool)
    mask[138:162, 178:222] = True
    analysis = pipeline.analyse_manual(grey, (100, 50, 300, 250))
    result = pipeline.predict(grey, mask, telea, analysis)
    assert result.analysis.manual and result.landmarks is None
    assert np.abs(result.image[145:155, 190:210].astype(int) - 120).max() < 10   # filled from the grey around


class _LandmarkEcho(InpaintModel):
    """Returns the input and fixed normalised landmarks, to check where landmarks land in the photo."""

    def _fill(self, images, holes):
        corners = np.tile(np.array([[0.0, 0.0], [1.0, 1.0]], np.float32), (34, 1))
        return images, np.stack([corners] * len(images))


def test_model_landmarks_are_returned_in_photo_pixels(face, pipeline: FacePipeline) -> None:
    import torch

    rgb, analysis = face
    result = pipeline.predict(rgb, _mouth_mask(rgb, analysis.landmarks),
                              _LandmarkEcho(get_spec("opencv-telea"), torch.device("cpu")), analysis)
    crop = analysis.crop
    assert result.landmarks.shape == (68, 2)
    assert np.allclose(result.landmarks[0], (crop.x0, crop.y0))
    assert np.allclose(result.landmarks[1], (crop.x0 + crop.size, crop.y0 + crop.size))


def test_predict_many_batches_and_reports_bad_cases(utkface_paths: list[Path], pipeline: FacePipeline,
                                                    telea, tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")

    def load(path: Path):
        rgb = load_photo(path).rgb
        analysis = pipeline.analyse(rgb)
        return rgb, _mouth_mask(rgb, analysis.landmarks), analysis

    paths = [utkface_paths[0], tmp_path / "broken.jpg", utkface_paths[2]]
    outcomes = list(pipeline.predict_many([functools.partial(load, p) for p in paths], telea, batch_size=2))
    assert [o.index for o in outcomes] == [1, 0, 2]      # the bad case is reported as soon as it is found
    assert isinstance(outcomes[0].error, ImageReadError) and outcomes[0].result is None
    assert all(o.result is not None and o.error is None for o in outcomes[1:])
    assert outcomes[1].result.image.shape == (200, 200, 3)


def test_corrected_landmarks_move_the_crop_and_keep_the_box(face, pipeline: FacePipeline) -> None:
    from inference.errors import InferenceError

    rgb, analysis = face[0], face[1]
    moved = analysis.landmarks.copy()
    moved[48:68] += (0, 6)                                    # the mouth points sat too high
    corrected = pipeline.with_landmarks(analysis, moved)
    assert np.array_equal(corrected.landmarks, moved.astype(np.float32)) and corrected.box == analysis.box
    assert "corrected by hand" in corrected.landmark_detector
    from inference.face.crop import crop_from_landmarks

    assert corrected.crop == crop_from_landmarks(moved)       # the crop follows the points
    shifted = pipeline.with_landmarks(analysis, analysis.landmarks + (12, 0))
    assert shifted.crop.x0 == pytest.approx(analysis.crop.x0 + 12, abs=1)
    assert np.array_equal(analysis.landmarks, face[1].landmarks)  # the detection itself is untouched
    with pytest.raises(InferenceError, match="68 finite"):
        pipeline.with_landmarks(analysis, moved[:10])
