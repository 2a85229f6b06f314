"""Each real dataset end to end: fabricated raw release -> CLI -> shards, checked against the raw rows.

Splits of the MEDFAIR datasets are recomputed here with scikit-learn's train_test_split exactly as
MEDFAIR's notebooks call it, and must match membership for membership.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import raw_releases as raw
from fairtune_prep import cli
from fairtune_prep._shards import check_dataset
from shards_reader import read_prepared

SPLITS = ("train", "val", "test")


def prepare(args: list[str]) -> None:
    assert cli.main(args + ["--size", "24", "--quiet", "--shard-size", "16"]) == 0


def medfair(ids, t1, s1, t2, s2) -> dict[str, set]:
    train, rest = train_test_split(np.unique(ids), test_size=t1, random_state=s1)
    val, test = train_test_split(rest, test_size=t2, random_state=s2)
    return {"train": set(train), "val": set(val), "test": set(test)}


def assert_sound(out: Path) -> tuple[dict, dict]:
    """Checks that hold for every prepared dataset, with an independent reader."""
    check_dataset(out)
    manifest, data = read_prepared(out)
    owner = {}
    for split in SPLITS:
        d = data[split]
        n = len(d["labels"])
        assert n > 0
        assert manifest["splits"][split]["count"] == n
        assert manifest["splits"][split]["class_counts"] == np.bincount(
            d["labels"], minlength=len(manifest["task"]["classes"])).tolist()
        for name, g in d["attrs"].items():
            gc = manifest["splits"][split]["group_counts"][name]
            for c in range(len(manifest["task"]["classes"])):
                sel = d["labels"] == c
                assert gc["unknown"][c] == int((g[sel] == -1).sum())
                assert gc["by_class"][c] == [int((g[sel] == k).sum())
                                             for k in range(len(manifest["attributes"][name]["groups"]))]
        for pid in set(d["patient_ids"]):
            assert owner.setdefault(pid, split) == split, f"patient {pid} in two splits"
    return manifest, data


def assert_colours(d: dict, expected: dict, tol: float = 4.0) -> None:
    """Each stored image's mean colour equals its raw image's flat colour."""
    for sid, colour in zip(d["sample_ids"], d["mean_colour"]):
        assert np.abs(colour - np.asarray(expected[sid], dtype=float)).max() <= tol, sid


def by_split(data: dict, key: str = "patient_ids") -> dict[str, set]:
    return {s: set(data[s][key]) for s in SPLITS}


def test_ham10000(tmp_path):
    df = raw.ham10000(tmp_path / "raw")
    prepare(["ham10000", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    kept = df[df["age"].notna() & df["sex"].notna()]
    assert by_split(data) == medfair(kept["lesion_id"].to_numpy(), 0.2, 0, 0.5, 0)
    assert manifest["attributes"]["sex"]["groups"] == ["M", "F"]  # male = 0, as MEDFAIR and FairTune
    assert manifest["attributes"]["age_binary"]["groups"] == ["<=60", ">60"]
    rows = {r.image_id: (i, r) for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        d = data[split]
        idx = [rows[s][0] for s in d["sample_ids"]]
        assert idx == sorted(idx), "rows keep the CSV order"
        for k, sid in enumerate(d["sample_ids"]):
            r = rows[sid][1]
            assert d["labels"][k] == int(r.dx in ("akiec", "mel"))
            assert d["attrs"]["sex"][k] == {"male": 0, "female": 1, "unknown": -1}[r.sex]
            assert d["attrs"]["age_binary"][k] == int(int(r.age) > 60)
            assert d["attrs"]["age_multi"][k] == min(int(r.age) // 20, 4)
            assert d["patient_ids"][k] == r.lesion_id
        assert_colours(d, {iid: raw.colour_of(i) for iid, (i, _) in rows.items()})
    assert sum(len(data[s]["labels"]) for s in SPLITS) == len(kept)
    assert manifest["image"] == {"height": 24, "width": 24, "channels": 3, "layout": "HWC", "dtype": "uint8"}
    assert manifest["normalization"]["mean"] == [0.485, 0.456, 0.406]


def test_fitzpatrick17k(tmp_path):
    df = raw.fitzpatrick17k(tmp_path / "raw")
    prepare(["fitzpatrick17k", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    kept = df[df["fitzpatrick_scale"] != -1]
    assert by_split(data) == medfair(kept["md5hash"].to_numpy(), 0.2, 5, 0.5, 6)
    rows = {r.md5hash: (i, r) for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            r = rows[sid][1]
            assert d["labels"][k] == int(r.three_partition_label == "malignant")
            assert d["attrs"]["skin_type"][k] == r.fitzpatrick_scale - 1
            assert d["attrs"]["skin_binary"][k] == int(r.fitzpatrick_scale >= 4)
        assert_colours(d, {h: raw.colour_of(i) for h, (i, _) in rows.items()})
    assert manifest["attributes"]["skin_type"]["groups"] == ["I", "II", "III", "IV", "V", "VI"]
    assert sum(len(data[s]["labels"]) for s in SPLITS) == len(kept)


def test_papila(tmp_path):
    df = raw.papila(tmp_path / "raw")
    prepare(["papila", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    kept = df[df["Diagnosis"] != 2]
    assert by_split(data) == medfair(kept["ID"].to_numpy(), 0.3, 5, 0.66, 15)
    rows = {f"RET{r.ID[1:]}{r.eye}": (i, r) for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            r = rows[sid][1]
            assert d["labels"][k] == r.Diagnosis
            assert d["attrs"]["sex"][k] == r.Gender  # PAPILA's 0 = male is our group 0 (M)
            assert d["attrs"]["age_binary"][k] == int(r.Age > 60)
            assert d["patient_ids"][k] == r.ID
        assert_colours(d, {s: raw.colour_of(i) for s, (i, _) in rows.items()})
    assert sum(len(data[s]["labels"]) for s in SPLITS) == len(kept)


def test_ol3i_published_split_and_hu_window(tmp_path):
    df = raw.ol3i(tmp_path / "raw")
    prepare(["ol3i", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    rows = {r.anon_id: (i, r) for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        d = data[split]
        assert {rows[s][1].set_1y for s in d["sample_ids"]} == {split}
        for k, sid in enumerate(d["sample_ids"]):
            i, r = rows[sid]
            assert d["labels"][k] == r.label_1y
            assert d["attrs"]["sex"][k] == (0 if r.sex == "Male" else 1)
            grey = round((raw.hu_of(i) + 250) / 500 * 255)
            assert np.abs(d["mean_colour"][k] - grey).max() <= 1
    assert manifest["task"]["name"] == "ihd_1y"


def test_ol3i_five_year_random_split(tmp_path):
    df = raw.ol3i(tmp_path / "raw")
    prepare(["ol3i", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "--horizon", "5y",
             "--split", "random"])
    manifest, data = assert_sound(tmp_path / "out")
    kept = df[df["label_5y"].notna()]
    assert by_split(data) == medfair(kept["anon_id"].to_numpy(), 0.2, 0, 0.5, 0)
    assert manifest["provenance"]["notes"]["dropped_no_label"] == int(df["label_5y"].isna().sum())


def test_oasis1(tmp_path):
    df = raw.oasis1(tmp_path / "raw")
    prepare(["oasis1", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    kept = df[df["ID"].str.endswith("MR1") & df["CDR"].notna()]
    assert by_split(data) == medfair(kept["ID"].str.slice(0, 9).to_numpy(), 0.2, 0, 0.5, 0)
    rows = {r.ID: r for r in df.itertuples()}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            r = rows[sid]
            assert d["labels"][k] == int(r.CDR >= 0.5)
            assert d["attrs"]["sex"][k] == (0 if r._2 == "M" else 1)
            assert d["attrs"]["age_binary"][k] == int(r.Age > 75)
            img = d["images"][k]
            assert img.max() >= 250 and img.min() <= 5, "the bright box and the masked background both show"
    assert sum(len(data[s]["labels"]) for s in SPLITS) == len(kept)


def test_oasis1_rescans_stay_with_their_subject(tmp_path):
    df = raw.oasis1(tmp_path / "raw")
    prepare(["oasis1", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "--sessions", "all",
             "--cdr-threshold", "1", "--missing-cdr", "healthy"])
    _, data = assert_sound(tmp_path / "out")
    assert sum(len(data[s]["labels"]) for s in SPLITS) == len(df)
    for split in SPLITS:
        d = data[split]
        for sid, pid, y in zip(d["sample_ids"], d["patient_ids"], d["labels"]):
            assert pid == sid[:9]
            cdr = df.loc[df["ID"] == sid, "CDR"].iloc[0]
            assert y == int(cdr >= 1)


def test_chexpert(tmp_path):
    df = raw.chexpert(tmp_path / "raw")
    prepare(["chexpert", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    df["patient"] = df["Path"].str.extract(r"(patient\d+)")[0]
    df["sid"] = df["Path"].str.replace("CheXpert-v1.0-small/", "").str.replace(".jpg", "")
    kept = df[df["Frontal/Lateral"] == "Frontal"]
    assert by_split(data) == medfair(kept["patient"].to_numpy(), 0.2, 0, 0.5, 0)
    rows = {r.sid: (i, r) for i, r in enumerate(df.itertuples())}
    for split in SPLITS:
        d = data[split]
        for k, sid in enumerate(d["sample_ids"]):
            i, r = rows[sid]
            assert d["labels"][k] == int(r._6 == 1.0)  # No Finding
            sex = {"Male": 0, "Female": 1, "Unknown": -1}[r.Sex]
            old = -1 if r.Age == 0 else int(r.Age > 60)  # age 0 is unknown
            assert d["attrs"]["sex"][k] == sex
            assert d["attrs"]["age_binary"][k] == old
            assert d["attrs"]["age_sex"][k] == (-1 if sex < 0 or old < 0 else 2 * sex + old)
            assert np.abs(d["mean_colour"][k] - raw.grey_of(i)).max() <= 3
    assert manifest["task"]["classes"] == ["finding", "no finding"]
    assert manifest["attributes"]["age_sex"]["groups"] == ["M<=60", "M>60", "F<=60", "F>60"]
    assert manifest["attributes"]["sex"]["groups"] == ["M", "F"]
    assert sum(len(data[s]["labels"]) for s in SPLITS) == len(kept)
    assert manifest["provenance"]["notes"]["age_zero_as_unknown"] == int((kept["Age"] == 0).sum()) > 0


def test_chexpert_finding_polarity(tmp_path):
    raw.chexpert(tmp_path / "raw")
    prepare(["chexpert", "--raw", str(tmp_path / "raw" / "CheXpert-v1.0-small"), "--out", str(tmp_path / "a"),
             "--views", "all"])
    prepare(["chexpert", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "b"), "--views", "all",
             "--positive", "finding"])
    _, a = assert_sound(tmp_path / "a")
    _, b = assert_sound(tmp_path / "b")
    for split in SPLITS:
        assert a[split]["sample_ids"] == b[split]["sample_ids"]
        assert np.array_equal(a[split]["labels"], 1 - b[split]["labels"])


def test_harvard_gf3300(tmp_path):
    df = raw.harvard_gf3300(tmp_path / "raw")
    prepare(["harvard_gf3300", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
    manifest, data = assert_sound(tmp_path / "out")
    rows = {r.file: r for r in df.itertuples()}
    folder = {"train": "Training", "val": "Validation", "test": "Test"}
    for split in SPLITS:
        d = data[split]
        assert len(d["labels"]) == int(df["file"].str.startswith(folder[split] + "/").sum())
        for k, sid in enumerate(d["sample_ids"]):
            r = rows[sid]
            assert sid.startswith(folder[split] + "/")
            assert d["labels"][k] == r.glaucoma
            assert d["attrs"]["race"][k] == r.race
            assert d["attrs"]["race_binary"][k] == (0 if r.race == 1 else 1)
            assert d["attrs"]["sex"][k] == 1 - r.male  # male = group 0
            assert np.abs(d["mean_colour"][k] - round(r.thickness / 350 * 255)).max() <= 1
    assert manifest["attributes"]["race_binary"]["groups"] == ["Black", "Asian/White"]


@pytest.mark.parametrize("seed", [3])
def test_seed_option_changes_the_split(tmp_path, seed):
    df = raw.ham10000(tmp_path / "raw")
    prepare(["ham10000", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "--seed", str(seed)])
    _, data = assert_sound(tmp_path / "out")
    kept = df[df["age"].notna() & df["sex"].notna()]
    assert by_split(data) == medfair(kept["lesion_id"].to_numpy(), 0.2, seed, 0.5, seed)
