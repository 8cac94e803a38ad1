"""A smooth membrane (harmonic) fill of image holes, in torch so it runs batched on any device.

The fill solves Laplace's equation inside the hole with the surrounding pixels as boundary values,
the smoothest surface that meets the hole's border. It is a strong fill by PSNR and SSIM on thin
and medium holes (it never draws a seam), and it is the coarse stage of the NCLG-MT variants built
with ``coarse_fill="harmonic"``: their network then only has to add what a smooth surface cannot,
such as the vermilion border, the philtrum and the nostrils.

Solved coarse to fine: a mask-weighted average pyramid gives every level a start (push-pull), and
a few Jacobi sweeps per level relax it, so a 256 px hole converges in a few dozen sweeps per level
instead of thousands at full resolution.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

DEFAULT_SWEEPS = 24


def harmonic_fill(image: torch.Tensor, hole: torch.Tensor, sweeps: int = DEFAULT_SWEEPS) -> torch.Tensor:
    """``image`` (N, C, H, W) with ``hole`` (N, 1, H, W), 1 = hole, filled smoothly; known pixels are returned unchanged.

    Computed in float32 whatever autocast is active (a fill in bfloat16 bands visibly).
    """
    with torch.autocast(device_type=image.device.type, enabled=False):
        image, known = image.float(), 1 - hole.float()
        levels: list[tuple[torch.Tensor, torch.Tensor]] = []
        weighted, weight = image * known, known
        while min(weighted.shape[-2:]) > 1:
            levels.append((weighted, weight))
            weighted = F.avg_pool2d(weighted, 2, ceil_mode=True)
            weight = F.avg_pool2d(weight, 2, ceil_mode=True)
        fill = _known_mean(weighted, weight, image)
        for weighted, weight in reversed(levels):
            # weight is the fraction of known pixels under each cell: 1 pins the cell to their mean
            mean = _known_mean(weighted, weight, image)
            fill = F.interpolate(fill, size=weighted.shape[-2:], mode="bilinear", align_corners=False)
            for _ in range(sweeps):
                fill = weight * mean + (1 - weight) * _four_neighbour_mean(fill)
        return image * known + fill * (1 - known)


def _four_neighbour_mean(x: torch.Tensor) -> torch.Tensor:
    """One Jacobi sweep of the Laplace equation; sliced sums are ~40x faster than a depthwise conv on a CPU."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return 0.25 * (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:])


def _known_mean(weighted: torch.Tensor, weight: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Mean of the known pixels under each cell; cells with none get the image's known mean (then grey)."""
    mean = weighted / weight.clamp_min(1e-6)
    total = weight.sum(dim=(2, 3), keepdim=True)
    fallback = torch.where(total > 0, weighted.sum(dim=(2, 3), keepdim=True) / total.clamp_min(1e-6),
                           torch.full_like(total, 0.5))
    return torch.where(weight > 0, mean, fallback)
