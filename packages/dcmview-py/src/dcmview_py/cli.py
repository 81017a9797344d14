"""The ``dcmview`` command: ``main(argv) -> int``.

Heavy modules (the server, pydicom, paramiko) are imported only once the arguments are valid,
so ``dcmview --help`` and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from dcmview_py import __version__

if TYPE_CHECKING:
    from dcmview_server.config import ServerConfig

PROG = "dcmview"

EPILOG = textwrap.dedent(
    """\
    examples:
      dcmview ./study                         view a directory (recursively) in the browser
      dcmview scan.dcm other.dcm --no-browser print the URL instead of opening a browser
      dcmview /data --filter modality=MG --filter patient_id==P001
                                              only mammograms of patient P001 (== exact)
      dcmview /data --annotations rois.csv    overlay EMBED ROI boxes from a CSV
      dcmview /data --port 8765 --timeout 600 fixed port; exit after 10 idle minutes
      dcmview /data --unix-socket /tmp/dcmview.sock
                                              listen on a private Unix socket, not TCP
      dcmview --demo                          a built-in synthetic study, no files needed
      dcmview --tunnel --tunnel-host me@gpu-server /data/study
                                              view files that live on another machine

    exit status: 0 after Ctrl+C or the idle timeout; 2 for usage errors (bad option, missing
    path, bad --filter, unreadable or malformed --annotations CSV, port in use); 1 otherwise.
    """
)


class UsageError(Exception):
    """A command-line problem: exit status 2 with a one-line message."""


class _ExitError(Exception):  # --help/--version: argparse wants to exit
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting (one-line errors)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise _ExitError(status)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected 0..65535")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"--timeout must be a positive number, got {text!r}")
    return value


def _filter(text: str) -> str:
    field, sep, _value = text.partition("=")
    if not sep or not field.strip() or field.strip() != field:
        raise argparse.ArgumentTypeError(
            f"invalid filter {text!r}: expected FIELD=VALUE or FIELD==VALUE"
        )
    return text


def _size(text: str) -> int:
    from dcmview_server.config import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _nonempty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (defaults come from ``dcmview_server.config``)."""
    from dcmview_server.config import DEFAULT_CACHE_BUDGET, DEFAULT_HOST

    p = _Parser(
        prog=PROG,
        usage="%(prog)s [OPTIONS] PATH [PATH ...]\n       %(prog)s --demo [OPTIONS]",
        description="View DICOM files in the browser: a local viewer protected by a random access\n"
        "token, for files, directories, or files on another machine over SSH.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="DICOM files or directories")
    p.add_argument(
        "--demo",
        action="store_true",
        help="view a built-in synthetic study "
        "(written to a private temporary directory, removed on exit)",
    )
    net = p.add_argument_group("server")
    net.add_argument(
        "-p",
        "--port",
        type=_port,
        default=0,
        metavar="N",
        help="bind port; 0 lets the OS choose (default: 0)",
    )
    net.add_argument(
        "--host",
        default=DEFAULT_HOST,
        metavar="ADDR",
        help=f"bind address (default: {DEFAULT_HOST}); a non-loopback address "
        "exposes the viewer to the network and prints a warning",
    )
    net.add_argument(
        "--unix-socket",
        metavar="PATH",
        help="listen on a private (0600) Unix socket instead of TCP",
    )
    net.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening a browser"
    )
    net.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="exit after this many seconds with no API or page request, e.g. --timeout 600",
    )
    net.add_argument(
        "--no-token",
        action="store_true",
        help="serve without the access token (only behind an authenticating proxy)",
    )
    net.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        type=_nonempty,
        help="extra Host header name to accept (reverse proxies); repeatable",
    )
    net.add_argument(
        "--cache-budget",
        type=_size,
        default=DEFAULT_CACHE_BUDGET,
        metavar="SIZE",
        help="memory for decoded and encoded frame caches, e.g. 256MiB, 2GiB "
        "or bytes (default: 512MiB)",
    )
    files = p.add_argument_group("files")
    files.add_argument(
        "--no-recursive", action="store_true", help="only the top level of directories"
    )
    files.add_argument(
        "--filter",
        action="append",
        default=[],
        type=_filter,
        metavar="FIELD=VALUE",
        help="repeatable, all must match; case-insensitive substring on "
        "patient_id, patient_name, study_date, study_description, study_uid, "
        "series_description, series_number, series_uid, modality or any DICOM "
        "keyword; FIELD==VALUE matches exactly. e.g. --filter modality=MG",
    )
    files.add_argument(
        "--annotations",
        metavar="CSV",
        help="EMBED ROI CSV (anon_dicom_path, ROI_coords, ...) shown as boxes; "
        "read once, never modified",
    )
    files.add_argument(
        "--mask",
        action="store_true",
        help="hide patient identifiers everywhere the viewer shows them",
    )
    tun = p.add_argument_group(
        "remote viewing over SSH",
        "SSH goes through paramiko (agent, ~/.ssh keys, ssh_config, known_hosts; unknown host\n"
        "keys are refused), else the system ssh (ProxyJump, hardware keys, ...);\n"
        "DCMVIEW_SSH_BACKEND=paramiko|ssh forces one.",
    )
    tun.add_argument(
        "--tunnel",
        action="store_true",
        help="start dcmview on --tunnel-host over SSH and view it through a local "
        "port forward; PATHs are paths on that host",
    )
    tun.add_argument(
        "--tunnel-host",
        metavar="[USER@]HOST",
        type=_nonempty,
        help="SSH target (an ssh_config alias works); required with --tunnel",
    )
    tun.add_argument(
        "--tunnel-port",
        type=_port,
        default=0,
        metavar="N",
        help="local port of the forward; 0 = the remote server's port when free, "
        "else any (default: 0)",
    )
    tun.add_argument(
        "--remote-command",
        default="dcmview",
        metavar="CMD",
        type=_nonempty,
        help="how to start dcmview on the tunnel host, as its shell reads it, e.g. "
        "'~/venv/bin/dcmview' or 'conda run -n imaging dcmview' (default: dcmview)",
    )
    tun.add_argument(
        "--ssh-config",
        metavar="FILE",
        help="ssh_config file to read instead of ~/.ssh/config (both backends)",
    )
    p.add_argument("--tunnelled-from", metavar="HOST", help=argparse.SUPPRESS)
    p.add_argument("--exit-on-eof", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--remove-on-exit", metavar="DIR", help=argparse.SUPPRESS)  # view()'s temp dir
    p.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version and exit",
    )
    return p


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and cross-check ``argv``; raise :class:`UsageError` for bad combinations."""
    parser = build_parser()
    ns = parser.parse_args(list(argv))
    if ns.demo and ns.paths:
        raise UsageError("--demo takes no PATH")
    if not ns.demo and not ns.paths:
        raise UsageError("missing PATH (a DICOM file or directory), or use --demo")
    if ns.tunnel_host is not None and not ns.tunnel:
        raise UsageError("--tunnel-host needs --tunnel")
    if ns.tunnel:
        if ns.tunnel_host is None:
            raise UsageError("--tunnel needs --tunnel-host [USER@]HOST")
        from dcmview_tunnel.target import parse_target

        try:
            parse_target(ns.tunnel_host)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if ns.unix_socket:
            raise UsageError("--unix-socket cannot be used with --tunnel")
        if ns.host != parser.get_default("host"):
            raise UsageError("--host cannot be used with --tunnel (the forward is local only)")
        if ns.ssh_config is not None and not os.path.isfile(ns.ssh_config):
            raise UsageError(f"--ssh-config file not found: {ns.ssh_config}")
    else:
        for name in ("ssh_config", "tunnel_port", "remote_command"):
            if getattr(ns, name) != parser.get_default(name):
                raise UsageError(f"--{name.replace('_', '-')} needs --tunnel")
        for path in ns.paths:
            if not os.path.lexists(path):
                raise UsageError(f"path not found: {path}")
        if ns.annotations is not None and not os.path.exists(ns.annotations):
            raise UsageError(f"--annotations CSV not found: {ns.annotations}")
    if ns.unix_socket is not None and ns.port:
        raise UsageError("--port cannot be used with --unix-socket")
    return ns


def say(line: str, stream: TextIO | None = None) -> None:
    """Print one line and flush it at once (startup lines are read by other programs)."""
    out = sys.stdout if stream is None else stream
    out.write(line + "\n")
    out.flush()


def error(message: str) -> None:
    """Print the one-line ``dcmview: error: …`` message on stderr."""
    say(f"{PROG}: error: {' '.join(message.split())}", sys.stderr)


def _line_buffered() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(line_buffering=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dcmview`` command; return the exit status."""
    _line_buffered()
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        ns = parse_args(args)
    except _ExitError as exc:
        return exc.status
    except UsageError as exc:
        error(str(exc))
        return 2
    try:
        if ns.tunnel:
            from dcmview_py.remote import run_tunnel

            return run_tunnel(ns)
        return run_local(ns)
    except UsageError as exc:
        error(str(exc))
        return 2
    except KeyboardInterrupt:
        say(f"{PROG}: interrupted, stopped")
        return 0
    except Exception as exc:  # one line, no traceback, for any failure
        if os.environ.get("DCMVIEW_DEBUG"):
            raise
        error(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))
        return 1


