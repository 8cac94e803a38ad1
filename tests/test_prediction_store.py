"""Predictions stored as their patch, box and mask (migration 0006), decoded in one place.

What a screen or export shows of a prediction is ``CaseStore.prediction_image``: the stored patch on
the case's photo, the very pixels of the repaired photo; older rows (a whole-photo PNG, no box) are
still read as they are, also after migrating a database that holds them.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from PIL import Image

from inference.io.mask_codec import mask_sha256
from studies.cases import CaseStore
from studies.database import MIGRATIONS_DIR, open_database
from studies.errors import CaseError
from studies.files import encode_png
from studies.prediction_store import PredictionPatch

W, H = 1200, 800


@pytest.fixture
def photo(tmp_path: Path) -> tuple[Path, np.ndarray]:
    yy, xx = np.mgrid[0:H, 0:W]
    noise = np.random.default_rng(0).integers(0, 24, (H, W, 3))  # skin and sensor texture
    rgb = (np.stack([xx // 6, yy // 5, (xx + yy) // 9], -1) % 200 + noise).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    return path, rgb


@pytest.fixture
def store(tmp_path: Path):
    db = open_database(tmp_path / "data")
    yield CaseStore(db)
    db.close()


def _prediction(rgb: np.ndarray) -> tuple[PredictionPatch, np.ndarray, np.ndarray]:
    """A patch as the pipeline makes one (the mask's box plus a ring), its mask and the repaired photo."""
    mask = np.zeros(rgb.shape[:2], bool)
    mask[400:470, 500:640] = True
    box = (494, 394, 646, 476)
    pixels = (rgb[box[1]:box[3], box[0]:box[2]] * 0.8 + 20).astype(np.uint8)  # a lip drawn over the photo's
    repaired = rgb.copy()
    repaired[box[1]:box[3], box[0]:box[2]] = pixels
    return PredictionPatch(pixels, box, (W, H)), mask, repaired


def test_a_prediction_is_stored_as_its_patch_and_read_back_as_the_repaired_photo(store, photo) -> None:
    path, rgb = photo
    case = store.create_case("P-1", path)
    patch, mask, repaired = _prediction(rgb)
    info = store.add_prediction(case.id, "opencv-telea", patch, device="CPU", app_version="t", mask=mask)
    [listed] = store.list_predictions(case.id)
    assert listed.box == patch.box and listed.photo_size == (W, H) and listed.mask_sha256 == mask_sha256(mask)
    assert np.array_equal(store.prediction_image(listed, rgb), repaired)
    x0, y0 = 450, 380
    assert np.array_equal(store.prediction_image(listed, rgb, (x0, y0, 700, 500)), repaired[y0:500, x0:700])
    # The PNG holds only the patch; a whole-photo PNG of the same prediction is far larger.
    stored = info.image_path.stat().st_size + info.mask_path.stat().st_size
    assert stored <= 0.05 * len(encode_png(repaired)), stored
    with Image.open(info.image_path) as img:
        assert img.size == (patch.box[2] - patch.box[0], patch.box[3] - patch.box[1])
    with Image.open(info.mask_path) as img:
        assert img.size == (152, 82)  # the mask, cut to the patch's box
    assert np.array_equal(store.prediction_mask(listed), mask)
    with pytest.raises(CaseError, match="1200 x 800"):
        store.prediction_image(listed, rgb[:100])  # another photo: refused, not pasted somewhere


def test_a_mask_reaching_outside_the_patch_is_stored_whole(store, photo) -> None:
    path, rgb = photo
    case = store.create_case("P-2", path)
    patch, mask, _ = _prediction(rgb)
    mask[10, 10] = True  # a stray hole pixel far from the patch
    info = store.add_prediction(case.id, "m", patch, device="CPU", app_version="t", mask=mask)
    with Image.open(info.mask_path) as img:
        assert img.size == (W, H)
    assert np.array_equal(store.prediction_mask(info), mask)


def test_rerendering_keeps_the_mask_and_deleting_removes_every_file(store, photo) -> None:
    path, rgb = photo
    case = store.create_case("P-3", path)
    patch, mask, _ = _prediction(rgb)
    first = store.add_prediction(case.id, "nclg-mt-lite", patch, device="CPU", app_version="t", mask=mask)
    again_pixels = np.full_like(patch.pixels, 7)
    again = store.rerender_prediction(case.id, first.id, PredictionPatch(again_pixels, patch.box, (W, H)),
                                      landmarks=None, guide_landmarks=None)
    assert again.mask_path == first.mask_path and again.image_path != first.image_path
    assert not first.image_path.exists() and again.mask_path.is_file()
    x0, y0, x1, y1 = patch.box
    assert (store.prediction_image(again, rgb)[y0:y1, x0:x1] == 7).all()
    assert np.array_equal(store.prediction_mask(again), mask)
    store.delete_prediction(case.id, again.id)
    assert not again.image_path.exists() and not again.mask_path.exists()


def test_a_whole_picture_is_still_stored_and_read_as_before(store, photo) -> None:
    path, rgb = photo
    case = store.create_case("P-4", path)
    image = np.full((40, 60, 3), 99, np.uint8)  # tools and older callers pass the whole picture
    info = store.add_prediction(case.id, "m", image, device="CPU", app_version="t")
    assert info.box is None and info.photo_size is None and info.mask_path is None
    assert np.array_equal(np.asarray(Image.open(info.image_path)), image)
    assert np.array_equal(store.prediction_image(info, rgb), image)
    assert store.prediction_mask(info) is None


def test_patches_that_do_not_fit_their_photo_are_refused() -> None:
    with pytest.raises(CaseError, match="does not fit"):
        PredictionPatch(np.zeros((10, 10, 3), np.uint8), (95, 0, 105, 10), (100, 100))
    with pytest.raises(CaseError, match="does not fit"):
        PredictionPatch(np.zeros((10, 12, 3), np.uint8), (0, 0, 10, 10), (100, 100))


def test_rows_from_before_the_migration_still_load_as_whole_images(tmp_path: Path, photo) -> None:
    """A database at 0005 with a whole-photo prediction: migrated on open, the row reads as before."""
    path, rgb = photo
    data = tmp_path / "old"
    data.mkdir()
    url = f"sqlite:///{data / 'cleftlip.sqlite3'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "0005")
    repaired = rgb.copy()
    repaired[300:320, 400:450] = 5
    folder = data / "cases" / "u1"
    (folder / "predictions").mkdir(parents=True)
    (folder / "photo.png").write_bytes(path.read_bytes())
    buf = io.BytesIO()
    Image.fromarray(repaired).save(buf, format="PNG")
    (folder / "predictions" / "old.png").write_bytes(buf.getvalue())
    con = sqlite3.connect(data / "cleftlip.sqlite3")
    con.execute("INSERT INTO cases (id, uid, pseudonym, created_at, updated_at, notes, photo_path, photo_sha256) "
                "VALUES (1, 'u1', 'OLD-1', '2026-01-01 10:00:00', '2026-01-01 10:00:00', '', "
                "'cases/u1/photo.png', 'x')")
    con.execute("INSERT INTO predictions (case_id, model_name, device, app_version, created_at, image_path, "
                "image_sha256) VALUES (1, 'opencv-telea', 'CPU', '0.9', '2026-01-01 10:00:00', "
                "'cases/u1/predictions/old.png', 'y')")
    con.commit()
    con.close()
    db = open_database(data)
    try:
        store = CaseStore(db)
        [old] = store.list_predictions(1)
        assert old.box is None and old.mask_path is None
        assert np.array_equal(store.prediction_image(old, rgb), repaired)
        patch, mask, expected = _prediction(rgb)
        new = store.add_prediction(1, "m", patch, device="CPU", app_version="t", mask=mask)
        assert np.array_equal(store.prediction_image(new, rgb), expected)
    finally:
        db.close()


def test_only_the_pixels_that_changed_are_stored_when_they_are_known(store, photo) -> None:
    """The box's corners keep the photo's pixels: marked unchanged, they are not stored (RGBA, alpha = changed)."""
    path, rgb = photo
    case = store.create_case("P-5", path)
    patch, mask, repaired = _prediction(rgb)
    x0, y0, x1, y1 = patch.box
    pixels = patch.pixels.copy()
    pixels[:6] = rgb[y0:y0 + 6, x0:x1]                 # a ring of the box left as it was (the feather's end)
    repaired[y0:y0 + 6, x0:x1] = rgb[y0:y0 + 6, x0:x1]
    marked = PredictionPatch.on_photo(pixels, patch.box, rgb)
    assert marked.changed[6:].all() and not marked.changed[:6].any()
    whole = store.add_prediction(case.id, "m", PredictionPatch(pixels, patch.box, (W, H)), device="CPU",
                                 app_version="t", mask=mask)
    only = store.add_prediction(case.id, "m", marked, device="CPU", app_version="t", mask=mask)
    with Image.open(only.image_path) as img:
        assert img.mode == "RGBA" and (np.asarray(img)[:6] == 0).all()
    assert np.array_equal(store.prediction_image(only, rgb), repaired)
    assert np.array_equal(store.prediction_image(whole, rgb), repaired)
    assert np.array_equal(store.predictions.patch(only, rgb).pixels, pixels)  # filled in from the photo
