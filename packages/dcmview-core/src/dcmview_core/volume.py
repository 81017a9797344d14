"""Volumes: the slices of a stack as one ``(slices, rows, columns)`` array, and its reformats.

`build_volume` reads every slice through `dcmview_core.frames.read_frame` (so every transfer
syntax the viewer decodes works in a volume) and keeps one array of stored samples with a common
rescale. When the slices' rescales differ, the samples are brought to a common one: exactly, by
integer offsets, when every slope is the same and the intercepts differ by whole multiples of
it (and the result fits an integer type); else as float32 modality values (slope 1, intercept
0). Values are never clipped.

A volume may cover only part of the rows or columns (``rows=``/``columns=``): a *strip*, which
answers the reformats inside it when the whole volume would not fit the cache budget.

`Volume.plane(axis, k)` is a strided copy (``docs/api.md`` axes): axis 0 is slice ``k``, axis 1
the plane of constant row ``k`` (``slices × columns``), axis 2 of constant column ``k``
(``slices × rows``); row ``r`` of a reformat is slice ``r``. `Volume.frame` wraps a plane in a
`Frame` so the display and raw pipelines treat it like any decoded frame.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from dcmview_core.errors import DecodeError, FrameOutOfRange, UsageError
from dcmview_core.frames import Frame, FrameMeta
from dcmview_core.present import apply_modality_lut

__all__ = ["Volume", "build_volume", "voxel_bytes"]

SliceReader = Callable[[int], Frame]


@dataclass(frozen=True, slots=True)
class Volume:
    """Stored samples of a stack (or a strip of it) with one rescale for every voxel."""

    voxels: np.ndarray
    """``(slices, rows, columns)`` C-contiguous; integer stored values or float32."""
    rescale_slope: float
    rescale_intercept: float
    spacing: tuple[float, float, float]
    """``(slice, row, column)`` mm of the whole stack."""
    template: FrameMeta
    """Metadata of the middle slice: window, VOI function, photometric interpretation."""
    row_offset: int = 0
    """First row of the stack this (strip) volume holds."""
    column_offset: int = 0
    full_shape: tuple[int, int, int] = (0, 0, 0)
    """``(slices, rows, columns)`` of the whole stack."""

    @property
    def nbytes(self) -> int:
        """Bytes of the voxels (what the cache counts, plus a little for the object)."""
        return int(self.voxels.nbytes)

    def extent(self, axis: int) -> int:
        """Planes along ``axis`` in the whole stack (slices, rows or columns)."""
        _check_axis(axis)
        return self.full_shape[axis]

    def covers(self, axis: int, k: int) -> bool:
        """Whether plane ``k`` of ``axis`` lies inside this (strip) volume."""
        _check_axis(axis)
        lo = (0, self.row_offset, self.column_offset)[axis]
        return lo <= k < lo + int(self.voxels.shape[axis])

    def plane(self, axis: int, k: int) -> np.ndarray:
        """Plane ``k`` of ``axis`` as a new C-contiguous 2-D array (see the module doc)."""
        if not 0 <= k < self.extent(axis):
            raise FrameOutOfRange(
                f"plane {k} of axis {axis} is out of range: the stack has "
                f"{self.extent(axis)}, numbered from 0"
            )
        if not self.covers(axis, k):
            raise UsageError(f"plane {k} of axis {axis} is outside this strip of the volume")
        v = self.voxels
        if axis == 0:
            return np.array(v[k])
        if axis == 1:
            return np.ascontiguousarray(v[:, k - self.row_offset, :])
        return np.ascontiguousarray(v[:, :, k - self.column_offset])

    def plane_spacing(self, axis: int) -> tuple[float, float]:
        """``(row_mm, column_mm)`` of the images of ``axis``."""
        _check_axis(axis)
        s, r, c = self.spacing
        return ((r, c), (s, c), (s, r))[axis]

    def frame(self, axis: int, k: int) -> Frame:
        """Plane ``k`` of ``axis`` as a `Frame` (samples in the raw layout, this volume's
        rescale, the middle slice's window)."""
        samples = self.plane(axis, k)
        t = self.template
        floating = samples.dtype.kind == "f"
        converted = floating or samples.dtype.itemsize * 8 != t.bits_allocated
        meta = replace(
            t,
            rows=samples.shape[0],
            columns=samples.shape[1],
            bits_allocated=samples.dtype.itemsize * 8,
            bits_stored=samples.dtype.itemsize * 8 if converted else t.bits_stored,
            pixel_representation=1 if samples.dtype.kind == "i" else 0,
            sample_format="float" if floating else ("int" if samples.dtype.kind == "i" else "uint"),
            rescale_slope=self.rescale_slope,
            rescale_intercept=self.rescale_intercept,
            modality_lut=None,
            pixel_padding_value=None if converted else t.pixel_padding_value,
            pixel_padding_range_limit=None if converted else t.pixel_padding_range_limit,
            overlays=(),
            frame_index=k,
            number_of_frames=self.extent(axis),
        )
        return Frame(samples, meta)


def _check_axis(axis: int) -> None:
    if axis not in (0, 1, 2):
        raise UsageError(f"axis must be 0, 1 or 2, not {axis}")


def voxel_bytes(
    slices: int, rows: int, columns: int, bits_allocated: int | None, *, float_values: bool = False
) -> int:
    """Bytes of a volume of stored samples (4 per voxel when held as float32)."""
    itemsize = 4 if float_values else max(1, -(-(bits_allocated or 8) // 8))
    return slices * rows * columns * itemsize


def _frames(read: SliceReader, count: int, workers: int) -> Iterator[Frame]:
    if workers <= 1 or count <= 1:
        return (read(i) for i in range(count))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dcmview-volume")

    def ordered() -> Iterator[Frame]:
        # at most 2 × workers decoded slices wait to be copied: memory stays near the volume
        pending: deque[Future[Frame]] = deque()
        try:
            for k in range(count):
                pending.append(pool.submit(read, k))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return ordered()


def build_volume(
    read: SliceReader,
    count: int,
    spacing: tuple[float, float, float],
    *,
    rows: tuple[int, int] | None = None,
    columns: tuple[int, int] | None = None,
    workers: int = 1,
) -> Volume:
    """Read slices ``0 .. count-1`` with ``read(k)`` into one `Volume` (see the module doc).

    ``rows``/``columns`` (half-open) keep only that strip of every slice. ``workers > 1``
    decodes slices in that many threads (results are placed in slice order). Slices of
    different sample types (signed and unsigned files) share the type that holds both.
    Raises `DecodeError` when a slice is colour or has another shape than slice 0.
    """
    if count < 1:
        raise UsageError("a volume needs at least one slice")
    voxels: np.ndarray | None = None
    rescales: list[tuple[float, float, bool]] = []
    template: FrameMeta | None = None
    luts: dict[int, FrameMeta] = {}
    full = (0, 0)
    r0 = c0 = 0
    for k, frame in enumerate(_frames(read, count, workers)):
        meta, samples = frame.meta, frame.samples
        if meta.is_colour or samples.ndim != 2:
            raise DecodeError(f"slice {k} is colour: volumes hold grayscale slices only")
        if voxels is None:
            full = samples.shape
            r0, r1 = rows or (0, full[0])
            c0, c1 = columns or (0, full[1])
            if not (0 <= r0 < r1 <= full[0] and 0 <= c0 < c1 <= full[1]):
                raise UsageError(f"the strip rows {rows}, columns {columns} is outside {full}")
            voxels = np.empty((count, r1 - r0, c1 - c0), dtype=samples.dtype)
        elif samples.shape != full:
            raise DecodeError(
                f"slice {k} is {samples.shape[0]}×{samples.shape[1]}, slice 0 is "
                f"{full[0]}×{full[1]}: they cannot form a volume"
            )
        elif samples.dtype != voxels.dtype:  # e.g. signed and unsigned files in one series
            wider = np.promote_types(samples.dtype, voxels.dtype)
            if wider != voxels.dtype:
                voxels = voxels.astype(wider)  # every value kept (int16 + uint16 -> int32)
        voxels[k] = samples[r0 : r0 + voxels.shape[1], c0 : c0 + voxels.shape[2]]
        rescales.append((meta.rescale_slope, meta.rescale_intercept, meta.modality_lut is not None))
        if k == count // 2:
            template = meta
        if meta.modality_lut is not None:  # keep the table for the float conversion below
            luts[k] = meta
    assert voxels is not None
    assert template is not None
    voxels, slope, intercept = _common_rescale(voxels, rescales, luts)
    return Volume(
        voxels=voxels,
        rescale_slope=slope,
        rescale_intercept=intercept,
        spacing=spacing,
        template=template,
        row_offset=r0,
        column_offset=c0,
        full_shape=(count, full[0], full[1]),
    )


def _common_rescale(
    voxels: np.ndarray,
    rescales: list[tuple[float, float, bool]],
    luts: dict[int, FrameMeta],
) -> tuple[np.ndarray, float, float]:
    """The voxels with one rescale for all (see the module doc) and that rescale."""
    slope0, intercept0, _ = rescales[0]
    if not luts and all(s == slope0 and b == intercept0 for s, b, _ in rescales):
        return voxels, slope0, intercept0
    if not luts and voxels.dtype.kind in "ui":
        exact = _integer_offsets(rescales)
        if exact is not None:
            shifted = _shift(voxels, exact)
            if shifted is not None:
                base = min(b for _, b, _ in rescales)
                return shifted, slope0, base
    out = np.empty(voxels.shape, dtype=np.float32)
    for k, (slope, intercept, _) in enumerate(rescales):
        meta = luts.get(k)
        lut = meta.modality_lut if meta is not None else None
        out[k] = apply_modality_lut(voxels[k], slope, intercept, lut)
    return out, 1.0, 0.0


def _integer_offsets(rescales: Iterable[tuple[float, float, bool]]) -> list[int] | None:
    """Per slice, ``(intercept - lowest intercept) / slope`` when every slope is the same and
    every such offset is a whole number; else None."""
    items = list(rescales)
    slope = items[0][0]
    if any(s != slope for s, _, _ in items):
        return None
    base = min(b for _, b, _ in items)
    offsets = []
    for _, b, _ in items:
        step = (b - base) / slope
        whole = round(step)
        if not math.isclose(step, whole, rel_tol=0.0, abs_tol=1e-9):
            return None
        offsets.append(int(whole))
    return offsets


def _shift(voxels: np.ndarray, offsets: list[int]) -> np.ndarray | None:
    """``voxels[k] + offsets[k]`` in the narrowest integer type that holds every result
    (no wider than 32 bits), or None when none does."""
    lo = min(int(voxels[k].min()) + o for k, o in enumerate(offsets))
    hi = max(int(voxels[k].max()) + o for k, o in enumerate(offsets))
    candidates = [voxels.dtype, np.dtype(np.int16), np.dtype(np.uint16), np.dtype(np.int32)]
    for dtype in candidates:
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max and dtype.itemsize >= voxels.dtype.itemsize:
            break
    else:
        return None
    out = voxels if dtype == voxels.dtype else np.empty(voxels.shape, dtype=dtype)
    for k, offset in enumerate(offsets):
        if out is voxels:
            voxels[k] += np.array(offset, dtype=dtype)
        else:
            np.add(voxels[k], offset, out=out[k], dtype=dtype, casting="unsafe")
    return out
