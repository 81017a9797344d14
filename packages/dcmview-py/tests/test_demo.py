from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from dcmview_core import (
    OVERLAY_SOP_CLASSES,
    Box,
    OverlayCatalog,
    StackIndex,
    modality_values,
    read_frame,
    region_stats,
    segment_mask,
)
from dcmview_core.discovery import scan
from dcmview_core.model import FileEntry, SupportState, Window

from dcmview_py.demo.annotations import LESIONS, TOMO_COLUMNS, TOMO_FRAMES, TOMO_ROWS
from dcmview_py.demo.study import (
    MG_ORIENTATION,
    PHANTOM_HU,
    PHANTOM_SEGMENTS,
    PHANTOM_SLICES,
    TOMO_SEG_HALF_DEPTH,
    phantom_masks,
    phantom_prediction_masks,
    tomo_lesion_masks,
    write_demo,
)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("demo")
    return root, write_demo(root)


@pytest.fixture(scope="module")
def demo_entries(demo_dir: tuple[Path, list[Path]]) -> dict[str, FileEntry]:
    root, _ = demo_dir
    items = list(scan([root]))
    accepted = {str(Path(e.path).relative_to(root)): e for e in items if isinstance(e, FileEntry)}
    skipped = [s for s in items if not isinstance(s, FileEntry)]
    assert [Path(s.path).name for s in skipped] == ["annotations.csv"]
    return accepted


