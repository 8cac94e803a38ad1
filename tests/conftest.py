"""Shared fixtures: the open face data in ../shared/data (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# A handful of UTKFace adults and infants (age_gender_race_date), fixed so failures are reproducible.
UTKFACE_SAMPLES = (
    "100_0_0_20170112213500903.jpg.chip.jpg",
    "100_1_0_20170110183726390.jpg.chip.jpg",
    "100_1_0_20170112213001988.jpg.chip.jpg",
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it are skipped (with the reason) when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"open face data not found at {SHARED_DATA} (see the project README)")
    return SHARED_DATA


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available in the shared data folder")
    return path


@pytest.fixture(scope="session")
def utkface_paths(shared_data: Path) -> list[Path]:
    """Three real 200x200 UTKFace photos (adults)."""
    return [_need(shared_data / "utkface" / name) for name in UTKFACE_SAMPLES]


@pytest.fixture(scope="session")
def infant_face_paths(shared_data: Path) -> list[Path]:
    """Three UTKFace photos of children aged 0-3 (the age of cleft-lip repair), first in name order."""
    folder = _need(shared_data / "utkface")
    paths = sorted(folder.glob("[0-3]_*.jpg"))[:3]
    if len(paths) < 3:
        pytest.skip("fewer than three infant faces in shared/data/utkface")
    return paths


@pytest.fixture(scope="session")
def helen_samples(shared_data: Path) -> list[tuple[Path, np.ndarray]]:
    """Ten 300-W HELEN test crops (256x256) with their hand-annotated 68 landmarks (x, y)."""
    folder = _need(shared_data / "300w-crops" / "helen_testset")
    samples = []
    for image in sorted(folder.glob("*.jpg"))[:10]:
        pts = image.with_suffix(".pts")
        if pts.is_file():
            samples.append((image, read_pts(pts)))
    if len(samples) < 10:
        pytest.skip("fewer than ten annotated HELEN test faces in shared/data/300w-crops")
    return samples


def read_pts(path: Path) -> np.ndarray:
    """The 68 points of an iBUG ``.pts`` file as float32 (68, 2)."""
    lines = path.read_text().splitlines()
    start = lines.index("{") + 1
    points = [tuple(float(v) for v in line.split()) for line in lines[start:start + 68]]
    return np.asarray(points, dtype=np.float32)


@pytest.fixture(autouse=True)
def cheap_passphrase_cost(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passphrases are hashed at the legacy scrypt cost in tests (as Django tests use a fast hasher):
    the real cost (0.5 s a guess, 128 MiB) would add minutes to the suite. Hashes record their
    parameters, so every code path still runs; tests marked ``real_kdf`` keep the real cost."""
    if request.node.get_closest_marker("real_kdf"):
        return
    import studies.sealing as sealing

    monkeypatch.setattr(sealing, "CURRENT", sealing.ScryptParams(*sealing.LEGACY_SCRYPT))


@pytest.fixture
def weights_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The registry's user and shipped weight folders under ``tmp_path`` (``user/``, ``shipped/``)."""
    from inference.models import registry

    monkeypatch.setattr(registry, "user_weights_dir", lambda: tmp_path / "user")
    monkeypatch.setattr(registry, "shipped_weights_dir", lambda: tmp_path / "shipped")
    return tmp_path
