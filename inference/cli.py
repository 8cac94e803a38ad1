"""Headless command line: list models, and run predictions on one photo or a batch.

    python -m inference models [--json]
    python -m inference predict --image P --mask M --model NAME --out O [--landmarks-out L] [--device D]
                                [--mask-space photo|crop] [--landmarks-in L.json]
    python -m inference predict --image DIR --mask DIR --model NAME --out DIR [--landmarks-in DIR]
    python -m inference measures --image P [--landmarks L.json]

Bad input ends with one clear line on stderr and a non-zero exit code (2), never a traceback;
in a batch, unusable cases are reported one line each and the rest still run (exit code 1).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inference.errors import ImageWriteError, InferenceError, MaskError, SteeringError

if TYPE_CHECKING:
    import numpy as np

    from inference.pipeline import FaceAnalysis, FacePipeline, PipelineResult
    from inference.service import PredictionRecord

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".dcm", ".dicom"})
_MASK_NAME_PATTERNS = ("{stem}_mask", "{stem}-mask", "{stem}.mask", "{stem}")
# which points of a landmarks JSON file (the --landmarks-out format) are read, first present first
LANDMARK_KEYS = ("guide_landmarks", "model_landmarks", "detected_landmarks", "landmarks")


class UsageError(InferenceError):
    """The command line itself is wrong (missing or contradictory options)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


@dataclass(frozen=True)
class Job:
    image: Path
    mask: Path
    out: Path
    landmarks_out: Path | None
    landmarks_in: Path | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m inference", description="Cleft-lip inpainting without the graphical app.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    models = sub.add_parser("models", help="list the models and whether their weights are present")
    models.add_argument("--json", action="store_true", help="machine-readable output")

    predict = sub.add_parser("predict", help="inpaint the masked region of one or more photos")
    predict.add_argument("--image", action="append", required=True, type=Path,
                         help="photo (JPEG, PNG, TIFF, BMP, DICOM) or a folder of photos; repeat for several")
    predict.add_argument("--mask", action="append", required=True, type=Path,
                         help="mask PNG (white = area to fill) of the photo's size, or a folder of "
                              "masks named like the photos (NAME.png or NAME_mask.png); one per --image")
    predict.add_argument("--mask-space", choices=("photo", "crop"), default="photo",
                         help="what the masks were drawn on: the photo (default, same size as the photo) or "
                              "the model's square face crop (e.g. 256 x 256); never guessed from the size")
    predict.add_argument("--model", required=True, help="model name (see 'models')")
    predict.add_argument("--out", required=True, type=Path,
                         help="result file (.png/.jpg) for one photo, or a folder for several")
    predict.add_argument("--landmarks-out", type=Path,
                         help="JSON file (one photo) or folder (several) for the landmarks in photo pixels")
    predict.add_argument("--landmarks-in", type=Path,
                         help="JSON file (one photo) or folder of NAME.landmarks.json (several) in the "
                              "--landmarks-out format (68 points in photo pixels; null = keep the network's "
                              "point): the landmark-guided network draws the lip and nose at these points")
    predict.add_argument("--landmarks-key", choices=LANDMARK_KEYS, default=None,
                         help="which points of a landmarks file to use (default: the first present of "
                              + ", ".join(LANDMARK_KEYS) + ")")
    predict.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N or mps")
    predict.add_argument("--cpu-precision", choices=("auto", "fp32", "bf16"), default="auto",
                         help="auto (default): bf16 where the CPU has it natively, else fp32")
    predict.add_argument("--face-box", default=None, metavar="LEFT,TOP,RIGHT,BOTTOM",
                         help="face rectangle in photo pixels, for photos where no face is detected")
    predict.add_argument("--batch-size", type=int, default=None, help="photos per network call")
    predict.add_argument("--feather", type=float, default=None,
                         help="width in photo pixels of the soft seam around the mask (default: 2 crop pixels)")

    measures = sub.add_parser("measures", help="nasolabial symmetry measures of a face photo, as JSON")
    measures.add_argument("--image", required=True, type=Path, help="face photo (JPEG, PNG, TIFF, BMP, DICOM)")
    measures.add_argument("--landmarks", type=Path,
                          help="JSON file with 68 points in photo pixels (the --landmarks-out format); "
                               "without it the landmarks are detected in the photo")
    measures.add_argument("--landmarks-key", choices=LANDMARK_KEYS, default=None,
                          help="which points of the landmarks file to use (default: the first present of "
                               + ", ".join(LANDMARK_KEYS) + ")")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "models":
            return _cmd_models(args.json)
        if args.command == "measures":
            return _cmd_measures(args)
        return _cmd_predict(args)
    except InferenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED


