"""Clinical case store: cases (pseudonym + photo), their mask, and prediction records.

Photos are copied into the data folder (so the case survives the original being moved) and
referenced by a relative path and sha256. A new file always gets a new name and is written before
the commit that points to it; a file the database no longer points to is removed after that commit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from studies.database import Database
from studies.errors import CaseError, DuplicateCaseError, NotFoundError
from studies.files import (
    atomic_write_bytes,
    decode_mask_png,
    encode_mask_png,
    encode_png,
    resolve_inside,
    sha256_bytes,
)
from studies.schema import Case, Mask, Prediction, utcnow
from studies.unit_of_work import UnitOfWork

MAX_PHOTO_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class CaseInfo:
    id: int
    uid: str
    pseudonym: str
    created_at: datetime
    updated_at: datetime
    notes: str
    photo_path: Path  # absolute
    photo_sha256: str
    has_mask: bool
    face_box: tuple[float, float, float, float] | None = None  # drawn by hand when no face was detected
    landmarks: np.ndarray | None = None  # (68, 2) photo pixels as the clinician corrected them; None: detected
    # Pseudonyms of other cases holding the very same photo file: a family must never get another
    # child's report, so the app shows this to the clinician.
    same_photo_as: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaskInfo:
    case_id: int
    file_path: Path
    sha256: str
    width: int
    height: int
    updated_at: datetime


@dataclass(frozen=True)
class PredictionInfo:
    id: int
    case_id: int
    model_name: str
    weights_sha256: str | None
    device: str
    app_version: str
    created_at: datetime
    image_path: Path
    image_sha256: str
    landmarks: np.ndarray | None  # (68, 2) float32, crop pixels as given
    mask_sha256: str | None = None  # mask_fingerprint of the mask it was made with; None if unknown
    guide_landmarks: np.ndarray | None = None  # (68, 2) photo pixels it was steered with; None: network's own


def mask_fingerprint(mask: np.ndarray) -> str:
    """sha256 of a bool mask's shape and packed bits: equal exactly when the masks are equal.

    Cheaper than encoding a PNG (the app computes it after every edit) and independent of the
    PNG encoder, so a prediction's mask can be compared with the one on screen.
    """
    m = np.ascontiguousarray(np.asarray(mask, dtype=bool))
    digest = hashlib.sha256(f"{m.shape[0]}x{m.shape[1]}:".encode())
    digest.update(np.packbits(m).tobytes())
    return digest.hexdigest()


class CaseStore:
    """Service for the desktop app's case list and case screen."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create_case(self, pseudonym: str, photo_source: Path, notes: str = "") -> CaseInfo:
        pseudonym = _clean_pseudonym(pseudonym)
        source = Path(photo_source)
        if not source.is_file():
            raise CaseError(f"The photo file {source.name!r} was not found.")
        size = source.stat().st_size
        if size == 0 or size > MAX_PHOTO_BYTES:
            raise CaseError(f"The photo file {source.name!r} is empty or larger than 200 MB.")
        data = source.read_bytes()
        uid = secrets.token_hex(16)
        suffix = source.suffix.lower() if source.suffix.isascii() and len(source.suffix) <= 6 else ".img"
        rel = f"cases/{uid}/photo{suffix}"
        now = utcnow()
        with UnitOfWork(self.db) as uow, _removed_unless_committed(resolve_inside(self.db.data_dir, rel)) as path:
            _refuse_taken_pseudonym(uow, pseudonym)
            atomic_write_bytes(path, data)
            case = uow.cases.add(Case(uid=uid, pseudonym=pseudonym, created_at=now, updated_at=now,
                                      notes=notes, photo_path=rel, photo_sha256=sha256_bytes(data)))
            uow.commit()
            return self._info(case, uow)

    def list_cases(self, search: str | None = None) -> list[CaseInfo]:
        with UnitOfWork(self.db) as uow:
            return [self._info(c, uow) for c in uow.cases.list(search)]

    def get_case(self, case_id: int) -> CaseInfo:
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            return self._info(case, uow)

    def update_case(self, case_id: int, *, pseudonym: str | None = None, notes: str | None = None) -> CaseInfo:
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            if pseudonym is not None:
                case.pseudonym = _clean_pseudonym(pseudonym)
                _refuse_taken_pseudonym(uow, case.pseudonym, case.id)
            if notes is not None:
                case.notes = notes
            case.updated_at = utcnow()
            uow.commit()
            return self._info(case, uow)

    def save_mask(self, case_id: int, mask: np.ndarray) -> MaskInfo:
        """Store the mask (bool (H, W), True = hole).

        The new PNG gets a new name and the old one is removed only after the commit, so a failed
        commit (full disk, locked database) leaves the previous mask and its stored sha256 matching.
        """
        mask = np.asarray(mask)
        if mask.ndim != 2 or mask.dtype != bool:
            raise CaseError(f"A mask must be a 2-D true/false image; got {mask.dtype} {mask.shape}.")
        if not mask.any():
            raise CaseError("The mask is empty: paint over the cleft lip before saving.")
        data = encode_mask_png(mask)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            rel = f"cases/{case.uid}/mask-{secrets.token_hex(6)}.png"
            row = uow.cases.mask(case_id)
            old_rel = None if row is None else row.file_path
            now = utcnow()
            with _removed_unless_committed(resolve_inside(self.db.data_dir, rel)) as new_path:
                atomic_write_bytes(new_path, data)
                if row is None:
                    row = uow.cases.add_mask(Mask(case_id=case_id, file_path=rel, sha256=sha256_bytes(data),
                                                  width=mask.shape[1], height=mask.shape[0], updated_at=now))
                else:
                    row.file_path, row.sha256, row.updated_at = rel, sha256_bytes(data), now
                    row.width, row.height = mask.shape[1], mask.shape[0]
                case.updated_at = now
                uow.commit()
            info = self._mask_info(row)
        if old_rel is not None and old_rel != rel:
            resolve_inside(self.db.data_dir, old_rel).unlink(missing_ok=True)
        return info

    def clear_mask(self, case_id: int) -> None:
        """Forget the case's mask (the clinician cleared it), so reopening shows no stale mask."""
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            row = uow.cases.mask(case_id)
            if row is None:
                return
            path = resolve_inside(self.db.data_dir, row.file_path)
            uow.cases.delete_mask(row)
            case.updated_at = utcnow()
            uow.commit()
        path.unlink(missing_ok=True)

    def set_face_box(self, case_id: int, box: tuple[float, float, float, float] | None) -> CaseInfo:
        """Remember (or forget) the face square the clinician drew because no face was detected."""
        if box is not None:
            left, top, right, bottom = (float(v) for v in box)
            if not (np.isfinite([left, top, right, bottom]).all() and right > left and bottom > top):
                raise CaseError("The face square must have a positive width and height.")
            box = (left, top, right, bottom)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            case.face_box_json = None if box is None else json.dumps([round(v, 2) for v in box])
            case.updated_at = utcnow()
            uow.commit()
            return self._info(case, uow)

    def set_photo_landmarks(self, case_id: int, landmarks: np.ndarray | None) -> CaseInfo:
        """Remember the photo's landmarks as the clinician corrected them (None: use the detector's again)."""
        lm_json = _landmarks_json(landmarks)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            case.landmarks_json = lm_json
            case.updated_at = utcnow()
            uow.commit()
            return self._info(case, uow)

    def mask_info(self, case_id: int) -> MaskInfo | None:
        with UnitOfWork(self.db) as uow:
            uow.cases.get(case_id)
            row = uow.cases.mask(case_id)
            return None if row is None else self._mask_info(row)

    def load_mask(self, case_id: int) -> np.ndarray | None:
        info = self.mask_info(case_id)
        return None if info is None else decode_mask_png(info.file_path)

    def add_prediction(self, case_id: int, model_name: str, image_rgb: np.ndarray, *, device: str,
                       app_version: str, weights_sha256: str | None = None,
                       landmarks: np.ndarray | None = None, mask_sha256: str | None = None,
                       guide_landmarks: np.ndarray | None = None) -> PredictionInfo:
        """Record a prediction shown to the clinician (image stored as PNG beside the case).

        ``mask_sha256`` is :func:`mask_fingerprint` of the mask the model filled; ``guide_landmarks``
        the (68, 2) photo-pixel points it was steered with (None: the network's own).
        """
        if not model_name:
            raise CaseError("A prediction needs the name of the model that made it.")
        data, lm_json, guide_json = _encoded_prediction(image_rgb, landmarks, guide_landmarks)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            rel = f"cases/{case.uid}/predictions/{secrets.token_hex(8)}.png"
            with _removed_unless_committed(resolve_inside(self.db.data_dir, rel)) as path:
                atomic_write_bytes(path, data)
                row = uow.cases.add_prediction(Prediction(
                    case_id=case_id, model_name=model_name, weights_sha256=weights_sha256, device=device,
                    app_version=app_version, created_at=utcnow(), image_path=rel,
                    image_sha256=sha256_bytes(data), landmarks_json=lm_json, mask_sha256=mask_sha256,
                    guide_landmarks_json=guide_json))
                uow.commit()
            return self._prediction_info(row)

    def rerender_prediction(self, case_id: int, prediction_id: int, image_rgb: np.ndarray, *,
                            landmarks: np.ndarray | None, guide_landmarks: np.ndarray | None) -> PredictionInfo:
        """Replace a prediction's picture with one re-rendered from edited landmarks (or reset to its own).

        The prediction keeps its id, model and mask; the new picture gets a new file, and the old one
        is removed only after the commit, so a failed commit leaves picture and points matching.
        """
        data, lm_json, guide_json = _encoded_prediction(image_rgb, landmarks, guide_landmarks)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            row = uow.cases.prediction(case_id, prediction_id)
            if row is None:
                raise NotFoundError(f"Prediction {prediction_id} of case {case_id} does not exist.")
            old_rel = row.image_path
            rel = f"cases/{case.uid}/predictions/{secrets.token_hex(8)}.png"
            with _removed_unless_committed(resolve_inside(self.db.data_dir, rel)) as path:
                atomic_write_bytes(path, data)
                row.image_path, row.image_sha256 = rel, sha256_bytes(data)
                row.landmarks_json, row.guide_landmarks_json = lm_json, guide_json
                uow.commit()
            info = self._prediction_info(row)
        resolve_inside(self.db.data_dir, old_rel).unlink(missing_ok=True)
        return info

    def list_predictions(self, case_id: int) -> list[PredictionInfo]:
        with UnitOfWork(self.db) as uow:
            uow.cases.get(case_id)
            return [self._prediction_info(p) for p in uow.cases.predictions(case_id)]

    # ------------------------------------------------------------------ conversions

    def _info(self, case: Case, uow: UnitOfWork) -> CaseInfo:
        return CaseInfo(id=case.id, uid=case.uid, pseudonym=case.pseudonym, created_at=case.created_at,
                        updated_at=case.updated_at, notes=case.notes,
                        photo_path=resolve_inside(self.db.data_dir, case.photo_path),
                        photo_sha256=case.photo_sha256, has_mask=uow.cases.mask(case.id) is not None,
                        face_box=None if case.face_box_json is None else tuple(json.loads(case.face_box_json)),
                        landmarks=(None if case.landmarks_json is None
                                   else np.asarray(json.loads(case.landmarks_json), np.float32)),
                        same_photo_as=tuple(uow.cases.same_photo(case.photo_sha256, case.id)))

    def _mask_info(self, row: Mask) -> MaskInfo:
        return MaskInfo(case_id=row.case_id, file_path=resolve_inside(self.db.data_dir, row.file_path),
                        sha256=row.sha256, width=row.width, height=row.height, updated_at=row.updated_at)

    def _prediction_info(self, row: Prediction) -> PredictionInfo:
        lm = None if row.landmarks_json is None else np.asarray(json.loads(row.landmarks_json), np.float32)
        guide = (None if row.guide_landmarks_json is None
                 else np.asarray(json.loads(row.guide_landmarks_json), np.float32))
        return PredictionInfo(id=row.id, case_id=row.case_id, model_name=row.model_name,
                              weights_sha256=row.weights_sha256, device=row.device,
                              app_version=row.app_version, created_at=row.created_at,
                              image_path=resolve_inside(self.db.data_dir, row.image_path),
                              image_sha256=row.image_sha256, landmarks=lm, mask_sha256=row.mask_sha256,
                              guide_landmarks=guide)


