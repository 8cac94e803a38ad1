"""Paste-back: only the feathered mask changes, the seam is soft, and only the mask's box is touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from inference.errors import MaskError
from inference.face.blend import blend_patch, mask_bounds, paste_back
from inference.face.crop import FaceCrop
from inference.io import load_photo
from inference.pipeline import _crop_mask_to_photo, _photo_mask_to_crop


def _distance_to_hole(mask: np.ndarray) -> np.ndarray:
    return ndimage.distance_transform_edt(~mask)


def test_paste_back_on_real_face_changes_only_the_feathered_mask(utkface_paths: list[Path]) -> None:
    rgb = load_photo(utkface_paths[0]).rgb
    crop = FaceCrop(20.0, 30.0, 150.0)
    prediction = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    mask = np.zeros(rgb.shape[:2], bool)
    mask[120:140, 70:130] = True
    mask[140:150, 90:100] = True
    feather = 4.0
    out = paste_back(rgb, prediction, crop, mask, feather_px=feather)
    distance = _distance_to_hole(mask)
    changed = (out != rgb).any(axis=2)
    assert not changed[distance >= feather].any(), "pixels outside the feathered mask changed"
    assert changed[mask].mean() > 0.9               # random prediction differs almost everywhere
    assert np.array_equal(rgb, load_photo(utkface_paths[0]).rgb)   # the input is not modified
    # The ring is a blend: each pixel lies between the original and the fully pasted value.
    ring = (distance > 0) & (distance < feather)
    full = paste_back(rgb, prediction, crop, mask | ring, feather_px=0.0).astype(int)
    lo, hi = np.minimum(rgb, full), np.maximum(rgb, full)
    assert ((out[ring] >= lo[ring] - 3) & (out[ring] <= hi[ring] + 3)).all()
    assert (out[ring] != rgb[ring]).any(axis=1).mean() > 0.5   # and really blended, not left alone
    # The hole itself is fully replaced (up to OpenCV's 1/32-pixel fixed-point sampling grid).
    assert np.abs(out[mask].astype(int) - full[mask]).max() <= 3


@pytest.mark.parametrize("size", [300.0, 64.0])     # shrinking and enlarging crops
def test_prediction_is_placed_at_the_crop_position(size: float) -> None:
    """A crop-space ramp pasted back must land where FaceCrop.to_crop says (pixel centres aligned)."""
    photo = np.zeros((400, 500, 3), np.uint8)
    crop = FaceCrop(100.0, 50.0, size)
    ramp = np.arange(256, dtype=np.uint8)
    prediction = np.zeros((256, 256, 3), np.uint8)
    prediction[..., 0] = ramp[None, :]              # crop x in red
    prediction[..., 1] = ramp[:, None]              # crop y in green
    mask = np.zeros(photo.shape[:2], bool)
    margin = int(size * 0.1)
    mask[50 + margin:50 + int(size) - margin, 100 + margin:100 + int(size) - margin] = True
    out = paste_back(photo, prediction, crop, mask, feather_px=0)
    ys, xs = np.nonzero(mask)
    expected = crop.to_crop(np.stack([xs + 0.5, ys + 0.5], 1), 256) - 0.5   # crop index under each centre
    # Interpolating a linear ramp is exact, so only rounding (0.5) and OpenCV's 1/32-pixel grid remain.
    assert np.abs(out[ys, xs, 0] - expected[:, 0]).max() <= 0.6
    assert np.abs(out[ys, xs, 1] - expected[:, 1]).max() <= 0.6


def test_large_photo_work_is_limited_to_the_mask_box() -> None:
    photo = np.zeros((4000, 6000, 3), np.uint8)     # 24 megapixels
    mask = np.zeros(photo.shape[:2], bool)
    mask[2000:2100, 3000:3300] = True
    crop = FaceCrop(2500.0, 1500.0, 1200.0)
    patch = blend_patch(photo, np.full((256, 256, 3), 200, np.uint8), crop, mask, feather_px=10)
    top, left, bottom, right = patch.bounds
    assert (top, left) == (2000 - 11, 3000 - 11) and (bottom, right) == (2100 + 11, 3300 + 11)
    patch.apply(photo, inplace=True)
    assert (photo[2000:2100, 3000:3300] == 200).all() and photo[:1900].max() == 0


def test_mask_bounds_and_errors() -> None:
    mask = np.zeros((50, 60), bool)
    assert mask_bounds(mask) is None
    mask[10:20, 5:7] = True
    assert mask_bounds(mask) == (10, 5, 20, 7)
    with pytest.raises(MaskError, match="no painted"):
        blend_patch(np.zeros((50, 60, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), FaceCrop(0, 0, 50),
                    np.zeros((50, 60), bool))
    with pytest.raises(MaskError, match="does not match"):
        blend_patch(np.zeros((50, 60, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), FaceCrop(0, 0, 50),
                    np.ones((40, 60), bool))


def _any_touched_reference(mask: np.ndarray, crop: FaceCrop, resolution: int) -> np.ndarray:
    """Brute force: crop cell (i, j) is hole if any hole pixel's square overlaps the cell's square."""
    k = crop.size / resolution
    out = np.zeros((resolution, resolution), bool)
    for y, x in zip(*np.nonzero(mask)):
        i0, i1 = int(np.floor((y - crop.y0) / k)), int(np.ceil((y + 1 - crop.y0) / k))
        j0, j1 = int(np.floor((x - crop.x0) / k)), int(np.ceil((x + 1 - crop.x0) / k))
        out[max(0, i0):max(0, min(resolution, i1)), max(0, j0):max(0, min(resolution, j1))] = True
    return out


@pytest.mark.parametrize("size, x0, y0", [(300, 20, 10), (77, -10, 5), (40, 3, 3), (512, 0, 0)])
def test_photo_mask_to_crop_marks_every_touched_cell(size: int, x0: int, y0: int) -> None:
    rng = np.random.default_rng(size)
    mask = np.zeros((320, 330), bool)
    region = mask[max(0, y0):y0 + size, max(0, x0):x0 + size]
    region[rng.random(region.shape) > 0.997] = True
    region[5:9, 5:20] = True
    crop = FaceCrop(float(x0), float(y0), float(size))
    got = _photo_mask_to_crop(mask, mask_bounds(mask), crop, 64)
    assert np.array_equal(got, _any_touched_reference(mask, crop, 64))


def test_crop_mask_maps_back_onto_the_photo() -> None:
    crop = FaceCrop(40.0, 30.0, 512.0)        # 2 photo pixels per crop pixel
    hole = np.zeros((256, 256), bool)
    hole[100:120, 60:90] = True
    photo_mask, bounds = _crop_mask_to_photo(hole, crop, (600, 700))
    assert bounds == (230, 160, 270, 220)
    assert photo_mask.sum() == 40 * 60 and photo_mask[230:270, 160:220].all()
