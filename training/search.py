"""Optuna search over the loss weights with a small, documented budget.

Each trial trains a fresh generator for ``steps`` steps with sampled weights for the adversarial,
total-variation, landmark and feature-matching (or perceptual/style with VGG) terms, then scores
the composited validation PSNR (fixed validation faces and masks). L1 stays at 1 as the scale
reference. Short trials favour reconstruction-heavy settings, so treat the result as a starting
point for long runs, not a final answer (docs/training.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch

from training.config import Config
from training.loop import Trainer

SPACE = {  # name: (low, high), sampled log-uniformly
    "adversarial": (1e-3, 1e-1),
    "tv": (1e-2, 3e-1),
    "landmark": (1e-4, 2e-3),
    "feature_matching": (1e-1, 1e1),
}
VGG_SPACE = {"perceptual": (1e-2, 1.0), "style": (1e-2, 1e2)}


def run_search(config: Config, out: Path, trials: int = 8, steps: int = 150, storage: str | None = None,
               device: torch.device | None = None, progress: bool = True) -> dict[str, float]:
    import optuna

    out.mkdir(parents=True, exist_ok=True)
    space = dict(SPACE, **(VGG_SPACE if config.vgg_weights else {}))
    storage = storage or f"sqlite:///{out / 'study.db'}"
    study = optuna.create_study(study_name=f"{config.name}-loss-weights", storage=storage, direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=config.seed), load_if_exists=True)

    def objective(trial: "optuna.Trial") -> float:
        weights = {k: trial.suggest_float(k, lo, hi, log=True) for k, (lo, hi) in space.items()}
        trial_config = replace(config, loss=replace(config.loss, **weights),
                               train=replace(config.train, steps=steps, sample_every=10 ** 9, val_every=10 ** 9,
                                             checkpoint_every=10 ** 9))
        trainer = Trainer(trial_config, out / f"trial_{trial.number:03d}", resume=False,
                          device=device or torch.device("cpu"), progress=progress)
        trainer.train(steps)
        psnr, _, _ = trainer.validate()
        return psnr

    study.optimize(objective, n_trials=trials)
    best = {"value_val_psnr": study.best_value, **study.best_params}
    (out / "best.json").write_text(json.dumps(best, indent=2))
    return best
