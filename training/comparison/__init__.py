"""The thesis's comparison networks (EdgeConnect, LaFIn, CTSDG): their training steps and losses.

``build(name, width)`` returns ``(network, step)``: the network as inference loads it
(``forward(image, hole) -> (rgb, landmarks or None)``, images in [0, 1], hole 1 = missing) and a
``ComparisonStep`` owning its discriminators and optimisers (``step(batch) -> dict of floats``).
The networks live in ``inference.models`` (``edgeconnect``, ``lafin``, ``ctsdg``); this package
only trains them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from inference.models.ctsdg import CTSDG
from inference.models.edgeconnect import EdgeConnect
from inference.models.lafin import LaFIn
from training.comparison.common import ComparisonStep
from training.comparison.ctsdg import CTSDGStep, CTSDGWeights
from training.comparison.edgeconnect import EdgeConnectStep, EdgeConnectWeights
from training.comparison.lafin import LaFInStep, LaFInWeights
from training.errors import ConfigError
from training.vgg import VGG16Features

# name -> (network class, step class); the class names are what a model card's architecture records
NETWORKS: dict[str, tuple[type[nn.Module], type[ComparisonStep]]] = {
    "edgeconnect": (EdgeConnect, EdgeConnectStep),
    "lafin": (LaFIn, LaFInStep),
    "ctsdg": (CTSDG, CTSDGStep),
}

__all__ = ["NETWORKS", "build", "ComparisonStep", "EdgeConnectStep", "EdgeConnectWeights", "LaFInStep",
           "LaFInWeights", "CTSDGStep", "CTSDGWeights"]


def build(name: str, width: float = 1.0, *, network_kwargs: dict[str, Any] | None = None,
          vgg: VGG16Features | None = None, device: torch.device | None = None,
          **step_kwargs: Any) -> tuple[nn.Module, ComparisonStep]:
    """(network, training step) for ``name`` in ``NETWORKS``.

    ``network_kwargs`` go to the network (``blocks``, ``depth``, ``landmark_sigma``, ``sigma``);
    ``step_kwargs`` to the step (``weights``, ``lr``, ``d_lr_ratio``, ``betas``, ``gan``, and
    ``phase`` for EdgeConnect or ``guide`` for LaFIn).
    """
    if name not in NETWORKS:
        raise ConfigError(f"Unknown comparison network {name!r}: use one of {', '.join(NETWORKS)}.")
    network_cls, step_cls = NETWORKS[name]
    network = network_cls(width=width, **(network_kwargs or {}))
    if device is not None:
        network = network.to(device)
    return network, step_cls(network, vgg=vgg, device=device, **step_kwargs)
