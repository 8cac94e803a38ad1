"""Reading and writing photos, masks and DICOM images (no Qt; the app uses these too)."""

from inference.io.dicom import DicomImage, looks_like_dicom, read_dicom, read_dicom_rgb
from inference.io.mask_codec import decode_mask, encode_mask_png, load_mask, mask_sha256, save_mask
from inference.io.photo import MAX_PIXELS, Photo, load_photo, save_image

__all__ = [
    "MAX_PIXELS", "DicomImage", "Photo", "decode_mask", "encode_mask_png", "load_mask", "load_photo",
    "looks_like_dicom", "mask_sha256", "read_dicom", "read_dicom_rgb", "save_image", "save_mask",
]
