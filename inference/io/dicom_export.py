"""Write a prediction as a DICOM Secondary Capture linked to the source study; de-identify DICOM.

Export (:func:`export_secondary_capture`): a single-frame Secondary Capture Image (SOP Class
1.2.840.10008.5.1.4.1.1.7), RGB 8 bit, explicit VR little endian, uncompressed, UTF-8 text
(``ISO_IR 192``). It gets a new SOP Instance UID and a new Series Instance UID, keeps the source's
Study Instance UID (so the PACS files it next to the photo), is flagged ``DERIVED\\SECONDARY``,
references the source image (Source Image Sequence + Referenced Series Sequence) and describes
the model in Series Description (shortened on a word boundary to its 64 characters), Image
Comments and Derivation Description (in full). The patient, study and clinical-trial attributes of
the source are either copied or de-identified. Without a source (a PNG or JPEG photo) a new study
is made; Patient Name and ID carry the case's pseudonym when given, the other patient attributes
are present but empty.

De-identification (:func:`deidentify_dataset`): the Basic Application Level Confidentiality
Profile of DICOM PS3.15 Annex E, attribute list Table E.1-1 of edition **2024b**, restricted to
the attributes that can occur in Secondary Capture and VL Photographic Image objects (patient,
patient study, general study, clinical trial, general series, equipment, SC equipment, general
image/acquisition, acquisition context, specimen, VL photographic equipment/acquisition/
geolocation, overlay, SOP common and code-level person/UID attributes). Where the table gives
a compound action (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) the least-disclosing action valid for these two
IODs is used (see ``PROFILE_ACTIONS``). Also removed: all private attributes, curve groups
(50xx), overlay data and comments (60xx,3000/4000). UIDs are replaced through a
:class:`UidRemapper`, so a UID maps to the same new UID everywhere in a dataset (and across
datasets when the same remapper is reused). The result carries Patient Identity Removed = YES,
the method and code 113100 (basic profile); exports also list 113105 (Clean Descriptors Option),
because the series, image-comment and derivation descriptions are rewritten with text the app
generates.

The face in the pixels is not de-identified (Recognizable Visual Features = YES is set on
exports): a de-identified export is still a picture of the child's face.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import secrets
import uuid
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from inference.atomic import atomic_write
from inference.errors import DicomExportError

PROFILE_EDITION = "2024b"
DEID_METHOD = f"DICOM PS3.15 E.1-1 Basic Profile ({PROFILE_EDITION})"
SOFTWARE_NAME = "cleftlip-inpaint"

# Resolved action per attribute keyword: "X" remove, "Z" empty, "D" dummy value, "U" replace UID,
# "K*" keep the sequence and de-identify inside it (the profile's U* for reference sequences).
# The comment after a compound action says what Table E.1-1 allows and why this one was chosen.
PROFILE_ACTIONS: dict[str, str] = {
    # Patient module
    "PatientName": "Z", "PatientID": "Z",  # Z/D: type 2 in SC and VL Photographic
    "IssuerOfPatientID": "X", "PatientBirthDate": "Z", "PatientBirthTime": "X", "PatientSex": "Z",
    "PatientSexNeutered": "X",  # X/Z: type 2C (animals only)
    "OtherPatientIDs": "X", "OtherPatientIDsSequence": "X", "OtherPatientNames": "X",
    "PatientBirthName": "X", "PatientMotherBirthName": "X", "EthnicGroup": "X",
    "PatientComments": "X", "ReferencedPatientPhotoSequence": "X",
    "ReferencedPatientSequence": "X", "ResponsiblePerson": "X", "ResponsibleOrganization": "X",
    "PatientAddress": "X", "PatientTelephoneNumbers": "X", "PatientTelecomInformation": "X",
    "MilitaryRank": "X", "BranchOfService": "X", "PatientReligiousPreference": "X",
    "MedicalRecordLocator": "X", "CountryOfResidence": "X", "RegionOfResidence": "X",
    "PatientInsurancePlanCodeSequence": "X", "InsurancePlanIdentification": "X",
    "PatientPrimaryLanguageCodeSequence": "X", "PatientPrimaryLanguageModifierCodeSequence": "X",
    "ReferencedPatientAliasSequence": "X",
    # Patient study module
    "PatientAge": "X", "PatientSize": "X", "PatientWeight": "X", "Occupation": "X",
    "AdditionalPatientHistory": "X", "MedicalAlerts": "X", "Allergies": "X",
    "SmokingStatus": "X", "PregnancyStatus": "X", "LastMenstrualDate": "X", "PatientState": "X",
    "AdmittingDiagnosesDescription": "X", "AdmittingDiagnosesCodeSequence": "X",
    "AdmissionID": "X", "IssuerOfAdmissionIDSequence": "X", "ServiceEpisodeID": "X",
    "ServiceEpisodeDescription": "X", "IssuerOfServiceEpisodeIDSequence": "X",
    "ReasonForVisit": "X", "ReasonForVisitCodeSequence": "X", "SpecialNeeds": "X",
    # General study module
    "StudyInstanceUID": "U", "StudyDate": "Z", "StudyTime": "Z", "ReferringPhysicianName": "Z",
    "ReferringPhysicianIdentificationSequence": "X", "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X", "ConsultingPhysicianName": "Z",
    "ConsultingPhysicianIdentificationSequence": "X", "StudyID": "Z", "AccessionNumber": "Z",
    "StudyDescription": "X", "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X", "NameOfPhysiciansReadingStudy": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X", "RequestingPhysician": "X",
    "RequestingService": "X", "ReasonForStudy": "X", "StudyComments": "X",
    "ReferencedStudySequence": "X",  # X/Z: type 3 here
    "RequestedProcedureDescription": "X",  # X/Z: type 3 here
    "RequestedProcedureID": "X", "RequestedProcedureComments": "X",
    "ReasonForTheRequestedProcedure": "X", "ReasonForRequestedProcedureCodeSequence": "X",
    "PlacerOrderNumberImagingServiceRequest": "Z", "FillerOrderNumberImagingServiceRequest": "Z",
    "ImagingServiceRequestComments": "X", "OrderEnteredBy": "X", "OrderEntererLocation": "X",
    "OrderCallbackPhoneNumber": "X", "OrderCallbackTelecomInformation": "X",
    # Clinical trial subject / study / series modules (D where the module makes them type 1)
    "ClinicalTrialSponsorName": "D", "ClinicalTrialProtocolID": "D",
    "ClinicalTrialProtocolName": "Z", "ClinicalTrialSiteID": "Z", "ClinicalTrialSiteName": "Z",
    "ClinicalTrialSubjectID": "D", "ClinicalTrialSubjectReadingID": "D",
    "ClinicalTrialTimePointID": "Z", "ClinicalTrialTimePointDescription": "X",
    "ClinicalTrialCoordinatingCenterName": "Z", "ClinicalTrialSeriesID": "X",
    "ClinicalTrialSeriesDescription": "X", "ClinicalTrialProtocolEthicsCommitteeName": "D",
    "ClinicalTrialProtocolEthicsCommitteeApprovalNumber": "X",
    "IssuerOfClinicalTrialProtocolID": "X", "IssuerOfClinicalTrialSiteID": "X",
    "IssuerOfClinicalTrialSubjectID": "X", "IssuerOfClinicalTrialSubjectReadingID": "X",
    "IssuerOfClinicalTrialTimePointID": "X", "IssuerOfClinicalTrialSeriesID": "X",
    "OtherClinicalTrialProtocolIDsSequence": "X",
    # General series module
    "SeriesInstanceUID": "U", "SeriesDate": "X", "SeriesTime": "X",  # X/D: type 3
    "SeriesDescription": "X", "ProtocolName": "X",  # X/D: type 3
    "OperatorsName": "X", "OperatorIdentificationSequence": "X",  # X/Z/D, X/D: type 3
    "PerformingPhysicianName": "X", "PerformingPhysicianIdentificationSequence": "X",
    "ReferencedPerformedProcedureStepSequence": "X",  # X/Z/D: type 3
    "RequestAttributesSequence": "X", "PerformedProcedureStepID": "X",
    "PerformedProcedureStepStartDate": "X", "PerformedProcedureStepStartTime": "X",
    "PerformedProcedureStepEndDate": "X", "PerformedProcedureStepEndTime": "X",
    "PerformedProcedureStepDescription": "X", "CommentsOnThePerformedProcedureStep": "X",
    "PerformedStationName": "X", "PerformedLocation": "X", "PerformedStationAETitle": "X",
    # General equipment / SC equipment modules
    "InstitutionName": "X", "InstitutionCodeSequence": "X",  # X/Z/D: type 3
    "InstitutionAddress": "X", "InstitutionalDepartmentName": "X",
    "InstitutionalDepartmentTypeCodeSequence": "X",
    "StationName": "X", "DeviceSerialNumber": "X",  # X/Z/D: type 3
    "DeviceUID": "U", "UDISequence": "X", "UniqueDeviceIdentifier": "X",
    "ManufacturerDeviceClassUID": "U", "DateOfLastCalibration": "X",
    "TimeOfLastCalibration": "X", "DateOfManufacture": "X", "DateOfInstallation": "X",
    "DateOfSecondaryCapture": "X", "TimeOfSecondaryCapture": "X",
    "StationAETitle": "X", "RetrieveAETitle": "X",
    # General image / acquisition / VL image modules
    "ContentDate": "D", "ContentTime": "D",  # Z/D: type 1 in the VL Image module
    "AcquisitionDate": "X", "AcquisitionTime": "X",  # X/Z: type 3
    "AcquisitionDateTime": "X",  # X/Z/D: type 3 for derived images
    "AcquisitionUID": "U", "ImageComments": "X", "DerivationDescription": "X",
    "SourceImageSequence": "K*", "ReferencedImageSequence": "K*",  # X/Z/U*
    "IconImageSequence": "X", "IrradiationEventUID": "U",
    "AcquisitionDeviceProcessingDescription": "X",  # X/D: type 3
    "AcquisitionComments": "X", "FrameComments": "X", "ImagePresentationComments": "X",
    "ModifiedImageDate": "X", "ModifiedImageTime": "X", "ModifiedImageDescription": "X",
    "ModifyingDeviceID": "X", "FrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U", "ConcatenationUID": "U",
    "DimensionOrganizationUID": "U",
    # Acquisition context module (type 2 in VL Photographic)
    "AcquisitionContextSequence": "Z",  # X/Z
    # Specimen module
    "SpecimenUID": "U", "ContainerIdentifier": "D", "SpecimenIdentifier": "D",
    "SpecimenAccessionNumber": "X", "SpecimenShortDescription": "X",
    "SpecimenDetailedDescription": "X", "ContainerDescription": "X",
    "IssuerOfTheContainerIdentifierSequence": "Z", "IssuerOfTheSpecimenIdentifierSequence": "Z",
    "SpecimenPreparationSequence": "Z", "SlideIdentifier": "X",
    # VL photographic equipment / acquisition / geolocation modules (EXIF-derived)
    "CameraOwnerName": "X", "LensMake": "X", "LensModel": "X", "LensSerialNumber": "X",
    "LensSpecification": "X", "DeviceSettingDescription": "X", "MakerNote": "X",
    **{k: "X" for k in (
        "GPSVersionID", "GPSLatitudeRef", "GPSLatitude", "GPSLongitudeRef", "GPSLongitude",
        "GPSAltitudeRef", "GPSAltitude", "GPSTimeStamp", "GPSSatellites", "GPSStatus",
        "GPSMeasureMode", "GPSDOP", "GPSSpeedRef", "GPSSpeed", "GPSTrackRef", "GPSTrack",
        "GPSImgDirectionRef", "GPSImgDirection", "GPSMapDatum", "GPSDestLatitudeRef",
        "GPSDestLatitude", "GPSDestLongitudeRef", "GPSDestLongitude", "GPSDestBearingRef",
        "GPSDestBearing", "GPSDestDistanceRef", "GPSDestDistance", "GPSProcessingMethod",
        "GPSAreaInformation", "GPSDateStamp", "GPSDifferential")},
    # SOP common module
    "SOPInstanceUID": "U", "InstanceCreationDate": "X", "InstanceCreationTime": "X",  # X/D, X/Z/D
    "InstanceCreatorUID": "U", "TimezoneOffsetFromUTC": "X", "InstanceCoercionDateTime": "X",
    "DigitalSignaturesSequence": "X", "OriginalAttributesSequence": "X",
    "InstanceOriginStatus": "X", "ContributionDateTime": "X", "ContributionDescription": "X",
    "StorageMediaFileSetUID": "U", "IdentifyingComments": "X", "TextComments": "X",
    "Arbitrary": "X", "DataSetTrailingPadding": "X", "CurveDate": "X", "CurveTime": "X",
    "OverlayDate": "X", "OverlayTime": "X",
    # Reference and code-level attributes that may sit in any sequence
    "ReferencedSOPInstanceUID": "U", "ReferencedSOPInstanceUIDInFile": "U",
    "ReferencedFrameOfReferenceUID": "U", "RelatedFrameOfReferenceUID": "U",
    "SourceFrameOfReferenceUID": "U", "UID": "U", "ObservationUID": "U", "TrackingUID": "U",
    "TransactionUID": "U", "FiducialUID": "U", "TargetUID": "U", "PyramidUID": "U",
    "PaletteColorLookupTableUID": "U", "LargePaletteColorLookupTableUID": "U",
    "TemplateExtensionCreatorUID": "U", "TemplateExtensionOrganizationUID": "U",
    "PersonName": "D", "PersonIdentificationCodeSequence": "D", "PersonAddress": "X",
    "PersonTelephoneNumbers": "X", "PersonTelecomInformation": "X",
    "VerifyingObserverName": "D", "VerifyingObserverSequence": "D",
    "VerifyingOrganization": "D", "VerifyingObserverIdentificationCodeSequence": "Z",
    "ContentCreatorName": "Z",  # Z/D: type 2 where it occurs
    "ContentCreatorIdentificationCodeSequence": "X",
    "Date": "D", "Time": "D", "DateTime": "D", "ObservationDateTime": "X",
    "ParticipantSequence": "X", "AuthorObserverSequence": "X",
    "CustodialOrganizationSequence": "X",
    # File meta
    "MediaStorageSOPInstanceUID": "U",
}

_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                       "TM", "UC", "UI", "UR", "UT"})
_DUMMY_BY_VR = {
    "PN": "ANONYMOUS", "DA": "19000101", "TM": "000000", "DT": "19000101000000",
    "LO": "ANONYMIZED", "SH": "ANONYMIZED", "LT": "ANONYMIZED", "ST": "ANONYMIZED",
    "UT": "ANONYMIZED", "CS": "ANONYMIZED", "AE": "ANONYMIZED", "AS": "000Y", "IS": "0",
    "DS": "0",
}

# Attributes copied from a source dataset into an export (then de-identified when asked).
_COPIED_KEYWORDS: tuple[str, ...] = (
    # Patient
    "PatientName", "PatientID", "IssuerOfPatientID", "TypeOfPatientID",
    "IssuerOfPatientIDQualifiersSequence", "PatientBirthDate", "PatientBirthTime", "PatientSex",
    "OtherPatientIDsSequence", "OtherPatientNames", "PatientComments", "EthnicGroup",
    "PatientSpeciesDescription", "PatientIdentityRemoved", "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    # Patient study
    "PatientAge", "PatientSize", "PatientWeight", "AdditionalPatientHistory",
    # General study
    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName",
    "ReferringPhysicianIdentificationSequence", "ConsultingPhysicianName", "StudyID",
    "AccessionNumber", "IssuerOfAccessionNumberSequence", "StudyDescription",
    "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "ReferencedStudySequence",
    "ProcedureCodeSequence",
    # Clinical trial subject / study
    "ClinicalTrialSponsorName", "ClinicalTrialProtocolID", "ClinicalTrialProtocolName",
    "ClinicalTrialSiteID", "ClinicalTrialSiteName", "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID", "ClinicalTrialTimePointID",
    "ClinicalTrialTimePointDescription", "ClinicalTrialCoordinatingCenterName",
    "ClinicalTrialProtocolEthicsCommitteeName",
    "ClinicalTrialProtocolEthicsCommitteeApprovalNumber",
)
_TYPE2_STUDY_PATIENT = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                        "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                        "AccessionNumber")


class UidRemapper:
    """Maps original UIDs to replacement UIDs, the same original always to the same replacement.

    Replacements are ``2.25.<128-bit>`` UIDs derived from a secret salt and the original UID, so
    they cannot be traced back without the salt. Reuse one remapper (or one persisted salt) for
    exports that must keep landing in the same de-identified study.
    """

    def __init__(self, salt: bytes | None = None) -> None:
        self._salt = salt if salt is not None else secrets.token_bytes(32)
        self._map: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip()
        if not uid:
            return uid
        if uid not in self._map:
            digest = hashlib.sha256(self._salt + uid.encode("ascii", "replace")).digest()
            self._map[uid] = f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"
        return self._map[uid]


def _is_curve_or_overlay_data(tag: pydicom.tag.BaseTag) -> bool:
    group, elem = tag.group, tag.element
    if 0x5000 <= group <= 0x50FF and group % 2 == 0:
        return True
    return 0x6000 <= group <= 0x60FF and group % 2 == 0 and elem in (0x3000, 0x4000)


def _apply_actions(ds: Dataset, remap: UidRemapper) -> None:
    for elem in list(ds):
        tag = elem.tag
        if tag.is_private or _is_curve_or_overlay_data(tag):
            del ds[tag]
            continue
        action = PROFILE_ACTIONS.get(elem.keyword)
        if action == "X":
            del ds[tag]
        elif action == "Z":
            elem.value = Sequence() if elem.VR == "SQ" else ("" if elem.VR in _TEXT_VRS else None)
        elif action == "D":
            if elem.VR == "SQ":
                elem.value = Sequence()
            elif elem.VR == "UI":
                elem.value = remap(elem.value) if elem.value else elem.value
            else:
                elem.value = _DUMMY_BY_VR.get(elem.VR)
        elif action == "U" and elem.value:
            if elem.VM > 1:
                elem.value = [remap(v) for v in elem.value]
            else:
                elem.value = remap(elem.value)
        if tag in ds and ds[tag].VR == "SQ" and ds[tag].value:
            for item in ds[tag].value:
                _apply_actions(item, remap)


def deidentify_dataset(ds: Dataset, uid_remapper: UidRemapper | None = None) -> Dataset:
    """A de-identified copy of ``ds`` (the input is left untouched); see the module docstring."""
    if not isinstance(ds, Dataset):
        raise DicomExportError("The DICOM data to de-identify is not a DICOM dataset.")
    remap = uid_remapper or UidRemapper()
    out = copy.deepcopy(ds)
    _apply_actions(out, remap)
    meta = getattr(out, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = remap(meta.MediaStorageSOPInstanceUID)
    _mark_deidentified(out, clean_descriptors=False)
    return out


def _mark_deidentified(ds: Dataset, clean_descriptors: bool) -> None:
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = DEID_METHOD
    codes = [("113100", "Basic Application Confidentiality Profile")]
    if clean_descriptors:
        codes.append(("113105", "Clean Descriptors Option"))
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    ds.LongitudinalTemporalInformationModified = "REMOVED"


# ------------------------------------------------------------------------------------ export


def _text(value: object) -> object:
    """Decoded text for copying between character sets (PN -> str, lists kept)."""
    if isinstance(value, pydicom.valuerep.PersonName):
        return str(value)
    return value


def _copy_source(source: Dataset) -> Dataset:
    src = copy.deepcopy(source)
    try:
        src.decode()  # all text to Python str, whatever the source's character set
    except (LookupError, ValueError, UnicodeError) as exc:
        raise DicomExportError(
            "The source DICOM uses a character set that cannot be read; its names cannot be copied."
        ) from exc
    out = Dataset()
    for kw in _COPIED_KEYWORDS:
        if kw in src:
            elem = src[kw]
            out.add(DataElement(elem.tag, elem.VR, _text(elem.value)))
    if "SOPInstanceUID" in src:
        ref = Dataset()
        ref.ReferencedSOPClassUID = src.get("SOPClassUID", "")
        ref.ReferencedSOPInstanceUID = src.SOPInstanceUID
        out.SourceImageSequence = Sequence([ref])
        if "SeriesInstanceUID" in src:
            series = Dataset()
            series.SeriesInstanceUID = src.SeriesInstanceUID
            series.ReferencedInstanceSequence = Sequence([copy.deepcopy(ref)])
            out.ReferencedSeriesSequence = Sequence([series])
    return out


def _check_pixels(rgb: object) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DicomExportError("The prediction to export is not an 8-bit colour picture.")
    h, w = rgb.shape[:2]
    if not (0 < h <= 0xFFFF and 0 < w <= 0xFFFF):
        raise DicomExportError(f"The picture size {w}x{h} cannot be stored in DICOM.")
    return np.ascontiguousarray(rgb)


def shorten_on_word(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, "..." marking the cut.

    A single word longer than the limit is cut inside the word (nothing else fits).
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    room = limit - 3
    cut = text.rfind(" ", 0, room + 1)
    head = text[:cut] if cut > 0 else text[:room]
    return head.rstrip(" ,;:(-") + "..."


def _person_name(text: str) -> str:
    """A pseudonym as a DICOM PN: no value separator, at most 64 characters (one component group)."""
    return " ".join(text.replace("\\", " ").replace("=", " ").split())[:64]


def export_secondary_capture(
    prediction_rgb: np.ndarray, out_path: str | os.PathLike[str], source: Dataset | None,
    model_description: str, deidentify: bool, *, uid_remapper: UidRemapper | None = None,
    software_version: str = "", patient_name: str = "", patient_id: str = "",
) -> Path:
    """Write ``prediction_rgb`` as a Secondary Capture next to ``source``'s study; see module doc.

    ``model_description`` (model name, version, weights hash...) goes into Series Description
    (shortened on a word boundary to 64 characters), and in full into Image Comments and
    Derivation Description. ``patient_name``/``patient_id`` (the case's pseudonym or study ID)
    fill Patient Name/ID where the source has none, e.g. for a PNG or JPEG photo; they are ignored
    when de-identifying. With ``deidentify`` the copied source attributes go through
    :func:`deidentify_dataset` (using ``uid_remapper`` when given, so several exports of one case
    share the replacement study UID) and no creation dates are written.
    """
    rgb = _check_pixels(prediction_rgb)
    description = " ".join(str(model_description).split())
    if not description:
        raise DicomExportError("Describe the model that made the prediction before exporting.")
    if source is not None and not isinstance(source, Dataset):
        raise DicomExportError("The source image is not a DICOM dataset.")
    if source is not None and not str(source.get("StudyInstanceUID", "")).strip():
        raise DicomExportError("The source DICOM has no Study Instance UID, so the export cannot "
                               "be linked to its study.")

    if source is not None:
        ds = _copy_source(source)
        if deidentify:
            ds = deidentify_dataset(ds, uid_remapper)
    else:
        ds = Dataset()
        ds.StudyInstanceUID = generate_uid(prefix=None)
    for kw in _TYPE2_STUDY_PATIENT:
        if kw not in ds:
            setattr(ds, kw, None)
    if not deidentify:
        if patient_name.strip() and not str(ds.PatientName or "").strip():
            ds.PatientName = _person_name(patient_name)
        if patient_id.strip() and not str(ds.PatientID or "").strip():
            ds.PatientID = " ".join(patient_id.replace("\\", " ").split())[:64]
    if deidentify:
        _mark_deidentified(ds, clean_descriptors=True)
    lossy = str(source.get("LossyImageCompression", "00")) if source is not None else "00"

    sop_uid = generate_uid(prefix=None)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.SeriesInstanceUID = generate_uid(prefix=None)
    ds.Modality = "OT"
    ds.SeriesNumber = 9001
    ds.InstanceNumber = 1
    ds.SeriesDescription = shorten_on_word(description, 64)
    ds.ImageComments = description[:10240]
    ds.DerivationDescription = f"Predicted lip repair (research visualisation). {description}"[:1024]
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ConversionType = "WSD"
    ds.Manufacturer = SOFTWARE_NAME
    ds.SecondaryCaptureDeviceManufacturer = SOFTWARE_NAME
    ds.SecondaryCaptureDeviceManufacturerModelName = SOFTWARE_NAME
    if software_version:
        ds.SecondaryCaptureDeviceSoftwareVersions = software_version[:64]
    ds.PatientOrientation = None
    ds.BurnedInAnnotation = "NO"
    ds.RecognizableVisualFeatures = "YES"
    ds.LossyImageCompression = "01" if lossy == "01" else "00"
    if not deidentify:
        now = dt.datetime.now()
        ds.ContentDate = ds.InstanceCreationDate = now.strftime("%Y%m%d")
        ds.ContentTime = ds.InstanceCreationTime = now.strftime("%H%M%S")
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = rgb.tobytes()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "CLEFTLIP_1"
    ds.file_meta = meta
    return atomic_write(Path(out_path), lambda handle: ds.save_as(handle, enforce_file_format=True),
                        error=DicomExportError)


__all__ = [
    "PROFILE_ACTIONS",
    "PROFILE_EDITION",
    "UidRemapper",
    "deidentify_dataset",
    "export_secondary_capture",
    "shorten_on_word",
]
