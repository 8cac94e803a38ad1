"""What the study screens need from the app: the open database and a few settings.

Built from the app's ``AppSettings`` (main window) or from a bare data folder (standalone start,
tests), so the rating module does not depend on how the main window stores its settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studies.database import Database, open_database


@dataclass(frozen=True)
class StudiesContext:
    db: Database
    device: str | None = None  # None: the best available device
    clinic_name: str = ""
    owner_name: str = ""  # default study owner (the clinician using the app)

    @property
    def data_dir(self) -> Path:
        return self.db.data_dir


def make_context(settings_or_data_dir: Any) -> StudiesContext:
    """Open the database of ``AppSettings`` (duck-typed: ``data_dir``, ``device``...) or of a folder."""
    if isinstance(settings_or_data_dir, StudiesContext):
        return settings_or_data_dir
    if isinstance(settings_or_data_dir, Database):
        return StudiesContext(settings_or_data_dir)
    if isinstance(settings_or_data_dir, (str, Path)):
        return StudiesContext(open_database(Path(settings_or_data_dir)))
    settings = settings_or_data_dir
    device = getattr(settings, "device", None)
    return StudiesContext(
        db=open_database(Path(settings.data_dir)),
        device=None if device in (None, "", "auto") else str(device),
        clinic_name=str(getattr(settings, "clinic_name", "") or ""),
        owner_name=str(getattr(settings, "clinician_name", "") or ""))
