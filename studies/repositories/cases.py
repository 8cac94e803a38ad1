"""Case store queries (cases, masks, clinical predictions)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from studies.errors import NotFoundError
from studies.schema import Case, Mask, Prediction, Study, StudyCase


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> Case:
        self.session.add(case)
        self.session.flush()
        return case

    def get(self, case_id: int) -> Case:
        case = self.session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"Case {case_id} does not exist.")
        return case

    def list(self, search: str | None = None) -> list[Case]:
        stmt = select(Case).order_by(Case.created_at.desc(), Case.id.desc())
        if search:
            stmt = stmt.where(func.lower(Case.pseudonym).contains(search.lower()))
        return list(self.session.scalars(stmt))

    def by_pseudonym(self, pseudonym: str) -> Case | None:
        """The case with this pseudonym, compared without regard to letter case (as stored: a pending
        rename is not flushed first, so the unique index never fires before this check)."""
        with self.session.no_autoflush:
            return self.session.scalar(select(Case).where(func.lower(Case.pseudonym) == func.lower(pseudonym)).limit(1))

    def same_photo(self, sha256: str, exclude_id: int) -> list[str]:
        """Pseudonyms of the other cases whose photo has this sha256."""
        return list(self.session.scalars(select(Case.pseudonym).where(
            Case.photo_sha256 == sha256, Case.id != exclude_id).order_by(Case.id)))

    def mask(self, case_id: int) -> Mask | None:
        return self.session.scalar(select(Mask).where(Mask.case_id == case_id))

    def add_mask(self, mask: Mask) -> Mask:
        self.session.add(mask)
        self.session.flush()
        return mask

    def delete_mask(self, mask: Mask) -> None:
        self.session.delete(mask)
        self.session.flush()

    def add_prediction(self, prediction: Prediction) -> Prediction:
        self.session.add(prediction)
        self.session.flush()
        return prediction

    def prediction(self, case_id: int, prediction_id: int) -> Prediction | None:
        return self.session.scalar(select(Prediction).where(Prediction.case_id == case_id,
                                                            Prediction.id == prediction_id))

    def predictions(self, case_id: int) -> list[Prediction]:
        stmt = select(Prediction).where(Prediction.case_id == case_id).order_by(Prediction.created_at, Prediction.id)
        return list(self.session.scalars(stmt))

    def by_uid(self, uid: str) -> Case | None:
        return self.session.scalar(select(Case).where(Case.uid == uid))

    def studies_using(self, case_id: int) -> list[str]:
        """Titles of the studies that include this case (a study's images and answers depend on it)."""
        return list(self.session.scalars(select(Study.title).join(StudyCase, StudyCase.study_id == Study.id)
                                         .where(StudyCase.case_id == case_id).order_by(Study.id)))

    def refers_to(self, relative: str) -> bool:
        """Whether any case-store row still points at this stored file (any ``*_path`` column)."""
        for table in (Case, Mask, Prediction):
            for column in table.__table__.columns:
                if column.name.endswith("_path") and self.session.scalar(
                        select(column).where(column == relative).limit(1)) is not None:
                    return True
        return False

    def delete(self, row: Case | Prediction) -> None:
        """Delete a case (with its mask and predictions) or one prediction; the caller removes the files."""
        if isinstance(row, Case):
            for prediction in self.predictions(row.id):
                self.session.delete(prediction)
            mask = self.mask(row.id)
            if mask is not None:
                self.session.delete(mask)
            self.session.flush()  # children first: no ORM relationship orders these deletes
        self.session.delete(row)
        self.session.flush()
