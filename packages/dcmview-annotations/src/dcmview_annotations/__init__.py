"""EMBED ROI annotations for dcmview: model, CSV load/export, thread-safe store, CSV validator.

Knows nothing of DICOM (it is given each file's `Geometry`) except the optional
``validate --check-files`` path, and nothing of HTTP.
"""

from dcmview_annotations.csvio import (
    AnnotationCsv,
    CsvLoadResult,
    CsvProblem,
    CsvRow,
    RowMatch,
    display_path,
    export_csv,
    load_csv,
    path_from_display,
    read_csv,
)
from dcmview_annotations.errors import (
    AnnotationError,
    CsvReadError,
    RoiProblem,
    RoiValidationError,
)
from dcmview_annotations.model import Geometry, RoiSet, geometry_problems, parse_roi_set
from dcmview_annotations.store import AnnotationStore

__version__ = "0.1.0"

__all__ = [
    "AnnotationCsv",
    "AnnotationError",
    "AnnotationStore",
    "CsvLoadResult",
    "CsvProblem",
    "CsvReadError",
    "CsvRow",
    "Geometry",
    "RoiProblem",
    "RoiSet",
    "RoiValidationError",
    "RowMatch",
    "__version__",
    "display_path",
    "export_csv",
    "geometry_problems",
    "load_csv",
    "parse_roi_set",
    "path_from_display",
    "read_csv",
]
