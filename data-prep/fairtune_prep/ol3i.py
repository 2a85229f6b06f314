"""OL3I (opportunistic L3 abdominal CT slices, ischemic heart disease).

Not in MEDFAIR and FairTune's preprocessing is not public, so the layout and choices below are
assumptions (see docs/data-prep.md). Raw release (Stanford AIMI): ``clinical_data.csv`` with
``anon_id``, ``label_1y``, ``label_5y``, ``set_1y``, ``set_5y``, ``age``, ``sex`` (and more clinical
columns), and ``l3_slices.h5`` holding one 2-D slice per ``anon_id`` (a dataset named by the id at
the file's root). One slice per patient.

Label: ``label_<horizon>`` (1 = ischemic heart disease within the horizon); rows with no label for the
horizon are dropped. Split: the release's own ``set_<horizon>`` column by default, or a random
patient-level 80/10/10 (seeds 0/0). Image: whether the slices hold Hounsfield units or 8-bit grey
levels is read from their dtype and values (--slice-values auto): HU are windowed to --hu-window,
8-bit levels kept as they are; what was seen goes to the manifest's provenance. Grey to RGB.
"""

from __future__ import annotations

import argparse

import h5py
import numpy as np
from PIL import Image

from ._common import (AGE_MULTI_GROUPS, SEX_GROUPS, Prepared, add_split_options, age_binary,
                      age_groups_binary, age_multi, build_splits, map_values, medfair_split, numeric_column,
                      read_csv, relative, to_uint8)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "ol3i"
HELP = "OL3I L3 CT slices, ischemic heart disease (published or random patient-level split)"
METADATA = "clinical_data.csv"
SLICES = "l3_slices.h5"
SET_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
# Slices read at prep time to tell Hounsfield units from 8-bit grey levels (evenly spread).
INSPECTED_SLICES = 32


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    p.add_argument("--horizon", choices=("1y", "5y"), default="1y",
                   help="label_1y (FairTune) or label_5y, with the matching set_ column (default 1y)")
    add_split_options(p, (0.2, 0.5), (0, 0), published=True)
    p.add_argument("--hu-window", default="-250,250", metavar="LO,HI",
                   help="Hounsfield range mapped to 0..255 (default -250,250: fat and muscle visible)")
    p.add_argument("--slice-values", choices=("auto", "hu", "8bit"), default="auto",
                   help="what l3_slices.h5 holds: auto (default: read from dtype and values), hu "
                        "(Hounsfield units, windowed) or 8bit (grey levels 0..255, kept)")
    p.add_argument("--sex-one", choices=("M", "F"), default="M",
                   help="if sex is coded 0/1, which sex 1 means (default M); text M/F/male/female always works")
    p.add_argument("--age-threshold", type=float, default=60, help="age_binary threshold (default 60)")


def _slice_loader(path, key: str, source: str, mode: str, lo: float, hi: float):
    """Reads one slice from l3_slices.h5 (opened per slice: cheap, and nothing stays open)."""
    def load() -> Image.Image:
        try:
            with h5py.File(path, "r") as f:
                a = np.asarray(f[key][()])
        except (KeyError, OSError) as e:
            raise PrepError(f"{source}: {SLICES} dataset '{key}' cannot be read ({e})") from None
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim != 2:
            raise PrepError(f"{source}: {SLICES} dataset '{key}' has shape {a.shape}, expected a 2-D slice")
        if mode == "hu":
            return Image.fromarray(to_uint8(a, lo, hi), mode="L")
        if a.size and (a.min() < 0 or a.max() > 255):
            raise PrepError(f"{source}: {SLICES} dataset '{key}' has values {a.min()}..{a.max()}, but the slices "
                            f"were taken as 8-bit grey levels 0..255 (see --slice-values)")
        return Image.fromarray(np.round(a).astype(np.uint8), mode="L")
    return load


