"""Desktop app timings on this machine (offscreen Qt).

Measures
  * app start to window shown (fresh interpreter, imports included; models listed on a worker),
  * opening a 24-megapixel photo (decode + pyramid + show + face detection),
  * brush-stroke repaint on the 24 MP photo (paint into the photo-sized QImage mask and repaint
    only the dirty rectangle) at fit-to-window and at 100 % zoom; budget: one 60 Hz frame (16.7 ms),
  * panning the 24 MP photo (scroll 40 px + repaint),
  * pressing Run to the prediction shown, per model (classical always, neural when weights exist),
    on the 24 MP photo and on a 1024 px photo.

Usage:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_app.py [--face PATH] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

FRAME_MS = 1000 / 60


class BenchPrompts:
    """The app's prompts for a benchmark: errors go to stderr (and ``errors``), nothing is asked,
    a new case gets the id ``case_id``."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.errors: list[tuple[str, str]] = []

    def error(self, title, text):  # noqa: ANN001
        self.errors.append((title, text))
        print("ERROR:", title, text, file=sys.stderr)

    info = error

    def confirm(self, *a):  # noqa: ANN002
        return False

    def ask_text(self, *a, **k):  # noqa: ANN002, ANN003
        return self.case_id

    def open_file(self, *a):  # noqa: ANN002
        return None

    save_file = open_file


def default_face() -> Path:
    folder = ROOT.parent / "shared" / "data" / "utkface"
    path = folder / "100_0_0_20170112213500903.jpg.chip.jpg"
    if not path.is_file():
        raise SystemExit(f"no face photo at {path}; pass --face")
    return path


