"""The open case without Qt: opening and closing it, the mask's bookkeeping, run requests, the prediction list.

The window calls these methods on the GUI thread and runs the slow parts they name (``load_photo``,
``load_case``, the face analysis) on its workers; what the widgets show goes through ``AppState``
(photo, mask, face, case, predictions). A request the clinician has to change comes back as a
:class:`Refusal` with a title and a message, which the window shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.state import AppState, FaceInfo, PredictionView
from inference.errors import InferenceError


class Refusal(Exception):
    """A request the clinician must change first (``title``: the dialog's title, the message: what to do)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title


@dataclass(frozen=True)
class RunRequest:
    """Everything one run needs, captured on the GUI thread (the mask is the state's read-only snapshot)."""

    case_id: int
    model_names: tuple[str, ...]
    rgb: np.ndarray
    mask: np.ndarray
    analysis: Any  # inference.pipeline.FaceAnalysis
    device: str
    app_version: str
    photo_levels: tuple[np.ndarray, ...] = ()  # the display pyramid's arrays (app.canvas.images.pyramid_arrays)


@dataclass(frozen=True)
class SteerContext:
    """What a re-render of the current prediction from edited landmarks needs, copied on the GUI thread."""

    case_id: int
    rgb: np.ndarray
    mask: np.ndarray
    analysis: Any  # inference.pipeline.FaceAnalysis
    device: str
    service: Any  # inference.service.PredictionService: the one prediction path, with the Run's loaded models
    store: Any  # studies.cases.CaseStore
    photo_levels: tuple[np.ndarray, ...] = ()  # the photo's display pyramid (app.canvas.images.pyramid_arrays)


@dataclass(frozen=True)
class RunPlan:
    """Which models a Run starts; ``reused``: models skipped because they have a prediction of this mask."""

    names: tuple[str, ...]
    reused: int = 0


@dataclass(frozen=True, eq=False)
class OpenedCase:
    """A stored case as read on a worker: its record, decoded photo, mask (None: none fits) and predictions."""

    case: Any  # studies.cases.CaseInfo
    photo: Any  # inference.io.photo.Photo
    mask: np.ndarray | None
    predictions: list


class CaseController:
    """Opens, changes and closes the case shown in ``state``; stores through ``store`` (a ``CaseStore``)."""

    def __init__(self, state: AppState, store: Any = None, pipeline: Any = None) -> None:
        self.state = state
        self.store = store
        self._pipeline = pipeline
        self._service: Any = None
        self.detected: Any = None  # the pipeline's analysis before any correction by hand
        self.token = 0  # bumped whenever the case changes: late worker results compare it

    @property
    def pipeline(self) -> Any:
        if self._pipeline is None:  # imported lazily: it pulls in torch, which slows the start
            from inference.pipeline import FacePipeline

            self._pipeline = FacePipeline()
        return self._pipeline

    @property
    def service(self) -> Any:
        """The ``PredictionService`` over ``pipeline`` and the shared ``ModelManager`` (steering predicts
        through it, so it reuses the models a Run loaded)."""
        if self._service is None:
            from inference.service import PredictionService

            self._service = PredictionService(pipeline=self.pipeline)
        return self._service

    # ------------------------------------------------------------ opening and closing
    @staticmethod
    def load_photo(path: Path) -> Any:
        """Decode a photo (runs on a worker)."""
        from inference.io.photo import load_photo

        return load_photo(path)

    def create_case(self, pseudonym: str, photo_path: Path) -> Any:
        """A new case from a photo file; raises ``StudyError``/``OSError`` with the reason."""
        if self.store is None:
            raise Refusal("Case store unavailable", "Choose a working data folder under Settings first.")
        return self.store.create_case(pseudonym, photo_path)

    def load_case(self, case_id: int) -> OpenedCase:
        """Read a stored case: record, photo, mask and predictions (runs on a worker)."""
        store = self.store
        case = store.get_case(case_id)
        photo = self.load_photo(case.photo_path)
        mask = store.load_mask(case_id)
        if mask is not None and mask.shape != photo.rgb.shape[:2]:
            mask = None  # a mask from a different photo size cannot be shown
        return OpenedCase(case, photo, mask, store.list_predictions(case_id))

    def show(self, opened: OpenedCase) -> None:
        """Make ``opened`` the case on screen (face not yet found)."""
        self.token += 1
        self.detected = None
        h, w = opened.photo.rgb.shape[:2]
        self.state.set_face(None)
        self.state.set_photo(opened.photo)
        self.state.set_mask(opened.mask if opened.mask is not None else np.zeros((h, w), bool))
        self.state.set_case(opened.case)
        self.state.set_predictions([self.prediction_view(p) for p in opened.predictions])

    def close(self) -> None:
        self.token += 1
        self.detected = None
        self.state.set_predictions([])
        self.state.set_face(None)
        self.state.set_mask(None)
        self.state.set_photo(None)
        self.state.set_case(None)

    # ------------------------------------------------------------ the face
    def face_found(self, analysis: Any) -> str | None:
        """Use a detected (or hand-drawn) face, with the case's corrected landmarks if it has them.

        Returns a message when the corrections could not be used (the detected points are then kept).
        """
        self.detected = analysis
        corrected = getattr(self.state.case, "landmarks", None)
        problem = None
        if corrected is not None and analysis.landmarks is not None:
            try:
                analysis = self.pipeline.with_landmarks(analysis, corrected)
            except InferenceError as exc:
                problem = str(exc)
        self._set_face(analysis)
        return problem

    def manual_face(self, box: tuple[float, float, float, float], remember: bool) -> Any:
        """The analysis of a face square drawn by hand (``remember``: stored with the case); raises if unusable."""
        analysis = self.pipeline.analyse_manual(self.state.photo.rgb, box)
        if remember and self.state.case is not None and self.store is not None:
            self.store.set_face_box(self.state.case.id, box)
        return analysis

    def commit_photo_landmarks(self, points: np.ndarray | None) -> bool:
        """Store the corrected points with the case (None: the detector's) and use them for the face.

        False when there is nothing to correct; raises ``InferenceError``/``StudyError`` when refused.
        """
        case, detected = self.state.case, self.detected
        if case is None or detected is None or self.store is None:
            return False
        analysis = detected if points is None else self.pipeline.with_landmarks(detected, points)
        self.state.set_case(self.store.set_photo_landmarks(case.id, points))
        self._set_face(analysis)
        return True

    def _set_face(self, analysis: Any) -> None:
        box = analysis.box
        self.state.set_face(FaceInfo((box.left, box.top, box.right, box.bottom), analysis.landmarks,
                                     analysis.manual, analysis))

    # ------------------------------------------------------------ mask and notes
    def mask_edited(self, mask: np.ndarray | None) -> None:
        """The canvas finished an edit (stroke, fill, undo, redo): the state takes the new mask."""
        self.state.set_mask(mask)

    def store_mask(self, case_id: int, mask: np.ndarray) -> None:
        """Autosave target: an empty (cleared) mask is forgotten rather than kept stale."""
        if mask.any():
            self.store.save_mask(case_id, mask)
        else:
            self.store.clear_mask(case_id)

    def save_notes(self, text: str) -> None:
        """Store the notes if they changed; raises ``StudyError`` (the caller keeps the text on screen)."""
        case = self.state.case
        if case is None or self.store is None or text == case.notes:
            return
        self.state.set_case(self.store.update_case(case.id, notes=text))

    # ------------------------------------------------------------ runs and predictions
    def plan_run(self, names: list[str], reuse: bool = False) -> RunPlan:
        """Check a Run of ``names`` on the mask on screen; raises ``Refusal`` with what to do first.

        With ``reuse`` (Run all) a model that already has a prediction of this case made with the
        mask on screen is left out (an empty plan: every model is up to date).
        """
        mask = self.state.mask
        if self.state.case is None or mask is None:
            raise Refusal("No case", "Open a patient photo first.")
        if self.state.mask_fingerprint is None:
            raise Refusal("Nothing to fill", "Paint the area to fill (the cleft lip) before running a model.")
        if self.state.face is None:
            raise Refusal("Face not marked", "The face has not been found yet. Wait for the detection, or draw "
                                             "the face square by hand (tool: Face square, key F).")
        if not reuse:
            return RunPlan(tuple(names))
        have = {p.model_name for p in self.state.predictions if p.mask_sha256 == self.state.mask_fingerprint}
        return RunPlan(tuple(n for n in names if n not in have), len(have))

    def run_request(self, plan: RunPlan, device: str, app_version: str,
                    photo_levels: tuple[np.ndarray, ...] = ()) -> RunRequest:
        state = self.state
        return RunRequest(state.case.id, plan.names, state.photo.rgb, state.mask, state.face.analysis, device,
                          app_version, photo_levels)

    def steer_context(self, device: str, photo_levels: tuple[np.ndarray, ...] = ()) -> SteerContext | str:
        """What a re-render of the current prediction needs, or why it cannot run."""
        state = self.state
        if state.case is None or state.photo is None or state.mask is None or self.store is None:
            return "Open the case first."
        if state.face is None or state.face.analysis is None:
            return "The face has not been found on this photo yet."
        return SteerContext(state.case.id, state.photo.rgb, state.mask, state.face.analysis, device, self.service,
                            self.store, photo_levels)

    def prediction_view(self, record: Any) -> PredictionView:
        choice = self.state.model_choice(record.model_name)
        return PredictionView(record.id, record.model_name, choice.display_name if choice else record.model_name,
                              Path(record.image_path), record.device, record.weights_sha256, record.app_version,
                              record.created_at.astimezone().strftime("%Y-%m-%d %H:%M"), record.landmarks,
                              getattr(record, "mask_sha256", None), getattr(record, "guide_landmarks", None),
                              record)

    def preview_view(self, prediction: Any) -> PredictionView:
        """How the viewers caption a prediction (``inference.service.PredictionRecord``) not stored yet."""
        choice = self.state.model_choice(prediction.model_name)
        name = choice.display_name if choice else prediction.model_name
        return PredictionView(-1, prediction.model_name, f"{name} (saving…)", Path(), prediction.device,
                              prediction.weights_sha256, "", "", prediction.landmarks, prediction.mask_sha256,
                              prediction.guide_landmarks)

    def is_open(self, record: Any) -> bool:
        """Whether a stored prediction belongs to the case on screen (else it is not shown over it)."""
        return self.state.case is not None and record.case_id == self.state.case.id

    def add_result(self, record: Any) -> bool:
        if not self.is_open(record):
            return False
        self.state.add_prediction(self.prediction_view(record))
        return True

    def replace_result(self, record: Any) -> bool:
        if not self.is_open(record):
            return False
        self.state.replace_prediction(self.prediction_view(record))
        return True

    def second_model_candidates(self) -> list[PredictionView]:
        """The latest prediction of every other model of this case."""
        chosen = self.state.current_prediction
        latest: dict[str, PredictionView] = {}
        for p in self.state.predictions:
            if chosen is not None and p.model_name != chosen.model_name:
                latest[p.model_name] = p
        return list(latest.values())
