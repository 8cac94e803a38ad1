"""The only code that reads or writes the sealed output-to-model mapping (owner side only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from studies.schema import OutputModel


class SealedMappingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, output_id: str, study_id: int, sealed_token: str) -> None:
        self.session.add(OutputModel(output_id=output_id, study_id=study_id, sealed_token=sealed_token))

    def for_study(self, study_id: int) -> list[OutputModel]:
        return list(self.session.scalars(
            select(OutputModel).where(OutputModel.study_id == study_id).order_by(OutputModel.output_id)))
