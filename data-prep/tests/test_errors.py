"""Bad raw input: clear errors naming file and row, non-zero exit, and no output left behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

import raw_releases as raw
from fairtune_prep import cli
from fairtune_prep._common import resize_center_crop
from shards_reader import read_prepared


def run(args: list[str], capsys) -> tuple[int, str]:
    rc = cli.main(args + ["--size", "16", "--quiet"])
    return rc, capsys.readouterr().err


def assert_nothing_written(parent: Path, name: str = "out") -> None:
    assert not (parent / name).exists()
    assert not [p for p in parent.iterdir() if p.name.startswith(f".{name}.")], "temporary folder left behind"


def ham(tmp_path) -> tuple[Path, pd.DataFrame]:
    root = tmp_path / "raw"
    return root, raw.ham10000(root)


def test_missing_column(tmp_path, capsys):
    root, df = ham(tmp_path)
    df.drop(columns=["dx"]).to_csv(root / "HAM10000_metadata.csv", index=False)
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "HAM10000_metadata.csv: missing column(s) ['dx']" in err
    assert_nothing_written(tmp_path)


def test_unknown_label_value(tmp_path, capsys):
    root, df = ham(tmp_path)
    df.loc[6, "dx"] = "melanoma?"
    df.to_csv(root / "HAM10000_metadata.csv", index=False)
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "HAM10000_metadata.csv line 8: column 'dx'" in err and "'melanoma?'" in err


def test_missing_image_names_row_and_file(tmp_path, capsys):
    root, df = ham(tmp_path)
    (root / "HAM10000_images_part_1" / f"{df.image_id[10]}.jpg").unlink()
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "HAM10000_metadata.csv line 12" in err and df.image_id[10] in err and "--skip-missing" in err
    assert_nothing_written(tmp_path)


def test_skip_missing_keeps_the_split(tmp_path, capsys):
    root, df = ham(tmp_path)
    assert cli.main(["ham10000", "--raw", str(root), "--out", str(tmp_path / "full"), "--size", "16", "--quiet"]) == 0
    (root / "HAM10000_images_part_1" / f"{df.image_id[10]}.jpg").unlink()
    rc, _ = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out"), "--skip-missing"], capsys)
    assert rc == 0
    full_m, full = read_prepared(tmp_path / "full")
    m, part = read_prepared(tmp_path / "out")
    assert m["provenance"]["notes"]["skipped_missing_images"] == 1
    for split in ("train", "val", "test"):
        assert part[split]["sample_ids"] == [s for s in full[split]["sample_ids"] if s != df.image_id[10]]


def test_unreadable_image_leaves_no_output(tmp_path, capsys):
    root, df = ham(tmp_path)
    bad = root / "HAM10000_images_part_2" / f"{df.image_id[13]}.jpg"
    bad.write_bytes(b"not a jpeg at all")
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "HAM10000_metadata.csv line 15" in err and "cannot be read" in err and bad.name in err
    assert_nothing_written(tmp_path)


def test_existing_output_needs_force(tmp_path, capsys):
    root, _ = ham(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("precious")
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "already exists" in err
    assert (tmp_path / "out" / "keep.txt").exists()
    # --force replaces only a prepared dataset: the user's own folder stays.
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out"), "--force"], capsys)
    assert rc == 1 and "not a prepared dataset" in err and (tmp_path / "out" / "keep.txt").exists()
    (tmp_path / "out" / "keep.txt").unlink()
    (tmp_path / "out").rmdir()
    assert run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)[0] == 0
    rc, _ = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out"), "--force"], capsys)
    assert rc == 0 and (tmp_path / "out" / "manifest.json").exists()


def test_missing_metadata_file(tmp_path, capsys):
    (tmp_path / "raw").mkdir()
    rc, err = run(["fitzpatrick17k", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "fitzpatrick17k.csv: file not found" in err


def test_papila_unknown_gender_names_sheet_row(tmp_path, capsys):
    import openpyxl

    root = tmp_path / "raw"
    raw.papila(root)
    path = root / "ClinicalData" / "patient_data_os.xlsx"
    wb = openpyxl.load_workbook(path)
    wb.active.cell(row=6, column=3).value = 7
    wb.save(path)
    rc, err = run(["papila", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "ClinicalData/patient_data_os.xlsx row 6: column 'Gender'" in err and "7" in err


def test_ol3i_slice_missing_from_h5(tmp_path, capsys):
    import h5py

    root = tmp_path / "raw"
    df = raw.ol3i(root)
    with h5py.File(root / "l3_slices.h5", "a") as f:
        del f[df.anon_id[4]]
    rc, err = run(["ol3i", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "clinical_data.csv line 6" in err and f"l3_slices.h5:/{df.anon_id[4]}" in err


def test_harvard_missing_field(tmp_path, capsys):
    root = tmp_path / "raw"
    raw.harvard_gf3300(root)
    np.savez(root / "Test" / "data_0030.npz", rnflt=np.zeros((4, 4)), glaucoma=np.array(1), age=np.array(50.0),
             male=np.array(0))
    rc, err = run(["harvard_gf3300", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "Test/data_0030.npz: field 'race' missing" in err


def test_resize_keeps_aspect_then_centre_crops():
    # 400x200: red | green | blue with the green band wider than the middle half, so the centred
    # 100x100 crop of the 200x100 resize is all green and shows neither side band.
    a = np.zeros((200, 400, 3), dtype=np.uint8)
    a[:, :60, 0] = 255
    a[:, 60:340, 1] = 255
    a[:, 340:, 2] = 255
    out = resize_center_crop(Image.fromarray(a), 100)
    assert out.shape == (100, 100, 3)
    assert (out[:, :, 1] == 255).all() and (out[:, :, [0, 2]] == 0).all()
    # Vertical stripes of period 40 px become period 20 px: about 10 edges across the crop (a
    # squashing resize to 100x100 would give period 10 and about 20 edges).
    s = np.zeros((200, 400), dtype=np.uint8)
    s[:, (np.arange(400) // 20) % 2 == 1] = 255
    row = resize_center_crop(Image.fromarray(s), 100)[50, :, 0] > 127
    assert 9 <= np.count_nonzero(row[1:] != row[:-1]) <= 11
    # Portrait: the crop is taken from the vertical middle.
    b = np.zeros((300, 100, 3), dtype=np.uint8)
    b[90:210] = 200
    out = resize_center_crop(Image.fromarray(b).convert("L"), 50)
    assert out.shape == (50, 50, 3) and (out == 200).all()


def test_ham10000_dataverse_tab_metadata(tmp_path, capsys):
    root, df = ham(tmp_path)
    assert cli.main(["ham10000", "--raw", str(root), "--out", str(tmp_path / "csv"), "--size", "16", "--quiet"]) == 0
    (root / "HAM10000_metadata.csv").unlink()
    df.to_csv(root / "HAM10000_metadata.tab", sep="\t", index=False)
    rc, _ = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "tab")], capsys)
    assert rc == 0
    a, b = read_prepared(tmp_path / "csv")[1], read_prepared(tmp_path / "tab")[1]
    for split in ("train", "val", "test"):
        assert a[split]["sample_ids"] == b[split]["sample_ids"]
        assert np.array_equal(a[split]["labels"], b[split]["labels"])
