"""The studies window's guard against rating beside the case screen, and "Make rater folder…".

See :mod:`studies.rater_folder`: a rater working in a data folder that holds case-screen
predictions of the study's cases could match outputs to models, so rating there needs the owner's
passphrase; raters get a rater folder instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.workers import describe_error
from studies.database import Database
from studies.errors import StudyError
from studies.options import StudyRole
from studies.rater_folder import exposed_predictions, make_rater_folder, owner_passphrase_ok
from studies.study_setup import StudyInfo

if TYPE_CHECKING:
    from app.rating.prompts import StudyPrompts


def may_rate_here(prompts: StudyPrompts, db: Database, study: StudyInfo) -> bool:
    """True when rating may start in this data folder; otherwise tells why (and asks the owner)."""
    try:
        exposed = exposed_predictions(db, study.id)
    except StudyError as exc:
        prompts.error("Rating cannot start", describe_error(exc))
        return False
    if not exposed:
        return True
    passphrase = prompts.ask_passphrase(
        "Rating here is for the study owner only",
        f"This data folder holds {exposed} case-screen prediction{'s' if exposed != 1 else ''} of this study's "
        "cases, stored with the names of their models: a rater working here could match the outputs to the "
        "models. Give raters a rater folder instead (“Make rater folder…”).\n\n"
        "To rate here anyway as the study owner, enter the owner passphrase:")
    if passphrase is None:
        return False
    try:
        ok = study.role == StudyRole.HOME and owner_passphrase_ok(db, study.id, passphrase)
    except StudyError as exc:
        prompts.error("Rating cannot start", describe_error(exc))
        return False
    if not ok:
        prompts.error("Rating cannot start", "The owner passphrase is not correct. Raters rate from a rater "
                                             "folder (“Make rater folder…”).")
    return ok


def make_rater_folder_action(prompts: StudyPrompts, db: Database, study: StudyInfo, raters: list) -> bool:
    """Ask for the raters and an empty folder, copy the study there, and say what to do next."""
    choice = prompts.choose_item("Make rater folder", "Rater folder for which raters?",
                                 ["All raters"] + [f"{r.name} ({r.initials})" for r in raters])
    if choice is None:
        return False
    folder = prompts.choose_folder("Choose an empty folder for the rater (e.g. on a USB stick)")
    if folder is None:
        return False
    ids = None if choice == 0 else [raters[choice - 1].id]
    try:
        make_rater_folder(db, study.id, folder, ids)
    except (StudyError, OSError) as exc:
        prompts.error("Rater folder not made", describe_error(exc))
        return False
    prompts.info("Rater folder ready",
                 f"{folder} now holds this study for its raters, and none of the clinic's cases or predictions.\n\n"
                 f"Raters start the rating module on it (python -m app.rating --data-dir \"{folder}\", or choose "
                 "it as the data folder in Settings), rate, then “Export answers to send back…”. Merge their "
                 "answer sheet here with “Merge answers from another site…”. The folder's RATER-FOLDER.txt "
                 "says the same.")
    return True
