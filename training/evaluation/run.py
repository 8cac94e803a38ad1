"""``python -m training evaluate``: score registered models on the same held-out cases, in one run.

Models are loaded through ``inference.models.registry`` (classical baselines and networks alike)
and every output is scored by the pure pair metrics. Writes ``evaluation.json``, ``evaluation.md``
and ``grid.png`` into the output folder.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.config import resolve
from training.evaluation.cases import CATEGORIES, EvalCase, build_cases
from training.evaluation.metrics import score_pair
from training.masks.nvidia import load_nvidia_masks
from training.samples import grid, masked_view, save_png

METRICS = ("psnr", "ssim", "l1")


@dataclass
class EvaluationResult:
    data: dict[str, Any]
    markdown: str
    folder: Path


def _load(name: str, device: str | None, folder: Path | None):
    """A registered model, or one built from an exported folder (to evaluate a run before shipping it)."""
    from inference.devices import select_device
    from inference.models.registry import get_spec, load_model

    if folder is None:
        return load_model(name, device)
    from inference.models.landmark_guided import model_from_folder

    return model_from_folder(get_spec(name), folder, select_device(device))


def _predict(model, cases: list[EvalCase], chunk: int = 16) -> tuple[list[np.ndarray], float]:
    outputs: list[np.ndarray] = []
    t0 = time.perf_counter()
    for start in range(0, len(cases), chunk):
        part = cases[start:start + chunk]
        preds = model.predict_batch(np.stack([c.image for c in part]), np.stack([c.hole for c in part]))
        outputs.extend(p.image for p in preds)
    return outputs, (time.perf_counter() - t0) / max(1, len(cases))


def _aggregate(cases: list[EvalCase], outputs: list[np.ndarray]) -> dict[str, dict[str, dict[str, float]]]:
    scores: dict[tuple[str, str], list] = defaultdict(list)
    for case, out in zip(cases, outputs):
        scores[(case.subset, case.category)].append(score_pair(out, case.image))
    table: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (subset, category), values in scores.items():
        entry = {m: float(np.mean([getattr(v, m) for v in values])) for m in METRICS}
        entry.update({f"{m}_sd": float(np.std([getattr(v, m) for v in values])) for m in METRICS})
        entry["n"] = len(values)
        table[subset][category] = entry
    return dict(table)


def to_markdown(data: dict[str, Any]) -> str:
    lines = []
    for subset, title in (("test", "Held-out test faces"), ("infant", "Infant test faces (UTKFace age 0-3)")):
        n = data["faces"].get(subset, 0)
        if not n:
            continue
        lines += [f"### {title} ({n} faces, one mask per column group)", "",
                  "| model | " + " | ".join(f"{c} PSNR | {c} SSIM | {c} L1x100" for c in CATEGORIES) + " | s/image |",
                  "|---|" + "---:|" * (3 * len(CATEGORIES) + 1)]
        for name, result in data["models"].items():
            row = result["scores"].get(subset, {})
            cells = []
            for c in CATEGORIES:
                e = row.get(c)
                cells += [f"{e['psnr']:.2f}", f"{e['ssim']:.4f}", f"{e['l1']:.2f}"] if e else ["-"] * 3
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {result['seconds_per_image']:.3f} |")
        lines.append("")
    lines.append("PSNR in dB and SSIM (higher is better), L1 x 100 (lower is better), on the whole 256x256 face crop "
                 "with the known pixels composited back. Bins are NVIDIA hole ratios; 'lip' are landmark-based lip-region masks.")
    return "\n".join(lines)


def _grid_png(cases: list[EvalCase], outputs: dict[str, list[np.ndarray]], path: Path, rows: int = 8) -> None:
    """Lip-region cases first (the use case), then one case per NVIDIA bin."""
    picks = [i for i, c in enumerate(cases) if c.category == "lip"][:rows - 3]
    for b in CATEGORIES[1:]:
        picks += [i for i, c in enumerate(cases) if c.category == b][1:2]
    tiles = [[masked_view(cases[i].image, cases[i].hole)] + [outputs[m][i] for m in outputs] + [cases[i].image]
             for i in picks]
    save_png(path, grid(tiles))


def run_evaluation(models: list[str], cache: Path, out_dir: Path, limit: int | None = 300,
                   infant_limit: int | None = 200, seed: int = 0, device: str | None = None,
                   weights_dirs: dict[str, Path] | None = None, fid_weights: str | None = None,
                   lpips_weights: str | None = None, nvidia_folder: str = "../shared/data/masks-nvidia-test-256",
                   nvidia_cache: str = "data-cache/masks-nvidia.npz", progress: bool = True) -> EvaluationResult:
    from tqdm import tqdm

    nvidia = load_nvidia_masks(resolve(nvidia_folder), resolve(nvidia_cache), seed)
    cases = build_cases(cache, nvidia, limit, infant_limit, seed)
    faces = {s: len({c.face for c in cases if c.subset == s}) for s in ("test", "infant")}
    data: dict[str, Any] = {"cache": str(cache), "seed": seed, "faces": faces, "categories": list(CATEGORIES),
                            "hole_ratio_mean": {c: float(np.mean([k.hole.mean() for k in cases if k.category == c]))
                                                for c in CATEGORIES},
                            "resolution": 256, "models": {}}
    outputs: dict[str, list[np.ndarray]] = {}
    for name in tqdm(models, desc="models", disable=not progress):
        model = _load(name, device, (weights_dirs or {}).get(name))
        outs, seconds = _predict(model, cases)
        outputs[name] = outs
        data["models"][name] = {"scores": _aggregate(cases, outs), "seconds_per_image": seconds}
    extra = {}
    if fid_weights:
        from training.evaluation.fid import fid_scores

        extra["fid"] = fid_scores(resolve(fid_weights), cases, outputs)
    if lpips_weights:
        from training.evaluation.lpips import lpips_scores

        extra["lpips"] = lpips_scores(resolve(lpips_weights), cases, outputs)
    data.update(extra)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(data)
    (out_dir / "evaluation.json").write_text(json.dumps(data, indent=2))
    (out_dir / "evaluation.md").write_text(markdown + "\n")
    _grid_png(cases, outputs, out_dir / "grid.png")
    return EvaluationResult(data, markdown, out_dir)
