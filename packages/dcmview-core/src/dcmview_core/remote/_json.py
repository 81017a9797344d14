"""DICOM JSON (PS3.18 F.2) to a pydicom `Dataset` of raw elements, quickly.

pydicom's `Dataset.from_json` converts and validates every value (and inspects the bulk data
handler's signature per element): ~10 ms per instance, most of a DICOMweb scan. Here each value
is encoded as Explicit VR Little Endian bytes in a `RawDataElement`, so pydicom converts only the
elements a reader touches, exactly as for a file read from disk. Sequences recurse; values sent
as ``BulkDataURI`` are left out (the scan never downloads bulk data).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from typing import Any

from pydicom.charset import convert_encodings, encode_string
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag

_NUMBERS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}
_CHARSET_VRS = frozenset({"SH", "LO", "ST", "LT", "UC", "UT", "PN"})
_BINARY = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def _text(value: Any, vr: str) -> str:
    if value is None:
        return ""
    if vr == "PN" and isinstance(value, dict):
        groups = [value.get(k) or "" for k in ("Alphabetic", "Ideographic", "Phonetic")]
        return "=".join(groups).rstrip("=")
    return str(value)


def _encode(vr: str, values: Sequence[Any], encodings: Sequence[str]) -> bytes:
    if vr in _NUMBERS:
        kind = _NUMBERS[vr]
        return struct.pack(f"<{len(values)}{kind}", *values)
    if vr == "AT":
        out = bytearray()
        for value in values:
            tag = int(str(value), 16)
            out += struct.pack("<HH", tag >> 16, tag & 0xFFFF)
        return bytes(out)
    text = "\\".join(_text(v, vr) for v in values)
    data = encode_string(text, encodings) if vr in _CHARSET_VRS else text.encode("latin-1")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return data


def dataset_from_json(item: dict[str, Any], encodings: Sequence[str] | None = None) -> Dataset:
    """The dataset of one DICOM JSON object (raw elements; sequences as item datasets)."""
    ds = Dataset()
    if encodings is None:
        charset = (item.get("00080005") or {}).get("Value")
        encodings = convert_encodings(charset)
    for key, element in item.items():
        if not isinstance(element, dict) or "BulkDataURI" in element:
            continue
        tag = int(key, 16)
        vr = str(element.get("vr") or "UN")
        if vr == "SQ":
            items = [  # an item may name its own character set (PS3.5 6.1.2.5.2)
                dataset_from_json(i, None if "00080005" in i else encodings)
                for i in element.get("Value") or []
            ]
            ds[tag] = DataElement(tag, "SQ", DicomSequence(items))
            continue
        if "InlineBinary" in element:
            value = base64.b64decode(element["InlineBinary"])
            value += b"\x00" * (len(value) % 2)
        elif vr in _BINARY:
            value = b""
        else:
            value = _encode(vr, element.get("Value") or [], encodings)
        raw = RawDataElement(BaseTag(tag), vr, len(value), value, 0, False, True, True, False)
        ds[tag] = raw
    ds.set_original_encoding(False, True, list(encodings))
    return ds
