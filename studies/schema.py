"""THE database schema of the app: clinical case store and blinded rating studies.

Every table is declared here and nowhere else; migrations in ``studies/migrations`` mirror it.
Blinding rule: the ``outputs`` table knows nothing about models. The model of an output lives
only in the sealed ``output_models`` table (encrypted until unblinding), and no ORM relationship
leads there from an output, an item or an answer.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC (every stored time is UTC)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; gives them back aware on SQLite too (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use studies.schema.utcnow()")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --------------------------------------------------------------------------- case store


class Case(Base):
    """One patient photo as entered by the clinician (pseudonym only, never a real name)."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notes: Mapped[str] = mapped_column(Text, default="")
    photo_path: Mapped[str] = mapped_column(String(512))  # relative to the data folder, POSIX separators
    photo_sha256: Mapped[str] = mapped_column(String(64))
    # A face square drawn by hand when no face was detected: [left, top, right, bottom] in photo pixels.
    face_box_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The photo's 68 landmarks (photo pixels, JSON) as the clinician corrected them (null: as detected);
    # "Suggest mask", the face crop and the measures use them.
    landmarks_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A post-operative photo of the same patient (``studies.postop``): copied beside the pre-op photo
    # (relative path, sha256), its 68 landmarks (post-op photo pixels, JSON) and when it was added.
    # All null when the case has none.
    postop_photo_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    postop_photo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    postop_landmarks_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    postop_added_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# One case per pseudonym, compared without letter case exactly as ``CaseRepository.by_pseudonym``
# does (SQL ``lower``). An expression index: SQLite's reflection cannot see it, so a later
# ``batch_alter_table("cases")`` migration must create it again (tests check it exists at head).
PSEUDONYM_INDEX = Index("uq_cases_pseudonym_lower", func.lower(Case.pseudonym), unique=True)


