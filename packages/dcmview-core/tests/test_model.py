from __future__ import annotations

import dcmview_core
from dcmview_core import FrameOutOfRange, PixelError, SupportState, UsageError


def test_support_states_serialize_as_api_strings() -> None:
    assert [s.value for s in SupportState] == ["renderable", "metadata_only", "unsupported"]


def test_error_tree() -> None:
    assert issubclass(FrameOutOfRange, PixelError)
    assert issubclass(UsageError, ValueError)
    assert dcmview_core.__version__
