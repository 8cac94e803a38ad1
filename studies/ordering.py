"""Seeded per-rater orders: case sequence (with repeats shown later) and output order per case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_REPEAT_GAP = 2  # at least this many other cases between a case and its repeat, where possible


@dataclass(frozen=True)
class PlannedItem:
    study_case_id: int
    is_repeat: bool
    output_ids: tuple[str, ...]  # display order: slot 0 = label A


def repeat_count(n_cases: int, fraction: float) -> int:
    if fraction <= 0 or n_cases < 2:
        return 0
    return min(n_cases, max(1, round(n_cases * fraction)))


def plan_rater_items(seed: int, outputs_by_case: Mapping[int, Sequence[str]],
                     repeat_fraction: float) -> list[PlannedItem]:
    """Draw one rater's sequence. Same seed and inputs give the same plan (inputs are sorted first)."""
    rng = np.random.default_rng(seed)
    case_ids = sorted(outputs_by_case)
    main = [case_ids[i] for i in rng.permutation(len(case_ids))]
    sequence: list[tuple[int, bool]] = [(c, False) for c in main]
    n_rep = repeat_count(len(case_ids), repeat_fraction)
    repeated = [main[i] for i in sorted(rng.choice(len(main), size=n_rep, replace=False))] if n_rep else []
    for case_id in [repeated[i] for i in rng.permutation(len(repeated))]:
        first = sequence.index((case_id, False))
        low = min(first + 1 + MIN_REPEAT_GAP, len(sequence))
        sequence.insert(int(rng.integers(low, len(sequence) + 1)), (case_id, True))
    plan = []
    for case_id, is_repeat in sequence:
        outs = sorted(outputs_by_case[case_id])
        plan.append(PlannedItem(case_id, is_repeat, tuple(outs[i] for i in rng.permutation(len(outs)))))
    return plan
