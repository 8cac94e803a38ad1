"""The post-operative photo of a case (issue 14): stored beside the pre-operative photo, with its landmarks.

Same safety rules as the pre-op photo (``studies.cases``): the file is copied into the case's folder
under a new name (``cases/<uid>/postop-<random><suffix>``), written atomically before the commit
that points to it and removed again if that commit fails; its sha256 is stored and checked when it
is read back; a replaced file is removed only after the commit. The case row holds the columns
(``schema.Case.postop_*``, migration 0007), so deleting the case removes the photo with the case
folder, and the rating screen's connection cannot read it (``cases`` is a case-store table).

The landmarks are the post-op photo's own 68 points in its own pixels (detected by the app, or
corrected by the clinician); the alignment to the pre-op photo (``inference.alignment``) is computed
when needed from them and the pre-op photo's points, never stored.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from inference.errors import InferenceError
from inference.io.photo import load_photo
from studies.cases import checked_photo_file
from studies.database import Database
from studies.errors import CaseError, IntegrityError
from studies.files import atomic_write_bytes, resolve_inside, sha256_bytes
from studies.schema import Case, utcnow
from studies.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PostopPhotoInfo:
    case_id: int
    photo_path: Path            # absolute
    photo_sha256: str
    landmarks: np.ndarray       # (68, 2) float32, post-op photo pixels
    added_at: datetime


class PostopStore:
    """Add, read, correct and remove the post-operative photo of a case."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_postop_photo(self, case_id: int, photo_source: Path, landmarks: np.ndarray) -> PostopPhotoInfo:
        """Copy the post-op photo into the case (replacing an earlier one) with its 68 landmarks.

        Refused (``CaseError``): a missing, empty or over-200 MB file, landmarks that are not 68
        finite points, and the very file of the case's pre-op photo (same sha256).
        """
        source = checked_photo_file(photo_source, "The post-operative photo")
        lm_json = _landmarks_json(landmarks)
        data = source.read_bytes()
        digest = sha256_bytes(data)
        suffix = source.suffix.lower() if source.suffix.isascii() and len(source.suffix) <= 6 else ".img"
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            if digest == case.photo_sha256:
                raise CaseError("This is the case's pre-operative photo itself; choose the photo taken after "
                                "the repair.")
            old_rel = case.postop_photo_path
            rel = f"cases/{case.uid}/postop-{secrets.token_hex(6)}{suffix}"
            path = resolve_inside(self.db.data_dir, rel)
            try:
                atomic_write_bytes(path, data)
                now = utcnow()
                case.postop_photo_path, case.postop_photo_sha256 = rel, digest
                case.postop_landmarks_json, case.postop_added_at = lm_json, now
                case.updated_at = now
                uow.commit()
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            info = self._info(case)
        if old_rel is not None and old_rel != rel:
            resolve_inside(self.db.data_dir, old_rel).unlink(missing_ok=True)
        return info

    def postop_photo(self, case_id: int) -> PostopPhotoInfo | None:
        """The case's post-op photo, or None when it has none."""
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            return None if case.postop_photo_path is None else self._info(case)

    def set_postop_landmarks(self, case_id: int, landmarks: np.ndarray) -> PostopPhotoInfo:
        """Store the post-op photo's landmarks as the clinician corrected them."""
        lm_json = _landmarks_json(landmarks)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            if case.postop_photo_path is None:
                raise CaseError("The case has no post-operative photo; add one first.")
            case.postop_landmarks_json = lm_json
            case.updated_at = utcnow()
            uow.commit()
            return self._info(case)

    def remove_postop_photo(self, case_id: int) -> None:
        """Forget the post-op photo (row first, then its file)."""
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            rel = case.postop_photo_path
            if rel is None:
                return
            case.postop_photo_path = case.postop_photo_sha256 = case.postop_landmarks_json = None
            case.postop_added_at = None
            case.updated_at = utcnow()
            uow.commit()
        resolve_inside(self.db.data_dir, rel).unlink(missing_ok=True)

    def load_postop_rgb(self, info: PostopPhotoInfo) -> np.ndarray:
        """The stored post-op photo (RGB uint8), after checking it is the file that was stored."""
        try:
            data = info.photo_path.read_bytes()
        except OSError as exc:
            raise IntegrityError("The post-operative photo of this case is missing from the data folder; "
                                 "add it again.") from exc
        if sha256_bytes(data) != info.photo_sha256:
            raise IntegrityError("The post-operative photo of this case was changed after it was added; "
                                 "add it again.")
        try:
            return load_photo(info.photo_path).rgb
        except InferenceError as exc:
            raise CaseError(str(exc)) from exc

    def _info(self, case: Case) -> PostopPhotoInfo:
        assert case.postop_photo_path is not None and case.postop_photo_sha256 is not None
        return PostopPhotoInfo(
            case_id=case.id, photo_path=resolve_inside(self.db.data_dir, case.postop_photo_path),
            photo_sha256=case.postop_photo_sha256,
            landmarks=np.asarray(json.loads(case.postop_landmarks_json or "[]"), np.float32).reshape(-1, 2),
            added_at=case.postop_added_at or case.updated_at)


def _landmarks_json(landmarks: np.ndarray | None) -> str:
    """68 finite (x, y) points as JSON (3 decimals); anything else is refused."""
    if landmarks is None:
        raise CaseError("The post-operative photo needs its 68 landmarks (no face was found on it?).")
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise CaseError(f"Landmarks must be 68 finite (x, y) points; got shape {lm.shape}.")
    return json.dumps(lm.round(3).tolist())
