"""The one model registry: which models exist, what each needs, and how to build one.

Each entry says what a model needs, whether its weights are present, and how to build it; a
neural model's resolution, coarse fill, input convention and mask polarity come from its model
card (``ModelSpec.with_card``), not from code. A neural model without weights is listed with the
reason and refused at load.

This module imports no model module: the package ``inference.models`` imports them, and each
registers itself here (torchvision's pattern), so importing ``inference.models.registry`` always
finds every model registered. Callers that run models go through
``inference.models.manager.ModelManager``, which caches what ``load_model`` builds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from inference.checkpoints import (
    CARD_FILE,
    DEFAULT_RESOLUTION,
    MASK_POLARITY,
    NETWORK_INPUTS,
    WEIGHTS_FILE,
    card_preprocessing,
    read_card,
)
from inference.devices import select_device
from inference.errors import CheckpointError, UnknownModelError, WeightsMissingError
from inference.paths import shipped_weights_dir, user_weights_dir

if TYPE_CHECKING:
    from inference.models.base import InpaintModel


@dataclass(frozen=True)
class WeightsStatus:
    available: bool
    reason: str
    folder: Path | None = None
    sha256: str | None = None
    card: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and needs. Registered with defaults; ``with_card`` fills in what its card says."""

    name: str
    display_name: str
    needs: frozenset[str]
    neural: bool
    description: str
    builder: Callable[["ModelSpec", torch.device], "InpaintModel"] = field(compare=False, repr=False)
    resolution: int = DEFAULT_RESOLUTION
    coarse_fill: str = "none"
    input_convention: str = NETWORK_INPUTS["none"]
    mask_polarity: str = MASK_POLARITY
    weights_sha256: str | None = None
    weights_dir: Path | None = None
    """A folder to take the weights from instead of the user and shipped ones (an exported run under evaluation)."""

    def weights_folders(self) -> list[Path]:
        """Where this model's weights may be, user folder first."""
        if self.weights_dir is not None:
            return [Path(self.weights_dir)]
        return [user_weights_dir() / self.name, shipped_weights_dir() / self.name]

    def weights_status(self) -> WeightsStatus:
        if not self.neural:
            return WeightsStatus(True, "No learned weights needed.")
        for folder in self.weights_folders():
            if (folder / WEIGHTS_FILE).is_file() and (folder / CARD_FILE).is_file():
                try:
                    card = read_card(folder)
                except CheckpointError as exc:
                    return WeightsStatus(False, str(exc), folder)
                return WeightsStatus(True, f"Trained weights in {folder}.", folder, card.get("weights_sha256"), card)
        return WeightsStatus(False, f"No trained weights: put {WEIGHTS_FILE} and {CARD_FILE} in "
                                    f"{self.weights_folders()[0]}.")

    def with_card(self, card: dict[str, Any]) -> "ModelSpec":
        """This spec as the model card describes the weights (raises ``CheckpointError`` if it contradicts itself)."""
        pre = card_preprocessing(card)
        return replace(self, resolution=pre["resolution"], coarse_fill=str(pre["coarse_fill"]),
                       input_convention=str(pre.get("network_input", self.input_convention)), mask_polarity=str(pre["mask_polarity"]),
                       weights_sha256=card.get("weights_sha256"))

    def resolved(self) -> "ModelSpec":
        """The spec with its present weights' card applied (unchanged when there are none).

        A card that contradicts itself leaves the spec as registered; loading then refuses it
        with the card's ``CheckpointError``.
        """
        status = self.weights_status()
        if not status.available or status.card is None:
            return self
        try:
            return self.with_card(status.card)
        except CheckpointError:
            return self


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"A model named {spec.name!r} is already registered.")
    _REGISTRY[spec.name] = spec
    return spec


def registered(name: str) -> ModelSpec:
    """The spec as registered (no card read)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownModelError(f"No model named '{name}'. Known models: {known}.") from None


def list_models() -> list[ModelSpec]:
    """Every registered model, each as its weights' card describes it."""
    return [spec.resolved() for spec in _REGISTRY.values()]


def get_spec(name: str) -> ModelSpec:
    """One model as its weights' card describes it; ``UnknownModelError`` lists the known names."""
    return registered(name).resolved()


def load_model(name: str, device: torch.device | str | None = None,
               weights_dir: Path | None = None) -> "InpaintModel":
    """Build a fresh ready-to-predict model (no caching: ``ModelManager.load`` caches this).

    Raises ``WeightsMissingError`` rather than run random weights.
    """
    spec = registered(name)
    if weights_dir is not None:
        spec = replace(spec, weights_dir=Path(weights_dir))
    status = spec.weights_status()
    if not status.available:
        raise WeightsMissingError(f"{spec.display_name} cannot run: {status.reason}")
    resolved = device if isinstance(device, torch.device) else select_device(device)
    return spec.builder(spec, resolved)
