"""The tag tree: a file's header as JSON-ready `TagNode` dicts (``spec/api.md``, TagNode).

`tag_tree` gives the preview: every element of the File Meta Information and the dataset,
numeric arrays cut after 64 values and sequences after 16 items (``truncated``/``total``),
binary and bulk values as their length only. `select_tag` gives one element by tag path
(``(0008,1140)/0/(0008,1155)``) with its items or values paged by ``offset``/``limit``.

Only the header is read (``stop_before_pixels`` and deferred large values), so a 1 GB
multi-frame file costs what a small one does. Text is decoded with the Specific Character
Set; a value that fails to decode becomes an ``error`` node without failing the rest.

Rendering converts each public element with pydicom's value converters directly (the
commonest VRs straight from their bytes) and leaves to ``Dataset.__getitem__`` only what needs
the dataset (private creators, ambiguous VRs, sequences, failures): the fast path below.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Iterable
from typing import Any

from pydicom import config, valuerep
from pydicom.charset import default_encoding
from pydicom.datadict import (
    dictionary_VR,
    keyword_for_tag,
    private_dictionary_VR,
    tag_for_keyword,
)
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info, read_dataset
from pydicom.hooks import hooks, raw_element_value, raw_element_vr
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag
from pydicom.valuerep import AMBIGUOUS_VR, DSfloat
from pydicom.values import convert_value

from dcmview_core import _header
from dcmview_core._header import UNDEFINED
from dcmview_core.dataset import open_dataset
from dcmview_core.errors import PixelError, TagNotFound, TagReadError, UsageError
from dcmview_core.model import display_path
from dcmview_core.source import ByteSource, as_file, close_source, open_source

TagNode = dict[str, Any]

MAX_NUMBERS = 64
"""Numeric values shown in the preview before ``truncated``/``total``."""
MAX_ITEMS = 16
"""Sequence items shown in the preview before ``truncated``/``total``."""
MAX_VALUE_BYTES = 1024 * 1024
"""Values longer than this are shown as ``binary`` (length only) and never read."""
MAX_DEPTH = 64
"""Sequence nesting shown; deeper levels become an ``error`` node."""
MAX_LIMIT = 10_000

BINARY_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN", "OB or OW", "US or OW"})
INT_VRS = frozenset({"US", "SS", "UL", "SL", "SV", "UV", "US or SS", "US or SS or OW"})
FLOAT_VRS = frozenset({"FL", "FD"})
PIXEL_KEYWORDS = {
    0x7FE00008: "FloatPixelData",
    0x7FE00009: "DoubleFloatPixelData",
    0x7FE00010: "PixelData",
}


# ---------------------------------------------------------------------------------------------
# reading


def _read(path: str | os.PathLike[str]) -> tuple[Dataset, TagNode | None]:
    """The header dataset and the pixel data node (read from the element header only)."""
    name = os.fspath(path)
    try:
        source = open_source(name)
    except PixelError:
        raise  # a source's upstream failure passes through (the server answers 502)
    except (OSError, UsageError) as error:
        detail = getattr(error, "strerror", None) or str(error)
        raise TagReadError(f"cannot read the header of {display_path(name)}: {detail}") from None
    try:
        with _header.quiet_pydicom():
            try:
                return _read_open(source)
            except RecursionError:
                return _read_in_pieces(source)
    except (TagReadError, PixelError):
        raise
    except RecursionError:
        raise TagReadError(
            f"cannot read the header of {display_path(name)}: nested too deeply"
        ) from None
    except Exception as error:  # hostile input: pydicom raises many kinds
        raise TagReadError(
            f"cannot read the header of {display_path(name)}: {type(error).__name__}: {error}"
        ) from None
    finally:
        close_source(source)


def _read_open(source: ByteSource) -> tuple[Dataset, TagNode | None]:
    held = getattr(source, "header_dataset", None)
    if held is not None:  # the source holds the header already (DICOMweb metadata)
        return held(), None
    opened = open_dataset(source, defer_size=MAX_VALUE_BYTES)
    pixel = opened.pixel
    if pixel is None:
        return opened.dataset, None
    start, length = pixel.value_offset, pixel.length
    if length == UNDEFINED or start + length > source.size:
        length = max(0, source.size - start)
    vr = "OB" if pixel.tag == 0x7FE00010 else ("OF" if pixel.tag == 0x7FE00008 else "OD")
    node = {
        "tag": _tag_text(pixel.tag),
        "vr": vr,
        "keyword": PIXEL_KEYWORDS[pixel.tag],
        "value": {"type": "binary", "length": length},
    }
    return opened.dataset, node


DEEP_SEQUENCE = 64
"""Top-level sequences nested deeper than this are not parsed when pydicom cannot recurse."""


def _read_in_pieces(source: ByteSource) -> tuple[Dataset, TagNode | None]:
    """Read a file whose sequences nest too deeply for pydicom's recursive reader.

    The top-level layout is found iteratively; elements around the deep sequences are read
    by pydicom piece by piece, and each deep sequence becomes an ``error`` node.
    """
    found = _header.layout(source)
    if found is None:
        raise RecursionError
    fp = as_file(source)
    fp.seek(128 + 4)
    ds = Dataset()
    ds.file_meta = _read_file_meta_info(fp)
    ds.set_original_encoding(not found.explicit, True)
    deep: list[TagNode] = []
    encoding: Any = None
    start: int | None = None
    pieces: list[tuple[int, int]] = []
    for tag, begin, _end, depth in found.elements:
        if depth > DEEP_SEQUENCE:
            if start is not None:
                pieces.append((start, begin))
                start = None
            deep.append(
                {
                    "tag": _tag_text(tag),
                    "vr": "SQ",
                    "keyword": _keyword(tag),
                    "value": _error(f"sequence nested {depth} levels deep: not shown"),
                }
            )
        elif start is None:
            start = begin
    if start is not None and found.elements:
        pieces.append((start, found.elements[-1][2]))
    for begin, end in pieces:
        fp.seek(begin)
        part = read_dataset(
            fp,
            not found.explicit,
            True,
            bytelength=end - begin,
            defer_size=MAX_VALUE_BYTES,
            parent_encoding=encoding or "iso8859",
        )
        for raw in [part.get_item(t, keep_deferred=True) for t in sorted(part.keys())]:
            ds[raw.tag] = raw
        encoding = ds._character_set if "SpecificCharacterSet" in ds else None
    ds.deep_nodes = deep
    return ds, None


# ---------------------------------------------------------------------------------------------
# rendering


_TAG_TEXTS: dict[int, str] = {}
_KEYWORDS: dict[int, str] = {}
_DICTIONARY_VRS: dict[int, str | None] = {}
"""Per-tag lookups, memoized; each starts afresh past `MEMO_TAGS` tags (a hostile file may
hold many distinct private tags)."""
MEMO_TAGS = 1 << 16


def _memo(table: dict[int, Any], tag: int, value: Any) -> None:
    if len(table) >= MEMO_TAGS:
        table.clear()
    table[int(tag)] = value  # plain int keys: a BaseTag key would compare in Python


def _tag_text(tag: int) -> str:
    text = _TAG_TEXTS.get(tag)
    if text is None:
        text = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        _memo(_TAG_TEXTS, tag, text)
    return text


def _dictionary_vr(tag: int) -> str | None:
    """The dictionary's VR of a tag, None when the dictionary does not know it."""
    try:
        return _DICTIONARY_VRS[tag]
    except KeyError:
        pass
    try:
        vr: str | None = str(dictionary_VR(tag))
    except KeyError:
        vr = None
    _memo(_DICTIONARY_VRS, tag, vr)
    return vr


