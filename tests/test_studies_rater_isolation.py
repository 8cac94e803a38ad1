"""Blinding by the data folder (issue 12, item 6): the rating session's connections cannot read the
case store (predictions carry model names) or the seal; raters rate from a rater folder that holds
none of the clinic's data; rating beside case-screen predictions needs the owner; passphrases are
refused when short or common and hashed with a memory-hard scrypt whose parameters are stored."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, text
from test_studies_support import MODELS, PASSPHRASE, build_open_study

from studies.cases import CaseStore
from studies.database import open_database
from studies.errors import DatabaseWriteError, ExchangeError, PassphraseError
from studies.exchange import export_answers, import_answers
from studies.options import StudyRole
from studies.rater_folder import README_NAME, exposed_predictions, make_rater_folder, owner_passphrase_ok
from studies.rating import RaterSession
from studies.repositories.rater import RaterUnitOfWork
from studies.schema import RATER_HIDDEN_TABLES, Prediction
from studies.sealing import (
    CURRENT,
    LEGACY_SCRYPT,
    MIN_PASSPHRASE_LENGTH,
    Seal,
    ScryptParams,
    check_passphrase_strength,
    common_passphrases,
    hash_passphrase,
    measure_guess_seconds,
    new_seal_salt,
    verify_passphrase,
)
from studies.study_setup import StudySetup
from studies.unit_of_work import UnitOfWork

TWO_MODELS = MODELS[2:]  # the two OpenCV fills: quick


@pytest.fixture(scope="module")
def owner_study(tmp_path_factory: pytest.TempPathFactory):
    """An open study in an owner's data folder that also holds case-screen predictions with model names."""
    db, study_id, raters = build_open_study(tmp_path_factory.mktemp("owner"), n_cases=2, n_raters=2,
                                            models=TWO_MODELS)
    store = CaseStore(db)
    for case in store.list_cases():
        for name in TWO_MODELS:
            store.add_prediction(case.id, name, np.full((8, 8, 3), 50, np.uint8), device="cpu", app_version="t")
    yield db, study_id, raters
    db.close()


# --------------------------------------------------------------------------- the rating session's connection


def test_the_rating_session_cannot_read_predictions_cases_or_the_seal(owner_study) -> None:
    db, study_id, raters = owner_study
    session = RaterSession(db, raters[0])                     # the rating code path works as before...
    item = session.next_item()
    session.set_validity(item.position, item.outputs[0].label, True)
    assert session.item(item.position).outputs[0].valid is True
    for table in sorted(RATER_HIDDEN_TABLES):                 # ...but its connection reads none of these
        with pytest.raises(DatabaseWriteError) as caught, RaterUnitOfWork(db) as uow:
            uow.session.execute(text(f"SELECT count(*) FROM {table}")).all()
        assert "not authorized" in str(caught.value.__cause__.orig)
    with pytest.raises(DatabaseWriteError), RaterUnitOfWork(db) as uow:
        uow.session.scalars(select(Prediction.model_name)).all()
    with pytest.raises(DatabaseWriteError), RaterUnitOfWork(db) as uow:
        uow.session.execute(text("DELETE FROM predictions"))
    assert {"predictions", "cases", "masks", "output_models", "study_models"} <= RATER_HIDDEN_TABLES
    # the restriction ends with the rater's transaction: the owner's sessions still read everything
    with UnitOfWork(db) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM predictions")).scalar() == 2 * len(TWO_MODELS)


def test_rating_beside_case_predictions_is_detected_and_needs_the_owner(owner_study, tmp_path: Path) -> None:
    db, study_id, _ = owner_study
    assert exposed_predictions(db, study_id) == 2 * len(TWO_MODELS)
    assert owner_passphrase_ok(db, study_id, PASSPHRASE)
    assert not owner_passphrase_ok(db, study_id, "not the passphrase")
    clean, clean_id, _ = build_open_study(tmp_path, n_cases=1, n_raters=1, models=TWO_MODELS)
    try:
        assert exposed_predictions(clean, clean_id) == 0       # predictions of other cases do not count
    finally:
        clean.close()


# --------------------------------------------------------------------------- the rater folder


