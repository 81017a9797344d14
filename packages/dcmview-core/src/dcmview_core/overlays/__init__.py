"""Overlays: DICOM SEG, RT Structure Sets and mask arrays drawn on the loaded images.

- `OverlayCatalog` — every overlay of a session (given sources, then discovered SEG/RTSTRUCT).
- `OverlayLayer` (`segments`, `targets`, `reason`, `to_json()`), `segment_mask`, `label_map`,
  `label_map_overlap`, `segment_counts` — drawing one target frame, lazily (a SEG frame is
  unpacked when drawn).
- `place_seg` / `place_rtstruct` / `place_array` / `place_nifti` — the placing rules, pure.
- `fill_polygons` (even-odd at pixel centres), `cielab_to_srgb`, `palette_colour`.
- `seg_dataset` — a BINARY SEG written with pydicom (demo, benchmarks, tests).
"""

from __future__ import annotations

from dcmview_core.overlays.arrays import (
    MaskKind,
    classify,
    load_mask_file,
    mask_label,
    place_array,
    place_nifti,
)
from dcmview_core.overlays.catalog import (
    MASK_SUFFIXES,
    OverlayCatalog,
    OverlaySource,
    check_overlay_path,
    parse_segment_labels,
)
from dcmview_core.overlays.colour import PALETTE, cielab_to_srgb, palette_colour, srgb_to_cielab
from dcmview_core.overlays.model import (
    Grid,
    OverlayKind,
    OverlayLayer,
    OverlayNotFound,
    Plane,
    Segment,
    SegmentCount,
    Target,
    label_dtype,
    label_map,
    label_map_overlap,
    segment_counts,
    segment_mask,
)
from dcmview_core.overlays.placement import (
    LABEL_MAP_SEG_STORAGE,
    OVERLAY_SOP_CLASSES,
    RTSTRUCT_STORAGE,
    SEG_STORAGE,
    PlaceIndex,
)
from dcmview_core.overlays.raster import fill_polygons
from dcmview_core.overlays.rtstruct import place_rtstruct, read_rtstruct_header
from dcmview_core.overlays.seg import place_seg, read_seg_header
from dcmview_core.overlays.writer import seg_dataset

__all__ = [
    "LABEL_MAP_SEG_STORAGE",
    "MASK_SUFFIXES",
    "OVERLAY_SOP_CLASSES",
    "PALETTE",
    "RTSTRUCT_STORAGE",
    "SEG_STORAGE",
    "Grid",
    "MaskKind",
    "OverlayCatalog",
    "OverlayKind",
    "OverlayLayer",
    "OverlayNotFound",
    "OverlaySource",
    "PlaceIndex",
    "Plane",
    "Segment",
    "SegmentCount",
    "Target",
    "check_overlay_path",
    "cielab_to_srgb",
    "classify",
    "fill_polygons",
    "label_dtype",
    "label_map",
    "label_map_overlap",
    "load_mask_file",
    "mask_label",
    "palette_colour",
    "parse_segment_labels",
    "place_array",
    "place_nifti",
    "place_rtstruct",
    "place_seg",
    "read_rtstruct_header",
    "read_seg_header",
    "seg_dataset",
    "segment_counts",
    "segment_mask",
    "srgb_to_cielab",
]
