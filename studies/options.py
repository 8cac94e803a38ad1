"""Vocabulary shared by setup, rating, exchange and analysis: phases, invalid reasons, scales, options."""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass

from studies.errors import SetupError


class StudyStatus(str, enum.Enum):
    """Phases of a study; each only moves forward."""

    DRAFT = "draft"  # cases/models being chosen, outputs being generated
    OPEN = "open"  # outputs frozen, raters rate
    CLOSED = "closed"  # no more answers; still blinded
    UNBLINDED = "unblinded"  # owner revealed the model mapping; analysis allowed


class StudyRole(str, enum.Enum):
    """Where this copy of the study lives."""

    HOME = "home"  # created here, holds the sealed mapping
    SATELLITE = "satellite"  # imported from another site's package: outputs and raters only, no mapping


class InvalidReason(str, enum.Enum):
    """Why a rater marked an output invalid."""

    TOO_BLURRY = "too_blurry"
    IMPLAUSIBLE_ANATOMY = "implausible_anatomy"  # e.g. a third nostril, a floating lip
    ARTIFACTS = "artifacts"
    OTHER = "other"


class Scale(str, enum.Enum):
    """Asher-McDade aesthetic index components, each scored 1 (very good) to 5 (very poor)."""

    NASAL_FORM = "nasal_form"
    NASAL_SYMMETRY = "nasal_symmetry"
    VERMILION_BORDER = "vermilion_border"
    NASOLABIAL_PROFILE = "nasolabial_profile"


SCALE_MIN = 1
SCALE_MAX = 5


@dataclass(frozen=True)
class StudyOptions:
    """What raters are shown and asked. Stored as JSON on the study."""

    show_original: bool = False
    show_masked_input: bool = True
    ask_validity: bool = True
    ask_ranking: bool = True
    scales: tuple[Scale, ...] = ()
    ask_comment: bool = True
    repeat_fraction: float = 0.0  # share of cases shown a second time (intra-rater consistency)
    output_size: int = 256  # every output is stored at this square size
    # Pairwise mode: each item shows two outputs of a case (left/right drawn at random) and the rater
    # picks the better one; every pair of models is shown for every case. Replaces validity,
    # ranking and scales (a comment can still be asked).
    pairwise: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "scales", tuple(Scale(s) for s in self.scales))
        if not 0.0 <= self.repeat_fraction <= 0.5:
            raise SetupError("The share of repeated cases must be between 0 % and 50 %.")
        if not 32 <= self.output_size <= 2048:
            raise SetupError("The output image size must be between 32 and 2048 pixels.")
        if self.ask_ranking and not self.ask_validity:
            raise SetupError("Ranking is among valid outputs, so the validity question must be asked too.")
        if self.pairwise and (self.ask_validity or self.ask_ranking or self.scales):
            raise SetupError("In a pairwise study raters only pick the better of two outputs: "
                             "leave out the validity, ranking and scale questions.")
        if not (self.pairwise or self.ask_validity or self.ask_ranking or self.scales or self.ask_comment):
            raise SetupError("A study must ask at least one question.")

    def to_json(self) -> str:
        data = asdict(self)
        data["scales"] = [s.value for s in self.scales]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "StudyOptions":
        data = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def output_label(slot: int) -> str:
    """Neutral label of the output in display slot ``slot`` (0 -> 'A', 25 -> 'Z', 26 -> 'AA')."""
    if slot < 0:
        raise ValueError("slot must be >= 0")
    label = ""
    slot += 1
    while slot:
        slot, rem = divmod(slot - 1, 26)
        label = chr(ord("A") + rem) + label
    return label

