"""CheXpert (chest X-rays): the downsampled release CheXpert-v1.0-small or the full-size CheXpert-v1.0.

Raw release: ``train.csv`` and ``valid.csv`` (Path, Sex, Age, Frontal/Lateral, AP/PA, No Finding,
13 findings) and the JPEGs they name, e.g. ``CheXpert-v1.0-small/train/patient00001/study1/
view1_frontal.jpg``. The CSVs may be in --raw or a few folders below it, and each ``patientNNNNN/``
folder is found wherever it is under --raw: the small release as unzipped, or the full release's
four Stanford AIMI zips (``batch 1 (validate & csv)`` ... ``batch 4 (train 3)``) unpacked side by side.

Label: the ``No Finding`` column, as MEDFAIR and FairTune's CSVs have it: 1 = no finding (blank,
0 and -1 are 0); --positive finding flips it. Sex Male/Female (Unknown is group -1); age 0 is
unknown (as torchxrayvision); age_binary at --age-threshold; age_sex as FairTune prints it: 0 young
male, 1 old male, 2 young female, 3 old female. --demographics adds race (White vs non-White, as
MEDFAIR) from CHEXPERT DEMO.xlsx. Frontal views only by default. Split: train.csv and valid.csv
pooled, random by patient 80/10/10 with seeds 0/0 (the release's own valid set is too small to test on).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (AGE_MULTI_GROUPS, SEX_GROUPS, Prepared, add_split_options, age_binary,
                      age_groups_binary, age_multi, build_splits, file_loader, map_values, medfair_split,
                      numeric_column, read_csv, relative, require_columns)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "chexpert"
HELP = "CheXpert chest X-rays (small or full release), No Finding (random patient-level split)"
PATIENT = re.compile(r"(patient\d+)")
PATIENT_FOLDER = re.compile(r"^patient\d+$")
# How deep below --raw the CSVs and the patient folders are looked for.
SEARCH_DEPTH = 4
CSV_COLUMNS = ["Path", "Sex", "Age", "Frontal/Lateral", "No Finding"]
# CHEXPERT DEMO.xlsx: PRIMARY_RACE values that say nothing about race (compared in lower case).
RACE_UNKNOWN = {"unknown", "patient refused", "race and ethnicity unknown", "declined", "not recorded"}
RACE_GROUPS = ("White", "non-White")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    p.add_argument("--positive", choices=("no_finding", "finding"), default="no_finding",
                   help="class 1 is 'no finding' (default, MEDFAIR/FairTune) or 'finding'")
    p.add_argument("--views", choices=("frontal", "all"), default="frontal",
                   help="frontal views only (default) or frontal and lateral")
    p.add_argument("--age-threshold", type=float, default=60,
                   help="age_binary and age_sex: <= threshold is young (default 60)")
    p.add_argument("--demographics", type=Path, default=None, metavar="FILE",
                   help="CHEXPERT DEMO.xlsx (or a CSV with its columns PATIENT, PRIMARY_RACE): adds the "
                        "attribute race, White vs non-White as MEDFAIR; patients without a row are unknown")
    add_split_options(p, (0.2, 0.5), (0, 0))


def _scan(raw: Path) -> tuple[list[Path], dict[str, list[Path]]]:
    """One walk of --raw: the folders holding train.csv, and every patientNNNNN folder by name."""
    csv_dirs: list[Path] = []
    patients: dict[str, list[Path]] = {}
    for folder, dirs, files in os.walk(raw):
        here = Path(folder)
        if "train.csv" in files:
            csv_dirs.append(here)
        keep = []
        for d in sorted(dirs):
            if PATIENT_FOLDER.match(d):
                patients.setdefault(d, []).append(here / d)
            elif not d.startswith(".") and len(here.relative_to(raw).parts) < SEARCH_DEPTH:
                keep.append(d)
        dirs[:] = keep
    return csv_dirs, patients


def _csv_root(raw: Path, csv_dirs: list[Path]) -> Path:
    if len(csv_dirs) == 1:
        return csv_dirs[0]
    if csv_dirs:
        raise PrepError(f"--raw {raw}: train.csv found in several folders "
                        f"({', '.join(relative(d, raw) + '/' for d in csv_dirs)}); pass one release as --raw")
    raise PrepError(f"--raw {raw}: train.csv not found in that folder or up to {SEARCH_DEPTH} levels below it "
                    f"(expected CheXpert-v1.0-small/train.csv, or the full release's "
                    f"'batch 1 (validate & csv)' zip unpacked there)")


def _read_tables(root: Path, raw: Path) -> pd.DataFrame:
    frames = [read_csv(root / "train.csv", CSV_COLUMNS, raw)]
    if (root / "valid.csv").is_file():
        frames.append(read_csv(root / "valid.csv", CSV_COLUMNS, raw))
    return pd.concat(frames, ignore_index=True)


def _labels(df: pd.DataFrame, positive: str) -> np.ndarray:
    no_finding = numeric_column(df, "No Finding", "No Finding")
    bad = np.flatnonzero(~(np.isnan(no_finding) | np.isin(no_finding, (-1.0, 0.0, 1.0))))
    if bad.size:
        i = int(bad[0])
        raise PrepError(f"{df['_source'].iloc[i]}: column 'No Finding': unknown value {no_finding[i]!r}; "
                        f"expected 1, 0, -1 or blank")
    nf = (no_finding > 0).astype(np.int64)
    return nf if positive == "no_finding" else 1 - nf


def _age_and_sex(df: pd.DataFrame, threshold: float, notes: dict) -> None:
    """Adds sex, age_binary, age_multi and age_sex; age 0 (a placeholder in the release) is unknown."""
    df["sex"] = map_values(df, "Sex", {"Male": 0, "Female": 1, "Unknown": -1}, "sex")
    age = numeric_column(df, "Age", "age")
    zero = age == 0
    notes["age_zero_as_unknown"] = int(zero.sum())
    age[zero] = np.nan
    df["age_binary"] = age_binary(age, threshold)
    df["age_multi"] = age_multi(age)
    sex, old = df["sex"].to_numpy(), df["age_binary"].to_numpy()
    # FairTune's numbering: 0 young male, 1 old male, 2 young female, 3 old female.
    df["age_sex"] = np.where((sex < 0) | (old < 0), -1, 2 * sex + old)


def _image_paths(df: pd.DataFrame, raw: Path, patients: dict[str, list[Path]]) -> None:
    """Adds patient_id, sample_id and image_path: each image is looked up in its patient's folder."""
    # Paths start with the release folder (CheXpert-v1.0-small/ or CheXpert-v1.0/): drop it.
    rel = [re.sub(r"^[^/]*CheXpert[^/]*/", "", str(p)) for p in df["Path"]]
    pids, paths = [], []
    for r, s in zip(rel, df["_source"]):
        parts = r.split("/")
        where = [k for k, part in enumerate(parts) if PATIENT_FOLDER.match(part)]
        if not where:
            raise PrepError(f"{s}: column 'Path': {r!r} names no patientNNNNN folder")
        pid = parts[where[0]]
        found = patients.get(pid, [])
        if len(found) > 1:
            raise PrepError(f"{s}: patient folder {pid} found twice under --raw {raw}: "
                            f"{relative(found[0], raw)} and {relative(found[1], raw)}; keep one of them")
        pids.append(pid)
        paths.append(found[0].joinpath(*parts[where[0] + 1:]) if found else None)
    df["patient_id"] = pids
    df["sample_id"] = [re.sub(r"\.(jpg|png)$", "", r) for r in rel]
    df["_expected_image"] = [f"{r} (its folder {p}/ anywhere under --raw {raw})" for r, p in zip(rel, pids)]
    df["image_path"] = paths


