"""CheXpert (chest X-rays), from the downsampled release CheXpert-v1.0-small.

Raw release: ``CheXpert-v1.0-small/train.csv`` and ``valid.csv`` (Path, Sex, Age, Frontal/Lateral,
AP/PA, No Finding, 13 findings) and the JPEGs they name, e.g.
``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``. --raw may be that folder or
its parent. The full-size release ``CheXpert-v1.0`` is read the same way.

Label: the ``No Finding`` column, as MEDFAIR and FairTune's CSVs have it: 1 = no finding (blank,
0 and -1 are 0); --positive finding flips it. Sex Male/Female (Unknown is group -1); age_binary
at --age-threshold; age_sex as FairTune prints it: 0 young male, 1 old male, 2 young female, 3 old
female. Frontal views only by default. Split: train.csv and valid.csv pooled, random by patient
80/10/10 with seeds 0/0 (the release's own valid set is too small to test on).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (AGE_MULTI_GROUPS, SEX_GROUPS, Prepared, add_split_options, age_binary,
                      age_groups_binary, age_multi, build_splits, file_loader, map_values, medfair_split,
                      numeric_column, read_csv)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "chexpert"
HELP = "CheXpert-v1.0-small chest X-rays, No Finding (random patient-level split)"
RELEASE = "CheXpert-v1.0-small"
FULL_RELEASE = "CheXpert-v1.0"
PATIENT = re.compile(r"(patient\d+)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    p.add_argument("--positive", choices=("no_finding", "finding"), default="no_finding",
                   help="class 1 is 'no finding' (default, MEDFAIR/FairTune) or 'finding'")
    p.add_argument("--views", choices=("frontal", "all"), default="frontal",
                   help="frontal views only (default) or frontal and lateral")
    p.add_argument("--age-threshold", type=float, default=60,
                   help="age_binary and age_sex: <= threshold is young (default 60)")
    add_split_options(p, (0.2, 0.5), (0, 0))


def _root(raw: Path) -> Path:
    for d in (raw, raw / RELEASE, raw / FULL_RELEASE):
        if (d / "train.csv").is_file():
            return d
    raise PrepError(f"train.csv: not found in --raw {raw} or in {raw / RELEASE}")


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    root = _root(args.raw)
    cols = ["Path", "Sex", "Age", "Frontal/Lateral", "No Finding"]
    frames = [read_csv(root / "train.csv", cols, root)]
    if (root / "valid.csv").is_file():
        frames.append(read_csv(root / "valid.csv", cols, root))
    df = pd.concat(frames, ignore_index=True)
    view = map_values(df, "Frontal/Lateral", {"Frontal": 0, "Lateral": 1}, "view (Frontal/Lateral)")
    if args.views == "frontal":
        df = df[view == 0].copy()
    no_finding = numeric_column(df, "No Finding", "No Finding")
    bad = np.flatnonzero(~(np.isnan(no_finding) | np.isin(no_finding, (-1.0, 0.0, 1.0))))
    if bad.size:
        i = int(bad[0])
        raise PrepError(f"{df['_source'].iloc[i]}: column 'No Finding': unknown value {no_finding[i]!r}; "
                        f"expected 1, 0, -1 or blank")
    nf = (no_finding > 0).astype(np.int64)
    df["label"] = nf if args.positive == "no_finding" else 1 - nf
    df["sex"] = map_values(df, "Sex", {"Female": 0, "Male": 1, "Unknown": -1}, "sex")
    age = numeric_column(df, "Age", "age")
    df["age_binary"] = age_binary(age, args.age_threshold)
    df["age_multi"] = age_multi(age)
    sex, old = df["sex"].to_numpy(), df["age_binary"].to_numpy()
    df["age_sex"] = np.where((sex < 0) | (old < 0), -1, np.where(sex == 1, 0, 2) + old)
    # Paths start with the release folder (CheXpert-v1.0-small/ or CheXpert-v1.0/): make them relative to it.
    rel = [re.sub(r"^[^/]*CheXpert[^/]*/", "", str(p)) for p in df["Path"]]
    pids = []
    for r, s in zip(rel, df["_source"]):
        m = PATIENT.search(r)
        if m is None:
            raise PrepError(f"{s}: column 'Path': {r!r} names no patientNNNNN folder")
        pids.append(m.group(1))
    df["patient_id"] = pids
    df["sample_id"] = [re.sub(r"\.(jpg|png)$", "", r) for r in rel]
    seeds = args.split_seeds if args.seed is None else (args.seed, args.seed)
    where = medfair_split(df["patient_id"].to_numpy(dtype=str), args.holdout, seeds[0], args.test_of_holdout, seeds[1])
    df["split"] = [where[x] for x in df["patient_id"]]
    df["_expected_image"] = rel
    df["image_path"] = [root / r for r in rel]
    df["loader"] = [file_loader(p, s) for p, s in zip(df["image_path"], df["_source"])]
    t = age_groups_binary(args.age_threshold)
    attrs = (Attribute("sex", SEX_GROUPS), Attribute("age_binary", t), Attribute("age_multi", AGE_MULTI_GROUPS),
             Attribute("age_sex", (f"M{t[0]}", f"M{t[1]}", f"F{t[0]}", f"F{t[1]}")))
    classes = ("finding", "no finding") if args.positive == "no_finding" else ("no finding", "finding")
    spec = DatasetSpec(NAME, args.positive, classes, attrs, args.size, args.size, args.normalization or "imagenet")
    notes: dict = {}
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    return Prepared(spec, splits, [f"{RELEASE}/train.csv", f"{RELEASE}/valid.csv", f"{RELEASE}/train/",
                                   f"{RELEASE}/valid/"], notes)
