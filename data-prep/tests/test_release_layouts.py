"""The releases as users download them: each packaging the real files arrive in, end to end.

Each fixture (raw_releases.py) follows the real files' names, columns and encodings: Harvard
Dataverse's extensionless HAM10000 metadata and flat image zips, the Fitzpatrick17k authors'
data/finalfitz17k/ folder, PAPILA's figshare folder, Harvard-GF3300's text races and Hugging Face
nesting, CheXpert's four full-size batch folders and CHEXPERT DEMO.xlsx, OL3I slices stored as
Hounsfield units or 8-bit grey levels. A layout the tool cannot read gives an error naming what it
expected and where it looked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import raw_releases as raw
from fairtune_prep import cli
from shards_reader import read_prepared
from test_datasets import SPLITS, assert_colours, assert_sound, by_split, medfair, prepare


def run(args: list[str], capsys) -> tuple[int, str]:
    rc = cli.main(args + ["--size", "24", "--quiet"])
    return rc, capsys.readouterr().err


def same_samples(a: Path, b: Path) -> None:
    """Two prepared folders hold the same samples, labels and groups in every split."""
    ma, da = read_prepared(a)
    mb, db = read_prepared(b)
    assert ma["attributes"] == mb["attributes"]
    for split in SPLITS:
        assert da[split]["sample_ids"] == db[split]["sample_ids"]
        assert np.array_equal(da[split]["labels"], db[split]["labels"])
        for name in da[split]["attrs"]:
            assert np.array_equal(da[split]["attrs"][name], db[split]["attrs"][name])


# --------------------------------------------------------------------------------------------------
# HAM10000


@pytest.mark.parametrize("sep, images", [(",", ""), ("\t", "downloads/HAM10000 images")])
def test_ham10000_dataverse_extensionless_metadata_and_flat_images(tmp_path, sep, images):
    df = raw.ham10000(tmp_path / "raw", metadata="HAM10000_metadata", images=images, sep=sep)
    prepare(["ham10000", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    kept = df[df["age"].notna() & df["sex"].notna()]
    assert by_split(data) == medfair(kept["lesion_id"].to_numpy(), 0.2, 0, 0.5, 0)
    rows = {r.image_id: (i, r) for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            r = rows[sid][1]
            assert d["labels"][k] == int(r.dx in ("akiec", "mel"))
            assert d["attrs"]["sex"][k] == {"male": 0, "female": 1, "unknown": -1}[r.sex]
        assert_colours(d, {iid: raw.colour_of(i) for iid, (i, _) in rows.items()})
    assert manifest["provenance"]["raw_files"] == ["HAM10000_metadata", (images or ".") + "/"]


def test_ham10000_image_in_two_places(tmp_path, capsys):
    root = tmp_path / "raw"
    df = raw.ham10000(root)
    # Kaggle's copy ships each part twice (upper- and lower-case folder names): identical files are fine.
    shutil.copytree(root / "HAM10000_images_part_1", root / "ham10000_images_part_1")
    rc, _ = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "kaggle")], capsys)
    assert rc == 0
    name = f"{df.image_id[2]}.jpg"
    raw.save_flat(root / "ham10000_images_part_1" / name, (250, 0, 0), size=(60, 45))
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and name in err and "found twice" in err
    assert f"HAM10000_images_part_1/{name}" in err and f"ham10000_images_part_1/{name}" in err
    assert not (tmp_path / "out").exists()


def test_ham10000_without_metadata_names_the_expected_files(tmp_path, capsys):
    (tmp_path / "raw").mkdir()
    rc, err = run(["ham10000", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1
    for name in ("'HAM10000_metadata.csv'", "'HAM10000_metadata'", "'HAM10000_metadata.tab'"):
        assert name in err


# --------------------------------------------------------------------------------------------------
# Fitzpatrick17k


def test_fitzpatrick17k_images_in_finalfitz17k(tmp_path, capsys):
    root = tmp_path / "raw"
    df = raw.fitzpatrick17k(root, image_dir="data/finalfitz17k")
    prepare(["fitzpatrick17k", "--raw", str(root), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    kept = df[df["fitzpatrick_scale"] != -1]
    assert by_split(data) == medfair(kept["md5hash"].to_numpy(), 0.2, 5, 0.5, 6)
    for split in SPLITS:
        assert_colours(data[split], {h: raw.colour_of(i) for i, h in enumerate(df["md5hash"])})
    assert manifest["provenance"]["raw_files"] == ["fitzpatrick17k.csv", "data/finalfitz17k/"]
    gone = kept["md5hash"].iloc[4]
    (root / "data" / "finalfitz17k" / f"{gone}.jpg").unlink()
    rc, err = run(["fitzpatrick17k", "--raw", str(root), "--out", str(tmp_path / "missing")], capsys)
    line = int(np.flatnonzero(df["md5hash"] == gone)[0]) + 2
    assert rc == 1 and f"fitzpatrick17k.csv line {line}" in err and f"{gone}.jpg" in err and "--skip-missing" in err


# --------------------------------------------------------------------------------------------------
# PAPILA


def test_papila_figshare_folder(tmp_path):
    df = raw.papila(tmp_path / "raw", folder="PapilaDB-PAPILA-17501a4")
    prepare(["papila", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "parent")])
    prepare(["papila", "--raw", str(tmp_path / "raw" / "PapilaDB-PAPILA-17501a4"), "--out", str(tmp_path / "own")])
    same_samples(tmp_path / "parent", tmp_path / "own")
    manifest, data = assert_sound(tmp_path / "parent")
    colours = {f"RET{r.ID[1:]}{r.eye}": raw.colour_of(i) for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        assert_colours(data[split], colours)
    assert manifest["provenance"]["raw_files"][0] == "PapilaDB-PAPILA-17501a4/ClinicalData/patient_data_od.xlsx"


def test_papila_without_clinical_data_names_the_layout(tmp_path, capsys):
    (tmp_path / "raw" / "downloads").mkdir(parents=True)
    rc, err = run(["papila", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "ClinicalData/" in err and "PapilaDB-PAPILA-<hash>" in err and str(tmp_path / "raw") in err


# --------------------------------------------------------------------------------------------------
# Harvard-GF3300


def test_harvard_gf3300_text_races_in_hugging_face_folder(tmp_path):
    df = raw.harvard_gf3300(tmp_path / "raw", races="text", side=200, folder="Dataset/dataset")
    prepare(["harvard_gf3300", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    rows = {r.file: r for r in df.itertuples()}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            r = rows[sid]
            assert d["attrs"]["race"][k] == r.race
            assert d["attrs"]["race_binary"][k] == (0 if r.race == 1 else 1)
            assert d["attrs"]["sex"][k] == 1 - r.male
            assert np.abs(d["mean_colour"][k] - round(r.thickness / 350 * 255)).max() <= 1
    assert manifest["attributes"]["race"]["groups"] == ["Asian", "Black", "White"]
    assert manifest["provenance"]["raw_files"] == ["Dataset/dataset/Training/", "Dataset/dataset/Validation/",
                                                   "Dataset/dataset/Test/"]
    raw.harvard_gf3300(tmp_path / "numbers", side=200)
    prepare(["harvard_gf3300", "--raw", str(tmp_path / "numbers"), "--out", str(tmp_path / "numbers_out")])
    same_samples(tmp_path / "out", tmp_path / "numbers_out")


def test_harvard_gf3300_rnflt_is_clipped_to_rnflt_max(tmp_path):
    root = tmp_path / "raw"
    raw.harvard_gf3300(root, races="text", side=200)
    path = root / "Test" / "data_0030.npz"
    with np.load(path) as z:
        fields = dict(z)
    # The release's range: about -2 (-1 and -2 mark the optic disc) to 1,032 microns.
    fields["rnflt"] = np.full((200, 200), -2.0, dtype=np.float32)
    fields["rnflt"][:, :100] = 1032.0
    np.savez(path, **fields)
    prepare(["harvard_gf3300", "--raw", str(root), "--out", str(tmp_path / "out")])
    _, data = read_prepared(tmp_path / "out")
    image = data["test"]["images"][data["test"]["sample_ids"].index("Test/data_0030")]
    assert (image[:, :10] == 255).all() and (image[:, 14:] == 0).all()


def test_harvard_gf3300_unknown_race_text(tmp_path, capsys):
    root = tmp_path / "raw"
    raw.harvard_gf3300(root, races="text")
    path = root / "Validation" / "data_0024.npz"
    with np.load(path) as z:
        fields = dict(z)
    fields["race"] = np.array("Hispanic")
    np.savez(path, **fields)
    rc, err = run(["harvard_gf3300", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "Validation/data_0024.npz" in err and "race" in err and "'Hispanic'" in err
    assert "Black or African American" in err


def test_harvard_gf3300_zip_not_unpacked_names_the_layout(tmp_path, capsys):
    (tmp_path / "raw" / "Dataset").mkdir(parents=True)
    (tmp_path / "raw" / "Dataset" / "dataset.zip").write_bytes(b"PK")
    rc, err = run(["harvard_gf3300", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "['Training', 'Validation', 'Test']" in err and "dataset.zip" in err
    assert str(tmp_path / "raw") in err


# --------------------------------------------------------------------------------------------------
# CheXpert


def test_chexpert_full_release_in_four_batch_folders(tmp_path):
    df = raw.chexpert(tmp_path / "raw", release="batches")
    prepare(["chexpert", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    df["patient"] = df["Path"].str.extract(r"(patient\d+)")[0]
    df["sid"] = df["Path"].str.replace("CheXpert-v1.0/", "").str.replace(".jpg", "")
    kept = df[df["Frontal/Lateral"] == "Frontal"]
    assert by_split(data) == medfair(kept["patient"].to_numpy(), 0.2, 0, 0.5, 0)
    grey = {sid: raw.grey_of(i) for i, sid in enumerate(df["sid"])}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            assert np.abs(d["mean_colour"][k] - grey[sid]).max() <= 3
    assert set(manifest["provenance"]["raw_files"]) == {
        f"{raw.CHEXPERT_BATCHES[0]}/train.csv", f"{raw.CHEXPERT_BATCHES[0]}/valid.csv",
        f"{raw.CHEXPERT_BATCHES[0]}/valid/", *[b + "/" for b in raw.CHEXPERT_BATCHES[1:]]}
    raw.chexpert(tmp_path / "small")
    prepare(["chexpert", "--raw", str(tmp_path / "small"), "--out", str(tmp_path / "small_out")])
    same_samples(tmp_path / "out", tmp_path / "small_out")


def test_chexpert_batch_missing(tmp_path, capsys):
    root = tmp_path / "raw"
    df = raw.chexpert(root, release="batches")
    shutil.rmtree(root / raw.CHEXPERT_BATCHES[2])
    rc, err = run(["chexpert", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "train.csv line" in err and "anywhere under --raw" in err and "--skip-missing" in err
    patient = df["Path"].str.extract(r"(patient\d+)")[0]
    assert any(f"{p}/" in err for p in patient)
    shutil.rmtree(root / raw.CHEXPERT_BATCHES[0])
    rc, err = run(["chexpert", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "train.csv not found" in err and "batch 1 (validate & csv)" in err


def test_chexpert_demographics_add_race(tmp_path):
    df = raw.chexpert(tmp_path / "raw")
    patients = df["Path"].str.extract(r"(patient\d+)")[0]
    expected = raw.chexpert_demographics(tmp_path / "demo" / "CHEXPERT DEMO.xlsx", list(patients))
    prepare(["chexpert", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"),
             "--demographics", str(tmp_path / "demo" / "CHEXPERT DEMO.xlsx")])
    manifest, data = assert_sound(tmp_path / "out")
    assert manifest["attributes"]["race"]["groups"] == ["White", "non-White"]
    seen = set()
    for split in SPLITS:
        d = data[split]
        for pid, race in zip(d["patient_ids"], d["attrs"]["race"]):
            assert race == expected[pid], pid
            seen.add(pid)
    assert {expected[p] for p in seen} == {-1, 0, 1}
    rows = pd.read_excel(tmp_path / "demo" / "CHEXPERT DEMO.xlsx")
    without = len(seen - set(rows["PATIENT"]))
    assert manifest["provenance"]["notes"]["race_patients_without_demographics"] == without > 0
    prepare(["chexpert", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "plain")])
    assert "race" not in read_prepared(tmp_path / "plain")[0]["attributes"]


def test_chexpert_demographics_bad_rows(tmp_path, capsys):
    df = raw.chexpert(tmp_path / "raw")
    path = tmp_path / "CHEXPERT DEMO.xlsx"
    raw.chexpert_demographics(path, list(df["Path"].str.extract(r"(patient\d+)")[0]))
    demo = pd.read_excel(path)
    demo["PATIENT"] = demo["PATIENT"].astype(object)
    demo.loc[3, "PATIENT"] = 12345
    demo.to_excel(path, index=False)
    args = ["chexpert", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "--demographics", str(path)]
    rc, err = run(args, capsys)
    assert rc == 1 and "CHEXPERT DEMO.xlsx row 5: column 'PATIENT'" in err and "12345" in err
    demo.drop(columns=["PRIMARY_RACE"]).to_excel(path, index=False)
    rc, err = run(args, capsys)
    assert rc == 1 and "CHEXPERT DEMO.xlsx: missing column(s) ['PRIMARY_RACE']" in err


# --------------------------------------------------------------------------------------------------
# OL3I


@pytest.mark.parametrize("values", ["hu", "hu_float", "8bit"])
def test_ol3i_slice_values_detected_and_recorded(tmp_path, values):
    df = raw.ol3i(tmp_path / "raw", values=values)
    prepare(["ol3i", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    seen = manifest["provenance"]["notes"]["slice_values"]
    assert seen["values"] == ("8bit" if values == "8bit" else "hu") and seen["slices_inspected"] == 32
    assert seen["dtypes"] == [{"hu": "int16", "hu_float": "float32", "8bit": "uint8"}[values]]
    rows = {r.anon_id: i for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            i = rows[sid]
            grey = raw.grey_of(i) if values == "8bit" else round((raw.hu_of(i) + 250) / 500 * 255)
            assert np.abs(d["mean_colour"][k] - grey).max() <= 1


def test_ol3i_ambiguous_slice_values_refused(tmp_path, capsys):
    root = tmp_path / "raw"
    df = raw.ol3i(root, values="offset")
    rc, err = run(["ol3i", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "l3_slices.h5: cannot tell Hounsfield units from 8-bit" in err and "uint16" in err
    assert "--slice-values hu" in err and not (tmp_path / "out").exists()
    # The user knows they are HU + 1024: windowing the same tissue range gives the HU release's image.
    rc, _ = run(["ol3i", "--raw", str(root), "--out", str(tmp_path / "out"), "--slice-values", "hu",
                 "--hu-window", "774,1274"], capsys)
    assert rc == 0
    manifest, data = read_prepared(tmp_path / "out")
    assert manifest["provenance"]["notes"]["slice_values"]["decided_by"] == "--slice-values"
    rows = {r.anon_id: i for i, r in enumerate(df.itertuples())}
    for k, sid in enumerate(data["train"]["sample_ids"]):
        grey = round((raw.hu_of(rows[sid]) + 250) / 500 * 255)
        assert np.abs(data["train"]["mean_colour"][k] - grey).max() <= 1
    rc, err = run(["ol3i", "--raw", str(root), "--out", str(tmp_path / "forced"), "--slice-values", "8bit"], capsys)
    assert rc == 1 and "l3_slices.h5 dataset" in err and "8-bit" in err and "clinical_data.csv line" in err
