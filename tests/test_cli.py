"""``python -m inference``: model list, predictions on real faces, batches, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from inference.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_SOME_FAILED, main
from inference.io import load_photo, save_image, save_mask
from inference.pipeline import FacePipeline

REPO = Path(__file__).resolve().parents[1]


def _mouth_mask_file(photo_path: Path, mask_path: Path) -> np.ndarray:
    rgb = load_photo(photo_path).rgb
    landmarks = FacePipeline().analyse(rgb).landmarks
    lo, hi = landmarks[48:68].min(0).astype(int) - 2, landmarks[48:68].max(0).astype(int) + 3
    mask = np.zeros(rgb.shape[:2], bool)
    mask[lo[1]:hi[1], lo[0]:hi[0]] = True
    save_mask(mask_path, mask)
    return mask


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines and lines[-1].startswith("error: ")
    return lines[-1]


def test_models_lists_classical_models_as_ready(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == EXIT_OK
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["opencv-telea"]["weights_available"] and rows["opencv-ns"]["weights_available"]
    assert "nclg-mt" in rows and rows["nclg-mt"]["neural"]


def test_module_entry_point_runs_headless() -> None:
    done = subprocess.run([sys.executable, "-m", "inference", "models"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "opencv-telea" in done.stdout and "ready" in done.stdout


def test_predict_real_face_end_to_end(utkface_paths: list[Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    mask = _mouth_mask_file(utkface_paths[0], tmp_path / "mask.png")
    out, landmarks = tmp_path / "result.png", tmp_path / "landmarks.json"
    code = main(["predict", "--image", str(utkface_paths[0]), "--mask", str(tmp_path / "mask.png"),
                 "--model", "opencv-telea", "--out", str(out), "--landmarks-out", str(landmarks),
                 "--device", "cpu"])
    assert code == EXIT_OK, capsys.readouterr().err
    original, result = load_photo(utkface_paths[0]).rgb, load_photo(out).rgb
    assert result.shape == original.shape
    far = ndimage.distance_transform_edt(~mask) >= 3
    assert np.array_equal(result[far], original[far])
    assert (result[mask] != original[mask]).any()
    document = json.loads(landmarks.read_text())
    assert len(document["detected_landmarks"]) == 68 and document["model_landmarks"] is None
    assert document["face_crop"]["size"] > 50


def test_batch_folder_with_one_broken_photo(utkface_paths: list[Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    photos, masks, out = tmp_path / "photos", tmp_path / "masks", tmp_path / "out"
    photos.mkdir(), masks.mkdir()
    for i, path in enumerate(utkface_paths[:2]):
        save_image(photos / f"case{i}.png", load_photo(path).rgb)
        _mouth_mask_file(path, masks / f"case{i}_mask.png")
    (photos / "case9.jpg").write_bytes(b"\xff\xd8 damaged")
    save_mask(masks / "case9.png", np.ones((10, 10), bool))
    code = main(["predict", "--image", str(photos), "--mask", str(masks), "--model", "opencv-ns",
                 "--out", str(out), "--batch-size", "2"])
    err = capsys.readouterr().err
    assert code == EXIT_SOME_FAILED
    assert sorted(p.name for p in out.iterdir()) == ["case0.png", "case1.png"]
    assert "case9.jpg" in err and "Traceback" not in err


def test_several_image_mask_pairs(utkface_paths: list[Path], tmp_path: Path) -> None:
    args = []
    for i, path in enumerate(utkface_paths[:2]):
        _mouth_mask_file(path, tmp_path / f"m{i}.png")
        args += ["--image", str(path), "--mask", str(tmp_path / f"m{i}.png")]
    assert main(["predict", *args, "--model", "opencv-telea", "--out", str(tmp_path / "out")]) == EXIT_OK
    assert len(list((tmp_path / "out").glob("*.png"))) == 2


def test_manual_face_box_for_a_photo_without_face(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_image(tmp_path / "grey.png", np.full((200, 240, 3), 128, np.uint8))
    mask = np.zeros((200, 240), bool)
    mask[90:110, 100:140] = True
    save_mask(tmp_path / "m.png", mask)
    base = ["predict", "--image", str(tmp_path / "grey.png"), "--mask", str(tmp_path / "m.png"),
            "--model", "opencv-telea", "--out", str(tmp_path / "o.png")]
    assert main(base) == EXIT_BAD_INPUT
    assert "No face was found" in _one_error_line(capsys.readouterr().err)
    assert main([*base, "--face-box", "60,40,180,160"]) == EXIT_OK
    assert (tmp_path / "o.png").is_file()


def _sideways(path: Path, array: np.ndarray, orientation: int = 6) -> None:
    """Store ``array`` turned so that EXIF ``orientation`` turns it upright again (as a camera does)."""
    from PIL import Image

    stored = np.rot90(array, {3: 2, 6: 1, 8: -1}[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(stored)).save(path, exif=exif.tobytes(), quality=100)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_rotated_mask_is_turned_like_its_photo(orientation: int, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Photo and mask stored sideways with the same Orientation tag: only the upright hole changes."""
    upright = np.full((200, 240, 3), 128, np.uint8)
    upright[150:160, 60:100] = 20                          # a dark "lip" low on the left of the upright photo
    hole = np.zeros((200, 240), bool)
    hole[146:164, 56:104] = True
    _sideways(tmp_path / "photo.jpg", upright, orientation)
    _sideways(tmp_path / "mask.jpg", hole.astype(np.uint8) * 255, orientation)
    code = main(["predict", "--image", str(tmp_path / "photo.jpg"), "--mask", str(tmp_path / "mask.jpg"),
                 "--model", "opencv-telea", "--out", str(tmp_path / "o.png"), "--face-box", "20,20,220,190"])
    assert code == EXIT_OK, capsys.readouterr().err
    result = load_photo(tmp_path / "o.png").rgb.astype(int)
    assert result.shape == upright.shape
    assert np.abs(result[152:158, 65:95] - 128).max() < 12   # the dark lip was filled from the grey around
    assert np.abs(result[:100] - load_photo(tmp_path / "photo.jpg").rgb[:100]).max() == 0   # eyes untouched


