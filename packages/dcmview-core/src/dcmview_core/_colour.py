"""Colour conversions to interleaved 8-bit RGB (pure numpy).

PS3.3 C.7.6.3.1.2 defines the photometric interpretations; C.7.9 the palette colour LUTs.
"""

from __future__ import annotations

import numpy as np

from dcmview_core.errors import DecodeError


def ybr_full_to_rgb(ybr: np.ndarray) -> np.ndarray:
    """YBR_FULL (8-bit, full range) to RGB, PS3.3 C.7.6.3.1.2 (the JPEG/JFIF equations).

    ``R = Y + 1.402 (Cr-128)``, ``G = Y - 0.344136 (Cb-128) - 0.714136 (Cr-128)``,
    ``B = Y + 1.772 (Cb-128)``; rounded and clipped to 0..255.
    """
    f = ybr.astype(np.float32)
    y = f[..., 0]
    cb = f[..., 1] - 128.0
    cr = f[..., 2] - 128.0
    out = np.empty(ybr.shape, dtype=np.float32)
    out[..., 0] = y + 1.402 * cr
    out[..., 1] = y - 0.344136 * cb - 0.714136 * cr
    out[..., 2] = y + 1.772 * cb
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


COLOUR_PHOTOMETRICS = frozenset(
    {
        "RGB",
        "YBR_FULL",
        "YBR_FULL_422",
        "YBR_PARTIAL_422",
        "YBR_PARTIAL_420",
        "YBR_ICT",
        "YBR_RCT",
    }
)
"""Three-sample photometric interpretations converted to RGB (PS3.3 C.7.6.3.1.2); the
retired ARGB, CMYK and HSV are not."""

COMPRESSED_ONLY = frozenset({"YBR_PARTIAL_420"})
"""Defined only inside a compressed stream (the codec upsamples); PS3.5 has no native layout."""

SUBSAMPLED_422 = frozenset({"YBR_FULL_422", "YBR_PARTIAL_422"})
"""Photometric interpretations whose native data holds two samples per pixel (Y1 Y2 Cb Cr)."""

_PARTIAL_FROM_RGB = np.array(
    [[0.2568, 0.5041, 0.0979], [-0.1482, -0.2910, 0.4392], [0.4392, -0.3678, -0.0714]]
)
"""YBR_PARTIAL_422's defining equations (PS3.3 C.7.6.3.1.2): ``Y = .2568 R + .5041 G +
.0979 B + 16``, ``CB = -.1482 R - .2910 G + .4392 B + 128``, ``CR = .4392 R - .3678 G -
.0714 B + 128``."""
_RGB_FROM_PARTIAL = np.linalg.inv(_PARTIAL_FROM_RGB).astype(np.float32)
_PARTIAL_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float32)


def ybr_partial_to_rgb(ybr: np.ndarray) -> np.ndarray:
    """YBR_PARTIAL_422 / YBR_PARTIAL_420 (8-bit, full resolution) to RGB.

    PS3.3 C.7.6.3.1.2: black is Y = 16, white Y = 235, no colour CB = CR = 128 (CB, CR in
    16..240). The inverse of the standard's RGB → YBR equations, rounded and clipped to 0..255.
    """
    centred = ybr.astype(np.float32) - _PARTIAL_OFFSET
    out = centred @ _RGB_FROM_PARTIAL.T
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def upsample_422(
    data: np.ndarray, rows: int, columns: int, photometric: str = "YBR_FULL_422"
) -> np.ndarray:
    """Expand native YBR_FULL_422 / YBR_PARTIAL_422 samples to full resolution
    (PS3.3 C.7.6.3.1.2).

    Each pair of pixels is stored as ``Y1 Y2 Cb Cr``; both pixels take that Cb and Cr.
    """
    if columns % 2:
        raise DecodeError(f"{photometric} needs an even number of columns, not {columns}")
    quads = data.reshape(rows, columns // 2, 4)
    out = np.empty((rows, columns, 3), dtype=data.dtype)
    out[:, 0::2, 0] = quads[..., 0]
    out[:, 1::2, 0] = quads[..., 1]
    out[:, :, 1] = np.repeat(quads[..., 2], 2, axis=1)
    out[:, :, 2] = np.repeat(quads[..., 3], 2, axis=1)
    return out


def expand_segmented_lut(words: np.ndarray, n_entries: int, itemsize: int = 2) -> np.ndarray:
    """Expand a Segmented Palette Color LUT (PS3.3 C.7.9.2): discrete, linear, indirect.

    ``words`` are the values of the Segmented ... LUT Data element, each ``itemsize`` bytes;
    an indirect segment's offset counts bytes from the start of that data.
    """
    out: list[float] = []
    starts: list[int] = []  # offset in ``words`` of each segment, for indirect segments
    pos = 0

    def run(position: int, depth: int) -> int:
        if depth > 4:
            raise DecodeError("segmented palette LUT: indirect segments nested too deep")
        opcode = int(words[position])
        length = int(words[position + 1])
        if opcode == 0:  # discrete
            out.extend(float(v) for v in words[position + 2 : position + 2 + length])
            return position + 2 + length
        if opcode == 1:  # linear from the previous value to y1 over `length` entries
            if not out:
                raise DecodeError("segmented palette LUT starts with a linear segment")
            y0 = out[-1]
            y1 = float(words[position + 2])
            step = (y1 - y0) / length if length else 0.0
            out.extend(y0 + step * (k + 1) for k in range(length))
            return position + 3
        if opcode == 2:  # indirect: replay `length` segments from a byte offset
            offset = int(words[position + 2]) | (int(words[position + 3]) << 16)
            target = next((i for i, s in enumerate(starts) if s * itemsize == offset), None)
            if target is None:
                raise DecodeError(f"segmented palette LUT: no segment at offset {offset}")
            for k in range(length):
                run(starts[target + k], depth + 1)
            return position + 4
        raise DecodeError(f"segmented palette LUT: unknown segment type {opcode}")

    while pos < len(words) - 1 and len(out) < n_entries:
        starts.append(pos)
        pos = run(pos, 0)
    if len(out) < n_entries:
        raise DecodeError(f"segmented palette LUT holds {len(out)} of {n_entries} entries")
    result: np.ndarray = np.rint(np.asarray(out[:n_entries])).astype(np.int64)
    return result


def lut_to_8bit(values: np.ndarray, bits: int) -> np.ndarray:
    """Scale LUT output entries of ``bits`` bits to 0..255."""
    clipped = np.clip(values, 0, (1 << bits) - 1 if bits > 8 else 255).astype(np.int64)
    result: np.ndarray = np.right_shift(clipped, max(bits - 8, 0)).astype(np.uint8)
    return result
