"""Reading and writing photos, masks and DICOM images (no Qt; the app uses these too)."""

from inference.io.dicom import DicomImage, looks_like_dicom, read_dicom, read_dicom_rgb
from inference.io.photo import MAX_PIXELS, Photo, load_mask, load_photo, save_image, save_mask

__all__ = [
    "MAX_PIXELS", "DicomImage", "Photo", "load_mask", "load_photo", "looks_like_dicom", "read_dicom",
    "read_dicom_rgb", "save_image", "save_mask",
]
