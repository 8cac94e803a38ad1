"""Inference benchmark (a script, not a test): where the surgeon's waiting time goes.

    python benchmarks/bench_inference.py [--repeats 5] [--threads N] [--json out.json]

Reports, on this machine:
1. the median time per pipeline stage (load, detect, landmarks, crop/prepare, network forward,
   paste-back) for the full-size (width 1.0) and the lite (width 0.25) NCLG-MT network at
   256 x 256, on a real face photo as shipped (200 px) and the same face enlarged to 24 MP;
2. the forward time of our network against a faithful naive reference (the same forward, but the
   landmark map is built with the published code's Python loop), run in the same process;
3. bf16 autocast against fp32 on the CPU: forward time ratio and the largest output difference;
4. the cost of the harmonic coarse stage (``coarse_fill="harmonic"``): the forward with it against
   the same weights without it, and the fill alone;
5. the cost of stage 3 (the shipped lite network: lip prior, heat-map landmark head, Gaussian
   landmark feedback) against stage 2, and of re-rendering the image branch from new landmarks;
6. the comparison networks (EdgeConnect, LaFIn, CTSDG, full size and lite): the same stages through
   the model manager, with their TRAINED weights only; a model whose weights are missing is skipped
   with the reason printed (``--comparison-only`` runs just this part).

The networks of parts 1-5 have RANDOM weights: timing does not depend on the weight values, but the
images they produce are meaningless. The application itself never runs a network without trained weights.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.devices import describe_device  # noqa: E402
from inference.io import load_photo, save_image  # noqa: E402
from inference.models.base import TorchInpaintModel  # noqa: E402
from inference.models.nclg_mt import NUM_LANDMARKS, NCLGMTGenerator, _resize_hole  # noqa: E402
from inference.models.registry import get_spec  # noqa: E402
from inference.pipeline import FacePipeline  # noqa: E402

SHARED_DATA = REPO.parent / "shared" / "data"
FACE = SHARED_DATA / "utkface" / "100_1_0_20170110183726390.jpg.chip.jpg"
NETWORKS = {"full (width 1.0)": ("nclg-mt", 1.0), "lite (width 0.25)": ("nclg-mt-lite", 0.25)}
STAGES = ("load", "detect", "landmarks", "prepare", "forward", "paste_blend", "paste")


def naive_landmark_map(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """The published code's way: a zero map, then a Python loop setting one pixel per point."""
    n = landmarks.shape[0]
    out = torch.zeros(n, NUM_LANDMARKS, size, size, dtype=landmarks.dtype, device=landmarks.device)
    for i in range(n):
        for p in range(NUM_LANDMARKS):
            x = min(max(int(landmarks[i, p, 0] * size), 0), size - 1)
            y = min(max(int(landmarks[i, p, 1] * size), 0), size - 1)
            out[i, p, y, x] = 1
    return out


class NaiveNCLGMTGenerator(NCLGMTGenerator):
    """A copy of ``NCLGMTGenerator.forward`` differing only in how the landmark map is built."""

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        known = 1 - hole
        x = torch.cat([image * known, hole], dim=1)
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        hole64 = _resize_hole(hole, e3.shape[-1])
        shared = self.attention(self.middle(e3), e3, hole64)
        d1 = self.dec1(shared)
        known128 = 1 - _resize_hole(hole, d1.shape[-1])
        f1 = self.fuse1(torch.cat([e2 * known128, d1], dim=1))
        landmarks = self.landmarks(shared, f1)
        f2 = self.fuse2(torch.cat([naive_landmark_map(landmarks, d1.shape[-1]), f1], dim=1))
        d2 = self.dec2(f2)
        f3 = self.fuse3(torch.cat([e1 * known, d2], dim=1))
        out = (torch.tanh(self.to_rgb(f3)) + 1) / 2
        return out, landmarks