# ---------------------------------------------------------------- models

def _cmd_models(as_json: bool) -> int:
    from inference.models.manager import default_manager

    rows = []
    for spec in default_manager().specs():
        status = spec.weights_status()
        rows.append({"name": spec.name, "display_name": spec.display_name, "resolution": spec.resolution,
                     "neural": spec.neural, "needs": sorted(spec.needs), "weights_available": status.available,
                     "weights_status": status.reason, "weights_sha256": status.sha256})
    if as_json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max(len(r["name"]) for r in rows)
    print(f"{'NAME':<{width}}  RES  WEIGHTS  DESCRIPTION")
    for r in rows:
        state = "ready  " if r["weights_available"] else "MISSING"
        print(f"{r['name']:<{width}}  {r['resolution']:>3}  {state}  {r['display_name']}")
        if not r["weights_available"]:
            print(" " * (width + 16) + r["weights_status"])
    return EXIT_OK


# ---------------------------------------------------------------- predict

def _cmd_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inference.devices import describe_device, set_cpu_precision
    from inference.models.manager import default_manager
    from inference.pipeline import FacePipeline
    from inference.service import PredictionService

    set_cpu_precision(args.cpu_precision)
    jobs = plan_jobs(args.image, args.mask, args.out, args.landmarks_out, args.landmarks_in)
    face_box = _parse_box(args.face_box) if args.face_box else None
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1.")
    service = PredictionService(default_manager(), FacePipeline(feather_px=args.feather))
    model = service.manager.load(args.model, args.device)
    if args.landmarks_in is not None and not model.accepts_landmarks:
        raise SteeringError(f"{model.spec.display_name} does not draw from facial landmarks, so --landmarks-in "
                            "cannot change its prediction. Use a landmark-guided model (nclg-mt-lite).")
    print(f"{model.spec.display_name} on {describe_device(model.device)}; {len(jobs)} photo(s)", file=sys.stderr)
    loaders = [functools.partial(_load_case, service.pipeline, job, face_box, args.mask_space, args.landmarks_key)
               for job in jobs]
    failures = 0
    with tqdm(total=len(jobs), unit="photo", file=sys.stderr, disable=len(jobs) < 2) as progress:
        for outcome in service.iter_predict_many(loaders, args.model, args.device, args.batch_size,
                                                 args.mask_space):
            job = jobs[outcome.index]
            try:
                if outcome.error is not None:
                    raise outcome.error
                _write_outputs(job, outcome.record, outcome.image)
            except InferenceError as exc:
                if len(jobs) == 1:
                    raise
                failures += 1
                progress.write(f"error: {job.image.name}: {exc}", file=sys.stderr)
            progress.update(1)
    if failures:
        print(f"{failures} of {len(jobs)} photo(s) failed; the others were written.", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def plan_jobs(images: list[Path], masks: list[Path], out: Path, landmarks_out: Path | None,
              landmarks_in: Path | None = None) -> list[Job]:
    """Pair photos with masks (and landmark files) and decide every output path before any work starts."""
    if len(images) == 1 and images[0].is_dir():
        if len(masks) != 1 or not masks[0].is_dir():
            raise UsageError("With a folder of photos, --mask must be a folder of masks.")
        pairs = _pair_folder(images[0], masks[0])
    else:
        if len(images) != len(masks):
            raise UsageError(f"Give one --mask per --image ({len(images)} images, {len(masks)} masks).")
        for path in [*images, *masks]:
            if not path.is_file():
                raise UsageError(f"{path} does not exist or is not a file.")
        pairs = list(zip(images, masks))
    if len(pairs) == 1 and not out.is_dir():
        if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise UsageError(f"--out {out.name}: use a file name ending in .png or .jpg (or an existing folder).")
        _check_parent(out)
        if landmarks_out is not None:
            _check_parent(landmarks_out)
        if landmarks_in is not None and not landmarks_in.is_file():
            raise UsageError(f"--landmarks-in {landmarks_in} does not exist or is not a file.")
        return [Job(pairs[0][0], pairs[0][1], out, landmarks_out, landmarks_in)]
    if landmarks_in is not None and not landmarks_in.is_dir():
        raise UsageError("With several photos, --landmarks-in must be a folder of NAME.landmarks.json files.")
    folders = [out] + ([landmarks_out] if landmarks_out is not None else [])
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"With several photos, {folder} must be a folder.")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(f"Cannot create the folder {folder}: {exc.strerror or exc}.") from exc
    stems = [image.stem for image, _ in pairs]
    if len(set(stems)) != len(stems):
        raise UsageError("Two photos have the same file name; their results would overwrite each other.")
    return [Job(image, mask, out / f"{image.stem}.png",
                None if landmarks_out is None else landmarks_out / f"{image.stem}.landmarks.json",
                None if landmarks_in is None else landmarks_in / f"{image.stem}.landmarks.json")
            for image, mask in pairs]