def make_photo(face: Path, width: int, height: int, out: Path) -> Path:
    """A face photo upscaled onto a (width x height) canvas, like a clinical camera frame."""
    with Image.open(face) as img:
        rgb = img.convert("RGB")
    side = int(min(width, height) * 0.8)
    canvas = Image.new("RGB", (width, height), (196, 200, 204))
    canvas.paste(rgb.resize((side, side), Image.Resampling.BICUBIC), ((width - side) // 2, (height - side) // 2))
    canvas.save(out, quality=92)
    return out


def startup_seconds(data_dir: Path, repeats: int = 3) -> dict[str, float]:
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from pathlib import Path\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from app.settings import AppSettings\n"
        "from app.windows.main_window import MainWindow\n"
        f"w = MainWindow(AppSettings(data_dir=Path({str(data_dir)!r})))\n"
        "w.show(); app.processEvents()\n"
        "shown = time.perf_counter() - t0\n"
        "while not w.state.models: app.processEvents(); time.sleep(0.005)\n"
        "print(shown, time.perf_counter() - t0)\n"
        "w.close()\n"
    )
    shown, models, process = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                             env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        process.append(time.perf_counter() - start)  # interpreter start to exit
        a, b = (float(v) for v in out.stdout.split()[-2:])
        shown.append(a)
        models.append(b)
    return {"window_shown_s": statistics.median(shown), "model_list_ready_s": statistics.median(models),
            "whole_process_s": statistics.median(process)}


def wait(app, predicate, timeout: float = 600.0) -> None:  # noqa: ANN001
    end = time.perf_counter() + timeout
    while not predicate():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() > end:
            raise TimeoutError("benchmark step timed out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--face", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--strokes", type=int, default=60)
    args = parser.parse_args()

    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.settings import AppSettings
    from app.windows.main_window import MainWindow

    results: dict[str, object] = {"cpu_count": os.cpu_count(), "frame_budget_ms": FRAME_MS}
    face = args.face or default_face()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results["startup"] = startup_seconds(tmp / "startup-data")

        window = MainWindow(AppSettings(data_dir=tmp / "data"), prompts=BenchPrompts("BENCH-1"))
        window.resize(1280, 800)
        window.show()
        wait(app, lambda: bool(window.state.models))

        photos = {"24MP": make_photo(face, 6000, 4000, tmp / "big.jpg"),
                  "1MP": make_photo(face, 1024, 1024, tmp / "small.jpg")}
        runs: dict[str, dict[str, float]] = {}
        for label, path in photos.items():
            start = time.perf_counter()
            window.open_photo_file(path)
            wait(app, lambda: window.state.case is not None and window.photo is not None
                 and window.photo.source_path == path)
            shown = time.perf_counter() - start
            wait(app, lambda: window.state.face is not None)
            results[f"open_{label}"] = {"shown_s": shown, "face_found_s": time.perf_counter() - start}
            window.masks.suggest_mask()
            if label == "24MP":
                results["stroke_24MP"] = stroke_benchmark(app, window, args.strokes, QPointF)
                results["pan_24MP"] = pan_benchmark(app, window)
                window.masks.suggest_mask()
            runs[label] = {}
            for model in [m for m in window.state.models if m.available]:
                before = len(window.state.predictions)
                start = time.perf_counter()
                window.runs.run_models([model.name])
                wait(app, lambda: len(window.state.predictions) > before and window.compare.right.has_image()
                     and not window.state.busy)
                app.processEvents()
                runs[label][model.name] = time.perf_counter() - start
        results["run_to_result_shown_s"] = runs
        results["models_without_weights"] = [m.name for m in window.state.models if not m.available]
        window.close()

    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


def stroke_benchmark(app, window, strokes: int, QPointF) -> dict[str, float]:  # noqa: ANN001, N803
    """Per segment: paint into the photo-sized mask, then repaint exactly the dirty rectangle.

    The repaint is forced synchronously (``viewport().repaint(rect)``) so the time includes
    drawing the photo and mask under the stroke; the painted area is recorded to show that only
    the dirty rectangle, never the whole 24 MP frame, is redrawn.
    """
    from PySide6.QtCore import QRectF

    canvas = window.canvas
    layer = canvas.layer
    out: dict[str, float] = {}
    window.state.set_brush_size(60)
    dirty: list = []
    item_update = layer.on_change

    def record(rect) -> None:  # noqa: ANN001
        dirty.append(rect)
        item_update(rect)

    layer.on_change = record
    for zoom_label, zoom in (("fit", None), ("100pct", 1.0)):
        if zoom is None:
            canvas.fit()
        else:
            canvas.set_zoom(zoom)
            canvas.centerOn(QPointF(3000, 2000))
        app.processEvents()
        centre = canvas.mapToScene(canvas.viewport().rect().center())
        times, screen_px, photo_px = [], [], []
        canvas.tool_press(centre)
        step = 8 / canvas.zoom  # 8 screen pixels per mouse event
        for i in range(strokes):
            # zig-zag across the centre so that every segment stays on the photo
            p = QPointF(centre.x() + step * abs((i % 40) - 20), centre.y() + step * (i // 40))
            dirty.clear()
            t0 = time.perf_counter()
            canvas.tool_move(p)
            rect = canvas.mapFromScene(QRectF(dirty[0])).boundingRect().adjusted(-2, -2, 2, 2)
            canvas.viewport().repaint(rect)
            times.append((time.perf_counter() - t0) * 1000)
            screen_px.append(rect.width() * rect.height())
            photo_px.append(dirty[0].width() * dirty[0].height())
        canvas.tool_release(p)
        app.processEvents()
        out[f"{zoom_label}_median_ms"] = statistics.median(times)
        out[f"{zoom_label}_p95_ms"] = float(np.percentile(times, 95))
        out[f"{zoom_label}_max_ms"] = max(times)
        out[f"{zoom_label}_median_repainted_screen_px"] = statistics.median(screen_px)
        out[f"{zoom_label}_median_dirty_photo_px"] = statistics.median(photo_px)
    layer.on_change = item_update
    t0 = time.perf_counter()
    mask = layer.to_bool()
    out["full_mask_to_numpy_ms"] = (time.perf_counter() - t0) * 1000  # only on save/run, never per stroke
    out["mask_pixels"] = int(mask.sum())
    canvas.undo_stack.undo()
    return out


def pan_benchmark(app, window) -> dict[str, float]:  # noqa: ANN001
    canvas = window.canvas
    out = {}
    for label, zoom in (("fit_x2", None), ("100pct", 1.0)):
        if zoom is None:
            canvas.fit()
            canvas.set_zoom(canvas.zoom * 2)
        else:
            canvas.set_zoom(1.0)
        app.processEvents()
        bar = canvas.horizontalScrollBar()
        times = []
        for i in range(40):
            t0 = time.perf_counter()
            bar.setValue(bar.value() + (40 if (i // 10) % 2 == 0 else -40))
            canvas.viewport().repaint()
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{label}_median_ms"] = statistics.median(times)
        out[f"{label}_p95_ms"] = float(np.percentile(times, 95))
    canvas.fit()
    return out


if __name__ == "__main__":
    main()