def paired_medians(a: Callable[[], object], b: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median times of ``a`` and ``b`` run alternately, so a busy machine slows both alike."""
    a(), b()                                                  # warm-up
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((a, times_a), (b, times_b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times_a), statistics.median(times_b)


def make_photos(folder: Path) -> dict[str, Path]:
    """The real face as shipped, and the same face enlarged to 6000 x 4000 (24 MP) as a camera JPEG."""
    import cv2

    face = load_photo(FACE).rgb
    big = cv2.resize(face, (4000, 4000), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((4000, 6000, 3), 200, np.uint8)
    canvas[:, 1000:5000] = big
    save_image(folder / "face_24mp.jpg", canvas)
    return {f"{face.shape[1]}x{face.shape[0]} JPEG": FACE, "6000x4000 JPEG (24 MP)": folder / "face_24mp.jpg"}


def mouth_mask(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    lo = np.floor(landmarks[48:68].min(axis=0)).astype(int)
    hi = np.ceil(landmarks[48:68].max(axis=0)).astype(int)
    pad = max(2, (hi - lo).max() // 10)
    mask = np.zeros(rgb.shape[:2], bool)
    mask[lo[1] - pad:hi[1] + pad, lo[0] - pad:hi[0] + pad] = True
    return mask


def bench_stages(photo_path: Path, model: TorchInpaintModel, pipeline: FacePipeline, repeats: int) -> dict[str, float]:
    rgb = load_photo(photo_path).rgb
    mask = mouth_mask(rgb, pipeline.analyse(rgb).landmarks)
    pipeline.predict(rgb, mask, model)                       # warm-up (first call loads dlib models)
    runs: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for _ in range(repeats):
        start = time.perf_counter()
        rgb = load_photo(photo_path).rgb
        runs["load"].append(time.perf_counter() - start)
        result = pipeline.predict(rgb, mask, model)
        for stage in STAGES[1:]:
            runs[stage].append(result.timings[stage])
    medians = {stage: statistics.median(values) for stage, values in runs.items()}
    medians["total"] = sum(v for k, v in medians.items() if k != "paste_blend")   # blend is part of paste
    return medians


def bench_naive(width: float, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    ours = NCLGMTGenerator(width=width).eval()
    naive = NaiveNCLGMTGenerator(width=width).eval()
    naive.load_state_dict(ours.state_dict())
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 150:200, 90:170] = 1
    with torch.inference_mode():
        out_a, lm_a = ours(image, hole)
        out_b, lm_b = naive(image, hole)
        same = torch.equal(lm_a, lm_b) and torch.allclose(out_a, out_b, atol=1e-6)
        t_ours, t_naive = paired_medians(lambda: ours(image, hole), lambda: naive(image, hole), repeats)
        t_map_ours, t_map_naive = paired_medians(lambda: ours_map(lm_a), lambda: naive_landmark_map(lm_a, 128),
                                                 repeats * 20)
    return {"forward_ours_s": t_ours, "forward_naive_s": t_naive, "naive_over_ours": t_naive / t_ours,
            "map_ours_ms": t_map_ours * 1e3, "map_naive_ms": t_map_naive * 1e3, "outputs_identical": same}


def ours_map(landmarks: torch.Tensor) -> torch.Tensor:
    from inference.models.nclg_mt import landmark_map

    return landmark_map(landmarks, 128)


def bench_bf16(width: float, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    net = NCLGMTGenerator(width=width).eval()
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 150:200, 90:170] = 1

    def bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return net(image, hole)

    with torch.inference_mode():
        out32, lm32 = net(image, hole)
        out16, lm16 = bf16()
        t32, t16 = paired_medians(lambda: net(image, hole), bf16, repeats)
    return {"fp32_s": t32, "bf16_s": t16, "bf16_over_fp32": t16 / t32,
            "max_abs_diff_image": float((out32 - out16.float()).abs().max()),
            "max_abs_diff_image_uint8": float(((out32 * 255).round() - (out16.float() * 255).round()).abs().max()),
            "max_abs_diff_landmarks": float((lm32 - lm16.float()).abs().max())}


def bench_coarse_fill(width: float, repeats: int) -> dict[str, float]:
    from inference.models.coarse_fill import harmonic_fill

    torch.manual_seed(0)
    plain = NCLGMTGenerator(width=width).eval()
    coarse = NCLGMTGenerator(width=width, coarse_fill="harmonic").eval()
    coarse.load_state_dict(plain.state_dict())
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 150:200, 90:170] = 1
    with torch.inference_mode():
        t_plain, t_coarse = paired_medians(lambda: plain(image, hole), lambda: coarse(image, hole), repeats)
        t_fill = statistics.median(_timed(lambda: harmonic_fill(image, hole)) for _ in range(repeats * 4))
    return {"forward_plain_s": t_plain, "forward_coarse_s": t_coarse, "coarse_over_plain": t_coarse / t_plain,
            "fill_alone_ms": t_fill * 1e3}


def bench_lip_prior(width: float, repeats: int) -> dict[str, float]:
    """Stage 3 (heat-map landmarks, Gaussian feedback, lip prior warped by a thin-plate spline) against stage 2."""
    torch.manual_seed(0)
    harmonic = NCLGMTGenerator(width=width, coarse_fill="harmonic").eval()
    prior = NCLGMTGenerator(width=width, coarse_fill="lip_prior", landmark_head="heatmap", landmark_sigma=1.5).eval()
    prior.landmarks.mean_shape.copy_(torch.rand(NUM_LANDMARKS, 2) * 0.5 + 0.25)
    prior.prior.reference.copy_(prior.landmarks.mean_shape[None])
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 150:200, 90:170] = 1
    with torch.inference_mode():
        t_harmonic, t_prior = paired_medians(lambda: harmonic(image, hole), lambda: prior(image, hole), repeats)
        enc = prior.encode(image, hole)
        landmarks, f1 = prior.predict_landmarks(enc)
        t_render = statistics.median(_timed(lambda: prior.render(enc, f1, landmarks)) for _ in range(repeats))
    return {"forward_harmonic_s": t_harmonic, "forward_lip_prior_s": t_prior, "prior_over_harmonic": t_prior / t_harmonic,
            "rerender_s": t_render}


def comparison_models() -> tuple[list[str], dict[str, str]]:
    """(comparison models whose trained weights are present, {model: why it is skipped} for the others)."""
    from inference.models.comparison import MODELS

    ready, skipped = [], {}
    for name in MODELS:
        status = get_spec(name).weights_status()
        if status.available:
            ready.append(name)
        else:
            skipped[name] = status.reason
    return ready, skipped


def bench_comparison(pipeline: FacePipeline, repeats: int, device: torch.device, report: dict[str, object]) -> None:
    """Part 6: the comparison networks with trained weights, through the manager, stage by stage."""
    from inference.models.manager import ModelManager

    ready, skipped = comparison_models()
    report["comparison_skipped"] = skipped
    stages: dict[str, dict[str, float]] = {}
    print("\nComparison networks (trained weights only), median time per stage (ms), batch of 1:")
    for name, reason in skipped.items():
        print(f"  {name}: skipped: {reason}")
    manager = ModelManager()
    if ready:
        print(f"  {'':44}" + "".join(f"{s.replace('paste_blend', 'blend'):>10}" for s in (*STAGES, "total")))
    with tempfile.TemporaryDirectory() as tmp:
        photos = make_photos(Path(tmp)) if ready else {}
        for name in ready:
            model = manager.switch(name, device)
            for photo_name, path in photos.items():
                stages[f"{name}, {photo_name}"] = medians = bench_stages(path, model, pipeline, repeats)
                print(f"  {name + ', ' + photo_name:44}"
                      + "".join(f"{medians[s] * 1e3:10.1f}" for s in (*STAGES, "total")))
    report["comparison_stages_s"] = stages


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    parser.add_argument("--comparison-only", action="store_true",
                        help="only part 6: the comparison networks that have trained weights")
    args = parser.parse_args()
    if not FACE.is_file():
        print(f"error: the benchmark face {FACE} is missing (shared/data not available)", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    if not args.comparison_only:
        print("NOTE: the NCLG-MT networks below have RANDOM weights, built for timing only; their images are "
              "meaningless. The comparison networks (last part) run only with trained weights.")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device: {describe_device(device)} ({os.cpu_count()} cores, load average {load:.1f} at start), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} runs\n")
    report: dict[str, object] = {"random_weights": not args.comparison_only, "device": describe_device(device), "load_average": load,
                                 "torch_threads": torch.get_num_threads(), "repeats": args.repeats}
    pipeline = FacePipeline()
    if args.comparison_only:
        bench_comparison(pipeline, args.repeats, device, report)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        photos = make_photos(Path(tmp))
        stages: dict[str, dict[str, float]] = {}
        for net_name, (model_name, width) in NETWORKS.items():
            torch.manual_seed(0)
            model = TorchInpaintModel(get_spec(model_name), device, NCLGMTGenerator(width=width))
            for photo_name, path in photos.items():
                stages[f"{net_name}, {photo_name}"] = bench_stages(path, model, pipeline, args.repeats)
    report["stages_s"] = stages
    print("Median time per stage (ms), one photo, batch of 1 ('paste' = blend inside the mask's box + copy of "
          "the full photo; 'blend' = the box part alone, already included in 'paste'):")
    header = "".join(f"{s.replace('paste_blend', 'blend'):>10}" for s in (*STAGES, "total"))
    print(f"{'':46}{header}")
    for name, medians in stages.items():
        print(f"{name:46}" + "".join(f"{medians[s] * 1e3:10.1f}" for s in (*STAGES, "total")))

    sections = [
        ("naive_reference", "Forward pass, our network vs the naive reference (published landmark-map loop), same weights:",
         bench_naive, lambda r: f"ours {r['forward_ours_s'] * 1e3:8.1f} ms   naive {r['forward_naive_s'] * 1e3:8.1f} ms"
         f"   naive/ours {r['naive_over_ours']:.3f}   landmark map alone: ours {r['map_ours_ms']:.3f} ms,"
         f" naive {r['map_naive_ms']:.3f} ms   identical outputs: {r['outputs_identical']}"),
        ("bf16_vs_fp32", "bf16 autocast vs fp32 on the CPU (forward pass, batch of 1, random weights):",
         bench_bf16, lambda r: f"fp32 {r['fp32_s'] * 1e3:8.1f} ms   bf16 {r['bf16_s'] * 1e3:8.1f} ms"
         f"   bf16/fp32 {r['bf16_over_fp32']:.3f}   max |diff| image {r['max_abs_diff_image']:.4f}"
         f" ({r['max_abs_diff_image_uint8']:.0f}/255)   landmarks {r['max_abs_diff_landmarks']:.4f}"),
        ("coarse_fill", "Harmonic coarse stage (forward with it vs the same weights without it, batch of 1):",
         bench_coarse_fill, lambda r: f"without {r['forward_plain_s'] * 1e3:8.1f} ms   with {r['forward_coarse_s'] * 1e3:8.1f} ms"
         f"   with/without {r['coarse_over_plain']:.3f}   fill alone {r['fill_alone_ms']:.1f} ms"),
        ("lip_prior", "Lip prior + heat-map landmarks (stage 3) vs the harmonic stage 2, batch of 1; re-render = "
         "image branch only, from new landmarks:",
         bench_lip_prior, lambda r: f"stage 2 {r['forward_harmonic_s'] * 1e3:8.1f} ms   stage 3 {r['forward_lip_prior_s'] * 1e3:8.1f} ms"
         f"   stage3/stage2 {r['prior_over_harmonic']:.3f}   re-render {r['rerender_s'] * 1e3:.1f} ms"),
    ]
    for key, title, bench, describe in sections:
        print(f"\n{title}")
        report[key] = {}
        for net_name, (_, width) in NETWORKS.items():
            report[key][net_name] = result = bench(width, args.repeats)
            print(f"  {net_name:18} {describe(result)}")
    bench_comparison(pipeline, args.repeats, device, report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
