"""The evaluation runner scores registered models on identical cases and writes JSON, Markdown, PNG."""

from __future__ import annotations

import csv
import json

import cv2
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
    assert "| opencv-telea |" in result.markdown and (tmp_path / "out" / "grid.jpg").stat().st_size > 1000
    assert data["hole_ratio_mean"]["40-60"] > data["hole_ratio_mean"]["0-20"]
    # structure measures: every category, the vermilion only where the hole covers the lip, no NME without landmarks
    for name in ("opencv-telea", "opencv-ns"):
        assert data["models"][name]["landmarks"] is False
        for subset in ("test", "infant"):
            scores = data["models"][name]["scores"][subset]
            for c in CATEGORIES:
                e = scores[c]
                assert 5 < e["hole_psnr"] < e["psnr"] and e["edge_ratio_n"] == 2 and 0 < e["edge_ratio_median"] < 3
                assert "nme" not in e and (("vermilion" in e) == (c in ("lip", "mouth", "upper_lip")))
            for c in ("mouth", "upper_lip"):
                v = scores[c]["vermilion"]
                assert 0 <= v["n"] <= 2 and (v["median"] is None) == (v["n"] == 0)
    assert "### Structure: held-out test faces (2 faces)" in result.markdown
    assert "| opencv-ns |" in result.markdown.split("### Structure")[1]
    for family in ("mouth", "upper_lip"):
        image = cv2.imread(str(tmp_path / "out" / f"grid_{family}.jpg"))
        # 2 adult + 2 infant rows of masked input | 2 models | truth, 128x128 lower-face boxes zoomed x2
        assert image.shape[:2] == (4 * 258 + 2, 4 * 258 + 2)


def test_cases_are_reproducible(setup) -> None:
    from training.evaluation.cases import build_cases
    from training.masks.nvidia import load_nvidia_masks

    _, cache, masks = setup
    nvidia = load_nvidia_masks(masks, masks.parent / "masks.npz")
    a = build_cases(cache, nvidia, 2, 1)
    b = build_cases(cache, nvidia, 2, 1)
    assert len(a) == len(b) == 3 * 6
    assert all(np.array_equal(x.hole, y.hole) and x.category == y.category for x, y in zip(a, b))
    assert not any(np.array_equal(a[0].hole, h.hole) for h in a[1:6])


def test_family_cases_are_built_from_the_truth_landmarks_without_jitter(setup) -> None:
    from inference.face.suggest import mouth_nostril_mask, upper_lip_nostril_mask
    from training.data.dataset import FaceCropSet
    from training.evaluation.cases import CATEGORIES, build_cases
    from training.masks.nvidia import load_nvidia_masks

    _, cache, masks = setup
    assert CATEGORIES == ("lip", "mouth", "upper_lip", "0-20", "20-40", "40-60")
    cases = build_cases(cache, load_nvidia_masks(masks, masks.parent / "masks.npz"), 2, 1)
    faces = FaceCropSet(cache, "test", infant=False, limit=2)
    for case in cases:
        if case.subset != "test":
            continue
        image, lm = faces.get(case.face)
        assert np.array_equal(case.image, image) and np.allclose(case.landmarks_norm, lm)
        assert case.landmarks_norm.shape == (68, 2) and 0 <= case.landmarks_norm.min() <= case.landmarks_norm.max() <= 1
        if case.category == "mouth":
            assert np.array_equal(case.hole, mouth_nostril_mask(lm * 256, (256, 256)))
        if case.category == "upper_lip":
            assert np.array_equal(case.hole, upper_lip_nostril_mask(lm * 256, (256, 256)))


def test_structure_markdown_rows_and_columns() -> None:
    from training.evaluation.run import structure_markdown, to_markdown

    def entry(hole_psnr: float, nme: bool) -> dict:
        e = {"psnr": 40.0, "ssim": 0.98, "l1": 0.5, "n": 3, "hole_psnr": hole_psnr, "edge_ratio_median": 0.8,
             "vermilion": {"median": 0.62, "share_ge_0_5": 2 / 3, "n": 3}}
        if nme:
            e["nme"] = {"all_mean": 0.031, "all_median": 0.03, "mouth_mean": 0.052, "mouth_median": 0.05, "n": 3}
        return e

    data = {"faces": {"test": 3, "infant": 0}, "categories": ["lip", "mouth", "upper_lip", "0-20"],
            "models": {"opencv-ns": {"scores": {"test": {c: entry(20.0, False) for c in ("lip", "mouth", "upper_lip")}},
                                     "seconds_per_image": 0.01},
                       "net": {"scores": {"test": {"mouth": entry(21.5, True)}}, "seconds_per_image": 0.2}}}
    md = structure_markdown(data)
    assert "### Structure: held-out test faces (3 faces)" in md and "infant" not in md.split("\n\n")[0]
    header = next(line for line in md.splitlines() if line.startswith("| model"))
    assert header.count("|") == 2 + 14 and "mouth vermilion median" in header and "upper_lip NME mouth" in header
    net = next(line for line in md.splitlines() if line.startswith("| net |")).split(" | ")
    assert net[1:8] == ["0.62", "67 % of 3", "0.80", "21.50", "+1.50", "0.0310", "0.0520"]
    assert net[8:15] == ["-"] * 6 + ["- |"]  # no upper_lip entry for this model
    ns = next(line for line in md.splitlines() if line.startswith("| opencv-ns |"))
    assert "+0.00" in ns and ns.count(" - ") >= 4  # no landmarks: NME cells empty
    assert md in to_markdown(data)
