"""Shared helpers for the studies tests: real face photos with lip masks, fake/classical models.

Imported by the other test_studies_* modules (pytest puts tests/ on sys.path); it has no tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from studies.cases import CaseStore
from studies.database import Database, open_database
from studies.options import StudyOptions
from studies.study_setup import StudySetup

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FACES_DIR = SHARED_DATA / "300w-crops" / "afw"
PASSPHRASE = "correct horse battery"
MODELS = ("nclg-mt", "nclg-baseline", "opencv-telea", "opencv-ns")


def face_files(n: int) -> list[tuple[Path, np.ndarray]]:
    """``n`` real faces (256 px) with their 68 landmarks; synthetic faces if the data is absent."""
    pts = sorted(FACES_DIR.glob("*.pts"))[:n] if FACES_DIR.is_dir() else []
    out = []
    for p in pts:
        lines = p.read_text().splitlines()
        start = lines.index("{") + 1
        lm = np.array([[float(v) for v in line.split()] for line in lines[start:start + 68]], np.float32)
        out.append((p.with_suffix(".jpg"), lm))
    return out


def lip_mask(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """A cleft-like mask: the upper lip and philtrum (landmarks 31-35 and 48-54), dilated."""
    mask = np.zeros(shape, np.uint8)
    poly = np.concatenate([landmarks[31:36], landmarks[48:55][::-1]]).astype(np.int32)
    cv2.fillPoly(mask, [poly], 255)
    mask = cv2.dilate(mask, np.ones((7, 7), np.uint8))
    return mask > 0


def make_photo(tmp: Path, index: int) -> tuple[Path, np.ndarray]:
    """Photo file + mask for case ``index`` (real face when available)."""
    faces = face_files(index + 1)
    if len(faces) > index:
        path, lm = faces[index]
        with Image.open(path) as img:
            shape = (img.height, img.width)
        return path, lip_mask(shape, lm)
    # Without the shared data: a smooth random image (like skin, unlike noise), so inpainting
    # errors stay as small as on real faces and simulated raters judge as they would there.
    rng = np.random.default_rng(index)
    coarse = rng.uniform(80, 180, (4, 5, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (240, 200), interpolation=cv2.INTER_CUBIC)
    rgb = (smooth + rng.normal(0, 4, smooth.shape)).clip(0, 255).astype(np.uint8)
    path = tmp / f"synthetic_{index}.png"
    Image.fromarray(rgb).save(path)
    mask = np.zeros((200, 240), bool)
    mask[120:150, 90:150] = True
    return path, mask


def fake_generate(crop: np.ndarray, mask: np.ndarray, model_name: str) -> np.ndarray:
    """Models: two classical OpenCV inpainters and two deterministic 'networks' (blur fill / tint)."""
    bgr = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
    hole = mask.astype(np.uint8) * 255
    if model_name == "opencv-telea":
        return cv2.cvtColor(cv2.inpaint(bgr, hole, 3, cv2.INPAINT_TELEA), cv2.COLOR_BGR2RGB)
    if model_name == "opencv-ns":
        return cv2.cvtColor(cv2.inpaint(bgr, hole, 3, cv2.INPAINT_NS), cv2.COLOR_BGR2RGB)
    out = crop.copy()
    if model_name == "nclg-mt":
        out[mask] = cv2.GaussianBlur(crop, (21, 21), 0)[mask]
    else:
        out[mask] = (0.5 * crop[mask] + 0.5 * np.array([200, 90, 90])).astype(np.uint8)
    return out


def build_open_study(tmp: Path, *, n_cases: int = 4, n_raters: int = 2, models: tuple[str, ...] = MODELS,
                     options: StudyOptions | None = None,
                     generate: Callable[[np.ndarray, np.ndarray, str], np.ndarray] = fake_generate,
                     ) -> tuple[Database, int, list[int]]:
    """A database in ``tmp`` with an opened study; returns (db, study id, rater ids)."""
    db = open_database(tmp / "data")
    store = CaseStore(db)
    case_ids = []
    for i in range(n_cases):
        photo, mask = make_photo(tmp, i)
        case = store.create_case(f"P-{i:03d}", photo)
        store.save_mask(case.id, mask)
        case_ids.append(case.id)
    setup = StudySetup(db)
    study = setup.create_study("Lip study", "Dr Owner", PASSPHRASE,
                               options or StudyOptions(repeat_fraction=0.25, show_original=True))
    setup.add_cases(study.id, case_ids)
    setup.add_models(study.id, models)
    setup.generate_outputs(study.id, generate, PASSPHRASE)
    raters = [setup.add_rater(study.id, f"Rater {i}", f"R{i}").id for i in range(n_raters)]
    setup.open_study(study.id)
    return db, study.id, raters