def test_written_files(demo_dir: tuple[Path, list[Path]]) -> None:
    root, files = demo_dir
    names = [str(f.relative_to(root)) for f in files]
    assert names == [
        "01_mg_tomosynthesis.dcm",
        *[f"02_ct/ct_{i:03d}.dcm" for i in range(1, 9)],
        "03_mr_cine.dcm",
        "04_cr_chest_monochrome1.dcm",
        "05_us_cine_ybr422_jpeg.dcm",
        "06_compressed/ct_rle.dcm",
        "06_compressed/ct_jpeg2000.dcm",
        "06_compressed/ct_jpegls.dcm",
        "06_compressed/mr_cine_jpegls.dcm",
        "07_sr_report.dcm",
        *[f"08_ct_phantom/phantom_{k:03d}.dcm" for k in range(1, PHANTOM_SLICES + 1)],
        "09_seg_ct_phantom.dcm",
        "10_seg_tomosynthesis.dcm",
        *[
            f"{folder}/mg_{view}.dcm"
            for folder in ("11_mg_current", "12_mg_prior")
            for view in ("r_cc", "l_cc", "r_mlo", "l_mlo")
        ],
        *[f"13_ct_phantom_4mm/phantom_{k:03d}.dcm" for k in range(1, PHANTOM_SLICES // 2 + 1)],
        "14_seg_ct_phantom_model.dcm",
        "annotations.csv",
    ]
    assert all(f.is_absolute() and f.is_file() for f in files)


def test_every_image_is_renderable_and_the_report_is_metadata_only(
    demo_entries: dict[str, FileEntry],
) -> None:
    for name, entry in demo_entries.items():
        expected = (
            SupportState.METADATA_ONLY if name == "07_sr_report.dcm" else SupportState.RENDERABLE
        )
        assert entry.support_state is expected, name
        assert entry.patient_id == "DEMO-0001"
    assert demo_entries["07_sr_report.dcm"].has_pixels is False


def test_segmentations_are_read_as_overlays_not_images(
    demo_entries: dict[str, FileEntry],
) -> None:
    for name in (
        "09_seg_ct_phantom.dcm",
        "10_seg_tomosynthesis.dcm",
        "14_seg_ct_phantom_model.dcm",
    ):
        assert demo_entries[name].sop_class_uid in OVERLAY_SOP_CLASSES
        assert demo_entries[name].modality == "SEG"


def test_tomosynthesis(
    demo_entries: dict[str, FileEntry], demo_dir: tuple[Path, list[Path]]
) -> None:
    entry = demo_entries["01_mg_tomosynthesis.dcm"]
    assert (entry.frame_count, entry.rows, entry.columns) == (TOMO_FRAMES, TOMO_ROWS, TOMO_COLUMNS)
    assert (entry.bits_allocated, entry.photometric_interpretation) == (16, "MONOCHROME2")
    assert entry.modality == "MG"
    assert entry.default_window == Window(25000.0, 14000.0)  # shared functional groups
    pixels = pydicom.dcmread(demo_dir[0] / "01_mg_tomosynthesis.dcm").pixel_array
    # each lesion is brighter in its focal slice than far from it
    for lesion in LESIONS:
        cy, cx = lesion.center
        spot = (slice(cy - 3, cy + 4), slice(cx - 3, cx + 4))
        measure: Callable[..., Any]
        if lesion.kind == "calcifications":
            spot = (slice(cy - 2 * lesion.radius, cy + 2 * lesion.radius),) * 2
            spot = (spot[0], slice(cx - 2 * lesion.radius, cx + 2 * lesion.radius))
            measure = np.max
        else:
            measure = np.mean
        focused = float(measure(pixels[lesion.depth][spot]))
        far = float(measure(pixels[(lesion.depth + 24) % TOMO_FRAMES][spot]))
        assert focused > far + 1500, lesion.name


def test_ct_series(demo_entries: dict[str, FileEntry], demo_dir: tuple[Path, list[Path]]) -> None:
    entries = [demo_entries[f"02_ct/ct_{i:03d}.dcm"] for i in range(1, 9)]
    assert [e.instance_number for e in entries] == list(range(1, 9))
    assert len({e.series_instance_uid for e in entries}) == 1
    assert entries[0].default_window == Window(40.0, 400.0)
    ds = pydicom.dcmread(demo_dir[0] / "02_ct" / "ct_004.dcm")
    assert (ds.RescaleIntercept, ds.RescaleSlope) == (-1024, 1)
    assert list(ds.WindowCenterWidthExplanation) == ["SOFT TISSUE", "LUNG", "BONE"]
    hu = ds.pixel_array.astype(np.int32) - 1024
    assert hu[256, 256 - 95] < -700  # lung
    assert hu[256 + 105, 256 + 18] > 500  # vertebral body beside the canal


def test_mr_cr_us(demo_entries: dict[str, FileEntry], demo_dir: tuple[Path, list[Path]]) -> None:
    mr = demo_entries["03_mr_cine.dcm"]
    assert (mr.frame_count, mr.rows, mr.columns, mr.modality) == (30, 256, 256, "MR")
    cr = demo_entries["04_cr_chest_monochrome1.dcm"]
    assert cr.photometric_interpretation == "MONOCHROME1"
    us = demo_entries["05_us_cine_ybr422_jpeg.dcm"]
    assert us.transfer_syntax_uid == "1.2.840.10008.1.2.4.50"
    assert (us.photometric_interpretation, us.samples_per_pixel) == ("YBR_FULL_422", 3)
    assert us.frame_count == 12
    rgb = pydicom.dcmread(demo_dir[0] / "05_us_cine_ybr422_jpeg.dcm").pixel_array
    assert rgb.shape == (12, 480, 640, 3)
    red = rgb[:, 200, 400].astype(int)
    assert (red[:, 0] > red[:, 2]).any()  # colour Doppler survives YBR 4:2:2 JPEG


@pytest.mark.parametrize(
    ("name", "syntax"),
    [
        ("ct_rle.dcm", "1.2.840.10008.1.2.5"),
        ("ct_jpeg2000.dcm", "1.2.840.10008.1.2.4.90"),
        ("ct_jpegls.dcm", "1.2.840.10008.1.2.4.80"),
    ],
)
def test_compressed_variants_are_lossless_copies(
    demo_dir: tuple[Path, list[Path]], demo_entries: dict[str, FileEntry], name: str, syntax: str
) -> None:
    assert demo_entries[f"06_compressed/{name}"].transfer_syntax_uid == syntax
    original = pydicom.dcmread(demo_dir[0] / "02_ct" / "ct_005.dcm").pixel_array
    compressed = pydicom.dcmread(demo_dir[0] / "06_compressed" / name).pixel_array
    assert np.array_equal(original, compressed)


def test_cine_jpegls(demo_dir: tuple[Path, list[Path]]) -> None:
    original = pydicom.dcmread(demo_dir[0] / "03_mr_cine.dcm").pixel_array
    compressed = pydicom.dcmread(demo_dir[0] / "06_compressed" / "mr_cine_jpegls.dcm").pixel_array
    assert np.array_equal(original, compressed)


def test_annotations_csv(demo_dir: tuple[Path, list[Path]]) -> None:
    root, _ = demo_dir
    with (root / "annotations.csv").open(newline="", encoding="utf-8") as fp:
        rows = list(csv.DictReader(fp))
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == ["anon_dicom_path", "num_ROI", "ROI_coords", "ROI_frames"]
    assert row["anon_dicom_path"] == str(root / "01_mg_tomosynthesis.dcm")
    coords = json.loads(row["ROI_coords"])
    frames = json.loads(row["ROI_frames"])
    assert int(row["num_ROI"]) == len(coords) == len(frames) == len(LESIONS)
    for (ymin, xmin, ymax, xmax), lesion, frame_list in zip(coords, LESIONS, frames, strict=True):
        assert 0 <= ymin < ymax <= TOMO_ROWS
        assert 0 <= xmin < xmax <= TOMO_COLUMNS
        assert ymin < lesion.center[0] < ymax
        assert xmin < lesion.center[1] < xmax
        assert lesion.depth in frame_list
        assert all(0 <= f < TOMO_FRAMES for f in frame_list)


def test_deterministic(demo_dir: tuple[Path, list[Path]], tmp_path: Path) -> None:
    first_root, first = demo_dir
    second = write_demo(tmp_path / "again")

    def digest(path: Path, root: Path) -> str:
        data = path.read_bytes()
        if path.suffix == ".csv":
            data = data.replace(str(root).encode(), b"ROOT")
        return hashlib.sha256(data).hexdigest()

    assert [digest(p, first_root) for p in first] == [digest(p, tmp_path / "again") for p in second]


# ---- what this wave built: stacks/MPR (issue 13), overlays (14), hanging + prior (15) -------


def _ordered(entries: dict[str, FileEntry]) -> list[FileEntry]:
    """The entries by file index (what a server's registry holds)."""
    return sorted(entries.values(), key=lambda e: e.index)


def test_the_phantom_is_one_stack_with_a_volume(demo_entries: dict[str, FileEntry]) -> None:
    index = StackIndex()
    index.extend(_ordered(demo_entries))
    slices = [demo_entries[f"08_ct_phantom/phantom_{k:03d}.dcm"] for k in range(1, 65)]
    ids = {index.stack_of(e.index) for e in slices}
    assert len(ids) == 1
    assert None not in ids
    stack = index.get(ids.pop())  # type: ignore[arg-type]
    assert stack is not None
    assert stack.slice_count == PHANTOM_SLICES
    assert [file for file, _ in stack.slices] == [e.index for e in slices]  # inferior → superior
    assert stack.volume is not None
    assert stack.volume.shape == (PHANTOM_SLICES, 256, 256)
    assert stack.volume.spacing == (2.0, 0.8, 0.8)
    assert stack.volume.uniform
    # no other stack mixes copies into a series (the compressed variants have their own)
    chest = {index.stack_of(demo_entries[f"02_ct/ct_{i:03d}.dcm"].index) for i in range(1, 9)}
    assert len(chest) == 1
    chest_stack = index.get(chest.pop())  # type: ignore[arg-type]
    assert chest_stack is not None
    assert chest_stack.slice_count == 8


def test_a_second_phantom_series_links_by_position(demo_entries: dict[str, FileEntry]) -> None:
    """Side-by-side reading: the 4 mm series is a stack of its own in the 2 mm one's frame of
    reference (what slice linking compares), covering the same slab at other positions."""
    index = StackIndex()
    index.extend(_ordered(demo_entries))
    fine = [demo_entries[f"08_ct_phantom/phantom_{k:03d}.dcm"] for k in range(1, 65)]
    thick = [demo_entries[f"13_ct_phantom_4mm/phantom_{k:03d}.dcm"] for k in range(1, 33)]
    ids = {index.stack_of(e.index) for e in thick}
    assert len(ids) == 1
    assert ids.isdisjoint({index.stack_of(e.index) for e in fine})
    stack = index.get(ids.pop())  # type: ignore[arg-type]
    assert stack is not None
    assert stack.volume is not None
    assert stack.volume.shape == (PHANTOM_SLICES // 2, 128, 128)
    assert stack.volume.spacing == (4.0, 1.6, 1.6)
    assert stack.volume.uniform
    geometries = [e.geometry for e in fine + thick]
    assert all(g is not None and g.positions for g in geometries)
    frames_of_reference = {g.frame_of_reference_uid for g in geometries if g}
    assert len(frames_of_reference) == 1
    assert None not in frames_of_reference
    assert len({e.series_instance_uid for e in fine + thick}) == 2

    def z(entry: FileEntry) -> float:
        assert entry.geometry is not None and entry.geometry.positions  # noqa: PT018
        return entry.geometry.positions[0][2]

    # thick slice k is the mean of fine slices 2k and 2k + 1: centred between them
    z_fine = [z(e) for e in fine]
    assert [z(e) for e in thick] == pytest.approx(
        [(a + b) / 2 for a, b in zip(z_fine[::2], z_fine[1::2], strict=True)]
    )
    # the same HU where an insert fills the 2 × 2 × 2 block
    masks = phantom_masks()
    k = int(np.argmax(masks["Box"].sum(axis=(1, 2)))) // 2
    rows, columns = np.nonzero(masks["Box"][2 * k])
    cy, cx = int(rows.mean()) // 2, int(columns.mean()) // 2
    frame = read_frame(thick[k], 0)
    stats = region_stats(modality_values(frame), "rect", Box(cy - 2, cx - 2, cy + 3, cx + 3))
    assert (stats.mean, stats.min, stats.max) == (PHANTOM_HU["Box"],) * 3


def test_phantom_stats_read_the_known_values(demo_entries: dict[str, FileEntry]) -> None:
    masks = phantom_masks()
    for name in PHANTOM_SEGMENTS:
        k = int(np.argmax(masks[name].sum(axis=(1, 2))))  # the slice through the insert's middle
        rows, columns = np.nonzero(masks[name][k])
        cy, cx = int(rows.mean()), int(columns.mean())
        frame = read_frame(demo_entries[f"08_ct_phantom/phantom_{k + 1:03d}.dcm"], 0)
        stats = region_stats(modality_values(frame), "rect", Box(cy - 3, cx - 3, cy + 4, cx + 4))
        assert (stats.mean, stats.sd, stats.min, stats.max) == (
            PHANTOM_HU[name],
            0,
            *[PHANTOM_HU[name]] * 2,
        )


def test_the_segs_match_their_targets(demo_entries: dict[str, FileEntry]) -> None:
    entries = _ordered(demo_entries)
    index = StackIndex()
    index.extend(entries)
    overlays = {o.label: o for o in OverlayCatalog().overlays(entries, index.stacks())}
    assert set(overlays) == {"Phantom inserts", "Lesions", "Model prediction"}
    phantom = overlays["Phantom inserts"]
    assert phantom.reason is None
    assert [s.label for s in phantom.segments] == list(PHANTOM_SEGMENTS)
    assert len({s.color for s in phantom.segments}) == 3
    masks = phantom_masks()
    covered = np.flatnonzero(np.any([masks[n].any(axis=(1, 2)) for n in PHANTOM_SEGMENTS], 0))
    by_file = {demo_entries[f"08_ct_phantom/phantom_{k + 1:03d}.dcm"].index: k for k in covered}
    assert {t.file: t.frames for t in phantom.targets} == dict.fromkeys(by_file, (0,))
    for file, k in by_file.items():  # exact masks through the overlay reader
        for number, name in enumerate(PHANTOM_SEGMENTS, start=1):
            drawn = segment_mask(phantom, file, 0, number) > 0
            assert np.array_equal(drawn, masks[name][k]), (name, k)
    # a model's SEG on the same slices, for a viewport of its own beside the true one
    model = overlays["Model prediction"]
    assert model.reason is None
    assert [s.label for s in model.segments] == list(PHANTOM_SEGMENTS)
    predicted = phantom_prediction_masks()
    covered = np.flatnonzero(np.any([predicted[n].any(axis=(1, 2)) for n in PHANTOM_SEGMENTS], 0))
    by_file = {demo_entries[f"08_ct_phantom/phantom_{k + 1:03d}.dcm"].index: k for k in covered}
    assert {t.file: t.frames for t in model.targets} == dict.fromkeys(by_file, (0,))
    for file, k in by_file.items():
        for number, name in enumerate(PHANTOM_SEGMENTS, start=1):
            drawn = segment_mask(model, file, 0, number) > 0
            assert np.array_equal(drawn, predicted[name][k]), (name, k)
    for name in PHANTOM_SEGMENTS:  # it differs from the truth, insert by insert
        assert not np.array_equal(predicted[name], masks[name]), name
        assert (predicted[name] & masks[name]).sum() > 0.5 * masks[name].sum(), name
    lesions = overlays["Lesions"]
    assert lesions.reason is None
    tomo = demo_entries["01_mg_tomosynthesis.dcm"].index
    expected = sorted(
        z
        for lesion in LESIONS
        for z in range(lesion.depth - TOMO_SEG_HALF_DEPTH, lesion.depth + TOMO_SEG_HALF_DEPTH + 1)
    )
    assert [(t.file, list(t.frames)) for t in lesions.targets] == [(tomo, expected)]
    for z, number, plane in tomo_lesion_masks():
        assert np.array_equal(segment_mask(lesions, tomo, z, number) > 0, plane), (z, number)
    for number, lesion in enumerate(LESIONS, start=1):
        assert plane_at(lesions, tomo, lesion.depth, number)[lesion.center]


def plane_at(overlay: Any, file: int, frame: int, number: int) -> Any:
    """A segment's mask on one target frame, as bools."""
    return segment_mask(overlay, file, frame, number) > 0


def test_highdicom_reads_the_phantom_seg_exactly(demo_dir: tuple[Path, list[Path]]) -> None:
    """highdicom (the SEG reference) as the independent reader of core's writer's output."""
    import highdicom as hd

    root = demo_dir[0]
    seg = hd.seg.segread(root / "09_seg_ct_phantom.dcm")
    slices = sorted((root / "08_ct_phantom").glob("*.dcm"))
    uids = [pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID for f in slices]
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids,
        segment_numbers=[1, 2, 3],
        assert_missing_frames_are_empty=True,
    )
    masks = phantom_masks()
    assert np.array_equal(pixels.astype(bool), np.stack([masks[n] for n in PHANTOM_SEGMENTS], -1))
    labels = [seg.get_segment_description(n).segment_label for n in (1, 2, 3)]
    assert labels == list(PHANTOM_SEGMENTS)


def test_four_view_mammography_and_its_prior(
    demo_entries: dict[str, FileEntry], demo_dir: tuple[Path, list[Path]]
) -> None:
    studies: dict[str, list[str]] = {}
    for folder in ("11_mg_current", "12_mg_prior"):
        for laterality, view in (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")):
            name = f"{folder}/mg_{laterality.lower()}_{view.lower()}.dcm"
            entry = demo_entries[name]
            assert (entry.modality, entry.view_position, entry.laterality) == (
                "MG",
                view,
                laterality,
            )
            assert (entry.rows, entry.columns, entry.bits_allocated) == (512, 416, 16)
            assert entry.geometry is not None
            assert entry.geometry.imager_pixel_spacing is not None
            assert entry.geometry.magnification is not None
            ds = pydicom.dcmread(demo_dir[0] / name)
            assert tuple(ds.PatientOrientation) == MG_ORIENTATION[(laterality, view)]
            assert ds.PatientID == "DEMO-0001"
            studies.setdefault(ds.StudyInstanceUID, []).append(ds.StudyDate)
            # the tissue touches the chest-wall edge: left for R views, right for L views
            pixels = ds.pixel_array.astype(np.int32)
            wall, far = (
                (pixels[:, 0], pixels[:, -1])
                if laterality == "R"
                else (pixels[:, -1], pixels[:, 0])
            )
            assert (wall > 1000).sum() > 200
            assert (far > 1000).sum() == 0
    assert len(studies) == 2  # current and prior: two studies, an earlier date for the prior
    (current, prior) = sorted(studies.values(), key=lambda dates: dates[0], reverse=True)
    assert len(set(current)) == len(set(prior)) == 1
    assert prior[0] < current[0]


# ---- the cache in the user cache dir (issue 12 §8) --------------------------------------------


def test_demo_study_is_built_once_then_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from dcmview_py import demo
    from dcmview_py.demo import study

    monkeypatch.setattr(study, "PARTS", (study.part_radiograph, study.part_report))
    cache = tmp_path / "cache"
    with demo.demo_study(cache) as first:
        names = sorted(p.name for p in Path(first.directory).rglob("*.dcm"))
        digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in Path(first.directory).rglob("*.dcm")}  # fmt: skip
        csv_text = Path(first.annotations).read_text()
        assert first.directory in csv_text  # the CSV names this run's own files
    assert names == ["04_cr_chest_monochrome1.dcm", "07_sr_report.dcm"]
    assert not Path(first.directory).exists()  # the run's copy is removed
    (entry,) = (cache / "demo").iterdir()
    assert entry.name == demo.cache_key()
    built = {p.name: p.stat().st_ino for p in entry.rglob("*.dcm")}

    def boom(directory: object) -> None:
        raise AssertionError("the cached study must not be regenerated")

    monkeypatch.setattr(study, "write_images", boom)
    with demo.demo_study(cache) as second:
        for path in Path(second.directory).rglob("*.dcm"):
            assert path.stat().st_ino == built[path.name]  # a hard link, not a copy
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[path.name]
    monkeypatch.undo()
    monkeypatch.setattr(study, "PARTS", (study.part_radiograph, study.part_report))
    victim = next(entry.rglob("*.dcm"))
    os.chmod(victim, 0o644)
    victim.write_bytes(b"corrupted")
    with demo.demo_study(cache) as third:  # verification fails: rebuilt, same bytes
        for path in Path(third.directory).rglob("*.dcm"):
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[path.name]
