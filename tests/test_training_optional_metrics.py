"""FID and LPIPS run only with user-supplied weights; checked here with stand-in networks of the same layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from training.errors import ConfigError
from training.evaluation.cases import EvalCase
from training.vgg import VGG16Features


class _FakeInception(torch.nn.Module):
    """Same call signature as the TorchScript inception-2015-12-05.pt: (uint8 NCHW, return_features)."""

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        f = x.float().mean(dim=(2, 3))
        return torch.cat([f, f ** 2 / 255, x.float().std(dim=(2, 3))], dim=1)


def _cases(n: int = 6) -> list[EvalCase]:
    rng = np.random.default_rng(0)
    return [EvalCase("test", i, str(i), "lip", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
                     np.zeros((32, 32), bool), np.full((68, 2), 0.5, np.float32)) for i in range(n)]


def test_fid_is_zero_for_identical_sets_and_positive_otherwise(tmp_path: Path) -> None:
    from training.evaluation.fid import fid_scores

    path = tmp_path / "inception.pt"
    torch.jit.script(_FakeInception()).save(str(path))
    cases = _cases(12)
    noisy = [np.clip(c.image.astype(int) + 60, 0, 255).astype(np.uint8) for c in cases]
    scores = fid_scores(path, cases, {"same": [c.image for c in cases], "brighter": noisy})
    assert abs(scores["same"]["test"]) < 1e-3 and scores["brighter"]["test"] > 1.0
    with pytest.raises(ConfigError):
        fid_scores(tmp_path / "missing.pt", cases, {})


def test_lpips_zero_for_identical_and_needs_both_files(tmp_path: Path) -> None:
    from training.evaluation.lpips import lpips_scores

    vgg = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in VGG16Features().features.state_dict().items()}, vgg)
    lin = tmp_path / "lin.pth"
    chans = (64, 128, 256, 512, 512)
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(chans)}, lin)
    cases = _cases(3)
    other = [np.roll(c.image, 5, axis=0) for c in cases]
    scores = lpips_scores(f"{lin},{vgg}", cases, {"same": [c.image for c in cases], "shifted": other})
    assert scores["same"]["test"] == pytest.approx(0.0, abs=1e-6) and scores["shifted"]["test"] > 0
    with pytest.raises(ConfigError, match="LIN_PATH,VGG16_PATH"):
        lpips_scores(str(lin), cases, {})
