"""The background scan: dcmview-core discovery streamed into the `Registry`."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from dcmview_core import FileEntry, Filter, Skipped, UsageError, parse_filter, scan

from dcmview_server.config import ConfigError, ServerConfig
from dcmview_server.registry import Registry, SkippedFile


def parse_filters(texts: Sequence[str]) -> tuple[Filter, ...]:
    """Parse ``FIELD=VALUE`` / ``FIELD==VALUE`` strings; a bad one is a `ConfigError`."""
    filters = []
    for text in texts:
        try:
            filters.append(parse_filter(text))
        except (UsageError, ValueError) as error:
            raise ConfigError(f"bad --filter {text!r}: {error}") from error
    return tuple(filters)


def skipped_file(skipped: Skipped) -> SkippedFile:
    """The registry's record of a skipped path: reason ``not DICOM (no DICM magic)``."""
    return SkippedFile(skipped.path, skipped.kind, skipped.message)


def run_scan(
    config: ServerConfig,
    filters: Sequence[Filter],
    registry: Registry,
    stop: threading.Event,
) -> None:
    """Stream discovery into ``registry`` until done or ``stop`` is set."""
    stream = scan(config.paths, recursive=config.recursive, filters=filters)
    try:
        for item in stream:
            if stop.is_set():
                return
            if isinstance(item, FileEntry):
                registry.add(item)
            elif item.reason == "filtered":
                registry.add_filtered()
            else:
                registry.add_skipped(skipped_file(item))
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
