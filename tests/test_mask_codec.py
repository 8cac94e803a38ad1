"""The one mask codec: one threshold everywhere, lossless round trip, EXIF orientation, one fingerprint."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.errors import MaskError
from inference.face.blend import mask_bounds
from inference.io.mask_codec import (
    HOLE_THRESHOLD,
    decode_mask,
    encode_mask_image,
    encode_mask_png,
    load_mask,
    mask_sha256,
    save_mask,
)


def _png(array: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", **options)
    return buf.getvalue()


def _grey_ramp() -> np.ndarray:
    """One row of every 8-bit grey level, 0..255."""
    return np.arange(256, dtype=np.uint8)[None, :].repeat(3, axis=0)


def test_one_threshold_for_arrays_bytes_and_files(tmp_path: Path) -> None:
    ramp = _grey_ramp()
    expected = np.broadcast_to(np.arange(256) >= 128, ramp.shape)
    assert HOLE_THRESHOLD == 128
    (tmp_path / "ramp.png").write_bytes(_png(ramp))
    for decoded in (decode_mask(ramp), decode_mask(_png(ramp)), load_mask(tmp_path / "ramp.png"),
                    decode_mask(ramp[..., None])):
        assert decoded.dtype == np.bool_ and np.array_equal(decoded, expected)
    # colour and transparent masks are read through their grey value; transparent = keep
    rgb = np.repeat(ramp[..., None], 3, axis=2)
    assert np.array_equal(decode_mask(rgb), expected) and np.array_equal(decode_mask(_png(rgb)), expected)
    rgba = np.dstack([rgb, np.full(ramp.shape, 255, np.uint8)])
    rgba[:, 200:, 3] = 0
    assert np.array_equal(decode_mask(_png(rgba)), expected & (np.arange(256) < 200))


def test_other_readers_use_the_same_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studies.files import decode_mask_png
    from studies.reports.consultation import _Cropper
    from training.masks import nvidia

    ramp = _grey_ramp()
    expected = np.arange(256) >= 128
    (tmp_path / "ramp.png").write_bytes(_png(ramp))
    assert np.array_equal(decode_mask_png(tmp_path / "ramp.png")[0], expected)       # the case store
    assert mask_bounds(ramp) == (0, 128, 3, 256)                                       # the paste-back's box
    hole = decode_mask(ramp)
    cropper = _Cropper((0, 0, 256, 3), 256, 3)                                         # the report's close-up
    assert np.array_equal(cropper.mask(hole), hole)
    folder = tmp_path / "masks"                                                        # training's NVIDIA masks
    folder.mkdir()
    (folder / "m.png").write_bytes(_png(np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :], (256, 256)).copy()))
    monkeypatch.setattr(nvidia, "check_data_folder", lambda _folder: None)
    loaded = nvidia.load_nvidia_masks(folder).mask(0)
    assert np.array_equal(loaded, np.broadcast_to(expected, (256, 256)))


def test_round_trip_is_lossless_and_white_means_hole(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    mask = rng.random((37, 53)) > 0.7
    data = encode_mask_png(mask)
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == "L" and not img.info.get("exif") and set(np.unique(np.asarray(img))) <= {0, 255}
        assert np.array_equal(np.asarray(img) == 255, mask)
    assert np.array_equal(decode_mask(data), mask)
    assert np.array_equal(decode_mask(encode_mask_image(mask)), mask)
    save_mask(tmp_path / "m.png", mask)
    assert (tmp_path / "m.png").read_bytes() == data
    assert np.array_equal(load_mask(tmp_path / "m.png"), mask)


@pytest.mark.parametrize("orientation, turn", [(3, 2), (6, -1), (8, 1)])
def test_exif_rotated_mask_is_honoured_from_bytes_and_files(tmp_path: Path, orientation: int, turn: int) -> None:
    hole = np.zeros((40, 80), bool)
    hole[30:38, 5:25] = True
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _png(encode_mask_image(hole), exif=exif.tobytes())
    (tmp_path / "m.png").write_bytes(data)
    assert np.array_equal(decode_mask(data), np.rot90(hole, turn))
    assert np.array_equal(load_mask(tmp_path / "m.png"), np.rot90(hole, turn))


def test_bool_masks_pass_unchanged_and_other_arrays_are_refused() -> None:
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = True
    decoded = decode_mask(mask)
    assert np.array_equal(decoded, mask) and decoded is not mask
    for bad in (np.zeros((4, 5), np.float32), np.zeros((4, 5, 2), np.uint8), np.zeros(5, np.uint8)):
        with pytest.raises(MaskError):
            decode_mask(bad)
    with pytest.raises(MaskError):
        decode_mask(b"not an image")


def test_fingerprint_is_the_stored_formula_and_the_case_store_delegates() -> None:
    from studies.cases import mask_fingerprint

    mask = np.zeros((6, 9), bool)
    mask[2:4, 3:7] = True
    by_hand = hashlib.sha256(b"6x9:" + np.packbits(mask).tobytes()).hexdigest()  # stored with predictions
    assert mask_sha256(mask) == mask_fingerprint(mask) == by_hand
    assert mask_sha256(mask.astype(np.uint8)) == by_hand
    assert mask_sha256(mask.T) != by_hand
