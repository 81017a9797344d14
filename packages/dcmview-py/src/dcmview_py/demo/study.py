"""A realistic synthetic demo study, written deterministically in a few seconds.

`write_demo(directory)` writes, for one fictitious patient:

- ``01_mg_tomosynthesis.dcm``: breast tomosynthesis, 48 frames of 1024×832, 16-bit
  MONOCHROME2, enhanced multi-frame (window in the shared functional groups) with a spiculated
  mass, a round mass and a calcification cluster in focus at different depths;
- ``02_ct/ct_001.dcm`` …: a chest CT series (Rescale Intercept −1024, window presets soft
  tissue / lung / bone);
- ``03_mr_cine.dcm``: a cardiac cine MR, 30 frames of 256×256 (one heartbeat);
- ``04_cr_chest_monochrome1.dcm``: a chest radiograph stored as MONOCHROME1;
- ``05_us_cine_ybr422_jpeg.dcm``: an ultrasound-like RGB cine stored as YBR_FULL_422 JPEG
  Baseline;
- ``06_compressed/``: the same CT slice as RLE Lossless, JPEG 2000 Lossless and JPEG-LS
  Lossless, and the cine MR as JPEG-LS Lossless;
- ``07_sr_report.dcm``: a structured report (no pixel data);
- ``08_ct_phantom/``: a 64-slice CT phantom, 256×256, 0.8 × 0.8 × 2 mm (a sphere of 200 HU, a
  box of 500 HU and a cylinder of −500 HU in water): one stack with a volume, for MPR and stats;
- ``09_seg_ct_phantom.dcm``: a DICOM SEG of the phantom's three inserts on its slices;
- ``10_seg_tomosynthesis.dcm``: a DICOM SEG of the three lesions on the tomosynthesis frames;
- ``11_mg_current/``, ``12_mg_prior/``: four-view mammograms (R CC, L CC, R MLO, L MLO) and
  their prior a year earlier (another study and pixel size; the current left breast has a mass);
- ``13_ct_phantom_4mm/``: the phantom again as 32 slices of 128×128, 1.6 × 1.6 × 4 mm, in the
  same frame of reference (side by side, linked slices follow by position);
- ``14_seg_ct_phantom_model.dcm``: a model's (imperfect) SEG of the inserts, to show in one
  viewport beside the true SEG in another;
- ``annotations.csv``: EMBED ROI boxes on the tomosynthesis lesions (absolute paths).

Same directory, same bytes: UIDs, dates and random seeds are fixed.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from dcmview_py.demo.annotations import (
    LESIONS,
    TOMO_COLUMNS,
    TOMO_FRAMES,
    TOMO_NAME,
    TOMO_ROWS,
    Lesion,
    write_annotations,
)

Array = NDArray[np.float32]

PATIENT_ID = "DEMO-0001"
PATIENT_NAME = "Demo^Patient"
STUDY_DATE = "20240315"
_SEED = 20240315

MG_TOMO = "1.2.840.10008.5.1.4.1.1.13.1.3"  # Breast Tomosynthesis Image Storage
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def _uid(*parts: object) -> str:
    """A fixed UID (2.25 form, PS3.5 B.2) derived from names: every run writes the same."""
    digest = hashlib.sha256("/".join(["dcmview-demo", *map(str, parts)]).encode()).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


# ---------------------------------------------------------------------------------------------
# image synthesis (pure functions on arrays)


def _grid(rows: int, columns: int) -> tuple[Array, Array]:
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    return y, x


def _falling(z: Any) -> Any:
    """The logistic 1 / (1 + e^z), computed without overflow."""
    return 0.5 * (1 - np.tanh(np.asarray(z) / 2))


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], beta: float) -> Array:
    """Zero-mean, unit-variance 1/f^beta noise (tissue-like texture)."""
    white = rng.standard_normal(shape).astype(np.float32)
    spectrum = np.fft.rfft2(white)
    fy = np.fft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    radius = np.sqrt(fy * fy + fx * fx)
    radius[0, 0] = 1.0
    spectrum *= radius ** (-beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=shape).astype(np.float32)
    field -= field.mean()
    field /= field.std() + 1e-6
    return field


def _gaussian_blur(image: Array, sigma: float) -> Array:
    """Gaussian blur by FFT (periodic edges; used on padded patches)."""
    if sigma <= 0.3:
        return image
    fy = np.fft.fftfreq(image.shape[0]).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(image.shape[1]).astype(np.float32)[None, :]
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (fy * fy + fx * fx))
    return np.fft.irfft2(np.fft.rfft2(image) * kernel, s=image.shape).astype(np.float32)


def _breast_thickness(rows: int, columns: int) -> Array:
    """Compressed-breast thickness (0 outside): chest wall on the left, nipple on the right."""
    y, x = _grid(rows, columns)
    cy, a, b = rows * 0.5, columns * 0.86, rows * 0.44
    r2 = (x / a) ** 2 + ((y - cy) / b) ** 2
    thickness = np.sqrt(np.clip(1 - r2, 0, 1))
    profile: Array = np.clip(thickness * 3.5, 0, 1).astype(np.float32)
    return profile


def _lesion_patch(lesion: Lesion, rng: np.random.Generator) -> Array:
    """A lesion's added density in a square patch (values ≈ 0…1)."""
    size = lesion.radius * 6
    y, x = _grid(size, size)
    c = size / 2
    dy, dx = y - c, x - c
    r = np.sqrt(dy * dy + dx * dx)
    if lesion.kind == "calcifications":
        patch = np.zeros((size, size), np.float32)
        for _ in range(9):
            py, px = rng.normal(c, lesion.radius * 0.45, 2)
            spot = np.exp(-(((y - py) ** 2 + (x - px) ** 2) / (2 * rng.uniform(0.8, 1.6) ** 2)))
            patch += spot.astype(np.float32) * 3.0
        return patch
    angle = np.arctan2(dy, dx)
    if lesion.kind == "spiculated":
        edge = lesion.radius * (1 + 0.12 * np.sin(5 * angle) + 0.08 * np.sin(11 * angle + 1))
        body = _falling((r - edge) / 1.6)
        spicules = np.zeros_like(r)
        for theta in rng.uniform(-np.pi, np.pi, 14):
            along = dx * np.cos(theta) + dy * np.sin(theta)
            across = -dx * np.sin(theta) + dy * np.cos(theta)
            length = lesion.radius * rng.uniform(1.6, 2.6)
            ray = (along > 0) & (along < length)
            width = 1.2 * (1 - along / length)
            spicules += np.where(ray, np.exp(-(across**2) / (2 * np.maximum(width, 0.3) ** 2)), 0)
        mass: Array = (body * 0.55 + np.clip(spicules, 0, 1) * 0.35).astype(np.float32)
        return mass
    body = _falling((r - lesion.radius) / 1.2)
    round_mass: Array = (body * 0.75).astype(np.float32)
    return round_mass


