"""A discriminator as a plain stack of layers that also hands back every layer's activations.

The feature-matching loss (``training.losses.feature_matching``) compares the activations of the
real and the composited image layer by layer, so every discriminator it trains against exposes
``features(x)``; the logits are the last entry.
"""

from __future__ import annotations

import torch
from torch import nn


class LayerStack(nn.Module):
    """Subclasses set ``self.layers`` (an ``nn.ModuleList``) in ``__init__``; the last layer gives the logits."""

    layers: nn.ModuleList

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]
