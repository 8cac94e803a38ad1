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

#: The one mask polarity the models are fed (``InpaintModel`` zeroes / fills where the hole is 1).
MASK_POLARITY = "1 = hole (to be inpainted), 0 = known"

#: What our network's encoder receives, per coarse stage (``NCLGMTGenerator(coarse_fill=...)``); each card says it.
NETWORK_INPUTS = {
    "none": "cat([image * (1 - hole), hole]) NCHW (the paper's zero-filled hole)",
    "harmonic": "cat([harmonic_fill(image, hole), hole]) NCHW; output = sigmoid(logit(fill) + correction)",
    "lip_prior": "cat([harmonic_fill(image, hole), hole]) NCHW; output = sigmoid(logit(fill) + "
                 "prior_gain * fade(hole) * template warped to the landmarks + correction)",
}
#: The part of ``network_input`` that names the encoder's input; a card must start with the one of its network.
_ENCODER_INPUTS = {"none": "cat([image * (1 - hole), hole])",
                   "harmonic": "cat([harmonic_fill(image, hole), hole])",
                   "lip_prior": "cat([harmonic_fill(image, hole), hole])"}

#: What every other architecture is called with, by class name: the class's ``network_input`` attribute,
#: registered by the module that registers its models (``register_network_input``). The expected input of a card
#: is keyed on its architecture; a class neither here nor ``NCLGMTGenerator`` is assumed to take nothing in particular.
ARCHITECTURE_INPUTS: dict[str, str] = {}
#: Our network's class name (its input depends on its coarse fill, ``NETWORK_INPUTS``).
NCLG_MT_CLASS = "NCLGMTGenerator"

DEFAULT_RESOLUTION = 256