def tomosynthesis_frames() -> NDArray[np.uint16]:
    """48 × 1024 × 832 uint16 breast tomosynthesis slices (MONOCHROME2: dense = bright)."""
    rng = np.random.default_rng(_SEED)
    rows, columns, frames = TOMO_ROWS, TOMO_COLUMNS, TOMO_FRAMES
    thickness = _breast_thickness(rows, columns)
    inside = thickness > 0
    y, x = _grid(rows, columns)
    # fibroglandular tissue: denser behind the nipple, layered in depth
    gland = np.exp(-(((y - rows * 0.5) / (rows * 0.22)) ** 2 + ((x - columns * 0.35) / 260) ** 2))
    layers = [_smooth_noise(rng, (rows, columns), 3.0) for _ in range(6)]
    ducts = _smooth_noise(rng, (rows, columns), 2.2)
    lesions = [(lesion, _lesion_patch(lesion, rng)) for lesion in LESIONS]
    out = np.empty((frames, rows, columns), np.uint16)
    base = 6000 + 16000 * thickness
    for z in range(frames):
        depth = z / (frames - 1)
        weights = [np.exp(-(((depth - k / 5) / 0.18) ** 2)) for k in range(6)]
        texture = sum(w * layer for w, layer in zip(weights, layers, strict=True))
        texture = texture / (sum(weights) + 1e-6)
        density = 0.5 + 0.5 * np.tanh(1.6 * texture + 2.2 * gland - 1.2)
        frame = base + thickness * (9000 * density + 900 * ducts * (0.6 + 0.4 * gland))
        for lesion, patch in lesions:
            dz = abs(z - lesion.depth)
            contrast = 1 / (1 + 0.35 * dz)
            blurred = _gaussian_blur(patch, 0.4 + 1.4 * dz)
            cy, cx = lesion.center
            half = patch.shape[0] // 2
            window = frame[cy - half : cy + half, cx - half : cx + half]
            window += 5200 * contrast * blurred
        frame += rng.standard_normal((rows, columns), dtype=np.float32) * 260
        frame = np.where(inside, frame, 900 + rng.standard_normal((rows, columns)) * 60)
        out[z] = np.clip(frame, 0, 65535).astype(np.uint16)
    return out


def ct_slices(count: int = 8) -> NDArray[np.int16]:
    """Chest CT slices in stored values (HU + 1024), 512×512, int16."""
    rng = np.random.default_rng(_SEED + 1)
    size = 512
    y, x = _grid(size, size)
    cy, cx = size / 2, size / 2
    texture = _smooth_noise(rng, (size, size), 2.5)
    out = np.empty((count, size, size), np.int16)
    for k in range(count):
        t = k / max(1, count - 1)
        hu = np.full((size, size), -1000.0, np.float32)  # air
        body = ((x - cx) / 220) ** 2 + ((y - cy - 10) / 160) ** 2 <= 1
        fat = ((x - cx) / 210) ** 2 + ((y - cy - 10) / 150) ** 2 <= 1
        hu[body] = 40  # skin/muscle
        hu[body & ~fat] = 40
        hu[fat] = -100 + 10 * texture[fat]  # subcutaneous fat
        muscle = ((x - cx) / 195) ** 2 + ((y - cy - 10) / 135) ** 2 <= 1
        hu[muscle] = 45 + 8 * texture[muscle]
        for side in (-1, 1):  # lungs
            lung = ((x - cx - side * 95) / (78 + 6 * t)) ** 2 + ((y - cy) / 105) ** 2 <= 1
            hu[lung] = -860 + 45 * texture[lung]
            for _ in range(40):  # vessels in cross-section: small round densities
                vy, vx = rng.uniform(cy - 90, cy + 90), cx + side * rng.uniform(45, 150)
                radius = rng.uniform(1.5, 4.0)
                vessel = lung & (((x - vx) ** 2 + (y - vy) ** 2) <= radius**2)
                hu[vessel] = 30
        heart = ((x - cx - 30) / (72 - 20 * t)) ** 2 + ((y - cy + 5) / 64) ** 2 <= 1
        hu[heart] = 40 + 5 * texture[heart]
        chambers = ((x - cx - 38) / (40 - 12 * t)) ** 2 + ((y - cy + 5) / 34) ** 2 <= 1
        hu[chambers] = 170  # contrast-enhanced blood
        aorta = ((x - cx - 28) ** 2 + (y - cy - 78) ** 2) <= 15**2  # descending aorta
        hu[aorta] = 190
        spine = ((x - cx) ** 2 + (y - cy - 105) ** 2) <= 24**2
        hu[spine] = 700
        canal = ((x - cx) ** 2 + (y - cy - 108) ** 2) <= 9**2
        hu[canal] = 20
        sternum = (np.abs(x - cx) < 16) & (np.abs(y - (cy - 138)) < 7)
        hu[sternum] = 600
        for side in (-1, 1):  # ribs
            for angle in np.linspace(0.5, 2.6, 5):
                ry = cy + 10 - 124 * np.cos(angle)
                rx = cx + side * 182 * np.sin(angle)
                rib = ((x - rx) ** 2 + (y - ry) ** 2) <= 7**2
                hu[rib] = 750
                hu[rib & (((x - rx) ** 2 + (y - ry) ** 2) <= 4**2)] = 300  # marrow
        hu += rng.standard_normal((size, size)).astype(np.float32) * 12
        out[k] = np.clip(hu + 1024, 0, 4095).astype(np.int16)
    return out


