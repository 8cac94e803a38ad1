"""Build the lip prior's template (``inference.models.lip_prior``) from the training faces of a crop cache.

``python -m training lip-prior data-cache/utkface --out data-cache/lip-prior.safetensors``

Every training face (never a validation or test face) is warped onto the mean landmark shape; its
mouth-and-nose region is turned into a detail (logit of the face minus logit of a membrane fill of
the region) and the details are averaged, the mirror image of each face included so the template
is left-right symmetric. Writes ``template`` (1, 3, 256, 256) and ``reference`` (1, 68, 2) tensors
that ``Trainer`` copies into a ``coarse_fill="lip_prior"`` generator.

The nostrils need a second step (``sharpen_nostrils``). The 68 points fix the nostril sill, not the
nostrils: each face's nostrils sit a few pixels apart from the next face's, so the average smears two
dark nostrils into one faint crescent, and a network that adds that template draws no nostrils. The
step finds each training face's nostrils (the darkest point of its detail between the sill points,
on each side), averages the patches centred there over the faces whose nostrils are visible, and
returns what the two sharp patches, pasted at their mean positions with a gain, add to the template:
the prior's ``nostrils`` buffer. ``python -m training nostrils <exported folder>`` applies it to a
shipped network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import torch

from inference.face.regions import COLUMELLA_BASE, JAW_LEFT, JAW_RIGHT, NOSE_AND_OUTER_LIP, NOSE_BASE, NOSE_TIP
from inference.models.coarse_fill import harmonic_fill
from inference.models.lip_prior import TEMPLATE_SIZE, warp
from training.data.dataset import FaceCropSet, mirror_landmarks
from training.errors import DataError

SUPPORT_POINTS = list(NOSE_AND_OUTER_LIP)  # nose (bridge to nostrils) and the outer lip
SUPPORT_DILATION = 0.10  # of the face width (jaw ends)

# Each nostril lies between two nostril-sill points (photo-left 31-33, photo-right 33-35), above the sill
# and below the nose tip (30). Template pixels (TEMPLATE_SIZE).
NOSTRIL_BETWEEN = {"photo-left": (NOSE_BASE[0], COLUMELLA_BASE), "photo-right": (COLUMELLA_BASE, NOSE_BASE[-1])}
NOSTRIL_SEARCH_BELOW = 2       # px: the search window runs from just below the tip to just below the sill
NOSTRIL_SEARCH_SIGMA = 1.5     # px: smoothing before the darkest point is taken, so one dark pixel is not a nostril
NOSTRIL_PATCH_RADIUS = 10      # px: the pasted patch; it fades out from 0.3 to 0.9 of this radius
NOSTRIL_GAIN = 1.6             # the mean patch is still paler than one nostril, as the mean template is paler than one
                               # lip. Chosen by eye and measured (docs/reports/experiments) for a network whose template
                               # gain is 1.4; the shipped all-ages network (template gain 2.0) uses 1.1, the same strength


def support_mask(reference_px: np.ndarray, size: int = TEMPLATE_SIZE) -> np.ndarray:
    """bool (size, size): the region of the mean shape whose detail the template stores."""
    canvas = np.zeros((size, size), np.uint8)
    hull = cv2.convexHull(np.round(reference_px[SUPPORT_POINTS]).astype(np.int32))
    cv2.fillConvexPoly(canvas, hull, 1)
    radius = int(round(SUPPORT_DILATION * float(np.linalg.norm(reference_px[JAW_RIGHT] - reference_px[JAW_LEFT]))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(canvas, kernel).astype(bool)


def _mirrored(images: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(images[:, :, ::-1]), mirror_landmarks(landmarks)


def _support_box(support: np.ndarray, margin: int = 4) -> tuple[slice, slice]:
    """The bounding box of the support and a ring of known pixels around it (all the membrane fill needs)."""
    ys, xs = np.nonzero(support)
    return (slice(max(0, ys.min() - margin), ys.max() + margin + 1),
            slice(max(0, xs.min() - margin), xs.max() + margin + 1))


def _aligned_details(faces: FaceCropSet, rows: np.ndarray, reference: np.ndarray, batch: int, desc: str,
                     progress: bool) -> Iterator[tuple[torch.Tensor, tuple[slice, slice]]]:
    """Per batch: the details (B, 3, h, w) of faces ``rows`` and of their mirror images, warped onto
    ``reference`` (68, 2), inside the support's box (returned with them, in template pixels)."""
    from tqdm import tqdm

    support = support_mask(reference * TEMPLATE_SIZE)
    box = _support_box(support)
    support_t = torch.from_numpy(support[box].astype(np.float32))[None, None]
    ref_t = torch.from_numpy(reference.astype(np.float32))[None]
    for start in tqdm(range(0, len(rows), batch), desc=desc, disable=not progress):
        items = [faces.get(int(i)) for i in rows[start:start + batch]]
        images = np.stack([im for im, _ in items])
        lms = np.stack([lm for _, lm in items]).astype(np.float32)
        for imgs, marks in ((images, lms), _mirrored(images, lms)):
            x = torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2).float().div_(255)
            aligned = warp(x, torch.from_numpy(marks), ref_t.expand(len(x), -1, -1))[..., box[0], box[1]]
            hole = support_t.expand(len(x), -1, -1, -1)
            smooth = harmonic_fill(aligned, hole)
            detail = torch.logit(aligned.clamp(1e-3, 1 - 1e-3)) - torch.logit(smooth.clamp(1e-3, 1 - 1e-3))
            yield detail * hole, box


