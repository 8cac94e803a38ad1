"""Shared helpers for the rating-screen and study-report tests; it has no tests.

Builds on test_studies_support (real faces, fake/classical models) and answers like a rater who
looks only at pixels, so the analysis has something real to chew on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from test_studies_support import MODELS, PASSPHRASE, build_open_study

from studies.database import Database
from studies.options import InvalidReason, Scale, StudyOptions
from studies.rating import RaterSession
from studies.unblinding import UnblindingService

OPTIONS = StudyOptions(show_original=True, show_masked_input=True,
                       scales=(Scale.NASAL_FORM, Scale.VERMILION_BORDER), repeat_fraction=0.25)


def answer_all(db: Database, rater_id: int, strictness: float, seed: int) -> None:
    """Answer every item: outputs far from the original are invalid, the rest ranked by error."""
    rng = np.random.default_rng(seed)
    session = RaterSession(db, rater_id)
    while (item := session.next_item()) is not None:
        original = np.asarray(Image.open(item.original_image), np.float32)
        errors = {o.label: float(np.abs(np.asarray(Image.open(o.image_path), np.float32) - original).mean())
                  * (1 + rng.normal(0, 0.05)) for o in item.outputs}
        valid = [label for label, e in errors.items() if e < strictness]
        for out in item.outputs:
            ok = out.label in valid
            session.set_validity(item.position, out.label, ok, None if ok else InvalidReason.ARTIFACTS)
            for scale in item.questions.scales:
                session.set_scale(item.position, out.label, scale,
                                  int(np.clip(1 + 2 * errors[out.label] / strictness, 1, 5)))
        if valid:
            session.set_ranking(item.position, sorted(valid, key=errors.__getitem__))
        session.set_comment(item.position, "ok")
        session.complete(item.position)


def unblinded_study(tmp: Path, n_cases: int = 4) -> tuple[Database, int]:
    """An opened, fully rated (2 raters), closed and unblinded study."""
    db, study_id, raters = build_open_study(tmp, n_cases=n_cases, n_raters=2, options=OPTIONS)
    answer_all(db, raters[0], strictness=0.5, seed=1)
    answer_all(db, raters[1], strictness=0.4, seed=2)
    service = UnblindingService(db)
    service.close_study(study_id, PASSPHRASE, "Dr Owner")
    service.unblind(study_id, PASSPHRASE, "Dr Owner")
    return db, study_id


__all__ = ["MODELS", "OPTIONS", "PASSPHRASE", "answer_all", "build_open_study", "unblinded_study"]