def cine_mr_frames(count: int = 30) -> NDArray[np.uint16]:
    """One heartbeat of short-axis bright-blood cine MR, 256×256 uint16."""
    rng = np.random.default_rng(_SEED + 2)
    size = 256
    y, x = _grid(size, size)
    texture = _smooth_noise(rng, (size, size), 2.8)
    out = np.empty((count, size, size), np.uint16)
    for k in range(count):
        phase = 0.5 - 0.5 * np.cos(2 * np.pi * k / count)  # 0 diastole → 1 systole → 0
        img = np.zeros((size, size), np.float32)
        chest = ((x - 128) / 118) ** 2 + ((y - 128) / 92) ** 2 <= 1
        fat = ((x - 128) / 118) ** 2 + ((y - 128) / 92) ** 2 > 0.86
        img[chest] = 300 + 45 * texture[chest]
        img[chest & fat] = 900  # subcutaneous fat is bright in SSFP
        liver = chest & (((x - 70) / 70) ** 2 + ((y - 175) / 50) ** 2 <= 1)
        img[liver] = 330 + 25 * texture[liver]
        cavity = 30 - 12 * phase
        wall = cavity + 9 + 4 * phase
        r = np.sqrt((x - 140) ** 2 + (y - 118) ** 2)
        img[r <= wall] = 420 + 30 * texture[r <= wall]  # myocardium
        img[r <= cavity] = 1450  # bright blood pool
        rv = (((x - 100) / (26 - 6 * phase)) ** 2 + ((y - 112) / 34) ** 2 <= 1) & (r > wall)
        img[rv] = 1350
        img = _gaussian_blur(img, 1.0)
        noise = rng.standard_normal((2, size, size)).astype(np.float32) * 18
        magnitude = np.sqrt((img + noise[0]) ** 2 + noise[1] ** 2)  # Rician background
        out[k] = np.clip(magnitude, 0, 4095).astype(np.uint16)
    return out


def _soft_ellipse(
    y: Array, x: Array, cy: float, cx: float, ry: float, rx: float, edge: float = 0.08
) -> Array:
    """An ellipse with a smooth rim: 1 inside, 0 outside (a thickness-like profile)."""
    r2 = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
    profile: Array = np.clip((1 - r2) / edge, 0, 1).astype(np.float32)
    return profile


def chest_radiograph() -> NDArray[np.uint16]:
    """A PA chest radiograph as MONOCHROME1 stored values (low = white), 1024×848, 12-bit."""
    rng = np.random.default_rng(_SEED + 3)
    rows, columns = 1024, 848
    y, x = _grid(rows, columns)
    cx = columns / 2
    dx = np.abs(x - cx)
    body = _soft_ellipse(y, x, 600, cx, 640, 395, edge=0.5)
    attenuation: Any = 0.75 * np.sqrt(body)  # soft tissue: thicker in the middle
    dome = 735 + 0.0035 * (dx - 175) ** 2  # diaphragm domes under each lung
    heart = _soft_ellipse(y, x, 630, cx + 60, 125, 165, edge=0.5)
    for side in (-1, 1):
        lung = _soft_ellipse(y, x, 500, cx + side * 175, 330, 140, edge=0.35)
        lung *= _falling((y - dome) / 8)  # cut by the diaphragm
        lung *= 1 - 0.85 * heart  # the heart shadow borders the lungs
        attenuation -= 0.5 * lung
        markings = _smooth_noise(rng, (rows, columns), 1.6)
        attenuation += 0.05 * lung * markings * (1 - np.abs(x - cx - side * 175) / 175)
    attenuation += 0.3 * _falling(-(y - dome) / 12)  # liver / abdomen below the domes
    mediastinum = _falling((dx - (40 + 0.1 * np.clip(y - 250, 0, 500))) / 6)
    attenuation += 0.22 * mediastinum * (y > 110)
    attenuation += 0.12 * heart
    attenuation += 0.1 * _soft_ellipse(y, x, 345, cx + 45, 40, 34, edge=0.9)  # aortic knob
    spine = _falling((dx - 30) / 3)
    vertebrae = 0.5 + 0.5 * np.cos(2 * np.pi * y / 52) ** 8  # endplates
    attenuation += 0.16 * spine * (0.7 + 0.3 * vertebrae)
    for i in range(10):  # posterior ribs: from the spine outwards and down
        y0 = 170 + 58 * i
        centre = y0 - 40 + 0.0028 * (dx - 40) ** 2 - 0.0000045 * (dx - 40) ** 3
        band = np.exp(-(((y - centre) / 7.5) ** 2))
        reach = (dx > 32) & (dx < 330 - 8 * abs(i - 3))
        attenuation += 0.16 * band * reach
    for i in range(6):  # anterior ribs, fainter, sloping down towards the sternum
        centre = 300 + 70 * i + 0.35 * (330 - dx)
        band = np.exp(-(((y - centre) / 9) ** 2))
        attenuation += 0.06 * band * ((dx > 60) & (dx < 320))
    clavicle = np.exp(-(((y - (215 - 0.25 * dx + 0.0009 * dx**2)) / 9) ** 2))
    attenuation += 0.25 * clavicle * (dx > 25) * (dx < 310)
    attenuation = _gaussian_blur(attenuation.astype(np.float32), 1.5)
    attenuation += rng.standard_normal((rows, columns)).astype(np.float32) * 0.01
    # MONOCHROME1: the minimum sample value is displayed white (dense = low value)
    stored = 3800 - 2600 * np.clip(attenuation, 0, 1.4) / 1.4
    image: NDArray[np.uint16] = np.clip(stored, 0, 4095).astype(np.uint16)
    return image


def ultrasound_frames(count: int = 12) -> NDArray[np.uint8]:
    """Sector-scan ultrasound-like RGB frames (grey B-mode with a colour Doppler box)."""
    rng = np.random.default_rng(_SEED + 4)
    rows, columns = 480, 640
    y, x = _grid(rows, columns)
    apex_x, apex_y = columns / 2, 30.0
    r = np.sqrt((x - apex_x) ** 2 + (y - apex_y) ** 2)
    theta = np.arctan2(x - apex_x, y - apex_y)
    sector = (r < 430) & (np.abs(theta) < 0.62)
    speckle_base = rng.rayleigh(1.0, (rows, columns)).astype(np.float32)
    tissue = 0.55 + 0.25 * _smooth_noise(rng, (rows, columns), 2.0)
    out = np.zeros((count, rows, columns, 3), np.uint8)
    for k in range(count):
        shift = int(2 * np.sin(2 * np.pi * k / count))
        speckle = np.roll(speckle_base, shift, axis=0)
        echo = tissue * speckle * np.exp(-r / 900)
        cyst = ((x - 300) / 55) ** 2 + ((y - 260 - shift) / 40) ** 2 <= 1
        echo[cyst] *= 0.08
        wall = (np.abs(y - 150 - 0.05 * (x - apex_x) - shift) < 6) & sector
        echo[wall] += 0.9
        grey = np.clip(echo * 150, 0, 255) * sector
        frame = np.repeat(grey[..., None], 3, axis=2)
        flow = ((x - 400) / 35) ** 2 + ((y - 200) / 12) ** 2 <= 1
        strength = np.sin(2 * np.pi * k / count) * 0.5 + 0.5
        frame[flow & sector] = [200 * strength + 40, 30, 40]
        back = ((x - 400) / 35) ** 2 + ((y - 232) / 10) ** 2 <= 1
        frame[back & sector] = [20, 90, 215 * (1 - strength) + 40]
        out[k] = frame.astype(np.uint8)
    return out


