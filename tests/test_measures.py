"""Nasolabial symmetry measures and "mirror the healthy side" on hand-made faces, and the measures CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.cli import EXIT_OK, main
from inference.face.regions import MIDLINE_POINTS, MIRROR_PAIRS, MOUTH, NOSE_LOWER
from inference.measures import DEFINITIONS, fit_midline, mirror_healthy_side, nasolabial_measures

IOD = 90.0   # the template's outer eye corners are at x = -45 and +45

# The photo-left half of a hand-made face (the patient's right), and its midline points; y down.
_HALF = {
    0: (-70, 0), 1: (-69, 12), 2: (-66, 25), 3: (-61, 38), 4: (-54, 50), 5: (-45, 62), 6: (-34, 72), 7: (-18, 80),
    17: (-55, -28), 18: (-47, -33), 19: (-37, -35), 20: (-27, -34), 21: (-16, -31),
    36: (-45, -10), 37: (-35, -15), 38: (-25, -15), 39: (-15, -10), 40: (-25, -5), 41: (-35, -5),
    31: (-12, 28), 32: (-6, 30),
    48: (-22, 50), 49: (-14, 45), 50: (-6, 43), 59: (-14, 56), 58: (-6, 59),
    60: (-18, 50), 61: (-6, 48), 67: (-6, 52),
}
_MIDDLE = {8: (0, 84), 27: (0, -10), 28: (0, 0), 29: (0, 10), 30: (0, 20), 33: (0, 31), 51: (0, 45),
           57: (0, 60), 62: (0, 48), 66: (0, 52)}


def symmetric_face() -> np.ndarray:
    """68 points, exactly mirror-symmetric about x = 0 (built from one half with the mirror pairs)."""
    face = np.full((68, 2), np.nan)
    for index, xy in _MIDDLE.items():
        face[index] = xy
    for left, right in MIRROR_PAIRS:
        face[left] = _HALF[left]
        face[right] = (-_HALF[left][0], _HALF[left][1])
    assert np.isfinite(face).all()
    return face


def place(face: np.ndarray, degrees: float = 15.0, scale: float = 3.0, shift=(400.0, 300.0)) -> np.ndarray:
    """The face rotated in the photo plane, scaled and moved: the measures must not change."""
    t = np.deg2rad(degrees)
    rotation = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return face @ rotation.T * scale + shift


def asymmetric_face() -> np.ndarray:
    """The template with hand-made changes on the patient's left (the photo's right) and elsewhere."""
    face = symmetric_face()
    face[35] = (12, 19)       # left alar base 9 px (10 % IOD) higher
    face[33] = (4.5, 31)      # columella base 4.5 px (5 % IOD) to the patient's left
    face[30] = (-9, 20)       # nose tip 9 px (10 % IOD) to the patient's right
    face[52] = (6, 40.3)      # left Cupid's bow peak 2.7 px (3 % IOD) higher
    face[51] = (-1.8, 45)     # bow centre 1.8 px (2 % IOD) to the right
    face[48] = (-22, 54.5)    # right mouth corner 4.5 px (5 % IOD) lower
    return face


@pytest.mark.parametrize("degrees, scale", [(0.0, 1.0), (15.0, 3.0), (-30.0, 0.5)])
def test_mirror_symmetric_face_has_no_asymmetry(degrees: float, scale: float) -> None:
    result = nasolabial_measures(place(symmetric_face(), degrees, scale))
    assert [m.key for m in result.measures] == [d.key for d in DEFINITIONS]
    for measure in result.measures:
        assert measure.asymmetry == pytest.approx(0, abs=1e-9), measure.key
        assert measure.direction == "even"
    assert result["nostril_width_ratio"].value == pytest.approx(1)
    assert result["upper_lip_height_ratio"].value == pytest.approx(1)
    assert result.face_size_px == pytest.approx(IOD * scale)
    t = np.deg2rad(degrees)
    assert abs(result.midline.down @ (-np.sin(t), np.cos(t))) == pytest.approx(1)   # the rotated vertical


@pytest.mark.parametrize("degrees, scale", [(0.0, 1.0), (15.0, 3.0)])
def test_hand_made_asymmetric_face_gives_the_expected_values(degrees: float, scale: float) -> None:
    m = nasolabial_measures(place(asymmetric_face(), degrees, scale))
    # nostrils: columella base (4.5, 31) to the alar bases (12, 19) and (-12, 28)
    assert m["nostril_width_ratio"].value == pytest.approx(np.hypot(7.5, 12) / np.hypot(16.5, 3))
    assert m["nostril_width_ratio"].asymmetry == pytest.approx(100 * (1 - np.hypot(7.5, 12) / np.hypot(16.5, 3)))
    assert m["nostril_width_ratio"].direction == "right larger"
    assert m["alar_base_height_difference"].value == pytest.approx(10.0)
    assert m["alar_base_height_difference"].direction == "left higher"
    assert m["nose_tip_deviation"].value == pytest.approx(-10.0)
    assert m["nose_tip_deviation"].direction == "towards the right"
    assert m["columella_deviation"].value == pytest.approx(5.0)
    assert m["cupids_bow_height_difference"].value == pytest.approx(3.0)
    assert m["philtrum_deviation"].value == pytest.approx(-2.0)
    assert m["philtrum_deviation"].asymmetry == pytest.approx(2.0)
    # lip heights: nostril sill (y 30) to peak: left 40.3, right 43
    assert m["upper_lip_height_ratio"].value == pytest.approx(10.3 / 13)
    assert m["mouth_corner_height_difference"].value == pytest.approx(5.0)
    assert m["mouth_corner_height_difference"].direction == "left higher"


def test_midline_ignores_the_nose_tip_and_the_lip() -> None:
    symmetric, asymmetric = fit_midline(symmetric_face()), fit_midline(asymmetric_face())
    assert np.allclose(symmetric.point, asymmetric.point) and np.allclose(symmetric.down, asymmetric.down)
    assert np.allclose(symmetric.down, (0, 1)) and np.allclose(symmetric.across, (1, 0))


def test_unusable_landmarks_are_refused_clearly() -> None:
    from inference.errors import InferenceError

    face = symmetric_face()
    face[33] = np.nan
    with pytest.raises(InferenceError, match="all 68"):
        nasolabial_measures(face)
    with pytest.raises(InferenceError, match="eyes are swapped"):
        nasolabial_measures(symmetric_face() * (-1, 1))


def test_json_is_plain_and_complete() -> None:
    document = nasolabial_measures(asymmetric_face()).to_dict()
    json.dumps(document)
    assert "inter-ocular" in document["face_size"]["name"]
    assert document["measures"]["alar_base_height_difference"]["unit"] == "% IOD"
    assert document["measures"]["alar_base_height_difference"]["value"] == pytest.approx(10.0)


@pytest.mark.parametrize("degrees", [0.0, 20.0])
def test_mirror_the_healthy_left_side_onto_the_cleft(degrees: float) -> None:
    face = place(asymmetric_face(), degrees)
    mirrored = mirror_healthy_side(face, cleft_side="left")
    # the healthy side (patient's right, photo left) and everything outside lip and nose are untouched
    moved = {right for left, right in MIRROR_PAIRS if left in NOSE_LOWER + MOUTH} | \
            {i for i in MIDLINE_POINTS if i in NOSE_LOWER + MOUTH}
    untouched = [i for i in range(68) if i not in moved]
    assert np.allclose(mirrored[untouched], face[untouched], atol=1e-3)
    # by hand: the template, with the right corner's drop copied to the left corner
    expected = symmetric_face()
    expected[48] = (-22, 54.5)
    expected[54] = (22, 54.5)
    assert np.allclose(mirrored, place(expected, degrees), atol=1e-3)
    for measure in nasolabial_measures(mirrored).measures:
        assert measure.asymmetry == pytest.approx(0, abs=1e-3), measure.key


def test_mirror_the_healthy_right_side() -> None:
    face = asymmetric_face()
    mirrored = mirror_healthy_side(face, cleft_side="right")
    assert np.allclose(mirrored[31], (-12, 19)) and np.allclose(mirrored[35], face[35])   # the left side copied
    assert np.allclose(mirrored[50], (-6, 40.3)) and np.allclose(mirrored[48], (-22, 50))
    assert np.allclose(mirrored[[30, 33, 51]][:, 0], 0)
    with pytest.raises(ValueError, match="cleft_side"):
        mirror_healthy_side(face, cleft_side="both")  # type: ignore[arg-type]


def _write_points(path: Path, face: np.ndarray, key: str = "model_landmarks") -> None:
    path.write_text(json.dumps({key: face.tolist(), "detected_landmarks": None}))


def test_measures_cli_with_a_landmarks_file(utkface_paths: list[Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _write_points(tmp_path / "L.json", place(asymmetric_face(), 10, 0.8, (100, 80)))
    assert main(["measures", "--image", str(utkface_paths[0]), "--landmarks", str(tmp_path / "L.json")]) == EXIT_OK
    document = json.loads(capsys.readouterr().out)
    assert document["landmarks_source"] == "file L.json"
    assert document["measures"]["columella_deviation"]["value"] == pytest.approx(5.0, abs=1e-3)


def test_measures_cli_detects_landmarks(utkface_paths: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measures", "--image", str(utkface_paths[1])]) == EXIT_OK
    document = json.loads(capsys.readouterr().out)
    assert document["landmarks_source"] == "dlib-68"
    assert {m for m in document["measures"]} == {d.key for d in DEFINITIONS}
    # a real adult face without a cleft: its nose is within a few per cent of the eye distance of the midline
    assert abs(document["measures"]["columella_deviation"]["value"]) < 10
