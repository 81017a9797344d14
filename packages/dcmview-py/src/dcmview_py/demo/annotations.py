"""The demo's lesions and its EMBED annotations CSV (light: written on every ``--demo`` run,
since the CSV names that run's paths; the pixels come from the cache)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

TOMO_NAME = "01_mg_tomosynthesis.dcm"


@dataclass(frozen=True, slots=True)
class Lesion:
    """A synthetic lesion of the tomosynthesis: where, how big, which slice is in focus."""

    name: str
    center: tuple[int, int]  # (y, x)
    radius: int
    depth: int  # frame in focus
    kind: str  # "spiculated", "round", "calcifications"


TOMO_FRAMES, TOMO_ROWS, TOMO_COLUMNS = 48, 1024, 832
LESIONS = (
    Lesion("spiculated mass", (430, 470), 26, 20, "spiculated"),
    Lesion("circumscribed mass", (690, 300), 20, 31, "round"),
    Lesion("calcification cluster", (300, 260), 22, 12, "calcifications"),
)


def write_annotations(path: Path, tomo_path: Path) -> None:
    """The EMBED ROI CSV: one box per lesion of the tomosynthesis at ``tomo_path`` (absolute)."""
    coords, frames = [], []
    for lesion in LESIONS:
        cy, cx = lesion.center
        half = int(lesion.radius * (2.2 if lesion.kind == "spiculated" else 1.5))
        coords.append([cy - half, cx - half, cy + half, cx + half])
        frames.append(list(range(max(0, lesion.depth - 3), min(TOMO_FRAMES, lesion.depth + 4))))
    with path.open("w", newline="", encoding="utf-8") as fp:
        writer = csv.writer(fp, lineterminator="\n")
        writer.writerow(["anon_dicom_path", "num_ROI", "ROI_coords", "ROI_frames"])
        writer.writerow(
            [
                os.path.abspath(tomo_path),
                len(coords),
                json.dumps(coords, separators=(",", ":")),
                json.dumps(frames, separators=(",", ":")),
            ]
        )