def read_demographics(path: Path) -> pd.DataFrame:
    """CHEXPERT DEMO.xlsx (or a CSV of it) -> columns patient_id, race (0 White, 1 non-White, -1 unknown)."""
    if not path.is_file():
        raise PrepError(f"--demographics {path}: file not found")
    if path.suffix.lower() == ".csv":
        demo = read_csv(path, ["PATIENT", "PRIMARY_RACE"], path.parent)
    else:
        try:
            demo = pd.read_excel(path, engine="openpyxl")
        except Exception as e:  # openpyxl raises many types for a damaged workbook
            raise PrepError(f"--demographics {path}: cannot be read as an Excel workbook ({e})") from None
        require_columns(demo, ["PATIENT", "PRIMARY_RACE"], path.name)
        demo["_source"] = [f"{path.name} row {i + 2}" for i in range(len(demo))]
    race = []
    for v in demo["PRIMARY_RACE"]:
        text = v.strip() if isinstance(v, str) else ""
        race.append(-1 if text.lower() in RACE_UNKNOWN or not text else 0 if text.startswith("White") else 1)
    pids = []
    for v, s in zip(demo["PATIENT"], demo["_source"]):
        m = PATIENT.fullmatch(v.strip()) if isinstance(v, str) else None
        if m is None:
            raise PrepError(f"{s}: column 'PATIENT': {v!r} is not a patient id like patient00001")
        pids.append(m.group(1))
    out = pd.DataFrame({"patient_id": pids, "race": race, "_source": demo["_source"]})
    for pid, rows in out.groupby("patient_id", sort=False):
        if rows["race"].nunique() > 1:
            raise PrepError(f"{rows['_source'].iloc[1]}: column 'PRIMARY_RACE': patient {pid} has conflicting "
                            f"rows ({', '.join(rows['_source'])})")
    return out.drop_duplicates("patient_id")


