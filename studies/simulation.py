"""Simulated raters, to rehearse a blinded study before surgeons rate it (never a study's result).

A simulated rater goes through its items like a surgeon at the rating screen: it sees only the
images of each item (the original and the unlabelled outputs), marks each output valid or invalid
and ranks the valid ones. It judges two things a surgeon would, from the pixels alone:

- **structure**: the edge energy of the output inside the changed region, relative to the
  original's. A smooth fill with no lip scores near 0, noise far above 1. Outside
  ``STRUCTURE_RANGE`` the output is invalid ("no lip drawn" / "artefacts");
- **closeness**: the mean absolute difference to the original inside that region, relative to
  the best output of the item. Beyond ``strictness`` times the best it is invalid (an implausible
  anatomy for that face). Valid outputs are ranked by closeness weighted by their structure gap.

Each rater adds its own noise (``noise``, seeded), so raters disagree as people do and the
agreement statistics have something to measure. The changed region is where any output differs
from the original: the outputs carry the known pixels unchanged, so that is the hole.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from studies.database import Database
from studies.rating import RaterSession, RatingItem

STRUCTURE_RANGE = (0.6, 1.6)   # edge energy of the output over the original's, inside the changed region
CHANGED_LEVEL = 6              # grey levels: a pixel differs from the original by more than this in some output


@dataclass(frozen=True)
class SimulatedRater:
    """How one simulated surgeon judges: ``strictness`` (closeness limit, x the item's best) and ``noise``."""

    strictness: float = 1.6
    noise: float = 0.08
    seed: int = 0


def _grey(path: object) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L"), np.float32)


def _edge_energy(grey: np.ndarray, region: np.ndarray) -> float:
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return float(np.hypot(gx, gy)[region].mean())


def judge_item(item: RatingItem, rater: SimulatedRater, rng: np.random.Generator
               ) -> tuple[dict[str, bool], list[str]]:
    """(validity per output label, the valid labels best first) for one item."""
    if item.original_image is None:
        raise ValueError("A simulated rater needs the original shown (StudyOptions(show_original=True)).")
    original = _grey(item.original_image)
    outputs = {out.label: _grey(out.image_path) for out in item.outputs}
    changed = np.zeros(original.shape, bool)
    for image in outputs.values():
        changed |= np.abs(image - original) > CHANGED_LEVEL
    changed = cv2.dilate(changed.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if not changed.any():
        return {label: True for label in outputs}, sorted(outputs)
    truth_edges = max(_edge_energy(original, changed), 1e-3)
    error = {label: float(np.abs(img - original)[changed].mean()) * (1 + rng.normal(0, rater.noise))
             for label, img in outputs.items()}
    structure = {label: _edge_energy(img, changed) / truth_edges * (1 + rng.normal(0, rater.noise))
                 for label, img in outputs.items()}
    best = max(min(error.values()), 1e-3)
    low, high = STRUCTURE_RANGE
    valid = {label: bool(low <= structure[label] <= high and error[label] <= rater.strictness * best)
             for label in outputs}
    score = {label: error[label] * (1 + abs(np.log(max(structure[label], 1e-3)))) for label in outputs}
    ranking = sorted((label for label, ok in valid.items() if ok), key=score.__getitem__)
    return valid, ranking


def rate_all(db: Database, rater_id: int, rater: SimulatedRater) -> int:
    """Rate every open item of ``rater_id`` as ``rater`` would; returns how many items were completed."""
    rng = np.random.default_rng(rater.seed)
    session = RaterSession(db, rater_id)
    done = 0
    while (item := session.next_item()) is not None:
        valid, ranking = judge_item(item, rater, rng)
        for label, ok in valid.items():
            session.set_validity(item.position, label, ok, None if ok else "implausible_anatomy")
        if ranking:
            session.set_ranking(item.position, ranking)
        session.complete(item.position)
        done += 1
    return done
