"""One rater's session: blinded items in the rater's own order, every answer saved at once.

Each ``set_*`` call is its own transaction, committed before it returns, so closing or killing
the app never loses an answer already given; resuming starts at the first unfinished item.
This module only uses :mod:`studies.repositories.rater`'s unit of work, which cannot reach the model
mapping (pair answers, which hold a display slot only, are read through its session). What makes an
answer valid and a case complete is :mod:`studies.answer_rules`; a rater's PIN is checked by
:func:`unlock_session`, the screens' way in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import select

from studies import answer_rules as rules
from studies.database import Database
from studies.errors import AnswerError, IntegrityError, StudyStateError
from studies.files import resolve_inside, sha256_file
from studies.options import InvalidReason, Scale, StudyOptions, StudyStatus, output_label
from studies.rater_pin import PinError, verify_pin
from studies.repositories.rater import RaterUnitOfWork
from studies.schema import (
    CommentAnswer,
    PairAnswer,
    RankAnswer,
    RaterItem,
    RaterItemOutput,
    ScaleAnswer,
    ValidityAnswer,
    utcnow,
)


@dataclass(frozen=True)
class Questions:
    """What the rating screen asks (the rater-facing part of the study options)."""

    show_original: bool
    show_masked_input: bool
    ask_validity: bool
    ask_ranking: bool
    scales: tuple[Scale, ...]
    ask_comment: bool
    pairwise: bool = False  # two outputs (A = left, B = right); the rater picks the better one


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
    preferred: str | None = None  # pairwise mode: label of the output chosen as the better one


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


def rater_has_pin(db: Database, rater_id: int) -> bool:
    """Whether this rater's session asks for a PIN."""
    with RaterUnitOfWork(db) as uow:
        return uow.raters.rater(rater_id).pin_hash is not None


def unlock_session(db: Database, rater_id: int, pin: str | None = None, *,
                   verify_files: bool = True) -> "RaterSession":
    """The rater's session, if ``pin`` is theirs (or they have none); :class:`PinError` otherwise.

    The rating screens start sessions only through this, so nobody answers as a rater with a PIN
    without knowing it.
    """
    with RaterUnitOfWork(db) as uow:
        rater = uow.raters.rater(rater_id)
        if not verify_pin(pin, rater.pin_hash):
            raise PinError(f"The PIN of {rater.name} is not correct." if pin
                           else f"{rater.name} has a PIN: enter it to start rating.")
    return RaterSession(db, rater_id, verify_files=verify_files)


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
            pair = _pair_answer(uow, item.id) if options.pairwise else None
            return RatingItem(
                position=item.position, total=total, case_code=sc.code, completed=item.completed_at is not None,
                original_image=self._case_image(sc.original_path) if options.show_original else None,
                masked_image=self._case_image(sc.masked_path) if options.show_masked_input else None,
                outputs=tuple(views), comment="" if comment is None else comment.text,
                questions=_questions(options),
                preferred=None if pair is None else output_label(pair.preferred_slot))

    # ------------------------------------------------------------------ answering (one commit each)

    def set_validity(self, position: int, label: str, valid: bool,
                     reason: InvalidReason | str | None = None, note: str = "") -> None:
        """Mark an output valid, or invalid with a reason; an invalid output loses its rank."""
        reason_value = rules.invalid_reason(valid, reason, note)
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
            labels = rules.unique_labels(labels_best_first)
            valid_labels = set()
            for label, row in slots.items():
                validity = uow.raters.validity(row.id)
                if validity is None:
                    raise AnswerError(f"Say whether output {label} is valid before ranking.")
                if validity.valid:
                    valid_labels.add(label)
            labels = rules.ranking(labels, valid_labels)
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
            scale_value = rules.asked_scale(scale, options)
            value = rules.score(score)
            row = _slot(slots, label)
            answer = uow.raters.scale(row.id, scale_value.value)
            now = utcnow()
            if answer is None:
                uow.raters.add(ScaleAnswer(item_output_id=row.id, scale=scale_value.value, score=value,
                                           answered_at=now))
            else:
                answer.score, answer.answered_at = value, now
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

    def set_preference(self, position: int, label: str) -> None:
        """Pairwise mode: ``label`` (A = left, B = right) is the better output of the pair."""
        with RaterUnitOfWork(self.db) as uow:
            item, options, slots = self._editable(uow, position)
            if not options.pairwise:
                raise AnswerError("This study does not compare outputs in pairs.")
            chosen = rules.preference(label, list(slots))
            answer = _pair_answer(uow, item.id)
            slot, now = slots[chosen].slot, utcnow()
            if answer is None:
                uow.raters.add(PairAnswer(item_id=item.id, preferred_slot=slot, answered_at=now))
            else:
                answer.preferred_slot, answer.answered_at = slot, now
            item.completed_at = None
            uow.commit()

    def complete(self, position: int) -> Progress:
        """Check the item is fully answered (:mod:`studies.answer_rules`) and mark it done
        (a single valid output is ranked 1)."""
        with RaterUnitOfWork(self.db) as uow:
            item, options, slots = self._editable(uow, position)
            answers = []
            for label, row in slots.items():
                validity = uow.raters.validity(row.id)
                rank = uow.raters.rank(row.id)
                answers.append(rules.OutputAnswers(
                    label=label, valid=None if validity is None else validity.valid,
                    rank=None if rank is None else rank.rank,
                    scales={s.scale: s.score for s in uow.raters.scales(row.id)}))
            valid = [a for a in answers if a.valid is not False]
            if options.ask_ranking and len(valid) == 1 and valid[0].rank is None \
                    and (valid[0].valid or not options.ask_validity) and not options.pairwise:
                uow.raters.add(RankAnswer(item_output_id=slots[valid[0].label].id, rank=1, answered_at=utcnow()))
                uow.session.flush()
                answers = [replace(a, rank=1) if a is valid[0] else a for a in answers]
            pair = _pair_answer(uow, item.id) if options.pairwise else None
            problem = rules.completion_problem(
                options, answers, None if pair is None else output_label(pair.preferred_slot))
            if problem is not None:
                raise AnswerError(problem)
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


def _pair_answer(uow: RaterUnitOfWork, item_id: int) -> PairAnswer | None:
    return uow.session.scalar(select(PairAnswer).where(PairAnswer.item_id == item_id))


def _questions(options: StudyOptions) -> Questions:
    return Questions(show_original=options.show_original, show_masked_input=options.show_masked_input,
                     ask_validity=options.ask_validity, ask_ranking=options.ask_ranking,
                     scales=options.scales, ask_comment=options.ask_comment, pairwise=options.pairwise)
