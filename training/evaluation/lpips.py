"""LPIPS (VGG variant), only when the user supplies both weight files.

``lin`` is the linear-layer file of the ``lpips`` package (``weights/v0.1/vgg.pth``: keys
``linN.model.1.weight``) and the backbone is a torchvision-layout VGG-16 state dict (see
training.vgg). Scores follow Zhang et al. 2018: unit-normalised features at relu1_2 ... relu5_3,
squared difference weighted per channel, averaged over space, summed over layers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.errors import ConfigError
from training.vgg import load_vgg16

_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
_SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
_TAPS = (3, 8, 15, 22, 29)  # indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in vgg16.features


class LPIPS(torch.nn.Module):
    def __init__(self, lin_path: Path, vgg_path: Path) -> None:
        super().__init__()
        self.features = load_vgg16(vgg_path).features
        if not Path(lin_path).is_file():
            raise ConfigError(f"LPIPS weights {lin_path} do not exist.")
        state = torch.load(lin_path, map_location="cpu", weights_only=True)
        try:
            self.lins = [state[f"lin{i}.model.1.weight"].float() for i in range(5)]
        except KeyError as exc:
            raise ConfigError(f"{lin_path} is not an LPIPS vgg.pth file (missing {exc}).") from exc

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b in [0, 1], NCHW; returns (N,) distances."""
        xa, xb = ((a * 2 - 1) - _SHIFT) / _SCALE, ((b * 2 - 1) - _SHIFT) / _SCALE
        total = torch.zeros(a.shape[0])
        tap = 0
        for i, layer in enumerate(self.features):
            xa, xb = layer(xa), layer(xb)
            if i == _TAPS[tap]:
                na = xa / (xa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                nb = xb / (xb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                d = torch.nn.functional.conv2d((na - nb) ** 2, self.lins[tap])
                total += d.mean(dim=(1, 2, 3))
                tap += 1
                if tap == len(_TAPS):
                    break
        return total


def lpips_scores(weights: str | Path, cases: list, outputs: dict[str, list[np.ndarray]]) -> dict[str, dict[str, float]]:
    """``weights`` is "LIN_PATH,VGG16_PATH"."""
    parts = str(weights).split(",")
    if len(parts) != 2:
        raise ConfigError("Give LPIPS weights as LIN_PATH,VGG16_PATH (the lpips vgg.pth and a torchvision vgg16).")
    model = LPIPS(Path(parts[0]), Path(parts[1])).eval()
    to_t = lambda imgs: torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    result: dict[str, dict[str, float]] = {}
    for name, outs in outputs.items():
        per_subset: dict[str, list[float]] = {}
        for i in range(0, len(cases), 16):
            d = model(to_t(outs[i:i + 16]), to_t([c.image for c in cases[i:i + 16]]))
            for c, v in zip(cases[i:i + 16], d.tolist()):
                per_subset.setdefault(c.subset, []).append(v)
        result[name] = {s: float(np.mean(v)) for s, v in per_subset.items()}
    return result
