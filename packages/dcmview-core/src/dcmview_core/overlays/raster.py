"""Polygon filling on the pixel grid (pure numpy).

Coordinates are ``(column, row)`` in pixel units with pixel centres at integers (the DICOM
convention: ImagePositionPatient is the centre of the first pixel). A pixel is inside when its
centre is inside by the even-odd rule over all the polygons given together (so a contour
inside another makes a hole). Edges are half-open so shapes tile without double counting: a
centre exactly on a left or top edge is inside, on a right or bottom edge outside (the
square with corners (10, 10) and (20, 20) covers columns and rows 10 to 19: 100 pixels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def fill_polygons(
    polygons: Sequence[NDArray[np.float64]], rows: int, columns: int
) -> NDArray[np.bool_]:
    """Fill closed polygons (each ``(n, 2)`` as ``(column, row)``) on a ``rows × columns`` grid.

    The closing edge from the last vertex back to the first is implied (a repeated first
    vertex is harmless). Works by scanlines: each edge crossing the centre line of a row
    toggles the parity of every pixel centre at or right of the crossing.
    """
    out = np.zeros((rows, columns), dtype=bool)
    starts = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons]
    starts = [p for p in starts if len(p) >= 3]
    if not starts or rows <= 0 or columns <= 0:
        return out
    a = np.concatenate(starts)
    b = np.concatenate([np.roll(p, -1, axis=0) for p in starts])
    x0, y0, x1, y1 = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
    # rows r with min(y) <= r < max(y): the half-open rule skips horizontal edges
    lo = np.clip(np.ceil(np.minimum(y0, y1)), 0, rows).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(y0, y1)), 0, rows).astype(np.int64)
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total == 0:
        return out
    edge = np.repeat(np.arange(len(a)), counts)
    first = np.cumsum(counts) - counts
    row = lo[edge] + (np.arange(total) - first[edge])
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (x1 - x0) / (y1 - y0)
    x = x0[edge] + (row - y0[edge]) * slope[edge]
    # a crossing at x toggles every centre c >= x, that is c >= ceil(x)
    col = np.clip(np.ceil(x), 0, columns).astype(np.int64)
    width = columns + 1
    toggles = np.bincount(row * width + col, minlength=rows * width).reshape(rows, width)
    parity = np.cumsum(toggles[:, :columns], axis=1) & 1
    out[:] = parity.astype(bool)
    return out
