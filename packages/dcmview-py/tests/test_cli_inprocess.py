"""The CLI called in-process: parsing, usage errors, exit codes, one-line messages."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest
from dcmview_server import ConfigError, ScanSummary, ServerConfig
from dcmview_server.config import Skip

from dcmview_py import __version__
from dcmview_py.cli import build_parser, main, parse_args
from dcmview_py.options import CliOptions
from dcmview_py.output import no_files_message, reach_hint, scan_line, wants_reach_hint
from dcmview_py.readyline import parse_ready_line
from dcmview_py.remote import recipe_lines, remote_argv, remote_command_line


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("dcmview: error: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus", "x"], "unrecognized arguments: --bogus"),
        ([], "missing PATH"),
        (["/definitely/not/here.dcm"], "path not found: /definitely/not/here.dcm"),
        (["--filter", "novalue", "."], "invalid filter 'novalue'"),
        (["--filter", "=x", "."], "invalid filter '=x'"),
        (["--cache-budget", "lots", "."], "invalid size 'lots'"),
        (["--port", "70000", "."], "invalid port 70000: expected 0..65535"),
        (["--port", "-1", "."], "invalid port"),
        (["--timeout", "0", "."], "--timeout: must be a positive number"),
        (["--timeout", "soon", "."], "expected a number, got 'soon'"),
        (["--query-limit", "0", "--demo"], "must be at least 1"),
        (["--demo", "--study", "1.2.3"], "--demo takes no PATH, --study or --query"),
        (["--demo", "."], "--demo takes no PATH"),
        (["--tunnel", "/data"], "--tunnel needs --tunnel-host"),
        (["--tunnel-host", "gpu", "/data"], "--tunnel-host needs --tunnel"),
        (["--tunnel", "--tunnel-host=-oProxyCommand=x", "/d"], "must not start with '-'"),
        (["--tunnel", "--tunnel-host", "me@-x", "/d"], "must not start with '-'"),
        (["--tunnel", "--tunnel-host", "gpu", "--unix-socket", "/tmp/s", "/d"], "--unix-socket"),
        (["--tunnel", "--tunnel-host", "gpu", "--host", "0.0.0.0", "/d"], "--host cannot"),
        (["--tunnel", "--tunnel-host", "gpu", "--ssh-config", "/nope", "/d"], "not found"),
        (["--tunnel-port", "9000", "."], "--tunnel-port needs --tunnel"),
        (["--remote-command", "x", "."], "--remote-command needs --tunnel"),
        (["--unix-socket", "/tmp/x.sock", "--port", "80", "."], "--port cannot be used"),
        (["--annotations", "/nope.csv", "."], "--annotations CSV not found"),
        (["--ver"], "unrecognized arguments: --ver"),  # no abbreviations
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in _one_error_line(capsys)


def test_help_shows_every_option_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--port", "--host", "--unix-socket", "--no-browser", "--timeout", "--no-recursive",
        "--filter", "--annotations", "--mask", "--cache-budget", "--no-token", "--allow-host",
        "--tunnel", "--tunnel-host", "--tunnel-port", "--remote-command", "--ssh-config",
        "--version", "--demo", "--help",
    ):  # fmt: skip
        assert option in out, option
    assert "examples:" in out
    assert "dcmview --tunnel --tunnel-host me@gpu-server /data/study" in out
    assert "--tunnelled-from" not in out  # internal
    assert "exit status" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dcmview {__version__}"


def test_defaults_come_from_the_declarations(tmp_path: Path) -> None:
    inv = parse_args([str(tmp_path)])
    assert inv.server == ServerConfig(paths=(str(tmp_path),))
    assert inv.cli == CliOptions()


def test_options_reach_server_config(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("anon_dicom_path,ROI_coords\n")
    inv = parse_args(
        [
            "-p", "8123", "--host", "0.0.0.0", "--timeout", "2.5", "--no-recursive",
            "--filter", "modality=CT", "--filter", "patient_id==X", "--annotations", str(csv),
            "--mask", "--cache-budget", "256MiB", "--no-token", "--allow-host", "a.example",
            "--allow-host", "b.example", "--save-annotations", str(tmp_path / "out.csv"),
            "--no-browser", "--verbose", str(tmp_path),
        ]
    )  # fmt: skip
    assert inv.server == ServerConfig(
        paths=(str(tmp_path),), host="0.0.0.0", port=8123, timeout=2.5, recursive=False,
        filters=("modality=CT", "patient_id==X"), annotations=str(csv), mask=True,
        cache_budget=256 * 2**20, no_token=True, allow_hosts=("a.example", "b.example"),
        save_annotations=str(tmp_path / "out.csv"),
    )  # fmt: skip
    assert inv.cli == CliOptions(browser=False, verbose=True)


def test_port_in_use_is_a_usage_error(dicom_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["--no-browser", "--port", str(port), str(dicom_dir)]) == 2
    assert "in use" in _one_error_line(capsys)


def test_unknown_filter_field_is_a_usage_error(
    dicom_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--no-browser", "--filter", "NoSuchKeyword=1", str(dicom_dir)]) == 2
    assert "NoSuchKeyword" in _one_error_line(capsys)


def test_csv_missing_column_is_a_usage_error(
    dicom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "rois.csv"
    csv.write_text("anon_dicom_path\nx.dcm\n")
    assert main(["--no-browser", "--annotations", str(csv), str(dicom_dir)]) == 2
    assert "ROI_coords" in _one_error_line(capsys)


def test_no_dicom_files_prints_only_the_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(
        "dcmview_py.browser.BrowserOpener.open", lambda self, url: opened.append(url)
    )
    (tmp_path / "a.txt").write_text("hello")
    assert main([str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no ready URL, no ssh -L hint: nothing announces a dying server
    assert opened == []
    (line,) = captured.err.splitlines()
    assert line.startswith("dcmview: error: no DICOM files found (a.txt: not DICOM")


def test_save_annotations_must_not_be_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "rois.csv"
    csv.write_text("anon_dicom_path,ROI_coords\n")
    argv = ["--annotations", str(csv), "--save-annotations", str(tmp_path / "." / "rois.csv")]
    assert main([*argv, str(tmp_path)]) == 2
    assert "--save-annotations must not be the --annotations CSV" in _one_error_line(capsys)


def test_ready_line_parsing() -> None:
    ready = parse_ready_line("dcmview: server running at http://127.0.0.1:8765/#token=abc-_9")
    assert ready is not None
    assert (ready.base_url, ready.port, ready.token) == ("http://127.0.0.1:8765", 8765, "abc-_9")
    assert ready.url == "http://127.0.0.1:8765/#token=abc-_9"
    no_token = parse_ready_line("dcmview: server running at http://127.0.0.1:80/")
    assert no_token is not None
    assert no_token.token is None
    assert parse_ready_line("dcmview: loaded 1 DICOM file(s) from 1 path(s) (0 skipped)") is None


def test_startup_line_texts() -> None:
    summary = ScanSummary(loaded=3, skipped=0, filtered=0, paths=2)
    assert scan_line(summary) == "dcmview: loaded 3 DICOM files from 2 paths (0 skipped)"
    one = ScanSummary(loaded=1, skipped=0, filtered=0, paths=1)
    assert scan_line(one) == "dcmview: loaded 1 DICOM file from 1 path (0 skipped)"
    skips = [Skip(f"f{i}", "not_dicom", "not DICOM") for i in range(7)]
    skips += [Skip(f"u{i}", "unreadable", "unreadable (permission denied)") for i in range(2)]
    nine = ScanSummary(loaded=2, skipped=9, filtered=0, paths=1, skipped_files=skips)
    assert scan_line(nine) == (
        "dcmview: loaded 2 DICOM files from 1 path "
        "(9 skipped: 7 not DICOM, 2 unreadable; --verbose lists them)"
    )
    assert scan_line(nine, verbose=True).endswith("(9 skipped: 7 not DICOM, 2 unreadable)")
    assert wants_reach_hint("127.0.0.1", {}) is False
    assert wants_reach_hint("::1", {}) is False
    assert wants_reach_hint("127.0.0.1", {"SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}) is True
    assert wants_reach_hint("0.0.0.0", {}) is True
    assert reach_hint(8765).startswith(
        "dcmview: to view from another machine: ssh -L 8765:127.0.0.1:8765 "
    )
    many = ScanSummary(0, 7, 0, 1, [f"f{i}: not DICOM" for i in range(7)])
    assert no_files_message(many) == (
        "no DICOM files found (f0: not DICOM; f1: not DICOM; f2: not DICOM; f3: not DICOM; "
        "f4: not DICOM; and 2 more)"
    )


def test_remote_argv_passes_options_as_separate_arguments() -> None:
    inv = parse_args(
        [
            "--tunnel", "--tunnel-host", "me@gpu:2222", "--remote-command", "~/venv/bin/dcmview -q",
            "--filter", "modality=MG", "--timeout", "30", "--mask", "--no-recursive",
            "--allow-host=-odd", "--", "/data/a b", "-weird-name",
        ]
    )  # fmt: skip
    argv = remote_argv(inv, "gpu")
    assert argv[:3] == ["--no-browser", "--port=0", "--tunnelled-from=gpu"]
    assert argv[-3:] == ["--", "/data/a b", "-weird-name"]
    assert "--filter=modality=MG" in argv
    assert "--timeout=30.0" in argv
    assert "--allow-host=-odd" in argv  # a value starting with "-" stays a value
    assert "--mask" in argv
    assert "--no-recursive" in argv
    line = remote_command_line(inv, "gpu")
    assert line.startswith("~/venv/bin/dcmview -q --no-browser --port=0 --tunnelled-from=gpu ")
    assert line.endswith(" -- '/data/a b' -weird-name")
    # the remote side reads exactly what the local side asked for
    remote = build_parser().parse_args(argv)
    assert (remote.paths, remote.timeout, remote.filters, remote.allow_hosts) == (
        ["/data/a b", "-weird-name"],
        30.0,
        ["modality=MG"],
        ["-odd"],
    )
    assert (remote.mask, remote.recursive, remote.tunnel_host, remote.port) == (
        True,
        False,
        "gpu",
        0,
    )


def test_recipe_names_the_host() -> None:
    text = "\n".join(recipe_lines("me@gpu"))
    assert "ssh -N -L PORT:127.0.0.1:PORT me@gpu" in text
    assert "ssh me@gpu dcmview --no-browser" in text


def test_parser_is_argparse() -> None:
    assert isinstance(build_parser(), argparse.ArgumentParser)


def test_remote_names_are_not_looked_up_on_disk(tmp_path: Path) -> None:
    inv = parse_args(["s3://bucket/study/", "https://pacs.example/dicom-web", str(tmp_path)])
    assert inv.remote_inputs
    assert not parse_args([str(tmp_path)]).remote_inputs
    assert parse_args(["--study", "1.2.3", str(tmp_path)]).remote_inputs
    with pytest.raises(ConfigError, match="cannot be used with --tunnel"):
        parse_args(["--tunnel", "--tunnel-host", "gpu", "s3://bucket/x"])


def test_secret_options_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCMVIEW_DICOMWEB_TOKEN", "from-env")
    assert parse_args([str(tmp_path)]).cli.dicomweb_token == "from-env"
    assert parse_args(["--dicomweb-token", "flag", str(tmp_path)]).cli.dicomweb_token == "flag"
