"""The VGG-16 option loads a torchvision-layout state dict and feeds the perceptual and style terms."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.errors import ConfigError
from training.vgg import VGG16Features, load_vgg16


def _torchvision_layout_state() -> dict[str, torch.Tensor]:
    state = {f"features.{k}": v for k, v in VGG16Features().features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # classifier keys are ignored
    return state


def test_loads_torchvision_layout_and_computes_losses(tmp_path: Path) -> None:
    from training.losses import perceptual_and_style

    state = _torchvision_layout_state()
    assert "features.28.weight" in state and "features.0.bias" in state  # torchvision's indices
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    vgg = load_vgg16(path)
    assert torch.equal(vgg.features[28].weight, state["features.28.weight"])
    real = torch.rand(1, 3, 64, 64)
    p0, s0 = perceptual_and_style(vgg, real, real)
    p1, s1 = perceptual_and_style(vgg, torch.rand(1, 3, 64, 64), real)
    assert float(p0) == 0.0 and float(s0) == 0.0 and float(p1) > 0 and float(s1) > 0


def test_wrong_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, path)
    with pytest.raises(ConfigError, match="not a torchvision vgg16"):
        load_vgg16(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_vgg16(tmp_path / "missing.pth")
