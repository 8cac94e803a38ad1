"""The face crop owns both directions of its transform: points, images and masks, photo <-> crop."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.face.crop import FaceCrop


@pytest.mark.parametrize("crop", [FaceCrop(40.0, 30.0, 512.0), FaceCrop(-12.0, 7.0, 300.0), FaceCrop(3.0, 3.0, 77.0)])
def test_points_round_trip_in_pixels_and_normalised(crop: FaceCrop) -> None:
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 600, (68, 2)).astype(np.float32)
    points[5] = np.nan                                          # NaN = "keep the network's own" stays NaN
    assert np.allclose(crop.to_photo(crop.to_crop(points, 256), 256), points, atol=1e-3, equal_nan=True)
    norm = crop.to_crop_norm(points)
    assert norm.dtype == np.float32 and np.isnan(norm[5]).all()
    assert np.allclose(norm, crop.to_crop(points, 256) / 256, atol=1e-5, equal_nan=True)
    assert np.allclose(crop.norm_to_photo(norm), points, atol=1e-3, equal_nan=True)
    assert np.allclose(crop.norm_to_photo(np.array([[0.0, 0.0], [1.0, 1.0]])).ravel(), crop.box)


def test_sample_in_photo_inverts_extract() -> None:
    """A smooth photo cropped to 256 and sampled back lands on its own pixels (pixel centres aligned)."""
    ys, xs = np.mgrid[0:600, 0:700].astype(np.float32)
    photo = np.dstack([xs / 3, ys / 3, (xs + ys) / 6]).clip(0, 255).astype(np.uint8)
    crop = FaceCrop(40.0, 30.0, 512.0)
    crop_image = crop.extract(photo, 256, cv2.INTER_LINEAR)
    back = crop.sample_in_photo(crop_image, 100, 120, 300, 350, cv2.INTER_LINEAR)
    assert np.abs(back.astype(int) - photo[100:400, 120:470].astype(int)).max() <= 2


def test_masks_map_both_ways() -> None:
    crop = FaceCrop(40.0, 30.0, 512.0)                          # 2 photo pixels per crop pixel
    hole = np.zeros((256, 256), bool)
    hole[100:120, 60:90] = True
    photo_mask = crop.mask_to_photo(hole, (600, 700))
    assert photo_mask.sum() == 40 * 60 and photo_mask[230:270, 160:220].all()
    top, left, region = crop.hole_in_photo(hole, (600, 700))
    assert np.array_equal(photo_mask[top:top + region.shape[0], left:left + region.shape[1]], region)
    assert np.array_equal(crop.mask_to_crop(photo_mask, 256), hole)     # and back, without bounds given
    assert not crop.mask_to_crop(np.zeros((600, 700), bool), 256).any()
    outside = FaceCrop(800.0, 800.0, 512.0)
    assert crop.hole_in_photo(np.zeros((256, 256), bool), (600, 700))[2].size == 0
    assert outside.hole_in_photo(hole, (600, 700))[2].size == 0        # lands outside the photo
