"""Rating away from the clinic's data folder, so the case screen cannot unblind a study.

A study's outputs are the clinic's own predictions of the same cases (``study_outputs``), and the
case screen stores its predictions with the model names. A rater working in the owner's data
folder could therefore match every output to its model by comparing pictures. Raters rate from a
*rater folder* instead: a fresh data folder that holds one study copied from its package (outputs
under neutral names, the case images the raters may see, the raters' orders) and nothing of the
clinic: no cases, no case-screen predictions, no model names, no sealed mapping. Their answers go
back as an answer sheet (``exchange.export_answers`` there, ``exchange.import_answers`` here).

The studies window refuses to start rating in a data folder that holds case-screen predictions of
the study's cases unless the owner's passphrase is given (:func:`exposed_predictions`,
:func:`owner_passphrase_ok`). Independently, the rating screen's database connections cannot read
the case store at all (``schema.RATER_HIDDEN_TABLES``). See docs/threat-model.md.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from studies.database import DEFAULT_FILENAME, Database, open_database
from studies.errors import ExchangeError
from studies.exchange import export_package, import_package
from studies.options import StudyRole
from studies.schema import Case, Prediction, Study, StudyCase
from studies.sealing import verify_passphrase
from studies.study_setup import StudyInfo
from studies.unit_of_work import UnitOfWork

README_NAME = "RATER-FOLDER.txt"
README_TEXT = """This folder holds one blinded rating study for the raters named in it, and nothing else:
no patient cases, no predictions with model names.

To rate: start the rating module on this folder,
    python -m app.rating --data-dir "<this folder>"
(or choose this folder as the data folder in the app's settings), pick the study, press
"Start rating..." and choose your name. Every answer is saved at once.

When everyone is done: "Export answers to send back..." and give the answer sheet (CSV) to the
study owner, who merges it with "Merge answers from another site...".
"""


def exposed_predictions(db: Database, study_id: int) -> int:
    """How many case-screen predictions of this study's cases this data folder holds.

    Each one carries its model's name, so a rater who can see them could match outputs to models.
    """
    with UnitOfWork(db) as uow:
        uow.studies.get(study_id)
        return int(uow.session.scalar(
            select(func.count(Prediction.id)).join(StudyCase, StudyCase.case_id == Prediction.case_id)
            .where(StudyCase.study_id == study_id)) or 0)


def owner_passphrase_ok(db: Database, study_id: int, passphrase: str) -> bool:
    """Whether ``passphrase`` is the study owner's (a study of this site only)."""
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        return bool(study.role == StudyRole.HOME.value and study.passphrase_hash
                    and verify_passphrase(passphrase, study.passphrase_hash))


def make_rater_folder(db: Database, study_id: int, folder: Path,
                      rater_ids: Sequence[int] | None = None) -> StudyInfo:
    """Copy an open study into ``folder`` (empty, or an earlier rater folder) for its raters.

    The folder gets its own database with the study as a copy "of another site" and a short
    ``RATER-FOLDER.txt``; it never holds cases or case-screen predictions. Returns the copy's info.
    """
    folder = Path(folder)
    if folder.resolve() == Path(db.data_dir).resolve() or Path(db.data_dir).resolve() in folder.resolve().parents:
        raise ExchangeError("Choose a folder outside the app's data folder for the rater.")
    _refuse_clinic_folder(folder)
    with tempfile.TemporaryDirectory(prefix="cleftlip-package-") as tmp:
        package = export_package(db, study_id, Path(tmp) / "study_package.zip", rater_ids)
        rater_db = open_database(folder)
        try:
            info = import_package(rater_db, package)
            _refuse_clinic_data(rater_db)  # nothing else may have slipped in
        finally:
            rater_db.close()
    (folder / README_NAME).write_text(README_TEXT, encoding="utf-8")
    return info


def _refuse_clinic_folder(folder: Path) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ExchangeError(f"{folder} is a file; choose an empty folder for the rater.")
    names = {p.name for p in folder.iterdir()}
    if DEFAULT_FILENAME not in names:
        if names - {README_NAME}:
            raise ExchangeError(f"The folder {folder.name} is not empty; choose an empty folder for the rater.")
        return
    db = open_database(folder)
    try:
        _refuse_clinic_data(db)
    finally:
        db.close()


def _refuse_clinic_data(db: Database) -> None:
    with UnitOfWork(db) as uow:
        cases = uow.session.scalar(select(func.count(Case.id)))
        predictions = uow.session.scalar(select(func.count(Prediction.id)))
        home = uow.session.scalar(select(func.count(Study.id)).where(Study.role == StudyRole.HOME.value))
    if cases or predictions or home:
        raise ExchangeError("That folder is a clinic data folder (it holds cases or studies of its own); "
                            "choose an empty folder for the rater.")
