"""Unit tests of the pure parts: sizes, config validation, security rules, masking, registry."""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path

import pytest

from dcmview_server import ConfigError, ServerConfig, parse_size
from dcmview_server.masking import Masker, common_root
from dcmview_server.registry import Registry, SkippedFile
from dcmview_server.routes.files import accepts_gzip
from dcmview_server.runner import bind_tcp, bind_unix
from dcmview_server.security import (
    HostPolicy,
    StaticBundle,
    check_bearer,
    origin_allowed,
    resolve_token,
    split_host,
)
from dcmview_server.state import AppState


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MiB", 512 * 2**20),
        ("2GiB", 2 * 2**30),
        ("256MB", 256 * 10**6),
        ("1000000", 1_000_000),
        ("1.5KiB", 1536),
        ("64 kib", 65536),
        ("0", 0),
        ("7b", 7),
    ],
)
def test_parse_size_accepts(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "-1", "12XB", "MiB", "1e3", "1,000", "nan", "1 2"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_config_defaults_are_declared_once() -> None:
    config = ServerConfig(paths=("x",))
    assert config.host == "127.0.0.1"
    assert config.port == 0
    assert config.cache_budget == 512 * 2**20
    assert config.recursive is True
    assert config.timeout is None
    assert config.mask is False


def test_config_errors_before_binding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="path not found"):
        AppState.build(ServerConfig(paths=(str(tmp_path / "missing"),)))
    with pytest.raises(ConfigError, match="filter"):
        AppState.build(ServerConfig(paths=(str(tmp_path),), filters=("nosuchfield=1",)))
    with pytest.raises(ConfigError, match="port"):
        AppState.build(ServerConfig(paths=(str(tmp_path),), port=70000))
    with pytest.raises(ConfigError, match="timeout"):
        AppState.build(ServerConfig(paths=(str(tmp_path),), timeout=0))
    with pytest.raises(ConfigError, match="unix socket directory"):
        AppState.build(
            ServerConfig(paths=(str(tmp_path),), unix_socket=str(tmp_path / "no" / "s.sock"))
        )


def test_csv_structural_errors_are_config_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing_column.csv"
    missing.write_text("anon_dicom_path,num_ROI\na.dcm,1\n")
    with pytest.raises(ConfigError, match="ROI_coords"):
        AppState.build(ServerConfig(paths=(str(tmp_path),), annotations=str(missing)))
    dup = tmp_path / "dup.csv"
    dup.write_text('anon_dicom_path,ROI_coords\na.dcm,"[[1,2,3,4]]"\na.dcm,"[[1,2,3,4]]"\n')
    with pytest.raises(ConfigError, match=r"repeated|same file"):
        AppState.build(ServerConfig(paths=(str(tmp_path),), annotations=str(dup)))
    with pytest.raises(ConfigError):
        AppState.build(ServerConfig(paths=(str(tmp_path),), annotations=str(tmp_path / "nope.csv")))


def test_port_in_use_is_a_config_error() -> None:
    taken = bind_tcp("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="already in use"):
            bind_tcp("127.0.0.1", port)
    finally:
        taken.close()


def test_unix_socket_is_private_and_stale_ones_are_replaced(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    sock = bind_unix(path)
    try:
        assert os.stat(path).st_mode & 0o777 == 0o600
        with pytest.raises(ConfigError, match="in use"):
            bind_unix(path)
    finally:
        sock.close()
    # the file is left behind by a dead server: replaced
    again = bind_unix(path)
    again.close()
    regular = tmp_path / "file"
    regular.write_text("x")
    with pytest.raises(ConfigError, match="not a socket"):
        bind_unix(str(regular))


def test_token_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_token(ServerConfig(paths=("x",), no_token=True)) is None
    assert resolve_token(ServerConfig(paths=("x",), token="abc")) == "abc"
    monkeypatch.setenv("DCMVIEW_TOKEN", "from-env")
    assert resolve_token(ServerConfig(paths=("x",))) == "from-env"
    monkeypatch.delenv("DCMVIEW_TOKEN")
    token = resolve_token(ServerConfig(paths=("x",)))
    assert token is not None
    assert len(token) == 43
    assert "=" not in token


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer secret", True),
        ("bearer secret", True),
        ("BEARER   secret", True),
        ("Bearer secret2", False),
        ("Bearer secre", False),
        ("Basic secret", False),
        ("secret", False),
        ("", False),
        (None, False),
        ("Bearer sécret", False),
    ],
)
def test_check_bearer(header: str | None, ok: bool) -> None:
    assert check_bearer(header, "secret") is ok


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("LOCALHOST", "localhost"),
        ("[::1]:9000", "::1"),
        ("[::1]", "::1"),
        ("example.com.", "example.com"),
        ("a b", None),
        ("evil.com/x", None),
        ("[::1", None),
        ("host:port", None),
        ("", None),
        ("user@127.0.0.1", None),
    ],
)
def test_split_host(header: str, name: str | None) -> None:
    assert split_host(header) == name


