"""Photo, mask and DICOM reading/writing: formats, orientation, bit depth, and every bad input."""

from __future__ import annotations

import errno
import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.errors import ImageReadError, ImageWriteError, MaskError
from inference.io import MAX_PIXELS, load_mask, load_photo, save_image, save_mask


def _pattern(h: int = 48, w: int = 64) -> np.ndarray:
    """Smooth colour ramps, so lossy JPEG stays close to the original."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (h + w - 2)], -1).astype(np.uint8)


# ---------------------------------------------------------------- ordinary photos

@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_lossless_formats_read_back_exactly(tmp_path: Path, suffix: str) -> None:
    rgb = _pattern()
    Image.fromarray(rgb).save(tmp_path / f"p{suffix}")
    photo = load_photo(tmp_path / f"p{suffix}")
    assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == rgb.shape
    assert np.array_equal(photo.rgb, rgb)
    assert photo.dicom is None and photo.source_path == tmp_path / f"p{suffix}"


def test_real_face_jpeg_loads(utkface_paths: list[Path]) -> None:
    photo = load_photo(utkface_paths[0])
    assert photo.rgb.shape == (200, 200, 3) and photo.rgb.dtype == np.uint8
    assert photo.rgb.std() > 10  # a real picture, not a blank


@pytest.mark.parametrize("orientation, expected", [
    (3, lambda a: np.rot90(a, 2)),
    (6, lambda a: np.rot90(a, -1)),   # camera held rotated: stored image must turn 90 degrees clockwise
    (8, lambda a: np.rot90(a, 1)),
])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int, expected) -> None:
    rgb = _pattern(40, 80)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(tmp_path / "rot.jpg", quality=100, exif=exif.tobytes())
    loaded = load_photo(tmp_path / "rot.jpg").rgb
    want = expected(rgb)
    assert loaded.shape == want.shape
    assert np.abs(loaded.astype(int) - want).mean() < 3


def test_16_bit_png_is_scaled_to_8_bit(tmp_path: Path) -> None:
    values = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")   # really stored as 16 bit
    rgb = load_photo(tmp_path / "deep.png").rgb
    assert rgb.dtype == np.uint8 and rgb.shape == (32, 64, 3)
    expected = np.rint(values / 257.0).astype(np.uint8)
    assert np.array_equal(rgb[..., 0], expected) and np.array_equal(rgb[..., 2], expected)
    assert rgb.max() == 255 and rgb.min() == 0


def test_transparent_png_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4, :, :3] = (10, 200, 30)
    rgba[:4, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    rgb = load_photo(tmp_path / "alpha.png").rgb
    assert (rgb[:4] == (10, 200, 30)).all() and (rgb[4:] == 255).all()


# ---------------------------------------------------------------- bad photos

def test_corrupt_jpeg_bytes(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(_pattern(200, 200)).save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageReadError, match="damaged or incomplete"):
        load_photo(tmp_path / "cut.jpg")


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ImageReadError, match="not an image"):
        load_photo(tmp_path / "noise.jpg")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        load_photo(tmp_path / "empty.jpg")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="does not exist"):
        load_photo(tmp_path / "nothing.png")
    with pytest.raises(ImageReadError, match="folder"):
        load_photo(tmp_path)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but whose data is tiny (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [11_000, 30_000])   # above our limit; above Pillow's own bomb error
def test_decompression_bomb_is_refused_without_pillow_warning(tmp_path: Path, side: int) -> None:
    assert side * side > MAX_PIXELS
    (tmp_path / "bomb.png").write_bytes(_png_header_only(side, side))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageReadError, match="megapixels"):
            load_photo(tmp_path / "bomb.png")


# ---------------------------------------------------------------- DICOM

def _dicom(transfer_syntax=None):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax or ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.Modality = "Test^Patient", "TEST-0001", "OT"
    return ds


def _save(ds, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def test_dicom_rgb_keeps_header_without_pixels(tmp_path: Path) -> None:
    rgb = _pattern()
    ds = _dicom()
    ds.set_pixel_data(rgb, "RGB", 8)
    photo = load_photo(_save(ds, tmp_path / "photo.dcm"))
    assert np.array_equal(photo.rgb, rgb)
    assert photo.dicom is not None and "PixelData" not in photo.dicom
    assert photo.dicom.PatientID == "TEST-0001" and photo.dicom.Rows == rgb.shape[0]


def test_dicom_is_recognised_without_dcm_suffix(tmp_path: Path) -> None:
    ds = _dicom()
    ds.set_pixel_data(_pattern(), "RGB", 8)
    assert load_photo(_save(ds, tmp_path / "IMG0001")).dicom is not None


def test_dicom_multiframe_gives_first_frame(tmp_path: Path) -> None:
    frames = np.stack([_pattern(), 255 - _pattern()])
    ds = _dicom()
    ds.set_pixel_data(frames, "RGB", 8)
    assert np.array_equal(load_photo(_save(ds, tmp_path / "mf.dcm")).rgb, frames[0])


def test_dicom_ybr_full_is_converted_to_rgb(tmp_path: Path) -> None:
    from pydicom.pixels import convert_color_space

    rgb = _pattern()
    ds = _dicom()
    ds.set_pixel_data(convert_color_space(rgb, "RGB", "YBR_FULL"), "YBR_FULL", 8)
    assert np.abs(load_photo(_save(ds, tmp_path / "ybr.dcm")).rgb.astype(int) - rgb).max() <= 2


def test_dicom_jpeg_baseline_ybr_422_decodes(tmp_path: Path) -> None:
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    rgb = _pattern(64, 96)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95)
    ds = _dicom(JPEGBaseline8Bit)
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 64, 96, 3
    ds.PhotometricInterpretation, ds.PlanarConfiguration = "YBR_FULL_422", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    assert np.abs(load_photo(_save(ds, tmp_path / "jpeg.dcm")).rgb.astype(int) - rgb).max() <= 6


def test_dicom_palette_color(tmp_path: Path) -> None:
    index = (np.arange(48 * 64).reshape(48, 64) % 4).astype(np.uint8)
    lut = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    ds = _dicom()
    ds.set_pixel_data(index, "PALETTE COLOR", 8)
    for channel, name in enumerate(["Red", "Green", "Blue"]):
        setattr(ds, f"{name}PaletteColorLookupTableDescriptor", [4, 0, 8])
        setattr(ds, f"{name}PaletteColorLookupTableData", lut[:, channel].tobytes())
    assert np.array_equal(load_photo(_save(ds, tmp_path / "pal.dcm")).rgb, lut[index])


def test_dicom_12_bit_monochrome_scaled_and_monochrome1_inverted(tmp_path: Path) -> None:
    gray = np.linspace(0, 4095, 48 * 64).reshape(48, 64).astype(np.uint16)
    ds = _dicom()
    ds.set_pixel_data(gray, "MONOCHROME2", 12)
    rgb = load_photo(_save(ds, tmp_path / "m2.dcm")).rgb
    assert rgb.shape == (48, 64, 3) and rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    ds = _dicom()
    ds.set_pixel_data(gray, "MONOCHROME1", 12)
    assert np.array_equal(load_photo(_save(ds, tmp_path / "m1.dcm")).rgb, 255 - rgb)


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="without an image"):
        load_photo(_save(_dicom(), tmp_path / "report.dcm"))


def test_dicom_with_undecodable_compression(tmp_path: Path) -> None:
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGLSLossless

    ds = _dicom(JPEGLSLossless)
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 8, 8, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([b"\xff\xd8" + b"\x00" * 30])
    ds["PixelData"].VR = "OB"
    with pytest.raises(ImageReadError, match="JPEG-LS.*cannot decode"):
        load_photo(_save(ds, tmp_path / "jls.dcm"))


def test_corrupt_dicom(tmp_path: Path) -> None:
    (tmp_path / "bad.dcm").write_bytes(b"\x00" * 128 + b"DICM" + np.random.default_rng(1).bytes(300))
    with pytest.raises(ImageReadError):
        load_photo(tmp_path / "bad.dcm")


# ---------------------------------------------------------------- masks

def test_mask_round_trip_white_is_hole(tmp_path: Path) -> None:
    mask = np.zeros((30, 40), bool)
    mask[5:10, 7:20] = True
    save_mask(tmp_path / "m.png", mask)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "m.png")), mask.astype(np.uint8) * 255)
    assert np.array_equal(load_mask(tmp_path / "m.png", (30, 40)), mask)


def test_mask_of_wrong_size(tmp_path: Path) -> None:
    mask = np.ones((30, 40), bool)
    save_mask(tmp_path / "m.png", mask)
    with pytest.raises(MaskError, match="40 x 30 pixels but should be 50 x 60"):
        load_mask(tmp_path / "m.png", (60, 50))


def test_all_zero_mask(tmp_path: Path) -> None:
    save_mask(tmp_path / "m.png", np.zeros((30, 40), bool))
    with pytest.raises(MaskError, match="no painted"):
        load_mask(tmp_path / "m.png")
    assert not load_mask(tmp_path / "m.png", require_hole=False).any()


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_mask_orientation_matches_its_photo(tmp_path: Path, orientation: int, suffix: str) -> None:
    """A mask stored sideways with an Orientation tag lands where the photo's pixels land."""
    rgb = _pattern(40, 80)
    hole = np.zeros((40, 80), bool)
    hole[30:38, 5:25] = True                       # "the lip": bottom-left of the stored image
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(tmp_path / "photo.jpg", quality=100, exif=exif.tobytes())
    options = {"quality": 100} if suffix == ".jpg" else {}
    Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / f"mask{suffix}", exif=exif.tobytes(), **options)
    photo = load_photo(tmp_path / "photo.jpg").rgb
    mask = load_mask(tmp_path / f"mask{suffix}", expected_shape=photo.shape[:2])
    turn = {3: 2, 6: -1, 8: 1}[orientation]
    assert np.array_equal(mask, np.rot90(hole, turn))