def _pair_folder(image_dir: Path, mask_dir: Path) -> list[tuple[Path, Path]]:
    masks = {p.stem.lower(): p for p in mask_dir.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES}
    pairs = []
    for image in sorted(p for p in image_dir.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES):
        if image_dir.resolve() == mask_dir.resolve() and _is_mask_name(image.stem):
            continue
        names = [pattern.format(stem=image.stem).lower() for pattern in _MASK_NAME_PATTERNS]
        if image_dir.resolve() == mask_dir.resolve():
            names = names[:-1]  # in a shared folder the photo cannot be its own mask
        mask = next((masks[n] for n in names if n in masks), None)
        if mask is None:
            raise UsageError(f"No mask for {image.name} in {mask_dir} (expected {image.stem}.png or "
                             f"{image.stem}_mask.png).")
        pairs.append((image, mask))
    if not pairs:
        raise UsageError(f"No photos found in {image_dir}.")
    return pairs


def _is_mask_name(stem: str) -> bool:
    lowered = stem.lower()
    return lowered.endswith(("_mask", "-mask", ".mask"))


def _check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise UsageError(f"The folder {path.parent} for {path.name} does not exist.")


def _parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        left, top, right, bottom = (float(v) for v in text.split(","))
    except ValueError:
        raise UsageError("--face-box must be four numbers: LEFT,TOP,RIGHT,BOTTOM (photo pixels).") from None
    if right <= left or bottom <= top:
        raise UsageError("--face-box needs RIGHT > LEFT and BOTTOM > TOP.")
    return left, top, right, bottom


def _load_case(pipeline: "FacePipeline", job: Job, face_box: tuple[float, float, float, float] | None,
               mask_space: str = "photo", landmarks_key: str | None = None
               ) -> tuple["np.ndarray", "np.ndarray", "FaceAnalysis | None", "np.ndarray | None"]:
    from inference.io.photo import load_mask, load_photo

    landmarks = None if job.landmarks_in is None else read_landmarks_json(job.landmarks_in, landmarks_key)
    photo = load_photo(job.image)
    mask = load_mask(job.mask)
    if mask_space == "photo" and mask.shape != photo.rgb.shape[:2]:
        h, w = photo.rgb.shape[:2]
        raise MaskError(f"The mask {job.mask.name} is {mask.shape[1]} x {mask.shape[0]} pixels; it must match the "
                        f"photo {job.image.name} ({w} x {h}). For a mask drawn on the model's face crop, "
                        "add --mask-space crop.")
    analysis = pipeline.analyse_manual(photo.rgb, face_box) if face_box else None
    return photo.rgb, mask, analysis, landmarks


