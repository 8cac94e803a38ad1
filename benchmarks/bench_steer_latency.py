"""Steering latency (a script, not a test): mouse release to the new picture, per photo size.

What the app's worker does after each release of a dragged landmark (``app.windows.steering.render_steered``):
predict from the edited landmarks with the loaded model (same mask, same face analysis), store the
picture over the prediction, build the display pyramid. Issue 14 asks <= 1 s for the lite network on
a 2-core CPU at any photo size. The model is loaded once beforehand, as the app's model cache does;
the first render is a warm-up and not counted.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--face", type=Path, default=None)
    parser.add_argument("--model", default="nclg-mt-lite")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 2000, 6000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from app.windows.steering import ModelCache, SteerContext, render_steered
    from inference.face.suggest import suggest_mask
    from inference.pipeline import FacePipeline
    from studies.cases import CaseStore, mask_fingerprint
    from studies.database import open_database

    face = args.face or default_face()
    pipeline, models = FacePipeline(), ModelCache()
    models.get(args.model, args.device)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="steer-bench-") as tmp:
        store = CaseStore(open_database(Path(tmp)))
        for side in args.sizes:
            rgb = photo_of_size(face, side)
            path = Path(tmp) / f"face-{side}.png"
            Image.fromarray(rgb).save(path)
            analysis = pipeline.analyse(rgb)
            mask = suggest_mask(analysis.landmarks, rgb.shape[:2], "upper_lip_nostril")
            case = store.create_case(f"BENCH-{side}", path)
            # A prediction to steer, as a Run would have stored it.
            result = pipeline.predict(rgb, mask, models.get(args.model, args.device), analysis)
            record = store.add_prediction(case.id, args.model, result.image, device=args.device, app_version="bench",
                                          landmarks=result.landmarks, mask_sha256=mask_fingerprint(mask))
            ctx = SteerContext(case.id, rgb, mask, analysis, args.device, pipeline, store)
            edited = result.landmarks.copy()
            height = float(np.ptp(edited[:, 1]))
            times = []
            for i in range(args.repeats + 1):
                edited[51, 1] += 0.01 * height * (1 if i % 2 else -1)   # a small drag of the bow centre
                start = time.perf_counter()
                render_steered(ctx, record.id, args.model, edited, models)
                if i:  # the first one warms up
                    times.append(time.perf_counter() - start)
            results[str(side)] = {"median_s": statistics.median(times), "max_s": max(times)}
            verdict = "ok" if statistics.median(times) <= BUDGET_S else "OVER BUDGET"
            print(f"{side:>5} px: release to picture median {statistics.median(times):.3f} s, "
                  f"max {max(times):.3f} s ({verdict}, budget {BUDGET_S:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
