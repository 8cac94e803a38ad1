"""The evaluation runner scores registered models on identical cases and writes JSON, Markdown, PNG."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from test_training_support import mini_setup


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    faces, cache, masks = mini_setup(tmp_path_factory.mktemp("evaluate"))
    # every cached face becomes a test face (the mini set is too small for the hash split)
    rows = list(csv.DictReader((cache / "meta.csv").open()))
    for r in rows:
        r["split"] = "test"
    with (cache / "meta.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return faces, cache, masks


def test_baselines_scored_identically_and_outputs_written(setup, tmp_path: Path) -> None:
    from training.evaluation.cases import CATEGORIES
    from training.evaluation.run import run_evaluation

    _, cache, masks = setup
    result = run_evaluation(["opencv-telea", "opencv-ns"], cache, tmp_path / "out", limit=2, infant_limit=2,
                            nvidia_folder=str(masks), nvidia_cache=str(masks.parent / "masks.npz"), progress=False)
    data = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert data["faces"] == {"test": 2, "infant": 2}
    for name in ("opencv-telea", "opencv-ns"):
        for subset in ("test", "infant"):
            scores = data["models"][name]["scores"][subset]
            assert set(scores) == set(CATEGORIES)
            assert all(scores[c]["n"] == 2 and 15 < scores[c]["psnr"] < 60 and 0 < scores[c]["ssim"] <= 1
                       for c in CATEGORIES)
    # larger holes are harder for the same method
    telea = data["models"]["opencv-telea"]["scores"]["test"]
    assert telea["0-20"]["psnr"] > telea["40-60"]["psnr"]
    assert "| opencv-telea |" in result.markdown and (tmp_path / "out" / "grid.png").stat().st_size > 1000
    assert data["hole_ratio_mean"]["40-60"] > data["hole_ratio_mean"]["0-20"]


def test_cases_are_reproducible(setup) -> None:
    from training.evaluation.cases import build_cases
    from training.masks.nvidia import load_nvidia_masks

    _, cache, masks = setup
    nvidia = load_nvidia_masks(masks, masks.parent / "masks.npz")
    a = build_cases(cache, nvidia, 2, 1)
    b = build_cases(cache, nvidia, 2, 1)
    assert len(a) == len(b) == 3 * 4
    assert all(np.array_equal(x.hole, y.hole) and x.category == y.category for x, y in zip(a, b))
    assert not any(np.array_equal(a[0].hole, h.hole) for h in a[1:4])