def _vr_text(vr: Any, tag: int | None = None) -> str:
    if not vr:
        if tag is None:
            return "UN"
        return _dictionary_vr(tag) or "UN"
    return str(getattr(vr, "value", vr))


def _error(message: str) -> dict[str, Any]:
    return {"type": "error", "message": message}


def _paged(out: dict[str, Any], offset: int, shown: int, total: int) -> dict[str, Any]:
    """Add the paging fields: ``offset`` past the start, ``truncated``/``total`` when a part
    is left out (a value shown whole carries none, in the preview and in a select alike)."""
    if offset:
        out["offset"] = offset
    if offset or offset + shown < total:
        out["truncated"] = offset + shown < total
        out["total"] = total
    return out


def _numbers(values: list[Any], offset: int, limit: int) -> dict[str, Any]:
    if len(values) == 1 and offset == 0:
        return {"type": "number", "value": values[0]}
    page = values[offset : offset + limit]
    return _paged({"type": "numbers", "value": page}, offset, len(page), len(values))


def _as_number(value: Any, vr: str) -> int | float | None:
    if vr in FLOAT_VRS or vr == "DS":
        number = float(value)
        return number if math.isfinite(number) else None
    return int(value)


def _value_list(value: Any) -> list[Any]:
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


NUMBER_VRS = INT_VRS | FLOAT_VRS | {"IS", "DS"}


