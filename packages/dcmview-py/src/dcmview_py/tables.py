"""The viewer's current measurements and ROIs as pandas DataFrames (``ViewerHandle`` methods).

Both read the server's export routes with the handle's token, so a notebook picks up what was
drawn in the viewer: ``GET /api/measurements/export.json`` and
``GET /api/annotations/export.csv`` (docs/api.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

MEASUREMENT_COLUMNS = (
    "path",
    "file",
    "frame",
    "kind",
    "points",
    "value",
    "unit",
    "at_detector",
    "label",
)
ANNOTATION_COLUMNS = ("anon_dicom_path", "num_ROI", "ROI_coords", "ROI_frames")
TIMEOUT = 30.0


class ViewerApiError(RuntimeError):
    """The viewer could not be asked (stopped, unreachable) or answered an error."""


def api_bytes(base_url: str, token: str | None, path: str) -> bytes:
    """GET ``base_url + path`` with the bearer token; the body, else `ViewerApiError`."""
    request = urllib.request.Request(base_url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as error:
        with error:
            text = error.read().decode("utf-8", "replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            text = str(json.loads(text)["error"])  # the API's {"code", "error"} sentence
        raise ViewerApiError(f"the viewer answered {error.code} to {path}: {text}") from None
    except OSError as error:
        reason = getattr(error, "reason", error)
        raise ViewerApiError(f"cannot reach the viewer at {base_url}: {reason}") from None


def measurements_frame(base_url: str, token: str | None) -> pd.DataFrame:
    """One row per measurement: `MEASUREMENT_COLUMNS` (``points`` a list of ``[x, y]``)."""
    import pandas as pd

    rows = json.loads(api_bytes(base_url, token, "/api/measurements/export.json"))
    return pd.DataFrame(rows["measurements"], columns=list(MEASUREMENT_COLUMNS))


def annotations_frame(base_url: str, token: str | None) -> pd.DataFrame:
    """One row per file with ROIs, the EMBED CSV's columns (`ANNOTATION_COLUMNS`);
    ``ROI_coords`` and ``ROI_frames`` decoded to lists."""
    import pandas as pd

    data = api_bytes(base_url, token, "/api/annotations/export.csv?peek=1")  # not an export
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    frame["num_ROI"] = frame["num_ROI"].astype(int)
    for column in ("ROI_coords", "ROI_frames"):
        frame[column] = [json.loads(cell) for cell in frame[column]]
    return frame
