"""Clinical case store: cases (pseudonym + photo), their mask, and prediction records.

Photos are copied into the data folder (so the case survives the original being moved) and
referenced by a relative path and sha256. A new file always gets a new name and is written before
the commit that points to it; a file the database no longer points to is removed after that commit.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from inference.io.mask_codec import mask_sha256
from studies.database import Database
from studies.deletion import finish_pending, journaled_removal
from studies.errors import CaseError, CaseInUseError, DuplicateCaseError, NotFoundError
from studies.files import (
    atomic_write_bytes,
    decode_mask_png,
    encode_mask_png,
    resolve_inside,
    sha256_bytes,
)
from studies.prediction_store import (
    Box,
    EncodedPrediction,
    PredictionPatch,
    PredictionStore,
    box_from_json,
    encode_prediction,
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
    image_path: Path  # the PNG of the changed patch (older rows: of the whole repaired photo)
    image_sha256: str
    landmarks: np.ndarray | None  # (68, 2) float32, crop pixels as given
    mask_sha256: str | None = None  # inference.io.mask_codec.mask_sha256 of its mask; None if unknown
    guide_landmarks: np.ndarray | None = None  # (68, 2) photo pixels it was steered with; None: network's own
    box: Box | None = None  # where the patch goes on the photo; None: the PNG is the whole picture
    photo_size: tuple[int, int] | None = None  # (width, height) of the photo it was made on
    mask_path: Path | None = None  # the mask it was made with (cut to the box); None: not stored


def mask_fingerprint(mask: np.ndarray) -> str:
    """The mask's sha256 as stored with predictions (kept for older callers: use
    ``inference.io.mask_codec.mask_sha256``)."""
    return mask_sha256(mask)


class CaseStore:
    """Service for the desktop app's case list and case screen."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.predictions = PredictionStore()  # the one decoder of stored predictions

    def prediction_image(self, prediction: PredictionInfo, photo_rgb: np.ndarray | None,
                         region: Box | None = None) -> np.ndarray:
        """The repaired photo as the clinician saw it: the stored patch on ``photo_rgb`` (the case's photo)."""
        return self.predictions.image(prediction, photo_rgb, region)

    def prediction_mask(self, prediction: PredictionInfo) -> np.ndarray | None:
        """The mask the prediction was made with (bool, photo size), or None for rows without one."""
        return self.predictions.mask(prediction)

    def create_case(self, pseudonym: str, photo_source: Path, notes: str = "") -> CaseInfo:
        pseudonym = _clean_pseudonym(pseudonym)
        source = checked_photo_file(photo_source, "The photo file")
        data = source.read_bytes()
        uid = secrets.token_hex(16)
        suffix = source.suffix.lower() if source.suffix.isascii() and len(source.suffix) <= 6 else ".img"
        rel = f"cases/{uid}/photo{suffix}"
        now = utcnow()
        with UnitOfWork(self.db) as uow, _removed_unless_committed(resolve_inside(self.db.data_dir, rel),
                                                                           in_new_folder=True) as path:
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

    def add_prediction(self, case_id: int, model_name: str, picture: np.ndarray | PredictionPatch, *,
                       device: str, app_version: str, weights_sha256: str | None = None,
                       landmarks: np.ndarray | None = None, mask_sha256: str | None = None,
                       guide_landmarks: np.ndarray | None = None, mask: np.ndarray | None = None) -> PredictionInfo:
        """Record a prediction shown to the clinician (its PNG stored beside the case).

        ``picture``: the changed patch and its box (``PredictionPatch``, what the app stores), or a
        whole repaired image. ``mask`` (bool, photo size) is the mask the model filled, stored with
        the prediction (cut to the patch's box); ``mask_sha256`` its ``mask_sha256`` (computed from
        ``mask`` when not given). ``guide_landmarks``: the (68, 2) photo-pixel points it was steered
        with (None: the network's own).
        """
        if not model_name:
            raise CaseError("A prediction needs the name of the model that made it.")
        if mask_sha256 is None and mask is not None:
            mask_sha256 = _mask_sha256(mask)
        encoded = encode_prediction(picture, mask)
        lm_json, guide_json = _landmarks_json(landmarks), _landmarks_json(guide_landmarks)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            with self._written(case.uid, encoded) as (rel, mask_rel):
                row = uow.cases.add_prediction(Prediction(
                    case_id=case_id, model_name=model_name, weights_sha256=weights_sha256, device=device,
                    app_version=app_version, created_at=utcnow(), image_path=rel,
                    image_sha256=sha256_bytes(encoded.image_png), landmarks_json=lm_json, mask_sha256=mask_sha256,
                    guide_landmarks_json=guide_json, box_json=encoded.box_json, photo_width=encoded.photo_width,
                    photo_height=encoded.photo_height, mask_path=mask_rel))
                uow.commit()
            return self._prediction_info(row)

    def rerender_prediction(self, case_id: int, prediction_id: int, picture: np.ndarray | PredictionPatch, *,
                            landmarks: np.ndarray | None, guide_landmarks: np.ndarray | None,
                            weights_sha256: str | None = None, device: str | None = None) -> PredictionInfo:
        """Replace a prediction's picture with one re-rendered from edited landmarks (or reset to its own).

        The prediction keeps its id, model and mask (its stored mask file too); the new picture gets a
        new file, and the old one is removed only after the commit, so a failed commit leaves picture
        and points matching. ``weights_sha256`` and ``device``, when given, are those of the re-render
        (the weights on disk may have changed since the Run), so the record names what drew it.
        """
        encoded = encode_prediction(picture)
        lm_json, guide_json = _landmarks_json(landmarks), _landmarks_json(guide_landmarks)
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            row = uow.cases.prediction(case_id, prediction_id)
            if row is None:
                raise NotFoundError(f"Prediction {prediction_id} of case {case_id} does not exist.")
            old_rel = row.image_path
            with self._written(case.uid, encoded) as (rel, _no_mask):
                row.image_path, row.image_sha256 = rel, sha256_bytes(encoded.image_png)
                row.box_json, row.photo_width, row.photo_height = (encoded.box_json, encoded.photo_width,
                                                                   encoded.photo_height)
                row.landmarks_json, row.guide_landmarks_json = lm_json, guide_json
                if weights_sha256 is not None:
                    row.weights_sha256 = weights_sha256
                if device is not None:
                    row.device = device
                uow.commit()
            info = self._prediction_info(row)
        resolve_inside(self.db.data_dir, old_rel).unlink(missing_ok=True)
        return info

    @contextmanager
    def _written(self, case_uid: str, encoded: EncodedPrediction) -> Iterator[tuple[str, str | None]]:
        """Write a prediction's new files (patch, mask) for the block that commits the row pointing to them;
        if the block fails they are removed again."""
        name = secrets.token_hex(8)
        rel = f"cases/{case_uid}/predictions/{name}.png"
        mask_rel = None if encoded.mask_png is None else f"cases/{case_uid}/predictions/{name}-mask.png"
        with _removed_unless_committed(resolve_inside(self.db.data_dir, rel)) as path:
            atomic_write_bytes(path, encoded.image_png)
            if mask_rel is None:
                yield rel, None
                return
            with _removed_unless_committed(resolve_inside(self.db.data_dir, mask_rel)) as mask_path:
                atomic_write_bytes(mask_path, encoded.mask_png)
                yield rel, mask_rel

    def list_predictions(self, case_id: int) -> list[PredictionInfo]:
        with UnitOfWork(self.db) as uow:
            uow.cases.get(case_id)
            return [self._prediction_info(p) for p in uow.cases.predictions(case_id)]

    # ------------------------------------------------------------------ deleting

    def studies_using(self, case_id: int) -> tuple[str, ...]:
        """Titles of the studies that include this case (such a case cannot be deleted)."""
        with UnitOfWork(self.db) as uow:
            uow.cases.get(case_id)
            return tuple(uow.cases.studies_using(case_id))

    def delete_case(self, case_id: int) -> None:
        """Delete a case with its photo, mask, predictions and thumbnail, rows first, then files.

        Refused with ``CaseInUseError`` (naming the studies) when a study includes the case. The
        files go through the deletion journal (:mod:`studies.deletion`): a failed commit keeps them
        all, and a crash after the commit is finished by the next deletion.
        """
        self.finish_deletions()
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            studies = uow.cases.studies_using(case_id)
            if studies:
                raise CaseInUseError(case_in_use_message(case.pseudonym, studies))
            folder = f"cases/{case.uid}"
            rows = [case, *uow.cases.predictions(case_id)]
            mask = uow.cases.mask(case_id)
            targets = [folder] + [rel for row in (*rows, mask) if row is not None for rel in _stored_paths(row)
                                  if not rel.startswith(folder + "/")]
            with journaled_removal(self.db.data_dir, targets):
                uow.cases.delete(case)
                uow.commit()

    def delete_prediction(self, case_id: int, prediction_id: int) -> None:
        """Delete one prediction of a case and its image file(s), rows first, then files.

        A prediction is never part of a study (a study generates and seals its own outputs), so
        deleting one changes no study.
        """
        self.finish_deletions()
        with UnitOfWork(self.db) as uow:
            case = uow.cases.get(case_id)
            row = uow.cases.prediction(case_id, prediction_id)
            if row is None:
                raise NotFoundError(f"Prediction {prediction_id} of case {case_id} does not exist.")
            paths = _stored_paths(row)
            uow.cases.delete(row)  # flushed, not yet committed
            targets = [rel for rel in paths if not uow.cases.refers_to(rel)]  # a file another row shares stays
            with journaled_removal(self.db.data_dir, targets):
                case.updated_at = utcnow()
                uow.commit()

    def finish_deletions(self) -> int:
        """Remove the files of deletions interrupted after their commit (see :mod:`studies.deletion`)."""
        with UnitOfWork(self.db) as uow:
            def still_referenced(target: str) -> bool:
                parts = target.split("/")
                if len(parts) == 2 and parts[0] == "cases":
                    return uow.cases.by_uid(parts[1]) is not None
                return uow.cases.refers_to(target)

            return finish_pending(self.db.data_dir, still_referenced)

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
        size = None if row.photo_width is None or row.photo_height is None else (row.photo_width, row.photo_height)
        return PredictionInfo(id=row.id, case_id=row.case_id, model_name=row.model_name,
                              weights_sha256=row.weights_sha256, device=row.device,
                              app_version=row.app_version, created_at=row.created_at,
                              image_path=resolve_inside(self.db.data_dir, row.image_path),
                              image_sha256=row.image_sha256, landmarks=lm, mask_sha256=row.mask_sha256,
                              guide_landmarks=guide, box=box_from_json(row.box_json), photo_size=size,
                              mask_path=None if row.mask_path is None else resolve_inside(self.db.data_dir,
                                                                                           row.mask_path))