def inspect_slices(path, keys: list[str], choice: str) -> dict:
    """Decides whether the slices are Hounsfield units ("hu") or 8-bit grey levels ("8bit") from the
    dtypes of all of them and the values of up to INSPECTED_SLICES; refuses a range that fits neither."""
    spread = np.linspace(0, len(keys) - 1, min(len(keys), INSPECTED_SLICES)).astype(int)
    picked = [keys[i] for i in np.unique(spread)]
    try:
        with h5py.File(path, "r") as f:
            dtypes = sorted({str(f[k].dtype) for k in keys})
            values = [np.asarray(f[k][()], dtype=np.float64) for k in picked]
    except (AttributeError, KeyError, OSError, TypeError, ValueError) as e:
        raise PrepError(f"{SLICES}: cannot read the slices to inspect them ({e}); expected one 2-D numeric "
                        f"dataset per anon_id at the file's root") from None
    lo = min(float(v.min()) for v in values if v.size)
    hi = max(float(v.max()) for v in values if v.size)
    whole = all(np.array_equal(v, np.round(v)) for v in values)
    seen = {"dtypes": dtypes, "min": lo, "max": hi, "slices_inspected": len(picked)}
    if choice != "auto":
        return {**seen, "values": choice, "decided_by": "--slice-values"}
    if dtypes == ["uint8"]:
        return {**seen, "values": "8bit", "decided_by": "dtype uint8"}
    if lo >= 0 and hi <= 255 and whole:
        return {**seen, "values": "8bit", "decided_by": "whole numbers within 0..255"}
    if lo < 0:
        return {**seen, "values": "hu", "decided_by": "negative values"}
    raise PrepError(f"{SLICES}: cannot tell Hounsfield units from 8-bit grey levels: values {lo:g}..{hi:g} "
                    f"({', '.join(dtypes)}) in {len(picked)} slices; Hounsfield slices have negative values (air is "
                    f"about -1000), 8-bit ones are whole numbers 0..255. Pass --slice-values hu (windowed with "
                    f"--hu-window) or --slice-values 8bit if the release's documentation says which")


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    raw = args.raw
    label_col, set_col = f"label_{args.horizon}", f"set_{args.horizon}"
    needed = ["anon_id", label_col, "age", "sex"] + ([set_col] if args.split == "published" else [])
    df = read_csv(raw / METADATA, needed, raw)
    try:
        lo, hi = (float(x) for x in args.hu_window.split(","))
    except ValueError:
        raise PrepError(f"--hu-window expects LO,HI numbers, got {args.hu_window!r}") from None
    labels = numeric_column(df, label_col, "label")
    notes: dict = {}
    if np.isnan(labels).any():
        notes["dropped_no_label"] = int(np.isnan(labels).sum())
    df = df[~np.isnan(labels)].copy()
    df["label"] = map_values(df, label_col, {0: 0, 1: 1}, label_col)
    sex_codes = {"M": 0, "F": 1, "m": 0, "f": 1, "male": 0, "female": 1, "Male": 0, "Female": 1,
                 1: 0 if args.sex_one == "M" else 1, 0: 1 if args.sex_one == "M" else 0}
    df["sex"] = map_values(df, "sex", sex_codes, "sex")
    age = numeric_column(df, "age", "age")
    df["age_binary"] = age_binary(age, args.age_threshold)
    df["age_multi"] = age_multi(age)
    df["patient_id"] = df["anon_id"].astype(str)
    if args.split == "published":
        df["split"] = [_set_name(v, s, set_col) for v, s in zip(df[set_col], df["_source"])]
    else:
        seeds = args.split_seeds if args.seed is None else (args.seed, args.seed)
        where = medfair_split(df["patient_id"].to_numpy(dtype=str), args.holdout, seeds[0],
                              args.test_of_holdout, seeds[1])
        df["split"] = [where[x] for x in df["patient_id"]]
    df["sample_id"] = df["patient_id"]
    path = _attach_slices(df, raw, args.slice_values, (lo, hi), notes)
    attrs = (Attribute("sex", SEX_GROUPS), Attribute("age_binary", age_groups_binary(args.age_threshold)),
             Attribute("age_multi", AGE_MULTI_GROUPS))
    spec = DatasetSpec(NAME, f"ihd_{args.horizon}", ("no IHD", "IHD"), attrs, args.size, args.size,
                       args.normalization or "imagenet")
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    return Prepared(spec, splits, [METADATA, relative(path, raw)], notes)


def _attach_slices(df, raw, choice: str, window: tuple[float, float], notes: dict):
    """Adds image_path and loader for every row, after deciding what the slices hold (noted in the
    provenance); returns the slice file's path."""
    path = raw / SLICES
    if not path.is_file():
        raise PrepError(f"{SLICES}: file not found under --raw {raw}")
    try:
        with h5py.File(path, "r") as f:
            keys = set(f.keys())
    except OSError as e:
        raise PrepError(f"{SLICES}: cannot be opened as HDF5 ({e})") from None
    df["_expected_image"] = [f"{SLICES}:/{k}" for k in df["anon_id"]]
    df["image_path"] = [path if str(k) in keys else None for k in df["anon_id"]]
    present = [str(k) for k in df["anon_id"] if str(k) in keys]
    if not present:
        raise PrepError(f"{SLICES}: none of the {len(df)} anon_id values of {METADATA} is a dataset in it")
    values = inspect_slices(path, present, choice)
    lo, hi = window
    values["mapping"] = f"--hu-window {lo:g},{hi:g} to 0..255" if values["values"] == "hu" else "kept as is"
    notes["slice_values"] = values
    df["loader"] = [_slice_loader(path, str(k), s, values["values"], lo, hi)
                    for k, s in zip(df["anon_id"], df["_source"])]
    return path


def _set_name(v, source: str, column: str) -> str:
    key = v.strip().lower() if isinstance(v, str) else v
    if key not in SET_NAMES:
        raise PrepError(f"{source}: column '{column}': unknown split {v!r}; expected train, val or test")
    return SET_NAMES[key]
