"""The CLI called in-process: parsing, usage errors, exit codes, one-line messages."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest
from dcmview_server import ScanSummary, ServerConfig

from dcmview_py import __version__
from dcmview_py.cli import build_parser, main, parse_args, server_config
from dcmview_py.readyline import parse_ready_line
from dcmview_py.remote import recipe_lines, remote_argv, remote_command_line
from dcmview_py.serving import no_files_message, reach_hint, scan_line


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
        (["--port", "70000", "."], "invalid port '70000'"),
        (["--port", "-1", "."], "invalid port"),
        (["--timeout", "0", "."], "--timeout must be a positive number"),
        (["--timeout", "soon", "."], "invalid number of seconds"),
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


def test_defaults_come_from_server_config(tmp_path: Path) -> None:
    ns = parse_args([str(tmp_path)])
    config = server_config(ns, ns.paths)
    defaults = ServerConfig(paths=(str(tmp_path),))
    assert config == defaults


def test_options_reach_server_config(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("anon_dicom_path,ROI_coords\n")
    ns = parse_args(
        [
            "-p", "8123", "--host", "0.0.0.0", "--timeout", "2.5", "--no-recursive",
            "--filter", "modality=CT", "--filter", "patient_id==X", "--annotations", str(csv),
            "--mask", "--cache-budget", "256MiB", "--no-token", "--allow-host", "a.example",
            "--allow-host", "b.example", str(tmp_path),
        ]
    )  # fmt: skip
    config = server_config(ns, ns.paths)
    assert config == ServerConfig(
        paths=(str(tmp_path),), host="0.0.0.0", port=8123, timeout=2.5, recursive=False,
        filters=("modality=CT", "patient_id==X"), annotations=str(csv), mask=True,
        cache_budget=256 * 2**20, no_token=True, allow_hosts=("a.example", "b.example"),
    )  # fmt: skip


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


def test_no_dicom_files_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_text("hello")
    assert main(["--no-browser", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert parse_ready_line(captured.out.splitlines()[0]) is not None
    errors = [ln for ln in captured.err.splitlines() if ln.startswith("dcmview: error:")]
    assert len(errors) == 1
    assert errors[0].startswith("dcmview: error: no DICOM files found (")
    assert "a.txt" in errors[0]


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
    summary = ScanSummary(loaded=3, skipped=1, filtered=0, paths=2, skip_reasons=["a: not DICOM"])
    assert scan_line(summary) == "dcmview: loaded 3 DICOM file(s) from 2 path(s) (1 skipped)"
    assert reach_hint(8765).startswith(
        "dcmview: to view from another machine: ssh -L 8765:127.0.0.1:8765 "
    )
    many = ScanSummary(0, 7, 0, 1, [f"f{i}: not DICOM" for i in range(7)])
    assert no_files_message(many) == (
        "no DICOM files found (f0: not DICOM; f1: not DICOM; f2: not DICOM; f3: not DICOM; "
        "f4: not DICOM; and 2 more)"
    )


def test_remote_argv_passes_options_as_separate_arguments() -> None:
    ns = parse_args(
        [
            "--tunnel", "--tunnel-host", "me@gpu:2222", "--remote-command", "~/venv/bin/dcmview -q",
            "--filter", "modality=MG", "--timeout", "30", "--mask", "--no-recursive",
            "--", "/data/a b", "-weird-name",
        ]
    )  # fmt: skip
    argv = remote_argv(ns, "gpu")
    assert argv[:6] == ["--no-browser", "--port", "0", "--tunnelled-from", "gpu", "--timeout"]
    assert argv[-3:] == ["--", "/data/a b", "-weird-name"]
    assert argv[argv.index("--filter") : argv.index("--filter") + 2] == ["--filter", "modality=MG"]
    assert "--mask" in argv
    assert "--no-recursive" in argv
    line = remote_command_line(ns, "gpu")
    assert line.startswith("~/venv/bin/dcmview -q --no-browser --port 0 --tunnelled-from gpu ")
    assert line.endswith(" -- '/data/a b' -weird-name")


def test_recipe_names_the_host() -> None:
    text = "\n".join(recipe_lines("me@gpu"))
    assert "ssh -N -L PORT:127.0.0.1:PORT me@gpu" in text
    assert "ssh me@gpu dcmview --no-browser" in text


def test_parser_is_argparse() -> None:
    assert isinstance(build_parser(), argparse.ArgumentParser)
