"""The Optuna loss-weight search runs trials, stores the study and reports weights inside the space."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch

from test_training_support import mini_setup, tiny_config


def test_search_runs_two_tiny_trials(tmp_path: Path) -> None:
    from training.search import SPACE, run_search

    config = tiny_config(*mini_setup(tmp_path))
    config = replace(config, train=replace(config.train, val_images=2))
    best = run_search(config, tmp_path / "search", trials=2, steps=1, device=torch.device("cpu"), progress=False)
    assert (tmp_path / "search" / "study.db").is_file()
    assert json.loads((tmp_path / "search" / "best.json").read_text()) == best
    for name, (lo, hi) in SPACE.items():
        assert lo <= best[name] <= hi
    assert 5 < best["value_val_psnr"] < 60
