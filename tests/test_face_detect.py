"""Face detection and 68 landmarks on real open faces (UTKFace, 300-W HELEN test crops)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.errors import NoFaceError
from inference.face.crop import crop_from_landmarks
from inference.face.detect import detect_faces
from inference.face.landmarks import DlibLandmarkDetector
from inference.io import load_photo
from inference.pipeline import FacePipeline


@pytest.fixture(scope="module")
def dlib68() -> DlibLandmarkDetector:
    return DlibLandmarkDetector()


def test_faces_and_landmarks_found_on_adults_and_infants(utkface_paths: list[Path], infant_face_paths: list[Path],
                                                         dlib68: DlibLandmarkDetector) -> None:
    for path in [*utkface_paths, *infant_face_paths]:
        rgb = load_photo(path).rgb
        faces = detect_faces(rgb)
        assert faces, f"no face found in {path.name}"
        landmarks = dlib68(rgb, faces[0])
        assert landmarks.shape == (68, 2) and landmarks.dtype == np.float32
        # UTKFace crops are centred faces: the nose tip (point 30) lies in the middle half.
        assert 50 < landmarks[30, 0] < 150 and 50 < landmarks[30, 1] < 150, path.name
        # iBUG order: the right eye's outer corner (36) is left of the left eye's (45); mouth below nose.
        assert landmarks[36, 0] < landmarks[45, 0] and landmarks[57, 1] > landmarks[33, 1]


def test_dlib_landmarks_match_300w_annotations(helen_samples: list[tuple[Path, np.ndarray]],
                                               dlib68: DlibLandmarkDetector) -> None:
    """Normalised mean error (by outer inter-ocular distance) against the hand annotations."""
    errors = []
    for path, truth in helen_samples:
        rgb = load_photo(path).rgb
        faces = detect_faces(rgb)
        assert faces, f"no face found in {path.name}"
        predicted = dlib68(rgb, faces[0])
        inter_ocular = np.linalg.norm(truth[36] - truth[45])
        errors.append(float(np.linalg.norm(predicted - truth, axis=1).mean() / inter_ocular))
    assert np.mean(errors) < 0.06, errors      # dlib on HELEN: about 0.03
    assert max(errors) < 0.15, errors


def test_crop_from_detected_landmarks_holds_the_annotated_face(helen_samples, dlib68) -> None:
    path, truth = helen_samples[0]
    rgb = load_photo(path).rgb
    crop = crop_from_landmarks(dlib68(rgb, detect_faces(rgb)[0]))
    inside = crop.to_crop(truth, 256)
    assert inside.min() > 0 and inside.max() < 256


def test_flat_grey_photo_has_no_face() -> None:
    grey = np.full((200, 200, 3), 128, np.uint8)
    assert detect_faces(grey) == []
    with pytest.raises(NoFaceError, match="Draw a square"):
        FacePipeline().analyse(grey)


def test_manual_face_square() -> None:
    grey = np.full((300, 400, 3), 128, np.uint8)
    analysis = FacePipeline().analyse_manual(grey, (100, 50, 200, 250))
    assert analysis.manual and analysis.landmarks is None
    assert analysis.crop.size == 200 and (analysis.crop.x0, analysis.crop.y0) == (50, 50)
    with pytest.raises(NoFaceError, match="outside the photo"):
        FacePipeline().analyse_manual(grey, (500, 50, 600, 150))
    with pytest.raises(NoFaceError, match="at least"):
        FacePipeline().analyse_manual(grey, (10, 10, 15, 15))
