"""dcmview-py: the ``dcmview`` command, ``view()`` for scripts and notebooks, remote viewing.

``import dcmview_py`` stays cheap (the CLI's ``--help`` must start fast): ``view`` and friends
are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dcmview_py.viewer import DcmviewStartError, ViewerHandle, view

__all__ = ["DcmviewStartError", "ViewerHandle", "__version__", "view"]


def __getattr__(name: str) -> Any:
    if name in ("view", "ViewerHandle", "DcmviewStartError"):
        import importlib

        return getattr(importlib.import_module("dcmview_py.viewer"), name)
    raise AttributeError(f"module 'dcmview_py' has no attribute {name!r}")
