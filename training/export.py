"""Export a run's generator as ``model.safetensors`` + model card through ``inference.checkpoints``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inference.checkpoints import save_checkpoint
from inference.models.nclg_mt import NCLGMTGenerator
from inference.paths import shipped_weights_dir
from training.config import generator_kwargs, resolve
from training.errors import TrainingError

INTENDED_USE = ("Research use: proposing a plausible non-cleft upper lip and nose inside a clinician-painted mask "
                "on a face photo, for consultation and blinded rating studies. Not a diagnostic device. Trained on "
                "open face data of adults and children without cleft lip; never trained on patient photos.")
#: What the encoder receives, per coarse stage (the card's preprocessing block says it).
NETWORK_INPUT = {
    "none": "cat([image * (1 - hole), hole]) NCHW (the paper's zero-filled hole)",
    "harmonic": "cat([harmonic_fill(image, hole), hole]) NCHW; output = sigmoid(logit(fill) + correction)",
    "lip_prior": "cat([harmonic_fill(image, hole), hole]) NCHW; output = sigmoid(logit(fill) + "
                 "fade(hole) * template warped to the landmarks + correction)",
}
TERMS = "Non-commercial research only (inherited from UTKFace, CelebA and the NVIDIA irregular masks, CC BY-NC-SA 4.0)."


def _run_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    if not path.is_file():
        raise TrainingError(f"{run_dir} is not a training run (no config.json).")
    return json.loads(path.read_text())


def build_card(run_dir: Path, name: str, step: int, evaluation: dict[str, Any] | None,
               history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    config = _run_config(run_dir)
    from training.data.cache import cache_info

    cache = cache_info(resolve(config["data"]["cache"]))
    masks_manifest = json.loads((Path(__file__).parent / "manifests" / "masks-nvidia-test-256.json").read_text())
    return {
        "name": name,
        "architecture": {"class": "NCLGMTGenerator", "module": "inference.models.nclg_mt",
                         "kwargs": generator_kwargs(config)},
        "resolution": 256,
        "preprocessing": {"network_input": NETWORK_INPUT[generator_kwargs(config)["coarse_fill"]]},
        "intended_use": INTENDED_USE,
        "terms": TERMS,
        "training": {
            "data": {**cache["manifest"], "faces_cached": cache.get("cached"), "photos_dropped_no_face": cache.get("dropped"),
                     "landmarks": cache.get("landmarks"), "split_seed": cache.get("seed"),
                     "subset": {True: "infants only (age 0-3, train split)", False: "no infants",
                                None: "all ages (train split)"}[config["data"]["infant"]]},
            "masks": {"mix": config["masks"]["mix"], "nvidia": {k: masks_manifest[k] for k in ("dataset", "terms")},
                      "nvidia_eval_masks_held_out": True},
            "loss_weights": config["loss"],
            "vgg_weights": bool(config.get("vgg_weights")),
            "perceptual_substitute": None if config.get("vgg_weights") else "discriminator feature matching",
            "optimiser": config["optim"],
            "batch_size": config["train"]["batch_size"],
            "steps": step,
            "history": history or [],
            "seed": config["seed"],
            "config": config,
        },
        "evaluation": evaluation or {},
    }


def _read_history(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def _lineage(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs this one started from (``train.init_from``), nearest first, with their steps and schedules,
    so a card tells the whole training of weights that were fine-tuned in stages."""
    from training.loop import load_state

    chain: list[dict[str, Any]] = []
    source = config["train"].get("init_from", "")
    while source and len(chain) < 10:
        folder = resolve(source)
        run_dir = folder if folder.is_dir() else folder.parent
        state_file = folder / "state.pt" if folder.is_dir() else folder
        entry: dict[str, Any] = {"run": source}
        if state_file.is_file():
            entry["steps"] = int(load_state(state_file)["step"])
        entry["history"] = _read_history(run_dir)
        chain.append(entry)
        parent = run_dir / "config.json"
        source = json.loads(parent.read_text())["train"].get("init_from", "") if parent.is_file() else ""
    return chain


def export_run(run_dir: Path, out: Path | None = None, name: str | None = None, evaluation: Path | None = None,
               weights: str = "latest", history: list[dict[str, Any]] | None = None) -> Path:
    """Write the run's generator (latest state or best validation) and its card; returns the folder."""
    import torch
    from safetensors.torch import load_file

    from training.loop import load_state

    run_dir = Path(run_dir)
    config = _run_config(run_dir)
    name = name or config["name"]
    state = load_state(run_dir / "state.pt")
    if weights == "best":
        g_state = load_file(str(run_dir / "best_g.safetensors"))
    elif weights == "latest":
        g_state = state.get("g_ema", state["g"])  # the averaged weights when the run kept them
    else:
        g_state = state["g"]
    model = NCLGMTGenerator(**generator_kwargs(config))
    model.load_state_dict(g_state, strict=True)
    eval_data = json.loads(evaluation.read_text()) if evaluation else None
    if eval_data is not None and (evaluation.parent / "evaluation.md").is_file():
        eval_data["table_markdown"] = (evaluation.parent / "evaluation.md").read_text()
    if history is None:
        history = _read_history(run_dir)
    card = build_card(run_dir, name, int(state["step"]), eval_data, history)
    card["training"]["exported_weights"] = weights
    card["training"]["initialised_from"] = _lineage(config)
    with torch.no_grad():
        return save_checkpoint(model, out or shipped_weights_dir() / name, card)
