"""view(): blocking, non-blocking, context manager, in-memory objects, errors."""

from __future__ import annotations

import gc
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from dcmview_py import DcmviewStartError, ViewerHandle, view
from dcmview_py.inmemory import array_dataset, write_objects
from dcmview_py.testing import api_get, scanned_files


def _files(handle: ViewerHandle) -> list[dict[str, Any]]:
    return list(scanned_files(handle.base_url, handle.token)["files"])


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_non_blocking_handle(dicom_dir: Path) -> None:
    handle = view([dicom_dir], browser=False, block=False)
    try:
        assert handle.running
        assert handle.url == f"{handle.base_url}/#token={handle.token}"
        assert handle.base_url == f"http://127.0.0.1:{handle.port}"
        assert len(_files(handle)) == 2
        assert api_get(handle.base_url, "/api/files", None)[0] == 401
    finally:
        handle.stop()
    assert handle.process.poll() == 0
    handle.stop()  # idempotent


def test_context_manager_stops_the_process(dicom_dir: Path) -> None:
    with view(str(dicom_dir / "CT_small.dcm"), browser=False, block=False) as handle:
        pid = handle.process.pid
        assert len(_files(handle)) == 1
    assert _gone(pid)


def test_garbage_collection_stops_the_process(dicom_dir: Path) -> None:
    handle = view([dicom_dir], browser=False, block=False)
    pid = handle.process.pid
    del handle
    gc.collect()
    assert _gone(pid)


def test_blocking_returns_when_the_viewer_exits(
    dicom_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    handle = view([dicom_dir], browser=False, timeout=1)
    assert not handle.running
    assert handle.returncode == 0
    assert time.monotonic() - started < 20
    out = capsys.readouterr().out
    assert f"dcmview: server running at {handle.url}" in out


def test_in_memory_objects_written_as_dicom_and_deleted_on_stop() -> None:
    source = get_testdata_file("CT_small.dcm")
    assert source is not None
    dataset = pydicom.dcmread(source)
    frame = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    frames = np.array([[[-5, 0], [7, 32767]], [[-32768, 1], [2, 3]]], dtype=np.int16)
    floats = np.linspace(-1.5, 2.5, 6, dtype=np.float32).reshape(2, 3)
    handle = view([dataset, frame, frames, floats], browser=False, block=False)
    try:
        assert handle.tmpdir is not None
        tmpdir = Path(handle.tmpdir)
        assert stat.S_IMODE(tmpdir.stat().st_mode) == 0o700
        files = _files(handle)
        assert len(files) == 4
        written = sorted(tmpdir.rglob("*.dcm"))
        assert len(written) == 4
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
        back = [pydicom.dcmread(p) for p in written]
        assert back[0].SOPInstanceUID == dataset.SOPInstanceUID
        np.testing.assert_array_equal(back[0].pixel_array, dataset.pixel_array)
        originals: list[np.ndarray[Any, Any]] = [frame, frames, floats]
        for ds, original in zip(back[1:], originals, strict=True):
            pixels = ds.pixel_array
            assert pixels.dtype == original.dtype
            np.testing.assert_array_equal(pixels, original)
        assert "NumberOfFrames" not in back[1]
        assert back[2].NumberOfFrames == 2
        assert "FloatPixelData" in back[3]
        assert len({ds.StudyInstanceUID for ds in back[1:]}) == 1
    finally:
        handle.stop()
    assert not tmpdir.exists()


def test_write_objects_keeps_dtypes_exactly(tmp_path: Path) -> None:
    arrays: list[np.ndarray[Any, Any]] = [
        np.array([[0, 255]], dtype=np.uint8),
        np.array([[-128, 127]], dtype=np.int8),
        np.array([[0, 65535]], dtype=np.uint16),
        np.array([[-(2**31), 2**31 - 1]], dtype=np.int32),
        np.array([[0, 2**32 - 1]], dtype=np.uint32),
        np.array([[1e-300, -2.5]], dtype=np.float64),
        np.array([[1, 2], [3, 4]], dtype=">u2"),  # big-endian input: values kept
        np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
    ]
    paths = write_objects(arrays, tmp_path)
    for path, original in zip(paths, arrays, strict=True):
        pixels = pydicom.dcmread(path).pixel_array
        np.testing.assert_array_equal(pixels, original)
        assert pixels.dtype.kind == original.dtype.kind
        assert pixels.dtype.itemsize == original.dtype.itemsize
    assert "DoubleFloatPixelData" in pydicom.dcmread(paths[5])


def test_dataset_is_not_modified(tmp_path: Path) -> None:
    ds = array_dataset(np.zeros((2, 2), np.uint8), study_uid="1.2.3", index=0)
    del ds.file_meta
    before = set(ds.keys())
    write_objects([ds], tmp_path)
    assert set(ds.keys()) == before
    assert not hasattr(ds, "file_meta")


@pytest.mark.parametrize(
    ("kwargs", "exc", "message"),
    [
        ({"items": None}, ValueError, "missing PATH"),
        ({"prot": 80}, TypeError, "unexpected keyword argument 'prot'"),
        ({"demo": True, "filters": ["modality=MR"], "items": ["/tmp"]}, ValueError, "--demo takes"),
        ({"items": 42}, TypeError, "not 42"),
        ({"items": [object()]}, TypeError, "expected a path"),
        ({"items": ["/no/such/path"]}, ValueError, "path not found"),
        ({"items": [np.zeros(3)]}, ValueError, "2-D"),
        ({"items": [np.zeros((2, 2), np.int64)]}, TypeError, "at most 32 bits"),
        ({"items": [np.zeros((2, 2), bool)]}, TypeError, "integers or floats"),
        ({"port": 70000}, ValueError, "port"),
        ({"port": "80"}, TypeError, "port"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"filters": "modality=CT"}, TypeError, "--filter: expected a list"),
        ({"filters": ["NoSuchKeyword=1"]}, ValueError, "unknown filter field"),
        ({"filters": ["modality"]}, ValueError, "invalid filter"),
        ({"cache_budget": "lots"}, ValueError, "invalid size"),
        ({"annotations": "/no/such.csv"}, ValueError, "annotations CSV not found"),
        ({"tunnel_host": "-oProxyCommand=x"}, ValueError, "must not start with '-'"),
        ({"tunnel_port": 5}, ValueError, "--tunnel-port needs --tunnel"),
        ({"browser": "yes"}, TypeError, "browser"),
        ({"ssh_config": "/x"}, ValueError, "--ssh-config needs --tunnel"),
        ({"rgb": 1}, TypeError, "rgb"),
        ({"height": 1.5}, TypeError, "height"),
    ],
)
def test_bad_arguments_raise_before_anything_starts(
    dicom_dir: Path, kwargs: dict[str, Any], exc: type[Exception], message: str
) -> None:
    args = {"items": [dicom_dir], "browser": False, "block": False, **kwargs}
    items = args.pop("items")
    before = set(os.listdir("/tmp"))
    with pytest.raises(exc, match=message):
        view(items, **args)
    leftovers = {n for n in set(os.listdir("/tmp")) - before if n.startswith("dcmview-view-")}
    assert not leftovers


