"""Your own dataset (``python -m fairtune_prep csv``): a fabricated table of image paths, prepared
through the CLI and compared row by row with the table; the random split recomputed with
scikit-learn; every kind of bad row a clear error naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from fairtune_prep import cli
from fairtune_prep._shards import check_dataset
from raw_releases import colour_of, save_flat
from shards_reader import read_prepared

SPLITS = ("train", "val", "test")


def make_table(root: Path, n_patients: int = 24) -> pd.DataFrame:
    """One or two images per patient under ``root/images``; a table with a split column and two
    group columns (sex with some cells empty, site)."""
    rows = []
    for patient in range(n_patients):
        for eye in range(1 + (patient % 3 == 0)):
            i = len(rows)
            path = f"p{patient:03d}/img_{i:03d}.png"
            save_flat(root / "images" / path, colour_of(i), size=(40, 30))
            rows.append({"file": path, "diagnosis": ["benign", "malignant"][i % 2 if i % 5 else 1],
                         "patient": f"P{patient:03d}", "sex": "" if i % 7 == 3 else ["F", "M"][patient % 2],
                         "site": ["south", "north", "east"][patient % 3],
                         "fold": SPLITS[0 if patient % 4 < 2 else patient % 4 - 1]})
    return pd.DataFrame(rows)


def write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        df.to_excel(path, index=False)
    else:
        df.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",", encoding="utf-8-sig")
    return path


def prepare(root: Path, table: Path, *extra: str, out: str = "out") -> list[str]:
    return ["csv", "--table", str(table), "--images", str(root / "images"), "--image-column", "file",
            "--label-column", "diagnosis", "--patient-column", "patient", "--group-column", "sex",
            "--group-column", "site", "--out", str(root / out), "--size", "16", "--quiet", *extra]


def rows_by_sample(df: pd.DataFrame) -> dict[str, tuple[int, pd.Series]]:
    return {r["file"]: (i, r) for i, r in df.iterrows()}


def test_split_column_table_row_by_row(tmp_path):
    df = make_table(tmp_path)
    table = write(df, tmp_path / "table.csv")
    assert table.read_bytes().startswith(b"\xef\xbb\xbffile,")
    assert cli.main(prepare(tmp_path, table, "--split-column", "fold")) == 0
    check_dataset(tmp_path / "out")
    manifest, data = read_prepared(tmp_path / "out")
    assert manifest["dataset"] == "table" and manifest["task"] == {"name": "diagnosis", "classes": ["benign", "malignant"]}
    assert manifest["attributes"] == {"sex": {"groups": ["F", "M"]}, "site": {"groups": ["east", "north", "south"]}}
    rows = rows_by_sample(df)
    for split in SPLITS:
        d = data[split]
        order = [rows[s][0] for s in d["sample_ids"]]
        assert order == sorted(order) and len(order) == int((df["fold"] == split).sum())
        for k, sid in enumerate(d["sample_ids"]):
            i, r = rows[sid]
            assert r["fold"] == split and d["patient_ids"][k] == r["patient"]
            assert d["labels"][k] == ["benign", "malignant"].index(r["diagnosis"])
            assert d["attrs"]["sex"][k] == (["F", "M"].index(r["sex"]) if r["sex"] else -1)
            assert d["attrs"]["site"][k] == ["east", "north", "south"].index(r["site"])
            assert np.abs(d["mean_colour"][k] - np.array(colour_of(i))).max() <= 2


def test_random_split_is_by_patient_as_scikit_learn_makes_it(tmp_path):
    df = make_table(tmp_path, n_patients=40)
    table = write(df.drop(columns=["fold"]), tmp_path / "table.csv")
    assert cli.main(prepare(tmp_path, table, "--split", "0.6,0.2,0.2", "--seed", "3")) == 0
    _, data = read_prepared(tmp_path / "out")
    train, rest = train_test_split(np.unique(df["patient"]), test_size=0.4, random_state=3)
    val, test = train_test_split(rest, test_size=0.5, random_state=3)
    assert {s: set(data[s]["patient_ids"]) for s in SPLITS} == {"train": set(train), "val": set(val), "test": set(test)}


def test_tsv_and_xlsx_give_the_same_dataset(tmp_path):
    df = make_table(tmp_path)
    results = []
    for name in ("table.csv", "table.tsv", "table.xlsx"):
        table = write(df, tmp_path / "tables" / name)
        assert cli.main(prepare(tmp_path, table, "--split-column", "fold", out=name)) == 0
        _, data = read_prepared(tmp_path / name)
        results.append({s: (data[s]["sample_ids"], data[s]["labels"].tolist(),
                            {k: v.tolist() for k, v in data[s]["attrs"].items()}) for s in SPLITS})
    assert results[0] == results[1] == results[2]


def test_classes_option_fixes_the_order(tmp_path):
    df = make_table(tmp_path)
    table = write(df, tmp_path / "table.csv")
    assert cli.main(prepare(tmp_path, table, "--split-column", "fold", "--classes", "malignant,benign")) == 0
    manifest, data = read_prepared(tmp_path / "out")
    assert manifest["task"]["classes"] == ["malignant", "benign"]
    rows = rows_by_sample(df)
    for s in SPLITS:
        assert data[s]["labels"].tolist() == [int(rows[x][1]["diagnosis"] == "benign") for x in data[s]["sample_ids"]]


def test_numeric_labels_sort_as_numbers(tmp_path):
    df = make_table(tmp_path)
    df["diagnosis"] = [["2", "10", "1"][i % 3] for i in range(len(df))]
    table = write(df, tmp_path / "table.csv")
    assert cli.main(prepare(tmp_path, table, "--split-column", "fold")) == 0
    assert read_prepared(tmp_path / "out")[0]["task"]["classes"] == ["1", "2", "10"]


def damage(df: pd.DataFrame, tmp_path: Path, kind: str) -> tuple[Path, list[str]]:
    """Writes ``table.csv`` with one bad row of the given kind; returns it and extra options."""
    df = df.copy()
    extra = ["--split-column", "fold"]
    if kind == "missing image":
        (tmp_path / "images" / df.loc[6, "file"]).unlink()
    elif kind == "unknown split":
        df.loc[6, "fold"] = "holdout"
    elif kind == "empty label":
        df.loc[6, "diagnosis"] = ""
    elif kind == "duplicate image":
        df.loc[6, "file"] = df.loc[2, "file"]
    elif kind == "patient in two splits":
        df.loc[6, "fold"] = "test" if df.loc[5, "fold"] != "test" else "train"
        df.loc[6, "patient"] = df.loc[5, "patient"]
    elif kind == "label outside --classes":
        df.loc[6, "diagnosis"] = "unsure"
        extra += ["--classes", "benign,malignant"]
    table = write(df, tmp_path / "table.csv")
    if kind == "too few fields":
        lines = table.read_text(encoding="utf-8-sig").splitlines()
        lines[7] = ",".join(lines[7].split(",")[:4])
        table.write_text("\n".join(lines) + "\n")
    return table, extra


@pytest.mark.parametrize("kind, message", [
    ("missing image", "table.csv line 8: image"),
    ("unknown split", "table.csv line 8: column 'fold': unknown split 'holdout'"),
    ("empty label", "table.csv line 8: column 'diagnosis': empty label"),
    ("duplicate image", "table.csv line 8: column 'file': image 'p001/img_002.png' is also listed at table.csv line 4"),
    ("patient in two splits", "table.csv line 8: column 'fold': patient"),
    ("label outside --classes", "table.csv line 8: column 'diagnosis': unknown label value 'unsure'"),
    ("too few fields", "table.csv line 8: 4 field(s) but the header has 6"),
])
def test_bad_row_is_an_error_naming_file_line_and_column(tmp_path, capsys, kind, message):
    table, extra = damage(make_table(tmp_path), tmp_path, kind)
    assert cli.main(prepare(tmp_path, table, *extra)) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))]


def test_skip_missing_counts_the_dropped_images(tmp_path, capsys):
    df = make_table(tmp_path)
    table, extra = damage(df, tmp_path, "missing image")
    assert cli.main(prepare(tmp_path, table, *extra, "--skip-missing")) == 0
    manifest, data = read_prepared(tmp_path / "out")
    assert manifest["provenance"]["notes"]["skipped_missing_images"] == 1
    assert "skipped missing images: 1" in capsys.readouterr().err
    assert sum(len(data[s]["sample_ids"]) for s in SPLITS) == len(df) - 1


def test_unknown_column_lists_the_columns_found(tmp_path, capsys):
    table = write(make_table(tmp_path), tmp_path / "table.csv")
    args = prepare(tmp_path, table, "--split-column", "fold")
    args[args.index("site")] = "Site"
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "table.csv: missing column(s) ['Site']" in err and "'file'" in err
