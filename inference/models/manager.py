"""The one model manager: lists the models, loads them, keeps them loaded, switches and unloads.

Every caller that runs a model (the app's Run and steering, study generation, the CLI, the
evaluation) asks a manager, so weights are read and checked against their card once per
(model, device, weights folder) and not once per call site. A cached model is built again when
its weights change on disk (the card's sha256 differs). Thread-safe: the app's run and the
study generation may ask from different threads. (IOPaint's ``model_manager.py`` is the model.)
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from inference.devices import select_device
from inference.models.registry import ModelSpec, list_models, load_model, registered

if TYPE_CHECKING:
    from inference.models.base import InpaintModel

CacheKey = tuple[str, str, str | None]
"""(model name, device, weights folder or None for the user/shipped ones)."""


class ModelManager:
    """Loaded models by (name, device, weights folder); ``switch`` keeps only one loaded."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._models: dict[CacheKey, InpaintModel] = {}
        self._current: CacheKey | None = None

    # ------------------------------------------------------------ specs

    def specs(self) -> list[ModelSpec]:
        """Every registered model as its card describes it (resolution, coarse fill, weights status)."""
        return list_models()

    def spec(self, name: str, weights: Path | None = None) -> ModelSpec:
        """One model as its card describes it; ``UnknownModelError`` names the known ones."""
        spec = registered(name)
        if weights is not None:
            spec = replace(spec, weights_dir=Path(weights))
        return spec.resolved()

    # ------------------------------------------------------------ loading

    def load(self, name: str, device: torch.device | str | None = None,
             weights: Path | None = None) -> "InpaintModel":
        """The model ready to predict on ``device`` (None: the best available), loaded once and kept.

        ``weights``: a checkpoint folder to use instead of the user's and the shipped weights.
        Raises ``WeightsMissingError`` / ``CheckpointError`` rather than run random or mismatched weights.
        """
        resolved = device if isinstance(device, torch.device) else select_device(device)
        key: CacheKey = (name, str(resolved), None if weights is None else str(Path(weights).resolve()))
        with self._lock:
            model = self._models.get(key)
            if model is not None and model.spec.weights_sha256 == self.spec(name, weights).weights_sha256:
                return model
            self._models.pop(key, None)
            model = load_model(name, resolved, weights)
            self._models[key] = model
            return model

    def switch(self, name: str, device: torch.device | str | None = None,
               weights: Path | None = None) -> "InpaintModel":
        """Load ``name`` and make it the current model, unloading every other one (one model in memory)."""
        with self._lock:
            model = self.load(name, device, weights)
            keep = next(k for k, m in self._models.items() if m is model)
            for key in [k for k in self._models if k != keep]:
                self._drop(key)
            self._current = keep
            return model

    @property
    def current(self) -> "InpaintModel | None":
        """The model of the last ``switch``, while it is loaded."""
        with self._lock:
            return None if self._current is None else self._models.get(self._current)

    def loaded(self) -> list[CacheKey]:
        with self._lock:
            return list(self._models)

    def unload(self, name: str | None = None, device: torch.device | str | None = None) -> int:
        """Forget loaded models (all, one name, or one name on one device); returns how many."""
        with self._lock:
            wanted_device = None if device is None else str(
                device if isinstance(device, torch.device) else select_device(device))
            keys = [k for k in self._models
                    if (name is None or k[0] == name) and (wanted_device is None or k[1] == wanted_device)]
            for key in keys:
                self._drop(key)
            return len(keys)

    def _drop(self, key: CacheKey) -> None:
        model = self._models.pop(key)
        if self._current == key:
            self._current = None
        if model.device.type == "cuda":
            del model
            torch.cuda.empty_cache()


_default: ModelManager | None = None
_default_lock = threading.Lock()


def default_manager() -> ModelManager:
    """The process's shared manager (the app's Run, steering and study generation share loaded models)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModelManager()
        return _default
