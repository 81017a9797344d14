"""Segment colours: DICOM CIELab values to sRGB, and the fixed palette by segment number."""

from __future__ import annotations

from collections.abc import Sequence

RGB = tuple[int, int, int]

# D65 reference white, as the DICOM toolkits that write SEGs use it (pixelmed, highdicom)
_WHITE = (95.047, 100.0, 108.883)

# a palette of well-separated colours, repeated by segment number (1 → the first)
PALETTE: tuple[RGB, ...] = (
    (255, 80, 80),
    (80, 200, 80),
    (80, 140, 255),
    (255, 200, 40),
    (200, 90, 255),
    (40, 220, 220),
    (255, 140, 40),
    (255, 100, 200),
    (160, 230, 60),
    (120, 100, 255),
    (240, 240, 120),
    (60, 180, 140),
)


def palette_colour(number: int) -> RGB:
    """The fixed colour of segment ``number`` (1-based) when the file gives none."""
    return PALETTE[(number - 1) % len(PALETTE)]


def cielab_to_srgb(value: Sequence[int]) -> RGB:
    """RecommendedDisplayCIELabValue (PS3.3 C.10.7.1.1: three uint16, L* 0–100 and a*, b*
    −128–127 scaled to 0–65535) to 8-bit sRGB, clipped to the gamut."""
    if len(value) != 3:
        raise ValueError(f"a CIELab value has 3 components, not {len(value)}")
    l_star = value[0] / 0xFFFF * 100.0
    a_star = value[1] / 0xFFFF * 255.0 - 128.0
    b_star = value[2] / 0xFFFF * 255.0 - 128.0
    fy = (l_star + 16.0) / 116.0
    fx, fz = fy + a_star / 500.0, fy - b_star / 200.0

    def inverse(f: float) -> float:
        return f**3 if f**3 > 0.008856 else (f - 16.0 / 116.0) / 7.787

    x, y, z = (w / 100.0 * inverse(f) for w, f in zip(_WHITE, (fx, fy, fz), strict=True))
    linear = (
        3.2406 * x - 1.5372 * y - 0.4986 * z,
        -0.9689 * x + 1.8758 * y + 0.0415 * z,
        0.0557 * x - 0.2040 * y + 1.0570 * z,
    )

    def encode(c: float) -> int:
        c = min(max(c, 0.0), 1.0)
        s = 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
        return round(s * 255.0)

    r, g, b = (encode(c) for c in linear)
    return (r, g, b)


def srgb_to_cielab(rgb: Sequence[int]) -> tuple[int, int, int]:
    """8-bit sRGB to a RecommendedDisplayCIELabValue (the inverse of `cielab_to_srgb`)."""

    def decode(v: int) -> float:
        c = v / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (decode(v) for v in rgb)
    xyz = (
        0.4124 * r + 0.3576 * g + 0.1805 * b,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        0.0193 * r + 0.1192 * g + 0.9505 * b,
    )

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16.0 / 116.0

    fx, fy, fz = (f(c / (w / 100.0)) for c, w in zip(xyz, _WHITE, strict=True))
    l_star, a_star, b_star = 116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)

    def scale(v: float, lo: float, span: float) -> int:
        return min(max(round((v - lo) / span * 0xFFFF), 0), 0xFFFF)

    return (scale(l_star, 0.0, 100.0), scale(a_star, -128.0, 255.0), scale(b_star, -128.0, 255.0))
