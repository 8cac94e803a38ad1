"""``python -m training evaluate``: score registered models on the same held-out cases, in one run.

Models are loaded through the one model manager (``inference.models.manager``; classical baselines
and networks alike) and called on the held-out 256 px face crops themselves, since the cases are
crops rather than photos (full photos go through ``inference.service``). Every output is scored by
the pure pair metrics and the structure measures (``training.evaluation.structure``). Writes
``evaluation.json``, ``evaluation.md`` (the image metrics table and the "Structure" table),
``grid.jpg`` (lip cases and NVIDIA bins) and ``grid_mouth.jpg`` / ``grid_upper_lip.jpg`` (the two
mask families, zoomed on the lower face) into the output folder.

Per model, subset and category, ``evaluation.json`` holds under ``models[name]["scores"][subset][category]``:
``psnr``, ``ssim``, ``l1`` (means over the whole crop) with ``*_sd`` and ``n``; ``hole_psnr`` (mean,
dB, hole pixels only) and ``hole_psnr_sd``; ``edge_ratio_median`` (and ``edge_ratio_n``); for the lip
categories ``vermilion`` = ``{"median", "share_ge_0_5", "n"}`` (over the faces whose truth has a lip
contrast); for models that predict landmarks ``nme`` = ``{"all_mean", "all_median", "mouth_mean",
"mouth_median", "n"}``. A statistic over no values is null.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.face.regions import MOUTH_OUTER, NOSE_BASE
from training.config import resolve
from training.evaluation.cases import CATEGORIES, FAMILY_CATEGORIES, LIP_CATEGORIES, EvalCase, build_cases
from training.evaluation.metrics import score_pair
from training.evaluation.structure import StructureScores, TruthReference, score_structure
from training.masks.nvidia import load_nvidia_masks
from training.samples import grid, masked_view, save_png

METRICS = ("psnr", "ssim", "l1")
VERMILION_PASS = 0.5  # a face "draws a lip" when its vermilion contrast ratio is at least this
BASELINE = "opencv-ns"  # the hole PSNR of the structure table is also given relative to this model


@dataclass
class EvaluationResult:
    data: dict[str, Any]
    markdown: str
    folder: Path


def _load(name: str, device: str | None, folder: Path | None):
    """A registered model, or one built from an exported folder (to evaluate a run before shipping it).

    Through the one model manager; ``switch`` keeps one model in memory while the next is scored.
    """
    from inference.models.manager import default_manager

    return default_manager().switch(name, device, weights=folder)


def _predict(model, cases: list[EvalCase], chunk: int = 16
             ) -> tuple[list[np.ndarray], list[np.ndarray | None], float]:
    """Outputs, predicted landmarks (normalised, or None) and seconds per image."""
    outputs: list[np.ndarray] = []
    landmarks: list[np.ndarray | None] = []
    t0 = time.perf_counter()
    for start in range(0, len(cases), chunk):
        part = cases[start:start + chunk]
        preds = model.predict_batch(np.stack([c.image for c in part]), np.stack([c.hole for c in part]))
        outputs.extend(p.image for p in preds)
        landmarks.extend(p.landmarks_norm for p in preds)
    return outputs, landmarks, (time.perf_counter() - t0) / max(1, len(cases))


def _references(cases: list[EvalCase]) -> list[TruthReference]:
    """The truth's share of the structure measures, once per case for every model."""
    return [TruthReference.build(c.image, c.hole, c.landmarks_norm * c.image.shape[0], lip=c.category in LIP_CATEGORIES)
            for c in cases]


def _stat(values: list[float], fn) -> float | None:
    return float(fn(values)) if values else None


def _structure_entry(category: str, values: list[StructureScores]) -> dict[str, Any]:
    holes = [v.hole_psnr for v in values]
    edges = [v.edge_ratio for v in values if v.edge_ratio is not None]
    entry: dict[str, Any] = {"hole_psnr": float(np.mean(holes)), "hole_psnr_sd": float(np.std(holes)),
                             "edge_ratio_median": _stat(edges, np.median), "edge_ratio_n": len(edges)}
    if category in LIP_CATEGORIES:
        ratios = [v.vermilion_ratio for v in values if v.vermilion_ratio is not None]
        entry["vermilion"] = {"median": _stat(ratios, np.median),
                              "share_ge_0_5": _stat([r >= VERMILION_PASS for r in ratios], np.mean),
                              "n": len(ratios)}
    nme = [(v.nme_all, v.nme_mouth) for v in values if v.nme_all is not None]
    if nme:
        all_, mouth = [a for a, _ in nme], [m for _, m in nme]
        entry["nme"] = {"all_mean": float(np.mean(all_)), "all_median": float(np.median(all_)),
                        "mouth_mean": float(np.mean(mouth)), "mouth_median": float(np.median(mouth)), "n": len(nme)}
    return entry


