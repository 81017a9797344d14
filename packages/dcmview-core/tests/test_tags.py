from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dcmview_core.errors import TagNotFound, TagReadError, UsageError
from dcmview_core.tags import (
    TagNode,
    parse_tag_path,
    select_tag,
    tag_tree,
)

Bundled = Callable[[str], str]


VALUE_TYPES = {"string", "number", "numbers", "binary", "sequence", "error"}


def by_tag(nodes: list[TagNode], tag: str) -> TagNode:
    found = [n for n in nodes if n["tag"] == tag]
    assert len(found) == 1, tag
    return found[0]


def test_every_bundled_file_gives_a_json_tree(testdata_path: Bundled) -> None:
    folder = Path(testdata_path("CT_small.dcm")).parent
    files = sorted(folder.glob("*.dcm")) + sorted(
        Path(testdata_path("chrRuss.dcm")).parent.glob("*.dcm")
    )
    for path in files:
        nodes = tag_tree(path)
        json.dumps(nodes, allow_nan=False)  # strict JSON: no NaN, no bytes
        for node in nodes:
            assert set(node) <= {"tag", "vr", "keyword", "value", "private_creator"}
            assert node["value"]["type"] in {
                "string",
                "number",
                "numbers",
                "binary",
                "sequence",
                "error",
            }


def test_ct_small_tree(testdata_path: Bundled) -> None:
    nodes = tag_tree(testdata_path("CT_small.dcm"))
    assert nodes[0] == {
        "tag": "(0002,0000)",
        "vr": "UL",
        "keyword": "FileMetaInformationGroupLength",
        "value": {"type": "number", "value": 192},
    }
    assert by_tag(nodes, "(0008,0060)") == {
        "tag": "(0008,0060)",
        "vr": "CS",
        "keyword": "Modality",
        "value": {"type": "string", "value": "CT"},
    }
    assert by_tag(nodes, "(0008,0008)")["value"] == {
        "type": "string",
        "value": "ORIGINAL\\PRIMARY\\AXIAL",
    }
    assert by_tag(nodes, "(0028,0030)")["value"] == {
        "type": "numbers",
        "value": [0.661468, 0.661468],
    }
    assert by_tag(nodes, "(0028,0010)")["value"] == {"type": "number", "value": 128}
    assert by_tag(nodes, "(0002,0001)")["value"] == {"type": "binary", "length": 2}
    assert nodes[-1] == {
        "tag": "(7FE0,0010)",
        "vr": "OB",
        "keyword": "PixelData",
        "value": {"type": "binary", "length": 128 * 128 * 2},
    }
    tags = [n["tag"] for n in nodes]
    assert tags == sorted(tags)


def test_private_tags_carry_their_creator(testdata_path: Bundled) -> None:
    nodes = tag_tree(testdata_path("CT_small.dcm"))
    creator = by_tag(nodes, "(0043,0010)")
    assert creator["keyword"] == "Private"
    assert creator["value"] == {"type": "string", "value": "GEMS_PARM_01"}
    data = by_tag(nodes, "(0043,104E)")
    assert data["keyword"] == "Private"
    assert data["private_creator"] == "GEMS_PARM_01"
    assert data["value"]["type"] == "number"


def test_specific_character_set(testdata_path: Bundled) -> None:
    def name(file: str) -> Any:
        return by_tag(tag_tree(testdata_path(file)), "(0010,0010)")["value"]["value"]

    assert name("chrRuss.dcm") == "Люкceмбypг"
    assert name("chrH31.dcm") == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert name("chrGreek.dcm") == "Διονυσιος"
    assert name("chrArab.dcm") == "قباني^لنزار"


