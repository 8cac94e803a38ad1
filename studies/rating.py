"""One rater's session: blinded items in the rater's own order, every answer saved at once.

Each ``set_*`` call is its own transaction, committed before it returns, so closing or killing
the app never loses an answer already given; resuming starts at the first unfinished item.
This module only uses :mod:`studies.repositories.rater`, which cannot reach the model mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from studies.database import Database
from studies.errors import AnswerError, IntegrityError, StudyStateError
from studies.files import resolve_inside, sha256_file
from studies.options import SCALE_MAX, SCALE_MIN, InvalidReason, Scale, StudyOptions, StudyStatus, output_label
from studies.repositories.rater import RaterUnitOfWork
from studies.schema import CommentAnswer, RankAnswer, RaterItem, RaterItemOutput, ScaleAnswer, ValidityAnswer, utcnow


@dataclass(frozen=True)
class Questions:
    """What the rating screen asks (the rater-facing part of the study options)."""

    show_original: bool
    show_masked_input: bool
    ask_validity: bool
    ask_ranking: bool
    scales: tuple[Scale, ...]
    ask_comment: bool


@dataclass(frozen=True)
class OutputView:
    label: str
    image_path: Path
    valid: bool | None
    invalid_reason: InvalidReason | None
    note: str
    rank: int | None
    scales: Mapping[Scale, int]


@dataclass(frozen=True)
class RatingItem:
    position: int
    total: int
    case_code: str
    completed: bool
    original_image: Path | None
    masked_image: Path | None
    outputs: tuple[OutputView, ...]
    comment: str
    questions: Questions


@dataclass(frozen=True)
class Progress:
    total: int
    completed: int
    next_position: int | None  # first unfinished item, None when all are done

    @property
    def fraction(self) -> float:
        return self.completed / self.total if self.total else 1.0


@dataclass(frozen=True)
class RaterSessionInfo:
    rater_name: str
    initials: str
    study_title: str
    study_open: bool
    questions: Questions
    progress: Progress


class RaterSession:
    """Service behind the rating screen for one rater."""

    def __init__(self, db: Database, rater_id: int, *, verify_files: bool = True) -> None:
        self.db = db
        self.rater_id = rater_id
        self.verify_files = verify_files
        with RaterUnitOfWork(db) as uow:
            uow.raters.rater(rater_id)  # fail early on an unknown rater

    # ------------------------------------------------------------------ reading

    def info(self) -> RaterSessionInfo:
        with RaterUnitOfWork(self.db) as uow:
            rater = uow.raters.rater(self.rater_id)
            study = uow.raters.study(rater.study_id)
            return RaterSessionInfo(rater_name=rater.name, initials=rater.initials, study_title=study.title,
                                    study_open=study.status == StudyStatus.OPEN.value,
                                    questions=_questions(StudyOptions.from_json(study.options_json)),
                                    progress=self._progress(uow))

    def progress(self) -> Progress:
        with RaterUnitOfWork(self.db) as uow:
            return self._progress(uow)

    def next_item(self) -> RatingItem | None:
        """The first unfinished item (resume point), or None when everything is rated."""
        position = self.progress().next_position
        return None if position is None else self.item(position)

    def item(self, position: int) -> RatingItem:
        with RaterUnitOfWork(self.db) as uow:
            rater = uow.raters.rater(self.rater_id)
            study = uow.raters.study(rater.study_id)
            options = StudyOptions.from_json(study.options_json)
            item = uow.raters.item(self.rater_id, position)
            sc = uow.raters.study_case(item.study_case_id)
            total, _ = uow.raters.count_items(self.rater_id)
            views = []
            for row, rel, sha in uow.raters.shown_outputs(item.id):
                path = resolve_inside(self.db.data_dir, rel)
                if self.verify_files and (not path.is_file() or sha256_file(path) != sha):
                    raise IntegrityError(f"An image of {sc.code} is missing or was changed after the study "
                                         "opened; tell the study owner.")
                validity = uow.raters.validity(row.id)
                rank = uow.raters.rank(row.id)
                views.append(OutputView(
                    label=output_label(row.slot), image_path=path,
                    valid=None if validity is None else validity.valid,
                    invalid_reason=None if validity is None or validity.reason is None
                    else InvalidReason(validity.reason),
                    note="" if validity is None else validity.note,
                    rank=None if rank is None else rank.rank,
                    scales=MappingProxyType({Scale(s.scale): s.score for s in uow.raters.scales(row.id)})))
            comment = uow.raters.comment(item.id)
            return RatingItem(
                position=item.position, total=total, case_code=sc.code, completed=item.completed_at is not None,
                original_image=self._case_image(sc.original_path) if options.show_original else None,
                masked_image=self._case_image(sc.masked_path) if options.show_masked_input else None,
                outputs=tuple(views), comment="" if comment is None else comment.text,
                questions=_questions(options))

    # ------------------------------------------------------------------ answering (one commit each)

    def set_validity(self, position: int, label: str, valid: bool,
                     reason: InvalidReason | str | None = None, note: str = "") -> None:
        """Mark an output valid, or invalid with a reason; an invalid output loses its rank."""
        reason_value = None
        if not valid:
            if reason is None:
                raise AnswerError("Choose why the output is not valid (blurry, anatomy, artifacts, other).")
            try:
                reason_value = InvalidReason(reason).value
            except ValueError as exc:
                raise AnswerError(f"Unknown reason {reason!r}.") from exc
            if reason_value == InvalidReason.OTHER.value and not note.strip():
                raise AnswerError("Describe the problem in a few words when choosing 'other'.")
        with RaterUnitOfWork(self.db) as uow:
            item, options, slots = self._editable(uow, position)
            if not options.ask_validity:
                raise AnswerError("This study does not ask about validity.")
            row = _slot(slots, label)
            answer = uow.raters.validity(row.id)
            now = utcnow()
            if answer is None:
                uow.raters.add(ValidityAnswer(item_output_id=row.id, valid=bool(valid), reason=reason_value,
                                              note=note, answered_at=now))
            else:
                answer.valid, answer.reason, answer.note, answer.answered_at = bool(valid), reason_value, note, now
            if not valid:
                uow.raters.delete_rank(row.id)
            item.completed_at = None
            uow.commit()

    def set_ranking(self, position: int, labels_best_first: Sequence[str]) -> None:
        """Rank exactly the outputs currently marked valid: first label gets rank 1 (best)."""
        with RaterUnitOfWork(self.db) as uow:
            item, options, slots = self._editable(uow, position)
            if not options.ask_ranking:
                raise AnswerError("This study does not ask for a ranking.")
            labels = [str(label).upper() for label in labels_best_first]
            if len(set(labels)) != len(labels):
                raise AnswerError("Each output can appear only once in the ranking.")
            valid_labels = set()
            for label, row in slots.items():
                validity = uow.raters.validity(row.id)
                if validity is None:
                    raise AnswerError(f"Say whether output {label} is valid before ranking.")
                if validity.valid:
                    valid_labels.add(label)
            if set(labels) != valid_labels:
                raise AnswerError("Rank all valid outputs and only those "
                                  f"(valid: {', '.join(sorted(valid_labels)) or 'none'}).")
            now = utcnow()
            for rank, label in enumerate(labels, 1):
                row = slots[label]
                answer = uow.raters.rank(row.id)
                if answer is None:
                    uow.raters.add(RankAnswer(item_output_id=row.id, rank=rank, answered_at=now))
                else:
                    answer.rank, answer.answered_at = rank, now
            item.completed_at = None
            uow.commit()

    def set_scale(self, position: int, label: str, scale: Scale | str, score: int) -> None:
        with RaterUnitOfWork(self.db) as uow:
            item, options, slots = self._editable(uow, position)
            try:
                scale_value = Scale(scale)
            except ValueError as exc:
                raise AnswerError(f"Unknown scale {scale!r}.") from exc
            if scale_value not in options.scales:
                raise AnswerError(f"This study does not ask the {scale_value.value.replace('_', ' ')} scale.")
            if isinstance(score, bool) or int(score) != score or not SCALE_MIN <= score <= SCALE_MAX:
                raise AnswerError(f"Scores go from {SCALE_MIN} (very good) to {SCALE_MAX} (very poor).")
            row = _slot(slots, label)
            answer = uow.raters.scale(row.id, scale_value.value)
            now = utcnow()
            if answer is None:
                uow.raters.add(ScaleAnswer(item_output_id=row.id, scale=scale_value.value, score=int(score),
                                           answered_at=now))
            else:
                answer.score, answer.answered_at = int(score), now
            item.completed_at = None
            uow.commit()

    def set_comment(self, position: int, text: str) -> None:
        with RaterUnitOfWork(self.db) as uow:
            item, options, _ = self._editable(uow, position)
            if not options.ask_comment:
                raise AnswerError("This study does not ask for comments.")
            answer = uow.raters.comment(item.id)
            if answer is None:
                uow.raters.add(CommentAnswer(item_id=item.id, text=text, answered_at=utcnow()))
            else:
                answer.text, answer.answered_at = text, utcnow()
            uow.commit()

    def complete(self, position: int) -> Progress:
        """Check the item is fully answered and mark it done (a single valid output is ranked 1)."""
        with RaterUnitOfWork(self.db) as uow:
            item, options, slots = self._editable(uow, position)
            valid_rows = []
            for label, row in slots.items():
                validity = uow.raters.validity(row.id)
                if options.ask_validity and validity is None:
                    raise AnswerError(f"Say whether output {label} is valid.")
                is_valid = validity is None or validity.valid
                if is_valid:
                    valid_rows.append(row)
                answered = {s.scale for s in uow.raters.scales(row.id)}
                missing = [s for s in options.scales if s.value not in answered]
                if is_valid and missing:
                    raise AnswerError(f"Score output {label} on: {', '.join(s.value.replace('_', ' ') for s in missing)}.")
            if options.ask_ranking:
                if len(valid_rows) == 1 and uow.raters.rank(valid_rows[0].id) is None:
                    uow.raters.add(RankAnswer(item_output_id=valid_rows[0].id, rank=1, answered_at=utcnow()))
                    uow.session.flush()
                ranks = sorted(r.rank for r in (uow.raters.rank(row.id) for row in valid_rows) if r is not None)
                if ranks != list(range(1, len(valid_rows) + 1)):
                    raise AnswerError("Rank all valid outputs (1 = best) before moving on.")
            item.completed_at = utcnow()
            uow.commit()
            return self._progress(uow)

    # ------------------------------------------------------------------ helpers

    def _progress(self, uow: RaterUnitOfWork) -> Progress:
        items = uow.raters.items(self.rater_id)
        pending = [i.position for i in items if i.completed_at is None]
        return Progress(total=len(items), completed=len(items) - len(pending),
                        next_position=pending[0] if pending else None)

    def _editable(self, uow: RaterUnitOfWork, position: int) -> tuple[RaterItem, StudyOptions,
                                                                       dict[str, RaterItemOutput]]:
        rater = uow.raters.rater(self.rater_id)
        study = uow.raters.study(rater.study_id)
        if study.status != StudyStatus.OPEN.value:
            raise StudyStateError("The study is not open for rating; answers cannot be changed.")
        item = uow.raters.item(self.rater_id, position)
        slots = {output_label(row.slot): row for row, _, _ in uow.raters.shown_outputs(item.id)}
        return item, StudyOptions.from_json(study.options_json), slots

    def _case_image(self, rel: str | None) -> Path | None:
        return None if rel is None else resolve_inside(self.db.data_dir, rel)


def _slot(slots: dict[str, RaterItemOutput], label: str) -> RaterItemOutput:
    row = slots.get(str(label).upper())
    if row is None:
        raise AnswerError(f"There is no output {label!r} for this case (outputs: {', '.join(slots)}).")
    return row


def _questions(options: StudyOptions) -> Questions:
    return Questions(show_original=options.show_original, show_masked_input=options.show_masked_input,
                     ask_validity=options.ask_validity, ask_ranking=options.ask_ranking,
                     scales=options.scales, ask_comment=options.ask_comment)