#: What every neural model of this project expects; written into each card and checked at load.
PREPROCESSING = {
    "resolution": DEFAULT_RESOLUTION,
    "channel_order": "RGB",
    "range": [0.0, 1.0],
    "mask_polarity": MASK_POLARITY,
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
    full_card = {**card, "preprocessing": {**_derived_preprocessing(card), **card.get("preprocessing", {})},
                 "weights_sha256": sha256_of(weights), "code_version": card.get("code_version") or code_version()}
    text = json.dumps(full_card, indent=2, sort_keys=False)
    atomic_write_bytes(folder / CARD_FILE, (text + "\n").encode("utf-8"), error=CheckpointError)
    return folder


def register_network_input(cls: type) -> None:
    """Record what the architecture ``cls`` is fed (its ``network_input`` class attribute) for its cards."""
    text = getattr(cls, "network_input", None)
    if not isinstance(text, str) or not text:
        raise TypeError(f"{cls.__name__} has no network_input description.")
    ARCHITECTURE_INPUTS[cls.__name__] = text


def architecture_input(card: dict[str, Any]) -> str | None:
    """What the card's architecture is fed, from its class (and, for our network, its coarse fill); None if unknown."""
    arch = card.get("architecture") or {}
    if not isinstance(arch, dict):
        return None
    name = arch.get("class")
    if name in ARCHITECTURE_INPUTS:
        return ARCHITECTURE_INPUTS[name]
    if name in (None, NCLG_MT_CLASS):  # cards without a class predate the other architectures
        return NETWORK_INPUTS.get((arch.get("kwargs") or {}).get("coarse_fill", "none"))
    return None


def expected_network_input(network: torch.nn.Module) -> str | None:
    """What ``network`` is fed: its class's ``network_input``, else (our network) the input of its coarse fill."""
    declared = getattr(type(network), "network_input", None)
    if isinstance(declared, str):
        return declared
    return NETWORK_INPUTS.get(getattr(network, "coarse_fill", "none"))


def _derived_preprocessing(card: dict[str, Any]) -> dict[str, Any]:
    """The default block with what the card's architecture implies (coarse fill, network input, size)."""
    coarse = (card.get("architecture") or {}).get("kwargs", {}).get("coarse_fill", "none")
    derived = {**PREPROCESSING, "coarse_fill": coarse}
    network_input = architecture_input(card)
    if network_input is not None:
        derived["network_input"] = network_input
    else:  # an architecture this program does not know: its input is what its card says, nothing is assumed
        del derived["network_input"]
    if isinstance(card.get("resolution"), int):
        derived["resolution"] = card["resolution"]
    return derived


def card_preprocessing(card: dict[str, Any]) -> dict[str, Any]:
    """The card's preprocessing block, completed from its architecture; raises if the card contradicts itself.

    Older cards have no ``coarse_fill`` key in the block: it is read from the architecture's kwargs.
    """
    block = card.get("preprocessing") or {}
    if not isinstance(block, dict):
        raise CheckpointError("The model card's preprocessing block is not a mapping.")
    pre = {**_derived_preprocessing(card), **block}
    resolution = pre.get("resolution")
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 32:
        raise CheckpointError(f"The model card gives an unusable resolution {resolution!r}.")
    if isinstance(card.get("resolution"), int) and card["resolution"] != resolution:
        raise CheckpointError(f"The model card says resolution {card['resolution']} and, in its preprocessing, "
                              f"{resolution}.")
    return pre


def check_card(card: dict[str, Any], network: torch.nn.Module) -> None:
    """Refuse a card that disagrees with the network built from it or with what the code feeds it.

    The mask polarity must be the one ``InpaintModel`` feeds (1 = hole), and the coarse fill and
    network input the card states must be the ones of the network: the input is keyed on the
    architecture (a class's ``network_input`` attribute, compared whole, whitespace aside), and for
    our network on its coarse fill (``network.coarse_fill``; the card's input must start with the
    encoder input of that fill).
    """
    pre = card_preprocessing(card)
    polarity = str(pre.get("mask_polarity", ""))
    if polarity.replace(" ", "").split("(")[0] != MASK_POLARITY.replace(" ", "").split("(")[0]:
        raise CheckpointError(f"The model card says the mask polarity is {polarity!r}, but this program feeds "
                              f"{MASK_POLARITY!r}; the weights would fill the wrong pixels.")
    coarse = getattr(network, "coarse_fill", "none")
    if pre.get("coarse_fill") != coarse:
        raise CheckpointError(f"The model card says the coarse fill is {pre.get('coarse_fill')!r} but its network "
                              f"uses {coarse!r}.")
    declared = getattr(type(network), "network_input", None)
    if isinstance(declared, str):
        stated = str(pre.get("network_input", ""))
        if stated.split() != declared.split():
            raise CheckpointError(f"The model card describes the network input as {stated!r}, but a "
                                  f"{type(network).__name__} network is fed {declared!r}; the weights were trained "
                                  "for other inputs.")
        return
    expected = _ENCODER_INPUTS.get(coarse)
    if expected is not None and not str(pre.get("network_input", "")).startswith(expected):
        raise CheckpointError(f"The model card describes the network input as {pre.get('network_input')!r}, but a "
                              f"network with coarse fill {coarse!r} is fed {expected}.")


def read_card(folder: Path) -> dict[str, Any]:
    card_path = Path(folder) / CARD_FILE
    if not card_path.is_file():
        raise WeightsMissingError(f"No model card at {card_path}.")
    try:
        return json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"The model card {card_path} cannot be read: {exc}") from exc


def check_safetensors_header(weights: Path) -> None:
    """Refuse a weights file that is not safetensors before anything reads it as weights.

    A safetensors file starts with the little-endian byte length of a JSON header that follows
    it. A PyTorch pickle renamed ``model.safetensors`` (a zip starting ``PK`` or a bare pickle
    starting ``0x80``) fails this test, and is refused whatever its card says: unpickling can run
    any code.
    """
    size = weights.stat().st_size
    try:
        with weights.open("rb") as handle:
            head = handle.read(9)
    except OSError as exc:
        raise CheckpointError(f"The weights file {weights} cannot be read: {exc.strerror or exc}.") from exc
    length = int.from_bytes(head[:8], "little") if len(head) == 9 else -1
    if length < 2 or 8 + length > size or head[8:9] != b"{":
        if head[:2] == b"PK" or head[:1] == b"\x80":
            raise CheckpointError(f"The weights file {weights} is a PyTorch pickle, not a safetensors file; it is "
                                  "refused because loading a pickle can run arbitrary code. Export it as safetensors.")
        raise CheckpointError(f"The weights file {weights} is not a safetensors file (its header is missing or "
                              "damaged).")


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights (on CPU) and card; raises if the weights are missing, altered or not safetensors."""
    folder = Path(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise WeightsMissingError(f"No trained weights at {weights}.")
    card = read_card(folder)
    check_safetensors_header(weights)
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
