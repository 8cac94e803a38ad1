"""Steering benchmark (a script, not a test): does the drawn mouth follow moved landmarks?

    python benchmarks/bench_steering.py [--faces 10] [--ages all|adults|infants] [--model nclg-mt-lite]
                                        [--shift 0.05] [--grid grid.png] [--json out.json]

For each of the first N held-out faces of the UTKFace crop cache (``data-cache/utkface``, split
"test"; the script stops with a message when the cache is absent):

1. the face's own 68 landmarks (dlib, from the cache) are the guide of the *base* render; the *moved*
   render gets the same guide with the mouth points (48-67) moved down by ``--shift`` of the face
   height (the height of the 68 points' bounding box, brows to chin);
2. both are rendered by the network with the whole mouth and nostril sill masked
   (``mouth_nostril_mask``, the union of the masks of the original and the moved landmarks, so the
   network may draw the mouth at either place);
3. dlib's 68 points are detected on both outputs (``default_landmark_detector()`` on the crop, with
   the face box ``inference.face.detect`` finds on the unmasked crop, the same box for both), and
   the script prints how far the detected mouth moved between the two renders, along the request,
   as a share of the request (issue 14 asks >= 60 %), and how far the unedited points (0-47) moved,
   as a share of the request (issue 14 asks <= 15 %); the nose base (31-35, inside the hole) apart.
   The unedited points are also split by where they lie: outside the hole the two renders' pixels
   are identical, so any motion there is dlib re-fitting its shape model around the new mouth; and
   into the jaw line (0-16), which dlib places partly from the mouth, and the points above the mouth;
4. detector-free: how far the drawn nose base itself moved between the renders, by phase
   correlation of the window around points 31-35 (the only unedited anatomy the network redraws);
5. the detector's floor: the same measures on a perfect edit, the photo itself against the photo
   whose own mouth is warped to the moved points inside the same hole (``perfect_edit``). What
   dlib reports there as unedited motion no renderer can go below.

Comparing the two renders, not a render with the photo, removes the detector's own bias and the
network's imperfect mouth from the figure. Run it with the weights to be judged in place.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.face.detect import detect_faces  # noqa: E402
from inference.face.landmarks import default_landmark_detector  # noqa: E402
from inference.face.regions import MOUTH, NOSE_BASE  # noqa: E402
from inference.face.suggest import mouth_nostril_mask  # noqa: E402
from inference.models.registry import load_model  # noqa: E402

CACHE = REPO / "data-cache" / "utkface"
UNEDITED = tuple(i for i in range(68) if i not in MOUTH)
JAW = tuple(range(0, 17))          # the chin contour: dlib places it from the mouth as much as from the chin
ABOVE = tuple(range(17, 48))       # brows, eyes, nose
NOSE = tuple(NOSE_BASE)


def face_height(landmarks: np.ndarray) -> float:
    """Height of the 68 points' bounding box (brows to chin), in their pixels."""
    return float(landmarks[:, 1].max() - landmarks[:, 1].min())


def drawn_shift(before: np.ndarray, after: np.ndarray, points: np.ndarray, margin: int = 10) -> float:
    """Pixels the picture moved between two renders in the window around ``points``, by phase correlation."""
    import cv2

    h, w = before.shape[:2]
    x0, y0 = (np.floor(points.min(0)).astype(int) - margin).clip(0)
    x1, y1 = np.ceil(points.max(0)).astype(int) + margin
    x1, y1 = min(w, x1), min(h, y1)

    def gray(image: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)

    window = cv2.createHanningWindow((x1 - x0, y1 - y0), cv2.CV_32F)
    (dx, dy), _response = cv2.phaseCorrelate(gray(before), gray(after), window)
    return float(np.hypot(dx, dy))