def _render_value(
    vr: str, value: Any, depth: int, offset: int, limit: int | None
) -> dict[str, Any]:
    """One element's value; *limit* None is the preview (64 numbers, 16 items)."""
    if vr == "SQ":
        return _sequence(value, depth, offset, MAX_ITEMS if limit is None else limit)
    if vr in BINARY_VRS or isinstance(value, bytes | bytearray):
        return {"type": "binary", "length": len(value) if value is not None else 0}
    if value is None or value == "":
        return {"type": "string", "value": ""}
    if vr in NUMBER_VRS:
        try:
            numbers = [_as_number(v, vr) for v in _value_list(value)]
        except (TypeError, ValueError, OverflowError):
            numbers = [None]
        if None not in numbers:
            return _numbers(numbers, offset, MAX_NUMBERS if limit is None else limit)
    if vr == "AT":
        return {
            "type": "string",
            "value": "\\".join(_tag_text(int(t)) for t in _value_list(value)),
        }
    if type(value) is str:
        return {"type": "string", "value": value}
    return {"type": "string", "value": "\\".join(str(v) for v in _value_list(value))}


def _sequence(items: Any, depth: int, offset: int, limit: int) -> dict[str, Any]:
    if depth >= MAX_DEPTH:
        return _error(f"sequence nested deeper than {MAX_DEPTH} levels; select it by path")
    page = items[offset : offset + limit]
    out = {"type": "sequence", "items": [_nodes(item, depth + 1) for item in page]}
    return _paged(out, offset, len(page), len(items))


def _raw_length(raw: Any) -> int | None:
    if isinstance(raw, RawDataElement):
        if raw.value is None and raw.length != UNDEFINED:
            return int(raw.length)  # deferred: never read
        return None
    return None


def _creator_text(creator: Any) -> str:
    """A private creator as one string (a value with a backslash reads as several)."""
    return "\\".join(str(v) for v in _value_list(creator))


def _keyword(tag: int) -> str:
    """The element's keyword; ``GenericGroupLength`` for a group length the dictionary does
    not name (``(0008,0000)``), ``Private`` for other private elements."""
    keyword = _KEYWORDS.get(tag)
    if keyword is None:
        if tag & 0xFFFF == 0x0000:
            keyword = keyword_for_tag(tag) or "GenericGroupLength"
        elif tag >> 16 & 1:
            keyword = "Private"
        else:
            keyword = keyword_for_tag(tag) or ""
        _memo(_KEYWORDS, tag, keyword)
    return keyword


# ---- the fast path: an element rendered as ``ds[tag]`` would give it, without ``ds[tag]`` --
#
# ``ds[tag]`` converts a raw element (`hooks.raw_element_vr`, then `hooks.raw_element_value`:
# `values.convert_value` with the dataset's character set, a LUT descriptor fix, UN after a
# wrong length), stores it back, corrects an ambiguous VR from the dataset's other elements,
# propagates the Pixel Representation into sequence items and looks up a private element's
# creator. For an element whose VR is known and unambiguous (a private one's explicit), only
# `convert_value` and the creator lookup apply: those elements (nearly all of a header) are
# rendered from `convert_value`'s result and the creator element's value, and the
# commonest VRs (binary numbers, CS-like strings, UI) straight from their bytes, as those
# converters would (without their validation warnings). Everything else, and any element whose
# conversion fails, takes ``ds[tag]`` (`_node`), so the output is the same byte for byte
# (tests/test_tags_reference.py).

