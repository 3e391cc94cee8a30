"""Synthetic DICOM instances (never real PHI) and pydicom's bundled sample files.

Generated instances cover what the BigQuery schema must handle: Person Names with alphabetic and
ideographic components, DA/TM/DT values, multi-valued attributes (ImageType, PixelSpacing),
sequences (ProcedureCodeSequence, AnatomicRegionSequence), private elements and a private sequence
(OtherElements and a Tag_GGGGEEEE column), and a small PixelData (an excluded VR, so it lands in
DroppedTags).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterator

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

FAMILY = ["Garcia", "Okafor", "Nakamura", "Smith", "Novak", "Haddad", "Larsen", "Moreau", "Silva", "Chen"]
GIVEN = ["Ana", "Chidi", "Yuki", "John", "Petra", "Omar", "Ingrid", "Luc", "Bruno", "Mei"]
IDEOGRAPHIC = {"Nakamura": "中村", "Chen": "陳"}

# Modality, SOP class, body part, procedure code and meaning.
MODALITIES = [
    ("CT", "1.2.840.10008.5.1.4.1.1.2", "CHEST", "24627-2", "CT Chest"),
    ("MR", "1.2.840.10008.5.1.4.1.1.4", "HEAD", "24590-2", "MR Brain"),
    ("CR", "1.2.840.10008.5.1.4.1.1.1", "CHEST", "36643-5", "XR Chest 2V"),
    ("US", "1.2.840.10008.5.1.4.1.1.6.1", "ABDOMEN", "24558-9", "US Abdomen"),
    ("MG", "1.2.840.10008.5.1.4.1.1.1.2", "BREAST", "24606-6", "MG Screening"),
    ("DX", "1.2.840.10008.5.1.4.1.1.1.1", "HAND", "37637-6", "XR Hand"),
]
_UID_ROOT = "1.2.826.0.1.3680043.10.1234."  # a test root; deterministic suffixes below


@dataclass(frozen=True)
class Patient:
    id: str
    family: str
    given: str
    birth: date
    sex: str

    @property
    def name(self) -> str:
        alphabetic = f"{self.family}^{self.given}"
        ideo = IDEOGRAPHIC.get(self.family)
        return f"{alphabetic}={ideo}^{self.given}" if ideo else alphabetic


def _uid(*parts: object) -> UID:
    return generate_uid(prefix=_UID_ROOT, entropy_srcs=[str(p) for p in parts])


def patients(count: int, seed: int = 7) -> list[Patient]:
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        family, given = FAMILY[i % len(FAMILY)], GIVEN[(i * 3) % len(GIVEN)]
        birth = date(1940, 1, 1) + timedelta(days=rnd.randrange(0, 80 * 365))
        out.append(Patient(f"SYN{seed:02d}{i:05d}", family, given, birth, rnd.choice("FMO")))
    return out


def instance(patient: Patient, study_no: int, series_no: int, instance_no: int, modality: tuple, study_date: date, seed: int = 7) -> Dataset:
    """One synthetic instance as a Part 10 dataset."""
    mod, sop_class, body_part, code, meaning = modality
    study_uid = _uid(seed, patient.id, study_no)
    series_uid = _uid(seed, patient.id, study_no, series_no)
    sop_uid = _uid(seed, patient.id, study_no, series_no, instance_no)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = ["ISO_IR 192"]  # UTF-8, for ideographic names
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.PatientName = patient.name
    ds.PatientID = patient.id
    ds.PatientBirthDate = patient.birth.strftime("%Y%m%d")
    ds.PatientSex = patient.sex
    ds.StudyDate = study_date.strftime("%Y%m%d")
    ds.StudyTime = f"{8 + study_no % 10:02d}{(study_no * 7) % 60:02d}{(instance_no * 13) % 60:02d}.{instance_no:06d}"
    ds.SeriesDate = ds.StudyDate
    ds.AcquisitionDateTime = f"{ds.StudyDate}{9 + series_no % 10:02d}1500.250000+0100"
    ds.ReferringPhysicianName = f"{FAMILY[(study_no + 3) % len(FAMILY)]}^{GIVEN[study_no % len(GIVEN)]}^^Dr"
    ds.AccessionNumber = f"ACC{study_no:04d}{patient.id[-3:]}"
    ds.StudyID = str(study_no)
    ds.StudyDescription = meaning
    ds.Modality = mod
    ds.SeriesNumber = series_no
    ds.SeriesDescription = f"{meaning} series {series_no}"
    ds.InstanceNumber = instance_no
    ds.BodyPartExamined = body_part
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL" if mod in ("CT", "MR") else "OTHER"]
    ds.PixelSpacing = [0.5, 0.5]
    ds.Manufacturer = "dicomstream synthetic"
    ds.InstitutionName = "Sandbox General Hospital"
    code_item = Dataset()
    code_item.CodeValue = code
    code_item.CodingSchemeDesignator = "LN"
    code_item.CodeMeaning = meaning
    ds.ProcedureCodeSequence = Sequence([code_item])
    region = Dataset()
    region.CodeValue = body_part
    region.CodingSchemeDesignator = "DCM"
    region.CodeMeaning = body_part.title()
    ds.AnatomicRegionSequence = Sequence([region])
    ds.Rows = 4
    ds.Columns = 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(32))
    _private(ds, study_no, instance_no)
    return ds


PRIVATE_CREATOR = "DICOMSTREAM SYNTHETIC"


def _private(ds: Dataset, study_no: int, instance_no: int) -> None:
    """A private block (0009,00xx): a creator, a text value, a number and a sequence of one item."""
    block = ds.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "LO", f"site-{study_no % 3}")
    block.add_new(0x02, "US", instance_no)
    item = Dataset()
    item.Rows = 2
    item.Columns = 2
    block.add_new(0x10, "SQ", Sequence([item]))


def generate(count: int, patients_count: int = 5, seed: int = 7) -> Iterator[Dataset]:
    """`count` instances spread over patients, studies (one modality each), and series."""
    people = patients(patients_count, seed)
    rnd = random.Random(seed)
    made = 0
    study_no = 0
    while made < count:
        patient = people[study_no % len(people)]
        modality = MODALITIES[study_no % len(MODALITIES)]
        study_date = date(2020, 1, 1) + timedelta(days=rnd.randrange(0, 5 * 365))
        for series_no in (1, 2):
            for instance_no in (1, 2, 3):
                if made >= count:
                    return
                yield instance(patient, study_no, series_no, instance_no, modality, study_date, seed)
                made += 1
        study_no += 1


SAMPLE_NAMES = ("ct", "mr", "rt_plan", "rt_dose", "rt_ss", "waveform", "overlay", "rgb_color", "palette_color", "jpeg2k", "ybr_color", "no_meta")


def sample_files() -> Iterator[tuple[str, Dataset]]:
    """pydicom's bundled example datasets (some cannot be stored, e.g. without SOP Instance UID)."""
    import pydicom.examples

    for name in SAMPLE_NAMES:
        try:
            yield name, getattr(pydicom.examples, name)
        except Exception:  # noqa: BLE001 - a sample missing from this pydicom version is skipped
            continue
