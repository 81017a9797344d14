"""Small CSVs are tokenized by the csv module, large ones by pandas: both give the same result.

The size threshold (`PANDAS_TOKENIZE_BYTES`) keeps pandas out of a start-up with a small CSV;
these checks force each tokenizer on the same inputs and compare what `read_csv` returns.
"""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from dcmview_annotations import csvio

HEADER = "anon_dicom_path,ROI_coords,num_roi,frames\n"


def _rows(rng: random.Random, n: int) -> str:
    out = []
    for i in range(n):
        coords = rng.choice(
            ['"[[1,2,3,4]]"', '"[[1, 2, 3, 4], [5, 6, 7, 8]]"', "[]", '"[[1,2,3]]"']
        )
        frames = rng.choice(["", '"[[0]]"', '"[[0], [1]]"', "[[0]]"])
        path = rng.choice(
            [f"/data/{i}.dcm", f'"/data/a,b{i}.dcm"', f"rel/{i}.dcm", "", f"é{i}.dcm"]
        )
        out.append(f"{path},{coords},1,{frames}")
    return "\n".join(out) + "\n"


CASES: list[bytes] = [(HEADER + _rows(random.Random(seed), 40)).encode() for seed in range(6)] + [
    (HEADER + '/a.dcm,"[[1,2,3,4]]",1,\r\n/b.dcm,"[[5,6,7,8]]",1,\r\n').encode(),
    (HEADER + '/a.dcm,"[[1,2,\n3,4]]",1,\n').encode(),  # a quoted field spans two lines
    (HEADER + "/a.dcm,[[1,2,3,4]],1,,extra,cells\n").encode(),  # wider than the header
    (HEADER + '\n\n/a.dcm,"[[1,2,3,4]]",1,\n\n').encode(),  # blank lines
    ("\ufeff" + HEADER + '/a.dcm,"[[1,2,3,4]]",1,\n').encode(),  # a BOM
    HEADER.encode() + b'/caf\xe9.dcm,"[[1,2,3,4]]",1,\n',  # not UTF-8
    (HEADER + '/a.dcm,"[[1,2,3,4]],1,\n/b.dcm,[],0,\n').encode(),  # an unclosed quote
    (HEADER + '/a.dcm,"[[1,2,3,4]]",1,\r/b.dcm,[],0,\r').encode(),  # bare CRs
]


def _read(data: bytes, threshold: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(csvio, "PANDAS_TOKENIZE_BYTES", threshold)
    parsed = csvio.read_csv(io.BytesIO(data), cwd="/work")
    return (parsed.rows, [repr(p) for p in parsed.structural_errors])


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_both_tokenizers_give_the_same_rows_and_problems(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_csv_module = _read(data, 1 << 40, monkeypatch)
    by_pandas = _read(data, 0, monkeypatch)
    assert by_csv_module == by_pandas
    assert by_csv_module[0] or by_csv_module[1]  # each case reads rows or reports a problem


def test_a_small_csv_does_not_import_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import io, sys\nfrom dcmview_annotations.csvio import read_csv\n"
        f"read_csv(io.BytesIO({CASES[0]!r}))\nprint('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
