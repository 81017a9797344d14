"""The ``dcmview`` command: ``main(argv) -> int``.

The options are declared once (`dcmview_py.options`); this module runs what they ask for.
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

from dcmview_server.config import ConfigError

from dcmview_py import __version__
from dcmview_py.options import ExitRequest, Invocation, parse
from dcmview_py.output import PROG, error, line_buffered, say

EPILOG = textwrap.dedent(
    """\
    examples:
      dcmview ./study                         view a directory (recursively) in the browser
      dcmview scan.dcm other.dcm --no-browser print the URL instead of opening a browser
      dcmview /data --filter modality=MG --filter patient_id==P001
                                              only mammograms of patient P001 (== exact)
      dcmview /data --annotations rois.csv    overlay EMBED ROI boxes from a CSV
      dcmview /data --save-annotations mine.csv
                                              keep every ROI edit in mine.csv as you draw
      dcmview /data --port 8765 --timeout 600 fixed port; exit after 10 idle minutes
      dcmview /data --unix-socket /tmp/dcmview.sock
                                              listen on a private Unix socket, not TCP
      dcmview --demo                          a built-in synthetic study, no files needed
      dcmview --tunnel --tunnel-host me@gpu-server /data/study
                                              view files that live on another machine

    exit status: 0 after Ctrl+C or the idle timeout; 2 for usage errors (bad option, missing
    path, bad --filter, unreadable or malformed --annotations CSV, port in use); 1 otherwise
    (no DICOM files found, ...).
    """
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, derived from the option declarations."""
    from dcmview_py.options import build_parser as derive

    return derive(
        description="View DICOM files in the browser: a local viewer protected by a random "
        "access\ntoken, for files, directories, or files on another machine over SSH.",
        epilog=EPILOG,
        usage="%(prog)s [OPTIONS] PATH [PATH ...]\n       %(prog)s --demo [OPTIONS]",
        version=__version__,
    )


def parse_args(argv: Sequence[str]) -> Invocation:
    """Parse and cross-check ``argv``; raise `ConfigError` for any usage problem."""
    return parse(build_parser(), argv)


def _is_usage_error(exc: BaseException) -> bool:
    """`ConfigError`, or dcmview-core's `UsageError` (checked without importing core)."""
    if isinstance(exc, ConfigError):
        return True
    core = sys.modules.get("dcmview_core.errors")
    return core is not None and isinstance(exc, core.UsageError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dcmview`` command; return the exit status."""
    # before numpy is imported: THP compaction costs more than it saves per frame
    # (docs/performance.md); a user's own setting is kept
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    # OpenBLAS starts a thread per core and its buffers at numpy's import (≈ 50 ms of the
    # start); dcmview's only matrix products are N×3 @ 3×3, faster on one thread
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    line_buffered()
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        inv = parse_args(args)
        if inv.cli.tunnel:
            from dcmview_py.remote import run_tunnel

            return run_tunnel(inv)
        return run_local(inv)
    except ExitRequest as exc:
        return exc.status
    except KeyboardInterrupt:
        say(f"{PROG}: interrupted, stopped")
        return 0
    except Exception as exc:  # one line, no traceback, for any failure
        if _is_usage_error(exc):
            error(str(exc))
            return 2
        if os.environ.get("DCMVIEW_DEBUG"):
            raise
        error(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))
        return 1


def run_local(inv: Invocation) -> int:
    """Serve the paths (or the demo study) here until Ctrl+C, idle timeout or stdin EOF."""
    import dataclasses

    from dcmview_py.serving import serve_with_output

    config, cli = inv.server, inv.cli
    with contextlib.ExitStack() as stack:
        if cli.remove_on_exit is not None:
            stack.callback(remove_private_dir, cli.remove_on_exit)
        if cli.demo:
            from dcmview_py.demo import demo_study

            study = stack.enter_context(demo_study())
            config = dataclasses.replace(
                config,
                paths=(study.directory,),
                annotations=config.annotations or study.annotations,
            )
        elif inv.remote_inputs:
            config = dataclasses.replace(config, paths=tuple(resolve_remote_inputs(inv)))
        return serve_with_output(
            config,
            browser=cli.browser,
            verbose=cli.verbose,
            exit_on_eof=cli.exit_on_eof or config.tunnel_host is not None,
        )


def resolve_remote_inputs(inv: Invocation) -> list[str]:
    """Expand and check DICOMweb/object-storage inputs (dcmview-core's remote sources)."""
    from dcmview_core import prepare_inputs

    cli = inv.cli
    paths: list[str] = prepare_inputs(
        list(inv.server.paths),
        studies=list(cli.studies),
        queries=list(cli.queries),
        limit=cli.query_limit,
        token=cli.dicomweb_token,
        s3_endpoint=cli.s3_endpoint,
    )
    return paths


def remove_private_dir(path: str) -> None:
    """Delete a ``view()`` temporary directory (only one named ``dcmview-view-*``)."""
    import shutil
    from pathlib import Path

    if Path(path).name.startswith("dcmview-view-"):
        shutil.rmtree(path, ignore_errors=True)
