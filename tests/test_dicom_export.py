"""DICOM Secondary Capture export and basic-profile de-identification: round trips via pydicom."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    VLPhotographicImageStorage,
    generate_uid,
)

from inference.errors import DicomExportError, InferenceError
from inference.io import dicom_export
from inference.io.dicom_export import (
    PROFILE_ACTIONS,
    UidRemapper,
    deidentify_dataset,
    export_secondary_capture,
)

IDENTIFYING = {
    "PatientName": "Müller^Jürgen",
    "PatientID": "PID-778899",
    "PatientBirthDate": "20230214",
    "OtherPatientIDs": "ALT-5544",
    "PatientAddress": "12 Harbour Street",
    "InstitutionName": "St Elsewhere Hospital",
    "ReferringPhysicianName": "Referrer^Rita",
    "AccessionNumber": "ACC-31337",
    "StudyID": "STUDY-4242",
    "StudyDescription": "Cleft clinic photos Jürgen",
    "StudyDate": "20240501",
    "StudyTime": "101500",
    "SeriesDescription": "Front view Jürgen",
    "OperatorsName": "Photographer^Paul",
    "DeviceSerialNumber": "CAM-SN-9911",
    "CameraOwnerName": "Paul Photographer",
    "PatientAge": "001Y",
    "InstitutionAddress": "1 Hospital Road",
}


@pytest.fixture()
def source(tmp_path: Path) -> Dataset:
    """A VL Photographic Image with fake identifying values, written and read back by pydicom."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    for kw, value in IDENTIFYING.items():
        setattr(ds, kw, value)
    ds.SOPClassUID = VLPhotographicImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.Modality = "XC"
    ds.ContentDate, ds.ContentTime = "20240501", "101700"
    ds.GPSLatitude = "48.1"
    ds.GPSLongitude = "11.5"
    ds.add_new(0x00091010, "LO", "private vendor note Jürgen")
    ds.add_new(0x60003000, "OW", b"\x01\x00" * 8)
    ds.add_new(0x60004000, "LT", "overlay note")
    person = Dataset()
    person.PersonName = "Nurse^Nora"
    person.OperatorsName = "Nurse^Nora"
    ds.OperatorIdentificationSequence = Sequence([person])
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 8, 6, 3
    ds.PhotometricInterpretation, ds.PlanarConfiguration = "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.full((8, 6, 3), 128, np.uint8).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path = tmp_path / "source.dcm"
    ds.save_as(path, enforce_file_format=True)
    return pydicom.dcmread(path)


@pytest.fixture()
def prediction() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (37, 29, 3), dtype=np.uint8)


def _walk(ds: Dataset):
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _walk(item)


def test_export_copies_patient_and_links_to_source_study(source, prediction, tmp_path) -> None:
    out = export_secondary_capture(prediction, tmp_path / "pred.dcm", source,
                                   "nclg-mt 1.2.0 sha256:0123abcd", deidentify=False)
    ds = pydicom.dcmread(out)
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert UID(ds.SOPInstanceUID).is_valid and ds.SOPInstanceUID != source.SOPInstanceUID
    assert ds.StudyInstanceUID == source.StudyInstanceUID
    assert ds.SeriesInstanceUID not in (source.SeriesInstanceUID, ds.SOPInstanceUID)
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
    assert "nclg-mt 1.2.0" in ds.SeriesDescription and "nclg-mt" in ds.DerivationDescription
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == source.SeriesInstanceUID
    assert str(ds.PatientName) == "Müller^Jürgen" and ds.PatientID == "PID-778899"
    assert ds.PatientBirthDate == "20230214" and ds.AccessionNumber == "ACC-31337"
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert "InstitutionName" not in ds  # only patient/study modules are copied
    assert np.array_equal(ds.pixel_array, prediction)


def test_two_exports_get_distinct_instance_uids(source, prediction, tmp_path) -> None:
    a = pydicom.dcmread(export_secondary_capture(prediction, tmp_path / "a.dcm", source, "m", False))
    b = pydicom.dcmread(export_secondary_capture(prediction, tmp_path / "b.dcm", source, "m", False))
    assert a.SOPInstanceUID != b.SOPInstanceUID and a.StudyInstanceUID == b.StudyInstanceUID


def test_deidentified_export_keeps_nothing_identifying(source, prediction, tmp_path) -> None:
    remap = UidRemapper()
    out = export_secondary_capture(prediction, tmp_path / "deid.dcm", source, "nclg-mt 1.2.0",
                                   deidentify=True, uid_remapper=remap)
    ds = pydicom.dcmread(out)
    assert np.array_equal(ds.pixel_array, prediction)
    for elem in _walk(ds):
        action = PROFILE_ACTIONS.get(elem.keyword)
        if elem.keyword in ("SeriesDescription", "DerivationDescription", "ImageComments"):
            continue  # rewritten by the app (Clean Descriptors Option), checked below
        assert action != "X", f"{elem.keyword} should have been removed"
        if action == "Z":
            assert not elem.value, f"{elem.keyword} should be empty"
        assert not elem.tag.is_private
    assert ds.SeriesDescription == ds.ImageComments == "nclg-mt 1.2.0"
    raw = out.read_bytes()
    for value in IDENTIFYING.values():
        assert value.encode("utf-8") not in raw and value.encode("latin-1") not in raw, value
    for uid in (source.StudyInstanceUID, source.SeriesInstanceUID, source.SOPInstanceUID):
        assert uid.encode() not in raw
    # UIDs replaced consistently: the study and the references map through the same remapper.
    assert ds.StudyInstanceUID == remap(source.StudyInstanceUID)
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == remap(source.SOPInstanceUID)
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == remap(source.SeriesInstanceUID)
    again = pydicom.dcmread(export_secondary_capture(prediction, tmp_path / "d2.dcm", source, "m",
                                                     True, uid_remapper=remap))
    assert again.StudyInstanceUID == ds.StudyInstanceUID
    assert ds.PatientIdentityRemoved == "YES"
    codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113105"}
    assert ds.RecognizableVisualFeatures == "YES"
    assert "ContentDate" not in ds and "InstanceCreationDate" not in ds


