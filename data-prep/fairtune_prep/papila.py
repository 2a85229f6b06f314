"""PAPILA (fundus photographs, glaucoma), as MEDFAIR's notebook prepares it.

Raw release (figshare): ``ClinicalData/patient_data_od.xlsx`` and ``patient_data_os.xlsx``, one row
per patient and eye, under a header of several rows (merged cells: a top row with Age, Gender,
Diagnosis, ..., an "ID" row, a row of sub-headings); patient ids look like ``#002``. Images:
``FundusImages/RET002OD.jpg`` / ``RET002OS.jpg``. --raw may be the release folder or the folder
figshare's zip unpacks into (``PapilaDB-PAPILA-<hash>/`` inside it).

One sample per eye. Gender 0 = male, 1 = female. Diagnosis 0 healthy, 1 glaucoma; 2 (suspect) is
dropped. Split: unique patient ids, train_test_split 0.3 random_state 5, then the 30% with
test_size 0.66 random_state 15, whose first part is val (about 70/10/20 by patient).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (AGE_MULTI_GROUPS, SEX_GROUPS, Prepared, age_binary, age_groups_binary, age_multi,
                      build_splits, file_loader, map_values, medfair_split, numeric_column, relative)
from ._shards import Attribute, DatasetSpec
from .errors import PrepError

NAME = "papila"
HELP = "PAPILA fundus glaucoma (MEDFAIR labels, patient-level ~70/10/20 split)"
SHEETS = (("OD", "ClinicalData/patient_data_od.xlsx"), ("OS", "ClinicalData/patient_data_os.xlsx"))
ID_PATTERN = re.compile(r"^#?\s*(\d+)$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """This dataset's own options (the common ones are added by the CLI)."""
    p.add_argument("--age-threshold", type=float, default=60,
                   help="age_binary: <= threshold is group 0 (default 60, MEDFAIR)")


def _norm_id(v) -> str | None:
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and float(v).is_integer()):
        return f"#{int(v):03d}"
    if isinstance(v, str):
        m = ID_PATTERN.match(v.strip())
        if m:
            return f"#{int(m.group(1)):03d}"
    return None


def read_clinical(path: Path, raw: Path, eye: str) -> pd.DataFrame:
    """One PAPILA sheet -> columns ID, Age, Gender, Diagnosis, eye, _source."""
    rel = relative(path, raw)
    if not path.is_file():
        raise PrepError(f"{rel}: file not found under --raw {raw}")
    try:
        sheet = pd.read_excel(path, header=None, engine="openpyxl")
    except Exception as e:  # openpyxl raises many types for a damaged workbook
        raise PrepError(f"{rel}: cannot be read as an Excel workbook ({e})") from None
    cols: dict[str, int] = {}
    first_data = None
    for r in range(min(len(sheet), 10)):
        row = sheet.iloc[r].tolist()
        for c, v in enumerate(row):
            if isinstance(v, str) and v.strip().lower() in ("id", "age", "gender", "diagnosis"):
                cols.setdefault(v.strip().capitalize() if v.strip().lower() != "id" else "ID", c)
        if _norm_id(row[cols.get("ID", 0)]) is not None:
            first_data = r
            break
    missing = [c for c in ("Age", "Gender", "Diagnosis") if c not in cols]
    if missing:
        raise PrepError(f"{rel}: header rows lack column(s) {missing} (expected Age, Gender, Diagnosis "
                        f"in the first rows, patient ids like #002 below them)")
    if first_data is None:
        raise PrepError(f"{rel}: no patient rows (ids like #002) below the header")
    id_col = cols.get("ID", 0)
    rows = []
    for r in range(first_data, len(sheet)):
        v = sheet.iat[r, id_col]
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        pid = _norm_id(v)
        if pid is None:
            raise PrepError(f"{rel} row {r + 1}: ID {v!r} is not a patient id like #002")
        rows.append({"ID": pid, "Age": sheet.iat[r, cols["Age"]], "Gender": sheet.iat[r, cols["Gender"]],
                     "Diagnosis": sheet.iat[r, cols["Diagnosis"]], "eye": eye,
                     "_source": f"{rel} row {r + 1}"})
    return pd.DataFrame(rows)


def _root(raw: Path) -> Path:
    """--raw itself if it holds ClinicalData/, else its one subfolder that does (figshare's zip
    unpacks to PapilaDB-PAPILA-<hash>/)."""
    if (raw / "ClinicalData").is_dir():
        return raw
    inside = sorted(d for d in raw.iterdir() if (d / "ClinicalData").is_dir())
    if len(inside) == 1:
        return inside[0]
    if len(inside) > 1:
        raise PrepError(f"--raw {raw}: several PAPILA releases ({', '.join(d.name for d in inside)}); "
                        f"pass one of them as --raw")
    raise PrepError(f"--raw {raw}: expected ClinicalData/ and FundusImages/ in that folder or in one "
                    f"subfolder (figshare's zip unpacks to PapilaDB-PAPILA-<hash>/)")


def prepare(args) -> Prepared:
    """Reads the release under ``args.raw`` and returns the spec and the three splits to write."""
    raw = _root(args.raw)
    df = pd.concat([read_clinical(raw / p, raw, eye) for eye, p in SHEETS], ignore_index=True)
    diagnosis = map_values(df, "Diagnosis", {0: 0, 1: 1, 2: 2, 0.0: 0, 1.0: 1, 2.0: 2}, "Diagnosis")
    df["label"] = diagnosis
    df = df[diagnosis != 2].copy()
    df["sex"] = map_values(df, "Gender", {0: 0, 1: 1}, "Gender (0 male, 1 female)")
    age = numeric_column(df, "Age", "age")
    if np.isnan(age).any():
        raise PrepError(f"{df['_source'].iloc[int(np.flatnonzero(np.isnan(age))[0])]}: column 'Age' is empty")
    df["age_binary"] = age_binary(age, args.age_threshold)
    df["age_multi"] = age_multi(age)
    seeds = (5, 15) if args.seed is None else (args.seed, args.seed)
    where = medfair_split(df["ID"].to_numpy(dtype=str), 0.3, seeds[0], 0.66, seeds[1])
    df["split"] = [where[x] for x in df["ID"]]
    df["sample_id"] = ["RET" + i[1:] + e for i, e in zip(df["ID"], df["eye"])]
    df["patient_id"] = df["ID"]
    df["_expected_image"] = ["FundusImages/" + s + ".jpg" for s in df["sample_id"]]
    df["image_path"] = [raw / p for p in df["_expected_image"]]
    df["loader"] = [file_loader(p, s) for p, s in zip(df["image_path"], df["_source"])]
    attrs = (Attribute("sex", SEX_GROUPS), Attribute("age_binary", age_groups_binary(args.age_threshold)),
             Attribute("age_multi", AGE_MULTI_GROUPS))
    spec = DatasetSpec(NAME, "glaucoma", ("healthy", "glaucoma"), attrs, args.size, args.size,
                       args.normalization or "imagenet")
    notes: dict = {}
    splits = build_splits(df, [a.name for a in attrs], args.size, args.skip_missing, notes)
    prefix = "" if raw == args.raw else raw.name + "/"
    return Prepared(spec, splits, [prefix + p for _, p in SHEETS] + [prefix + "FundusImages/"], notes)
