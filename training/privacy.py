"""Guard that keeps patient photos out of training: only manifest-carrying open datasets are read.

A data folder is accepted when it carries ``MANIFEST.json`` itself or when
``training/manifests/<folder name>.json`` names it (read-only shared folders). The manifest must
name the dataset and its terms. Any folder inside the app's patient data directory is refused,
whatever manifest it carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from inference.paths import default_data_dir as patient_data_dir
from training.errors import PrivacyError

MANIFEST_NAME = "MANIFEST.json"
MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"
REQUIRED_KEYS = ("dataset", "terms")


@dataclass(frozen=True)
class Manifest:
    folder: Path
    dataset: str
    terms: str
    source: str
    citation: str

    def as_card(self) -> dict:
        return {"dataset": self.dataset, "terms": self.terms, "source": self.source, "citation": self.citation,
                "folder": self.folder.name}


def _inside(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
        return True
    except ValueError:
        return False


def check_data_folder(folder: Path | str, manifest_dir: Path = MANIFEST_DIR,
                      patient_dir: Path | None = None) -> Manifest:
    """The manifest of an approved open-data folder; raises PrivacyError for anything else."""
    folder = Path(folder).expanduser().resolve()
    patients = (patient_dir or patient_data_dir()).expanduser().resolve()
    if _inside(folder, patients) or _inside(patients, folder):
        raise PrivacyError(f"Refusing to train on {folder}: it is (or contains) the app's patient data folder "
                           f"{patients}. Training only uses open research datasets.")
    if not folder.is_dir():
        raise PrivacyError(f"Data folder {folder} does not exist.")
    candidates = [folder / MANIFEST_NAME, manifest_dir / f"{folder.name}.json"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise PrivacyError(f"Refusing to train on {folder}: it has no {MANIFEST_NAME} and no "
                           f"{manifest_dir / (folder.name + '.json')} naming an open dataset and its terms.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PrivacyError(f"The data manifest {path} cannot be read: {exc}") from exc
    missing = [k for k in REQUIRED_KEYS if not str(data.get(k, "")).strip()]
    if missing:
        raise PrivacyError(f"The data manifest {path} lacks {', '.join(missing)}; it must name the open dataset "
                           "and its terms.")
    return Manifest(folder, str(data["dataset"]), str(data["terms"]), str(data.get("source", "")),
                    str(data.get("citation", "")))