def _training_rows(faces: FaceCropSet, limit: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).permutation(len(faces))[:limit]
    if len(rows) == 0:
        raise DataError(f"No training faces in {faces.cache}.")
    return rows


@torch.no_grad()
def build_lip_prior(cache: Path, out: Path, limit: int = 6000, batch: int = 32, seed: int = 0,
                    infant: bool | None = None, progress: bool = True) -> dict:
    """Average the mouth-and-nose detail of up to ``limit`` training faces; returns a summary."""
    from safetensors.torch import save_file

    faces = FaceCropSet(cache, "train", infant)
    rows = _training_rows(faces, limit, seed)
    all_lm = faces.landmarks_of(rows)
    reference = np.concatenate([all_lm, mirror_landmarks(all_lm)]).mean(0)  # symmetric mean shape
    total = torch.zeros(1, 3, TEMPLATE_SIZE, TEMPLATE_SIZE)
    count = 0
    for detail, box in _aligned_details(faces, rows, reference, batch, "lip prior", progress):
        total[..., box[0], box[1]] += detail.sum(0, keepdim=True)
        count += len(detail)
    template = (total / count).contiguous()
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"cache": str(cache), "faces": int(len(rows)), "with_mirrors": int(count), "seed": seed,
               "infant": infant, "support_dilation": SUPPORT_DILATION}
    save_file({"template": template, "reference": torch.from_numpy(reference.astype(np.float32))[None].contiguous()},
              str(out), metadata={"summary": json.dumps(summary)})
    return summary


def nostril_windows(reference_px: np.ndarray) -> dict[str, tuple[slice, slice]]:
    """Per side, the (rows, columns) of the template where that nostril is searched for."""
    top = int(round(reference_px[NOSE_TIP, 1])) + NOSTRIL_SEARCH_BELOW
    bottom = int(round(reference_px[COLUMELLA_BASE, 1])) + NOSTRIL_SEARCH_BELOW + 1
    windows = {}
    for side, (a, b) in NOSTRIL_BETWEEN.items():
        x0, x1 = sorted((reference_px[a, 0], reference_px[b, 0]))
        windows[side] = (slice(top, bottom), slice(int(round(x0)), int(round(x1)) + 1))
    return windows