def checked_photo_file(photo_source: Path, what: str) -> Path:
    """``photo_source`` as a Path, refused (``CaseError``, naming it ``what``) if it is missing,
    empty or larger than :data:`MAX_PHOTO_BYTES`."""
    source = Path(photo_source)
    if not source.is_file():
        raise CaseError(f"{what} {source.name!r} was not found.")
    size = source.stat().st_size
    if size == 0 or size > MAX_PHOTO_BYTES:
        raise CaseError(f"{what} {source.name!r} is empty or larger than 200 MB.")
    return source


def _mask_sha256(mask: np.ndarray) -> str:
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != bool:
        raise CaseError(f"A mask must be a 2-D true/false image; got {mask.dtype} {mask.shape}.")
    return mask_sha256(mask)


def _landmarks_json(landmarks: np.ndarray | None) -> str | None:
    """68 finite (x, y) points as JSON (3 decimals), or None; anything else is refused."""
    if landmarks is None:
        return None
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise CaseError(f"Landmarks must be 68 finite (x, y) points; got shape {lm.shape}.")
    return json.dumps(lm.round(3).tolist())


@contextmanager
def _removed_unless_committed(path: Path, in_new_folder: bool = False) -> Iterator[Path]:
    """A new file for a row being committed: if the block fails, the file is removed again, and with
    ``in_new_folder`` its folder too when nothing else is in it (a new case leaves no empty folder)."""
    try:
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        if in_new_folder:
            with contextlib.suppress(OSError):  # not empty, or already gone: leave it
                path.parent.rmdir()
        raise


