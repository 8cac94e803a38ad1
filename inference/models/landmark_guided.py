"""Registry entries for the landmark-guided multi-task network and its trained variants.

Their resolution, coarse fill and input convention are what each model card says; the card is
checked against the network built from it before the weights are used.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from inference.checkpoints import check_card, load_checkpoint
from inference.errors import CheckpointError, WeightsMissingError
from inference.models.base import TorchInpaintModel
from inference.models.nclg_mt import NCLGMTGenerator
from inference.models.registry import ModelSpec, register_model

ARCHITECTURES = {"NCLGMTGenerator": NCLGMTGenerator}


def build_network_from_card(card: dict, architectures: Mapping[str, type[torch.nn.Module]] = ARCHITECTURES
                            ) -> torch.nn.Module:
    """The network the card's architecture names, built from its kwargs, if it is one of ``architectures``."""
    arch = card.get("architecture", {})
    cls = architectures.get(arch.get("class"))
    if cls is None:
        if architectures is ARCHITECTURES:
            raise CheckpointError(f"The model card names an unknown architecture {arch.get('class')!r}.")
        raise CheckpointError(f"The model card names the architecture {arch.get('class')!r}, but this model is a "
                              f"{' or '.join(architectures)} network; the weights belong to another model.")
    try:
        return cls(**arch.get("kwargs", {}))
    except TypeError as exc:
        raise CheckpointError(f"The model card's arguments for {cls.__name__} are not its own: {exc}") from exc


def model_from_folder(spec: ModelSpec, folder: Path, device: torch.device,
                      architectures: Mapping[str, type[torch.nn.Module]] = ARCHITECTURES) -> TorchInpaintModel:
    """The network in a checkpoint folder, run as ``spec`` as its card describes it.

    Shipped weights, or an exported run under evaluation. A card that names an architecture not in
    ``architectures``, or disagrees with its network (coarse fill, input, mask polarity) or with
    itself, is a ``CheckpointError``.
    """
    state, card = load_checkpoint(folder)
    network = build_network_from_card(card, architectures)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"The weights in {folder} do not fit the architecture in the card: {exc}") from exc
    check_card(card, network)
    return TorchInpaintModel(spec.with_card(card), device, network)


def _build(spec: ModelSpec, device: torch.device) -> TorchInpaintModel:
    status = spec.weights_status()
    if not status.available or status.folder is None:
        raise WeightsMissingError(f"{spec.display_name} cannot run: {status.reason}")
    return model_from_folder(spec, status.folder, device)


_NEEDS = frozenset({"image", "mask"})
_PAPER = "Landmark-guided multi-task inpainting (Chen et al., IEEE BHI 2022; INCLG 2023)"

for _name, _display, _what in [
    ("nclg-mt", "NCLG-MT (full size)", "full-width network (11.8 M parameters), as in the paper"),
    ("nclg-mt-lite", "NCLG-MT lite", "quarter-width network (0.84 M parameters) with heat-map landmarks that refines "
                                     "the mean open-data mouth and nose warped to its landmarks (at the contrast "
                                     "gain its card sets), trained on open adult and child faces"),
    ("nclg-mt-lite-infant", "NCLG-MT lite, infant fine-tune",
     "the lite network fine-tuned on open infant faces (UTKFace, age 0-3), with an infant mouth template"),
]:
    register_model(ModelSpec(name=_name, display_name=_display, needs=_NEEDS, neural=True,
                             description=f"{_PAPER}: {_what}.", builder=_build))
