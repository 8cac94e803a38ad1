"""Registry entries for the landmark-guided multi-task network and its trained variants."""

from __future__ import annotations

from pathlib import Path

import torch

from inference.checkpoints import load_checkpoint
from inference.errors import CheckpointError, WeightsMissingError
from inference.models.base import TorchInpaintModel
from inference.models.nclg_mt import NCLGMTGenerator
from inference.models.registry import ModelSpec, register_model

ARCHITECTURES = {"NCLGMTGenerator": NCLGMTGenerator}


def build_network_from_card(card: dict) -> torch.nn.Module:
    arch = card.get("architecture", {})
    cls = ARCHITECTURES.get(arch.get("class"))
    if cls is None:
        raise CheckpointError(f"The model card names an unknown architecture {arch.get('class')!r}.")
    return cls(**arch.get("kwargs", {}))


def model_from_folder(spec: ModelSpec, folder: Path, device: torch.device) -> TorchInpaintModel:
    """The network in a checkpoint folder, run as ``spec`` (shipped weights, or an exported run under evaluation)."""
    state, card = load_checkpoint(folder)
    network = build_network_from_card(card)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"The weights in {folder} do not fit the architecture in the card: {exc}") from exc
    return TorchInpaintModel(spec, device, network)


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
                                     "the mean open-data mouth and nose warped to its landmarks, trained on open "
                                     "adult and child faces"),
    ("nclg-mt-lite-infant", "NCLG-MT lite, infant fine-tune",
     "the lite network fine-tuned on open infant faces (UTKFace, age 0-3), with an infant mouth template"),
]:
    register_model(ModelSpec(name=_name, display_name=_display, needs=_NEEDS, resolution=256, neural=True,
                             description=f"{_PAPER}: {_what}.", builder=_build))