def _add_race(df: pd.DataFrame, path: Path, notes: dict) -> None:
    demo = read_demographics(path).set_index("patient_id")["race"]
    race = df["patient_id"].map(demo)
    missing = race.isna()
    notes["race_patients_without_demographics"] = int(df.loc[missing, "patient_id"].nunique())
    df["race"] = race.fillna(-1).astype(np.int64)


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    csv_dirs, patients = _scan(args.raw)
    root = _csv_root(args.raw, csv_dirs)
    df = _read_tables(root, args.raw)
    view = map_values(df, "Frontal/Lateral", {"Frontal": 0, "Lateral": 1}, "view (Frontal/Lateral)")
    if args.views == "frontal":
        df = df[view == 0].copy()
    notes: dict = {}
    df["label"] = _labels(df, args.positive)
    _age_and_sex(df, args.age_threshold, notes)
    _image_paths(df, args.raw, patients)
    seeds = args.split_seeds if args.seed is None else (args.seed, args.seed)
    where = medfair_split(df["patient_id"].to_numpy(dtype=str), args.holdout, seeds[0], args.test_of_holdout, seeds[1])
    df["split"] = [where[x] for x in df["patient_id"]]
    df["loader"] = [file_loader(p, s) for p, s in zip(df["image_path"], df["_source"])]
    t = age_groups_binary(args.age_threshold)
    attrs = [Attribute("sex", SEX_GROUPS), Attribute("age_binary", t), Attribute("age_multi", AGE_MULTI_GROUPS),
             Attribute("age_sex", (f"M{t[0]}", f"M{t[1]}", f"F{t[0]}", f"F{t[1]}"))]
    raw_files = [relative(root / f, args.raw) for f in ("train.csv", "valid.csv") if (root / f).is_file()]
    if args.demographics is not None:
        _add_race(df, args.demographics, notes)
        attrs.append(Attribute("race", RACE_GROUPS))
        raw_files.append(args.demographics.name)
    classes = ("finding", "no finding") if args.positive == "no_finding" else ("no finding", "finding")
    spec = DatasetSpec(NAME, args.positive, classes, tuple(attrs), args.size, args.size,
                       args.normalization or "imagenet")
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    folders = sorted({relative(p[0].parent, args.raw) + "/" for p in patients.values()})
    return Prepared(spec, splits, raw_files + folders, notes)
