"""Case store queries (cases, masks, clinical predictions)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from studies.errors import NotFoundError
from studies.schema import Case, Mask, Prediction


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
        """The case with this pseudonym, compared without regard to letter case."""
        return self.session.scalar(select(Case).where(func.lower(Case.pseudonym) == pseudonym.lower()).limit(1))

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