def test_host_policy() -> None:
    policy = HostPolicy("127.0.0.1", ("proxy.internal",))
    for good in [
        "127.0.0.1",
        "127.0.0.1:9000",
        "127.5.6.7:1",
        "localhost:80",
        "[::1]:9000",
        "proxy.internal",
        "PROXY.INTERNAL:443",
        "app.localhost",
    ]:
        assert policy.allows(good), good
    for bad in [
        None,
        "",
        "evil.com",
        "127.0.0.1.evil.com",
        "10.0.0.1",
        "localhost.evil",
        "[::2]",
        "0.0.0.0",
    ]:
        assert not policy.allows(bad), bad
    wildcard = HostPolicy("0.0.0.0")
    assert wildcard.allows("192.168.1.5:8080")
    assert not wildcard.allows("attacker.example")


def test_origin_rule() -> None:
    host = "127.0.0.1:9000"
    assert origin_allowed("GET", "http://evil.com", host)
    assert origin_allowed("PUT", None, host)
    assert origin_allowed("PUT", "http://127.0.0.1:9000", host)
    assert not origin_allowed("PUT", "http://evil.com", host)
    assert not origin_allowed("DELETE", "null", host)
    assert not origin_allowed("POST", "http://127.0.0.1:9001", host)


def test_static_bundle_is_an_exact_name_table(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>")
    (tmp_path / "assets" / "app-1234.js").write_text("x")
    (tmp_path / "README.md").write_text("not served")
    bundle = StaticBundle(tmp_path)
    assert bundle.has_index
    assert bundle.lookup("assets/app-1234.js") == tmp_path / "assets" / "app-1234.js"
    for name in [
        "README.md",
        "assets/../index.html",
        "/etc/passwd",
        "assets\\app-1234.js",
        "assets/%2e%2e/index.html",
        "",
        "assets",
    ]:
        assert bundle.lookup(name) is None, name
    assert not StaticBundle(tmp_path / "absent").has_index


def test_masker_is_consistent_and_hides_identifiers(tmp_path: Path) -> None:
    masker = Masker(
        [str(tmp_path / "Doe_John" / "a"), str(tmp_path / "Doe_John" / "b")], secret=b"k" * 32
    )
    assert masker.root == str(tmp_path / "Doe_John")
    assert masker.path(str(tmp_path / "Doe_John" / "a" / "x.dcm")) == "a/x.dcm"
    uid = masker.uid("1.2.3.4")
    assert uid == masker.uid("1.2.3.4")
    assert uid is not None
    assert uid.startswith("2.25.")
    assert uid != masker.uid("1.2.3.5")
    assert masker.uid("1.2.840.10008.1.2.1") == "1.2.840.10008.1.2.1"
    assert masker.patient_id("PAT1") == masker.patient_id("PAT1") != "PAT1"
    shifted = masker.date("20240301", "PAT1")
    later = masker.date("20240311", "PAT1")
    assert shifted is not None
    assert later is not None
    assert shifted != "20240301"
    days = dt.datetime.strptime(later, "%Y%m%d") - dt.datetime.strptime(shifted, "%Y%m%d")
    assert days.days == 10  # intervals within a patient survive
    nodes = [
        {
            "tag": "(0010,0010)",
            "vr": "PN",
            "keyword": "PatientName",
            "value": {"type": "string", "value": "Doe^John"},
        },
        {
            "tag": "(0008,0018)",
            "vr": "UI",
            "keyword": "SOPInstanceUID",
            "value": {"type": "string", "value": "1.2.3.4"},
        },
        {
            "tag": "(0009,1001)",
            "vr": "LO",
            "keyword": "Private",
            "value": {"type": "string", "value": "secret"},
        },
        {
            "tag": "(0008,0020)",
            "vr": "DA",
            "keyword": "StudyDate",
            "value": {"type": "string", "value": "20240301"},
        },
    ]
    nodes.append(
        {
            "tag": "(4008,0119)",
            "vr": "PN",
            "keyword": "DistributionName",
            "value": {"type": "string", "value": "Smith^Anna"},
        }
    )
    masked = masker.tags(nodes, "PAT1")
    text = repr(masked)
    assert "Doe" not in text
    assert "secret" not in text
    assert "Smith" not in text
    assert "1.2.3.4" not in text
    assert masked[3]["value"]["value"] == shifted
    assert common_root([str(tmp_path)]) == str(tmp_path)


def test_registry_since_and_counters() -> None:
    registry = Registry()
    assert registry.snapshot().scan_complete is False
    registry.add_skipped(SkippedFile("/d/a.txt", "not_dicom", "not DICOM"))
    registry.add_filtered()
    registry.mark_complete()
    snap = registry.snapshot(since=5)
    assert (snap.scanned, snap.skipped, snap.filtered, snap.scan_complete) == (0, 1, 1, True)
    assert registry.skip_reasons() == ["a.txt: not DICOM"]
    assert registry.skipped_files() == [SkippedFile("/d/a.txt", "not_dicom", "not DICOM")]


def test_bind_tcp_reads_back_the_port() -> None:
    sock = bind_tcp("127.0.0.1", 0)
    try:
        assert sock.family == socket.AF_INET
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        ("gzipx", False),
    ],
)
def test_accepts_gzip(header: str, ok: bool) -> None:
    assert accepts_gzip(header) is ok


