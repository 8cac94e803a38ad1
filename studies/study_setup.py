"""Setting up a blinded study: cases, models, output generation, raters, opening for rating.

Outputs are made by what the app passes in: a ``study_outputs.OutputMaker`` (the app passes
``ServiceOutputs``, the clinic's own prediction path, so raters see the prediction the clinician
saw for the same case, model and mask), or the older ``generate(crop, mask, model)`` callable with
an optional ``prepare``. Every image of a case (original, masked input, each output) gets the
same display resize, is encoded identically (PNG, no metadata, uncompressed), stored under random
neutral ids, and the output -> model mapping is sealed with the owner's passphrase. Generation
runs case by case with the models in random order and files written in random order; no
per-output time is stored. Opening the study freezes the outputs and draws every rater's orders.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from inference.errors import InferenceError
from studies.database import Database
from studies.errors import PassphraseError, SetupError, StudyStateError
from studies.files import (
    atomic_write_bytes,
    decode_mask_png,
    encode_study_png,
    neutralise_file_times,
    resolve_inside,
    sha256_bytes,
    sha256_file,
)
from studies.options import StudyOptions, StudyRole, StudyStatus
from studies.ordering import plan_rater_items
from studies.pairwise import plan_pair_items
from studies.rater_pin import hash_pin
from studies.schema import Output, Rater, RaterItem, RaterItemOutput, Study, StudyCase, StudyModel, utcnow
from studies.sealing import Seal, check_passphrase_strength, hash_passphrase, new_seal_salt, verify_passphrase
from studies.study_outputs import (
    CaseSource,
    CropOutputs,
    Generate,
    OutputMaker,
    Prepare,
    cut,
    display_resize,
    mask_square,
    resize_mask,
)
from studies.unit_of_work import UnitOfWork

MASKED_FILL = 127  # grey shown in the hole of the "masked input" image


@dataclass(frozen=True)
class StudyInfo:
    id: int
    uid: str
    title: str
    description: str
    owner_name: str
    status: StudyStatus
    role: StudyRole
    options: StudyOptions
    model_names: tuple[str, ...]
    n_cases: int
    n_outputs: int
    n_raters: int
    created_at: datetime
    generated_at: datetime | None
    opened_at: datetime | None
    closed_at: datetime | None
    unblinded_at: datetime | None


@dataclass(frozen=True)
class RaterInfo:
    id: int
    uid: str
    name: str
    initials: str
    site: str
    n_items: int
    n_completed: int


@dataclass(frozen=True)
class GenerationProgress:
    done: int
    total: int
    case_code: str


def study_info(uow: UnitOfWork, study: Study) -> StudyInfo:
    """Plain snapshot of a study (shared by the owner-side services)."""
    repo = uow.studies
    return StudyInfo(
        id=study.id, uid=study.uid, title=study.title, description=study.description,
        owner_name=study.owner_name, status=StudyStatus(study.status), role=StudyRole(study.role),
        options=StudyOptions.from_json(study.options_json),
        model_names=tuple(m.name for m in repo.models(study.id)), n_cases=len(repo.cases(study.id)),
        n_outputs=len(repo.outputs(study.id)), n_raters=len(repo.raters(study.id)),
        created_at=study.created_at, generated_at=study.generated_at, opened_at=study.opened_at,
        closed_at=study.closed_at, unblinded_at=study.unblinded_at)


def rater_info(uow: UnitOfWork, rater: Rater) -> RaterInfo:
    items = uow.studies.items(rater.id)
    return RaterInfo(id=rater.id, uid=rater.uid, name=rater.name, initials=rater.initials, site=rater.site,
                     n_items=len(items), n_completed=sum(i.completed_at is not None for i in items))


def default_prepare(photo_path: Path, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest square of the photo centred (as far as possible) on the mask.

    For the ``generate`` callables of tests and tools; the app passes ``ServiceOutputs`` instead,
    whose square is the model's face square. Needs no face detector.
    """
    try:
        with Image.open(photo_path) as img:
            rgb = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    except Exception as exc:  # Pillow raises many types for unreadable files
        raise SetupError(f"The photo {Path(photo_path).name!r} cannot be read: {exc}") from exc
    if rgb.shape[:2] != mask.shape:
        raise SetupError(f"The mask ({mask.shape[1]}x{mask.shape[0]}) does not match the photo "
                         f"({rgb.shape[1]}x{rgb.shape[0]}); repaint the mask for this case.")
    square = mask_square(mask)
    return cut(rgb, square), cut(mask, square)


