"""Build the lip prior's template (``inference.models.lip_prior``) from the training faces of a crop cache.

``python -m training lip-prior data-cache/utkface --out data-cache/lip-prior.safetensors``

Every training face (never a validation or test face) is warped onto the mean landmark shape; its
mouth-and-nose region is turned into a detail (logit of the face minus logit of a membrane fill of
the region) and the details are averaged, the mirror image of each face included so the template
is left-right symmetric. Writes ``template`` (1, 3, 256, 256) and ``reference`` (1, 68, 2) tensors
that ``Trainer`` copies into a ``coarse_fill="lip_prior"`` generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from inference.face.regions import JAW_LEFT, JAW_RIGHT, NOSE_AND_OUTER_LIP
from inference.models.coarse_fill import harmonic_fill
from inference.models.lip_prior import TEMPLATE_SIZE, warp
from training.data.dataset import FaceCropSet, mirror_landmarks
from training.errors import DataError

SUPPORT_POINTS = list(NOSE_AND_OUTER_LIP)  # nose (bridge to nostrils) and the outer lip
SUPPORT_DILATION = 0.10  # of the face width (jaw ends)


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


@torch.no_grad()
def build_lip_prior(cache: Path, out: Path, limit: int = 6000, batch: int = 32, seed: int = 0,
                    infant: bool | None = None, progress: bool = True) -> dict:
    """Average the mouth-and-nose detail of up to ``limit`` training faces; returns a summary."""
    from safetensors.torch import save_file
    from tqdm import tqdm

    faces = FaceCropSet(cache, "train", infant)
    rows = np.random.default_rng(seed).permutation(len(faces))[:limit]
    if len(rows) == 0:
        raise DataError(f"No training faces in {cache}.")
    all_lm = faces.landmarks_of(rows)
    reference = np.concatenate([all_lm, mirror_landmarks(all_lm)]).mean(0)  # symmetric mean shape
    support = support_mask(reference * TEMPLATE_SIZE)
    ys, xs = np.nonzero(support)
    margin = 4  # the membrane fill only needs the support and a ring of known pixels around it
    box = (slice(max(0, ys.min() - margin), ys.max() + margin + 1), slice(max(0, xs.min() - margin), xs.max() + margin + 1))
    support_t = torch.from_numpy(support[box].astype(np.float32))[None, None]
    ref_t = torch.from_numpy(reference.astype(np.float32))[None]
    total = torch.zeros(1, 3, TEMPLATE_SIZE, TEMPLATE_SIZE)
    count = 0
    for start in tqdm(range(0, len(rows), batch), desc="lip prior", disable=not progress):
        items = [faces.get(int(i)) for i in rows[start:start + batch]]
        images = np.stack([im for im, _ in items])
        lms = np.stack([lm for _, lm in items]).astype(np.float32)
        for imgs, marks in ((images, lms), _mirrored(images, lms)):
            x = torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2).float().div_(255)
            aligned = warp(x, torch.from_numpy(marks), ref_t.expand(len(x), -1, -1))[..., box[0], box[1]]
            hole = support_t.expand(len(x), -1, -1, -1)
            smooth = harmonic_fill(aligned, hole)
            detail = torch.logit(aligned.clamp(1e-3, 1 - 1e-3)) - torch.logit(smooth.clamp(1e-3, 1 - 1e-3))
            total[..., box[0], box[1]] += (detail * hole).sum(0, keepdim=True)
            count += len(x)
    template = (total / count).contiguous()
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"cache": str(cache), "faces": int(len(rows)), "with_mirrors": int(count), "seed": seed,
               "infant": infant, "support_dilation": SUPPORT_DILATION}
    save_file({"template": template, "reference": ref_t.contiguous()}, str(out),
              metadata={"summary": json.dumps(summary)})
    return summary


def load_lip_prior(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise DataError(f"No lip prior at {path}; build it with 'python -m training lip-prior <cache>'.")
    return load_file(str(path))
