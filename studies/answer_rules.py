"""What makes a rating answer valid and a case complete: the one place for these rules.

Used by the rating screen's service (:mod:`studies.rating`) and by the merge of another site's
answer sheet (:mod:`studies.exchange`), so an answer refused on screen is refused in a sheet too.
Pure functions on plain values (no database); each raises :class:`studies.errors.AnswerError`
with a message for the rater. :func:`in_sheet` turns one into the sheet's "line n: ..." form.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from studies.errors import AnswerError
from studies.options import SCALE_MAX, SCALE_MIN, InvalidReason, Scale, StudyOptions


@dataclass(frozen=True)
class OutputAnswers:
    """What is stored for one output of a case (None: not answered)."""

    label: str
    valid: bool | None = None
    rank: int | None = None
    scales: Mapping[Scale | str, int] = field(default_factory=dict)


def invalid_reason(valid: bool, reason: InvalidReason | str | None, note: str = "") -> str | None:
    """The stored reason of a validity answer: None when valid; an invalid output needs a reason,
    and 'other' needs a note saying what is wrong."""
    if valid:
        return None
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        raise AnswerError("An invalid output needs a reason: choose why it is not valid "
                          "(blurry, anatomy, artifacts, other).")
    try:
        value = InvalidReason(reason).value
    except ValueError as exc:
        raise AnswerError(f"Unknown reason {reason!r}; an invalid output needs a reason "
                          f"({', '.join(r.value for r in InvalidReason)}).") from exc
    if value == InvalidReason.OTHER.value and not (note or "").strip():
        raise AnswerError("Describe the problem in a few words when choosing 'other'.")
    return value


def asked_scale(scale: Scale | str, options: StudyOptions) -> Scale:
    """The scale, if the study asks it."""
    try:
        value = Scale(scale)
    except ValueError as exc:
        raise AnswerError(f"Unknown scale {scale!r}.") from exc
    if value not in options.scales:
        raise AnswerError(f"This study does not ask the {value.value.replace('_', ' ')} scale.")
    return value


def score(value: object) -> int:
    """An Asher-McDade score: a whole number from 1 (very good) to 5 (very poor)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or int(value) != value \
            or not SCALE_MIN <= value <= SCALE_MAX:
        raise AnswerError(f"Scores go from {SCALE_MIN} (very good) to {SCALE_MAX} (very poor).")
    return int(value)


def rank(value: object) -> int:
    """One rank: a whole number, 1 = best."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise AnswerError("Ranks are whole numbers starting at 1 (best).")
    return int(value)


def unique_labels(labels_best_first: Sequence[str]) -> list[str]:
    """The labels of a ranking, upper-cased; each output appears once."""
    labels = [str(label).strip().upper() for label in labels_best_first]
    if len(set(labels)) != len(labels):
        raise AnswerError("Each output can appear only once in the ranking.")
    return labels


def ranking(labels_best_first: Sequence[str], valid_labels: Collection[str]) -> list[str]:
    """A ranking is a permutation of exactly the valid outputs (first = rank 1); labels upper-cased."""
    labels = unique_labels(labels_best_first)
    valid = {str(label).upper() for label in valid_labels}
    if set(labels) != valid:
        raise AnswerError("Rank all valid outputs and only those "
                          f"(valid: {', '.join(sorted(valid)) or 'none'}).")
    return labels


def ranks_complete(ranks: Iterable[int | None], n_valid: int) -> bool:
    """The stored ranks of the valid outputs are exactly 1..n (no gap, no tie, none missing)."""
    return sorted(r for r in ranks if r is not None) == list(range(1, n_valid + 1))


def asks_pairs(options: StudyOptions) -> None:
    """A pair choice is an answer only in a pairwise study."""
    if not options.pairwise:
        raise AnswerError("This study does not compare outputs in pairs.")


def preference(label: str, labels: Sequence[str]) -> str:
    """The output chosen as the better one of a pair."""
    value = str(label).strip().upper()
    if value not in {str(x).upper() for x in labels}:
        raise AnswerError(f"There is no output {label!r} in this pair (outputs: {', '.join(labels)}).")
    return value


def completion_problem(options: StudyOptions, outputs: Sequence[OutputAnswers],
                       preferred: str | None = None) -> str | None:
    """Why the case cannot be marked complete yet (None: it can).

    Every output judged valid or invalid (when asked); every valid output scored on every scale;
    the valid outputs ranked 1..n (the caller ranks a single valid output first);
    in pairwise mode, one output of the pair chosen as the better one.
    """
    if options.pairwise:
        if preferred is None:
            return "Choose the better output of the pair (← or →) before moving on."
        return None
    valid = []
    for out in outputs:  # in display order, as the rater reads them
        if options.ask_validity and out.valid is None:
            return f"Say whether output {out.label} is valid."
        if out.valid is False:
            continue
        valid.append(out)
        answered = {Scale(s) for s in out.scales}
        missing = [s for s in options.scales if s not in answered]
        if missing:
            return (f"Score output {out.label} on: "
                    f"{', '.join(s.value.replace('_', ' ') for s in missing)}.")
    if options.ask_ranking and valid and not ranks_complete((o.rank for o in valid), len(valid)):
        return "Rank all valid outputs (1 = best) before moving on."
    return None


def in_sheet(exc: AnswerError, where: str) -> str:
    """The rule's message as a line of an answer-sheet error: ``"line 4: scores go from ..."``."""
    text = str(exc)
    return f"{where}: {text[:1].lower()}{text[1:]}"
