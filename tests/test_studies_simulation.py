"""Simulated raters (studies.simulation) and the simulated-study benchmark's study path."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from test_studies_support import face_files

from studies.rating import OutputView, Questions, RatingItem
from studies.simulation import SimulatedRater, judge_item


def _item(tmp_path: Path, images: dict[str, np.ndarray], original: np.ndarray) -> RatingItem:
    Image.fromarray(original).save(tmp_path / "original.png")
    outputs = []
    for label, image in images.items():
        Image.fromarray(image).save(tmp_path / f"{label}.png")
        outputs.append(OutputView(label, tmp_path / f"{label}.png", None, None, "", None, {}))
    questions = Questions(True, False, True, True, (), False)
    return RatingItem(1, 1, "C-001", False, tmp_path / "original.png", None, tuple(outputs), "", questions)


def test_a_simulated_rater_rejects_a_smooth_fill_noise_and_a_wrong_face(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (128, 128)).astype(np.float32), (0, 0), 2)
    original = np.repeat(np.clip((texture - texture.mean()) * 4 + 128, 0, 255).astype(np.uint8)[..., None], 3, -1)
    hole = np.zeros((128, 128), bool)
    hole[40:90, 30:100] = True

    def fill(values: np.ndarray) -> np.ndarray:
        out = original.copy()
        out[hole] = values[hole]
        return out

    close = fill(np.clip(original.astype(int) + rng.integers(-4, 5, original.shape), 0, 255).astype(np.uint8))
    smooth = fill(np.full_like(original, int(original[hole].mean())))
    noise = fill(rng.integers(0, 256, original.shape).astype(np.uint8))
    shifted = fill(np.roll(original, 23, axis=1))        # as sharp as the truth, but another face's lip
    item = _item(tmp_path, {"A": smooth, "B": close, "C": noise, "D": shifted}, original)

    valid, ranking = judge_item(item, SimulatedRater(noise=0.0), np.random.default_rng(1))
    assert valid == {"A": False, "B": True, "C": False, "D": False}
    assert ranking == ["B"]
    lenient, ranking = judge_item(item, SimulatedRater(strictness=50.0, noise=0.0), np.random.default_rng(1))
    assert lenient["D"] and not lenient["A"] and not lenient["C"] and ranking == ["B", "D"]

    blind = RatingItem(1, 1, "C-001", False, None, None, item.outputs, "", item.questions)
    with pytest.raises(ValueError, match="original"):
        judge_item(blind, SimulatedRater(), np.random.default_rng(1))


def test_the_simulated_study_runs_the_clinic_path_and_the_analysis(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from simulated_study import PASSPHRASE as STUDY_PASSPHRASE
    from simulated_study import build_study

    from studies.analysis import analyse_study
    from studies.simulation import SimulatedRater, rate_all
    from studies.unblinding import UnblindingService

    photos = [path for path, _ in face_files(2)]
    if len(photos) < 2:
        pytest.skip("open face photos not found")
    db, study_id, raters = build_study(tmp_path / "study", photos, ["opencv-telea", "harmonic-fill"], 2,
                                       "mouth_nostril")
    # two cases, one of them shown again (repeat_fraction 0.2, at least one)
    assert [rate_all(db, r, SimulatedRater(seed=i)) for i, r in enumerate(raters)] == [3, 3]
    service = UnblindingService(db)
    service.close_study(study_id, STUDY_PASSPHRASE, "Simulation")
    service.unblind(study_id, STUDY_PASSPHRASE, "Simulation")
    analysis = analyse_study(db, study_id)
    assert analysis.models == ("opencv-telea", "harmonic-fill") and analysis.n_cases == 2
    # first presentations only (the repeat measures intra-rater consistency): 2 cases x 2 raters
    assert {s.model: s.n_rated for s in analysis.overall} == {"opencv-telea": 4, "harmonic-fill": 4}
    # neither classical fill draws a lip in a whole-mouth hole: both are smooth there
    assert all(s.n_valid == 0 for s in analysis.overall)
    db.close()
