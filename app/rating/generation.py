"""Output generation for a study, wired to the clinic's prediction path (no Qt).

``StudySetup.iter_generate_outputs`` asks the app for what makes the outputs. Here it is
``studies.study_outputs.ServiceOutputs`` over the one ``PredictionService`` and the shared
``ModelManager``: each output is the prediction the clinician gets for the same photo, mask,
model and face square, cut from the repaired photo; the study then resizes every image alike.
Models are loaded once by the manager and reused by the app's Run.
"""

from __future__ import annotations

from inference.models.manager import ModelManager, default_manager
from inference.pipeline import FacePipeline
from inference.service import PredictionService
from studies.study_outputs import ServiceOutputs


def service_outputs(device: str | None = None, manager: ModelManager | None = None,
                    pipeline: FacePipeline | None = None) -> ServiceOutputs:
    """The study's outputs from the clinic's prediction service on ``device`` (None: the best available)."""
    return ServiceOutputs(PredictionService(manager or default_manager(), pipeline), device)