# the CT phantom: patient-space boxes in mm (LPS), so the three MPR planes differ and region
# statistics read exact values (no noise: every voxel of an insert holds its HU value)
PHANTOM_SLICES, PHANTOM_SIZE = 64, 256
PHANTOM_SPACING, PHANTOM_THICKNESS = 0.8, 2.0  # mm: in-plane, between slices (anisotropic)
PHANTOM_HU = {"water": 0, "Sphere": 200, "Box": 500, "Cylinder": -500}
PHANTOM_SEGMENTS = ("Sphere", "Box", "Cylinder")
PHANTOM_COLOURS = ((230, 70, 60), (60, 150, 235), (245, 200, 40))


def phantom_axes() -> tuple[Array, Array, Array]:
    """Patient coordinates (mm) of the voxel centres along x (columns), y (rows), z (slices)."""
    half = (PHANTOM_SIZE - 1) / 2 * PHANTOM_SPACING
    xs = (np.arange(PHANTOM_SIZE, dtype=np.float32) * PHANTOM_SPACING - half).astype(np.float32)
    zs = (
        np.arange(PHANTOM_SLICES, dtype=np.float32) - (PHANTOM_SLICES - 1) / 2
    ) * PHANTOM_THICKNESS
    return xs, xs.copy(), zs.astype(np.float32)


def phantom_masks() -> dict[str, NDArray[np.bool_]]:
    """``slices × rows × columns`` masks of the water container and the three inserts: a
    sphere (r 25 mm), a 40×50×40 mm box and an antero-posterior cylinder (r 12 mm)."""
    xs, ys, zs = phantom_axes()
    z, y, x = zs[:, None, None], ys[None, :, None], xs[None, None, :]
    container = ((x / 95) ** 2 + (y / 80) ** 2 <= 1) & (np.abs(z) <= 56)
    sphere = (x + 35) ** 2 + (y + 15) ** 2 + (z - 10) ** 2 <= 25**2
    box = (x >= 20) & (x <= 60) & (y >= -30) & (y <= 20) & (z >= -40) & (z <= 0)
    cylinder = ((x + 10) ** 2 + (z + 35) ** 2 <= 12**2) & (np.abs(y) <= 70)
    return {
        "water": container,
        "Sphere": sphere & container,
        "Box": box & container,
        "Cylinder": cylinder & container,
    }


def phantom_prediction_masks() -> dict[str, NDArray[np.bool_]]:
    """A model's imperfect masks of the three inserts, to compare with the true ones side by
    side: the sphere 3 mm off in x and 2 mm too large, the box's upper 10 mm missed, the
    cylinder 2 mm too thin."""
    xs, ys, zs = phantom_axes()
    z, y, x = zs[:, None, None], ys[None, :, None], xs[None, None, :]
    container = ((x / 95) ** 2 + (y / 80) ** 2 <= 1) & (np.abs(z) <= 56)
    sphere = (x + 32) ** 2 + (y + 15) ** 2 + (z - 10) ** 2 <= 27**2
    box = (x >= 20) & (x <= 60) & (y >= -30) & (y <= 20) & (z >= -40) & (z <= -10)
    cylinder = ((x + 10) ** 2 + (z + 35) ** 2 <= 10**2) & (np.abs(y) <= 70)
    return {"Sphere": sphere & container, "Box": box & container, "Cylinder": cylinder & container}


def phantom_slices() -> NDArray[np.int16]:
    """The phantom in stored values (HU + 1024), ``64 × 256 × 256`` int16, air around it."""
    hu = np.full((PHANTOM_SLICES, PHANTOM_SIZE, PHANTOM_SIZE), -1000, np.int16)
    for name, mask in phantom_masks().items():
        hu[mask] = PHANTOM_HU[name]
    stored: NDArray[np.int16] = (hu + 1024).astype(np.int16)
    return stored


PHANTOM_THICK = 2  # the thick series: one voxel per 2 × 2 × 2 phantom voxels (1.6 × 1.6 × 4 mm)


def phantom_thick_slices() -> NDArray[np.int16]:
    """The phantom as a thick-slice series: each voxel the mean of 2 × 2 × 2 phantom voxels
    (``32 × 128 × 128``, stored values), in the same frame of reference."""
    f = PHANTOM_THICK
    n, size = PHANTOM_SLICES // f, PHANTOM_SIZE // f
    blocks = _phantom_slices().reshape(n, f, size, f, size, f).mean(axis=(1, 3, 5))
    thick: NDArray[np.int16] = np.rint(blocks).astype(np.int16)
    return thick


# two-dimensional mammograms: four views of a current study and of its prior
MG_ROWS, MG_COLUMNS = 512, 416
MG_VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))
MG_ORIENTATION = {  # PatientOrientation: rows (left → right), columns (top → bottom)
    ("R", "CC"): ("A", "L"),  # chest wall on the left, lateral side up
    ("L", "CC"): ("P", "R"),  # chest wall on the right
    ("R", "MLO"): ("A", "FL"),  # axilla (superolateral) up
    ("L", "MLO"): ("P", "FR"),
}
MG_MASS_MM = (62.0, -28.0, 7.0)  # the new mass of the current left breast: depth, up, radius