SLOW_VRS = frozenset({"SQ", "UN"}) | {str(vr) for vr in AMBIGUOUS_VR}
"""VRs only ``Dataset.__getitem__`` converts right (items, UN replacement, ambiguity)."""
SPECIFIC_CHARACTER_SET = 0x00080005
LUT_DESCRIPTORS = frozenset({0x00281101, 0x00281102, 0x00281103, 0x00283002})
"""`hooks.raw_element_value` adjusts their first value: ``ds[tag]`` renders them."""
STRUCT_FORMATS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "SV": "q", "UV": "Q"}
STRUCT_FORMATS |= {"FL": "f", "FD": "d"}
STRUCT_SIZES = {fmt: struct.calcsize("=" + fmt) for fmt in STRUCT_FORMATS.values()}
PLAIN_STRING_VRS = frozenset({"AS", "CS"})
"""`values.convert_string`: decoded as ISO 8859-1, trailing spaces and NULs stripped."""
DATE_TIME_VRS = frozenset({"DA", "DT", "TM"})
"""As `PLAIN_STRING_VRS` unless ``config.datetime_conversion``."""
PLAIN_DECIMAL = re.compile(r" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *")
"""A DS value `DSfloat` reads as ``float(text)``, nothing else (no inf, nan, ``_``, …)."""


class _Fast:
    """What the fast path needs to know of one dataset (`_fast`)."""

    __slots__ = ("charset", "creators", "dates", "decimals", "uids")

    def __init__(self, charset: Any, dates: bool, uids: bool, decimals: bool) -> None:
        self.charset = charset
        """The character set ``ds[tag]`` decodes text with."""
        self.dates = dates
        """DA/DT/TM are plain strings (no ``config.datetime_conversion``)."""
        self.uids = uids
        """UI values are rendered from their bytes (validation cannot raise)."""
        self.decimals = decimals
        """Plain DS values are rendered from their bytes (`DSfloat`, validation cannot raise)."""
        self.creators: dict[int, Any] = {}
        """Private creator values by creator tag, as ``ds[creator].value`` gave them."""


def _fast(ds: Dataset) -> _Fast | None:
    """The fast path's view of *ds*; None when it does not apply (pydicom's conversion hooks
    customized, or the character set itself failing, as ``ds[tag]`` then fails)."""
    if (
        hooks.raw_element_vr is not raw_element_vr
        or hooks.raw_element_value is not raw_element_value
        or hooks.raw_element_kwargs
        or config.data_element_callback is not None
    ):
        return None
    try:
        charset = ds.original_character_set or ds._character_set
    except Exception:
        return None
    lenient = config.settings.reading_validation_mode != config.RAISE
    decimals = lenient and valuerep.DSclass is DSfloat and not config.use_DS_numpy
    return _Fast(charset, not config.datetime_conversion, lenient, decimals)


def _direct_value(vr: str, raw: Any, fast: _Fast, offset: int, limit: int) -> dict[str, Any] | None:
    """The rendered value of a non-empty element of the commonest VRs, from its bytes."""
    value: bytes = raw.value
    fmt = STRUCT_FORMATS.get(vr)
    if fmt is not None:
        size = STRUCT_SIZES[fmt]
        count = len(value) // size
        if count * size != len(value):
            return None  # convert_value raises: ds[tag] gives the error node
        numbers = struct.unpack(f"{'<' if raw.is_little_endian else '>'}{count}{fmt}", value)
        if fmt in "fd" and not all(map(math.isfinite, numbers)):
            return None  # rendered as text: convert_value's floats say how
        return _numbers(list(numbers), offset, limit)
    if vr in PLAIN_STRING_VRS or (fast.dates and vr in DATE_TIME_VRS):
        return {"type": "string", "value": value.decode(default_encoding).rstrip(" \x00")}
    if vr == "DS" and fast.decimals:
        # convert_DS_string: stripped, then as multi_string splits it, each part DSfloat(…)
        parts = value.decode(default_encoding).strip().rstrip(" \x00").split("\\")
        if all(PLAIN_DECIMAL.fullmatch(part) for part in parts):
            decimals = [float(part) for part in parts]
            if all(map(math.isfinite, decimals)):
                return _numbers(decimals, offset, limit)
        return None  # not plain: convert_value says what it is
    if vr == "UI" and fast.uids:
        # convert_UI: stripped of trailing NULs and spaces, split, each UID(…) stripped
        text = value.decode(default_encoding).rstrip("\0 ")
        return {"type": "string", "value": "\\".join(p.strip() for p in text.split("\\"))}
    return None


