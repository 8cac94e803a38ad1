"""The thesis's comparison networks (EdgeConnect, LaFIn, CTSDG): their training steps and losses.

``build(name, width)`` returns ``(network, step)``: the network as inference loads it
(``forward(image, hole) -> (rgb, landmarks or None)``, images in [0, 1], hole 1 = missing) and a
``ComparisonStep`` owning its discriminators and optimisers (``step(batch) -> dict of floats``).
The networks live in ``inference.models`` (``edgeconnect``, ``lafin``, ``ctsdg``); this package
only trains them.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, fields, replace
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from training.config import Config

# name -> (network class, step class); the class names are what a model card's architecture records
NETWORKS: dict[str, tuple[type[nn.Module], type[ComparisonStep]]] = {
    "edgeconnect": (EdgeConnect, EdgeConnectStep),
    "lafin": (LaFIn, LaFInStep),
    "ctsdg": (CTSDG, CTSDGStep),
}

#: name -> the loss weights of its paper (``[comparison] weights`` overrides them by field name)
WEIGHTS = {"edgeconnect": EdgeConnectWeights, "lafin": LaFInWeights, "ctsdg": CTSDGWeights}

__all__ = ["NETWORKS", "WEIGHTS", "build", "build_from_config", "loss_weights", "paper_settings", "training_settings",
           "ComparisonStep", "EdgeConnectStep", "EdgeConnectWeights", "LaFInStep",
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


def _network_arguments(name: str) -> set[str]:
    params = inspect.signature(NETWORKS[name][0].__init__).parameters
    return {k for k in params if k not in ("self", "width")}


def paper_settings(name: str) -> dict[str, Any]:
    """The step's defaults (its paper's): learning rate, discriminator ratio, betas, adversarial loss."""
    params = inspect.signature(NETWORKS[name][1].__init__).parameters
    return {k: params[k].default for k in ("lr", "d_lr_ratio", "betas", "gan")}


def loss_weights(config: "Config") -> Any:
    """The paper's loss weights of ``config.architecture`` with ``[comparison] weights`` applied."""
    cls = WEIGHTS[config.architecture]
    given = dict(config.comparison.weights)
    unknown = set(given) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"[comparison] weights: {', '.join(sorted(unknown))} not among {config.architecture}'s "
                          f"loss weights ({', '.join(f.name for f in fields(cls))}).")
    return replace(cls(), **given)


def training_settings(config: "Config") -> dict[str, Any]:
    """What the step is built with, as the model card records it (loss weights, optimiser, phase or guide)."""
    c, name = config.comparison, config.architecture
    settings: dict[str, Any] = {**paper_settings(name), "d_lr_ratio": c.d_lr_ratio, "betas": list(c.betas),
                                "gan": c.gan, "loss_weights": asdict(loss_weights(config))}
    if c.lr is not None:
        settings["lr"] = c.lr
    if name == "edgeconnect":
        settings["phase"] = c.phase
    if name == "lafin":
        settings["guide"] = c.guide
    return settings


def build_from_config(config: "Config", vgg: VGG16Features | None = None,
                      device: torch.device | None = None) -> tuple[nn.Module, ComparisonStep]:
    """(network, training step) for a config with ``architecture`` in ``NETWORKS`` and its ``[comparison]`` section."""
    name, c = config.architecture, config.comparison
    if name not in NETWORKS:
        raise ConfigError(f"architecture = {name!r} is not a comparison network ({', '.join(NETWORKS)}).")
    unknown = set(c.network) - _network_arguments(name)
    if unknown:
        raise ConfigError(f"[comparison] network: {', '.join(sorted(unknown))} not among {name}'s arguments "
                          f"({', '.join(sorted(_network_arguments(name)))}).")
    kwargs: dict[str, Any] = {"weights": loss_weights(config), "d_lr_ratio": c.d_lr_ratio, "betas": tuple(c.betas),
                              "gan": c.gan}
    if c.lr is not None:
        kwargs["lr"] = c.lr
    if name == "edgeconnect":
        kwargs["phase"] = c.phase
    if name == "lafin":
        kwargs["guide"] = c.guide
    return build(name, config.width, network_kwargs=dict(c.network), vgg=vgg, device=device, **kwargs)
