"""Typed errors of the inference layer; each message is written for the clinician who will read it."""


class InferenceError(Exception):
    """Base class: anything the app may show to a user as a clear message."""


class ImageReadError(InferenceError):
    """A photo or DICOM file cannot be read as an image."""


class NoFaceError(InferenceError):
    """No face was found; the user can still proceed by drawing the face square by hand."""


class MaskError(InferenceError):
    """A mask has the wrong size, no hole, or cannot be read."""


class SteeringError(InferenceError):
    """Landmarks were given to a model that cannot draw from them, or they are unusable."""


class WeightsMissingError(InferenceError):
    """A neural model has no trained weights; it is never run with random ones."""


class CheckpointError(InferenceError):
    """A checkpoint is corrupt, does not match its model card, or would need unpickling."""


class UnknownModelError(InferenceError):
    """No model of that name is registered."""


class DicomExportError(InferenceError):
    """A prediction cannot be written as DICOM (bad image, bad source dataset, unwritable path)."""


class FileWriteError(InferenceError):
    """A file cannot be written (full disk, no permission, missing folder)."""


class ImageWriteError(FileWriteError):
    """An image or mask cannot be written (full disk, no permission, unsupported file type)."""


class AlignmentError(InferenceError):
    """Two photos cannot be aligned: too few, missing or coinciding landmarks."""
