"""Your own dataset: any table (CSV, TSV or Excel) of image paths with labels, patients and groups.

One row per image. ``--image-column`` holds the image's path relative to ``--images`` (an absolute
path is used as is), ``--label-column`` the class, ``--patient-column`` the split unit (no patient
is ever in two splits), each ``--group-column`` a sensitive attribute.

Classes: the distinct label values sorted (numerically if every value is a number, else as text),
so label k is the k-th of them; ``--classes a,b`` fixes the names and their order instead (any
other value is an error). Groups: the distinct values of the column sorted the same way; an empty
cell is group -1 (unknown). Split: ``--split-column`` (train, val/valid/validation, test; any case)
or a random patient-level split ``--split TRAIN,VAL,TEST`` (default 0.8,0.1,0.1, seed ``--seed``,
default 0). Every bad row is an error naming the file, the row and the column.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import Prepared, build_splits, file_loader, map_values, medfair_split, read_csv, require_columns
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "csv"
HELP = "your own dataset: a CSV/TSV/XLSX table of image paths, labels, patients and groups"
SPLIT_VALUES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
# Columns the writer's table uses itself; an attribute may not take one of these names.
RESERVED = ("split", "sample_id", "patient_id", "label", "loader", "image_path", "_source", "_expected_image")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This command's own options (the common ones are added by the CLI)."""
    p.add_argument("--table", type=Path, required=True,
                   help="the table: .csv, .tsv/.tab (tab-separated) or .xlsx (first sheet), header in the first row")
    p.add_argument("--images", type=Path, required=True, help="folder the image paths are relative to")
    p.add_argument("--image-column", required=True, help="column of image paths (also the sample ids)")
    p.add_argument("--label-column", required=True, help="column of class labels")
    p.add_argument("--patient-column", required=True, help="column of patient ids: the split unit")
    p.add_argument("--group-column", action="append", default=[], metavar="NAME",
                   help="a sensitive attribute column (repeat for several); empty cells are unknown (-1)")
    p.add_argument("--classes", help="class names in label order, comma-separated "
                                     "(default: the distinct labels, sorted)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--split-column", help="column saying train, val (or valid, validation) or test per row")
    split.add_argument("--split", default="0.8,0.1,0.1",
                       help="random patient-level split: fractions TRAIN,VAL,TEST (default 0.8,0.1,0.1)")
    p.add_argument("--name", help="dataset name in the manifest (default: the table's file name)")
    p.add_argument("--task", help="task name in the manifest (default: the label column's name)")
    p.add_argument("--skip-missing", action="store_true",
                   help="drop rows whose image file is missing (after the split is made) instead of failing")


