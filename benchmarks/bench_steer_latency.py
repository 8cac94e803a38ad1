"""Steering latency (a script, not a test): mouse release to the new picture shown, and to it stored, per photo size.

What the app's worker does after each release of a dragged landmark (``app.windows.steering.render_steered``):
predict from the edited landmarks through the one prediction path (``PredictionService`` with the shared
``ModelManager``; same mask, same face analysis), build the patch's display pyramid over the photo's and
hand it to the viewers (the preview), then store the changed patch over the prediction. Three times per
render: release to the preview ready on the worker; release to it shown (that plus the GUI thread's share,
the patch pyramid made into pixmaps, timed after the render: in the app it runs while the worker stores);
release to it stored.
Issue 14 asks <= 1 s to the picture for the lite network on a 2-core CPU at any photo size. The model is
loaded once beforehand, as the app's shared manager keeps it; the first render is a warm-up and not counted.

``old`` is a copy of the render before patches, kept as the baseline and timed in the same process
(interleaved with the new one): the whole repaired photo stored as PNG and its full pyramid built, the
picture shown only after that.

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


def render_steered_old(ctx, prediction_id: int, model_name: str, landmarks):  # noqa: ANN001, ANN201
    """The render before patches: the whole repaired photo stored as one PNG, and its whole pyramid."""
    from bench_run import old_pyramid_images

    start = time.perf_counter()
    model = ctx.service.manager.load(model_name, ctx.device)
    result = ctx.service.pipeline.predict(ctx.rgb, ctx.mask, model, ctx.analysis, landmarks=landmarks)
    image = result.patch.apply(ctx.rgb)
    ctx.rgb.copy()  # the pipeline used to make the repaired photo eagerly as well
    ctx.store.rerender_prediction(ctx.case_id, prediction_id, image, landmarks=result.landmarks,
                                  guide_landmarks=None if landmarks is None else result.guide_landmarks)
    old_pyramid_images(image)
    return time.perf_counter() - start


def render_new(ctx, prediction_id: int, model_name: str, landmarks, photo_pixmaps) -> dict[str, float]:  # noqa: ANN001
    """The app's render: seconds from release to the preview ready, to it shown, and to it stored."""
    from app.canvas.images import PredictionLevels
    from app.windows.steering import render_steered

    ready: list[float] = []
    start = time.perf_counter()
    outcome = render_steered(ctx, prediction_id, model_name, landmarks,
                             lambda _preview: ready.append(time.perf_counter()))
    stored = time.perf_counter() - start
    gui = time.perf_counter()
    PredictionLevels(photo_pixmaps, outcome.levels)  # what display.preview does on the GUI thread
    gui = time.perf_counter() - gui
    return {"ready": ready[0] - start, "shown": ready[0] - start + gui, "stored": stored}


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

    from app.canvas.images import pyramid, pyramid_arrays
    from app.windows.steering import SteerContext
    from inference.face.suggest import suggest_mask
    from inference.service import PredictionRequest, PredictionService
    from studies.cases import CaseStore
    from studies.database import open_database
    from studies.prediction_store import PredictionPatch

    QApplication.instance() or QApplication([])
    sys.path.insert(0, str(ROOT / "benchmarks"))

    face = args.face or default_face()
    service = PredictionService()  # the app's: a FacePipeline and the shared default_manager()
    service.manager.load(args.model, args.device)
    results: dict[str, object] = {"load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="steer-bench-") as tmp:
        store = CaseStore(open_database(Path(tmp)))
        for side in args.sizes:
            rgb = photo_of_size(face, side)
            path = Path(tmp) / f"face-{side}.png"
            Image.fromarray(rgb).save(path)
            analysis = service.pipeline.analyse(rgb)
            mask = suggest_mask(analysis.landmarks, rgb.shape[:2], "upper_lip_nostril")
            case = store.create_case(f"BENCH-{side}", path)
            # A prediction to steer, as a Run stores it (its patch and mask).
            first = service.predict(PredictionRequest(rgb, mask, args.model, args.device, analysis=analysis))
            record = store.add_prediction(case.id, args.model, PredictionPatch.of_record(first, rgb),
                                          device=first.device, app_version="bench",
                                          weights_sha256=first.weights_sha256, landmarks=first.landmarks,
                                          mask_sha256=first.mask_sha256, mask=mask)
            ctx = SteerContext(case.id, rgb, mask, analysis, args.device, service, store,
                               tuple(pyramid_arrays(rgb)))
            photo_pixmaps = pyramid(rgb)  # the viewers' photo levels, made when the case opens
            edited = first.landmarks.copy()
            height = float(np.ptp(edited[:, 1]))
            times: dict[str, list[float]] = {"ready": [], "shown": [], "stored": [], "old": []}
            for i in range(args.repeats + 1):
                for which in ("new", "old"):
                    edited[51, 1] += 0.01 * height * (1 if i % 2 else -1)   # a small drag of the bow centre
                    if which == "new":
                        seconds = render_new(ctx, record.id, args.model, edited, photo_pixmaps)
                    else:
                        seconds = {"old": render_steered_old(ctx, record.id, args.model, edited)}
                    if i:  # the first round warms up
                        for key, value in seconds.items():
                            times[key].append(value)
            med = {key: statistics.median(values) for key, values in times.items()}
            shown, old = med["shown"], med["old"]
            results[str(side)] = {"shown_median_s": shown, "shown_max_s": max(times["shown"]),
                                  "ready_median_s": med["ready"], "stored_median_s": med["stored"],
                                  "stored_max_s": max(times["stored"]), "old_median_s": old,
                                  "shown_over_old": shown / old}
            verdict = "ok" if shown <= BUDGET_S else "OVER BUDGET"
            print(f"{side:>5} px: release to picture shown median {shown:.3f} s, max {max(times['shown']):.3f} s "
                  f"({verdict}, budget {BUDGET_S:.1f} s; preview ready {med['ready']:.3f} s); "
                  f"stored {med['stored']:.3f} s; old path {old:.3f} s ({shown / old:.2f}x)")
    results["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
