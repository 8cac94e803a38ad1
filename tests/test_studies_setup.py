"""Study setup: generation with progress, identical output size, clear errors, freezing rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_studies_support import PASSPHRASE, fake_generate, make_photo

from studies.cases import CaseStore
from studies.database import open_database
from studies.errors import PassphraseError, SetupError, StudyStateError
from studies.options import StudyOptions, output_label
from studies.study_setup import StudySetup


@pytest.fixture()
def env(tmp_path: Path):
    db = open_database(tmp_path / "data")
    store = CaseStore(db)
    cases = []
    for i in range(2):
        photo, mask = make_photo(tmp_path, i)
        case = store.create_case(f"P{i}", photo)
        store.save_mask(case.id, mask)
        cases.append(case.id)
    setup = StudySetup(db)
    study = setup.create_study("S", "Owner", PASSPHRASE, StudyOptions(output_size=128))
    yield db, store, setup, study.id, cases
    db.close()


def test_generation_reports_progress_and_stores_same_size_outputs(env) -> None:
    db, _, setup, study_id, cases = env
    setup.add_cases(study_id, cases)
    setup.add_models(study_id, ["small", "big"])

    def generate(crop: np.ndarray, mask: np.ndarray, model: str) -> np.ndarray:
        assert crop.shape == (128, 128, 3) and mask.dtype == bool and mask.any()
        return np.zeros((64, 64, 3), np.uint8) if model == "small" else fake_generate(crop, mask, "opencv-telea")

    steps = list(setup.iter_generate_outputs(study_id, generate, PASSPHRASE))
    assert [(s.done, s.total) for s in steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    info = setup.get_study(study_id)
    assert info.n_outputs == 4 and info.generated_at is not None
    files = sorted((db.data_dir / "studies").rglob("outputs/*.png"))
    assert len(files) == 4 and {Image.open(f).size for f in files} == {(128, 128)}
    setup.generate_outputs(study_id, generate, PASSPHRASE)  # again: replaces, never accumulates
    assert len(list((db.data_dir / "studies").rglob("outputs/*.png"))) == 4
    setup.add_models(study_id, ["third"])  # changing the design invalidates the outputs
    assert setup.get_study(study_id).n_outputs == 0
    with pytest.raises(StudyStateError, match="Generate the outputs"):
        setup.open_study(study_id)


def test_setup_errors_are_clear(env, tmp_path: Path) -> None:
    db, store, setup, study_id, cases = env
    with pytest.raises(PassphraseError, match="at least 10"):
        setup.create_study("T", "Owner", "short")
    photo, _ = make_photo(tmp_path, 0)
    no_mask = store.create_case("no mask", photo)
    with pytest.raises(SetupError, match="no mask"):
        setup.add_cases(study_id, [no_mask.id])
    setup.add_cases(study_id, cases)
    with pytest.raises(SetupError, match="already in this study"):
        setup.add_cases(study_id, cases[:1])
    setup.add_models(study_id, ["only-one"])
    with pytest.raises(SetupError, match="at least two models"):
        list(setup.iter_generate_outputs(study_id, fake_generate, PASSPHRASE))
    setup.add_models(study_id, ["broken"])

    def failing(crop: np.ndarray, mask: np.ndarray, model: str) -> np.ndarray:
        if model == "broken":
            raise RuntimeError("CUDA out of memory")
        return crop

    with pytest.raises(SetupError, match="'broken' failed on Case 001: CUDA out of memory"):
        setup.generate_outputs(study_id, failing, PASSPHRASE)
    with pytest.raises(SetupError, match="not an RGB uint8"):
        setup.generate_outputs(study_id, lambda c, m, n: c.astype(np.float32), PASSPHRASE)
    with pytest.raises(SetupError, match="does not match the photo"):
        store.save_mask(cases[0], np.ones((10, 10), bool))
        setup.generate_outputs(study_id, fake_generate, PASSPHRASE)
    with pytest.raises(SetupError, match="initials"):
        setup.add_rater(study_id, "Dr A", "")
    setup.add_rater(study_id, "Dr A", "da")
    with pytest.raises(SetupError, match="'DA' is already"):
        setup.add_rater(study_id, "Dr B", "DA")


def test_options_are_checked() -> None:
    with pytest.raises(SetupError, match="validity question"):
        StudyOptions(ask_validity=False, ask_ranking=True)
    with pytest.raises(SetupError, match="repeated cases"):
        StudyOptions(repeat_fraction=0.9)
    assert StudyOptions.from_json(StudyOptions(scales=("nasal_form",)).to_json()).scales[0].value == "nasal_form"
    assert [output_label(i) for i in (0, 1, 25, 26)] == ["A", "B", "Z", "AA"]
