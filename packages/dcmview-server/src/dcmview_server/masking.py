"""``--mask``: hide patient identifiers in every response that shows them (display only).

- Patient name/ID, birth date, institution, station, other IDs, physicians, every person name
  (VR PN) and private tags are replaced; UIDs are pseudonymized consistently (same input →
  same ``2.25.…`` UID for the whole run, standard ``1.2.840.10008.`` UIDs kept); dates are
  shifted by a per-patient offset so intervals within a patient survive; paths are shown
  relative to the common input root.
- Pseudonyms are keyed by a random per-process secret: stable within a run, unlinkable across
  runs. Files on disk are never touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from typing import Any

# Keywords whose values are replaced outright.
IDENTIFYING_KEYWORDS = frozenset(
    {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientBirthTime",
        "PatientBirthName",
        "PatientMotherBirthName",
        "PatientAddress",
        "PatientTelephoneNumbers",
        "PatientTelecomInformation",
        "OtherPatientIDs",
        "OtherPatientNames",
        "OtherPatientIDsSequence",
        "IssuerOfPatientID",
        "MedicalRecordLocator",
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "InstitutionCodeSequence",
        "StationName",
        "ReferringPhysicianName",
        "ReferringPhysicianAddress",
        "ReferringPhysicianTelephoneNumbers",
        "PerformingPhysicianName",
        "NameOfPhysiciansReadingStudy",
        "OperatorsName",
        "PhysiciansOfRecord",
        "RequestingPhysician",
        "AccessionNumber",
        "StudyID",
        "DeviceSerialNumber",
        "AdmissionID",
        "PatientComments",
        "AdditionalPatientHistory",
        "MilitaryRank",
        "EthnicGroup",
        "Occupation",
        "RegionOfResidence",
        "CountryOfResidence",
    }
)
MASK_TEXT = "***"
_STANDARD_UID_ROOT = "1.2.840.10008."


class Masker:
    """Consistent pseudonyms for one server process."""

    def __init__(self, roots: Iterable[str], secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.root = common_root(roots)

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{kind}\0{value}".encode(), hashlib.sha256).digest()

    def uid(self, value: str | None) -> str | None:
        """A consistent pseudonymous UID (``2.25.<decimal>``); standard UIDs are kept."""
        if not value:
            return value
        value = value.strip().rstrip("\0")
        if value.startswith(_STANDARD_UID_ROOT):
            return value
        return "2.25." + str(int.from_bytes(self._digest("uid", value)[:16], "big"))

    def patient_id(self, value: str | None) -> str | None:
        """A consistent pseudonymous patient ID (``ANON-…``)."""
        if value is None:
            return None
        return "ANON-" + self._digest("pid", value).hex()[:10].upper()

    def day_offset(self, patient_key: str | None) -> int:
        """Days to shift this patient's dates by (between −3650 and −365, consistent)."""
        raw = int.from_bytes(self._digest("date", patient_key or "")[:4], "big")
        return -(365 + raw % 3286)

    def date(self, value: str | None, patient_key: str | None) -> str | None:
        """Shift a DICOM DA (``YYYYMMDD``) or the date part of a DT; masked if unparsable."""
        if not value:
            return value
        text = value.strip()
        try:
            day = dt.datetime.strptime(text[:8], "%Y%m%d").date()
        except ValueError:
            return MASK_TEXT
        shifted = day + dt.timedelta(days=self.day_offset(patient_key))
        return shifted.strftime("%Y%m%d") + text[8:]

    def path(self, path: str) -> str:
        """The path relative to the common input root (never absolute)."""
        try:
            rel = os.path.relpath(path, self.root)
        except ValueError:
            rel = os.path.basename(path)
        if rel.startswith(".."):
            rel = os.path.basename(path)
        return rel.replace(os.sep, "/")

    def label(self, patient_id: str | None, modality: str | None, date: str | None) -> str:
        """``PatientID · Modality · StudyDate`` from the masked values present."""
        parts = [p for p in (patient_id, modality, date) if p]
        return " · ".join(parts)

    # --- tag trees ---------------------------------------------------------------------------

    def tags(self, nodes: list[dict[str, Any]], patient_key: str | None) -> list[dict[str, Any]]:
        """A masked copy of a ``TagNode[]`` tree."""
        return [self.tag(node, patient_key) for node in nodes]

    def tag(self, node: dict[str, Any], patient_key: str | None) -> dict[str, Any]:
        """A masked copy of one ``TagNode`` (sequence items recursively)."""
        out = dict(node)
        value = node.get("value")
        keyword = node.get("keyword") or ""
        vr = node.get("vr") or ""
        if not isinstance(value, dict):
            return out
        vtype = value.get("type")
        if vtype == "sequence":
            if keyword in IDENTIFYING_KEYWORDS or keyword == "Private":
                out["value"] = {"type": "sequence", "items": [], "masked": True}
                return out
            items = value.get("items") or []
            new_value = dict(value)
            new_value["items"] = [self.tags(item, patient_key) for item in items]
            out["value"] = new_value
            return out
        if vtype == "binary" or vtype == "error":
            return out
        if (
            keyword in IDENTIFYING_KEYWORDS
            or keyword == "Private"
            or vr == "PN"
            or _is_private_tag(node)
        ):
            if keyword == "PatientID" and vtype == "string":
                out["value"] = {"type": "string", "value": self.patient_id(value.get("value"))}
            else:
                out["value"] = {"type": "string", "value": MASK_TEXT}
            return out
        if vr == "UI" and vtype == "string":
            out["value"] = {"type": "string", "value": _map_multi(value.get("value"), self.uid)}
            return out
        if vr in {"DA", "DT"} and vtype == "string":
            text = value.get("value")
            out["value"] = {
                "type": "string",
                "value": _map_multi(text, lambda v: self.date(v, patient_key)),
            }
            return out
        return out


def _is_private_tag(node: dict[str, Any]) -> bool:
    tag = str(node.get("tag") or "")
    # "(gggg,eeee)": odd group numbers are private.
    try:
        return int(tag[1:5], 16) % 2 == 1
    except ValueError:
        return False


def _map_multi(value: Any, fn: Any) -> Any:
    if not isinstance(value, str):
        return value
    return "\\".join(str(fn(part) or "") for part in value.split("\\"))


def common_root(paths: Iterable[str]) -> str:
    """The deepest directory containing every input path (a file's own directory if alone)."""
    dirs = []
    for p in paths:
        ap = os.path.abspath(p)
        dirs.append(ap if os.path.isdir(ap) else os.path.dirname(ap))
    if not dirs:
        return os.getcwd()
    try:
        return os.path.commonpath(dirs)
    except ValueError:
        return os.path.sep
