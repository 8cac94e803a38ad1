"""A small table of nasolabial symmetry measures for the consultation report, in plain language.

Rows are the measures of ``inference.measures`` (plain-language labels), columns the pictures they
were measured on (the photo, each prediction, a post-operative photo), each from its own 68 landmarks.
A column without landmarks prints a dash. The report module decides where the table goes:

    story += measures_block([("Before (photo)", photo_landmarks), ("Prediction", predicted_landmarks)], width)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether

from inference.errors import InferenceError
from inference.measures import DEFINITIONS, describe, nasolabial_measures
from studies.reports import blocks
from studies.reports.errors import ReportInputError

MEASURES_HEADING = "Symmetry of nose and lip"
MEASURES_NOTE = ("Estimated from facial landmarks on the 2-D photo; left and right are the patient's. "
                 "Distances are in per cent of the width between the outer eye corners (1 % is about 1 mm "
                 "in an adult). A research aid for comparing pictures, not a clinical score.")
_DASH = "–"


def measures_rows(columns: Sequence[tuple[str, np.ndarray | None]]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the table: one row per measure, one column per ``(title, landmarks or None)``."""
    if not columns:
        raise ReportInputError("The measures table needs at least one picture.")
    cells: list[dict[str, str]] = []
    for title, landmarks in columns:
        if landmarks is None:
            cells.append({})
            continue
        try:
            result = nasolabial_measures(np.asarray(landmarks, np.float64))
        except InferenceError as exc:
            raise ReportInputError(f"The landmarks of '{title}' cannot be measured: {exc}") from exc
        cells.append({m.key: describe(m) for m in result.measures})
    header = ["Measure", *(title for title, _ in columns)]
    rows = [[d.label, *(column.get(d.key, _DASH) for column in cells)] for d in DEFINITIONS]
    return header, rows


def measures_block(columns: Sequence[tuple[str, np.ndarray | None]], width: float,
                   note: str = MEASURES_NOTE) -> KeepTogether:
    """Heading, table and note, kept on one page; ``width`` is the content width in points."""
    header, rows = measures_rows(columns)
    label_width = min(70 * mm, width * 0.4)
    other = (width - label_width) / (len(header) - 1)
    table = blocks.data_table(header, rows, col_widths=[label_width, *([other] * (len(header) - 1))])
    return KeepTogether([blocks.para(MEASURES_HEADING, "h2"), table, blocks.para(note, "small")])