class StudySetup:
    """Owner-side service to build a study up to the moment it is opened for rating."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ studies

    def create_study(self, title: str, owner_name: str, passphrase: str,
                     options: StudyOptions | None = None, description: str = "") -> StudyInfo:
        if not title.strip():
            raise SetupError("Give the study a title.")
        if not owner_name.strip():
            raise SetupError("Enter the name of the study owner.")
        check_passphrase_strength(passphrase, context=(title, owner_name))
        options = options or StudyOptions()
        with UnitOfWork(self.db) as uow:
            study = Study(uid=secrets.token_hex(16), title=title.strip(), description=description,
                          owner_name=owner_name.strip(), status=StudyStatus.DRAFT.value,
                          role=StudyRole.HOME.value, options_json=options.to_json(),
                          passphrase_hash=hash_passphrase(passphrase), seal_salt=new_seal_salt(),
                          created_at=utcnow())
            uow.studies.add(study)
            uow.commit()
            return study_info(uow, study)

    def get_study(self, study_id: int) -> StudyInfo:
        with UnitOfWork(self.db) as uow:
            return study_info(uow, uow.studies.get(study_id))

    def list_studies(self) -> list[StudyInfo]:
        with UnitOfWork(self.db) as uow:
            return [study_info(uow, s) for s in uow.studies.list()]

    def add_cases(self, study_id: int, case_ids: Sequence[int]) -> StudyInfo:
        with UnitOfWork(self.db) as uow:
            study = self._draft(uow, study_id)
            existing = uow.studies.cases(study_id)
            taken = {c.case_id for c in existing}
            position = len(existing)
            for case_id in case_ids:
                case = uow.cases.get(case_id)
                if case_id in taken:
                    raise SetupError(f"Case {case.pseudonym!r} is already in this study.")
                if uow.cases.mask(case_id) is None:
                    raise SetupError(f"Case {case.pseudonym!r} has no mask yet; paint the mask first.")
                position += 1
                taken.add(case_id)
                uow.studies.add(StudyCase(study_id=study_id, case_id=case_id, position=position,
                                          code=f"Case {position:03d}"))
            self._invalidate_outputs(uow, study)
            uow.commit()
            return study_info(uow, study)

    def add_models(self, study_id: int, model_names: Sequence[str]) -> StudyInfo:
        with UnitOfWork(self.db) as uow:
            study = self._draft(uow, study_id)
            existing = uow.studies.models(study_id)
            names = {m.name for m in existing}
            position = len(existing)
            for name in model_names:
                if not name or name in names:
                    raise SetupError(f"Model {name!r} is empty or already in this study.")
                names.add(name)
                uow.studies.add(StudyModel(study_id=study_id, name=name, position=position))
                position += 1
            self._invalidate_outputs(uow, study)
            uow.commit()
            return study_info(uow, study)

    # ------------------------------------------------------------------ outputs

    def iter_generate_outputs(self, study_id: int, generate: OutputMaker | Generate, passphrase: str,
                              prepare: Prepare | None = None) -> Iterator[GenerationProgress]:
        """Generate every (case, model) output, yielding progress; replaces earlier outputs.

        ``generate``: an ``OutputMaker`` (``ServiceOutputs``: the clinic's predictions), or a
        ``generate(crop, mask, model)`` callable given the ``prepare`` crop at the output size.
        """
        shuffle = secrets.SystemRandom().shuffle
        with UnitOfWork(self.db) as uow:
            study = self._draft(uow, study_id)
            self._check_owner(study, passphrase)
            seal = Seal(passphrase, study.seal_salt or "")
            options = StudyOptions.from_json(study.options_json)
            models = [(m.position, m.name) for m in uow.studies.models(study_id)]
            cases = uow.studies.cases(study_id)
            if len(models) < 2:
                raise SetupError("A study needs at least two models to compare.")
            if not cases:
                raise SetupError("Add at least one case to the study.")
            self._invalidate_outputs(uow, study)
            uow.commit()
            size = options.output_size
            maker = generate if isinstance(generate, OutputMaker) else \
                CropOutputs(generate, prepare or default_prepare, size)
            total, done = len(models) * len(cases), 0
            for sc in cases:
                case = uow.cases.get(sc.case_id) if sc.case_id is not None else None
                mask_row = uow.cases.mask(sc.case_id) if sc.case_id is not None else None
                if case is None or mask_row is None:
                    raise SetupError(f"{sc.code} has no case photo or mask.")
                full_mask = decode_mask_png(resolve_inside(self.db.data_dir, mask_row.file_path))
                source = CaseSource(
                    resolve_inside(self.db.data_dir, case.photo_path), full_mask,
                    face_box=None if case.face_box_json is None else tuple(json.loads(case.face_box_json)),
                    landmarks=(None if case.landmarks_json is None
                               else np.asarray(json.loads(case.landmarks_json), np.float32)))
                try:
                    outputs = maker.case_outputs(source)
                except InferenceError as exc:
                    raise SetupError(f"{sc.code}: {exc}") from exc
                crop, crop_mask = display_resize(outputs.original, size), resize_mask(outputs.hole, size)
                if not crop_mask.any():
                    raise SetupError(f"The mask of {sc.code} lies outside the face crop.")
                self._store_case_images(study, sc, crop, crop_mask)
                order = list(models)
                shuffle(order)
                produced: list[tuple[int, bytes]] = []
                for position, name in order:
                    try:
                        image = outputs.output(name)
                    except Exception as exc:
                        raise SetupError(f"Model {name!r} failed on {sc.code}: {exc}") from exc
                    produced.append((position, encode_study_png(_check_output(image, name, size))))
                    done += 1
                    yield GenerationProgress(done=done, total=total, case_code=sc.code)
                shuffle(produced)
                for position, data in produced:
                    output_id = secrets.token_hex(16)
                    rel = f"studies/{study.uid}/outputs/{output_id}.png"
                    path = resolve_inside(self.db.data_dir, rel)
                    atomic_write_bytes(path, data)
                    neutralise_file_times(path)
                    uow.studies.add(Output(id=output_id, study_id=study_id, study_case_id=sc.id, file_path=rel,
                                           sha256=sha256_bytes(data), width=size, height=size))
                    uow.sealed.add(output_id, study_id, seal.seal(position))
                uow.commit()
            study.generated_at = utcnow()
            uow.commit()

    def generate_outputs(self, study_id: int, generate: Generate, passphrase: str,
                         prepare: Prepare | None = None,
                         progress: Callable[[GenerationProgress], None] | None = None) -> StudyInfo:
        for step in self.iter_generate_outputs(study_id, generate, passphrase, prepare):
            if progress is not None:
                progress(step)
        return self.get_study(study_id)

    # ------------------------------------------------------------------ raters and opening

    def add_rater(self, study_id: int, name: str, initials: str, site: str = "",
                  pin: str | None = None) -> RaterInfo:
        """Add a rater; ``pin`` (optional, 4-32 characters) is then asked when their session starts."""
        name, initials = name.strip(), initials.strip().upper()
        if not name or not initials or len(initials) > 16 or len(name) > 128:
            raise SetupError("A rater needs a name and initials (at most 16 characters).")
        with UnitOfWork(self.db) as uow:
            study = uow.studies.get(study_id)
            if study.role != StudyRole.HOME.value:
                raise StudyStateError("Raters are added at the site that owns the study; "
                                      "ask it for a new package.")
            if study.status not in (StudyStatus.DRAFT.value, StudyStatus.OPEN.value):
                raise StudyStateError("The study is closed; no raters can be added.")
            if any(r.initials == initials for r in uow.studies.raters(study_id)):
                raise SetupError(f"A rater with initials {initials!r} is already in this study.")
            rater = Rater(uid=secrets.token_hex(16), study_id=study_id, name=name, initials=initials,
                          site=site.strip(), created_at=utcnow(), pin_hash=hash_pin(pin) if pin else None)
            uow.studies.add(rater)
            if study.status == StudyStatus.OPEN.value:
                self._draw_orders(uow, study, rater)
            uow.commit()
            return rater_info(uow, rater)

    def list_raters(self, study_id: int) -> list[RaterInfo]:
        with UnitOfWork(self.db) as uow:
            uow.studies.get(study_id)
            return [rater_info(uow, r) for r in uow.studies.raters(study_id)]

    def open_study(self, study_id: int) -> StudyInfo:
        """Freeze the outputs (checked against their hashes, made read-only) and draw rater orders."""
        with UnitOfWork(self.db) as uow:
            study = self._draft(uow, study_id)
            models = uow.studies.models(study_id)
            cases = uow.studies.cases(study_id)
            outputs = uow.studies.outputs(study_id)
            if study.generated_at is None or len(models) < 2 or not cases:
                raise StudyStateError("Generate the outputs (at least two models, one case) before opening.")
            per_case: dict[int, int] = {}
            for out in outputs:
                per_case[out.study_case_id] = per_case.get(out.study_case_id, 0) + 1
            if any(per_case.get(c.id, 0) != len(models) for c in cases):
                raise StudyStateError("Some outputs are missing; generate the outputs again.")
            for out in outputs:
                path = resolve_inside(self.db.data_dir, out.file_path)
                if not path.is_file() or sha256_file(path) != out.sha256:
                    raise StudyStateError(f"Output file {path.name} is missing or changed; generate again.")
                os.chmod(path, 0o444)
            for rater in uow.studies.raters(study_id):
                self._draw_orders(uow, study, rater)
            study.status = StudyStatus.OPEN.value
            study.opened_at = utcnow()
            uow.commit()
            return study_info(uow, study)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _draft(uow: UnitOfWork, study_id: int) -> Study:
        study = uow.studies.get(study_id)
        if study.role != StudyRole.HOME.value:
            raise StudyStateError("This is a copy of another site's study; it cannot be changed here.")
        if study.status != StudyStatus.DRAFT.value:
            raise StudyStateError("The study is open for rating: its cases, models and outputs are frozen.")
        return study

    @staticmethod
    def _check_owner(study: Study, passphrase: str) -> None:
        if not study.passphrase_hash or not verify_passphrase(passphrase, study.passphrase_hash):
            raise PassphraseError("The study passphrase is not correct.")

    def _invalidate_outputs(self, uow: UnitOfWork, study: Study) -> None:
        for out in uow.studies.outputs(study.id):
            path = resolve_inside(self.db.data_dir, out.file_path)
            if path.exists():
                path.unlink()
        uow.studies.delete_outputs(study.id)
        study.generated_at = None

    def _store_case_images(self, study: Study, sc: StudyCase, crop: np.ndarray, mask: np.ndarray) -> None:
        options = StudyOptions.from_json(study.options_json)
        base = f"studies/{study.uid}/cases/{sc.position:03d}"
        sc.original_path = sc.original_sha256 = sc.masked_path = sc.masked_sha256 = None
        if options.show_original:
            data = encode_study_png(crop)
            atomic_write_bytes(resolve_inside(self.db.data_dir, base + "_original.png"), data)
            sc.original_path, sc.original_sha256 = base + "_original.png", sha256_bytes(data)
        if options.show_masked_input:
            masked = crop.copy()
            masked[mask] = MASKED_FILL
            data = encode_study_png(masked)
            atomic_write_bytes(resolve_inside(self.db.data_dir, base + "_masked.png"), data)
            sc.masked_path, sc.masked_sha256 = base + "_masked.png", sha256_bytes(data)

    @staticmethod
    def _draw_orders(uow: UnitOfWork, study: Study, rater: Rater) -> None:
        if uow.studies.count_items(rater.id):
            return
        options = StudyOptions.from_json(study.options_json)
        by_case: dict[int, list[str]] = {}
        for out in uow.studies.outputs(study.id):
            by_case.setdefault(out.study_case_id, []).append(out.id)
        rater.seed = secrets.randbits(62)
        plan = plan_pair_items if options.pairwise else plan_rater_items
        for position, planned in enumerate(plan(rater.seed, by_case, options.repeat_fraction), 1):
            item = RaterItem(rater_id=rater.id, position=position, study_case_id=planned.study_case_id,
                             is_repeat=planned.is_repeat)
            uow.studies.add(item)
            for slot, output_id in enumerate(planned.output_ids):
                uow.session.add(RaterItemOutput(item_id=item.id, slot=slot, output_id=output_id))
        uow.session.flush()


def _check_output(image: np.ndarray, model_name: str, size: int) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise SetupError(f"Model {model_name!r} returned {image.dtype} {image.shape}, not an RGB uint8 image.")
    return display_resize(image, size)