def read_table(path: Path) -> pd.DataFrame:
    """Every cell as a stripped string ("" when empty) plus ``_source`` ("FILE line N" / "FILE row N")."""
    if not path.is_file():
        raise PrepError(f"--table {path}: file not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
        except Exception as e:  # openpyxl raises many types for a damaged workbook
            raise PrepError(f"{path.name}: cannot be read as an Excel workbook ({e})") from None
        df.columns = [str(c).lstrip("\ufeff").strip() for c in df.columns]
        # Excel's row numbers: the header is row 1.
        df["_source"] = [f"{path.name} row {i + 2}" for i in range(len(df))]
    else:
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        df = read_csv(path, [], path.parent, sep=sep, text=True)
    for c in df.columns:
        if c != "_source":
            df[c] = df[c].astype(str).str.strip()
    return df


def sorted_values(values) -> list[str]:
    """Distinct non-empty values, in numeric order if all are finite numbers, else in text order."""
    distinct = sorted({v for v in values if v})
    try:
        numbers = [float(v) for v in distinct]
    except ValueError:
        return distinct
    if not all(math.isfinite(x) for x in numbers):
        return distinct
    return [v for _, v in sorted(zip(numbers, distinct))]


def class_names(df: pd.DataFrame, column: str, option: str | None) -> tuple[str, ...]:
    """``--classes`` as given, else the sorted distinct labels; at least two either way."""
    if option is not None:
        names = [x.strip() for x in option.split(",")]
        if len(names) < 2 or not all(names) or len(set(names)) != len(names):
            raise PrepError(f"--classes {option!r}: expected at least 2 distinct non-empty names, comma-separated")
        return tuple(names)
    names = sorted_values(df[column])
    if len(names) < 2:
        raise PrepError(f"{df['_source'].iloc[0]}: column '{column}': every row has the label {names}; "
                        f"a classifier needs at least 2 classes")
    return tuple(names)


def require_cells(df: pd.DataFrame, column: str, what: str) -> None:
    """An empty cell in ``column`` is an error naming the row."""
    empty = np.flatnonzero((df[column] == "").to_numpy())
    if empty.size:
        raise PrepError(f"{df['_source'].iloc[int(empty[0])]}: column '{column}': empty {what} "
                        f"({empty.size} row(s) in all)")


def require_unique(df: pd.DataFrame, column: str) -> None:
    """The same image twice is an error naming both rows."""
    first: dict[str, str] = {}
    for value, source in zip(df[column], df["_source"]):
        other = first.setdefault(value, source)
        if other != source:
            raise PrepError(f"{source}: column '{column}': image '{value}' is also listed at {other}; "
                            f"each image may occur once")


def split_from_column(df: pd.DataFrame, column: str, patients: str) -> list[str]:
    """train/val/test per row from ``column``; a patient in two splits is an error naming both rows."""
    out = []
    owner: dict[str, tuple[str, str]] = {}
    for value, patient, source in zip(df[column], df[patients], df["_source"]):
        split = SPLIT_VALUES.get(value.lower())
        if split is None:
            raise PrepError(f"{source}: column '{column}': unknown split {value!r}; expected train, val "
                            f"(or valid, validation) or test")
        other_split, other_source = owner.setdefault(patient, (split, source))
        if other_split != split:
            raise PrepError(f"{source}: column '{column}': patient '{patient}' is in '{split}' here but in "
                            f"'{other_split}' at {other_source}; a patient must be in one split only")
        out.append(split)
    return out


def split_at_random(df: pd.DataFrame, patients: str, option: str, seed: int) -> list[str]:
    """A patient-level split with fractions TRAIN,VAL,TEST (scikit-learn's train_test_split twice)."""
    try:
        train, val, test = (float(x) for x in option.split(","))
    except ValueError:
        raise PrepError(f"--split {option!r}: expected three fractions TRAIN,VAL,TEST such as 0.8,0.1,0.1") from None
    if min(train, val, test) <= 0 or abs(train + val + test - 1) > 1e-6:
        raise PrepError(f"--split {option!r}: the three fractions must be positive and sum to 1")
    where = medfair_split(df[patients].to_numpy(dtype=str), val + test, seed, test / (val + test), seed)
    return [where[p] for p in df[patients]]


def group_attribute(df: pd.DataFrame, column: str) -> tuple[Attribute, np.ndarray]:
    """One attribute from a column: groups = its sorted distinct values, empty = -1."""
    if "/" in column or column in RESERVED or column in (".", ""):
        raise PrepError(f"--group-column {column!r}: cannot be an attribute name (no '/', and none of "
                        f"{list(RESERVED)}); rename the column")
    groups = sorted_values(df[column])
    if not groups:
        raise PrepError(f"{df['_source'].iloc[0]}: column '{column}': empty in every row")
    ids = {g: i for i, g in enumerate(groups)}
    return Attribute(column, tuple(groups)), np.array([ids.get(v, -1) for v in df[column]], dtype=np.int64)


def prepare(args) -> Prepared:
    """Reads the table and returns the spec and the three splits to write."""
    df = read_table(args.table)
    columns = [args.image_column, args.label_column, args.patient_column, *args.group_column]
    if args.split_column:
        columns.append(args.split_column)
    require_columns(df, columns, args.table.name)
    if len(df) == 0:
        raise PrepError(f"{args.table.name}: no rows below the header")
    require_cells(df, args.image_column, "image path")
    require_cells(df, args.label_column, "label")
    require_cells(df, args.patient_column, "patient id")
    require_unique(df, args.image_column)
    classes = class_names(df, args.label_column, args.classes)
    attributes, values = [], {}
    for column in dict.fromkeys(args.group_column):
        attribute, values[column] = group_attribute(df, column)
        attributes.append(attribute)
    if args.split_column:
        split = split_from_column(df, args.split_column, args.patient_column)
    else:
        split = split_at_random(df, args.patient_column, args.split, 0 if args.seed is None else args.seed)
    rows = pd.DataFrame({"_source": df["_source"], "split": split, "sample_id": df[args.image_column],
                         "patient_id": df[args.patient_column],
                         "label": map_values(df, args.label_column, {c: i for i, c in enumerate(classes)}, "label"),
                         **values})
    rows["image_path"] = [args.images / p for p in df[args.image_column]]
    rows["loader"] = [file_loader(p, s) for p, s in zip(rows["image_path"], rows["_source"])]
    spec = DatasetSpec(args.name or args.table.stem, args.task or args.label_column, classes, tuple(attributes),
                       args.size, args.size, args.normalization or "imagenet")
    notes: dict = {}
    splits = build_splits(rows, [a.name for a in attributes], args.size, args.skip_missing, notes)
    return Prepared(spec, splits, [args.table.name, str(args.images)], notes)


def inputs(args) -> list[Path]:
    """What the command reads, so that ``--force`` never replaces it."""
    return [args.table, args.images]
