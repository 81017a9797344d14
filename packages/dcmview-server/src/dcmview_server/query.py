"""Strict parsing of path indices and query values: anything odd is ``400 invalid_query``."""

from __future__ import annotations

import math
import re

from sanic import Request

from dcmview_server.errors import ApiError

_DIGITS = re.compile(r"^[0-9]{1,9}$")
_INT = re.compile(r"^-?[0-9]{1,12}$")
_FLAGS = {"1": True, "true": True, "0": False, "false": False}
_FLOAT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$")


def path_index(text: str, what: str = "file") -> int:
    """A non-negative path index; anything else is ``404 not_found`` (never another file)."""
    if not _DIGITS.match(text):
        raise ApiError("not_found", f"no {what} with index {text[:40]!r}")
    return int(text)


def _single(request: Request, name: str) -> str | None:
    if not request.query_string:
        return None  # the common case: no query at all, nothing to parse
    values = request.get_args(keep_blank_values=True).getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError("invalid_query", f"query parameter {name!r} is given more than once")
    return str(values[0])


def int_arg(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    """An integer query value within ``[lo, hi]``; ``default`` when absent."""
    text = _single(request, name)
    if text is None:
        return default
    if not _INT.match(text.strip()):
        raise ApiError("invalid_query", f"{name} must be an integer, not {text[:40]!r}")
    value = int(text)
    if not lo <= value <= hi:
        raise ApiError("invalid_query", f"{name} must be between {lo} and {hi}, not {value}")
    return value


def float_arg(request: Request, name: str) -> float | None:
    """A finite float query value, or None when absent."""
    text = _single(request, name)
    if text is None:
        return None
    if not _FLOAT.match(text.strip()):
        raise ApiError("invalid_query", f"{name} must be a finite number, not {text[:40]!r}")
    value = float(text)
    if not math.isfinite(value) or abs(value) > 1e12:
        raise ApiError("invalid_query", f"{name} must be a finite number, not {text[:40]!r}")
    return value


def str_arg(request: Request, name: str, default: str | None = None) -> str | None:
    """A string query value (given at most once)."""
    text = _single(request, name)
    return default if text is None else text


def flag_arg(request: Request, name: str) -> bool:
    """A boolean query value: ``1``/``true`` or ``0``/``false``; False when absent."""
    text = _single(request, name)
    if text is None:
        return False
    if text not in _FLAGS:
        raise ApiError("invalid_query", f"{name} must be 1, 0, true or false, not {text[:40]!r}")
    return _FLAGS[text]


def choice_arg(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices``; anything else is ``400 invalid_query``."""
    text = _single(request, name)
    if text is None:
        return default
    if text not in choices:
        raise ApiError(
            "invalid_query", f"{name} must be one of {', '.join(choices)}, not {text[:40]!r}"
        )
    return text


def window_args(request: Request) -> tuple[float | None, float | None]:
    """``wc`` and ``ww``: both or neither, finite, ``ww > 0``."""
    wc = float_arg(request, "wc")
    ww = float_arg(request, "ww")
    if (wc is None) != (ww is None):
        raise ApiError("invalid_query", "wc and ww must be given together")
    if ww is not None and ww <= 0:
        raise ApiError("invalid_query", f"ww must be greater than 0, not {ww}")
    return wc, ww
