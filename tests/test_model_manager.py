"""The one model manager: specs from the model card, checked at load; cache, switch, unload; no import circle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.checkpoints import CARD_FILE, save_checkpoint
from inference.errors import CheckpointError
from inference.models import registry
from inference.models.manager import ModelManager
from inference.models.nclg_mt import NCLGMTGenerator

ROOT = Path(__file__).resolve().parents[1]
CARD = {"name": "nclg-mt-lite", "architecture": {"class": "NCLGMTGenerator",
                                                 "kwargs": {"width": 0.25, "coarse_fill": "harmonic"}},
        "training": {"data": "test"}, "evaluation": {}}


def _save(home: Path, card: dict) -> Path:
    folder = home / "user" / "nclg-mt-lite"
    save_checkpoint(NCLGMTGenerator(width=0.25, coarse_fill="harmonic"), folder, card)  # random weights each time
    return folder


def _edit_card(folder: Path, change) -> None:  # noqa: ANN001
    card = json.loads((folder / CARD_FILE).read_text())
    change(card)
    (folder / CARD_FILE).write_text(json.dumps(card))


def test_the_spec_is_what_the_card_says(weights_home) -> None:
    folder = _save(weights_home, {**CARD, "resolution": 320})
    manager = ModelManager()
    spec = manager.spec("nclg-mt-lite")
    card = json.loads((folder / CARD_FILE).read_text())
    assert card["preprocessing"]["coarse_fill"] == "harmonic"  # written from the architecture
    assert card["preprocessing"]["network_input"].startswith("cat([harmonic_fill(image, hole), hole])")
    assert (spec.resolution, spec.coarse_fill) == (320, "harmonic")
    assert spec.input_convention == card["preprocessing"]["network_input"]
    assert spec.mask_polarity.startswith("1 = hole") and spec.weights_sha256 == card["weights_sha256"]
    assert [s for s in manager.specs() if s.name == "nclg-mt-lite"] == [spec]
    model = manager.load("nclg-mt-lite", "cpu")
    assert model.spec.resolution == 320  # not the 256 the code used to hard-code
    images = np.full((1, 320, 320, 3), 120, np.uint8)
    holes = np.zeros((1, 320, 320), bool)
    holes[0, 190:240, 120:200] = True
    (pred,) = model.predict_batch(images, holes)
    assert pred.image.shape == (320, 320, 3)


@pytest.mark.parametrize("change, message", [
    (lambda c: c["preprocessing"].update(coarse_fill="none"), "coarse fill"),
    (lambda c: c["preprocessing"].update(network_input="cat([image * (1 - hole), hole]) NCHW"), "network input"),
    (lambda c: c["preprocessing"].update(mask_polarity="0 = hole (to be inpainted), 1 = known"), "mask polarity"),
    (lambda c: c.update(resolution=512), "resolution"),
])
def test_a_card_that_disagrees_with_its_network_is_refused_at_load(weights_home, change, message) -> None:
    folder = _save(weights_home, CARD)
    _edit_card(folder, change)
    with pytest.raises(CheckpointError, match=message):
        ModelManager().load("nclg-mt-lite", "cpu")
    assert ModelManager().spec("nclg-mt-lite").name == "nclg-mt-lite"  # listing the models still works


def test_models_are_cached_switched_unloaded_and_reloaded_when_the_weights_change(weights_home) -> None:
    manager = ModelManager()
    telea = manager.load("opencv-telea", "cpu")
    assert manager.load("opencv-telea", torch.device("cpu")) is telea
    assert manager.loaded() == [("opencv-telea", "cpu", None)]
    _save(weights_home, CARD)
    lite = manager.load("nclg-mt-lite", "cpu")
    assert manager.load("nclg-mt-lite", "cpu") is lite and len(manager.loaded()) == 2
    _save(weights_home, CARD)  # new weights on disk: a new sha256 in the card
    assert manager.load("nclg-mt-lite", "cpu") is not lite
    assert manager.switch("opencv-ns", "cpu") is manager.current
    assert manager.loaded() == [("opencv-ns", "cpu", None)]
    assert manager.unload("opencv-ns") == 1 and manager.loaded() == [] and manager.current is None


def test_an_exported_folder_is_loaded_by_the_manager_too(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    save_checkpoint(NCLGMTGenerator(width=0.25, coarse_fill="harmonic"), folder, CARD)
    manager = ModelManager()
    model = manager.load("nclg-mt-lite", "cpu", weights=folder)
    assert model.spec.weights_dir == folder and model.spec.coarse_fill == "harmonic"
    assert manager.load("nclg-mt-lite", "cpu", weights=folder) is model


def test_the_registry_imports_no_model_module_and_still_lists_every_model() -> None:
    tree = ast.parse((ROOT / "inference" / "models" / "registry.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    models = {"inference.models.classical", "inference.models.landmark_guided", "inference.models.nclg_mt",
              "inference.models.manager"}
    assert not imported & models
    code = "import inference.models.registry as r; print(' '.join(sorted(r._REGISTRY)))"
    names = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                           check=True).stdout.split()
    assert {"opencv-telea", "opencv-ns", "harmonic-fill", "nclg-mt", "nclg-mt-lite"} <= set(names)
