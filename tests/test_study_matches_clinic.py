"""A study rates what the clinic sees: for a case, model and mask, the study output before its display
resize is bit for bit the clinical prediction in the study's square, and every image of the study
gets the same display resize.

The clinical prediction is made here as the app's Run makes it (``app.workers.ModelRunWorker``):
the face as the case screen sets it (the hand-drawn square stored with the case, else the detected
face with the clinician's corrected landmarks), then ``PredictionService`` and ``record.apply``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inference.face.crop import crop_from_box
from inference.io.photo import load_photo
from inference.models.manager import ModelManager
from inference.models.registry import get_spec
from inference.pipeline import FacePipeline
from inference.service import PredictionRequest, PredictionService
from studies.cases import CaseStore
from studies.database import open_database
from studies.options import StudyOptions
from studies.sealing import Seal
from studies.study_outputs import CaseSource, ServiceOutputs, display_resize, display_square
from studies.study_setup import StudySetup
from studies.unit_of_work import UnitOfWork
from test_studies_support import PASSPHRASE, face_files, lip_mask

pytestmark = pytest.mark.slow

BOX = (60.0, 40.0, 200.0, 180.0)  # the face square drawn by hand on the photo without a face: 140 px


def _models() -> list[str]:
    lite = "nclg-mt-lite" if get_spec("nclg-mt-lite").weights_status().available else "opencv-ns"
    return ["opencv-telea", lite]


def _faceless_photo(tmp: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(7)
    smooth = cv2.resize(rng.uniform(70, 190, (4, 5, 3)).astype(np.float32), (240, 200),
                        interpolation=cv2.INTER_CUBIC)
    rgb = (smooth + rng.normal(0, 4, smooth.shape)).clip(0, 255).astype(np.uint8)
    path = tmp / "no_face.png"
    Image.fromarray(rgb).save(path)
    mask = np.zeros((200, 240), bool)
    mask[100:130, 90:150] = True
    return path, mask


def _clinical_analysis(pipeline: FacePipeline, rgb: np.ndarray, face_box, corrected):  # noqa: ANN001
    """The face as the case screen sets it (``MainWindow._apply_manual_face`` / ``_face_found``)."""
    if face_box is not None:
        return pipeline.analyse_manual(rgb, face_box)
    analysis = pipeline.analyse(rgb)
    return analysis if corrected is None else pipeline.with_landmarks(analysis, corrected)


class _Spy:
    """Passes the study's calls through to ``ServiceOutputs`` and keeps each output before the resize."""

    def __init__(self, inner: ServiceOutputs) -> None:
        self.inner, self.seen = inner, {}

    def case_outputs(self, source: CaseSource):  # noqa: ANN201
        case, seen = self.inner.case_outputs(source), self.seen

        class Case:
            original, hole = case.original, case.hole

            def output(self, name: str) -> np.ndarray:
                seen[(Path(source.photo_path).resolve(), name)] = out = case.output(name)
                return out
        return Case()


@pytest.fixture(scope="module")
def manager() -> ModelManager:
    return ModelManager()


def _stored_outputs(db, study_id: int) -> dict[tuple[int, str], np.ndarray]:  # noqa: ANN001
    """(case id, model name) -> the stored study output, unsealed with the owner's passphrase."""
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        seal = Seal(PASSPHRASE, study.seal_salt)
        names = {m.position: m.name for m in uow.studies.models(study_id)}
        case_of = {sc.id: sc.case_id for sc in uow.studies.cases(study_id)}
        model_of = {row.output_id: names[seal.open(row.sealed_token)] for row in uow.sealed.for_study(study_id)}
        return {(case_of[out.study_case_id], model_of[out.id]):
                np.asarray(Image.open(db.data_dir / out.file_path).convert("RGB"))
                for out in uow.studies.outputs(study_id)}


def test_study_outputs_are_the_clinical_predictions_in_the_square(tmp_path: Path, manager: ModelManager) -> None:
    models = _models()
    db = open_database(tmp_path / "data")
    store = CaseStore(db)
    cases: list[tuple[int, Path, np.ndarray, tuple | None, np.ndarray | None]] = []
    path, mask = _faceless_photo(tmp_path)
    case = store.create_case("no face", path)
    store.save_mask(case.id, mask)
    store.set_face_box(case.id, BOX)
    cases.append((case.id, case.photo_path, mask, BOX, None))
    faces = face_files(1)
    if faces:  # a detected face whose lip points the clinician corrected
        face_path, truth = faces[0]
        with Image.open(face_path) as img:
            face_mask = lip_mask((img.height, img.width), truth)
        detected = FacePipeline().analyse(load_photo(face_path).rgb).landmarks
        corrected = detected.copy()
        corrected[48:55, 1] -= 2.0  # upper lip moved up a little
        face_case = store.create_case("face", face_path)
        store.save_mask(face_case.id, face_mask)
        store.set_photo_landmarks(face_case.id, corrected)
        cases.append((face_case.id, face_case.photo_path, face_mask, None, corrected))

    size = 140  # = the hand-drawn square, so that case's display resize is the identity
    setup = StudySetup(db)
    study = setup.create_study("Same pixels", "Dr Owner", PASSPHRASE, StudyOptions(output_size=size,
                                                                                    show_original=True))
    setup.add_cases(study.id, [c[0] for c in cases])
    setup.add_models(study.id, models)
    spy = _Spy(ServiceOutputs(PredictionService(manager), "cpu"))
    setup.generate_outputs(study.id, spy, PASSPHRASE)
    stored = _stored_outputs(db, study.id)
    assert len(stored) == len(models) * len(cases)

    pipeline = FacePipeline()
    service = PredictionService(manager, pipeline)
    for case_id, photo_path, case_mask, face_box, corrected in cases:
        rgb = load_photo(photo_path).rgb
        analysis = _clinical_analysis(pipeline, rgb, face_box, corrected)
        left, top, side = display_square(analysis.crop, rgb.shape[:2])
        if face_box is not None:
            crop = crop_from_box(*face_box)
            assert (left, top, side) == (crop.x0, crop.y0, crop.size) == (60, 40, 140)
        for name in models:
            record = service.predict(PredictionRequest(rgb, case_mask, name, "cpu", analysis=analysis))
            clinical = record.apply(rgb)[top:top + side, left:left + side]
            assert (clinical != rgb[top:top + side, left:left + side]).any()  # the model changed the square
            before_resize = spy.seen[(Path(photo_path).resolve(), name)]
            assert before_resize.dtype == np.uint8 and np.array_equal(before_resize, clinical), name
            assert np.array_equal(stored[(case_id, name)], display_resize(clinical, size)), name
            if side == size:
                assert np.array_equal(stored[(case_id, name)], clinical), name

    with UnitOfWork(db) as uow:  # the original is cut from the same square and resized the same way
        first = next(sc for sc in uow.studies.cases(study.id) if sc.case_id == cases[0][0])
        original = np.asarray(Image.open(db.data_dir / first.original_path).convert("RGB"))
    rgb = load_photo(cases[0][1]).rgb
    assert np.array_equal(original, rgb[40:180, 60:200])
    db.close()