def mammogram(laterality: str, view: str, spacing: float, *, mass: bool) -> NDArray[np.uint16]:
    """One view, 512×416 MONOCHROME2 12-bit: a half-elliptical breast against the chest-wall
    edge (the left edge for R, the right edge for L), ``spacing`` mm per pixel at the breast,
    with the pectoral muscle on MLO views and, when ``mass``, a round mass (left breast)."""
    rng = np.random.default_rng(_SEED + 10 + MG_VIEWS.index((laterality, view)))
    y, x = _grid(MG_ROWS, MG_COLUMNS)
    ymm, xmm = y * spacing, x * spacing  # xmm: distance from the chest wall
    cc = view == "CC"
    cy = MG_ROWS * spacing * (0.5 if cc else 0.44)
    depth, half = (112.0, 86.0) if cc else (124.0, 104.0)
    r2 = (xmm / depth) ** 2 + ((ymm - cy) / half) ** 2
    thickness = np.clip(np.sqrt(np.clip(1 - r2, 0, 1)) * 3.0, 0, 1)
    inside = r2 < 1
    texture = _smooth_noise(rng, (MG_ROWS, MG_COLUMNS), 2.6)
    gland = np.exp(
        -(((ymm - cy) / (half * 0.55)) ** 2) - ((xmm - depth * 0.45) / (depth * 0.4)) ** 2
    )
    density = 0.5 + 0.5 * np.tanh(1.5 * texture + 2.0 * gland - 1.1)
    signal = 700 + 1300 * thickness + thickness * 1100 * density
    if not cc:  # the pectoral muscle: a triangle along the chest wall, widest at the top
        pectoral = xmm < 58 * (1 - ymm / 150)
        signal = np.where(pectoral, np.maximum(signal, 2700 + 90 * texture), signal)
        inside |= pectoral
    if mass:
        along, up, radius = MG_MASS_MM
        r = np.sqrt((xmm - along) ** 2 + (ymm - (cy + up)) ** 2)
        signal = signal + 950 * _falling((r - radius) / 0.6)
    signal = signal + rng.standard_normal((MG_ROWS, MG_COLUMNS)).astype(np.float32) * 25
    background = 60 + rng.standard_normal((MG_ROWS, MG_COLUMNS)).astype(np.float32) * 8
    image = np.clip(np.where(inside, signal, background), 0, 4095).astype(np.uint16)
    return image if laterality == "R" else np.ascontiguousarray(image[:, ::-1])


# ---------------------------------------------------------------------------------------------
# DICOM datasets


def _base(sop_class: str, sop_instance: str, study: str, modality: str) -> Any:
    ds: Any = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_instance
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyDate = STUDY_DATE
    ds.StudyTime = "093000"
    ds.ContentDate = STUDY_DATE
    ds.ContentTime = "093000"
    ds.AccessionNumber = "DEMO" + modality
    ds.Modality = modality
    ds.Manufacturer = "dcmview synthetic demo"
    ds.ReferringPhysicianName = ""
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study
    ds.StudyID = "1"
    return ds


def _image(ds: Any, pixels: NDArray[Any], photometric: str, bits_stored: int) -> None:
    frames = pixels.shape[0] if pixels.ndim >= 3 and photometric.startswith("MONO") else 1
    if pixels.ndim == 4:
        frames = pixels.shape[0]
    ds.SamplesPerPixel = 3 if pixels.ndim == 4 else 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if pixels.ndim == 4 else pixels.shape[-2:]
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    if frames > 1 or pixels.ndim == 4:
        ds.NumberOfFrames = frames
    ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()


def _tomosynthesis(path: Path) -> Any:
    ds = _tomo_header()
    frames = tomosynthesis_frames()
    _image(ds, frames, "MONOCHROME2", 16)
    _tomo_functional_groups(ds, frames.shape[0])
    _save(ds, path)
    return ds


def _tomo_header() -> Any:
    """The tomosynthesis dataset without pixels (the report refers to its UIDs)."""
    study = _uid("study", "mg")
    ds = _base(MG_TOMO, _uid("mg", "tomo"), study, "MG")
    ds.StudyDescription = "Screening tomosynthesis"
    ds.SeriesDescription = "L CC tomosynthesis slices"
    ds.SeriesInstanceUID = _uid("series", "mg")
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "PRIMARY", "TOMOSYNTHESIS", "NONE"]
    ds.Laterality = "L"
    ds.ImageLaterality = "L"
    ds.ViewPosition = "CC"
    ds.BodyPartExamined = "BREAST"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.FrameOfReferenceUID = _uid("for", "mg")
    ds.ContentQualification = "PRODUCT"
    ds.BurnedInAnnotation = "NO"
    ds.PixelSpacing = [0.1, 0.1]
    return ds


TOMO_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _tomo_position(z: int) -> list[float]:
    """ImagePositionPatient of tomosynthesis frame ``z`` (1 mm apart)."""
    return [0.0, 0.0, float(z)]


def _tomo_functional_groups(ds: Any, frame_count: int) -> None:
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [0.1, 0.1]
    measures.SliceThickness = 1.0
    shared.PixelMeasuresSequence = DicomSequence([measures])
    orientation = Dataset()
    orientation.ImageOrientationPatient = list(TOMO_ORIENTATION)
    shared.PlaneOrientationSequence = DicomSequence([orientation])
    anatomy = Dataset()
    anatomy.AnatomicRegionSequence = DicomSequence([_code("76752008", "SCT", "Breast")])
    anatomy.FrameLaterality = "L"
    shared.FrameAnatomySequence = DicomSequence([anatomy])
    voi = Dataset()
    voi.WindowCenter = 25000
    voi.WindowWidth = 14000
    voi.WindowCenterWidthExplanation = "TISSUE"
    shared.FrameVOILUTSequence = DicomSequence([voi])
    transform = Dataset()
    transform.RescaleIntercept = 0
    transform.RescaleSlope = 1
    transform.RescaleType = "US"
    shared.PixelValueTransformationSequence = DicomSequence([transform])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    per_frame = []
    for z in range(frame_count):
        item = Dataset()
        content = Dataset()
        content.InStackPositionNumber = z + 1
        content.StackID = "1"
        item.FrameContentSequence = DicomSequence([content])
        position = Dataset()
        position.ImagePositionPatient = _tomo_position(z)
        item.PlanePositionSequence = DicomSequence([position])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)


def _ct_dataset(index: int, pixels: NDArray[np.int16]) -> Any:
    study = _uid("study", "ct")
    ds = _base(CT_IMAGE, _uid("ct", index), study, "CT")
    ds.StudyDescription = "CT chest with contrast"
    ds.SeriesDescription = "Axial 5 mm"
    ds.SeriesInstanceUID = _uid("series", "ct")
    ds.SeriesNumber = 2
    ds.InstanceNumber = index + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.BodyPartExamined = "CHEST"
    ds.FrameOfReferenceUID = _uid("for", "ct")
    ds.KVP = 120
    ds.SliceThickness = 5.0
    ds.ImagePositionPatient = [-175.0, -175.0, -100.0 + 5.0 * index]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = -100.0 + 5.0 * index
    ds.PixelSpacing = [0.68, 0.68]
    _image(ds, pixels, "MONOCHROME2", 12)
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = [40, -600, 480]
    ds.WindowWidth = [400, 1500, 2500]
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "LUNG", "BONE"]
    return ds


