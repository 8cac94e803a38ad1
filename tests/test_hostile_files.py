"""Hostile and broken files (chunk bombs, inconsistent or mutated DICOMs, byte mutants, tiny photos)
through the CLI and the app loader: each ends in a typed error naming its cause, or a good image."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hostile_corpus import HostileFile, build_corpus, smooth_rgb

from inference.cli import EXIT_BAD_INPUT, EXIT_SOME_FAILED, main
from inference.errors import InferenceError, NoFaceError
from inference.face.detect import detect_faces
from inference.io import load_photo, save_image, save_mask
from inference.pipeline import FacePipeline

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[HostileFile]:
    return build_corpus(tmp_path_factory.mktemp("hostile") / "photos")


def _check(case: HostileFile, load) -> str:
    """Load ``case`` with ``load``; only a typed error (naming the cause) or a good image passes."""
    try:
        rgb = load(case.path)
    except InferenceError as exc:
        if case.cause is not None:
            assert case.cause in str(exc), f"{case.path.name}: {exc}"
        return "refused"
    assert case.cause is None, f"{case.path.name} opened, but should be refused for: {case.cause}"
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and min(rgb.shape[:2]) > 0
    return "opened"


def test_every_hostile_file_ends_typed_in_the_inference_loader(corpus: list[HostileFile]) -> None:
    outcomes = [_check(case, lambda p: load_photo(p).rgb) for case in corpus]
    assert outcomes.count("refused") >= sum(c.cause is not None for c in corpus)
    assert np.array_equal(load_photo(corpus[0].path.parent / "base_ok.dcm").rgb, smooth_rgb())


def test_every_hostile_file_ends_typed_in_the_app_loader(corpus: list[HostileFile]) -> None:
    pytest.importorskip("PySide6")
    from app.windows.main_window import _load_photo_levels

    for case in corpus:
        _check(case, lambda p: _load_photo_levels(p)[0].rgb)


def test_cli_batch_reports_each_hostile_file_on_one_line(corpus: list[HostileFile], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Every file through ``python -m inference predict``: one line per refused file, no traceback."""
    masks = tmp_path / "masks"
    masks.mkdir()
    hole = np.zeros((256, 256), bool)
    hole[150:180, 90:170] = True
    for case in corpus:
        save_mask(masks / f"{case.path.stem}.png", hole)
    save_mask(masks / "base_ok.png", hole)
    code = main(["predict", "--image", str(corpus[0].path.parent), "--mask", str(masks), "--mask-space", "crop",
                 "--face-box", "0,0,40,40", "--model", "opencv-telea", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == EXIT_SOME_FAILED and "Traceback" not in err
    lines = {line.split(":", 2)[1].strip(): line for line in err.splitlines() if line.startswith("error: ")}
    for case in corpus:
        if case.cause is not None:
            assert case.cause in lines[case.path.name], lines.get(case.path.name)
    written = {p.stem for p in (tmp_path / "out").glob("*.png")}
    assert "base_ok" in written
    assert written.isdisjoint(name.rsplit(".", 1)[0] for name in lines)


@pytest.mark.parametrize("shape", [(8, 60), (1, 1000), (2000, 8), (8, 2000)])
def test_tiny_photo_is_no_face_with_its_size_not_a_crash(shape: tuple[int, int]) -> None:
    rgb = np.full((*shape, 3), 128, np.uint8)
    assert detect_faces(rgb) == []                              # dlib's CNN fallback is never fed slivers
    with pytest.raises(NoFaceError, match="too small"):
        FacePipeline().analyse(rgb)


def test_tiny_photo_in_the_cli_names_its_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_image(tmp_path / "tiny.png", np.full((8, 60, 3), 128, np.uint8))
    save_mask(tmp_path / "m.png", np.ones((8, 60), bool))
    code = main(["predict", "--image", str(tmp_path / "tiny.png"), "--mask", str(tmp_path / "m.png"),
                 "--model", "opencv-telea", "--out", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert "60 x 8 pixels, too small" in err.strip().splitlines()[-1]
