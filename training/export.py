"""Export a run's generator as ``model.safetensors`` + model card through ``inference.checkpoints``.

A comparison network's run (``architecture`` EdgeConnect, LaFIn or CTSDG) is exported the same way: its
network (the EMA weights by default), with a card that records its architecture, width and network
input, its paper's losses and optimiser, the hardware it was trained on and the fairness statement of
the comparison protocol (docs/reports/comparison-networks.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inference.checkpoints import NETWORK_INPUTS, save_checkpoint
from inference.io.mask_codec import MASK_FILE_CONVENTION
from inference.models.nclg_mt import NCLGMTGenerator
from inference.paths import shipped_weights_dir
from training.config import NCLG_MT, comparison_network_kwargs, generator_kwargs, resolve
from training.errors import TrainingError

INTENDED_USE = ("Research use: proposing a plausible non-cleft upper lip and nose inside a clinician-painted mask "
                "on a face photo, for consultation and blinded rating studies. Not a diagnostic device. Trained on "
                "open face data of adults and children without cleft lip; never trained on patient photos.")
COMPARISON_USE = ("Research use: a contender in blinded comparisons and rating studies against the landmark-guided "
                  "multi-task network (NCLG-MT), reimplemented from its paper and trained under the same protocol. Not "
                  "a diagnostic device. Trained on open face data of adults and children without cleft lip; never "
                  "trained on patient photos.")
PAPERS = {
    "edgeconnect": "Nazeri K, Ng E, Joseph T, Qureshi F, Ebrahimi M. EdgeConnect: Structure Guided Image Inpainting "
                   "using Edge Prediction. ICCV Workshops 2019.",
    "lafin": "Yang Y, Guo X, Ma J, Ma L, Ling H. LaFIn: Generative Landmark Guided Face Inpainting. arXiv:2005.11773, "
             "2020.",
    "ctsdg": "Guo X, Yang H, Huang D. Image Inpainting via Conditional Texture and Structure Dual Generation. "
             "ICCV 2021.",
}
TERMS = "Non-commercial research only (inherited from UTKFace, CelebA and the NVIDIA irregular masks, CC BY-NC-SA 4.0)."


def _read_evaluation(evaluation: Path | None) -> dict[str, Any] | None:
    """An evaluation JSON for a card, with the markdown table written beside it when there is one."""
    if evaluation is None:
        return None
    data = json.loads(Path(evaluation).read_text())
    if (Path(evaluation).parent / "evaluation.md").is_file():
        data["table_markdown"] = (Path(evaluation).parent / "evaluation.md").read_text()
    return data


def _run_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    if not path.is_file():
        raise TrainingError(f"{run_dir} is not a training run (no config.json).")
    return json.loads(path.read_text())


def build_card(run_dir: Path, name: str, step: int, evaluation: dict[str, Any] | None,
               history: list[dict[str, Any]] | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The model card; ``config`` (default: the run's config.json) is what the exported network was built from."""
    config = config if config is not None else _run_config(run_dir)
    from training.data.cache import cache_info

    cache = cache_info(resolve(config["data"]["cache"]))
    masks_manifest = json.loads((Path(__file__).parent / "manifests" / "masks-nvidia-test-256.json").read_text())
    if config.get("architecture", NCLG_MT) != NCLG_MT:
        return _comparison_card(config, cache, masks_manifest, name, step, evaluation, history or [])
    return {
        "name": name,
        "architecture": {"class": "NCLGMTGenerator", "module": "inference.models.nclg_mt",
                         "kwargs": generator_kwargs(config)},
        "resolution": 256,
        "preprocessing": {"network_input": NETWORK_INPUTS[generator_kwargs(config)["coarse_fill"]],
                          "mask_file": MASK_FILE_CONVENTION},
        "intended_use": INTENDED_USE,
        "terms": TERMS,
        "training": {
            "data": _data_block(config, cache),
            "masks": _masks_block(config, masks_manifest),
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


def _data_block(config: dict[str, Any], cache: dict[str, Any]) -> dict[str, Any]:
    return {**cache["manifest"], "faces_cached": cache.get("cached"), "photos_dropped_no_face": cache.get("dropped"),
            "landmarks": cache.get("landmarks"), "split_seed": cache.get("seed"),
            "subset": {True: "infants only (age 0-3, train split)", False: "no infants",
                       None: "all ages (train split)"}[config["data"]["infant"]]}


def _masks_block(config: dict[str, Any], masks_manifest: dict[str, Any]) -> dict[str, Any]:
    return {"mix": config["masks"]["mix"], "nvidia": {k: masks_manifest[k] for k in ("dataset", "terms")},
            "nvidia_eval_masks_held_out": True}


def images_seen(history: list[dict[str, Any]], step: int) -> int:
    """Training images the run's steps drew (steps x batch size of each (re)start, up to ``step``)."""
    total = 0
    for i, entry in enumerate(history):
        end = history[i + 1]["start_step"] if i + 1 < len(history) else step
        total += max(0, min(end, step) - int(entry["start_step"])) * int(entry["batch_size"])
    return total


def _comparison_card(config: dict[str, Any], cache: dict[str, Any], masks_manifest: dict[str, Any], name: str,
                     step: int, evaluation: dict[str, Any] | None, history: list[dict[str, Any]]) -> dict[str, Any]:
    """The card of a comparison network (EdgeConnect, LaFIn, CTSDG): what it is, how and where it was trained,
    and the fairness statement of the comparison protocol."""
    from training.comparison import NETWORKS, training_settings
    from training.config import config_from_dict

    arch = config["architecture"]
    cls = NETWORKS[arch][0]
    settings = training_settings(config_from_dict(config))
    own = images_seen(history, step)
    # a run started from another (init_from, e.g. EdgeConnect's joint phase) counts that run's images too
    seen = own + sum(images_seen(e.get("history", []), int(e.get("steps", 0))) for e in _lineage(config))
    hardware = sorted({h.get("hardware") or h.get("device", "unknown") for h in history}) or ["unknown"]
    compared = config.get("comparison", {}).get("compared_with", "nclg-mt-lite")
    data, masks = _data_block(config, cache), _masks_block(config, masks_manifest)
    resolution = config["data"]["resolution"]
    fairness = (
        f"Trained for the blinded comparison with {compared} under one protocol: the same training faces "
        f"({data.get('dataset', 'the cached open faces')}, {data['subset']}, the same cache and split), the same "
        f"mask mix ({', '.join(f'{k} {v}' for k, v in config['masks']['mix'].items())}), the same resolution "
        f"({resolution} px), the same batch size ({config['train']['batch_size']}) and seed ({config['seed']}), and "
        f"a budget counted in training images seen ({seen:,} at export, steps x batch size), compared with "
        f"{compared} at the same number of images seen, on the same hardware ({'; '.join(hardware)}). "
        f"Architecture: the paper's, channel counts x {config['width']} (width multiplier; 1.0 = the paper's size). "
        + ("Perceptual and style losses use a VGG-16." if config.get("vgg_weights") else
           "No VGG weights: the perceptual and style losses are replaced by discriminator feature matching, the "
           "same stand-in as NCLG-MT's.") + " See docs/reports/comparison-networks.md.")
    return {
        "name": name,
        "architecture": {"class": cls.__name__, "module": cls.__module__, "key": arch,
                         "kwargs": comparison_network_kwargs(config)},
        "width": config["width"],
        "paper": PAPERS[arch],
        "resolution": 256,
        "preprocessing": {"network_input": cls.network_input, "mask_file": MASK_FILE_CONVENTION},
        "intended_use": COMPARISON_USE,
        "terms": TERMS,
        "trained_on": hardware,
        "fairness": {"statement": fairness, "compared_with": compared, "images_seen": seen, "steps": step,
                     "batch_size": config["train"]["batch_size"], "resolution": resolution,
                     "mask_mix": config["masks"]["mix"], "training_faces": data["subset"], "seed": config["seed"],
                     "hardware": hardware, "width": config["width"]},
        "training": {
            "data": data,
            "masks": masks,
            "loss_weights": settings.pop("loss_weights"),
            "vgg_weights": bool(config.get("vgg_weights")),
            "perceptual_substitute": None if config.get("vgg_weights") else "discriminator feature matching",
            "optimiser": {**settings, "decay": config["optim"]["decay"], "decay_every": config["optim"]["decay_every"]},
            "batch_size": config["train"]["batch_size"],
            "steps": step,
            "images_seen": seen,
            "images_seen_this_run": own,
            "history": history,
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
               weights: str = "latest", history: list[dict[str, Any]] | None = None,
               prior_gain: float | None = None) -> Path:
    """Write the run's generator (latest state or best validation) and its card; returns the folder.

    ``prior_gain`` sets the lip template's gain of the exported network (``LipPrior``) when it
    differs from the one the run trained with; the card records both.
    """
    import torch
    from safetensors.torch import load_file

    from training.loop import load_state

    run_dir = Path(run_dir)
    config = _run_config(run_dir)
    trained_gain = float(config.get("lip_prior_gain", 1.0))
    if prior_gain is not None:
        if config.get("coarse_fill") != "lip_prior":
            raise TrainingError(f"--prior-gain scales the lip prior; {run_dir} has coarse_fill "
                                f"{config.get('coarse_fill')!r}.")
        config = {**config, "lip_prior_gain": float(prior_gain)}
    name = name or config["name"]
    state = load_state(run_dir / "state.pt")
    comparison = config.get("architecture", NCLG_MT) != NCLG_MT
    raw_state = state["comparison"]["network"] if comparison else state["g"]
    if weights == "best":
        g_state = load_file(str(run_dir / "best_g.safetensors"))
    elif weights == "latest":
        g_state = state.get("g_ema", raw_state)  # the averaged weights when the run kept them
    else:
        g_state = raw_state
    if comparison:
        from training.comparison import NETWORKS

        model = NETWORKS[config["architecture"]][0](**comparison_network_kwargs(config))
    else:
        model = NCLGMTGenerator(**generator_kwargs(config))
    model.load_state_dict(g_state, strict=True)
    eval_data = _read_evaluation(evaluation)
    if history is None:
        history = _read_history(run_dir)
    card = build_card(run_dir, name, int(state["step"]), eval_data, history, config)
    card["training"]["exported_weights"] = weights
    if prior_gain is not None:
        card["training"]["lip_prior_gain"] = {"trained_at": trained_gain, "exported_at": float(prior_gain)}
    card["training"]["initialised_from"] = _lineage(config)
    with torch.no_grad():
        return save_checkpoint(model, out or shipped_weights_dir() / name, card)


def sharpen_exported_nostrils(folder: Path, cache: Path, infant: bool | None, out: Path | None = None,
                              limit: int = 2000, seed: int = 0, gain: float | None = None,
                              evaluation: Path | None = None) -> Path:
    """Rewrite an exported lip-prior network with sharp nostrils in its template (``training.lip_prior``).

    Works on the exported folder, not on a run, because a shipped network may outlive its run's state.
    Only the prior's ``nostrils`` buffer changes; the card records the step (``training.lip_prior_nostrils``),
    and its evaluation is replaced by ``evaluation`` (or emptied: the old one measured other outputs).
    Applying it twice is refused, since the gain would compound.
    """
    import torch

    from training.data.dataset import FaceCropSet
    from training.lip_prior import NOSTRIL_GAIN, sharpen_nostrils

    model, card = _load_exported(folder)
    if not isinstance(model, NCLGMTGenerator) or model.prior is None:
        raise TrainingError(f"{folder} holds no lip-prior network (NCLGMTGenerator with coarse_fill 'lip_prior').")
    if "lip_prior_nostrils" in card.get("training", {}) or model.prior.nostrils.any():
        raise TrainingError(f"{folder} already has its nostrils; start again from the weights before.")
    faces = FaceCropSet(cache, "train", infant)
    nostrils, summary = sharpen_nostrils(model.prior.template, model.prior.reference, faces, limit=limit, seed=seed,
                                         gain=NOSTRIL_GAIN if gain is None else gain)
    with torch.no_grad():
        model.prior.nostrils.copy_(nostrils)
    summary.update(cache=str(cache), subset={True: "infants (train split)", False: "no infants (train split)",
                                             None: "all ages (train split)"}[infant])
    card["training"] = {**card["training"], "lip_prior_nostrils": summary}
    card["evaluation"] = _read_evaluation(evaluation) or {}
    return save_checkpoint(model, out or folder, card)


def embed_evaluation(folder: Path, evaluation: Path) -> Path:
    """Replace the evaluation in an exported network's card with ``evaluation``; the weights stay as they are.

    For when the evaluation changes and the weights do not (a change in the inference code, more test
    faces). The card's sha256 is checked on reading and written again for the same bytes.
    """
    model, card = _load_exported(folder)
    card["evaluation"] = _read_evaluation(evaluation)
    return save_checkpoint(model, folder, card)


def _load_exported(folder: Path) -> tuple[Any, dict[str, Any]]:
    """An exported network (NCLG-MT or a comparison network), loaded strictly, and its card without the
    fields ``save_checkpoint`` writes afresh (the weights' sha256 and the code version)."""
    from inference.checkpoints import load_checkpoint
    from inference.models.comparison import ARCHITECTURES as COMPARISON_ARCHITECTURES
    from inference.models.landmark_guided import ARCHITECTURES, build_network_from_card

    state, card = load_checkpoint(folder)
    known = {**ARCHITECTURES, **{cls.__name__: cls for cls in COMPARISON_ARCHITECTURES.values()}}
    model = build_network_from_card(card, known)
    model.load_state_dict(state, strict=True)
    return model, {k: v for k, v in card.items() if k not in ("weights_sha256", "code_version")}
