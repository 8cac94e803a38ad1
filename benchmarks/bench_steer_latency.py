"""Steering latency (a script, not a test): mouse release to the new picture, per photo size.

What the app's worker does after each release of a dragged landmark (``app.windows.steering.render_steered``):
predict from the edited landmarks with the loaded model (same mask, same face analysis), store the
changed patch over the prediction, build the patch's display pyramid over the photo's. Issue 14 asks
<= 1 s for the lite network on a 2-core CPU at any photo size. The model is loaded once beforehand, as
the app's model cache does; the first render is a warm-up and not counted.

``old`` is a copy of the render before patches, kept as the baseline and timed in the same process
(interleaved with the new one): the whole repaired photo stored as PNG and its full pyramid built.

Usage:  python benchmarks/bench_steer_latency.py [--face PATH] [--model nclg-mt-lite] [--sizes 640 2000 6000]
                                                  [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

BUDGET_S = 1.0


def default_face() -> Path:
    path = ROOT.parent / "shared" / "data" / "utkface" / "100_0_0_20170112213500903.jpg.chip.jpg"
    if not path.is_file():
        raise SystemExit(f"no face photo at {path}; pass --face")
    return path


def photo_of_size(face: Path, side: int) -> np.ndarray:
    """The face upscaled onto a square canvas of ``side`` pixels (80 % of it), like a camera frame."""
    with Image.open(face) as img:
        rgb = img.convert("RGB")
    inner = int(side * 0.8)
    canvas = Image.new("RGB", (side, side), (196, 200, 204))
    canvas.paste(rgb.resize((inner, inner), Image.Resampling.BICUBIC), ((side - inner) // 2, (side - inner) // 2))
    return np.asarray(canvas)


def render_steered_old(ctx, prediction_id: int, model_name: str, landmarks, models):  # noqa: ANN001, ANN201
    """The render before patches: the whole repaired photo stored as one PNG, and its whole pyramid."""
    from bench_run import old_pyramid_images

    start = time.perf_counter()
    model = models.get(model_name, ctx.device)
    result = ctx.pipeline.predict(ctx.rgb, ctx.mask, model, ctx.analysis, landmarks=landmarks)
    image = result.patch.apply(ctx.rgb)
    ctx.rgb.copy()  # the pipeline used to make the repaired photo eagerly as well
    ctx.store.rerender_prediction(ctx.case_id, prediction_id, image, landmarks=result.landmarks,
                                  guide_landmarks=None if landmarks is None else result.guide_landmarks)
    old_pyramid_images(image)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--face", type=Path, default=None)
    parser.add_argument("--model", default="nclg-mt-lite")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 2000, 6000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from app.canvas.images import pyramid_arrays
    from app.windows.steering import ModelCache, SteerContext, render_steered
    from inference.face.suggest import suggest_mask
    from inference.pipeline import FacePipeline
    from studies.cases import CaseStore
    from studies.database import open_database
    from studies.prediction_store import PredictionPatch

    QApplication.instance() or QApplication([])
    sys.path.insert(0, str(ROOT / "benchmarks"))

    face = args.face or default_face()
    pipeline, models = FacePipeline(), ModelCache()
    models.get(args.model, args.device)
    results: dict[str, object] = {"load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="steer-bench-") as tmp:
        store = CaseStore(open_database(Path(tmp)))
        for side in args.sizes:
            rgb = photo_of_size(face, side)
            path = Path(tmp) / f"face-{side}.png"
            Image.fromarray(rgb).save(path)
            analysis = pipeline.analyse(rgb)
            mask = suggest_mask(analysis.landmarks, rgb.shape[:2], "upper_lip_nostril")
            case = store.create_case(f"BENCH-{side}", path)
            # A prediction to steer, as a Run stores it (its patch and mask).
            result = pipeline.predict(rgb, mask, models.get(args.model, args.device), analysis)
            top, left, bottom, right = result.patch.bounds
            patch = PredictionPatch(result.patch.pixels, (left, top, right, bottom), (side, side))
            record = store.add_prediction(case.id, args.model, patch, device=args.device, app_version="bench",
                                          landmarks=result.landmarks, mask=mask)
            ctx = SteerContext(case.id, rgb, mask, analysis, args.device, pipeline, store,
                               tuple(pyramid_arrays(rgb)))
            edited = result.landmarks.copy()
            height = float(np.ptp(edited[:, 1]))
            times: dict[str, list[float]] = {"new": [], "old": []}
            for i in range(args.repeats + 1):
                for path in ("new", "old"):
                    edited[51, 1] += 0.01 * height * (1 if i % 2 else -1)   # a small drag of the bow centre
                    start = time.perf_counter()
                    if path == "new":
                        render_steered(ctx, record.id, args.model, edited, models)
                        seconds = time.perf_counter() - start
                    else:
                        seconds = render_steered_old(ctx, record.id, args.model, edited, models)
                    if i:  # the first round warms up
                        times[path].append(seconds)
            new, old = statistics.median(times["new"]), statistics.median(times["old"])
            results[str(side)] = {"median_s": new, "max_s": max(times["new"]), "old_median_s": old,
                                  "new_over_old": new / old}
            verdict = "ok" if new <= BUDGET_S else "OVER BUDGET"
            print(f"{side:>5} px: release to picture median {new:.3f} s, max {max(times['new']):.3f} s "
                  f"({verdict}, budget {BUDGET_S:.1f} s); old path {old:.3f} s ({new / old:.2f}x)")
    results["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
