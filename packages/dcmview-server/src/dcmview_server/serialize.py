"""JSON shapes of ``docs/api.md``: files, info, presets (masking applied here).

Every path a response carries goes through `shown_path` (masking, then the one display rule
for names that are not UTF-8), so the file list, labels, skipped files, errors and the CSV
export show the same string for the same file.
"""

from __future__ import annotations

import gzip
import os
from typing import TYPE_CHECKING, Any

from dcmview_core import PRESETS, FileEntry, Window, display_path, syntax_name

from dcmview_server.registry import RegistrySnapshot
from dcmview_server.responses import json_bytes

if TYPE_CHECKING:
    from dcmview_server.state import AppState


def window_json(window: Window | None) -> dict[str, float] | None:
    """``{"center", "width"}`` or None."""
    if window is None:
        return None
    return {"center": float(window.center), "width": float(window.width)}


UNKNOWN_SYNTAX_NAME = "unknown until the first frame"
"""The name shown for a remote instance whose metadata does not give its transfer syntax."""


def transfer_syntax_name(uid: str) -> str:
    """The transfer syntax's name (dcmview-core's decoder table), else the UID itself."""
    return syntax_name(uid) if uid else UNKNOWN_SYNTAX_NAME


def shown_path(state: AppState, path: str) -> str:
    """A path as every response shows it: relative under ``--mask``, then `display_path`."""
    return display_path(state.masker.path(path) if state.masker is not None else path)


def entry_json(entry: FileEntry, state: AppState) -> dict[str, Any]:
    """One ``FilesResponse.files[]`` item, masked under ``--mask``."""
    item: dict[str, Any] = {
        "index": entry.index,
        "path": display_path(entry.path),
        "label": display_path(entry.label),
        "has_pixels": entry.has_pixels,
        "frame_count": entry.frame_count,
        "rows": entry.rows,
        "columns": entry.columns,
        "transfer_syntax_uid": entry.transfer_syntax_uid,
        "photometric_interpretation": entry.photometric_interpretation,
        "modality": entry.modality,
        "patient_id": entry.patient_id,
        "patient_name": entry.patient_name,
        "study_instance_uid": entry.study_instance_uid,
        "study_date": entry.study_date,
        "study_description": entry.study_description,
        "series_instance_uid": entry.series_instance_uid,
        "series_number": entry.series_number,
        "series_description": entry.series_description,
        "view_position": entry.view_position,
        "laterality": entry.laterality,
        "instance_number": entry.instance_number,
        "sop_instance_uid": entry.sop_instance_uid,
        "frame_of_reference_uid": entry.geometry.frame_of_reference_uid if entry.geometry else None,
        "samples_per_pixel": entry.samples_per_pixel,
        "bits_allocated": entry.bits_allocated,
        "default_window": window_json(entry.default_window),
        "support_state": str(entry.support_state),
        "support_reason": entry.support_reason,
    }
    masker = state.masker
    if masker is not None:
        pid = masker.patient_id(entry.patient_id)
        date = masker.date(entry.study_date, entry.patient_id)
        path = shown_path(state, entry.path)
        label = masker.label(pid, entry.modality, date) or os.path.basename(path)
        item.update(
            path=path,
            label=label,
            patient_id=pid,
            patient_name="***" if entry.patient_name else entry.patient_name,
            study_instance_uid=masker.uid(entry.study_instance_uid),
            series_instance_uid=masker.uid(entry.series_instance_uid),
            sop_instance_uid=masker.uid(entry.sop_instance_uid),
            frame_of_reference_uid=masker.uid(item["frame_of_reference_uid"]),
            study_date=date,
        )
    return item


def files_body(state: AppState, since: int) -> bytes:
    """The ``FilesResponse`` JSON bytes, built from per-entry fragments cached by index."""
    return _files_body(state, state.registry.snapshot(since))