def test_unreadable_mask_is_a_mask_error(tmp_path: Path) -> None:
    (tmp_path / "m.png").write_bytes(b"not a png at all")
    with pytest.raises(MaskError):
        load_mask(tmp_path / "m.png")


# ---------------------------------------------------------------- writing

def test_saved_jpeg_has_no_metadata(tmp_path: Path) -> None:
    save_image(tmp_path / "out.jpg", _pattern())
    with Image.open(tmp_path / "out.jpg") as img:
        assert len(img.getexif()) == 0 and "icc_profile" not in img.info and "exif" not in img.info
    assert list(tmp_path.iterdir()) == [tmp_path / "out.jpg"]   # no temporary file left


def test_save_refuses_unknown_suffix_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError, match=".png or .jpg"):
        save_image(tmp_path / "out.gif", _pattern())
    with pytest.raises(ImageWriteError, match="does not exist"):
        save_image(tmp_path / "no" / "out.png", _pattern())


def test_full_disk_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    save_image(target, _pattern())
    before = target.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(ImageWriteError, match="disk is full"):
        save_image(target, 255 - _pattern())
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inference.atomic

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(inference.atomic, "open", denied, raising=False)  # tests run as root: chmod would not stop us
    with pytest.raises(ImageWriteError, match="No permission"):
        save_image(tmp_path / "out.png", _pattern())
