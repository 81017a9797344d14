"""Remote sources: DICOMweb servers (QIDO-RS, WADO-RS) and object storage (S3, GCS, HTTP).

`install` (called by ``dcmview_core`` on import) registers byte-source openers and listers for
``dicomweb://``, ``s3://``, ``gs://``, ``http(s)://`` names with `dcmview_core.source`; the
network libraries (httpx, fsspec + s3fs/gcsfs, the ``[dicomweb]``, ``[s3]``, ``[gcs]`` extras)
are imported only when such a name is used. `prepare_inputs` turns the command line's remote
inputs into names discovery scans, checking each once so failures are one line at start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from dcmview_core import source as _source
from dcmview_core.errors import UsageError
from dcmview_core.remote.errors import UpstreamError

__all__ = [
    "UpstreamError",
    "configure",
    "install",
    "is_remote",
    "list_remote",
    "open_remote",
    "prepare_inputs",
]

_REMOTE = re.compile(r"^(dicomweb|s3|gs|gcs|https?)://", re.IGNORECASE)
SCHEMES = ("dicomweb", "s3", "gs", "gcs", "http", "https")


def is_remote(name: str) -> bool:
    """Whether *name* is a remote source (``dicomweb://``, ``s3://``, ``gs://``, ``http(s)://``)."""
    return _REMOTE.match(name) is not None


def configure(*, token: str | None = None, s3_endpoint: str | None = None) -> None:
    """Set the DICOMweb bearer token and the S3 endpoint for this process (never logged)."""
    if token is not None:
        from dcmview_core.remote import _http

        _http.settings.token = token
        _http.reset_clients()
    if s3_endpoint is not None:
        from dcmview_core.remote import objectstore

        objectstore.settings.s3_endpoint = s3_endpoint
        objectstore.reset_filesystems()


def _is_dicomweb(name: str) -> bool:
    if name.lower().startswith("dicomweb://"):
        return True
    from dcmview_core.remote.dicomweb import is_dicomweb_url

    return is_dicomweb_url(name)


def open_remote(name: str) -> _source.ByteSource:
    """The byte source for a remote *name* (the opener registered for every remote scheme)."""
    if name.lower().startswith("dicomweb://"):
        from dcmview_core.remote.dicomweb import open_instance

        return open_instance(name)
    from dcmview_core.remote.objectstore import open_object

    return open_object(name)


def list_remote(name: str) -> Iterator[str]:
    """Source names under a remote input, in discovery order (the registered lister)."""
    if _is_dicomweb(name):
        from dcmview_core.remote.dicomweb import list_instances

        return list_instances(name)
    from dcmview_core.remote.objectstore import list_objects

    return list_objects(name)


def install() -> None:
    """Register the remote openers (and listers, where `dcmview_core.source` has the hook)."""
    register_lister = getattr(_source, "register_lister", None)
    for scheme in SCHEMES:
        _source.register_scheme(scheme, open_remote)
        if register_lister is not None:
            register_lister(scheme, list_remote)


def prepare_inputs(
    paths: Sequence[str],
    *,
    studies: Sequence[str] = (),
    queries: Sequence[str] = (),
    limit: int = 100,
    token: str | None = None,
    s3_endpoint: str | None = None,
) -> list[str]:
    """The names to scan: local paths unchanged, each remote input checked and expanded.

    A DICOMweb service root with ``studies`` / ``queries`` (``KEY=VALUE``) becomes one
    ``ROOT/studies/UID`` URL per study; a URL naming a study or series is checked to exist;
    an object-store prefix is checked to list. Any failure is a one-line `UsageError`.
    """
    configure(token=token, s3_endpoint=s3_endpoint)
    pairs = []
    for text in queries:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad --query {text!r}: expected KEY=VALUE (e.g. PatientID=P001)")
        pairs.append((key.strip(), value.strip()))
    out: list[str] = []
    used_root = False
    for name in paths:
        if not is_remote(name):
            out.append(name)
            continue
        try:
            if _is_dicomweb(name) or ((studies or pairs) and name.lower().startswith("http")):
                from dcmview_core.remote import dicomweb

                target = dicomweb.parse_target(name)
                if target.study is None and (studies or pairs):
                    used_root = True
                    for uid in studies:
                        out += dicomweb.check(dicomweb.Target(target.root, study=uid), limit)
                    if pairs:
                        query = dicomweb.Target(target.root, query=tuple(pairs))
                        out += dicomweb.check(query, limit)
                else:
                    out += dicomweb.check(target, limit)
            else:
                from dcmview_core.remote import objectstore

                objectstore.check(name)
                out.append(name)
        except ImportError as exc:  # an extra is missing
            extras = "pip install 'dcmview-core[dicomweb,s3]'"
            raise UsageError(f"{name}: needs {exc.name}: {extras}") from None
    if (studies or pairs) and not used_root:
        raise UsageError(
            "--study and --query need a DICOMweb service root URL (http://host/dicom-web)"
        )
    return out