def _fast_node(
    ds: Dataset, raw: Any, fast: _Fast, depth: int, offset: int, limit: int | None
) -> TagNode | None:
    """The node of a raw element as `_node`'s ``ds[tag]`` path renders it; None when only that
    path can tell (deferred, SQ, UN, ambiguous VR, a failing value or creator)."""
    if type(raw) is not RawDataElement:
        return None
    value = raw.value
    if value is None or raw.length > MAX_VALUE_BYTES:
        return None
    tag = int(raw.tag)  # a plain int: BaseTag compares (and so looks up) in Python
    if tag in LUT_DESCRIPTORS:
        return None
    creator: Any = None
    if tag >> 16 & 1:
        # Dataset.__setitem__ gives a private element the value of its block's creator (looked
        # up for a creator element too, shown only for the others); an implicit VR comes from
        # the private dictionary by that creator (`hooks._private_vr_for_tag`)
        block = (tag & 0xFFFF0000) | ((tag & 0xFFFF) >> 8)
        if block != tag:
            creator = _creator(ds, block, fast)
            if creator is _FAILED:
                return None
        vr: str | None = raw.VR or _dictionary_vr(tag) or _private_vr(tag, creator)
        if vr is None or vr in SLOW_VRS:
            return None  # UN included: ds[tag] decides
        if 0x0010 <= tag & 0xFFFF < 0x0100:
            creator = None
    else:
        vr = raw.VR or _dictionary_vr(tag)
        if vr is None or vr in SLOW_VRS:
            return None
    shown = None
    if value:
        shown = _direct_value(vr, raw, fast, offset, MAX_NUMBERS if limit is None else limit)
    if shown is None:
        charset = fast.charset if tag != SPECIFIC_CHARACTER_SET else default_encoding
        try:
            converted = convert_value(vr, raw, charset)
        except Exception:
            return None  # ds[tag] raises it again, for the error node (or converts to UN)
        shown = _render_value(vr, converted, depth, offset, limit)
    node: TagNode = {"tag": _tag_text(tag), "vr": _vr_text(vr), "keyword": _keyword(tag)}
    if creator:
        node["private_creator"] = _creator_text(creator)
    node["value"] = shown
    return node


_FAILED = object()


def _private_vr(tag: int, creator: Any) -> str:
    """`hooks._private_vr_for_tag` given the creator's value (None: no creator element)."""
    element = tag & 0xFFFF
    if 0x0010 <= element < 0x0100:
        return "LO"
    if element & 0xFF00 and creator is not None:
        try:
            return str(private_dictionary_VR(tag, creator))
        except KeyError:
            pass
    return "UN"


def _creator(ds: Dataset, block: int, fast: _Fast) -> Any:
    """``ds[block].value`` when *ds* holds the creator element *block* (None when it does not;
    `_FAILED` when reading it raises: ds[tag] then fails the element), memoized in *fast*."""
    try:
        return fast.creators[block]
    except KeyError:
        pass
    value: Any = None
    if block in ds:
        try:
            value = ds[block].value
        except Exception:
            value = _FAILED
    fast.creators[block] = value
    return value


def _node(
    ds: Dataset,
    raw: Any,
    depth: int,
    offset: int = 0,
    limit: int | None = None,
    fast: _Fast | None = None,
) -> TagNode:
    """The one serializer: the preview (``limit`` None) and `select_tag` (paged) alike;
    *fast* (from `_fast`) allows the fast path."""
    if fast is not None:
        node = _fast_node(ds, raw, fast, depth, offset, limit)
        if node is not None:
            return node
    tag = BaseTag(raw.tag)
    node = {"tag": _tag_text(tag), "vr": _vr_text(raw.VR, tag), "keyword": _keyword(tag)}
    deferred = _raw_length(raw)
    if deferred is not None:
        node["value"] = {"type": "binary", "length": deferred}
        return node
    try:
        elem = ds[tag]
        node["vr"] = _vr_text(elem.VR)
        if tag.is_private and not tag.is_private_creator:
            creator = getattr(elem, "private_creator", None)
            if creator:
                node["private_creator"] = _creator_text(creator)
        length = getattr(raw, "length", None)
        if isinstance(length, int) and length != UNDEFINED and length > MAX_VALUE_BYTES:
            node["value"] = {"type": "binary", "length": length}
        else:
            node["value"] = _render_value(elem.VR, elem.value, depth, offset, limit)
    except RecursionError:
        node["value"] = _error("sequence nested too deeply to decode")
    except Exception as error:  # one bad value must not fail the tree
        node["value"] = _error(f"{type(error).__name__}: {error}")
    return node


