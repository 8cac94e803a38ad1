"""The models. Importing the package imports every model module, and each registers itself in
``inference.models.registry`` (which imports none of them), so the registry is always complete."""

from inference.models import classical, comparison, landmark_guided  # noqa: F401  (registration)