def server_config(ns: argparse.Namespace, paths: Sequence[str]) -> ServerConfig:
    """The :class:`ServerConfig` for parsed options."""
    from dcmview_server.config import ServerConfig

    return ServerConfig(
        paths=tuple(paths),
        host=ns.host,
        port=ns.port,
        unix_socket=ns.unix_socket,
        timeout=ns.timeout,
        recursive=not ns.no_recursive,
        filters=tuple(ns.filter),
        annotations=ns.annotations,
        mask=ns.mask,
        cache_budget=ns.cache_budget,
        no_token=ns.no_token,
        allow_hosts=tuple(ns.allow_host),
        tunnel_host=ns.tunnelled_from,
    )


def run_local(ns: argparse.Namespace) -> int:
    """Serve the paths (or the demo study) here until Ctrl+C, idle timeout or stdin EOF."""
    import tempfile

    with contextlib.ExitStack() as stack:
        paths: list[str] = list(ns.paths)
        if ns.remove_on_exit is not None:
            stack.callback(remove_private_dir, ns.remove_on_exit)
        if ns.demo:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dcmview-demo-"))
            study, csv = write_demo_study(tmp)
            paths = [study]
            if ns.annotations is None and csv is not None:
                ns.annotations = csv
        from dcmview_py.serving import serve_with_output

        return serve_with_output(
            server_config(ns, paths),
            browser=not ns.no_browser,
            exit_on_eof=ns.exit_on_eof or ns.tunnelled_from is not None,
        )


def write_demo_study(directory: str) -> tuple[str, str | None]:
    """Write the demo study below ``directory``; return (study dir, annotations CSV or None).

    The CSV is moved beside the study so that the scan does not count it as a skipped file.
    """
    from pathlib import Path

    from dcmview_core.demo import write_demo

    study = Path(directory) / "study"
    csvs = [path for path in write_demo(study) if path.suffix.lower() == ".csv"]
    if not csvs:
        return str(study), None
    moved = Path(directory) / csvs[0].name
    csvs[0].replace(moved)
    return str(study), str(moved)


def remove_private_dir(path: str) -> None:
    """Delete a ``view()`` temporary directory (only one named ``dcmview-view-*``)."""
    import shutil
    from pathlib import Path

    if Path(path).name.startswith("dcmview-view-"):
        shutil.rmtree(path, ignore_errors=True)