def _mr_dataset(frames: NDArray[np.uint16]) -> Any:
    ds = _base(MR_IMAGE, _uid("mr", "cine"), _uid("study", "mr"), "MR")
    ds.StudyDescription = "Cardiac MR"
    ds.SeriesDescription = "SSFP cine short axis"
    ds.SeriesInstanceUID = _uid("series", "mr")
    ds.SeriesNumber = 3
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.ScanningSequence = "GR"
    ds.SequenceVariant = "SS"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.MagneticFieldStrength = 1.5
    ds.PixelSpacing = [1.4, 1.4]
    ds.SliceThickness = 8.0
    ds.FrameTime = 33.3
    ds.CineRate = 30
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    _image(ds, frames, "MONOCHROME2", 12)
    ds.WindowCenter = 700
    ds.WindowWidth = 1500
    return ds


def _radiograph(path: Path) -> Any:
    ds = _base(CR_IMAGE, _uid("cr", "chest"), _uid("study", "cr"), "CR")
    ds.StudyDescription = "Chest PA"
    ds.SeriesDescription = "PA"
    ds.SeriesInstanceUID = _uid("series", "cr")
    ds.SeriesNumber = 4
    ds.InstanceNumber = 1
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.ImagerPixelSpacing = [0.35, 0.35]
    _image(ds, chest_radiograph(), "MONOCHROME1", 12)
    ds.WindowCenter = 2500
    ds.WindowWidth = 2800
    _save(ds, path)
    return ds


def _ultrasound(path: Path) -> Any:
    import imagecodecs

    frames = ultrasound_frames()
    ds = _base(US_MULTIFRAME, _uid("us", "cine"), _uid("study", "us"), "US")
    ds.StudyDescription = "Abdominal ultrasound"
    ds.SeriesDescription = "Cine loop with colour Doppler"
    ds.SeriesInstanceUID = _uid("series", "us")
    ds.SeriesNumber = 5
    ds.InstanceNumber = 1
    ds.FrameTime = 50.0
    ds.FrameIncrementPointer = 0x00181063
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    _image(ds, frames[:1], "YBR_FULL_422", 8)
    ds.NumberOfFrames = frames.shape[0]
    encoded = [
        bytes(imagecodecs.jpeg8_encode(frame, level=90, outcolorspace="YCBCR", subsampling="422"))
        for frame in frames
    ]
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    _save(ds, path)
    return ds


def _structured_report(path: Path, tomo: Any) -> Any:
    ds = _base(BASIC_TEXT_SR, _uid("sr", "report"), tomo.StudyInstanceUID, "SR")
    ds.StudyDescription = tomo.StudyDescription
    ds.SeriesDescription = "Radiologist report"
    ds.SeriesInstanceUID = _uid("series", "sr")
    ds.SeriesNumber = 10
    ds.InstanceNumber = 1
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    items = []
    for lesion in LESIONS:
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "TEXT"
        item.ConceptNameCodeSequence = [_code("121071", "DCM", "Finding")]
        item.TextValue = f"{lesion.name} in slice {lesion.depth + 1} of the left CC tomosynthesis"
        items.append(item)
    impression = Dataset()
    impression.RelationshipType = "CONTAINS"
    impression.ValueType = "TEXT"
    impression.ConceptNameCodeSequence = [_code("121073", "DCM", "Impression")]
    impression.TextValue = "Synthetic demo data. Not a real patient; not for diagnosis."
    items.append(impression)
    ds.ContentSequence = DicomSequence(items)
    reference = Dataset()
    reference.ReferencedSOPClassUID = tomo.SOPClassUID
    reference.ReferencedSOPInstanceUID = tomo.SOPInstanceUID
    series_ref = Dataset()
    series_ref.SeriesInstanceUID = tomo.SeriesInstanceUID
    series_ref.ReferencedSOPSequence = DicomSequence([reference])
    study_ref = Dataset()
    study_ref.StudyInstanceUID = tomo.StudyInstanceUID
    study_ref.ReferencedSeriesSequence = DicomSequence([series_ref])
    ds.CurrentRequestedProcedureEvidenceSequence = DicomSequence([study_ref])
    _save(ds, path)
    return ds


def _phantom_dataset(index: int, pixels: NDArray[np.int16], *, thick: bool = False) -> Any:
    """Slice ``index`` of the phantom's 2 mm series, or (``thick``) of its 4 mm series: another
    series of the same frame of reference (slices link by position, pans in mm)."""
    f, name = (PHANTOM_THICK, "phantom-thick") if thick else (1, "phantom")
    ds = _base(CT_IMAGE, _uid(name, index), _uid("study", "phantom"), "CT")
    ds.StudyDescription = "CT phantom"
    ds.SeriesDescription = f"Phantom{' 4 mm' if thick else ''}: sphere, box, cylinder"
    ds.SeriesInstanceUID = _uid("series", name)
    ds.SeriesNumber = 13 if thick else 8
    ds.InstanceNumber = index + 1
    ds.ImageType = ["DERIVED" if thick else "ORIGINAL", "PRIMARY", "AXIAL"]
    ds.FrameOfReferenceUID = _uid("for", "phantom")
    ds.KVP = 120
    xs, ys, zs = (axis.reshape(-1, f).mean(axis=1) for axis in phantom_axes())
    ds.SliceThickness = PHANTOM_THICKNESS * f
    ds.ImagePositionPatient = [float(xs[0]), float(ys[0]), float(zs[index])]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = float(zs[index])
    ds.PixelSpacing = [PHANTOM_SPACING * f, PHANTOM_SPACING * f]
    _image(ds, pixels, "MONOCHROME2", 12)
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = [40, 0]
    ds.WindowWidth = [400, 2000]
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "WIDE"]
    return ds


def _tomo_frame_headers(tomo: Any) -> list[Any]:
    """One header per tomosynthesis frame (its plane), for the SEG writer."""
    headers = []
    for z in range(TOMO_FRAMES):
        header: Any = Dataset()
        for keyword in (*_PATIENT_STUDY, "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID"):
            setattr(header, keyword, tomo.data_element(keyword).value)
        header.FrameOfReferenceUID = tomo.FrameOfReferenceUID
        header.Rows, header.Columns = TOMO_ROWS, TOMO_COLUMNS
        header.ImageOrientationPatient = list(TOMO_ORIENTATION)
        header.ImagePositionPatient = _tomo_position(z)
        header.PixelSpacing = [0.1, 0.1]
        header.SliceThickness = 1.0
        headers.append(header)
    return headers


