"""Display PNG: CPU and size of each way to write the same image, and of each pipeline step.

    uv run python benchmarks/bench_png.py [--repeat 15]

Images (generated, deterministic): a 2048×1664 tomosynthesis frame windowed to 8 bits (the
benchmark's `tomo_native` pixels and DICOM window), a 512×512 8-bit cine frame, a 1024×1024
colour JPEG frame decoded to RGB, and a 64×64 CT slice. For each: `encode_png` as shipped,
the same with the 32 KiB deflate window for grayscale (the previous behaviour), the Up / Sub /
no filter at ISA-L levels 0 and 1, libdeflate and zlib-ng level 1 (imagecodecs), zlib level 1,
`imagecodecs.png_encode` and Pillow at `compress_level=1`. CPU is this thread's CPU time
(`time.thread_time`), median and first quartile of `--repeat` interleaved rounds, so a busy
machine slows every candidate alike. Every PNG written here is decoded back and compared.

Then the steps of one DBT display PNG from the decoded frame: the window table, the lookup,
the Up filter, deflate (the server's server-side CPU per PNG is the sum plus the frame read).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dcmview_core import encode, present  # noqa: E402
from dcmview_core.encode import encode_png  # noqa: E402

from benchmarks.workloads import _discovery_pixels, _moving_frames, tomo_frames  # noqa: E402

try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - isal is a core dependency
    isal_zlib = None  # type: ignore[assignment]


def _window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """LINEAR window (PS3.3 C.11.2.1.2) to uint8, the same rule as `present.apply_window`."""
    return present.apply_window(values.astype(np.float64), center, width, "LINEAR")


def images() -> dict[str, np.ndarray]:
    """The test images, 8-bit display images as the server encodes them."""
    dbt = next(iter(tomo_frames(1664, 2048, 1)))
    cine = np.clip(next(iter(_moving_frames(512, 1, 7))) * 255, 0, 255).astype(np.uint8)
    grey = next(iter(_moving_frames(512, 1, 9)))
    rgb = np.stack([grey, grey * 0.85, np.clip(grey * 1.1, 0, 1)], axis=-1) * 255
    rgb = np.kron(rgb.astype(np.uint8), np.ones((2, 2, 1), np.uint8))
    rgb = np.asarray(imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(rgb, level=90)))
    ct = _discovery_pixels(np.random.default_rng(8001)).astype(np.float64)  # -500..+510 HU
    return {
        "DBT 2048×1664 (windowed 12-bit)": _window(dbt, 1800, 3000),
        "cine 512×512 8-bit": cine,
        "colour JPEG 1024×1024 RGB": rgb,
        "CT 64×64 (windowed)": _window(ct, 40, 400),
    }


def _filtered(img: np.ndarray, kind: int) -> np.ndarray:
    rows = img.reshape(img.shape[0], -1)
    out = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    out[:, 0] = kind
    if kind == 2:  # Up
        out[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
    elif kind == 1:  # Sub (whole pixels: 1 or 3 bytes back)
        bpp = 1 if img.ndim == 2 else 3
        out[:, 1 : 1 + bpp] = rows[:, :bpp]
        np.subtract(rows[:, bpp:], rows[:, :-bpp], out=out[:, 1 + bpp :])
    else:
        out[:, 1:] = rows
    return out


def _png(img: np.ndarray, idat: bytes) -> bytes:
    """A PNG around an already-deflated IDAT (to decode back what each deflater wrote)."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(data, zlib.crc32(kind))
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    colour = 0 if img.ndim == 2 else 2
    head = struct.pack(">IIBBBBB", img.shape[1], img.shape[0], 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def candidates(img: np.ndarray) -> dict[str, Callable[[], bytes]]:
    """name -> a function writing the PNG of `img`."""
    out: dict[str, Callable[[], bytes]] = {"encode_png (shipped)": lambda: encode_png(img)}

    def wide_window() -> bytes:
        saved = encode.GRAY_WINDOW_BITS
        encode.GRAY_WINDOW_BITS = 15
        try:
            return encode_png(img)
        finally:
            encode.GRAY_WINDOW_BITS = saved

    out["encode_png, 32 KiB window (before)"] = wide_window
    filters = {"Up": _filtered(img, 2), "Sub": _filtered(img, 1), "None": _filtered(img, 0)}
    if isal_zlib is not None:
        for name, f in filters.items():
            for level in (0, 1):

                def isal(data: bytes = f.tobytes(), level: int = level) -> bytes:
                    return _png(img, isal_zlib.compress(data, level))

                out[f"{name} + ISA-L L{level}"] = isal
    up = filters["Up"].tobytes()
    out["Up + libdeflate L1"] = lambda: _png(img, bytes(imagecodecs.deflate_encode(up, level=1)))
    if imagecodecs.ZLIBNG.available:
        out["Up + zlib-ng L1"] = lambda: _png(img, bytes(imagecodecs.zlibng_encode(up, level=1)))
    out["Up + zlib L1"] = lambda: _png(img, zlib.compress(up, 1))
    out["imagecodecs.png_encode L1"] = lambda: bytes(imagecodecs.png_encode(img, level=1))

    def pillow() -> bytes:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG", compress_level=1)
        return buf.getvalue()

    out["Pillow compress_level=1"] = pillow
    return out


def _time(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm
    for _ in range(repeat):  # interleaved: a busy moment hurts every candidate alike
        for name, fn in fns.items():
            t = time.thread_time()
            fn()
            times[name].append(time.thread_time() - t)
    return {k: sorted(v) for k, v in times.items()}


def main() -> int:
    """Print the tables."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args()
    for title, img in images().items():
        fns = candidates(img)
        repeat = args.repeat if img.size > 1e6 else args.repeat * 10
        times = _time(dict(fns), repeat)
        print(f"\n## {title}\n")
        print("| PNG writer | CPU ms median | q1 | bytes | vs shipped |")
        print("|---|---|---|---|---|")
        shipped = len(fns["encode_png (shipped)"]())
        for name, fn in fns.items():
            data = fn()
            back = np.asarray(Image.open(io.BytesIO(data)))
            assert np.array_equal(back, img), name  # every writer is lossless
            ts = times[name]
            print(
                f"| {name} | {1e3 * ts[len(ts) // 2]:.3f} | {1e3 * ts[len(ts) // 4]:.3f} | "
                f"{len(data):,} | {len(data) / shipped:.3f} |"
            )
    frame = next(iter(tomo_frames(1664, 2048, 1)))
    domain = np.arange(65536, dtype=np.uint16)
    table = present.apply_window(domain.astype(np.float64), 1800, 3000, "LINEAR")
    img = present._lookup(table, frame)
    up = _filtered(img, 2)
    steps: dict[str, Callable[[], object]] = {
        "window table (65,536 entries)": lambda: present.apply_window(
            domain.astype(np.float64), 1800, 3000, "LINEAR"
        ),
        "lookup (3.4 M samples)": lambda: present._lookup(table, frame),
        "Up filter": lambda: _filtered(img, 2),
        "deflate (shipped: ISA-L L1, 512 B window)": lambda: encode._deflate(
            up, 1, None, encode.GRAY_WINDOW_BITS
        ),
        "encode_png (filter + deflate + chunks)": lambda: encode_png(img),
    }
    times = _time(steps, args.repeat)
    print("\n## Steps of one DBT 2048×1664 display PNG (decoded frame in memory)\n")
    print("| step | CPU ms median | q1 |")
    print("|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {1e3 * ts[len(ts) // 2]:.2f} | {1e3 * ts[len(ts) // 4]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
