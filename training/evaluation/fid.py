"""FID between model outputs and ground truth, only when the user supplies the Inception weights.

Expects the TorchScript Inception-v3 feature network used by StyleGAN2-ADA / clean-fid
(``inception-2015-12-05.pt``): called as ``net(uint8 NCHW, return_features=True)`` it returns
2048-d pool features. Nothing is downloaded. With a few hundred faces FID is noisy; report it with
the number of images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from training.errors import ConfigError


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _features(net: torch.jit.ScriptModule, images: list[np.ndarray]) -> np.ndarray:
    feats = []
    with torch.no_grad():
        for i in range(0, len(images), 32):
            x = torch.from_numpy(np.stack(images[i:i + 32])).permute(0, 3, 1, 2).contiguous()
            feats.append(net(x, return_features=True).float().cpu().numpy())
    return np.concatenate(feats)


def fid_scores(weights: Path, cases: list, outputs: dict[str, list[np.ndarray]]) -> dict[str, dict[str, float]]:
    if not Path(weights).is_file():
        raise ConfigError(f"Inception weights {weights} do not exist.")
    try:
        net = torch.jit.load(str(weights), map_location="cpu").eval()
    except RuntimeError as exc:
        raise ConfigError(f"{weights} is not a TorchScript Inception feature network: {exc}") from exc
    result: dict[str, dict[str, float]] = {}
    for subset in sorted({c.subset for c in cases}):
        idx = [i for i, c in enumerate(cases) if c.subset == subset]
        real = _features(net, [cases[i].image for i in idx])
        for name, outs in outputs.items():
            result.setdefault(name, {})[subset] = frechet_distance(_features(net, [outs[i] for i in idx]), real)
    return result