def _dataset_with_long_values(tmp_path: Path, image_dataset: Any) -> Path:
    ds = image_dataset()
    ds.FrameTimeVector = [float(i) for i in range(100)]  # DS, 100 values
    ds.add_new(0x00091010, "LO", "ACME 1.0")  # private creator  (0009,0010)
    ds.add_new(0x00091001, "LO", "invalid: no creator block")
    ds.add_new(0x00290010, "LO", "ACME")
    ds.add_new(0x00291001, "US", [7] * 70)
    ds.ReferencedImageSequence = [pydicom.Dataset() for _ in range(20)]
    for i, item in enumerate(ds.ReferencedImageSequence):
        item.ReferencedSOPInstanceUID = f"1.2.3.{i}"
    ds.add_new(0x00189999, "OB", b"\x01\x02\x03\x04")
    ds.add_new(0x00204000, "LT", "x" * 100)
    path = tmp_path / "long.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_numbers_and_sequences_are_truncated(tmp_path: Path, image_dataset: Any) -> None:
    nodes = tag_tree(_dataset_with_long_values(tmp_path, image_dataset))
    vector = by_tag(nodes, "(0018,1065)")["value"]
    assert vector == {
        "type": "numbers",
        "value": [float(i) for i in range(64)],
        "truncated": True,
        "total": 100,
    }
    sequence = by_tag(nodes, "(0008,1140)")["value"]
    assert sequence["type"] == "sequence"
    assert (sequence["truncated"], sequence["total"], len(sequence["items"])) == (True, 20, 16)
    assert sequence["items"][15] == [
        {
            "tag": "(0008,1155)",
            "vr": "UI",
            "keyword": "ReferencedSOPInstanceUID",
            "value": {"type": "string", "value": "1.2.3.15"},
        }
    ]
    private = by_tag(nodes, "(0029,1001)")
    assert private["private_creator"] == "ACME"
    assert private["value"]["total"] == 70
    assert by_tag(nodes, "(0018,9999)")["value"] == {"type": "binary", "length": 4}


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_bulk_values_are_length_only_and_never_read(
    tmp_path: Path, image_dataset: Any, syntax: str
) -> None:
    ds = image_dataset(transfer_syntax=syntax)
    ds.add_new(0x00204000, "UT", "y" * (2 * 1024 * 1024))  # 2 MiB of text
    path = tmp_path / "bulk.dcm"
    ds.save_as(path, enforce_file_format=True)
    nodes = tag_tree(path)
    assert by_tag(nodes, "(0020,4000)") == {
        "tag": "(0020,4000)",
        # explicit VR: as written; implicit VR: the dictionary's VR
        "vr": "UT" if syntax == ExplicitVRLittleEndian else "LT",
        "keyword": "ImageComments",
        "value": {"type": "binary", "length": 2 * 1024 * 1024},
    }


def _element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"SQ", b"UN", b"UT"):
        return (
            struct.pack("<HH", group, elem) + vr + b"\0\0" + struct.pack("<L", len(value)) + value
        )
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


def test_a_bad_value_becomes_an_error_node(tmp_path: Path) -> None:
    meta = _element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1\x00")
    body = (
        _element(0x0008, 0x0016, b"UI", b"1.2.3\x00")
        + _element(0x0010, 0x0010, b"PN", b"Doe^Jane")
        + _element(0x0028, 0x0010, b"US", b"\x01\x02\x03")  # US needs an even length
        + _element(0x0028, 0x0011, b"US", b"\x10\x00")
    )
    path = tmp_path / "bad.dcm"
    path.write_bytes(bytes(128) + b"DICM" + meta + body)
    nodes = tag_tree(path)
    rows = by_tag(nodes, "(0028,0010)")["value"]
    assert rows["type"] == "error"
    assert "length" in rows["message"]
    assert by_tag(nodes, "(0028,0011)")["value"] == {"type": "number", "value": 16}
    assert by_tag(nodes, "(0010,0010)")["value"] == {"type": "string", "value": "Doe^Jane"}


def test_deep_nesting_does_not_fail_the_tree(tmp_path: Path) -> None:
    depth = 3000
    meta = _element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2\x00")
    body = b"\x08\x00\x16\x00\x06\x00\x00\x001.2.3\x00"
    body += b"\x08\x00\x60\x00\x02\x00\x00\x00OT"
    opening = b"\x40\x00\x30\xa7\xff\xff\xff\xff\xfe\xff\x00\xe0\xff\xff\xff\xff"
    closing = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    path = tmp_path / "deep.dcm"
    path.write_bytes(bytes(128) + b"DICM" + meta + body + opening * depth + closing * depth)
    nodes = tag_tree(path)  # pydicom's recursive reader gives up: read around the sequence
    assert by_tag(nodes, "(0008,0060)")["value"] == {"type": "string", "value": "OT"}
    assert by_tag(nodes, "(0040,A730)") == {
        "tag": "(0040,A730)",
        "vr": "SQ",
        "keyword": "ContentSequence",
        "value": {"type": "error", "message": f"sequence nested {depth} levels deep: not shown"},
    }
    # moderately deep nesting (pydicom reads it) is cut by the renderer, not the reader
    path.write_bytes(bytes(128) + b"DICM" + meta + body + opening * 80 + closing * 80)
    text = json.dumps(tag_tree(path))
    assert "sequence nested deeper than 64 levels; select it by path" in text


def test_file_without_preamble(testdata_path: Bundled) -> None:
    nodes = tag_tree(testdata_path("no_meta.dcm"))
    assert by_tag(nodes, "(0008,0060)")["value"]["value"] == "CT"
    assert nodes[-1]["keyword"] == "PixelData"
    assert nodes[-1]["value"] == {"type": "binary", "length": 128 * 128 * 2}


def test_unreadable_header_is_a_tag_read_error(tmp_path: Path) -> None:
    with pytest.raises(TagReadError):
        tag_tree(tmp_path / "missing.dcm")