_PATIENT_STUDY = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
)


def _segmentation(
    name: str,
    sources: list[Any],
    masks: Any,
    labels: tuple[str, ...],
    colours: tuple[tuple[int, int, int], ...],
    description: str,
    series_number: int,
) -> Any:
    """A BINARY SEG by core's writer, with fixed UIDs (same bytes every build)."""
    from dcmview_core import seg_dataset

    ds: Any = seg_dataset(sources, masks, labels, colors=colours, series_description=description)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = _uid("seg", name)
    ds.SeriesInstanceUID = _uid("series", "seg", name)
    organization = _uid("dimensions", name)
    for item in (*ds.DimensionOrganizationSequence, *ds.DimensionIndexSequence):
        item.DimensionOrganizationUID = organization
    ds.SeriesNumber = series_number
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SeriesDate = ds.ContentDate = STUDY_DATE
    ds.SeriesTime = ds.ContentTime = "100000"
    ds.Manufacturer = "dcmview synthetic demo"
    ds.ManufacturerModelName = "dcmview demo"
    ds.DeviceSerialNumber = "1"
    ds.SoftwareVersions = "1"
    ds.ContentCreatorName = "Demo^Annotator"
    return ds


def _phantom_seg(prediction: bool = False) -> Any:
    """The phantom's three inserts as a SEG on its slices (referenced by SOP Instance UID):
    the true ones, or (``prediction``) a model's."""
    masks = phantom_prediction_masks() if prediction else phantom_masks()
    stacked = np.stack([masks[name] for name in PHANTOM_SEGMENTS], axis=-1)
    sources = [_phantom_dataset(k, pixels) for k, pixels in enumerate(_phantom_slices())]
    name, description, number = (
        ("phantom-model", "Model prediction", 14)
        if prediction
        else ("phantom", "Phantom inserts", 9)
    )
    return _segmentation(
        name, sources, stacked, PHANTOM_SEGMENTS, PHANTOM_COLOURS, description, number
    )


TOMO_SEG_HALF_DEPTH = 2  # the lesion masks cover their focal slice ± this many frames


def tomo_lesion_masks() -> list[tuple[int, int, NDArray[np.bool_]]]:
    """``(frame, segment, mask)`` of each lesion of the tomosynthesis around its focal slice
    (a disc over the mass, or over the calcification cluster)."""
    y, x = _grid(TOMO_ROWS, TOMO_COLUMNS)
    planes = []
    for n, lesion in enumerate(LESIONS, start=1):
        cy, cx = lesion.center
        scale = {"spiculated": 1.15, "round": 1.05}.get(lesion.kind, 1.5)
        disc = (y - cy) ** 2 + (x - cx) ** 2 <= (lesion.radius * scale) ** 2
        first = max(0, lesion.depth - TOMO_SEG_HALF_DEPTH)
        last = min(TOMO_FRAMES - 1, lesion.depth + TOMO_SEG_HALF_DEPTH)
        planes += [(z, n, disc) for z in range(first, last + 1)]
    return planes


def _tomo_seg() -> Any:
    """The tomosynthesis lesions as a SEG whose frames name their source frame."""
    tomo = _tomo_header()
    labels = tuple(lesion.name.capitalize() for lesion in LESIONS)
    colours = ((235, 60, 60), (250, 210, 40), (40, 210, 230))
    ds = _segmentation(
        "tomosynthesis",
        _tomo_frame_headers(tomo),
        tomo_lesion_masks(),
        labels,
        colours,
        "Lesions",
        11,
    )
    # a multi-frame source: each SEG frame names its frame (ReferencedFrameNumber), and the
    # source is listed once
    for item in ds.PerFrameFunctionalGroupsSequence:
        frame = int(item.FrameContentSequence[0].DimensionIndexValues[1])
        item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber = frame
    series = ds.ReferencedSeriesSequence[0]
    series.ReferencedInstanceSequence = DicomSequence([series.ReferencedInstanceSequence[0]])
    return ds


MG_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"  # Digital Mammography X-Ray, For Presentation
PRIOR_DATE = "20230308"
_MG_ERAS = {  # era: (study date, imager pixel spacing mm, magnification factor)
    "current": (STUDY_DATE, 0.5, 1.08),
    "prior": (PRIOR_DATE, 0.55, 1.10),  # an older unit: another pixel size, same breast in mm
}
_VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}


def _mammogram_dataset(era: str, laterality: str, view: str) -> Any:
    date, imager, magnification = _MG_ERAS[era]
    ds = _base(
        MG_PRESENTATION, _uid("mg2d", era, laterality, view), _uid("study", "mg2d", era), "MG"
    )
    ds.StudyDate = ds.ContentDate = ds.SeriesDate = date
    ds.StudyDescription = "Screening mammography"
    ds.AccessionNumber = f"DEMOMG{date}"
    number = MG_VIEWS.index((laterality, view))
    ds.SeriesDescription = f"{laterality} {view}"
    ds.SeriesInstanceUID = _uid("series", "mg2d", era, laterality, view)
    ds.SeriesNumber = (20 if era == "current" else 30) + number
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.BodyPartExamined = "BREAST"
    ds.ImageLaterality = laterality
    ds.ViewPosition = view
    code, meaning = _VIEW_CODES[view]
    ds.ViewCodeSequence = [_code(code, "SCT", meaning)]
    ds.PatientOrientation = list(MG_ORIENTATION[(laterality, view)])
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.BreastImplantPresent = "NO"
    ds.KVP = 29
    ds.BurnedInAnnotation = "NO"
    ds.ImagerPixelSpacing = [imager, imager]
    ds.EstimatedRadiographicMagnificationFactor = magnification
    mass = era == "current" and laterality == "L"
    _image(ds, mammogram(laterality, view, imager / magnification, mass=mass), "MONOCHROME2", 12)
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.WindowCenter = 1900
    ds.WindowWidth = 2800
    ds.WindowCenterWidthExplanation = "TISSUE"
    return ds


def _code(value: str, scheme: str, meaning: str) -> Any:
    code: Any = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = scheme
    code.CodeMeaning = meaning
    return code


