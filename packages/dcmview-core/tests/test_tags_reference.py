"""The tag preview equals a reference renderer byte for byte, on every file pydicom bundles and
on hostile headers (deep sequences, bad character sets, deferred values, private tags, AT,
ambiguous VRs, DS/IS that are not numbers, odd lengths, UN, unknown VRs).

The reference is the preview as it was rendered before the fast path: every element through
plain ``Dataset.__getitem__`` (pydicom's own conversion, ambiguous-VR correction and private
creator lookup), written out here independently of `dcmview_core.tags`' renderer. Both read the
header with the same reader (`tags._read`), which this comparison does not cover.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_charset_files, get_testdata_files
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from dcmview_core import _header, tags
from dcmview_core.errors import TagReadError

UNDEFINED = 0xFFFFFFFF
BINARY = {"OB", "OW", "OD", "OF", "OL", "OV", "UN", "OB or OW", "US or OW"}
INTS = {"US", "SS", "UL", "SL", "SV", "UV", "US or SS", "US or SS or OW"}
FLOATS = {"FL", "FD"}

# ---------------------------------------------------------------------------------------------
# the reference renderer (plain Dataset access, element by element)


def _text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _vr(vr: Any, tag: int | None = None) -> str:
    if not vr:
        try:
            return str(dictionary_VR(tag)) if tag is not None else "UN"
        except KeyError:
            return "UN"
    return str(getattr(vr, "value", vr))


def _keyword(tag: BaseTag) -> str:
    if tag.element == 0:
        return keyword_for_tag(tag) or "GenericGroupLength"
    if tag.is_private:
        return "Private"
    return keyword_for_tag(tag) or ""


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, MultiValue | list | tuple) else [value]


def _number(value: Any, vr: str) -> int | float | None:
    if vr in FLOATS or vr == "DS":
        number = float(value)
        return number if math.isfinite(number) else None
    return int(value)


def _paged(out: dict[str, Any], offset: int, shown: int, total: int) -> dict[str, Any]:
    if offset:
        out["offset"] = offset
    if offset or offset + shown < total:
        out["truncated"] = offset + shown < total
        out["total"] = total
    return out


def _value(vr: str, value: Any, depth: int, offset: int, limit: int | None) -> dict[str, Any]:
    if vr == "SQ":
        if depth >= tags.MAX_DEPTH:
            message = f"sequence nested deeper than {tags.MAX_DEPTH} levels; select it by path"
            return {"type": "error", "message": message}
        page = value[offset : offset + (tags.MAX_ITEMS if limit is None else limit)]
        out = {"type": "sequence", "items": [reference_nodes(item, depth + 1) for item in page]}
        return _paged(out, offset, len(page), len(value))
    if vr in BINARY or isinstance(value, bytes | bytearray):
        return {"type": "binary", "length": len(value) if value is not None else 0}
    if value is None or value == "":
        return {"type": "string", "value": ""}
    if vr in INTS or vr in FLOATS or vr in ("IS", "DS"):
        try:
            numbers = [_number(v, vr) for v in _values(value)]
        except (TypeError, ValueError, OverflowError):
            numbers = [None]
        if None not in numbers:
            if len(numbers) == 1 and offset == 0:
                return {"type": "number", "value": numbers[0]}
            page = numbers[offset : offset + (tags.MAX_NUMBERS if limit is None else limit)]
            return _paged({"type": "numbers", "value": page}, offset, len(page), len(numbers))
    if vr == "AT":
        return {"type": "string", "value": "\\".join(_text(int(t)) for t in _values(value))}
    return {"type": "string", "value": "\\".join(str(v) for v in _values(value))}


def reference_node(
    ds: Dataset, raw: Any, depth: int, offset: int = 0, limit: int | None = None
) -> dict[str, Any]:
    """One element rendered through ``ds[tag]`` (``limit`` None: the preview)."""
    tag = BaseTag(raw.tag)
    node: dict[str, Any] = {"tag": _text(tag), "vr": _vr(raw.VR, tag), "keyword": _keyword(tag)}
    if isinstance(raw, RawDataElement) and raw.value is None and raw.length != UNDEFINED:
        node["value"] = {"type": "binary", "length": int(raw.length)}
        return node
    try:
        elem = ds[tag]
        node["vr"] = _vr(elem.VR)
        if tag.is_private and not tag.is_private_creator:
            creator = getattr(elem, "private_creator", None)
            if creator:  # one string, as written: a backslash splits LO into values
                values = creator if isinstance(creator, list | MultiValue) else [creator]
                node["private_creator"] = "\\".join(str(v) for v in values)
        length = getattr(raw, "length", None)
        if isinstance(length, int) and length != UNDEFINED and length > tags.MAX_VALUE_BYTES:
            node["value"] = {"type": "binary", "length": length}
        else:
            node["value"] = _value(elem.VR, elem.value, depth, offset, limit)
    except RecursionError:
        node["value"] = {"type": "error", "message": "sequence nested too deeply to decode"}
    except Exception as error:
        node["value"] = {"type": "error", "message": f"{type(error).__name__}: {error}"}
    return node


def reference_nodes(ds: Dataset, depth: int = 0) -> list[dict[str, Any]]:
    """Every element of *ds* rendered through ``ds[tag]``."""
    try:
        elements = [ds.get_item(t, keep_deferred=True) for t in sorted(ds.keys())]
    except Exception as error:
        return [
            {"tag": "", "vr": "", "keyword": "", "value": {"type": "error", "message": str(error)}}
        ]
    return [reference_node(ds, raw, depth) for raw in elements]


def reference_tree(path: str | Path) -> list[dict[str, Any]]:
    """The preview of *path* as the reference renders it."""
    ds, pixel = tags._read(path)
    with _header.quiet_pydicom():
        nodes: list[dict[str, Any]] = []
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            nodes.extend(reference_nodes(meta))
        nodes.extend(reference_nodes(ds))
    deep: list[dict[str, Any]] = getattr(ds, "deep_nodes", [])
    if deep:
        nodes = sorted([*nodes, *deep], key=lambda n: (n["tag"][1:5] != "0002", n["tag"]))
    if pixel is not None:
        nodes.append(pixel)
    return nodes


def dumped(nodes: Any) -> str:
    """The API's encoding (`responses.json_bytes`): compact, no NaN, 1 and 1.0 differ."""
    return json.dumps(nodes, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# ---------------------------------------------------------------------------------------------
# hostile headers, written byte by byte

LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT"}
LONG_VRS |= {b"UV"}
EXPLICIT_LE = b"1.2.840.10008.1.2.1\x00"
IMPLICIT_LE = b"1.2.840.10008.1.2\x00"
EXPLICIT_BE = b"1.2.840.10008.1.2.2\x00"


def ex(tag: int, vr: bytes, value: bytes, order: str = "<") -> bytes:
    """One explicit-VR element."""
    head = struct.pack(order + "HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in LONG_VRS:
        return head + b"\0\0" + struct.pack(order + "L", len(value)) + value
    return head + struct.pack(order + "H", len(value)) + value


def im(tag: int, value: bytes) -> bytes:
    """One implicit-VR little-endian element."""
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(value)) + value


def item(body: bytes) -> bytes:
    return b"\xfe\xff\x00\xe0" + struct.pack("<L", len(body)) + body


def undefined_sq_ex(tag: int, items: Iterable[bytes]) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"SQ\0\0\xff\xff\xff\xff"
    return head + b"".join(items) + b"\xfe\xff\xdd\xe0\0\0\0\0"


def undefined_sq_im(tag: int, items: Iterable[bytes]) -> bytes:
    head = struct.pack("<HHL", tag >> 16, tag & 0xFFFF, UNDEFINED)
    return head + b"".join(items) + b"\xfe\xff\xdd\xe0\0\0\0\0"


def part10(syntax: bytes, body: bytes) -> bytes:
    meta = ex(0x00020001, b"OB", b"\x00\x01") + ex(0x00020010, b"UI", syntax)
    meta = ex(0x00020000, b"UL", struct.pack("<L", len(meta))) + meta
    return bytes(128) + b"DICM" + meta + body


def _f32(*values: float, order: str = "<") -> bytes:
    return struct.pack(f"{order}{len(values)}f", *values)


def _f64(*values: float, order: str = "<") -> bytes:
    return struct.pack(f"{order}{len(values)}d", *values)


def explicit_hostile() -> bytes:
    gems_acqu = item(
        ex(0x00080005, b"CS", b"ISO_IR 144")
        + ex(0x00090010, b"LO", b"GEMS_ACQU_01")
        + ex(0x00091025, b"UN", b"\x07\x00")  # UN, known private VR (US)
        + ex(0x00091024, b"UN", b"2.5 ")  # UN, known private VR (DS)
        + ex(0x00100010, b"PN", "Люкceмбypг".encode("iso8859_5"))
        + ex(0x00280106, b"US", b"\x05\x00")
    )
    lut_item = item(
        ex(0x00283002, b"SS", struct.pack("<3h", -1, 0, 16))  # LUT descriptor fix
        + ex(0x00283006, b"OW", b"\x01\x00\x02\x00")
    )
    body = (
        ex(0x00080000, b"UL", struct.pack("<L", 200))
        + ex(0x00080005, b"CS", b"ISO_IR 100")
        + ex(0x00080008, b"CS", b"ORIGINAL\\PRIMARY\\ ")
        + ex(0x00080016, b"UI", b"1.2.3\x00")
        + ex(0x00080018, b"UI", b" 1.2.3.4\\5.6 \x00")
        + ex(0x00080020, b"DA", b"")
        + ex(0x00080021, b"DA", b"20200101\x00")
        + ex(0x0008002A, b"DT", b"20200101120000\x00\x00")
        + ex(0x00080031, b"TM", b"1200 \x00 ")
        + ex(0x00080064, b"CS", b"WSD\x00")
        + ex(0x00080060, b"CS", b"CT")
        + ex(0x00089459, b"FL", _f32(float("nan")))
        + ex(0x00090000, b"UL", struct.pack("<L", 40))
        + ex(0x00090001, b"LO", b"outside any block")
        + ex(0x00090010, b"LO", b"ACME 1.0")
        + ex(0x00090011, b"LO", b"")
        + ex(0x00091001, b"LO", b"private text \x00")
        + ex(0x00091002, b"US", b"\x01\x00\x02\x00")
        + ex(0x00091003, b"SQ", item(ex(0x00100020, b"LO", b"inner")))
        + ex(0x00091101, b"LO", b"empty creator")
        + ex(0x00110000, b"UL", b"\x01\x02\x03")  # a group length that fails to convert ...
        + ex(0x00110001, b"LO", b"before the blocks")  # ... fails this (its "creator") ...
        + ex(0x00110010, b"LO", b"CREATOR ")  # ... this creator element and its block
        + ex(0x00111001, b"LO", b"x")
        + ex(0x00111002, b"FD", _f64(2.5, 3.5))
        + ex(0x00100010, b"PN", "Müller^Jörg=ミュラー".encode("latin-1", "replace"))
        + ex(0x00100020, b"UN", b"PID-7 ")  # UN, known public tag
        + ex(0x00100030, b"DA", b"19700101")
        + ex(0x00101000, b"LO", b"a \x00\\ b  \\\x00")
        + ex(0x00101001, b"SH", b"  lead\\")
        + ex(0x00101002, b"UC", b"\xe9t\xe9 \\x")
        + ex(0x00104000, b"LT", b"text\\more\r\n  \x00")
        + ex(0x00102000, b"ST", b"\x00")
        + ex(0x00101010, b"AS", b"030Y")
        + ex(0x00180015, b"CS", b" HEAD ")
        + ex(0x00180020, b"CS", b"A\x00\\B ")
        + ex(0x00180050, b"DS", b"abc ")
        + ex(0x00180060, b"DS", b"1e999 ")
        + ex(0x00180088, b"DS", b"nan ")
        + ex(0x00181150, b"IS", b"1.5 ")
        + ex(0x00181151, b"IS", b"99999999999999999999")
        + ex(0x00181152, b"IS", b"+5")
        + ex(0x00189087, b"FD", _f64(float("inf")))
        + ex(0x00189089, b"FD", _f64(1.0, -0.0, 2.5))
        + ex(0x00200011, b"IS", b" 12 ")
        + ex(0x00200032, b"DS", b"1\\x\\3 ")
        + ex(0x00200037, b"DS", b"1\\0\\0\\0\\1\\0")
        + ex(0x00201041, b"DS", b"  12 ")
        + ex(0x00209056, b"SH", b"")
        + ex(0x00209057, b"UL", b"")
        + ex(0x00209128, b"UL", b"\x01\x00\x00\x00")
        + ex(0x00209153, b"FD", _f64(0.5))
        + ex(0x00209154, b"FL", b"")
        + ex(0x00209155, b"DS", b" +1.5e-3\\-.5 \x00")
        + ex(0x00209156, b"DS", b"1.\\.5\\1 \\ 2")
        + ex(0x00209157, b"DS", b"1_0")
        + ex(0x00209158, b"DS", b"\xa01.5\x1f")
        + ex(0x00209159, b"DS", b"0x10")
        + ex(0x0020915A, b"DS", b"1e5\x00\x00")
        + ex(0x0020915B, b"DS", b"1\\")
        + ex(0x0020915C, b"DS", b"\x00")
        + ex(0x0020915D, b"DS", b"-0")
        + ex(0x0020915E, b"DS", b"12345678901234567890")
        + ex(0x0020915F, b"DS", b"Infinity")
        + ex(0x00209165, b"AT", b"\x18\x00\x63\x10\x20\x00\x32\x00")
        + ex(0x00280009, b"AT", b"\x18\x00\x63\x10")
        + ex(0x0028000A, b"AT", b"\x18\x00\x63")  # AT of 3 bytes
        + ex(0x00280010, b"US", b"\x40\x00")
        + ex(0x00280011, b"US", b"\x01\x02\x03")  # odd length
        + ex(0x00280103, b"US", b"\x01\x00")
        + ex(0x00280106, b"SS", b"\xff\xff")
        + ex(0x00281050, b"DS", b"40\\x")
        + ex(0x00281052, b"DS", b"-1024")
        + ex(0x00281101, b"US", struct.pack("<3H", 0, 0, 16))
        + ex(0x00283000, b"SQ", lut_item)
        + ex(0x00290010, b"LO", b"SIEMENS CSA HEADER")
        + ex(0x00291008, b"CS", b"IMAGE NUM 4")
        + ex(0x00291010, b"OB", b"\x00" * 7)
        + ex(0x00330010, b"LO", b"  ")
        + ex(0x00331001, b"LO", b"x")
        + ex(0x00400275, b"SQ", gems_acqu + item(b""))
        + ex(0x00720060, b"AT", b"")
        + ex(0x00720064, b"IS", b"")
        + ex(0x00720072, b"DS", b"\\")
        + ex(0x00720074, b"FD", b"\x00" * 5)  # wrong length
        + ex(0x00720076, b"FL", _f32(*range(70)))
        + ex(0x00720078, b"UL", struct.pack("<2L", 1, 2**32 - 1))
        + ex(0x0072007C, b"SL", struct.pack("<l", -(2**31)))
        + ex(0x00720081, b"OV", b"\x01" * 16)
        + ex(0x00720082, b"SV", struct.pack("<2q", -1, 2**62))
        + ex(0x00720083, b"UV", struct.pack("<Q", 2**64 - 1))
        + ex(0x00089999, b"LO", b"unknown public tag")
        + ex(0x50000005, b"US", b"\x02\x00")  # repeater (curve)
        + ex(0x60000010, b"US", b"\x40\x00")
        + ex(0x60003000, b"OW", b"\x00\x00" * 8)
    )
    return part10(EXPLICIT_LE, body)


def implicit_hostile() -> bytes:
    cyrillic = item(
        im(0x00080005, b"ISO_IR 144")
        + im(0x00100010, "Люкceмбypг".encode("iso8859_5"))
        + im(0x00280106, b"\xff\xff")  # US or SS: the parent's Pixel Representation decides
        + undefined_sq_im(0x00283000, [item(im(0x00283002, struct.pack("<3H", 0xFFFF, 0, 16)))])
    )
    body = (
        im(0x00080000, struct.pack("<L", 100))
        + im(0x00080005, b"ISO_IR 192")
        + im(0x00080008, b"DERIVED\\SECONDARY")
        + im(0x00080016, b"1.2.3\x00")
        + im(0x00080060, b"MR")
        + im(0x00081140, item(im(0x00081155, b"1.2.3.4\x00")) + cyrillic)
        + im(0x00089999, b"unknown public")
        + im(0x00090000, struct.pack("<L", 24))
        + im(0x00090010, b"GEMS_ACQU_01")
        + im(0x00091024, b"3.25")  # known private VR: DS
        + im(0x00091025, b"\x09\x00")  # known private VR: US
        + im(0x00091099, b"\x01\x02")  # not in the private dictionary: UN
        + im(0x00100010, b"Bad^\xff\xfeUTF8")
        + im(0x00100020, b"PID")
        + im(0x00111001, b"no creator")
        + im(0x00180050, b"1.5")
        + im(0x00200032, b"1\\2\\x")
        + im(0x00280009, b"\x18\x00\x63\x10")
        + im(0x00280010, b"\x10\x00")
        + im(0x00280103, b"\x01\x00")
        + im(0x00280106, b"\xff\xff")
        + im(0x00280107, b"\x00\x80")
        + im(0x00281101, struct.pack("<3H", 0xFFFF, 0, 16))
        + im(0x00281201, b"\x01\x00" * 4)
        + undefined_sq_im(
            0x00283000,
            [item(im(0x00283002, struct.pack("<3H", 0xFFFF, 0, 16)) + im(0x00283006, b"\x01\0"))],
        )
        + im(0x00430010, b"GEMS_PARM_01")
        + im(0x00431001, b"\xfe\xff")
        + im(0x50000005, b"\x02\x00")
        + im(0x60000010, b"\x40\x00")
        + im(0x60003000, b"\x00" * 8)
    )
    return part10(IMPLICIT_LE, body)


def big_endian() -> bytes:
    body = (
        ex(0x00080005, b"CS", b"ISO_IR 100", ">")
        + ex(0x00080016, b"UI", b"1.2.3\x00", ">")
        + ex(0x00180050, b"DS", b"2.5 ", ">")
        + ex(0x00209165, b"AT", b"\x00\x18\x10\x63", ">")
        + ex(0x00280010, b"US", b"\x00\x40", ">")
        + ex(0x00280106, b"SS", b"\xff\xfe", ">")
        + ex(0x00720076, b"FL", _f32(1.5, -2.0, order=">"), ">")
        + ex(0x00720078, b"UL", struct.pack(">L", 7), ">")
    )
    return part10(EXPLICIT_BE, body)


def bad_charsets() -> dict[str, bytes]:
    def with_charset(charset: bytes, name: bytes) -> bytes:
        body = (
            ex(0x00080005, b"CS", charset)
            + ex(0x00080016, b"UI", b"1.2.3\x00")
            + ex(0x00080060, b"CS", b"OT")
            + ex(0x00081030, b"LO", name)
            + ex(0x00100010, b"PN", name)
            + ex(0x00321060, b"LO", b"\x1b$B;3ED\x1b(B")
        )
        return part10(EXPLICIT_LE, body)

    return {
        "charset_unknown.dcm": with_charset(b"ISO_IR 999", b"M\xfcller"),
        "charset_garbage.dcm": with_charset(b"\xff\xfe\x00", b"M\xfcller"),
        "charset_utf8_invalid.dcm": with_charset(b"ISO_IR 192", b"Bad\xff\xfe"),
        "charset_multi.dcm": with_charset(
            b"\\ISO 2022 IR 87", b"\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"
        ),
        "charset_empty_first.dcm": with_charset(b"\\ISO_IR 100", b"M\xfcller"),
        "charset_wrong_vr.dcm": with_charset(b"\x01\x00", b"M\xfcller").replace(
            b"\x08\x00\x05\x00CS", b"\x08\x00\x05\x00US"
        ),
        "charset_odd_length.dcm": with_charset(b"\x01\x00\x02", b"M\xfcller").replace(
            b"\x08\x00\x05\x00CS", b"\x08\x00\x05\x00US"
        ),
    }


def unknown_vr() -> bytes:
    body = (
        ex(0x00080016, b"UI", b"1.2.3\x00")
        + ex(0x00080060, b"zz", b"CT")
        + ex(0x00100010, b"PN", b"Doe^John")
    )
    return part10(EXPLICIT_LE, body)


def deferred() -> dict[str, bytes]:
    big = 1024 * 1024 + 2
    explicit = (
        ex(0x00080016, b"UI", b"1.2.3\x00")
        + ex(0x00081030, b"LO", b"x" * 64)
        + ex(0x00189999, b"OB", b"\x01" * big)
        + ex(0x00204000, b"UT", b"y" * big)
        + ex(0x00400275, b"SQ", item(ex(0x00189999, b"OB", b"\x02" * big)))
        + ex(0x00420011, b"OB", b"\x03" * (big - 4))  # just under the limit: shown
    )
    implicit = (
        im(0x00080016, b"1.2.3\x00")
        + im(0x00204000, b"z" * big)
        + im(0x00283006, b"\x01\x00" * (big // 2))  # US or OW, deferred
        + im(0x00400275, item(im(0x00204000, b"w" * big)))
    )
    return {
        "deferred_explicit.dcm": part10(EXPLICIT_LE, explicit),
        "deferred_implicit.dcm": part10(IMPLICIT_LE, implicit),
    }


def deep_nesting(depth: int) -> bytes:
    body = b"\x08\x00\x16\x00\x06\x00\x00\x001.2.3\x00"
    body += b"\x08\x00\x60\x00\x02\x00\x00\x00OT"
    opening = b"\x40\x00\x30\xa7\xff\xff\xff\xff\xfe\xff\x00\xe0\xff\xff\xff\xff"
    closing = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    return part10(IMPLICIT_LE, body + opening * depth + closing * depth)


def generated(folder: Path) -> list[Path]:
    """Write the datasets pydicom can write (long values, many items, private blocks)."""
    ds = Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Ünïcode^Ñame"
    ds.FrameTimeVector = [float(i) / 3 for i in range(100)]
    ds.add_new(0x00091010, "LO", "ACME 1.0")
    ds.add_new(0x00091001, "LO", "invalid: no creator block")
    ds.add_new(0x00290010, "LO", "ACME")
    ds.add_new(0x00291001, "US", [7] * 70)
    ds.ReferencedImageSequence = [Dataset() for _ in range(20)]
    for i, entry in enumerate(ds.ReferencedImageSequence):
        entry.ReferencedSOPInstanceUID = f"1.2.3.{i}"
        entry.add_new(0x00090010, "LO", "ITEM CREATOR")
        entry.add_new(0x00091001, "DS", str(i))
    ds.add_new(0x00189999, "OB", b"\x01\x02\x03\x04")
    ds.add_new(0x00204000, "LT", "x" * 100)
    paths = []
    for syntax, name in (
        (pydicom.uid.ExplicitVRLittleEndian, "generated_explicit.dcm"),
        (pydicom.uid.ImplicitVRLittleEndian, "generated_implicit.dcm"),
        (pydicom.uid.ExplicitVRBigEndian, "generated_big.dcm"),
    ):
        ds.file_meta.TransferSyntaxUID = syntax
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_hostile(folder: Path) -> list[Path]:
    """Every hostile fixture written into *folder*."""
    files: dict[str, bytes] = {
        "explicit_hostile.dcm": explicit_hostile(),
        "implicit_hostile.dcm": implicit_hostile(),
        "big_endian.dcm": big_endian(),
        "unknown_vr.dcm": unknown_vr(),
        "deep_3000.dcm": deep_nesting(3000),
        "deep_80.dcm": deep_nesting(80),
        "no_preamble.dcm": explicit_hostile()[132:],
        **bad_charsets(),
        **deferred(),
    }
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths + generated(folder)


# ---------------------------------------------------------------------------------------------
# the comparisons


def bundled_files() -> list[str]:
    names = sorted(set(get_testdata_files()) | set(get_charset_files()))
    return [n for n in names if Path(n).is_file()]


def _tree_or_error(render: Any, path: str | Path) -> str:
    try:
        return dumped(render(path))
    except TagReadError as error:
        return f"TagReadError: {error}"


def test_every_bundled_file_matches_the_reference() -> None:
    files = bundled_files()
    assert len(files) > 150  # pydicom's test and character set files
    differing = [
        f for f in files if _tree_or_error(tags.tag_tree, f) != _tree_or_error(reference_tree, f)
    ]
    assert differing == []


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_hostile(tmp_path_factory.mktemp("hostile"))


def test_hostile_headers_match_the_reference(hostile: list[Path]) -> None:
    for path in hostile:
        assert _tree_or_error(tags.tag_tree, path) == _tree_or_error(reference_tree, path), (
            path.name
        )


def test_the_hostile_headers_reach_what_they_are_for(hostile: list[Path]) -> None:
    """The fixtures exercise the cases they name (else the comparison proves little)."""
    unreadable = {"charset_wrong_vr.dcm", "charset_odd_length.dcm"}  # pydicom fails the read
    by_name = {p.name: tags.tag_tree(p) for p in hostile if p.name not in unreadable}

    def value(name: str, tag: str, nodes: list[dict[str, Any]] | None = None) -> Any:
        found = [n for n in (nodes or by_name[name]) if n["tag"] == tag]
        assert len(found) == 1, (name, tag)
        return found[0]

    explicit = "explicit_hostile.dcm"
    assert value(explicit, "(0010,0020)")["vr"] == "LO"  # UN replaced by the dictionary VR
    assert value(explicit, "(0018,0050)")["value"] == {"type": "string", "value": "abc"}
    assert value(explicit, "(0018,0060)")["value"]["type"] == "string"  # 1e999: not finite
    assert value(explicit, "(0028,0011)")["value"]["type"] == "error"  # odd length
    assert value(explicit, "(0020,9165)")["value"] == {
        "type": "string",
        "value": "(0018,1063)\\(0020,0032)",
    }
    assert value(explicit, "(0009,1001)")["private_creator"] == "ACME 1.0"
    for failed in ("(0011,0001)", "(0011,0010)", "(0011,1002)"):  # pydicom: the block fails
        assert value(explicit, failed)["value"]["type"] == "error"
    lut = value(explicit, "(0028,3000)")["value"]["items"][0]
    assert value(explicit, "(0028,3002)", lut)["value"]["value"][0] == 65535
    implicit = "implicit_hostile.dcm"
    assert value(implicit, "(0028,0106)") == {
        "tag": "(0028,0106)",
        "vr": "SS",
        "keyword": "SmallestImagePixelValue",
        "value": {"type": "number", "value": -1},
    }
    assert value(implicit, "(0009,1024)")["vr"] == "DS"  # from the private dictionary
    assert value(implicit, "(0009,1099)")["vr"] == "UN"
    russian = value(implicit, "(0008,1140)")["value"]["items"][1]
    assert value(implicit, "(0010,0010)", russian)["value"]["value"] == "Люкceмбypг"
    assert value(implicit, "(0028,0106)", russian)["vr"] == "SS"
    assert value("deep_3000.dcm", "(0040,A730)")["value"]["type"] == "error"
    assert value("deferred_explicit.dcm", "(0020,4000)")["value"]["type"] == "binary"
    assert value("deferred_implicit.dcm", "(0028,3006)")["value"]["type"] == "binary"
    assert value("charset_multi.dcm", "(0010,0010)")["value"]["value"] == "山田^太郎"
    for name in unreadable:
        with pytest.raises(TagReadError):
            tags.tag_tree(next(p for p in hostile if p.name == name))


def test_the_reference_can_tell_a_difference(hostile: list[Path]) -> None:
    """The comparison is not vacuous: a changed renderer differs from the reference."""
    path = next(p for p in hostile if p.name == "explicit_hostile.dcm")
    nodes = tags.tag_tree(path)
    nodes[0]["value"] = {"type": "number", "value": float(nodes[0]["value"]["value"])}
    assert dumped(nodes) != dumped(reference_tree(path))


def _selectable(path: Path) -> list[tuple[str, int]]:
    """Top-level dataset elements with several values or items: ``(tag text, count)``."""
    found = []
    for node in tags.tag_tree(path):
        value = node["value"]
        if node["tag"][1:5] == "0002" or value["type"] not in ("sequence", "numbers"):
            continue
        count = len(value["items"] if value["type"] == "sequence" else value["value"])
        if count > 1:
            found.append((node["tag"], value.get("total", count)))
    return found


def test_selected_elements_match_the_reference(hostile: list[Path]) -> None:
    """`select_tag` pages items and values with the same renderer: compare its pages too."""
    paths = [Path(p) for p in bundled_files() if p.endswith(".dcm")][::3] + hostile
    compared = 0
    for path in paths:
        try:
            selectable = _selectable(path)
        except TagReadError:
            continue
        for tag_text, total in selectable[:4]:
            for offset, limit in ((0, 64), (1, 2), (max(total - 1, 0), 5)):
                ds, _ = tags._read(path)
                with _header.quiet_pydicom():
                    raw = ds.get_item(int(tag_text[1:5] + tag_text[6:10], 16), keep_deferred=True)
                    expected = dumped(reference_node(ds, raw, 0, offset, limit))
                got = dumped(tags.select_tag(path, tag_text, offset=offset, limit=limit))
                assert got == expected, (path.name, tag_text, offset, limit)
                compared += 1
    assert compared > 50