def test_crop_sized_mask_needs_mask_space_crop(utkface_paths: list[Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A 256 x 256 mask for a 200 x 200 photo is refused, never taken as a crop mask by its size."""
    rgb = load_photo(utkface_paths[0]).rgb
    pipeline = FacePipeline()
    analysis = pipeline.analyse(rgb)
    lo, hi = analysis.landmarks[48:68].min(0).astype(int), analysis.landmarks[48:68].max(0).astype(int) + 1
    photo_mask = np.zeros(rgb.shape[:2], bool)
    photo_mask[lo[1]:hi[1], lo[0]:hi[0]] = True
    save_mask(tmp_path / "crop.png", pipeline.prepare(rgb, photo_mask, 256, analysis).crop_hole)
    base = ["predict", "--image", str(utkface_paths[0]), "--mask", str(tmp_path / "crop.png"),
            "--model", "opencv-telea", "--out", str(tmp_path / "o.png")]
    assert main(base) == EXIT_BAD_INPUT
    line = _one_error_line(capsys.readouterr().err)
    assert "must match the photo" in line and "--mask-space crop" in line
    assert not (tmp_path / "o.png").exists()
    assert main([*base, "--mask-space", "crop"]) == EXIT_OK
    changed = (load_photo(tmp_path / "o.png").rgb != rgb).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert lo[1] - 6 <= ys.mean() <= hi[1] + 6 and lo[0] - 6 <= xs.mean() <= hi[0] + 6   # on the mouth


@pytest.mark.parametrize("case, expected", [
    ("missing image", "does not exist"),
    ("corrupt image", "damaged or incomplete"),
    ("wrong mask size", "must match the photo"),
    ("empty mask", "no painted"),
    ("unknown model", "No model named"),
    ("bad device", "Unknown device"),
    ("unpaired", "one --mask per --image"),
])
def test_bad_input_gives_one_clear_line(case: str, expected: str, utkface_paths: list[Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    image, mask = utkface_paths[0], tmp_path / "m.png"
    save_mask(mask, np.pad(np.ones((20, 20), bool), 90))          # 200x200, like the photo
    model, extra = "opencv-telea", []
    if case == "missing image":
        image = tmp_path / "nope.jpg"
    elif case == "corrupt image":
        data = utkface_paths[0].read_bytes()
        image = tmp_path / "cut.jpg"
        image.write_bytes(data[: len(data) // 3])
    elif case == "wrong mask size":
        save_mask(mask, np.ones((64, 64), bool))
    elif case == "empty mask":
        save_mask(mask, np.zeros((200, 200), bool))
    elif case == "unknown model":
        model = "no-such-model"
    elif case == "bad device":
        extra = ["--device", "quantum"]
    elif case == "unpaired":
        extra = ["--image", str(image)]
    code = main(["predict", "--image", str(image), "--mask", str(mask), "--model", model,
                 "--out", str(tmp_path / "o.png"), *extra])
    assert code == EXIT_BAD_INPUT
    assert expected in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o.png").exists()
