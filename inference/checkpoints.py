"""The one checkpoint format: ``model.safetensors`` plus a JSON model card beside it.

The card is the weights' metadata (architecture and its keyword arguments, preprocessing and mask
polarity, training data and terms, evaluation figures, sha256 of the weights, code version).
Loading checks the hash and never unpickles anything.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from inference.atomic import atomic_write_bytes
from inference.errors import CheckpointError, WeightsMissingError
from inference.hashing import sha256_of

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "model_card.json"

#: What every neural model of this project expects; written into each card and checked at load.
PREPROCESSING = {
    "resolution": 256,
    "channel_order": "RGB",
    "range": [0.0, 1.0],
    "mask_polarity": "1 = hole (to be inpainted), 0 = known",
    "network_input": "cat([image * (1 - hole), hole]) NCHW",
    "face_crop": "inference.face.crop.crop_from_landmarks",
}


def code_version() -> str:
    """The git commit of the code that wrote the checkpoint, or the package version."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        if out.returncode == 0:
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cleftlip-inpaint")
    except PackageNotFoundError:
        return "unknown"


def save_checkpoint(model: torch.nn.Module, folder: Path, card: dict[str, Any]) -> Path:
    """Write the weights and the card (with their sha256 and the code version) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights = folder / WEIGHTS_FILE
    atomic_write_bytes(weights, save(state, metadata={"format": "pt"}), error=CheckpointError)
    full_card = {**card, "preprocessing": {**PREPROCESSING, **card.get("preprocessing", {})},
                 "weights_sha256": sha256_of(weights), "code_version": card.get("code_version") or code_version()}
    text = json.dumps(full_card, indent=2, sort_keys=False)
    atomic_write_bytes(folder / CARD_FILE, (text + "\n").encode("utf-8"), error=CheckpointError)
    return folder


def read_card(folder: Path) -> dict[str, Any]:
    card_path = Path(folder) / CARD_FILE
    if not card_path.is_file():
        raise WeightsMissingError(f"No model card at {card_path}.")
    try:
        return json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"The model card {card_path} cannot be read: {exc}") from exc


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights (on CPU) and card; raises if the weights are missing, altered or not safetensors."""
    folder = Path(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise WeightsMissingError(f"No trained weights at {weights}.")
    card = read_card(folder)
    actual = sha256_of(weights)
    if card.get("weights_sha256") != actual:
        raise CheckpointError(
            f"The weights in {folder} do not match their model card (sha256 {actual[:12]}... expected "
            f"{str(card.get('weights_sha256'))[:12]}...). The file may be corrupt or replaced.")
    try:
        state = load_file(str(weights), device="cpu")
    except Exception as exc:  # safetensors raises its own error types for a damaged header
        raise CheckpointError(f"The weights file {weights} is damaged: {exc}") from exc
    return state, card
