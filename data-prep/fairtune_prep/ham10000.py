"""HAM10000 (dermoscopy), as MEDFAIR's notebook prepares it.

Raw release (Harvard Dataverse): ``HAM10000_metadata.csv`` (lesion_id, image_id, dx, dx_type, age,
sex, localization, ...) and the images ``<image_id>.jpg`` in ``HAM10000_images_part_1/`` and
``HAM10000_images_part_2/`` (a merged ``HAM10000_images/`` also works).

Label: malignant = dx in {akiec, mel}; benign = {bcc, bkl, df, nv, vasc}. Rows with no age or no sex
are dropped; sex "unknown" stays, as group -1. Split: unique lesion ids, train_test_split 0.2 with
random_state 0, then 0.5 with random_state 0 (80/10/10 by lesion), exactly as MEDFAIR.
"""

from __future__ import annotations

import argparse

import numpy as np

from ._common import (AGE_MULTI_GROUPS, SEX_GROUPS, Prepared, age_binary, age_groups_binary, age_multi,
                      build_splits, file_loader, find_file, map_values, medfair_split, numeric_column,
                      read_csv)
from ._shards import Attribute, DatasetSpec

NAME = "ham10000"
HELP = "HAM10000 dermoscopy (MEDFAIR labels, lesion-level 80/10/10 split)"
METADATA = "HAM10000_metadata.csv"
IMAGE_DIRS = ("HAM10000_images_part_1", "HAM10000_images_part_2", "HAM10000_images",
              "ham10000_images_part_1", "ham10000_images_part_2")
# Harvard Dataverse also serves the metadata as its tab-separated ingest.
METADATA_TAB = "HAM10000_metadata.tab"
DX = {"akiec": 1, "mel": 1, "bcc": 0, "bkl": 0, "df": 0, "nv": 0, "vasc": 0}
SEX = {"female": 0, "male": 1, "unknown": -1}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    p.add_argument("--age-threshold", type=float, default=60,
                   help="age_binary: <= threshold is group 0 (default 60, MEDFAIR)")


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    raw = args.raw
    columns = ["lesion_id", "image_id", "dx", "age", "sex"]
    if not (raw / METADATA).is_file() and (raw / METADATA_TAB).is_file():
        metadata = METADATA_TAB
        df = read_csv(raw / METADATA_TAB, columns, raw, sep="\t")
    else:
        metadata = METADATA
        df = read_csv(raw / METADATA, columns, raw)
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
    folders = [raw / d for d in IMAGE_DIRS]
    df["_expected_image"] = [f"{IMAGE_DIRS[0]}/{i}.jpg or {IMAGE_DIRS[1]}/{i}.jpg" for i in df["image_id"]]
    df["image_path"] = [find_file(f"{i}.jpg", folders) for i in df["image_id"]]
    df["loader"] = [file_loader(p, s) for p, s in zip(df["image_path"], df["_source"])]
    attrs = (Attribute("sex", SEX_GROUPS), Attribute("age_binary", age_groups_binary(args.age_threshold)),
             Attribute("age_multi", AGE_MULTI_GROUPS))
    spec = DatasetSpec(NAME, "malignant", ("benign", "malignant"), attrs, args.size, args.size,
                       args.normalization or "imagenet")
    notes: dict = {}
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    return Prepared(spec, splits, [metadata, *[d + "/" for d in IMAGE_DIRS if (raw / d).is_dir()]], notes)
