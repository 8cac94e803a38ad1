"""Typed errors of the training package; messages say what to fix."""


class TrainingError(Exception):
    """Base class of every error raised by ``training``."""


class PrivacyError(TrainingError):
    """A data folder is not an approved open dataset (no manifest, or inside the patient data folder)."""


class DataError(TrainingError):
    """A dataset folder is missing, empty or not in the expected layout."""


class ConfigError(TrainingError):
    """A training configuration file is missing a key or has a bad value."""