def _aggregate(cases: list[EvalCase], outputs: list[np.ndarray], landmarks: list[np.ndarray | None] | None = None,
               refs: list[TruthReference] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    landmarks = landmarks or [None] * len(cases)
    refs = refs or _references(cases)
    scores: dict[tuple[str, str], list] = defaultdict(list)
    structure: dict[tuple[str, str], list[StructureScores]] = defaultdict(list)
    for case, out, lm, ref in zip(cases, outputs, landmarks, refs):
        scores[(case.subset, case.category)].append(score_pair(out, case.image))
        lm_px = None if lm is None else np.asarray(lm, np.float64) * out.shape[0]
        structure[(case.subset, case.category)].append(score_structure(out, ref, lm_px))
    table: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (subset, category), values in scores.items():
        entry: dict[str, Any] = {m: float(np.mean([getattr(v, m) for v in values])) for m in METRICS}
        entry.update({f"{m}_sd": float(np.std([getattr(v, m) for v in values])) for m in METRICS})
        entry["n"] = len(values)
        entry.update(_structure_entry(category, structure[(subset, category)]))
        table[subset][category] = entry
    return dict(table)


SUBSETS = (("test", "Held-out test faces"), ("infant", "Infant test faces (UTKFace age 0-3)"))


def to_markdown(data: dict[str, Any]) -> str:
    lines = []
    categories = data.get("categories", CATEGORIES)
    for subset, title in SUBSETS:
        n = data["faces"].get(subset, 0)
        if not n:
            continue
        lines += [f"### {title} ({n} faces, one mask per column group)", "",
                  "| model | " + " | ".join(f"{c} PSNR | {c} SSIM | {c} L1x100" for c in categories) + " | s/image |",
                  "|---|" + "---:|" * (3 * len(categories) + 1)]
        for name, result in data["models"].items():
            row = result["scores"].get(subset, {})
            cells = []
            for c in categories:
                e = row.get(c)
                cells += [f"{e['psnr']:.2f}", f"{e['ssim']:.4f}", f"{e['l1']:.2f}"] if e else ["-"] * 3
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {result['seconds_per_image']:.3f} |")
        lines.append("")
    lines.append("PSNR in dB and SSIM (higher is better), L1 x 100 (lower is better), on the whole 256x256 face crop "
                 "with the known pixels composited back. Bins are NVIDIA hole ratios; 'lip' are landmark-based "
                 "lip-region masks (cleft wedges, philtrum, upper lip, equipment); 'mouth' and 'upper_lip' are the two "
                 "cleft-like mask families (whole mouth + nostril sill; upper lip + nostril sill).")
    return "\n".join(lines + ["", structure_markdown(data)])


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def structure_markdown(data: dict[str, Any]) -> str:
    """The "Structure" table: per subset one row per model, column groups for the two mask families."""
    families = [c for c in FAMILY_CATEGORIES if c in data.get("categories", CATEGORIES)]
    columns = ("vermilion median", "share >= 0.5", "edge median", "hole PSNR", f"vs {BASELINE}", "NME all", "NME mouth")
    lines: list[str] = []
    for subset, title in SUBSETS:
        n = data["faces"].get(subset, 0)
        if not n:
            continue
        lines += [f"### Structure: {title[0].lower() + title[1:]} ({n} faces)", "",
                  "| model | " + " | ".join(f"{f} {c}" for f in families for c in columns) + " |",
                  "|---|" + "---:|" * (len(columns) * len(families))]
        base = data["models"].get(BASELINE, {}).get("scores", {}).get(subset, {})
        for name, result in data["models"].items():
            row = result["scores"].get(subset, {})
            cells: list[str] = []
            for family in families:
                e = row.get(family)
                if not e:
                    cells += ["-"] * len(columns)
                    continue
                verm, nme = e.get("vermilion", {}), e.get("nme", {})
                share = verm.get("share_ge_0_5")
                ref = base.get(family, {}).get("hole_psnr")
                cells += [_fmt(verm.get("median"), ".2f"),
                          "-" if share is None else f"{100 * share:.0f} % of {verm['n']}",
                          _fmt(e.get("edge_ratio_median"), ".2f"), _fmt(e.get("hole_psnr"), ".2f"),
                          "-" if ref is None else f"{e['hole_psnr'] - ref:+.2f}",
                          _fmt(nme.get("all_mean"), ".4f"), _fmt(nme.get("mouth_mean"), ".4f")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(
        "Vermilion: median over the faces of the vermilion contrast ratio (a* of the lip minus a* of the hole's "
        "skin, prediction over truth, CIE Lab; 1 = the truth's lip redness, 0 = lip filled like skin; faces whose "
        "truth contrast is under 4 a* units are not counted) and the share of counted faces with a ratio of at least "
        "0.5. Edge: median of the mean Sobel gradient of L in the hole, prediction over truth (below 1 = smoother). "
        f"Hole PSNR: mean dB over the hole pixels only, and its difference to {BASELINE} when evaluated. NME: mean "
        "landmark error over all 68 points and over the mouth (48-67), divided by the truth's outer-eye-corner "
        "distance (36-45, 300-W), for models that predict landmarks.")
    return "\n".join(lines)


def _grid_png(cases: list[EvalCase], outputs: dict[str, list[np.ndarray]], path: Path, rows: int = 8) -> None:
    """Lip-region cases first (the use case), then one case per NVIDIA bin."""
    picks = [i for i, c in enumerate(cases) if c.category == "lip"][:rows - 3]
    for b in CATEGORIES[len(LIP_CATEGORIES):]:  # the NVIDIA bins
        picks += [i for i, c in enumerate(cases) if c.category == b][1:2]
    tiles = [[masked_view(cases[i].image, cases[i].hole)] + [outputs[m][i] for m in outputs] + [cases[i].image]
             for i in picks]
    if tiles:  # none when only the mask families were evaluated (--categories)
        save_png(path, grid(tiles))


def lower_face_box(landmarks_norm: np.ndarray, size: int) -> tuple[int, int, int]:
    """(x0, y0, side): a square of half the crop centred on the mouth and nostril sill, inside the crop."""
    p = np.asarray(landmarks_norm, np.float64)[list(MOUTH_OUTER) + list(NOSE_BASE)] * size
    side = size // 2
    centre = (p.min(0) + p.max(0)) / 2
    x0, y0 = (int(np.clip(round(c - side / 2), 0, size - side)) for c in centre)
    return x0, y0, side


def _zoom(image: np.ndarray, box: tuple[int, int, int], scale: int = 2) -> np.ndarray:
    x0, y0, side = box
    tile = image[y0:y0 + side, x0:x0 + side]
    return np.repeat(np.repeat(tile, scale, axis=0), scale, axis=1)


def _family_grid_png(cases: list[EvalCase], outputs: dict[str, list[np.ndarray]], category: str, path: Path,
                     rows: int = 8) -> None:
    """One mask family: ``rows`` adult then ``rows`` infant faces, masked input | every model | truth, zoomed x2."""
    picks: list[int] = []
    for subset, _ in SUBSETS:
        picks += [i for i, c in enumerate(cases) if c.category == category and c.subset == subset][:rows]
    if not picks:
        return
    tiles = []
    for i in picks:
        case = cases[i]
        box = lower_face_box(case.landmarks_norm, case.image.shape[0])
        row = [masked_view(case.image, case.hole)] + [outputs[m][i] for m in outputs] + [case.image]
        tiles.append([_zoom(t, box) for t in row])
    save_png(path, grid(tiles))


def run_evaluation(models: list[str], cache: Path, out_dir: Path, limit: int | None = 300,
                   infant_limit: int | None = 200, seed: int = 0, device: str | None = None,
                   weights_dirs: dict[str, Path] | None = None, fid_weights: str | None = None,
                   lpips_weights: str | None = None, nvidia_folder: str = "../shared/data/masks-nvidia-test-256",
                   nvidia_cache: str = "data-cache/masks-nvidia.npz", progress: bool = True,
                   categories: tuple[str, ...] = CATEGORIES) -> EvaluationResult:
    from tqdm import tqdm

    nvidia = load_nvidia_masks(resolve(nvidia_folder), resolve(nvidia_cache), seed)
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        from training.errors import ConfigError

        raise ConfigError(f"Unknown evaluation categories {sorted(unknown)}; use {list(CATEGORIES)}.")
    categories = tuple(c for c in CATEGORIES if c in categories)
    cases = build_cases(cache, nvidia, limit, infant_limit, seed, categories=categories)
    faces = {s: len({c.face for c in cases if c.subset == s}) for s in ("test", "infant")}
    data: dict[str, Any] = {"cache": str(cache), "seed": seed, "faces": faces, "categories": list(categories),
                            "hole_ratio_mean": {c: float(np.mean([k.hole.mean() for k in cases if k.category == c]))
                                                for c in categories},
                            "resolution": 256, "models": {}}
    outputs: dict[str, list[np.ndarray]] = {}
    refs = _references(cases)
    for name in tqdm(models, desc="models", disable=not progress):
        model = _load(name, device, (weights_dirs or {}).get(name))
        outs, landmarks, seconds = _predict(model, cases)
        outputs[name] = outs
        data["models"][name] = {"scores": _aggregate(cases, outs, landmarks, refs), "seconds_per_image": seconds,
                                "landmarks": any(lm is not None for lm in landmarks)}
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
    _grid_png(cases, outputs, out_dir / "grid.jpg")
    for category in FAMILY_CATEGORIES:
        _family_grid_png(cases, outputs, category, out_dir / f"grid_{category}.jpg")
    return EvaluationResult(data, markdown, out_dir)
