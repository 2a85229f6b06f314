"""HAM10000 (dermoscopy), as MEDFAIR's notebook prepares it.

Raw release (Harvard Dataverse): the metadata (lesion_id, image_id, dx, dx_type, age, sex,
localization, ...) as ``HAM10000_metadata`` (Dataverse's name, no extension), ``HAM10000_metadata.csv``
or Dataverse's tab-separated ingest ``HAM10000_metadata.tab``, and the images ``<image_id>.jpg``
anywhere under --raw: the two zips unpacked flat, into ``HAM10000_images_part_1/`` and ``_2/``, or
merged (Kaggle's copy also works).

Label: malignant = dx in {akiec, mel}; benign = {bcc, bkl, df, nv, vasc}. Rows with no age or no sex
are dropped; sex "unknown" stays, as group -1. Split: unique lesion ids, train_test_split 0.2 with
random_state 0, then 0.5 with random_state 0 (80/10/10 by lesion), exactly as MEDFAIR.
"""

from __future__ import annotations

import argparse

import numpy as np

from pathlib import Path

from ._common import (AGE_MULTI_GROUPS, SEX_GROUPS, Prepared, age_binary, age_groups_binary, age_multi,
                      build_splits, file_loader, folders_of, index_files, map_values, medfair_split,
                      numeric_column, read_csv)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "ham10000"
HELP = "HAM10000 dermoscopy (MEDFAIR labels, lesion-level 80/10/10 split)"
# The metadata's names, in order of preference: Harvard Dataverse serves the original file without
# an extension, the release's documentation calls it .csv, and Dataverse's ingest is tab-separated.
METADATA_NAMES = ("HAM10000_metadata.csv", "HAM10000_metadata", "HAM10000_metadata.tab")
DX = {"akiec": 1, "mel": 1, "bcc": 0, "bkl": 0, "df": 0, "nv": 0, "vasc": 0}
SEX = {"male": 0, "female": 1, "unknown": -1}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    p.add_argument("--age-threshold", type=float, default=60,
                   help="age_binary: <= threshold is group 0 (default 60, MEDFAIR)")


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    raw = args.raw
    metadata = _metadata_file(raw)
    df = read_csv(metadata, ["lesion_id", "image_id", "dx", "age", "sex"], raw, sep=_separator(metadata))
    age = numeric_column(df, "age", "age")
    keep = ~np.isnan(age) & df["sex"].notna().to_numpy()
    df, age = df[keep].copy(), age[keep]
    df["label"] = map_values(df, "dx", DX, "diagnosis (dx)")
    df["sex"] = map_values(df, "sex", SEX, "sex")
    df["age_binary"] = age_binary(age, args.age_threshold)
    df["age_multi"] = age_multi(age)
    seeds = (0, 0) if args.seed is None else (args.seed, args.seed)
    where = medfair_split(df["lesion_id"].to_numpy(dtype=str), 0.2, seeds[0], 0.5, seeds[1])
    df["split"] = [where[x] for x in df["lesion_id"].astype(str)]
    df["sample_id"] = df["image_id"].astype(str)
    df["patient_id"] = df["lesion_id"].astype(str)
    images = index_files(raw, (f"{i}.jpg" for i in df["image_id"]))
    df["_expected_image"] = [f"{i}.jpg (anywhere under --raw {raw})" for i in df["image_id"]]
    df["image_path"] = [images.get(f"{i}.jpg") for i in df["image_id"]]
    df["loader"] = [file_loader(p, s) for p, s in zip(df["image_path"], df["_source"])]
    attrs = (Attribute("sex", SEX_GROUPS), Attribute("age_binary", age_groups_binary(args.age_threshold)),
             Attribute("age_multi", AGE_MULTI_GROUPS))
    spec = DatasetSpec(NAME, "malignant", ("benign", "malignant"), attrs, args.size, args.size,
                       args.normalization or "imagenet")
    notes: dict = {}
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    return Prepared(spec, splits, [metadata.name, *folders_of(images.values(), raw)], notes)


def _metadata_file(raw: Path) -> Path:
    for name in METADATA_NAMES:
        if (raw / name).is_file():
            return raw / name
    raise PrepError(f"--raw {raw}: no HAM10000 metadata; expected one of {list(METADATA_NAMES)} in that folder")


def _separator(path: Path) -> str:
    """Tab for Dataverse's ingest (.tab, or an extensionless file whose header has tabs), else comma."""
    if path.suffix == ".tab":
        return "\t"
    if path.suffix == ".csv":
        return ","
    with open(path, encoding="utf-8", errors="replace") as f:
        return "\t" if "\t" in f.readline() else ","
