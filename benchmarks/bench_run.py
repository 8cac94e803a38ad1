"""Run pressed to result shown, and the bytes a prediction stores, on a 24-megapixel photo (a script, not a test).

Issue 11 asks, for the lite network on this CPU: Run pressed to the result shown <= 1.0 s on a 24 MP
photo, and the stored prediction of a 24 MP case <= 5 % of the bytes of the old path. Both paths run in
this one process, through the real window (offscreen Qt), on the same case, mask and model:

* new: the app as it is (the patch's display pyramid drawn over the photo's as soon as the prediction
  exists, then the changed pixels and the mask stored; no full-resolution copy made, encoded or converted);
* old: a copy of the previous Run kept here as the baseline (``OldRunWorker``): the repaired photo made
  whole (twice: the pipeline's eager image and the record's ``apply``), stored as one full-photo PNG,
  and a full RGB888 pyramid of it converted to pixmaps on the GUI thread; reading it back is a
  full-photo PNG decode.

The mask is saved before each timed Run in both paths (the old Run waited for that save; the new one
starts it without waiting), so the times compare the prediction paths themselves. The first Run
(loading the model) is reported apart; the others are medians. "Shown" is the picture drawn in the
side-by-side views; "stored and listed" is it in the case's gallery, written to disk.

Usage:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_run.py [--face PATH] [--repeats 3] [--json out.json]
        [--merge docs/reports/bench_app_cpu.json]
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
sys.path.insert(0, str(ROOT / "benchmarks"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench_app import BenchPrompts, default_face, make_photo, wait  # noqa: E402

MODEL = "nclg-mt-lite"
RUN_BUDGET_S = 1.0
BYTES_BUDGET = 0.05


def old_pyramid_images(rgb: np.ndarray, min_side: int = 512) -> list:
    """The display pyramid as the old Run built it: RGB888 QImages of the whole repaired photo."""
    from app.canvas.images import rgb_to_qimage

    levels = [rgb_to_qimage(rgb)]
    current = rgb
    while min(current.shape[:2]) // 2 >= min_side:
        current = cv2.resize(current, (current.shape[1] // 2, current.shape[0] // 2), interpolation=cv2.INTER_AREA)
        levels.append(rgb_to_qimage(current))
    return levels


def make_old_worker():  # noqa: ANN201 - a ModelRunWorker subclass, built after Qt is imported
    from app.workers import EXPECTED_ERRORS, ModelRunWorker, RunOutcome, describe_error
    from inference.service import PredictionRequest, PredictionService
    from studies.prediction_store import PredictionPatch

    class OldRunWorker(ModelRunWorker):
        """The Run before patches (kept as the baseline): whole photo made, stored as PNG, and drawn."""

        def run(self) -> None:
            from PySide6.QtCore import QCoreApplication

            from inference.devices import describe_device, select_device

            req = self.request
            self.device_ready.emit(describe_device(select_device(req.device)))
            service = self._service or PredictionService(pipeline=self._pipeline)
            total = len(req.model_names)
            for index, name in enumerate(req.model_names):
                start = time.perf_counter()
                try:
                    steps = service.iter_predict(PredictionRequest(req.rgb, req.mask, name, req.device,
                                                                   analysis=req.analysis))
                    prediction = self._drain(steps, index, total)
                    req.rgb.copy()  # the pipeline used to make the repaired photo eagerly
                    image = prediction.apply(req.rgb)
                    record = self._store.add_prediction(  # a whole-photo PNG, as before
                        req.case_id, name, image, device=prediction.device, app_version=req.app_version,
                        weights_sha256=prediction.weights_sha256, landmarks=prediction.landmarks,
                        mask_sha256=prediction.mask_sha256)
                    levels = old_pyramid_images(image)
                    self.result.emit(RunOutcome(name, record, PredictionPatch.whole(image), levels,
                                                prediction.landmarks, time.perf_counter() - start, prediction))
                except EXPECTED_ERRORS as exc:
                    self.error.emit(name, describe_error(exc))
            self.progress.emit(total, total, "Done")
            self.moveToThread(QCoreApplication.instance().thread())
            self.finished.emit(False)

    return OldRunWorker


def bytes_with_camera_noise(photo: Path, sigma: float = 1.0) -> dict[str, float]:
    """Stored bytes, new vs old, on the same synthetic photo with camera-like noise (Gaussian, ``sigma`` levels).

    The upscaled face is smoother than any camera frame (no sensor noise, a flat background), so a
    whole-photo PNG of it is ~10x smaller than one of a real 24 MP photo; this is the same case with the
    noise of a clean camera added.
    """
    from inference.face.suggest import suggest_mask
    from inference.io.photo import load_photo
    from inference.service import PredictionRequest, PredictionService
    from studies.files import encode_png
    from studies.prediction_store import PredictionPatch, encode_prediction

    clean = load_photo(photo).rgb
    rgb = np.clip(clean + np.random.default_rng(0).normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)
    service = PredictionService()
    analysis = service.analyse(rgb)
    mask = suggest_mask(analysis.landmarks, rgb.shape[:2], "upper_lip_nostril")
    record = service.predict(PredictionRequest(rgb, mask, MODEL, "cpu", analysis=analysis))
    encoded = encode_prediction(PredictionPatch.of_record(record, rgb), mask)
    new = len(encoded.image_png) + len(encoded.mask_png)
    old = len(encode_png(record.apply(rgb)))
    return {"sigma": sigma, "new_patch_and_mask": new, "old_full_photo_png": old, "new_over_old": new / old,
            "within_budget": new / old <= BYTES_BUDGET}


def timed_run(app, window) -> tuple[float, float, object]:  # noqa: ANN001
    """Run pressed to the result drawn in both side-by-side views, and to it stored in the case's list.

    Returns (seconds to shown, seconds to stored, the new prediction).
    """
    window.autosave.flush()
    before, shown_before = len(window.state.predictions), window.display.shown
    start = time.perf_counter()
    assert window.runs.run_models([MODEL]), window.prompts.errors
    wait(app, lambda: window.display.shown is not shown_before and window.display.shown is not None)
    for view in (window.compare.left, window.compare.right):
        view.viewport().repaint()
    shown = time.perf_counter() - start
    wait(app, lambda: len(window.state.predictions) > before and not window.state.busy)
    stored = time.perf_counter() - start
    wait(app, lambda: not window.tasks.busy)
    return shown, stored, window.state.current_prediction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--face", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--merge", type=Path, default=None, help="add the results to this JSON file's 'run_24MP'")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.settings import AppSettings
    from app.windows.main_window import MainWindow
    from app.workers import ModelRunWorker
    from inference.io.photo import load_photo
    from inference.models.registry import get_spec

    if not get_spec(MODEL).weights_status().available:
        raise SystemExit(f"{MODEL} has no weights in this checkout")

    results: dict[str, object] = {"cpu_count": os.cpu_count(), "model": MODEL, "photo": "6000 x 4000",
                                  "load_average_before": os.getloadavg()}
    old_worker = make_old_worker()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        tmp = Path(tmp)
        window = MainWindow(AppSettings(data_dir=tmp / "data", device="cpu", default_model=MODEL),
                            prompts=BenchPrompts("BENCH-RUN"))
        window.resize(1280, 800)
        window.show()
        wait(app, lambda: bool(window.state.models))
        photo = make_photo(args.face or default_face(), 6000, 4000, tmp / "big.jpg")
        window.open_photo_file(photo)
        wait(app, lambda: window.state.face is not None and not window.tasks.busy)
        window.masks.suggest_mask()
        rgb = window.photo.rgb

        first, _, _ = timed_run(app, window)  # loads the model (either path would)
        times: dict[str, list[float]] = {"new": [], "old": []}
        stored_s: dict[str, list[float]] = {"new": [], "old": []}
        made: dict[str, object] = {}
        for _ in range(args.repeats):  # interleaved, so a load change on the machine hits both alike
            for path, worker in (("old", old_worker), ("new", ModelRunWorker)):
                window.runs.worker_class = worker
                seconds, stored, prediction = timed_run(app, window)
                times[path].append(seconds)
                stored_s[path].append(stored)
                made[path] = prediction
        window.runs.worker_class = ModelRunWorker

        new, old = made["new"].stored, made["old"].stored
        new_bytes = new.image_path.stat().st_size + (new.mask_path.stat().st_size if new.mask_path else 0)
        old_bytes = old.image_path.stat().st_size
        decode: dict[str, list[float]] = {"new": [], "old": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            new_rgb = window.store.prediction_image(new, rgb)
            decode["new"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            old_rgb = load_photo(old.image_path).rgb
            decode["old"].append(time.perf_counter() - t0)
        same = bool(np.array_equal(new_rgb, old_rgb))
        window.close()
        noisy = bytes_with_camera_noise(photo)

    run_new, run_old = statistics.median(times["new"]), statistics.median(times["old"])
    results["run_to_result_shown_s"] = {
        "first_run_with_model_load": first, "new_median": run_new, "old_median": run_old,
        "new_all": times["new"], "old_all": times["old"], "new_over_old": run_new / run_old,
        "budget_s": RUN_BUDGET_S, "within_budget": run_new <= RUN_BUDGET_S,
        "new_stored_and_listed_median": statistics.median(stored_s["new"]),
        "old_stored_and_listed_median": statistics.median(stored_s["old"])}
    results["stored_prediction_bytes"] = {
        "new_patch_and_mask": new_bytes, "old_full_photo_png": old_bytes, "new_over_old": new_bytes / old_bytes,
        "budget_ratio": BYTES_BUDGET, "within_budget": new_bytes / old_bytes <= BYTES_BUDGET}
    results["stored_prediction_bytes_with_camera_noise"] = noisy
    results["read_back_s"] = {"new_patch_on_photo": statistics.median(decode["new"]),
                              "old_full_png_decode": statistics.median(decode["old"]),
                              "identical_pixels": same}
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    print(f"Run pressed to result shown, 24 MP, {MODEL}: {run_new:.3f} s (old path {run_old:.3f} s, "
          f"{run_new / run_old:.2f}x); stored {new_bytes / 1e3:.0f} kB vs {old_bytes / 1e6:.2f} MB "
          f"({100 * new_bytes / old_bytes:.2f} %; with camera noise {100 * noisy['new_over_old']:.2f} %); "
          f"same pixels read back: {same}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.merge:
        merged = json.loads(args.merge.read_text()) if args.merge.is_file() else {}
        merged["run_24MP_patch_vs_old"] = results
        args.merge.write_text(json.dumps(merged, indent=2))


if __name__ == "__main__":
    main()
