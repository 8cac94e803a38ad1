"""The consultation report's optional section "Prediction and the photo after surgery" (issue 14).

The prediction and the post-operative photo (already aligned to the pre-operative photo by
``inference.alignment.align_postop``) side by side, cut to the same nose-and-mouth region at the
same scale; how far the predicted points of lip and nose are from the real ones
(``inference.alignment.compare_to_postop``, in % of the outer inter-ocular distance of the photo
after surgery); and the symmetry table of ``measures_table`` for the photo before, the prediction
and the photo after surgery. The wording is the family's ("points", never "landmarks"), so the
section fits every kind of report. The consultation report decides whether it prints
(``ConsultationReportInput.show_postop``, off by default):

    story.append(postop_block(prediction_close, postop_close, columns, comparison, width))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from inference.alignment import PostopComparison
from studies.reports import blocks
from studies.reports.errors import ReportInputError
from studies.reports.measures_table import measures_rows

POSTOP_HEADING = "Prediction and the photo after surgery"
POSTOP_INTRO = ("The photo taken after surgery was turned, scaled and moved so that the eyes and the top of the "
                "nose sit where they are in the photo taken before; both pictures show the same region at the "
                "same scale.")
POSTOP_NOTE = ("Distances are in per cent of the width between the outer eye corners on the photo after surgery "
               "(1 % is about 1 mm in an adult), averaged over the points of the lip or the nose. A research aid "
               "for comparing the pictures, not a clinical score.")


def distance_text(comparison: PostopComparison | None) -> str:
    """One sentence for the report: the mean distance of the predicted lip and nose points from the real ones."""
    if comparison is None:
        return ("The distance between predicted and real points could not be measured (the prediction or the "
                "photo after surgery has no points on the face).")
    return (f"Predicted points against the same points on the photo after surgery, on average: lip "
            f"{comparison.lip_distance_iod:.1f} %, nose {comparison.nose_distance_iod:.1f} % apart.")


def postop_block(prediction_close: np.ndarray, postop_close: np.ndarray,
                 columns: Sequence[tuple[str, np.ndarray | None]], comparison: PostopComparison | None,
                 width: float, gap: float = 6 * mm, model_name: str = "", alignment_note: str = "") -> Flowable:
    """Heading, the two pictures, the distances and the symmetry table, kept together on one page."""
    pair_w = (width - gap) / 2
    caption = f"Predicted (model: {model_name})" if model_name else "Predicted"
    parts: list[Flowable] = [
        blocks.para(POSTOP_HEADING, "h2"),
        blocks.para(POSTOP_INTRO, "small"),
        Spacer(1, 2 * mm),
        blocks.image_row([blocks.image_block(prediction_close, pair_w, caption),
                          blocks.image_block(postop_close, pair_w, "After surgery: photo, aligned")], width, gap),
        Spacer(1, 2 * mm),
        blocks.para(distance_text(comparison), "body"),
    ]
    if alignment_note:
        parts.append(blocks.para(alignment_note, "small"))
    try:
        header, rows = measures_rows(columns)
    except ReportInputError:
        parts.append(blocks.para("The symmetry of nose and lip could not be measured on these pictures.", "small"))
    else:
        label_width = min(58 * mm, width * 0.34)
        other = (width - label_width) / (len(header) - 1)
        parts += [Spacer(1, 2 * mm),
                  blocks.data_table(header, rows, col_widths=[label_width, *([other] * (len(header) - 1))])]
    parts.append(blocks.para(POSTOP_NOTE, "small"))
    return KeepTogether(parts)
