"""Harvard-GF3300 (glaucoma, race-balanced OCT RNFLT maps).

Not in MEDFAIR; FairTune's preprocessing is not public, so the choices below are ours (see
docs/data-prep.md). Raw release: ``Training/``, ``Validation/``, ``Test/`` (2100/300/900 subjects)
of ``data_XXXX.npz``, one per subject, found in --raw or up to three levels below it (the Hugging
Face ``Dataset/dataset.zip`` unpacked). Fields: ``rnflt`` (200x200 retinal nerve fibre layer
thickness map, microns, about -2 to 1,032; -1 and -2 mark the optic disc), ``glaucoma`` (0/1),
``age``, ``male`` (0 female, 1 male), ``race`` (text 'Asian', 'Black or African American', 'White
or Caucasian' as the files store it, or 0/1/2 as the README documents), ``hispanic`` and more.

Image: --image-field (default ``rnflt``, clipped to [0, --rnflt-max] microns and mapped to 0..255, grey);
any other 2-D field is windowed to its percentiles, a 3-D volume gives its middle slice, an
(H, W, 3) array is taken as RGB. race_binary follows FairTune: 0 = Black, 1 = Asian or White.
Split: the release's folders (default) or random by subject.
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from ._common import (AGE_MULTI_GROUPS, SEX_GROUPS, Prepared, add_split_options, age_binary,
                      age_groups_binary, age_multi, build_splits, map_values, medfair_split, percentile_uint8,
                      relative, to_uint8)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "harvard_gf3300"
HELP = "Harvard-GF3300 glaucoma RNFLT maps (published or random subject-level split)"
FOLDERS = {"Training": "train", "Validation": "val", "Test": "test"}
NUMERIC_FIELDS = ("glaucoma", "age", "male")
# The files store race as text (the official data_handler.py maps it so); the README documents 0/1/2.
RACE = {"Asian": 0, "Black or African American": 1, "White or Caucasian": 2,
        0: 0, 1: 1, 2: 2, 0.0: 0, 1.0: 1, 2.0: 2}
# How deep below --raw the Training/Validation/Test folders may be (Hugging Face's zip nests them).
SEARCH_DEPTH = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    add_split_options(p, (0.2, 0.5), (0, 0), published=True)
    p.add_argument("--image-field", default="rnflt", help="npz field that becomes the image (default rnflt)")
    p.add_argument("--rnflt-max", type=float, default=350.0,
                   help="rnflt thickness (microns) mapped to 255 (default 350); values are clipped to [0, max], "
                        "so the optic-disc markers -1/-2 become 0 and thicker values saturate")
    p.add_argument("--age-threshold", type=float, default=60, help="age_binary threshold (default 60)")


def _root(raw: Path) -> Path:
    """The one folder at most SEARCH_DEPTH levels below --raw (or --raw itself) that holds
    Training/, Validation/ and Test/."""
    found = []
    for folder, dirs, _ in os.walk(raw):
        here = Path(folder)
        if all(f in dirs for f in FOLDERS):
            found.append(here)
            dirs.clear()
        elif len(here.relative_to(raw).parts) >= SEARCH_DEPTH:
            dirs.clear()
        else:
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    if len(found) == 1:
        return found[0]
    if found:
        raise PrepError(f"--raw {raw}: several copies of the release ({', '.join(relative(d, raw) for d in found)}); "
                        f"pass one of them as --raw")
    raise PrepError(f"--raw {raw}: expected the folders {list(FOLDERS)} of data_XXXX.npz files in that folder or "
                    f"up to {SEARCH_DEPTH} levels below it (e.g. the Hugging Face Dataset/dataset.zip unpacked); "
                    f"found none")


def _scalar(npz, key: str, source: str):
    """A one-value field as a Python value (a number, or text as some fields are stored)."""
    if key not in npz.files:
        raise PrepError(f"{source}: field '{key}' missing (fields: {sorted(npz.files)})")
    v = np.asarray(npz[key])
    if v.size != 1:
        raise PrepError(f"{source}: field '{key}' has shape {v.shape}, expected a single value")
    value = v.reshape(()).item()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _number(npz, key: str, source: str) -> float:
    value = _scalar(npz, key, source)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PrepError(f"{source}: field '{key}' value {value!r} is not a number") from None


def _image(a: np.ndarray, field: str, rnflt_max: float) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[-1] == 3:
        return a if a.dtype == np.uint8 else percentile_uint8(a)
    if a.ndim == 3:
        a = a[a.shape[0] // 2]
    if a.ndim != 2:
        raise ValueError(f"field '{field}' has shape {a.shape}, expected 2-D, 3-D or (H, W, 3)")
    if field == "rnflt":
        return to_uint8(a, 0.0, rnflt_max)
    return a if a.dtype == np.uint8 else percentile_uint8(a)


def _loader(path: Path, source: str, field: str, rnflt_max: float):
    def load() -> Image.Image:
        try:
            with np.load(path, allow_pickle=False) as z:
                if field not in z.files:
                    raise PrepError(f"{source}: field '{field}' missing (fields: {sorted(z.files)})")
                a = _image(z[field], field, rnflt_max)
        except PrepError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise PrepError(f"{source}: cannot read field '{field}' ({e})") from None
        return Image.fromarray(a, mode="RGB" if a.ndim == 3 else "L")
    return load


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    root = _root(args.raw)
    rows = []
    files = [(folder, split, path) for folder, split in FOLDERS.items()
             for path in sorted((root / folder).glob("*.npz"))]
    for folder, split, path in tqdm(files, desc="harvard_gf3300 metadata", unit="file", disable=args.quiet,
                                    file=sys.stderr):
        source = relative(path, args.raw)
        try:
            with np.load(path, allow_pickle=False) as z:
                values = {k: _number(z, k, source) for k in NUMERIC_FIELDS}
                values["race"] = _scalar(z, "race", source)
        except PrepError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise PrepError(f"{source}: cannot be read as .npz ({e})") from None
        rows.append({"_source": source, "folder_split": split, "path": path,
                     "sample_id": f"{folder}/{path.stem}", **values})
    if not rows:
        raise PrepError(f"--raw {args.raw}: no .npz files in {list(FOLDERS)}")
    df = pd.DataFrame(rows)
    df["label"] = map_values(df, "glaucoma", {0: 0, 1: 1}, "glaucoma")
    df["sex"] = map_values(df, "male", {1: 0, 0: 1}, "male (0 female, 1 male)")
    df["race"] = map_values(df, "race", RACE, "race")
    df["race_binary"] = np.where(df["race"].to_numpy() == 1, 0, 1)
    age = df["age"].to_numpy(dtype=np.float64)
    df["age_binary"] = age_binary(age, args.age_threshold)
    df["age_multi"] = age_multi(age)
    df["patient_id"] = df["sample_id"]
    if args.split == "published":
        df["split"] = df["folder_split"]
    else:
        seeds = args.split_seeds if args.seed is None else (args.seed, args.seed)
        where = medfair_split(df["patient_id"].to_numpy(dtype=str), args.holdout, seeds[0],
                              args.test_of_holdout, seeds[1])
        df["split"] = [where[x] for x in df["patient_id"]]
    df["loader"] = [_loader(p, s, args.image_field, args.rnflt_max) for p, s in zip(df["path"], df["_source"])]
    attrs = (Attribute("race_binary", ("Black", "Asian/White")), Attribute("race", ("Asian", "Black", "White")),
             Attribute("sex", SEX_GROUPS), Attribute("age_binary", age_groups_binary(args.age_threshold)),
             Attribute("age_multi", AGE_MULTI_GROUPS))
    spec = DatasetSpec(NAME, "glaucoma", ("non-glaucoma", "glaucoma"), attrs, args.size, args.size,
                       args.normalization or "imagenet")
    notes: dict = {"image_field": args.image_field}
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    return Prepared(spec, splits, [relative(root / f, args.raw) + "/" for f in FOLDERS], notes)
