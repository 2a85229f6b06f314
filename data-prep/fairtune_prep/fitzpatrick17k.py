"""Fitzpatrick17k (clinical skin photographs), as MEDFAIR's notebook prepares it.

Raw release: ``fitzpatrick17k.csv`` (md5hash, fitzpatrick_scale, fitzpatrick_centaur, label,
nine_partition_label, three_partition_label, qc, url, url_alphanum). The release ships URLs only;
images ``<md5hash>.jpg`` are found anywhere under --raw: ``images/`` (MEDFAIR's layout), the
authors' ``data/finalfitz17k/`` (their download form's archive) or flat. Some URLs are dead, so a
download of them usually needs --skip-missing.

Label: malignant = three_partition_label "malignant" (benign and non-neoplastic -> 0). Rows with
fitzpatrick_scale -1 are dropped. skin_type = scale - 1 (I..VI); skin_binary: I-III vs IV-VI.
Split: unique md5hash (image level) with train_test_split 0.2 random_state 5, then 0.5 random_state 6.
"""

from __future__ import annotations

import argparse

import numpy as np

from ._common import (Prepared, build_splits, file_loader, folders_of, index_files, map_values, medfair_split,
                      read_csv)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "fitzpatrick17k"
HELP = "Fitzpatrick17k clinical photos (MEDFAIR labels, image-level 80/10/10 split)"
METADATA = "fitzpatrick17k.csv"
PARTITION = {"malignant": 1, "benign": 0, "non-neoplastic": 0}
SKIN_TYPES = ("I", "II", "III", "IV", "V", "VI")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """No dataset-specific options: everything follows MEDFAIR."""
    del p


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    raw = args.raw
    df = read_csv(raw / METADATA, ["md5hash", "fitzpatrick_scale", "three_partition_label"], raw)
    scale = map_values(df, "fitzpatrick_scale", {**{v: v for v in range(-1, 7)},
                                                 **{float(v): v for v in range(-1, 7)}}, "Fitzpatrick scale")
    if (scale == 0).any():
        i = int(np.flatnonzero(scale == 0)[0])
        raise PrepError(f"{df['_source'].iloc[i]}: column 'fitzpatrick_scale': 0 is not a skin type (1..6 or -1)")
    keep = scale != -1
    df, scale = df[keep].copy(), scale[keep]
    df["label"] = map_values(df, "three_partition_label", PARTITION, "three_partition_label")
    df["skin_type"] = scale - 1
    df["skin_binary"] = (scale - 1 > 2).astype(np.int64)
    seeds = (5, 6) if args.seed is None else (args.seed, args.seed)
    where = medfair_split(df["md5hash"].to_numpy(dtype=str), 0.2, seeds[0], 0.5, seeds[1])
    df["split"] = [where[x] for x in df["md5hash"].astype(str)]
    df["sample_id"] = df["md5hash"].astype(str)
    df["patient_id"] = df["md5hash"].astype(str)
    images = index_files(raw, (f"{h}.jpg" for h in df["md5hash"]))
    df["_expected_image"] = [f"{h}.jpg (anywhere under --raw {raw}, e.g. images/)" for h in df["md5hash"]]
    df["image_path"] = [images.get(f"{h}.jpg") for h in df["md5hash"]]
    df["loader"] = [file_loader(p, s) for p, s in zip(df["image_path"], df["_source"])]
    attrs = (Attribute("skin_binary", ("I-III", "IV-VI")), Attribute("skin_type", SKIN_TYPES))
    spec = DatasetSpec(NAME, "malignant", ("benign or non-neoplastic", "malignant"), attrs, args.size,
                       args.size, args.normalization or "imagenet")
    notes: dict = {}
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    return Prepared(spec, splits, [METADATA, *folders_of(images.values(), raw)], notes)
