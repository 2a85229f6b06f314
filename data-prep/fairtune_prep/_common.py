"""Helpers every real-dataset module shares: reading tables, images, splits, age groups.

Every error names the raw file and the row (``line N`` of a CSV counts the header as line 1) so the
user can find the problem.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from ._shards import SPLITS, DatasetSpec, SplitData
from .errors import PrepError

# MEDFAIR's age groups (HAM10000 and PAPILA notebooks): 0-19, 20-39, 40-59, 60-79, 80+.
AGE_MULTI_GROUPS = ("0-19", "20-39", "40-59", "60-79", "80+")
# Male is group 0 as in MEDFAIR (BaseDataset: 'M' -> 0) and FairTune, so "group 0" means the same.
SEX_GROUPS = ("M", "F")


@dataclass
class Prepared:
    """What a dataset module hands to the writer."""

    spec: DatasetSpec
    splits: dict[str, SplitData]
    raw_files: list[str]
    notes: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Tables


def read_csv(path: Path, required: Sequence[str], raw: Path, sep: str = ",", text: bool = False) -> pd.DataFrame:
    """Reads a CSV (or, with ``sep="\\t"``, a TSV) checking the required columns exist; adds a
    ``_source`` column naming file and line for messages.

    A byte-order mark before the header is dropped; a row with more or fewer fields than the header
    is an error naming its line. With ``text`` every cell is a string ("" when empty).
    """
    rel = relative(path, raw)
    if not path.is_file():
        raise PrepError(f"{rel}: file not found under --raw {raw}")
    lines = record_lines(path, sep, rel)
    options = {"dtype": str, "keep_default_na": False} if text else {}
    try:
        df = pd.read_csv(path, sep=sep, low_memory=False, encoding="utf-8-sig", **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        raise PrepError(f"{rel}: cannot be read as CSV ({e})") from None
    df.columns = [c.lstrip("\ufeff") if isinstance(c, str) else c for c in df.columns]
    require_columns(df, required, rel)
    # The reader's own line numbers are exact (quoted newlines, blank lines); i + 2 is the fallback.
    numbers = lines if len(lines) == len(df) else [i + 2 for i in range(len(df))]
    df["_source"] = [f"{rel} line {n}" for n in numbers]
    return df


def record_lines(path: Path, sep: str, rel: str) -> list[int]:
    """The line each data record of a CSV starts on (the header is line 1; blank lines skipped).

    Raises naming the line when a record has more or fewer fields than the header, which pandas
    would otherwise fill with empty values (and a later filter drop without a word).
    """
    starts: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=sep)
            header = next(reader, None)
            if header is None:
                return starts
            end = reader.line_num
            for fields in reader:
                start, end = end + 1, reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != len(header):
                    raise PrepError(f"{rel} line {start}: {len(fields)} field(s) but the header has "
                                    f"{len(header)}; check for a missing or extra separator or quote")
                starts.append(start)
    except (csv.Error, UnicodeDecodeError) as e:
        raise PrepError(f"{rel}: cannot be read as CSV ({e})") from None
    return starts


def require_columns(df: pd.DataFrame, required: Iterable[str], rel: str) -> None:
    """Raises naming the file and the missing columns (and the ones found)."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PrepError(f"{rel}: missing column(s) {missing}; found {list(df.columns)}")


def relative(path: Path, raw: Path) -> str:
    """``path`` relative to the raw folder, for messages and provenance."""
    try:
        return str(Path(path).relative_to(raw))
    except ValueError:
        return str(path)


def map_values(df: pd.DataFrame, column: str, mapping: dict, what: str) -> np.ndarray:
    """Maps a column through ``mapping``; an unknown value is an error naming the row."""
    out = np.empty(len(df), dtype=np.int64)
    for i, (v, src) in enumerate(zip(df[column].tolist(), df["_source"].tolist())):
        key = v.strip() if isinstance(v, str) else v
        if key not in mapping:
            raise PrepError(f"{src}: column '{column}': unknown {what} value {v!r}; "
                            f"expected one of {sorted(map(str, mapping))}")
        out[i] = mapping[key]
    return out