def test_deidentify_dataset_applies_profile_and_leaves_input_alone(source) -> None:
    before = source.to_json_dict()
    remap = UidRemapper()
    out = deidentify_dataset(source, remap)
    assert source.to_json_dict() == before
    kept = {e.keyword for e in _walk(out)}
    for kw in ("OtherPatientIDs", "PatientAddress", "InstitutionName", "GPSLatitude",
               "GPSLongitude", "CameraOwnerName", "DeviceSerialNumber", "OperatorsName",
               "OperatorIdentificationSequence", "StudyDescription", "PatientAge"):
        assert kw not in kept, kw
    assert not any(e.tag.is_private for e in _walk(out))
    assert 0x60003000 not in out and 0x60004000 not in out
    assert out.PatientName == "" and out.PatientID == "" and out.StudyDate == ""
    assert out.ContentDate == "19000101"  # dummy: Content Date is type 1 in VL photographs
    assert out.SOPInstanceUID == remap(source.SOPInstanceUID)
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.FrameOfReferenceUID == remap(source.FrameOfReferenceUID)
    assert out.SOPClassUID == source.SOPClassUID  # class UIDs are not identifying
    assert out.PatientIdentityRemoved == "YES"


def test_export_without_source_starts_a_new_study(prediction, tmp_path) -> None:
    ds = pydicom.dcmread(export_secondary_capture(prediction, tmp_path / "n.dcm", None, "m", False))
    assert UID(ds.StudyInstanceUID).is_valid
    assert ds.PatientName == "" and ds.PatientID == "" and ds.PatientBirthDate == ""
    assert "SourceImageSequence" not in ds
    assert np.array_equal(ds.pixel_array, prediction)


def test_uid_remapper_is_deterministic_per_salt() -> None:
    a, b, c = UidRemapper(b"salt-1"), UidRemapper(b"salt-1"), UidRemapper(b"salt-2")
    uid = "1.2.3.4.5"
    assert a(uid) == b(uid) != c(uid)
    assert a(uid) != a("1.2.3.4.6")
    assert UID(a(uid)).is_valid and len(a(uid)) <= 64


def test_bad_input_raises_typed_errors(source, prediction, tmp_path, monkeypatch) -> None:
    with pytest.raises(DicomExportError, match="8-bit colour"):
        export_secondary_capture(prediction.astype(np.float32), tmp_path / "x.dcm", None, "m", False)
    with pytest.raises(DicomExportError, match="Describe the model"):
        export_secondary_capture(prediction, tmp_path / "x.dcm", None, "   ", False)
    no_study = Dataset()
    no_study.PatientName = "X"
    with pytest.raises(DicomExportError, match="Study Instance UID"):
        export_secondary_capture(prediction, tmp_path / "x.dcm", no_study, "m", False)
    with pytest.raises(DicomExportError, match="does not exist"):
        export_secondary_capture(prediction, tmp_path / "nope" / "x.dcm", None, "m", False)
    assert issubclass(DicomExportError, InferenceError)

    def full_disk(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dicom_export.os, "replace", full_disk)
    with pytest.raises(DicomExportError, match="disk is full"):
        export_secondary_capture(prediction, tmp_path / "x.dcm", source, "m", True)
    assert list(tmp_path.glob("*.part")) == [] and not (tmp_path / "x.dcm").exists()


def test_export_of_a_photo_without_dicom_names_the_case(prediction, tmp_path) -> None:
    """A PNG/JPEG case has no DICOM patient module: the case's pseudonym fills name and ID."""
    description = ("Navier-Stokes (opencv-ns); weights no learned weights; app 0.9.1+g1a2b3c4; "
                   "CPU (x86_64, 2 threads)")
    ds = pydicom.dcmread(export_secondary_capture(prediction, tmp_path / "p.dcm", None, description, False,
                                                  patient_name="CL-0042 Müller", patient_id="CL-0042 Müller"))
    assert str(ds.PatientName) == "CL-0042 Müller" and ds.PatientID == "CL-0042 Müller"
    assert len(ds.SeriesDescription) <= 64 and ds.SeriesDescription.endswith("...")
    # Cut on a word boundary: every word before the "..." is a whole word of the description.
    words = ds.SeriesDescription[:-3].split()
    assert words == description.split()[:len(words)]
    assert ds.ImageComments == description and description in ds.DerivationDescription
    anon = pydicom.dcmread(export_secondary_capture(prediction, tmp_path / "a.dcm", None, description, True,
                                                    patient_name="CL-0042", patient_id="CL-0042"))
    assert anon.PatientName == "" and anon.PatientID == ""


def test_source_patient_attributes_win_over_the_pseudonym(source, prediction, tmp_path) -> None:
    ds = pydicom.dcmread(export_secondary_capture(prediction, tmp_path / "s.dcm", source, "m", False,
                                                  patient_name="CL-1", patient_id="CL-1"))
    assert str(ds.PatientName) == "Müller^Jürgen" and ds.PatientID == "PID-778899"


def test_shorten_on_word() -> None:
    from inference.io.dicom_export import shorten_on_word

    assert shorten_on_word("short text", 64) == "short text"
    assert shorten_on_word("alpha beta gamma delta", 16) == "alpha beta..."
    assert shorten_on_word("x" * 80, 64) == "x" * 61 + "..."
    assert shorten_on_word("model (opencv-telea); weights none", 25) == "model (opencv-telea)..."