def test_one_gigabyte_file_reads_headers_only(tmp_path: Path, image_dataset: Any) -> None:
    ds = image_dataset(rows=1, columns=1)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 1024, 1024, 512
    ds.PixelData = b""
    path = tmp_path / "big.dcm"
    ds.save_as(path, enforce_file_format=True)
    size = path.stat().st_size
    length = 1024 * 1024 * 2 * 512
    with path.open("r+b") as fp:
        fp.seek(size - 4)
        fp.write(length.to_bytes(4, "little"))
        fp.truncate(size + length)  # sparse: reading it would take seconds and 1 GiB
    nodes = tag_tree(path)
    assert nodes[-1]["value"] == {"type": "binary", "length": length}
    assert select_tag(path, "(7FE0,0010)")["value"] == {"type": "binary", "length": length}


# --- select ---------------------------------------------------------------------------------------


def test_parse_tag_path() -> None:
    assert parse_tag_path("(0008,1140)/0/(0008,1155)") == [0x00081140, 0, 0x00081155]
    assert parse_tag_path("00081140/2/ReferencedSOPInstanceUID") == [0x00081140, 2, 0x00081155]
    for bad in ["", "(0008,1140)/0", "(0008,1140)/x/(0008,1155)", "(zz,1)", "NotAKeyword"]:
        with pytest.raises(UsageError):
            parse_tag_path(bad)


def test_select_walks_items_at_full_depth(testdata_path: Bundled) -> None:
    path = testdata_path("rtplan.dcm")
    ds = pydicom.dcmread(path)
    node = select_tag(path, "(300A,00B0)/0/(300A,0111)/1/(300A,0134)")
    expected = ds.BeamSequence[0].ControlPointSequence[1].CumulativeMetersetWeight
    assert node == {
        "tag": "(300A,0134)",
        "vr": "DS",
        "keyword": "CumulativeMetersetWeight",
        "value": {"type": "number", "value": float(expected)},
    }
    beam = select_tag(path, "(300A,00B0)/0/(300A,0111)")["value"]
    assert len(beam["items"]) == len(ds.BeamSequence[0].ControlPointSequence)
    assert "total" not in beam  # shown whole: no paging fields, as in the preview


def test_select_pages_sequence_items(tmp_path: Path, image_dataset: Any) -> None:
    path = _dataset_with_long_values(tmp_path, image_dataset)
    page = select_tag(path, "(0008,1140)", offset=16, limit=3)["value"]
    assert page["type"] == "sequence"
    assert (page["offset"], page["total"], page["truncated"]) == (16, 20, True)
    uids = [item[0]["value"]["value"] for item in page["items"]]
    assert uids == ["1.2.3.16", "1.2.3.17", "1.2.3.18"]
    last = select_tag(path, "(0008,1140)", offset=18, limit=64)["value"]
    assert (len(last["items"]), last["truncated"]) == (2, False)
    numbers = select_tag(path, "(0018,1065)", offset=90, limit=64)["value"]
    assert numbers["value"] == [float(i) for i in range(90, 100)]
    assert (numbers["total"], numbers["truncated"]) == (100, False)
    item_value = select_tag(path, "(0008,1140)/19/(0008,1155)")
    assert item_value["value"] == {"type": "string", "value": "1.2.3.19"}


def test_select_meta_element_and_errors(testdata_path: Bundled) -> None:
    path = testdata_path("CT_small.dcm")
    assert select_tag(path, "(0002,0010)")["value"]["value"] == "1.2.840.10008.1.2.1"
    with pytest.raises(TagNotFound):
        select_tag(path, "(0008,1140)")
    with pytest.raises(TagNotFound, match="not a sequence"):
        select_tag(path, "(0008,0060)/0/(0008,0060)")
    with pytest.raises(TagNotFound, match="no item 5"):
        select_tag(testdata_path("rtplan.dcm"), "(300A,00B0)/5/(300A,00C2)")
    with pytest.raises(UsageError):
        select_tag(path, "(0008,0060)", offset=-1)
    with pytest.raises(UsageError):
        select_tag(path, "(0008,0060)", limit=0)


def test_a_private_creator_with_a_backslash_is_one_string(tmp_path: Path) -> None:
    """``ACME\\1`` reads as two LO values; the node names the creator as written (the JSON
    encoder once failed on it, and the tags request answered 500)."""
    meta = _element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1\x00")
    body = (
        _element(0x0008, 0x0016, b"UI", b"1.2.3\x00")
        + _element(0x0009, 0x0010, b"LO", b"ACME\\1")
        + _element(0x0009, 0x1001, b"LO", b"hello ")
        + _element(0x0029, 0x0010, b"LO", b"PLAIN ")
        + _element(0x0029, 0x1002, b"SH", b"two\\parts ")
    )
    path = tmp_path / "creator.dcm"
    path.write_bytes(bytes(128) + b"DICM" + meta + body)
    nodes = tag_tree(path)
    json.dumps(nodes)
    assert by_tag(nodes, "(0009,1001)")["private_creator"] == "ACME\\1"
    assert by_tag(nodes, "(0009,1001)")["value"] == {"type": "string", "value": "hello"}
    assert by_tag(nodes, "(0029,1002)")["private_creator"] == "PLAIN"
    page = select_tag(path, "(0009,1001)")
    assert page["private_creator"] == "ACME\\1"
