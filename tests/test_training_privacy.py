"""The privacy guard: only manifest-carrying open datasets, never the app's patient folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.errors import PrivacyError
from training.privacy import check_data_folder


def _manifest(folder: Path, **data: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MANIFEST.json").write_text(json.dumps(data))
    return folder


def test_refuses_unlisted_folder(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    with pytest.raises(PrivacyError, match="no MANIFEST.json"):
        check_data_folder(folder, manifest_dir=tmp_path / "manifests", patient_dir=tmp_path / "patients")


def test_refuses_manifest_without_terms(tmp_path: Path) -> None:
    folder = _manifest(tmp_path / "photos", dataset="Some faces")
    with pytest.raises(PrivacyError, match="terms"):
        check_data_folder(folder, manifest_dir=tmp_path / "m", patient_dir=tmp_path / "patients")


def test_refuses_patient_folder_even_with_manifest(tmp_path: Path) -> None:
    patients = tmp_path / "patients"
    folder = _manifest(patients / "cases" / "2024", dataset="UTKFace", terms="research")
    with pytest.raises(PrivacyError, match="patient data"):
        check_data_folder(folder, manifest_dir=tmp_path / "m", patient_dir=patients)
    with pytest.raises(PrivacyError, match="patient data"):  # a parent of the patient folder is refused too
        check_data_folder(_manifest(tmp_path, dataset="x", terms="y"), manifest_dir=tmp_path / "m",
                          patient_dir=patients)


def test_default_patient_folder_is_the_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inference.paths import default_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    patients = default_data_dir()
    target = _manifest(patients / "photos", dataset="UTKFace", terms="research")
    with pytest.raises(PrivacyError, match="patient data"):
        check_data_folder(target, manifest_dir=tmp_path / "m")


def test_accepts_manifest_file_keyed_by_folder_name(tmp_path: Path) -> None:
    folder = tmp_path / "utkface"
    folder.mkdir()
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "utkface.json").write_text(json.dumps({"dataset": "UTKFace", "terms": "non-commercial research"}))
    manifest = check_data_folder(folder, manifest_dir=manifests, patient_dir=tmp_path / "patients")
    assert manifest.dataset == "UTKFace" and manifest.terms == "non-commercial research"


def test_shipped_manifests_cover_the_shared_folders() -> None:
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not shared.is_dir():
        pytest.skip("shared data not present")
    for name in ("utkface", "celeba-10k", "masks-nvidia-test-256", "300w-crops"):
        assert check_data_folder(shared / name).terms
