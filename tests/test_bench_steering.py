"""The steering benchmark's detector floor: a perfect edit moves the mouth and nothing outside the hole."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from test_training_structure import synthetic_face, synthetic_landmarks

from inference.face.regions import MOUTH
from inference.face.suggest import mouth_nostril_mask


def load_bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_steering.py"
    spec = importlib.util.spec_from_file_location("bench_steering_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lip_rows(picture: np.ndarray) -> np.ndarray:
    """Row of every lip-red pixel of a synthetic face."""
    return np.nonzero(picture[..., 0].astype(int) - picture[..., 1] > 80)[0]


def test_a_perfect_edit_moves_the_mouth_inside_the_hole_only() -> None:
    bench = load_bench()
    points = synthetic_landmarks().astype(np.float64)
    image = synthetic_face(points)
    moved = points.copy()
    moved[list(MOUTH), 1] += 10
    hole = mouth_nostril_mask(points, (256, 256)) | mouth_nostril_mask(moved, (256, 256))
    edited = bench.perfect_edit(image, points, moved, hole)
    assert np.array_equal(edited[~hole], image[~hole])
    lip_rows_before, lip_rows_after = lip_rows(image), lip_rows(edited)
    assert abs((lip_rows_after.mean() - lip_rows_before.mean()) - 10) < 1.5
    assert abs(lip_rows_after.size - lip_rows_before.size) < 0.1 * lip_rows_before.size


def test_motion_is_measured_as_shares_of_the_request() -> None:
    bench = load_bench()
    base = synthetic_landmarks().astype(np.float64)
    found = base.copy()
    found[list(MOUTH), 1] += 8          # the mouth followed 80 % of a 10 px request
    found[0:17, 1] += 2                 # the jaw was dragged by 20 % of it
    hole = mouth_nostril_mask(base, (256, 256))
    shares = bench.motion_measures(base, found, np.array([0.0, 10.0]), hole)
    assert np.isclose(shares["mouth_followed"], 0.8) and np.isclose(shares["jaw_moved"], 0.2)
    assert np.isclose(shares["above_mouth_moved"], 0.0)
    assert np.isclose(shares["unedited_moved"], 0.2 * 17 / 48)