def perfect_edit(image: np.ndarray, points: np.ndarray, moved: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The photo's own mouth moved to ``moved`` by a thin-plate warp through all 68 points, inside ``hole`` only.

    The detector's floor: an edit that moves exactly the mouth, with real pixels, and leaves every
    pixel outside the hole as it was, the same as the network's two renders.
    """
    import torch

    from inference.models.lip_prior import warp

    size = image.shape[0]
    source = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    normalised = [torch.from_numpy(p / size).float()[None] for p in (points, moved)]
    warped = warp(source, *normalised)[0].permute(1, 2, 0).numpy()
    warped = np.clip(np.rint(warped * 255), 0, 255).astype(np.uint8)
    return np.where(hole[..., None], warped, image)


def motion_measures(found_base: np.ndarray, found_moved: np.ndarray, request: np.ndarray, hole: np.ndarray) -> dict:
    """How far the detected points moved between two pictures, as shares of the requested mouth move."""
    size = hole.shape[0]
    motion = found_moved - found_base
    length = float(np.linalg.norm(request))
    unit = request / length
    where = found_base[list(UNEDITED)].round().astype(int).clip(0, size - 1)
    in_hole = hole[where[:, 1], where[:, 0]]
    unedited = np.linalg.norm(motion[list(UNEDITED)], axis=1) / length
    return {
        "mouth_followed": float((motion[list(MOUTH)] @ unit).mean() / length),
        "mouth_moved": float(np.linalg.norm(motion[list(MOUTH)], axis=1).mean() / length),
        "unedited_moved": float(unedited.mean()),
        "unedited_moved_max": float(unedited.max()),
        "nose_base_moved": float(np.linalg.norm(motion[list(NOSE)], axis=1).mean() / length),
        "jaw_moved": float(np.linalg.norm(motion[list(JAW)], axis=1).mean() / length),
        "above_mouth_moved": float(np.linalg.norm(motion[list(ABOVE)], axis=1).mean() / length),
        "unedited_outside_hole_moved": float(unedited[~in_hole].mean()) if (~in_hole).any() else 0.0,
        "unedited_in_hole_moved": float(unedited[in_hole].mean()) if in_hole.any() else 0.0,
    }


def measure_face(model, detector, image: np.ndarray, landmarks_norm: np.ndarray, shift: float) -> dict | None:
    size = image.shape[0]
    points = landmarks_norm.astype(np.float64) * size
    request = np.zeros(2)
    request[1] = shift * face_height(points)                     # pixels, straight down
    moved = points.copy()
    moved[list(MOUTH)] += request
    hole = mouth_nostril_mask(points, (size, size)) | mouth_nostril_mask(moved, (size, size))
    boxes = detect_faces(image)
    if not boxes:
        return None
    guides = np.stack([points, moved]) / size
    start = time.perf_counter()
    base, steered = model.predict_batch(np.stack([image, image]), np.stack([hole, hole]),
                                        guides.clip(0, 1).astype(np.float32))
    seconds = (time.perf_counter() - start) / 2
    found_base = detector(base.image, boxes[0]).astype(np.float64)
    found_moved = detector(steered.image, boxes[0]).astype(np.float64)
    control = motion_measures(detector(image, boxes[0]).astype(np.float64),
                              detector(perfect_edit(image, points, moved, hole), boxes[0]).astype(np.float64),
                              request, hole)
    length = float(np.linalg.norm(request))
    return {
        "request_px": length,
        **motion_measures(found_base, found_moved, request, hole),
        "nose_drawn_shift": drawn_shift(base.image, steered.image, points[list(NOSE)]) / length,
        "hole_share": float(hole.mean()),
        "render_s": seconds,
        "perfect_edit": control,
        "images": (image, hole, base.image, steered.image, points, moved),
    }


def save_grid(path: Path, rows: list[dict]) -> None:
    import cv2

    from inference.io import save_image

    tiles = []
    for row in rows:
        image, hole, base, steered, points, moved = row["images"]
        masked = image.copy()
        masked[hole] = (255, 255, 255)
        drawn = []
        for picture, guide in ((masked, points), (base, points), (steered, moved)):
            picture = picture.copy()
            for x, y in guide[list(MOUTH)]:
                cv2.circle(picture, (int(round(x)), int(round(y))), 2, (0, 200, 0), -1)
            drawn.append(picture)
        tiles.append(np.concatenate([image, *drawn], axis=1))
    save_image(path, np.concatenate(tiles, axis=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=10, help="held-out faces (the first N of the test split)")
    parser.add_argument("--model", default="nclg-mt-lite")
    parser.add_argument("--ages", choices=("all", "adults", "infants"), default="all",
                        help="which held-out faces (the cache's test split starts with infants)")
    parser.add_argument("--shift", type=float, default=0.05, help="mouth move, as a share of the face height")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--grid", type=Path, default=None, help="PNG: photo, masked, base render, moved render")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.cache / "info.json").is_file():
        print(f"skipped: no face-crop cache at {args.cache} (build it with 'python -m training prepare utkface ...')")
        return 0
    from training.data.dataset import FaceCropSet

    faces = FaceCropSet(args.cache, "test", {"all": None, "adults": False, "infants": True}[args.ages],
                        limit=args.faces)
    model = load_model(args.model, "cpu")
    if not model.accepts_landmarks:
        print(f"{args.model} cannot be steered by landmarks.")
        return 1
    detector = default_landmark_detector()
    print(f"{args.model} ({model.spec.display_name}); {len(faces)} held-out faces ({args.ages}); mouth moved down by "
          f"{args.shift:.0%} of the face height; landmarks of the renders by {detector.name}")
    rows = []
    for i in range(len(faces)):
        image, landmarks_norm = faces.get(i, model.spec.resolution)
        row = measure_face(model, detector, image, landmarks_norm, args.shift)
        if row is None:
            print(f"face {i}: no face found in the crop, skipped")
            continue
        rows.append(row)
        print(f"face {i:3d}: request {row['request_px']:5.1f} px  mouth followed {row['mouth_followed']:6.1%}  "
              f"unedited moved {row['unedited_moved']:6.1%} (max {row['unedited_moved_max']:6.1%})  "
              f"nose base {row['nose_base_moved']:6.1%} (drawn {row['nose_drawn_shift']:6.1%})  render {row['render_s'] * 1000:5.0f} ms")
    if not rows:
        print("no face could be measured")
        return 1
    keys = ("mouth_followed", "mouth_moved", "unedited_moved", "unedited_moved_max", "nose_base_moved",
            "unedited_outside_hole_moved", "unedited_in_hole_moved", "jaw_moved", "above_mouth_moved",
            "nose_drawn_shift", "render_s")
    summary = {k: {"mean": statistics.fmean(r[k] for r in rows), "median": statistics.median(r[k] for r in rows)}
               for k in keys}
    floor = {k: {"mean": statistics.fmean(r["perfect_edit"][k] for r in rows),
                 "median": statistics.median(r["perfect_edit"][k] for r in rows)} for k in rows[0]["perfect_edit"]}
    print(f"\nmean over {len(rows)} faces: the drawn mouth followed {summary['mouth_followed']['mean']:.1%} of the "
          f"request (issue 14: >= 60 %); unedited points moved {summary['unedited_moved']['mean']:.1%} of it "
          f"(issue 14: <= 15 %); nose base {summary['nose_base_moved']['mean']:.1%}\n"
          f"  of the unedited points, those outside the hole (pixels identical in both renders: dlib re-fitting) "
          f"moved {summary['unedited_outside_hole_moved']['mean']:.1%}, those inside it "
          f"{summary['unedited_in_hole_moved']['mean']:.1%}; the jaw line (0-16) {summary['jaw_moved']['mean']:.1%}, "
          f"brows, eyes and nose (17-47) {summary['above_mouth_moved']['mean']:.1%}; the drawn nose base itself "
          f"(phase correlation, no detector) moved {summary['nose_drawn_shift']['mean']:.1%}")
    print(f"detector floor, a perfect edit (the photo's own mouth warped to the moved points inside the same hole): "
          f"mouth followed {floor['mouth_followed']['mean']:.1%}, unedited points moved {floor['unedited_moved']['mean']:.1%} "
          f"(jaw {floor['jaw_moved']['mean']:.1%}, 17-47 {floor['above_mouth_moved']['mean']:.1%})")
    if args.grid is not None:
        save_grid(args.grid, rows[:6])
        print(f"grid: {args.grid} (photo | masked with the guide | base render | moved render; green: the guide)")
    if args.json is not None:
        card = model.spec.weights_status().card or {}
        args.json.write_text(json.dumps({
            "model": args.model, "weights_sha256": card.get("weights_sha256"), "faces": len(rows),
            "shift": args.shift, "detector": detector.name, "summary": summary, "perfect_edit": floor,
            "per_face": [{k: v for k, v in r.items() if k != "images"} for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
