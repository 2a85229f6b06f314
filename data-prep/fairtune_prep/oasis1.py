"""OASIS-1 cross-sectional brain MRI, dementia.

Not in MEDFAIR; FairTune's preprocessing is not public, so the choices below are ours (see
docs/data-prep.md). Raw release: ``oasis_cross-sectional.csv`` (ID, M/F, Hand, Age, Educ, SES, MMSE,
CDR, eTIV, nWBV, ASF, Delay) and the disc folders ``disc1/`` ... ``disc12/`` with one folder per
session, e.g. ``disc1/OAS1_0001_MR1/PROCESSED/MPRAGE/T88_111/OAS1_0001_MR1_mpr_n4_anon_111_t88_masked_gfc.hdr``
(+ ``.img``, Analyze 7.5; a NIfTI ``.nii``/``.nii.gz`` of the same name also works).

Label: CDR >= --cdr-threshold (default 0.5, i.e. very mild dementia or worse) is "dementia".
Subjects without a CDR (mostly the young controls) are dropped by default. One sample per subject
(the MR1 session) unless --sessions all. Image: one slice (default the middle axial slice) of the
atlas-registered, gain-field corrected, brain-masked volume, windowed to its 0.5-99.5 percentiles.
Split: random, by subject, 80/10/10 with seeds 0/0.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from PIL import Image

from ._common import (SEX_GROUPS, Prepared, add_split_options, age_binary, age_groups_binary, AGE_MULTI_GROUPS,
                      age_multi, build_splits, map_values, medfair_split, numeric_column, percentile_uint8,
                      read_csv, relative)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "oasis1"
HELP = "OASIS-1 brain MRI, dementia by CDR (random subject-level split)"
METADATA = "oasis_cross-sectional.csv"
VOLUME_SUFFIX = {"masked_gfc": "_t88_masked_gfc", "gfc": "_t88_gfc"}
EXTENSIONS = (".hdr", ".nii", ".nii.gz")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    p.add_argument("--cdr-threshold", type=float, default=0.5,
                   help="CDR at or above this is dementia (default 0.5; 1 makes very mild dementia negative)")
    p.add_argument("--missing-cdr", choices=("drop", "healthy"), default="drop",
                   help="subjects with no CDR: drop them (default) or count them as non-demented")
    p.add_argument("--sessions", choices=("first", "all"), default="first",
                   help="first: MR1 only (default); all: also the reliability rescans (same subject, same split)")
    p.add_argument("--volume", choices=tuple(VOLUME_SUFFIX), default="masked_gfc",
                   help="which processed T88 volume to slice (default masked_gfc: brain only)")
    p.add_argument("--slice-axis", type=int, choices=(0, 1, 2), default=2,
                   help="volume axis to slice across (default 2: axial for the T88 volumes)")
    p.add_argument("--slice-index", type=int, default=-1, help="slice index (default -1: the middle)")
    p.add_argument("--age-threshold", type=float, default=75,
                   help="age_binary threshold (default 75, near the median age of rated subjects)")
    add_split_options(p, (0.2, 0.5), (0, 0))


def _find_volumes(raw: Path, suffix: str) -> dict[str, Path]:
    """Session id -> volume path, searching every disc folder."""
    found: dict[str, Path] = {}
    pattern = re.compile(r"^(OAS1_\d{4}_MR\d+)_mpr.*" + re.escape(suffix) + r"(\.hdr|\.nii|\.nii\.gz)$")
    for p in raw.rglob(f"*{suffix}*"):
        m = pattern.match(p.name)
        if m and p.parent.name == "T88_111":
            found.setdefault(m.group(1), p)
    return found


def _slice_loader(path: Path, source: str, axis: int, index: int):
    def load() -> Image.Image:
        import nibabel as nib

        try:
            img = nib.load(str(path))
            shape = img.shape
            if len(shape) < 3:
                raise PrepError(f"{source}: volume {path} has shape {shape}, expected 3-D")
            k = shape[axis] // 2 if index < 0 else index
            if not 0 <= k < shape[axis]:
                raise PrepError(f"{source}: --slice-index {index} outside volume {path} axis {axis} of size {shape[axis]}")
            sl = [slice(None)] * len(shape)
            sl[axis] = k
            a = np.asarray(img.dataobj[tuple(sl)], dtype=np.float64)
        except PrepError:
            raise
        except Exception as e:  # nibabel raises several types for damaged files
            raise PrepError(f"{source}: volume {path} cannot be read ({e})") from None
        a = a.reshape(a.shape[:2])
        return Image.fromarray(percentile_uint8(np.rot90(a)), mode="L")
    return load


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    raw = args.raw
    df = read_csv(raw / METADATA, ["ID", "M/F", "Age", "CDR"], raw)
    notes: dict = {}
    if args.sessions == "first":
        df = df[df["ID"].astype(str).str.endswith("_MR1")].copy()
    cdr = numeric_column(df, "CDR", "CDR")
    if args.missing_cdr == "drop":
        notes["dropped_no_cdr"] = int(np.isnan(cdr).sum())
        df, cdr = df[~np.isnan(cdr)].copy(), cdr[~np.isnan(cdr)]
    else:
        cdr = np.nan_to_num(cdr, nan=0.0)
    bad = np.flatnonzero(~np.isin(cdr, (0.0, 0.5, 1.0, 2.0, 3.0)))
    if bad.size:
        raise PrepError(f"{df['_source'].iloc[int(bad[0])]}: column 'CDR': unknown value {cdr[bad[0]]!r}; "
                        f"expected 0, 0.5, 1, 2 or 3")
    df["label"] = (cdr >= args.cdr_threshold).astype(np.int64)
    df["sex"] = map_values(df, "M/F", {"M": 0, "F": 1}, "sex (M/F)")
    age = numeric_column(df, "Age", "age")
    df["age_binary"] = age_binary(age, args.age_threshold)
    df["age_multi"] = age_multi(age)
    df["sample_id"] = df["ID"].astype(str)
    bad_ids = [s for s, i in zip(df["_source"], df["sample_id"]) if not re.match(r"^OAS1_\d{4}_MR\d+$", i)]
    if bad_ids:
        raise PrepError(f"{bad_ids[0]}: column 'ID': expected a session id like OAS1_0001_MR1")
    df["patient_id"] = df["sample_id"].str.slice(0, 9)
    seeds = args.split_seeds if args.seed is None else (args.seed, args.seed)
    where = medfair_split(df["patient_id"].to_numpy(dtype=str), args.holdout, seeds[0], args.test_of_holdout, seeds[1])
    df["split"] = [where[x] for x in df["patient_id"]]
    suffix = VOLUME_SUFFIX[args.volume]
    volumes = _find_volumes(raw, suffix)
    df["_expected_image"] = [f"disc*/{i}/PROCESSED/MPRAGE/T88_111/{i}_mpr_n*_anon_111{suffix}.hdr"
                             for i in df["sample_id"]]
    df["image_path"] = [volumes.get(i) for i in df["sample_id"]]
    df["loader"] = [_slice_loader(p, s, args.slice_axis, args.slice_index)
                    for p, s in zip(df["image_path"], df["_source"])]
    attrs = (Attribute("sex", SEX_GROUPS), Attribute("age_binary", age_groups_binary(args.age_threshold)),
             Attribute("age_multi", AGE_MULTI_GROUPS))
    spec = DatasetSpec(NAME, "dementia", ("non-demented", "dementia"), attrs, args.size, args.size,
                       args.normalization or "imagenet")
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    discs = sorted({relative(p, raw).split("/")[0] + "/" for p in volumes.values()})
    return Prepared(spec, splits, [METADATA, *discs], notes)