def _encoded_prediction(image_rgb: np.ndarray, landmarks: np.ndarray | None, guide_landmarks: np.ndarray | None
                        ) -> tuple[bytes, str | None, str | None]:
    """(PNG bytes, landmarks JSON, guide landmarks JSON) of a prediction about to be stored."""
    try:
        data = encode_png(np.asarray(image_rgb))
    except Exception as exc:
        raise CaseError(f"The predicted image cannot be stored: {exc}") from exc
    return data, _landmarks_json(landmarks), _landmarks_json(guide_landmarks)


def _landmarks_json(landmarks: np.ndarray | None) -> str | None:
    """68 finite (x, y) points as JSON (3 decimals), or None; anything else is refused."""
    if landmarks is None:
        return None
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise CaseError(f"Landmarks must be 68 finite (x, y) points; got shape {lm.shape}.")
    return json.dumps(lm.round(3).tolist())


@contextmanager
def _removed_unless_committed(path: Path) -> Iterator[Path]:
    """A new file for a row being committed: if the block fails, the file is removed again."""
    try:
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _refuse_taken_pseudonym(uow: UnitOfWork, pseudonym: str, own_id: int | None = None) -> None:
    """Two cases with one pseudonym (any letter case) would show as identical rows: refused."""
    other = uow.cases.by_pseudonym(pseudonym)
    if other is not None and other.id != own_id:
        raise DuplicateCaseError(f"A case with the pseudonym {other.pseudonym!r} already exists (created "
                                 f"{other.created_at:%Y-%m-%d}). Open that case, or enter a different pseudonym.")


def _clean_pseudonym(pseudonym: str) -> str:
    text = (pseudonym or "").strip()
    if not text:
        raise CaseError("Enter a pseudonym or patient ID for the case.")
    if len(text) > 128:
        raise CaseError("The pseudonym is too long (at most 128 characters).")
    return text
