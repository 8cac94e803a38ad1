"""The one model registry: the CLI, the app, training and the rating module all read it.

Each entry says what a model needs, its resolution, whether its weights are present, and how to
build it. A neural model without weights is listed with the reason and refused at load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from inference.checkpoints import CARD_FILE, WEIGHTS_FILE, read_card
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
    name: str
    display_name: str
    needs: frozenset[str]
    resolution: int
    neural: bool
    description: str
    builder: Callable[["ModelSpec", torch.device], "InpaintModel"] = field(compare=False, repr=False)

    def weights_folders(self) -> list[Path]:
        """Where this model's weights may be, user folder first."""
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


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"A model named {spec.name!r} is already registered.")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_models_imported() -> None:
    # Importing the model modules registers them (torchvision's pattern).
    import inference.models.classical  # noqa: F401
    import inference.models.landmark_guided  # noqa: F401


def list_models() -> list[ModelSpec]:
    _ensure_models_imported()
    return list(_REGISTRY.values())


def get_spec(name: str) -> ModelSpec:
    _ensure_models_imported()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownModelError(f"No model named '{name}'. Known models: {known}.") from None


def load_model(name: str, device: torch.device | str | None = None) -> "InpaintModel":
    """Build a ready-to-predict model; raises ``WeightsMissingError`` rather than run random weights."""
    spec = get_spec(name)
    status = spec.weights_status()
    if not status.available:
        raise WeightsMissingError(f"{spec.display_name} cannot run: {status.reason}")
    resolved = device if isinstance(device, torch.device) else select_device(device)
    return spec.builder(spec, resolved)