def numeric_column(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """A column as float64; a non-numeric or infinite entry is an error naming the row (blank -> NaN)."""
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
    raw = df[column].tolist()
    for i in np.flatnonzero(np.isnan(values)):
        v = raw[i]
        if not (v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())):
            raise PrepError(f"{df['_source'].iloc[i]}: column '{column}': {what} {v!r} is not a number")
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        i = int(infinite[0])
        raise PrepError(f"{df['_source'].iloc[i]}: column '{column}': {what} {raw[i]!r} is not a finite number")
    return values


# --------------------------------------------------------------------------------------------------
# Age groups (MEDFAIR truncates ages to int first)


def age_binary(age: np.ndarray, threshold: float) -> np.ndarray:
    """0 for age <= threshold, 1 above it, -1 if unknown (MEDFAIR: 60 -> 0)."""
    out = np.full(len(age), -1, dtype=np.int64)
    known = ~np.isnan(age)
    a = np.trunc(age[known])
    out[known] = (a > threshold).astype(np.int64)
    return out


def age_multi(age: np.ndarray) -> np.ndarray:
    """MEDFAIR's five bins 0-19, 20-39, 40-59, 60-79, 80+; -1 if unknown."""
    out = np.full(len(age), -1, dtype=np.int64)
    known = ~np.isnan(age)
    out[known] = np.clip(np.trunc(age[known]) // 20, 0, 4).astype(np.int64)
    return out


def age_groups_binary(threshold: float) -> tuple[str, str]:
    """Group names of :func:`age_binary`, e.g. ("<=60", ">60")."""
    t = int(threshold) if float(threshold).is_integer() else threshold
    return (f"<={t}", f">{t}")


# --------------------------------------------------------------------------------------------------
# Splits


def medfair_split(ids: Sequence, test_size: float, seed1: int, second_test_size: float, seed2: int
                  ) -> dict:
    """MEDFAIR's two-stage split of unique ids with scikit-learn's ``train_test_split``.

    ``np.unique(ids)`` is split into train and rest (``test_size``, ``seed1``); rest is split again
    (``second_test_size``, ``seed2``) and its first part is val, the second test. Same calls as
    MEDFAIR's notebooks, so the membership is identical for the same unique ids.
    """
    from sklearn.model_selection import train_test_split

    unique = np.unique(np.asarray(ids))
    if len(unique) < 3:
        raise PrepError(f"only {len(unique)} distinct patients: need at least 3 for train/val/test")
    try:
        train, rest = train_test_split(unique, test_size=test_size, random_state=seed1)
        val, test = train_test_split(rest, test_size=second_test_size, random_state=seed2)
    except ValueError as e:
        raise PrepError(f"cannot split {len(unique)} patients ({e})") from None
    out = {}
    for name, part in (("train", train), ("val", val), ("test", test)):
        for x in part:
            out[x] = name
    return out


def add_split_options(p: argparse.ArgumentParser, fractions: tuple[float, float], seeds: tuple[int, int],
                      published: bool = False) -> None:
    """--split (published/random, if the release has a split), --holdout and --test-of-holdout for a
    random patient-level split; ``seeds`` are the two train_test_split seeds used unless --seed."""
    if published:
        p.add_argument("--split", choices=("published", "random"), default="published",
                       help="published: the release's own split (default); random: patient-level split")
    p.add_argument("--holdout", type=float, default=fractions[0],
                   help=f"random split: fraction of patients outside train (default {fractions[0]})")
    p.add_argument("--test-of-holdout", type=float, default=fractions[1],
                   help=f"random split: fraction of the holdout that is test (default {fractions[1]})")
    p.set_defaults(split_seeds=seeds)


# --------------------------------------------------------------------------------------------------
# Images


def resize_center_crop(img: Image.Image, size: int) -> np.ndarray:
    """Shorter side to ``size`` (aspect kept, bilinear with antialiasing), then a centred
    ``size`` x ``size`` crop, as torchvision's Resize + CenterCrop. Returns (size, size, 3) uint8."""
    img = img.convert("RGB")
    w, h = img.size
    if w <= h:
        nw, nh = size, max(size, int(size * h / w))
    else:
        nw, nh = max(size, int(size * w / h)), size
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    left = int(round((nw - size) / 2.0))
    top = int(round((nh - size) / 2.0))
    return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def to_uint8(array: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Linearly maps [lo, hi] to [0, 255], clipping outside."""
    a = np.asarray(array, dtype=np.float64)
    if hi <= lo:
        return np.zeros(a.shape, dtype=np.uint8)
    return np.clip(np.round((a - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)


def percentile_uint8(array: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Windows an intensity image to its [low, high] percentiles, then to 0..255."""
    a = np.asarray(array, dtype=np.float64)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return np.zeros(a.shape, dtype=np.uint8)
    lo, hi = np.percentile(finite, [low, high])
    return to_uint8(np.nan_to_num(a, nan=lo), lo, hi)


def open_image_file(path: Path, source: str) -> Image.Image:
    """Opens and fully decodes an image file; errors name the file and the table row."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except FileNotFoundError:
        raise PrepError(f"{source}: image {path} not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise PrepError(f"{source}: image {path} cannot be read ({e})") from None


class LazyImages:
    """Images loaded one by one when the writer asks: ``loaders[i]()`` returns a PIL image."""

    def __init__(self, loaders: list[Callable[[], Image.Image]], size: int):
        self.loaders = loaders
        self.size = size

    def __len__(self) -> int:
        return len(self.loaders)

    def batch(self, start: int, stop: int) -> np.ndarray:
        """Loads, resizes and crops images start..<stop: (k, size, size, 3) uint8."""
        return np.stack([resize_center_crop(self.loaders[i](), self.size) for i in range(start, stop)])


def file_loader(path: Path, source: str) -> Callable[[], Image.Image]:
    """A loader for :class:`LazyImages` that opens one image file (``source`` names the table row)."""
    return lambda: open_image_file(path, source)


def index_files(raw: Path, names: Iterable[str]) -> dict[str, Path]:
    """File name -> path for every wanted name found anywhere under ``raw`` (one directory walk).

    Releases unpack their images flat, in part folders or wherever the user unzipped them, so the
    images are found by name. The same name in two places is an error naming both paths, unless
    the two files are byte-identical copies (the Kaggle copy of HAM10000 ships each part twice).
    """
    wanted = set(names)
    found: dict[str, Path] = {}
    for folder, dirs, files in os.walk(raw):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name not in wanted:
                continue
            path = Path(folder) / name
            first = found.setdefault(name, path)
            if first != path and not filecmp.cmp(first, path, shallow=False):
                raise PrepError(f"{name}: found twice under --raw {raw} with different contents: "
                                f"{relative(first, raw)} and {relative(path, raw)}; keep one of them")
    return found


def folders_of(paths: Iterable[Path | None], raw: Path) -> list[str]:
    """The distinct folders (relative to ``raw``, with a trailing slash; ``./`` for ``raw`` itself)
    holding ``paths``, sorted: where the images were found, for the provenance."""
    return sorted({relative(p.parent, raw) + "/" for p in paths if p is not None})


# --------------------------------------------------------------------------------------------------
# From a table to splits


def build_splits(df: pd.DataFrame, attributes: Sequence[str], size: int, skip_missing: bool,
                 notes: dict) -> dict[str, SplitData]:
    """Turns a table with columns ``split``, ``sample_id``, ``patient_id``, ``label``, one int column
    per attribute, ``loader`` (callable) and optional ``image_path`` into per-split data.

    A row whose ``image_path`` does not exist is an error naming the row, or with ``skip_missing``
    is dropped after the split is made (so the split itself is unchanged) and counted in ``notes``.
    """
    if "image_path" in df.columns:
        exists = np.array([p is not None and Path(p).is_file() for p in df["image_path"]], dtype=bool)
        if not exists.all():
            first = int(np.flatnonzero(~exists)[0])
            if not skip_missing:
                p = df["image_path"].iloc[first]
                raise PrepError(f"{df['_source'].iloc[first]}: image "
                                f"{p if p is not None else df['_expected_image'].iloc[first]} not found "
                                f"({int((~exists).sum())} image(s) missing in all; pass --skip-missing to drop them)")
            notes["skipped_missing_images"] = int((~exists).sum())
            df = df[exists]
    out = {}
    for name in SPLITS:
        part = df[df["split"] == name]
        out[name] = SplitData(
            labels=part["label"].to_numpy(dtype=np.int64),
            attrs={a: part[a].to_numpy(dtype=np.int64) for a in attributes},
            sample_ids=[str(x) for x in part["sample_id"]],
            patient_ids=[str(x) for x in part["patient_id"]],
            images=LazyImages(list(part["loader"]), size),
        )
    return out