def test_start_failure_raises_with_stderr(dicom_dir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(DcmviewStartError, match="in use") as info:
            view([dicom_dir], port=port, browser=False, block=False)
    assert info.value.returncode == 2
    assert "dcmview: error:" in info.value.stderr


def test_start_failure_removes_the_temp_dir() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        before = set(os.listdir("/tmp"))
        with pytest.raises(DcmviewStartError):
            view([np.zeros((2, 2), np.uint8)], port=port, browser=False, block=False)
    assert not {n for n in set(os.listdir("/tmp")) - before if n.startswith("dcmview-view-")}


def test_notebook_iframe(dicom_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.delenv("DCMVIEW_PROXY_URL", raising=False)
    with view([dicom_dir], browser=False, block=False, height=480) as handle:
        html = handle._repr_html_()
        assert html.startswith("<iframe ")
        assert f'src="{handle.url}"' in html
        assert "height:480px" in html
        assert "height:70vh" in handle.iframe(height="70vh")
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ann/")
        assert f'src="/user/ann/proxy/{handle.port}/#token={handle.token}"' in handle.iframe()
        handle.proxy_url = "/lab/proxy/{port}/"
        assert f'src="/lab/proxy/{handle.port}/#token=' in handle.iframe()
    assert "stopped" in handle._repr_html_()


def test_viewer_stops_when_its_parent_dies(dicom_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import os\n"
        "import numpy as np\n"
        "from dcmview_py import view\n"
        f"h = view([{str(dicom_dir)!r}, np.zeros((4, 4), np.uint8)], browser=False, block=False)\n"
        "print(h.process.pid, h.tmpdir, flush=True)\n"
        "os._exit(0)  # no cleanup at all: only the closed pipe tells the child\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    pid_text, tmpdir = result.stdout.split()
    assert _gone(int(pid_text))
    assert not Path(tmpdir).exists()


# ---- colour arrays (issue 12 §5) ------------------------------------------------------------


def test_rgb_arrays_are_one_colour_image(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((6, 5, 1), 255, np.uint8)], axis=-1)
    cine = rng.integers(0, 256, (2, 6, 5, 3), dtype=np.uint8)
    paths = write_objects([rgb, rgba, cine], tmp_path)
    one, two, three = (pydicom.dcmread(p) for p in paths)
    for ds in (one, two):
        assert (ds.SamplesPerPixel, ds.PhotometricInterpretation) == (3, "RGB")
        assert (ds.Rows, ds.Columns, ds.PlanarConfiguration) == (6, 5, 0)
        assert "NumberOfFrames" not in ds
        np.testing.assert_array_equal(ds.pixel_array, rgb)  # alpha dropped
    assert three.NumberOfFrames == 2
    assert three.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7.4"
    np.testing.assert_array_equal(three.pixel_array, cine)
    (tmp_path / "f").mkdir()
    frames = pydicom.dcmread(write_objects([rgb], tmp_path / "f", rgb=False)[0])
    assert (frames.NumberOfFrames, frames.Rows, frames.Columns) == (6, 5, 3)
    assert frames.SamplesPerPixel == 1


def test_ambiguous_shapes_warn_and_rgb_forces(tmp_path: Path) -> None:
    from dcmview_py.inmemory import check_array

    with pytest.warns(UserWarning, match="one colour image"):
        assert check_array(np.zeros((3, 7, 3), np.uint8), 0).samples == 3
    with pytest.warns(UserWarning, match="channels-first"):
        assert check_array(np.zeros((3, 7, 9), np.uint8), 0).frames == 3
    assert check_array(np.zeros((3, 7, 3), np.uint8), 0, rgb=False).frames == 3
    assert check_array(np.zeros((7, 9, 4), np.uint8), 0, rgb=True).samples == 3
    with pytest.raises(ValueError, match="rgb=True needs a uint8 array"):
        check_array(np.zeros((7, 9, 3), np.uint16), 0, rgb=True)
    assert check_array(np.zeros((7, 9, 3), np.uint16), 0).frames == 7  # only uint8 is colour


# ---- failed starts, keywords from the declarations (issue 11, issue 12 §2, §3c) ----------------


def test_a_start_without_files_raises_the_reason(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(DcmviewStartError) as info:
        view([tmp_path], browser=False, block=False)
    assert str(info.value).startswith("no DICOM files found (a.txt: not DICOM")
    assert info.value.returncode == 1


def test_keywords_become_the_child_arguments(dicom_dir: Path, tmp_path: Path) -> None:
    from dcmview_py.options import from_keywords, keywords, secret_env, to_argv

    assert {"port", "browser", "filters", "save_annotations", "overlays", "verbose"} <= set(
        keywords()
    )
    inv = from_keywords(
        [str(dicom_dir)],
        {
            "save_annotations": tmp_path / "out.csv",
            "filters": ["modality=CT"],
            "timeout": 5,
            "recursive": False,
            "dicomweb_token": "s3cret",
        },
    )
    argv = to_argv(inv.server, skip=("paths",)) + to_argv(inv.cli)
    assert argv == [
        "--timeout=5.0", "--no-recursive", "--filter=modality=CT",
        f"--save-annotations={tmp_path / 'out.csv'}",
    ]  # fmt: skip
    assert "s3cret" not in " ".join(argv)  # secrets go by environment, not by `ps`
    assert secret_env(inv.cli) == {"DCMVIEW_DICOMWEB_TOKEN": "s3cret"}
    csv = tmp_path / "in.csv"
    csv.write_text("anon_dicom_path,ROI_coords\n")
    with pytest.raises(ValueError, match="must not be the --annotations CSV"):
        view([dicom_dir], annotations=csv, save_annotations=str(csv), browser=False)


def test_overlay_arrays_are_saved_as_npy_named_by_their_key(tmp_path: Path) -> None:
    from dcmview_py.viewer import _place_overlays

    mask = np.arange(6, dtype=np.uint8).reshape(2, 3)
    options: dict[str, Any] = {"overlays": {"prediction": mask, "truth": "/data/gt.nii.gz"}}
    _place_overlays(options, str(tmp_path))
    saved, path = options["overlays"]
    assert saved == str(tmp_path / "overlays" / "0" / "prediction.npy")
    np.testing.assert_array_equal(np.load(saved), mask)
    assert path == "/data/gt.nii.gz"
    with pytest.raises(ValueError, match="invalid overlay name"):
        _place_overlays({"overlays": {"a/b": mask}}, str(tmp_path))


def test_an_overlay_array_that_fits_no_image_raises_naming_both_shapes(dicom_dir: Path) -> None:
    mask = np.zeros((4, 5), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"4×5") as raised:
        view([dicom_dir], overlays={"prediction": mask}, browser=False, block=False)
    assert "128×128" in str(raised.value)  # CT_small's shape: the one it was compared with


def test_an_overlay_array_that_fits_is_listed_on_its_image(dicom_dir: Path) -> None:
    mask = np.zeros((128, 128), dtype=np.uint8)
    mask[10:20, 30:40] = 1
    with view([dicom_dir], overlays={"prediction": mask}, browser=False, block=False) as handle:
        status, body = api_get(handle.base_url, "/api/overlays", handle.token)
        assert status == 200
        (overlay,) = body["overlays"]
        assert overlay["label"] == "prediction"
        assert overlay["targets"]