def test_a_rater_folder_holds_the_study_and_nothing_of_the_clinic(owner_study, tmp_path: Path) -> None:
    db, study_id, raters = owner_study
    folder = tmp_path / "rater stick"
    info = make_rater_folder(db, study_id, folder, [raters[1]])
    assert info.role == StudyRole.SATELLITE and (folder / README_NAME).is_file()
    assert not (folder / "cases").exists()
    with sqlite3.connect(folder / "cleftlip.sqlite3") as conn:
        for table in ("cases", "masks", "predictions", "output_models", "study_models"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
        assert conn.execute("SELECT count(*) FROM outputs").fetchone() == (2 * len(TWO_MODELS),)
        assert conn.execute("SELECT passphrase_hash, seal_salt FROM studies").fetchall() == [(None, None)]
    names = [m.encode() for m in TWO_MODELS]
    for path in folder.rglob("*"):
        assert not any(n in str(path).encode() for n in names)
        if path.is_file():
            assert not any(n in path.read_bytes() for n in names), path.name
    # the rater rates there, and the answers come home through the answer sheet
    rater_db = open_database(folder)
    try:
        copy_id = info.id
        [rater] = StudySetup(rater_db).list_raters(copy_id)
        session = RaterSession(rater_db, rater.id)
        item = session.next_item()
        for out in item.outputs:
            session.set_validity(item.position, out.label, True)
        sheet = export_answers(rater_db, copy_id, tmp_path / "answers.csv")
    finally:
        rater_db.close()
    report = import_answers(db, study_id, sheet)
    assert report.inserted == len(item.outputs)
    # a second folder for the same study goes elsewhere; the clinic folder itself is refused
    with pytest.raises(ExchangeError, match="outside the app's data folder"):
        make_rater_folder(db, study_id, db.data_dir / "raters")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("x")
    with pytest.raises(ExchangeError, match="not empty"):
        make_rater_folder(db, study_id, busy)


def test_a_clinic_data_folder_is_never_turned_into_a_rater_folder(owner_study, tmp_path: Path) -> None:
    db, study_id, _ = owner_study
    other = tmp_path / "other clinic"
    other_db = open_database(other)
    photo = tmp_path / "p.png"
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    CaseStore(other_db).create_case("X-1", photo)
    other_db.close()
    with pytest.raises(ExchangeError, match="clinic data folder"):
        make_rater_folder(db, study_id, other)


# --------------------------------------------------------------------------- passphrases


@pytest.mark.parametrize("weak", [
    "short", "nine char", "password1234", "P@ssw0rd 2024!", "2024 P@ssw0rd", "Summer2024!!", "qwertyuiop12",
    "1234567890", "abcdefghijk", "aaaaaaaaaaaa", "abababababab", "iloveyou1234", "Welcome123456",
    "correct horse battery staple", "M0nkey!!2020"])
def test_short_and_common_passphrases_are_refused(weak: str) -> None:
    with pytest.raises(PassphraseError):
        check_passphrase_strength(weak)


def test_good_passphrases_pass_and_the_title_is_not_one(tmp_path: Path) -> None:
    for good in (PASSPHRASE, "plum tractor ocean", "Tr0ub4dor&3xyz", "w3lc0me to my study"):
        check_passphrase_strength(good)
    with pytest.raises(PassphraseError, match="study title or the owner"):
        check_passphrase_strength("Lip study 2024", context=("Lip study", "Dr Owner"))
    with pytest.raises(PassphraseError, match="at least 10"):
        check_passphrase_strength("x" * (MIN_PASSPHRASE_LENGTH - 1))
    assert MIN_PASSPHRASE_LENGTH >= 10
    common = common_passphrases()
    assert len(common) >= 1000 and {"123456", "password", "qwerty", "iloveyou"} <= common
    setup = StudySetup(open_database(tmp_path / "data"))
    with pytest.raises(PassphraseError, match="common"):
        setup.create_study("T", "Owner", "password2026")
    setup.db.close()


@pytest.mark.real_kdf
def test_scrypt_costs_at_least_a_quarter_second_by_its_parameters(record_property) -> None:
    """The parameters, not the time, are asserted (CI machines differ); the time is recorded.

    Measured on the development machine (2 cores shared with a training run, load 3.4): 0.51-0.57 s
    per guess for 2**17, 8, 1; 0.24-0.27 s for 2**16 (not enough); 0.06-0.08 s for the old 2**14.
    """
    assert CURRENT == ScryptParams(2**17, 8, 1) and CURRENT.memory == 128 * 1024 * 1024
    encoded = hash_passphrase(PASSPHRASE)
    assert encoded.startswith("scrypt$131072$8$1$") and verify_passphrase(PASSPHRASE, encoded)
    assert not verify_passphrase("correct horse battery!", encoded)
    assert new_seal_salt().startswith("scrypt$131072$8$1$") and len(new_seal_salt()) <= 64
    seconds = measure_guess_seconds(repeats=1)
    record_property("scrypt_seconds_per_guess", round(seconds, 3))
    print(f"scrypt {CURRENT}: {seconds:.3f} s per guess on this machine")


def test_hashes_and_seals_of_older_studies_still_open() -> None:
    # a hash written by the previous version (2**14, 8, 1), as stored in existing databases
    old = ("scrypt$16384$8$1$000102030405060708090a0b0c0d0e0f$"
           "e96ec6ba8c63a23698220f37c7fc042925d430c7feadec9ceb04af03cabb9f2f")
    assert verify_passphrase(PASSPHRASE, old) and not verify_passphrase("correct horse batterY", old)
    # an older study's seal salt is bare hex and its key came from the old parameters
    salt_hex = "00112233445566778899aabbccddeeff"
    key = hashlib.scrypt(PASSPHRASE.encode(), salt=bytes.fromhex(salt_hex), n=LEGACY_SCRYPT[0],
                         r=LEGACY_SCRYPT[1], p=LEGACY_SCRYPT[2], dklen=32)
    import base64

    from cryptography.fernet import Fernet

    token = Fernet(base64.urlsafe_b64encode(key)).encrypt(b"000003").decode()
    assert Seal(PASSPHRASE, salt_hex).open(token) == 3
    with pytest.raises(PassphraseError):
        Seal("not the passphrase", salt_hex).open(token)


def test_absurd_stored_parameters_are_refused_not_run() -> None:
    salt = "00" * 16
    assert not verify_passphrase(PASSPHRASE, f"scrypt${2**24}$64$16${salt}${'00' * 32}")  # 128 GiB
    assert not verify_passphrase(PASSPHRASE, f"scrypt$1000$8$1${salt}${'00' * 32}")       # not a power of 2
    assert not verify_passphrase(PASSPHRASE, "bcrypt$x")
    with pytest.raises(PassphraseError, match="damaged"):
        Seal(PASSPHRASE, f"scrypt${2**30}$8$1${salt}")


def test_the_shipped_list_is_what_its_generator_makes() -> None:
    import importlib.util

    from studies.sealing import COMMON_PASSPHRASES_FILE

    spec = importlib.util.spec_from_file_location(
        "make_common_passphrases", COMMON_PASSPHRASES_FILE.with_name("make_common_passphrases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert common_passphrases() == frozenset(module.build())
    assert all(w.isalnum() and w == w.lower() for w in common_passphrases())