def test_host_policy_answers_stay_the_same_once_remembered() -> None:
    """The remembered answers equal the computed ones, also past the memo's size limit."""
    policy = HostPolicy("127.0.0.1")
    for _ in range(2):
        assert policy.allows("127.0.0.1:8080")
        assert policy.allows("LOCALHOST")
        assert not policy.allows("evil.com")
        assert not policy.allows("127.0.0.1.evil.com:80")
    for n in range(100):
        assert policy.allows(f"127.0.0.{n % 250 + 1}:{n}")
        assert not policy.allows(f"host{n}.example")
    assert not policy.allows("evil.com")
    assert not policy.allows(None)


def test_json_bytes_never_fails_on_a_lone_surrogate() -> None:
    """Text that is not a path (e.g. a tag value) with a lone surrogate is escaped, not a 500."""
    import json

    from dcmview_server.responses import json_bytes

    value = {"value": "caf\udce9", "plain": "é"}
    assert json.loads(json_bytes(value)) == value
    assert json_bytes({"plain": "é"}) == '{"plain":"é"}'.encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"/d/plain.dcm",
        b"/d/caf\xe9.dcm",
        b"/d/\xc3\xa9t\xe9\xff\x80.dcm",
        b"/d/a\\xe9b",
        b"/d/\xed\xa0",
    ],
)
def test_one_display_rule_in_core_and_annotations(raw: bytes) -> None:
    """dcmview-annotations (which may import no sibling) keeps its own copy of core's
    `display_path`: they must agree, and `path_from_display` must undo it for real names."""
    import os

    from dcmview_annotations import display_path as annotations_display_path
    from dcmview_annotations import path_from_display
    from dcmview_core import display_path

    path = os.fsdecode(raw)
    assert annotations_display_path(path) == display_path(path)
    shown = display_path(path)
    shown.encode("utf-8")  # always valid UTF-8 text
    if b"\\x" not in raw:
        assert path_from_display(shown) == path