def files_response(
    state: AppState, since: int, gzip_ok: bool, with_skipped: bool = False
) -> tuple[bytes, bool]:
    """``(body, gzipped)`` for ``/api/files``; bodies are cached per registry version.

    ``with_skipped`` (``?skipped=1``, rare) adds ``skipped_files`` and is built afresh."""
    snap = state.registry.snapshot(since)
    if with_skipped:
        return _maybe_gzip(_files_body(state, snap, skipped_json(state)), gzip_ok), gzip_ok
    key = (since, snap.version)
    cached = state.files_cache.get(key)
    if cached is None:
        if len(state.files_cache) >= 16:
            state.files_cache.clear()
        cached = (_files_body(state, snap), None)
        state.files_cache[key] = cached
    plain, zipped = cached
    if not gzip_ok or len(plain) <= 1024:
        return plain, False
    if zipped is None:
        zipped = gzip.compress(plain, compresslevel=1, mtime=0)
        state.files_cache[key] = (plain, zipped)
    return zipped, True


def _maybe_gzip(body: bytes, gzip_ok: bool) -> bytes:
    return gzip.compress(body, compresslevel=1, mtime=0) if gzip_ok else body


def skipped_json(state: AppState) -> list[dict[str, str]]:
    """``skipped_files``: each skipped path (as shown) with its kind and one-line reason."""
    return [
        {"path": shown_path(state, s.path), "kind": s.kind, "reason": display_path(s.reason)}
        for s in state.registry.skipped_files()
    ]


def _files_body(
    state: AppState, snap: RegistrySnapshot, skipped: list[dict[str, str]] | None = None
) -> bytes:
    fragments = state.entry_json
    parts = []
    for entry in snap.entries:
        fragment = fragments.get(entry.index)
        if fragment is None:
            fragment = json_bytes(entry_json(entry, state))
            fragments[entry.index] = fragment
        parts.append(fragment)
    facts: dict[str, Any] = {
        "scan_complete": snap.scan_complete,
        "scanned": snap.scanned,
        "skipped": snap.skipped,
        "filtered": snap.filtered,
        "tunnelled": state.config.tunnel_host is not None,
        "tunnel_host": state.config.tunnel_host,
        "server_start_ms": state.server_start_ms,
        "masked": state.masker is not None,
    }
    if skipped is not None:
        facts["skipped_files"] = skipped
    tail = json_bytes(facts)
    return b'{"files":[' + b",".join(parts) + b"]," + tail[1:]


def info(entry: FileEntry) -> dict[str, Any]:
    """The ``/api/file/{i}/info`` body: api.md keys plus the documented extensions (all read
    by discovery into the `FileEntry`: no second read of the file)."""
    spacing = entry.shown_pixel_spacing
    body: dict[str, Any] = {
        "frame_count": entry.frame_count,
        "rows": entry.rows,
        "columns": entry.columns,
        "transfer_syntax": entry.transfer_syntax_uid,
        "transfer_syntax_uid": entry.transfer_syntax_uid,
        "transfer_syntax_name": transfer_syntax_name(entry.transfer_syntax_uid),
        "has_pixels": entry.has_pixels,
        "default_window": window_json(entry.default_window),
        "support_state": str(entry.support_state),
        "support_reason": entry.support_reason,
        "photometric_interpretation": entry.photometric_interpretation,
        "samples_per_pixel": entry.samples_per_pixel,
        "bits_allocated": entry.bits_allocated,
        "bits_stored": entry.bits_stored,
        "pixel_representation": entry.pixel_representation,
        "has_overlay": entry.has_overlay,
        "frame_time_ms": entry.frame_time_ms,
        "pixel_spacing": list(spacing) if spacing is not None else None,
        "window_presets": [
            {"name": w.name, "center": w.center, "width": w.width} for w in entry.window_presets
        ],
    }
    return body


def presets() -> list[dict[str, Any]]:
    """The window presets of dcmview-core (``PRESETS``): the explicit windows only."""
    out = []
    for p in PRESETS:
        if p.window is None:
            continue
        name = f"{p.modality} {p.name}" if p.modality else p.name
        out.append(
            {
                "key": p.key,
                "name": name,
                "center": _number(p.window.center),
                "width": _number(p.window.width),
                "modality": p.modality,
            }
        )
    return out


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)