class Mask(Base):
    """The painted cleft-lip mask of a case (PNG, white = hole)."""

    __tablename__ = "masks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    file_path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Prediction(Base):
    """A model prediction made for a case in the clinical workflow (not part of any blinded study)."""

    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    model_name: Mapped[str] = mapped_column(String(128))
    weights_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device: Mapped[str] = mapped_column(String(128))
    app_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    image_path: Mapped[str] = mapped_column(String(512))
    image_sha256: Mapped[str] = mapped_column(String(64))
    landmarks_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # inference.io.mask_codec.mask_sha256 of the mask the prediction was made with (None: unknown, older rows)
    mask_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The (68, 2) photo-pixel landmarks the image was drawn from when the clinician steered it
    # (JSON; null: the network's own points). Kept so a report or study shows what was rendered.
    guide_landmarks_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The PNG at image_path is the patch the model changed, placed at box_json ([x0, y0, x1, y1], photo
    # pixels, right/bottom exclusive) on a photo_width x photo_height photo; mask_path is the mask it was
    # made with, cut to the box (studies.prediction_store). Null in older rows: the PNG is the whole photo.
    box_json: Mapped[str | None] = mapped_column(String(128), nullable=True)
    photo_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    photo_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mask_path: Mapped[str | None] = mapped_column(String(512), nullable=True)


# --------------------------------------------------------------------------- studies


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # StudyStatus value
    role: Mapped[str] = mapped_column(String(16))  # StudyRole value
    options_json: Mapped[str] = mapped_column(Text)
    passphrase_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    seal_salt: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    unblinded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StudyModel(Base):
    """A model taking part in a study (names are public; which output is whose is sealed)."""

    __tablename__ = "study_models"
    __table_args__ = (UniqueConstraint("study_id", "name"), UniqueConstraint("study_id", "position"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)


class StudyCase(Base):
    """A case in a study under a neutral code; the images raters may see beside the outputs."""

    __tablename__ = "study_cases"
    __table_args__ = (UniqueConstraint("study_id", "code"), UniqueConstraint("study_id", "case_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), nullable=True)
    code: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    original_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    original_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    masked_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    masked_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Output(Base):
    """One generated image under a random neutral id. Deliberately has no model column."""

    __tablename__ = "outputs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex, not insertion order
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    study_case_id: Mapped[int] = mapped_column(ForeignKey("study_cases.id", ondelete="CASCADE"), index=True)
    file_path: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class OutputModel(Base):
    """SEALED: which model made an output, encrypted with a key derived from the owner's passphrase."""

    __tablename__ = "output_models"

    output_id: Mapped[str] = mapped_column(ForeignKey("outputs.id", ondelete="CASCADE"), primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    sealed_token: Mapped[str] = mapped_column(Text)
    revealed_model: Mapped[str | None] = mapped_column(String(128), nullable=True)  # set at unblinding


class Rater(Base):
    __tablename__ = "raters"
    __table_args__ = (UniqueConstraint("study_id", "initials"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)  # identity kept across sites
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    initials: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(128), default="")
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # set when the orders are drawn
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Optional PIN asked when this rater's session starts (studies.rater_pin: salted scrypt), so
    # one rater cannot answer as another on a shared computer. Never sent to another site.
    pin_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)


class RaterItem(Base):
    """Position ``position`` of a rater's own case sequence (seeded, stored)."""

    __tablename__ = "rater_items"
    __table_args__ = (UniqueConstraint("rater_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("raters.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    study_case_id: Mapped[int] = mapped_column(ForeignKey("study_cases.id", ondelete="CASCADE"))
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RaterItemOutput(Base):
    """Output shown in display slot ``slot`` (label A, B, ...) of a rater's item."""

    __tablename__ = "rater_item_outputs"
    __table_args__ = (UniqueConstraint("item_id", "slot"), UniqueConstraint("item_id", "output_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rater_items.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    output_id: Mapped[str] = mapped_column(ForeignKey("outputs.id", ondelete="CASCADE"))


class ValidityAnswer(Base):
    __tablename__ = "validity_answers"
    __table_args__ = (CheckConstraint("valid OR reason IS NOT NULL", name="invalid_needs_reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_output_id: Mapped[int] = mapped_column(
        ForeignKey("rater_item_outputs.id", ondelete="CASCADE"), unique=True
    )
    valid: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # InvalidReason value
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RankAnswer(Base):
    __tablename__ = "rank_answers"
    __table_args__ = (CheckConstraint("rank >= 1", name="rank_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_output_id: Mapped[int] = mapped_column(
        ForeignKey("rater_item_outputs.id", ondelete="CASCADE"), unique=True
    )
    rank: Mapped[int] = mapped_column(Integer)  # 1 = best among the valid outputs of the case
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScaleAnswer(Base):
    __tablename__ = "scale_answers"
    __table_args__ = (
        UniqueConstraint("item_output_id", "scale"),
        CheckConstraint("score >= 1 AND score <= 5", name="score_1_to_5"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_output_id: Mapped[int] = mapped_column(ForeignKey("rater_item_outputs.id", ondelete="CASCADE"))
    scale: Mapped[str] = mapped_column(String(32))  # Scale value
    score: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CommentAnswer(Base):
    __tablename__ = "comment_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rater_items.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PairAnswer(Base):
    """Pairwise mode: which of the item's two outputs (slot 0 = left, 1 = right) the rater preferred."""

    __tablename__ = "pair_answers"
    __table_args__ = (CheckConstraint("preferred_slot IN (0, 1)", name="left_or_right"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rater_items.id", ondelete="CASCADE"), unique=True)
    preferred_slot: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UnblindingLog(Base):
    """Every attempt to close or unblind a study, successful or not."""

    __tablename__ = "unblinding_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # "close" | "unblind"
    actor: Mapped[str] = mapped_column(String(128))
    success: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


SEALED_TABLES = frozenset({OutputModel.__tablename__})
"""Tables that rater-facing code must never read."""

CASE_STORE_TABLES = frozenset({Case.__tablename__, Mask.__tablename__, Prediction.__tablename__})
"""The clinic's cases and case-screen predictions (with model names): what the data-folder attack reads."""

RATER_HIDDEN_TABLES = SEALED_TABLES | CASE_STORE_TABLES | frozenset({StudyModel.__tablename__})
"""What a rating session's database connection refuses to read or change (SQLite authorizer)."""
