"""Window Center/Width parsing (PS3.3 C.11.2.1.2), the one rule for every reader.

Centres, widths and their explanations pair by position: the i-th centre goes with the i-th
width. A pair whose centre or width is not a finite number, or whose width is not positive,
is dropped on its own; the pairs after it keep their partners (a bad value never shifts the
pairing). Values arrive as raw bytes (the lean header reader), strings, pydicom numbers or
multi-values; all go through `parse_windows`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from dcmview_core.model import NamedWindow, Window

__all__ = ["float_values", "named_windows", "parse_windows"]


def float_values(value: Any) -> list[float | None]:
    """Each value of a DS/FD/IS attribute as a float, None where it is not a finite number
    (raw bytes, a backslash-separated string, a number or a multi-value)."""
    if value is None:
        return []
    if isinstance(value, bytes | bytearray):
        try:  # the common case: every value a plain number (float() takes bytes, spaces)
            numbers = [float(v) for v in value.split(b"\\")]
        except ValueError:
            value = bytes(value).decode("latin-1")
        else:
            if all(map(math.isfinite, numbers)):
                return list(numbers)
            return [n if math.isfinite(n) else None for n in numbers]
    if isinstance(value, str):
        if not value.strip(" \x00"):
            return []
        items: Iterable[Any] = value.split("\\")
    elif isinstance(value, int | float):
        items = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            items = [value]
    out: list[float | None] = []
    for item in items:
        try:
            number = float(item.strip(" \x00") if isinstance(item, str) else item)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(number if math.isfinite(number) else None)
    return out


def parse_windows(centers: Any, widths: Any) -> tuple[Window, ...]:
    """The valid Window Center/Width pairs, in order (see the module rule)."""
    return tuple(
        Window(c, w)
        for c, w in zip(float_values(centers), float_values(widths), strict=False)
        if c is not None and w is not None and w > 0
    )


def named_windows(centers: Any, widths: Any, explanations: Any = None) -> tuple[NamedWindow, ...]:
    """The valid pairs with their explanation (``File window N``, 1-based, when absent)."""
    if centers is None or widths is None:
        return ()
    if type(centers) is bytes and type(widths) is bytes and b"\\" not in centers + widths:
        # one pair, the common case: no lists to build
        try:
            c, w = float(centers), float(widths)
        except ValueError:
            pass
        else:
            if not (math.isfinite(c) and w > 0 and math.isfinite(w)):
                return ()
            name = (
                (explanations or "").split("\\")[0].strip() if isinstance(explanations, str) else ""
            )
            return (NamedWindow(name or "File window 1", c, w),)
    if explanations is None:
        names: list[str] = []
    elif isinstance(explanations, str | bytes):
        text = explanations.decode("latin-1") if isinstance(explanations, bytes) else explanations
        names = text.split("\\")
    else:
        names = [str(n) for n in explanations]
    out = []
    pairs = zip(float_values(centers), float_values(widths), strict=False)
    for i, (center, width) in enumerate(pairs):
        if center is None or width is None or not width > 0:
            continue
        name = names[i].strip() if i < len(names) else ""
        out.append(NamedWindow(name or f"File window {i + 1}", center, width))
    return tuple(out)