def _nodes(ds: Dataset, depth: int = 0) -> list[TagNode]:
    try:
        # keep_deferred: a value over MAX_VALUE_BYTES stays unread (its length is shown)
        elements: Iterable[Any] = [ds.get_item(t, keep_deferred=True) for t in sorted(ds.keys())]
    except Exception as error:
        return [{"tag": "", "vr": "", "keyword": "", "value": _error(str(error))}]
    fast = _fast(ds)
    return [_node(ds, raw, depth, fast=fast) for raw in elements]


def tag_tree(path: str | os.PathLike[str]) -> list[TagNode]:
    """Every header element of *path* as `TagNode` dicts (File Meta Information first)."""
    ds, pixel = _read(path)
    with _header.quiet_pydicom():
        nodes: list[TagNode] = []
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            nodes.extend(_nodes(meta))
        nodes.extend(_nodes(ds))
    deep: list[TagNode] = getattr(ds, "deep_nodes", [])
    if deep:
        nodes = sorted([*nodes, *deep], key=lambda n: (n["tag"][1:5] != "0002", n["tag"]))
    if pixel is not None:
        nodes.append(pixel)
    return nodes


# ---------------------------------------------------------------------------------------------
# selecting one element

_TAG_RE = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)?$")


def _parse_tag(segment: str) -> int:
    match = _TAG_RE.match(segment)
    if match:
        return int(match.group(1) + match.group(2), 16)
    if re.fullmatch(r"[0-9A-Fa-f]{8}", segment):
        return int(segment, 16)
    tag = tag_for_keyword(segment)
    if tag is None:
        raise UsageError(
            f"invalid tag {segment!r} in tag path: use (gggg,eeee), ggggeeee or a DICOM keyword"
        )
    return int(tag)


def parse_tag_path(tag_path: str) -> list[int]:
    """``(0008,1140)/0/(0008,1155)`` → ``[0x00081140, 0, 0x00081155]`` (tags and item indices).

    Segments alternate: a tag, an item index, a tag, … and the path ends with a tag.
    """
    segments = [s.strip() for s in tag_path.strip().strip("/").split("/")]
    if not segments or not segments[0]:
        raise UsageError("empty tag path: expected for example (0008,1140)/0/(0008,1155)")
    if len(segments) % 2 == 0:
        raise UsageError(f"tag path {tag_path!r} must end with a tag, not an item index")
    parsed: list[int] = []
    for i, segment in enumerate(segments):
        if i % 2:
            if not segment.isdigit():
                raise UsageError(f"invalid item index {segment!r} in tag path {tag_path!r}")
            parsed.append(int(segment))
        else:
            parsed.append(_parse_tag(segment))
    return parsed


def select_tag(
    path: str | os.PathLike[str], tag_path: str, *, offset: int = 0, limit: int = 64
) -> TagNode:
    """One element by tag path, full depth; its sequence items or values paged.

    Raises `UsageError` for a malformed path or paging, `TagNotFound` when the path names
    nothing, `TagReadError` when the header cannot be read.
    """
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"offset must be ≥ 0 and limit between 1 and {MAX_LIMIT}")
    steps = parse_tag_path(tag_path)
    ds, pixel = _read(path)
    with _header.quiet_pydicom():
        current = ds
        for depth in range(0, len(steps), 2):
            tag = Tag(steps[depth])
            last = depth == len(steps) - 1
            container = current
            if tag.group == 0x0002 and depth == 0 and getattr(ds, "file_meta", None) is not None:
                container = ds.file_meta
            if last and depth == 0 and pixel is not None and _tag_text(tag) == pixel["tag"]:
                return pixel
            try:
                raw = container.get_item(tag, keep_deferred=True)
            except Exception as error:
                raise TagNotFound(f"{tag_path}: {type(error).__name__}: {error}") from None
            if raw is None:
                raise TagNotFound(f"no element {_tag_text(tag)} at {tag_path}")
            if last:
                return _node(container, raw, 0, offset, limit)
            try:
                items = container[tag].value
            except Exception as error:
                raise TagNotFound(f"{tag_path}: {type(error).__name__}: {error}") from None
            if container[tag].VR != "SQ":
                raise TagNotFound(f"{_tag_text(tag)} in {tag_path} is not a sequence")
            index = steps[depth + 1]
            if index >= len(items):
                raise TagNotFound(
                    f"{_tag_text(tag)} has {len(items)} item(s); no item {index} in {tag_path}"
                )
            current = items[index]
    raise TagNotFound(tag_path)  # pragma: no cover - the loop always returns or raises
