"""Command-line entry points of the training package (see docs/training.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inference.errors import InferenceError
from training.config import load_config, parse_override, resolve
from training.errors import TrainingError


AGES = {"all": None, "infants": True, "no-infants": False}  # --ages: which training faces (FaceCropSet's infant)


def _cmd_prepare(args: argparse.Namespace) -> int:
    from training.data.cache import build_cache
    from training.masks.nvidia import load_nvidia_masks

    out = resolve(args.out or f"data-cache/{Path(args.folder).name}")
    info = build_cache(args.kind, resolve(args.folder), out, seed=args.seed, limit=args.limit,
                       allow_cnn_fallback=args.cnn_fallback)
    print(f"{info.cached} faces cached in {info.folder}, {info.dropped} photos without a face dropped "
          f"(listed in dropped.csv); splits in splits.csv.")
    if args.masks:
        masks = load_nvidia_masks(resolve(args.masks), resolve("data-cache/masks-nvidia.npz"), args.seed)
        print(f"{len(masks.ratios)} NVIDIA masks cached.")
    return 0


def _overrides(items: list[str]) -> dict:
    return dict(parse_override(t) for t in items or [])


def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    from training.loop import Trainer

    config = load_config(args.config, _overrides(args.set))
    run_dir = resolve(args.run_dir or f"runs/{config.name}")
    device = torch.device(args.device) if args.device else None
    trainer = Trainer(config, run_dir, resume=not args.fresh, device=device)
    try:
        result = trainer.train(args.steps, args.minutes)
    finally:
        trainer.close()
    if trainer.dist.is_main:
        print(f"step {result.step}: loss {result.first_loss:.4f} -> {result.last_loss:.4f}; state in {run_dir}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from training.export import export_run

    folder = export_run(resolve(args.run_dir), resolve(args.out) if args.out else None, args.name,
                        evaluation=resolve(args.evaluation) if args.evaluation else None,
                        weights=args.weights, prior_gain=args.prior_gain)
    print(f"exported to {folder}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from training.evaluation.cases import CATEGORIES
    from training.evaluation.run import run_evaluation

    result = run_evaluation(args.models, cache=resolve(args.cache), out_dir=resolve(args.out),
                            limit=args.limit, infant_limit=args.infant_limit, seed=args.seed,
                            device=args.device, weights_dirs={k: resolve(v) for k, v in
                                                              (s.split("=", 1) for s in args.weights or [])},
                            fid_weights=args.fid_weights, lpips_weights=args.lpips_weights,
                            categories=tuple(args.categories) if args.categories else CATEGORIES)
    print(result.markdown)
    return 0


def _cmd_lip_prior(args: argparse.Namespace) -> int:
    from training.lip_prior import build_lip_prior

    summary = build_lip_prior(resolve(args.cache), resolve(args.out), limit=args.limit, seed=args.seed,
                              infant=AGES[args.ages])
    print(f"lip prior from {summary['faces']} training faces (and their mirror images) written to {args.out}")
    return 0


def _cmd_nostrils(args: argparse.Namespace) -> int:
    from training.export import sharpen_exported_nostrils

    folder = sharpen_exported_nostrils(resolve(args.weights), resolve(args.cache),
                                       AGES[args.ages],
                                       out=resolve(args.out) if args.out else None, limit=args.limit, seed=args.seed,
                                       gain=args.gain, evaluation=resolve(args.evaluation) if args.evaluation else None)
    print(f"nostrils sharpened; written to {folder}")
    return 0


def _cmd_card(args: argparse.Namespace) -> int:
    from training.export import embed_evaluation

    for folder in args.weights:
        print(f"evaluation embedded in {embed_evaluation(resolve(folder), resolve(args.evaluation))}")
    return 0


def _cmd_pack(args: argparse.Namespace) -> int:
    from training.data.pack import pack_cache

    summary = pack_cache(resolve(args.cache), resolve(args.out), faces=args.faces, val_faces=args.val_faces,
                         masks_cache=resolve(args.masks) if args.masks else None, masks=args.mask_count,
                         quality=args.quality, seed=args.seed)
    print(f"packed {summary['faces']} training and {summary['val_faces']} validation faces and {summary['masks']} "
          f"masks into {summary['out']} ({summary['bytes'] / 2 ** 20:.1f} MiB)")
    return 0


def _cmd_unpack(args: argparse.Namespace) -> int:
    from training.data.pack import unpack_cache

    paths = unpack_cache(resolve(args.pack), resolve(args.out))
    print(f"unpacked {paths['faces']} faces: --set data.cache={paths['cache']} --set data.folder={paths['data_folder']}"
          + (f" --set masks.nvidia_cache={paths['masks_cache']}" if "masks_cache" in paths else ""))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from training.search import run_search

    best = run_search(load_config(args.config, _overrides(args.set)), resolve(args.out), trials=args.trials,
                      steps=args.steps, storage=args.storage)
    print(f"best loss weights: {best}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser("prepare", help="crop, landmark and split a dataset once (cached)")
    pr.add_argument("kind", choices=["utkface", "celeba", "folder"])
    pr.add_argument("folder")
    pr.add_argument("--out", help="cache folder (default data-cache/<folder name>)")
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--limit", type=int)
    pr.add_argument("--cnn-fallback", action="store_true", help="try dlib's CNN detector when HOG finds no face")
    pr.add_argument("--masks", help="also cache the NVIDIA masks from this folder")
    pr.set_defaults(func=_cmd_prepare)

    tr = sub.add_parser("train", help="train (resumes from <run>/state.pt unless --fresh)")
    tr.add_argument("config")
    tr.add_argument("--run-dir")
    tr.add_argument("--steps", type=int, help="stop at this step (default: train.steps of the config)")
    tr.add_argument("--minutes", type=float, help="also stop after this much wall-clock time (the state is saved)")
    tr.add_argument("--fresh", action="store_true", help="ignore an existing state.pt")
    tr.add_argument("--device")
    tr.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value, e.g. data.resolution=256")
    tr.set_defaults(func=_cmd_train)

    ex = sub.add_parser("export", help="write a run's generator as safetensors + model card")
    ex.add_argument("run_dir")
    ex.add_argument("--name", help="model name (default: the run's config name)")
    ex.add_argument("--out", help="default assets/weights/<name>")
    ex.add_argument("--weights", choices=["latest", "best", "raw"], default="latest",
                    help="latest: averaged (EMA) weights of the last step; best: best validation PSNR; raw: last step without EMA")
    ex.add_argument("--evaluation", help="evaluation JSON to embed in the card")
    ex.add_argument("--prior-gain", type=float, help="the lip template's gain in the exported network, when it differs "
                                                     "from the run's lip_prior_gain (the card records both)")
    ex.set_defaults(func=_cmd_export)

    ev = sub.add_parser("evaluate", help="score registered models on the test split and the infant subset")
    ev.add_argument("models", nargs="+", help="registered model names, e.g. opencv-telea opencv-ns nclg-mt-lite")
    ev.add_argument("--cache", default="data-cache/utkface")
    ev.add_argument("--out", default="docs/reports/evaluation")
    ev.add_argument("--limit", type=int, default=300, help="test faces (0 = all)")
    ev.add_argument("--infant-limit", type=int, default=200, help="infant test faces (0 = all)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--device")
    ev.add_argument("--weights", action="append", metavar="MODEL=FOLDER",
                    help="evaluate a model from an exported folder instead of its registered weights")
    ev.add_argument("--categories", nargs="+", metavar="CATEGORY",
                    help="mask categories to evaluate (default all: lip mouth upper_lip 0-20 20-40 40-60)")
    ev.add_argument("--fid-weights", help="pt_inception-2015-12-05 weights for FID (optional)")
    ev.add_argument("--lpips-weights", help="LPIPS: LIN_PATH,VGG16_PATH (lpips vgg.pth and a torchvision vgg16 state dict; optional)")
    ev.set_defaults(func=_cmd_evaluate)

    lp = sub.add_parser("lip-prior", help="average the mouth-and-nose detail of the training faces (lip_prior coarse stage)")
    lp.add_argument("cache", nargs="?", default="data-cache/utkface")
    lp.add_argument("--out", default="data-cache/lip-prior.safetensors")
    lp.add_argument("--limit", type=int, default=6000, help="training faces to average")
    lp.add_argument("--ages", choices=list(AGES), default="all")
    lp.add_argument("--seed", type=int, default=0)
    lp.set_defaults(func=_cmd_lip_prior)

    ns = sub.add_parser("nostrils", help="give an exported lip-prior network's template nostrils averaged at each "
                                          "training face's own nostrils")
    ns.add_argument("weights", help="an exported folder, e.g. assets/weights/nclg-mt-lite")
    ns.add_argument("--cache", default="data-cache/utkface")
    ns.add_argument("--ages", choices=list(AGES), default="all",
                    help="the training faces to average (as the template's own: infants for the infant network)")
    ns.add_argument("--limit", type=int, default=2000, help="training faces (their mirror images are added)")
    ns.add_argument("--gain", type=float, help="the nostril patches' gain (default training.lip_prior.NOSTRIL_GAIN)")
    ns.add_argument("--seed", type=int, default=0)
    ns.add_argument("--out", help="write here instead of rewriting the folder")
    ns.add_argument("--evaluation", help="evaluation JSON of the sharpened network to embed in the card")
    ns.set_defaults(func=_cmd_nostrils)

    cd = sub.add_parser("card", help="replace the evaluation in exported networks' cards (the weights stay as they are)")
    cd.add_argument("weights", nargs="+", help="exported folders, e.g. assets/weights/nclg-mt-lite")
    cd.add_argument("--evaluation", required=True, help="the evaluation JSON to embed")
    cd.set_defaults(func=_cmd_card)

    pk = sub.add_parser("pack", help="pack training faces (JPEG) and masks into one small file for a GPU machine")
    pk.add_argument("cache", nargs="?", default="data-cache/utkface")
    pk.add_argument("--out", default="data-cache/pack/faces.npz")
    pk.add_argument("--faces", type=int, default=3000, help="training faces, a seeded sample of the train split")
    pk.add_argument("--val-faces", type=int, default=16)
    pk.add_argument("--masks", help="the NVIDIA mask cache to sample training masks from (e.g. data-cache/masks-nvidia.npz)")
    pk.add_argument("--mask-count", type=int, default=3000)
    pk.add_argument("--quality", type=int, default=90, help="JPEG quality")
    pk.add_argument("--seed", type=int, default=0)
    pk.set_defaults(func=_cmd_pack)

    up = sub.add_parser("unpack", help="turn a pack back into a face-crop cache, a mask cache and a data manifest")
    up.add_argument("pack")
    up.add_argument("--out", required=True)
    up.set_defaults(func=_cmd_unpack)

    se = sub.add_parser("search", help="Optuna search over the loss weights (small budget)")
    se.add_argument("config")
    se.add_argument("--out", default="runs/search")
    se.add_argument("--trials", type=int, default=8)
    se.add_argument("--steps", type=int, default=150)
    se.add_argument("--storage", help="optuna storage URL (default: sqlite in --out)")
    se.add_argument("--set", action="append", metavar="KEY=VALUE")
    se.set_defaults(func=_cmd_search)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TrainingError, InferenceError) as exc:  # InferenceError: an exported folder missing, altered or foreign
        print(f"error: {exc}", file=sys.stderr)
        return 2
