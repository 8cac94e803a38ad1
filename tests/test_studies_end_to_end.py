"""A simulated blinded study, headless, end to end: 3 raters (one at another site), 10 real faces,
4 models (two classical OpenCV inpainters), blind simulated raters who judge only the pixels they
are shown, unblinding, analysis and CSV/JSON export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_studies_support import MODELS, PASSPHRASE, build_open_study

from studies.analysis import analyse_study, export_analysis, ratings_frame
from studies.database import Database, open_database
from studies.exchange import export_answers, export_package, import_answers, import_package
from studies.options import Scale, StudyOptions
from studies.rating import RaterSession
from studies.study_setup import StudySetup
from studies.unblinding import UnblindingService
from studies.unit_of_work import UnitOfWork


def blind_rater(db: Database, rater_id: int, strictness: float, seed: int,
                seen: dict[tuple[int, str], tuple[bool, int | None]]) -> None:
    """Rates like a surgeon who only sees pixels: error against the original crop decides."""
    rng = np.random.default_rng(seed)
    session = RaterSession(db, rater_id)
    while (item := session.next_item()) is not None:
        original = np.asarray(Image.open(item.original_image), np.float32)
        errors = {}
        for out in item.outputs:
            image = np.asarray(Image.open(out.image_path), np.float32)
            errors[out.label] = float(np.abs(image - original).mean()) * (1 + rng.normal(0, 0.05))
        valid = [label for label, e in errors.items() if e < strictness]
        for out in item.outputs:
            ok = out.label in valid
            session.set_validity(item.position, out.label, ok, None if ok else "implausible_anatomy")
            session.set_scale(item.position, out.label, Scale.VERMILION_BORDER,
                              int(np.clip(1 + 2 * errors[out.label] / strictness, 1, 5)))
        ranking = sorted(valid, key=errors.__getitem__)
        if ranking:
            session.set_ranking(item.position, ranking)
        session.complete(item.position)
        for out in item.outputs:
            if not item.completed:
                rank = ranking.index(out.label) + 1 if out.label in ranking else None
                seen.setdefault((rater_id, out.image_path.stem), (out.label in valid, rank))


@pytest.mark.slow
def test_simulated_study_end_to_end(tmp_path: Path) -> None:
    options = StudyOptions(show_original=True, show_masked_input=True, scales=(Scale.VERMILION_BORDER,),
                           repeat_fraction=0.15)
    db, study_id, raters = build_open_study(tmp_path, n_cases=10, n_raters=2, options=options)
    remote = StudySetup(db).add_rater(study_id, "Dr Remote", "RM", site="Other hospital")
    seen: dict[tuple[int, str], tuple[bool, int | None]] = {}
    blind_rater(db, raters[0], strictness=2.0, seed=1, seen=seen)
    blind_rater(db, raters[1], strictness=1.5, seed=2, seen=seen)

    # the third rater works at another site, from a package
    package = export_package(db, study_id, tmp_path / "package.zip", [remote.id])
    site = open_database(tmp_path / "site2")
    copy = import_package(site, package)
    [remote_copy] = StudySetup(site).list_raters(copy.id)
    assert remote_copy.uid == remote.uid and remote_copy.n_items == 12
    remote_seen: dict[tuple[int, str], tuple[bool, int | None]] = {}
    blind_rater(site, remote_copy.id, strictness=1.8, seed=3, seen=remote_seen)
    sheet = export_answers(site, copy.id, tmp_path / "answers.csv")
    first = import_answers(db, study_id, sheet)
    assert first.items_completed == 12 and first.items_incomplete == 0 and first.inserted > 0
    again = import_answers(db, study_id, sheet)
    assert (again.inserted, again.updated, again.items_completed) == (0, 0, 0)
    seen.update({(remote.id, out): v for (_, out), v in remote_seen.items()})
    site.close()

    service = UnblindingService(db)
    service.close_study(study_id, PASSPHRASE, "Dr Owner")
    service.unblind(study_id, PASSPHRASE, "Dr Owner")

    with UnitOfWork(db) as uow:
        model_of = {r.output_id: r.revealed_model for r in uow.sealed.for_study(study_id)}
    analysis = analyse_study(db, study_id)
    assert analysis.raters == ("R0", "R1", "RM") and analysis.models == MODELS
    summary = {s.model: s for s in analysis.overall}
    for model in MODELS:
        answers = [v for (_, out), v in seen.items() if model_of[out] == model]
        assert len(answers) == 30 == summary[model].n_rated
        assert summary[model].n_valid == sum(v for v, _ in answers)
        ranks = [r for v, r in answers if v]
        assert summary[model].average_ranking == (pytest.approx(np.mean(ranks)) if ranks else None)
    # the tinted 'baseline' is visibly wrong: blind raters must have found it worst
    baseline = summary["nclg-baseline"]
    assert baseline.valid_probability == min(s.valid_probability for s in summary.values())
    ranked = [s for s in summary.values() if s.average_ranking is not None]
    assert baseline.average_ranking is None or baseline.average_ranking == max(s.average_ranking for s in ranked)
    assert analysis.friedman is not None and analysis.friedman.n_blocks == 30
    assert analysis.validity_agreement.n_raters == 3 and analysis.validity_agreement.n_subjects == 40
    assert analysis.scale_icc[0].n_targets == 40 and analysis.scale_icc[0].icc3k is not None
    assert {r.rater: r.n_repeated_cases for r in analysis.intra_rater} == {"R0": 2, "R1": 2, "RM": 2}

    frame = ratings_frame(db, study_id)
    assert set(frame.loc[frame["rater"] == "RM", "site"]) == {"Other hospital"}
    paths = export_analysis(db, study_id, tmp_path / "export")
    data = json.loads(paths[2].read_text())
    assert data["overall"][0]["model"] == MODELS[0] and "kendall_w" in data["friedman"]
    with paths[1].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 4 and rows[0]["scope"] == "overall"
    db.close()