def _write_outputs(job: Job, record: "PredictionRecord", image: "np.ndarray") -> None:
    from inference.io.photo import save_image

    save_image(job.out, image)
    if job.landmarks_out is not None:
        write_landmarks_json(job.landmarks_out, record)


def write_landmarks_json(path: Path, result: "PredictionRecord | PipelineResult") -> None:
    """The model's and the detector's landmarks, the face box and crop, in photo pixels."""
    from inference.atomic import atomic_write_bytes

    def points(array: "np.ndarray | None") -> list[list[float]] | None:
        return None if array is None else [[round(float(x), 2), round(float(y), 2)] for x, y in array]

    analysis = result.analysis
    document = {
        "coordinates": "photo pixels (x, y), origin at the top-left pixel's corner; iBUG 300-W 68-point order",
        "model": result.model_name,
        "model_landmarks": points(result.landmarks),
        "detected_landmarks": points(analysis.landmarks),
        **({} if result.guide_landmarks is None else {"guide_landmarks": points(result.guide_landmarks)}),
        "landmark_detector": analysis.landmark_detector,
        "face_box": {"left": analysis.box.left, "top": analysis.box.top, "right": analysis.box.right,
                     "bottom": analysis.box.bottom, "detector": analysis.box.detector},
        "face_crop": {"x0": analysis.crop.x0, "y0": analysis.crop.y0, "size": analysis.crop.size},
    }
    atomic_write_bytes(path, json.dumps(document).encode("utf-8"))


def read_landmarks_json(path: Path, key: str | None = None) -> "np.ndarray":
    """(68, 2) float32 photo-pixel landmarks from a JSON file; a point written as null is NaN.

    Accepts the ``--landmarks-out`` document (``key``, else the first present of ``LANDMARK_KEYS``),
    ``{"landmarks": [[x, y], ...]}`` or a bare list of 68 ``[x, y]`` pairs.
    """
    import numpy as np

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SteeringError(f"The landmarks file {path.name} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SteeringError(f"The landmarks file {path.name} cannot be read as JSON ({exc}).") from None
    points = document
    if isinstance(document, dict):
        keys = (key,) if key else LANDMARK_KEYS
        points = next((document[k] for k in keys if document.get(k) is not None), None)
        if points is None:
            raise SteeringError(f"The landmarks file {path.name} has no {' or '.join(keys)} points.")
    try:
        array = np.array([[np.nan, np.nan] if p is None else [float(p[0]), float(p[1])] for p in points],
                         np.float32)
    except (TypeError, ValueError, IndexError, KeyError):
        raise SteeringError(f"The landmarks in {path.name} must be a list of [x, y] pairs.") from None
    if array.shape != (68, 2) or np.isinf(array).any():
        raise SteeringError(f"The landmarks file {path.name} must hold 68 points [x, y] in photo pixels "
                            f"(iBUG 300-W order), not {len(array)}.")
    return array


# ---------------------------------------------------------------- measures

def _cmd_measures(args: argparse.Namespace) -> int:
    import numpy as np

    from inference.io.photo import load_photo
    from inference.measures import nasolabial_measures

    if not args.image.is_file():
        raise UsageError(f"{args.image} does not exist or is not a file.")
    rgb = load_photo(args.image).rgb
    if args.landmarks is not None:
        landmarks, source = read_landmarks_json(args.landmarks, args.landmarks_key), f"file {args.landmarks.name}"
        if np.isnan(landmarks).any():
            raise SteeringError(f"The landmarks file {args.landmarks.name} leaves points out; measures need all 68.")
    else:
        from inference.pipeline import FacePipeline

        analysis = FacePipeline().analyse(rgb)
        landmarks, source = analysis.landmarks, analysis.landmark_detector
    h, w = rgb.shape[:2]
    document = {"image": args.image.name, "image_size": [w, h], "landmarks_source": source,
                **nasolabial_measures(landmarks).to_dict()}
    print(json.dumps(document, indent=2))
    return EXIT_OK