def _patch_weight(radius: int) -> torch.Tensor:
    """(2r+1, 2r+1): 1 within 0.3 r of the centre, falling linearly to 0 at 0.9 r."""
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return torch.from_numpy(np.clip(1.5 - np.hypot(yy, xx) / (0.6 * radius), 0, 1).astype(np.float32))


@torch.no_grad()
def sharpen_nostrils(template: torch.Tensor, reference: torch.Tensor, faces: FaceCropSet, limit: int = 2000,
                     seed: int = 0, gain: float = NOSTRIL_GAIN, batch: int = 32,
                     progress: bool = True) -> tuple[torch.Tensor, dict]:
    """The nostril patches (1, 6, S, S: photo-left, photo-right) for the template (1, 3, S, S); and a summary.

    Every face (and its mirror image) is warped onto ``reference`` (1, 68, 2) as for the template. On
    each side the darkest point of its smoothed grey detail inside ``nostril_windows`` is its nostril;
    the faces whose nostril is darker than the median (visible nostrils) contribute the patch of radius
    ``NOSTRIL_PATCH_RADIUS`` centred there. The mean patch goes to the mean centre, and what it adds to
    the template there is returned: ``gain * weight * (patch - template)``.
    """
    if not gain > 0:
        raise ValueError(f"The nostril gain must be > 0, not {gain}.")
    r = NOSTRIL_PATCH_RADIUS
    ref_np = reference[0].double().numpy()
    windows = nostril_windows(ref_np * TEMPLATE_SIZE)
    found: dict[str, list[tuple[float, int, int, torch.Tensor]]] = {side: [] for side in windows}
    rows = _training_rows(faces, limit, seed)
    for detail, box in _aligned_details(faces, rows, ref_np, batch, "nostrils", progress):
        y_off, x_off = box[0].start, box[1].start
        grey = detail.mean(1).numpy()
        for k in range(len(detail)):
            smooth = cv2.GaussianBlur(grey[k], (0, 0), NOSTRIL_SEARCH_SIGMA)
            for side, (ys, xs) in windows.items():
                window = smooth[ys.start - y_off:ys.stop - y_off, xs.start - x_off:xs.stop - x_off]
                iy, ix = np.unravel_index(int(np.argmin(window)), window.shape)
                cy, cx = ys.start - y_off + iy, xs.start - x_off + ix
                patch = detail[k, :, cy - r:cy + r + 1, cx - r:cx + r + 1]
                if patch.shape[-2:] == (2 * r + 1, 2 * r + 1):
                    found[side].append((-float(window[iy, ix]), cy + y_off, cx + x_off, patch.clone()))
    out = torch.zeros(1, 3 * len(found), *template.shape[-2:])
    weight = _patch_weight(r)
    summary: dict = {"faces": int(len(rows)), "with_mirrors": 2 * int(len(rows)), "seed": seed, "gain": gain,
                     "patch_radius_px": r, "template_size": TEMPLATE_SIZE, "nostrils": {}}
    for channel, (side, items) in enumerate(found.items()):
        if not items:
            raise DataError(f"No {side} nostril could be searched for in {faces.cache}.")
        depths = np.array([d for d, *_ in items])
        visible = [item for item in items if item[0] > np.median(depths)] or items
        patch = torch.stack([p for *_, p in visible]).mean(0)
        cy = int(round(np.mean([y for _, y, _, _ in visible])))
        cx = int(round(np.mean([x for _, _, x, _ in visible])))
        region = template[0, :, cy - r:cy + r + 1, cx - r:cx + r + 1]
        out[0, 3 * channel:3 * channel + 3, cy - r:cy + r + 1, cx - r:cx + r + 1] = gain * weight * (patch - region)
        summary["nostrils"][side] = {"centre_px": [cx, cy], "faces_used": len(visible),
                                     "median_depth_logit": float(np.median([d for d, *_ in visible]))}
    return out.contiguous(), summary


def load_lip_prior(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise DataError(f"No lip prior at {path}; build it with 'python -m training lip-prior <cache>'.")
    return load_file(str(path))