def _refuse_taken_pseudonym(uow: UnitOfWork, pseudonym: str, own_id: int | None = None) -> None:
    """Two cases with one pseudonym (any letter case) would show as identical rows: refused."""
    other = uow.cases.by_pseudonym(pseudonym)
    if other is not None and other.id != own_id:
        raise DuplicateCaseError(f"A case with the pseudonym {other.pseudonym!r} already exists (created "
                                 f"{other.created_at:%Y-%m-%d}). Open that case, or enter a different pseudonym.")


def case_in_use_message(pseudonym: str, studies: list[str] | tuple[str, ...]) -> str:
    """Why a case cannot be deleted, naming the studies that include it."""
    names = ", ".join(f"“{t}”" for t in studies[:3]) + (f" and {len(studies) - 3} more" if len(studies) > 3 else "")
    which = "study" if len(studies) == 1 else "studies"
    return (f"The case {pseudonym!r} cannot be deleted: it is part of the {which} {names}, whose images and "
            "answers depend on it. Nothing was deleted.")


def _stored_paths(row: object) -> list[str]:
    """Every file a case-store row points to (its ``*_path`` columns that are set)."""
    table = row.__table__  # type: ignore[attr-defined]
    return [getattr(row, c.key) for c in table.columns if c.name.endswith("_path") and getattr(row, c.key)]


def _clean_pseudonym(pseudonym: str) -> str:
    text = (pseudonym or "").strip()
    if not text:
        raise CaseError("Enter a pseudonym or patient ID for the case.")
    if len(text) > 128:
        raise CaseError("The pseudonym is too long (at most 128 characters).")
    return text
