"""Readers that list the photos of an open face dataset with whatever metadata its layout carries.

Three layouts: a plain folder of photos, UTKFace (``age_gender_race_date.jpg.chip.jpg``) and the
official CelebA layout (``img_align_celeba/`` + ``list_eval_partition.txt``), which also covers the
flat 9,000-image sample in ``shared/data/celeba-10k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.errors import DataError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
CELEBA_SPLITS = {"0": "train", "1": "val", "2": "test"}


@dataclass(frozen=True)
class FaceRecord:
    """One photo of a dataset. ``key`` is unique within the dataset and stable across machines."""

    dataset: str
    key: str
    path: Path
    age: int | None = None
    gender: int | None = None
    race: int | None = None
    official_split: str | None = None


def _photos(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"Data folder {folder} does not exist.")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"Data folder {folder} holds no photos ({', '.join(PHOTO_SUFFIXES)}).")
    return files


def read_folder(folder: Path, dataset: str | None = None) -> list[FaceRecord]:
    """Every photo directly inside ``folder``, without metadata."""
    folder = Path(folder)
    name = dataset or folder.name
    return [FaceRecord(name, p.name, p) for p in _photos(folder)]


def parse_utkface_name(name: str) -> tuple[int, int | None, int | None] | None:
    """(age, gender, race) from a UTKFace file name, or None when the name does not follow the scheme."""
    parts = name.split("_")
    try:
        age = int(parts[0])
    except (ValueError, IndexError):
        return None

    def _int(i: int) -> int | None:
        try:
            return int(parts[i])
        except (ValueError, IndexError):
            return None

    return age, _int(1), _int(2)


def read_utkface(folder: Path) -> list[FaceRecord]:
    """UTKFace photos with age, gender and race from the file name (badly named files are skipped)."""
    records = []
    for p in _photos(Path(folder)):
        parsed = parse_utkface_name(p.name)
        if parsed is not None:
            records.append(FaceRecord("utkface", p.name, p, *parsed))
    if not records:
        raise DataError(f"No UTKFace-named photos (age_gender_race_date.jpg) in {folder}.")
    return records


def read_celeba(root: Path) -> list[FaceRecord]:
    """The official CelebA layout, or a flat folder of its numbered images (no official split then)."""
    root = Path(root)
    images = root / "img_align_celeba"
    folder = images if images.is_dir() else root
    splits: dict[str, str] = {}
    partition = root / "list_eval_partition.txt"
    if partition.is_file():
        for line in partition.read_text().splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[1] in CELEBA_SPLITS:
                splits[fields[0]] = CELEBA_SPLITS[fields[1]]
    return [FaceRecord("celeba", p.name, p, official_split=splits.get(p.name)) for p in _photos(folder)]


READERS = {"folder": read_folder, "utkface": read_utkface, "celeba": read_celeba}


def read_dataset(kind: str, folder: Path) -> list[FaceRecord]:
    if kind not in READERS:
        raise DataError(f"Unknown dataset kind {kind!r}; choose one of {', '.join(READERS)}.")
    return READERS[kind](Path(folder))