def _save(ds: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _compressed(ds: Any, syntax: UID, path: Path, **kwargs: Any) -> None:
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = _uid("compressed", path.name)
    # a series of its own: a copy sharing the original's series would sit in its stack twice
    ds.SeriesInstanceUID = _uid("series", "compressed", path.name)
    short = {RLELossless: "RLE", JPEG2000Lossless: "JPEG 2000", JPEGLSLossless: "JPEG-LS"}
    ds.SeriesDescription = f"{ds.SeriesDescription}, {short.get(syntax, syntax.name)} lossless"
    ds.compress(syntax, generate_instance_uid=False, **kwargs)
    _save(ds, path)


# ---------------------------------------------------------------------------------------------
# the study, one part per function: each writes its files below ``root`` and returns their
# paths relative to it. To add a part (a series, a SEG, mammography views …), write a function
# like these and append it to PARTS; names sort in viewing order (NN_ prefixes).

_ct_slices = functools.cache(ct_slices)
_cine_frames = functools.cache(cine_mr_frames)


def _write(root: Path, name: str, ds: Any) -> str:
    _save(ds, root / name)
    return name


def part_tomosynthesis(root: Path) -> list[str]:
    """Breast tomosynthesis with three lesions (the annotations CSV boxes them)."""
    _tomosynthesis(root / TOMO_NAME)
    return [TOMO_NAME]


def part_ct_series(root: Path) -> list[str]:
    """An 8-slice chest CT series with window presets."""
    return [
        _write(root, f"02_ct/ct_{i + 1:03d}.dcm", _ct_dataset(i, pixels))
        for i, pixels in enumerate(_ct_slices())
    ]


def part_mr_cine(root: Path) -> list[str]:
    """A 30-frame cardiac cine MR."""
    return [_write(root, "03_mr_cine.dcm", _mr_dataset(_cine_frames()))]


def part_radiograph(root: Path) -> list[str]:
    """A MONOCHROME1 chest radiograph."""
    _radiograph(root / "04_cr_chest_monochrome1.dcm")
    return ["04_cr_chest_monochrome1.dcm"]


def part_ultrasound(root: Path) -> list[str]:
    """An RGB ultrasound cine stored as YBR_FULL_422 JPEG Baseline."""
    _ultrasound(root / "05_us_cine_ybr422_jpeg.dcm")
    return ["05_us_cine_ybr422_jpeg.dcm"]


def part_compressed(root: Path) -> list[str]:
    """The middle CT slice as RLE, JPEG 2000 and JPEG-LS Lossless; the cine MR as JPEG-LS."""
    slices = _ct_slices()
    middle = len(slices) // 2
    ct = functools.partial(_ct_dataset, middle, slices[middle])
    variants: list[tuple[str, Any, UID, dict[str, str]]] = [
        # pydicom's own RLE encoder: always installed, so the bytes do not depend on whether
        # GDCM (pydicom's first choice when present) is installed
        ("ct_rle.dcm", ct(), RLELossless, {"encoding_plugin": "pydicom"}),
        ("ct_jpeg2000.dcm", ct(), JPEG2000Lossless, {"encoding_plugin": "pylibjpeg"}),
        ("ct_jpegls.dcm", ct(), JPEGLSLossless, {}),
        ("mr_cine_jpegls.dcm", _mr_dataset(_cine_frames()), JPEGLSLossless, {}),
    ]
    names = []
    for name, ds, syntax, kwargs in variants:
        names.append(f"06_compressed/{name}")
        _compressed(ds, syntax, root / names[-1], **kwargs)
    return names


def part_report(root: Path) -> list[str]:
    """A structured report on the tomosynthesis (no pixel data)."""
    _structured_report(root / "07_sr_report.dcm", _tomo_header())
    return ["07_sr_report.dcm"]


_phantom_slices = functools.cache(phantom_slices)


def part_ct_phantom(root: Path) -> list[str]:
    """A 64-slice CT phantom (sphere, box, cylinder of known HU): a stack with a volume (MPR)."""
    return [
        _write(root, f"08_ct_phantom/phantom_{k + 1:03d}.dcm", _phantom_dataset(k, pixels))
        for k, pixels in enumerate(_phantom_slices())
    ]


def part_segmentations(root: Path) -> list[str]:
    """SEGs: the phantom's inserts on its slices, the lesions on the tomosynthesis frames."""
    return [
        _write(root, "09_seg_ct_phantom.dcm", _phantom_seg()),
        _write(root, "10_seg_tomosynthesis.dcm", _tomo_seg()),
    ]


def part_mammography(root: Path) -> list[str]:
    """Four-view screening mammograms (R CC, L CC, R MLO, L MLO) and the same four a year
    earlier (the prior: another date, study and pixel size; no mass in the left breast)."""
    return [
        _write(
            root,
            f"{folder}/mg_{laterality.lower()}_{view.lower()}.dcm",
            _mammogram_dataset(era, laterality, view),
        )
        for era, folder in (("current", "11_mg_current"), ("prior", "12_mg_prior"))
        for laterality, view in MG_VIEWS
    ]


def part_phantom_comparison(root: Path) -> list[str]:
    """For side-by-side reading: the phantom as a 4 mm series in its frame of reference (linked
    viewports follow its slices by position), and a model's SEG of the inserts (one viewport
    shows it, another the true SEG: overlays are chosen per viewport)."""
    return [
        *[
            _write(
                root,
                f"13_ct_phantom_4mm/phantom_{k + 1:03d}.dcm",
                _phantom_dataset(k, p, thick=True),
            )
            for k, p in enumerate(phantom_thick_slices())
        ],
        _write(root, "14_seg_ct_phantom_model.dcm", _phantom_seg(prediction=True)),
    ]


PARTS: tuple[Callable[[Path], list[str]], ...] = (
    part_tomosynthesis,
    part_ct_series,
    part_mr_cine,
    part_radiograph,
    part_ultrasound,
    part_compressed,
    part_report,
    part_ct_phantom,
    part_segmentations,
    part_mammography,
    part_phantom_comparison,
)


def write_images(directory: str | os.PathLike[str]) -> list[Path]:
    """Write every part's DICOM files into *directory*; return them (deterministic bytes)."""
    root = Path(directory).absolute()
    root.mkdir(parents=True, exist_ok=True)
    return [root / name for part in PARTS for name in part(root)]


def write_demo(directory: str | os.PathLike[str]) -> list[Path]:
    """Write the demo study into *directory* (created if needed); return the files written.

    Deterministic: the same call writes the same bytes. The annotations CSV comes last.
    """
    written = write_images(directory)
    csv_path = Path(directory).absolute() / "annotations.csv"
    write_annotations(csv_path, Path(directory).absolute() / TOMO_NAME)
    return [*written, csv_path]
