"""Pairwise mode: each rater item is one pair of outputs of a case, the rater picks the better one.

Every pair of outputs of every case is shown once to every rater, the pairs of all cases in one
seeded random sequence, and left/right drawn at random for each (slot 0 = left = label A,
slot 1 = right = label B). A share of the pairs (the study's repeat fraction) comes back later
with the sides drawn again, for the rater's self-consistency. The analysis turns the answers
into Bradley-Terry scores (:func:`studies.statistics.bradley_terry`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from studies.ordering import MIN_REPEAT_GAP, PlannedItem, repeat_count

LEFT, RIGHT = 0, 1


def plan_pair_items(seed: int, outputs_by_case: Mapping[int, Sequence[str]],
                    repeat_fraction: float) -> list[PlannedItem]:
    """One rater's pair sequence. Same seed and inputs give the same plan (inputs are sorted first)."""
    rng = np.random.default_rng(seed)
    pairs = [(case_id, pair) for case_id in sorted(outputs_by_case)
             for pair in itertools.combinations(sorted(outputs_by_case[case_id]), 2)]
    main = [pairs[i] for i in rng.permutation(len(pairs))]
    sequence: list[tuple[int, tuple[str, str], bool]] = [(c, p, False) for c, p in main]
    n_rep = repeat_count(len(main), repeat_fraction)
    repeated = [main[i] for i in sorted(rng.choice(len(main), size=n_rep, replace=False))] if n_rep else []
    for case_id, pair in [repeated[i] for i in rng.permutation(len(repeated))]:
        first = sequence.index((case_id, pair, False))
        low = min(first + 1 + MIN_REPEAT_GAP, len(sequence))
        sequence.insert(int(rng.integers(low, len(sequence) + 1)), (case_id, pair, True))
    plan = []
    for case_id, pair, is_repeat in sequence:
        left, right = pair if rng.random() < 0.5 else pair[::-1]
        plan.append(PlannedItem(case_id, is_repeat, (left, right)))
    return plan
