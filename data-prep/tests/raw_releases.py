"""Fabricated raw releases, laid out and named like the real ones, made at test time.

Each builder writes a few dozen small images plus the metadata files in the publisher's format and
returns the metadata rows it wrote (as the test's ground truth). Every image is one flat colour that
encodes its row (``colour_of``), so a test can tell which raw image ended up in which shard row.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from PIL import Image


def colour_of(i: int) -> tuple[int, int, int]:
    """A distinct flat colour for raw row i (far enough apart to survive JPEG)."""
    return (40 + (i * 37) % 180, 40 + (i * 71) % 180, 40 + (i * 113) % 180)


def grey_of(i: int) -> int:
    return 30 + (i * 29) % 200


def save_flat(path: Path, colour, size=(48, 36), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, quality=95)


def ham10000(root: Path, n_lesions: int = 30, seed: int = 0, metadata: str = "HAM10000_metadata.csv",
             images: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """HAM10000 with the metadata named ``metadata`` (``HAM10000_metadata`` without an extension, as
    Harvard Dataverse serves it; separated by ``sep``, default tab for .tab and comma otherwise) and the images in
    ``HAM10000_images_part_1/`` and ``_2/`` (``images`` None) or all in the folder ``images``
    relative to ``root`` ("" = flat at the top, as Dataverse's two zips unpack)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    dx = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    rows = []
    for lesion in range(n_lesions):
        for _ in range(1 + (lesion % 3 == 0)):
            i = len(rows)
            age = float(rng.choice([5, 15, 25, 45, 55, 60, 65, 75, 85]))
            rows.append({"lesion_id": f"HAM_{lesion:07d}", "image_id": f"ISIC_{24306 + i:07d}",
                         "dx": dx[i % 7], "dx_type": "histo", "age": np.nan if i == 3 else age,
                         "sex": ["male", "female", "unknown"][i % 3] if i != 5 else np.nan,
                         "localization": "back", "dataset": "vidir_modern"})
    df = pd.DataFrame(rows)
    df.to_csv(root / metadata, index=False, sep=sep or ("\t" if metadata.endswith(".tab") else ","))
    for i, image_id in enumerate(df["image_id"]):
        part = ("HAM10000_images_part_1" if i % 2 == 0 else "HAM10000_images_part_2") if images is None else images
        save_flat(root / part / f"{image_id}.jpg", colour_of(i), size=(60, 45))
    return df


def fitzpatrick17k(root: Path, n: int = 40, seed: int = 0, image_dir: str = "images") -> pd.DataFrame:
    """Fitzpatrick17k's CSV and its images ``<md5hash>.jpg`` in ``image_dir`` (MEDFAIR's ``images``, or
    ``data/finalfitz17k`` as the authors' download form delivers them)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    parts = ["benign", "malignant", "non-neoplastic"]
    rows = []
    for i in range(n):
        md5 = f"{rng.integers(0, 2**63):016x}{i:016x}"
        rows.append({"md5hash": md5, "fitzpatrick_scale": [-1, 1, 2, 3, 4, 5, 6][i % 7],
                     "fitzpatrick_centaur": 2, "label": "psoriasis", "nine_partition_label": "inflammatory",
                     "three_partition_label": parts[i % 3], "qc": "", "url": f"https://example.org/{md5}.jpg",
                     "url_alphanum": f"httpsexampleorg{md5}jpg"})
    df = pd.DataFrame(rows)
    df.to_csv(root / "fitzpatrick17k.csv", index=False)
    for i, h in enumerate(df["md5hash"]):
        save_flat(root / image_dir / f"{h}.jpg", colour_of(i), size=(40, 56))
    return df


def papila(root: Path, n_patients: int = 30, seed: int = 0, folder: str = "") -> pd.DataFrame:
    """Two workbooks with PAPILA's three header rows; returns one row per eye. ``folder``: the
    release's own folder inside ``root`` (figshare's zip unpacks to ``PapilaDB-PAPILA-<hash>``)."""
    import openpyxl

    rng = np.random.default_rng(seed)
    root = root / folder
    root.mkdir(parents=True, exist_ok=True)
    ids = [f"#{k:03d}" for k in sorted(rng.choice(np.arange(2, 500), n_patients, replace=False))]
    ages = rng.integers(15, 90, n_patients)
    genders = rng.integers(0, 2, n_patients)
    out = []
    for eye in ("OD", "OS"):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append([None, "Age", "Gender", "Diagnosis", "Refractive_Defect", None, None, "Phakic/Pseudophakic",
                   "IOP", None, "Pachymetry", "Axial_Length", "VF_MD"])
        ws.append(["ID", None, None, None, None, None, None, None, None, None, None, None, None])
        ws.append([None, None, None, None, "dioptre_1", "dioptre_2", "astigmatism", None, "Pneumatic",
                   "Perkins", None, None, None])
        ws.merge_cells("E1:G1")
        ws.merge_cells("I1:J1")
        for k, pid in enumerate(ids):
            diagnosis = [0, 1, 2, 0, 1][(k + (eye == "OS")) % 5]
            ws.append([pid, int(ages[k]), int(genders[k]), diagnosis, -1.5, 0.5, 90, 0, 14, 15, 540, 23.5, None])
            out.append({"ID": pid, "eye": eye, "Age": int(ages[k]), "Gender": int(genders[k]),
                        "Diagnosis": diagnosis})
        (root / "ClinicalData").mkdir(parents=True, exist_ok=True)
        wb.save(root / "ClinicalData" / f"patient_data_{eye.lower()}.xlsx")
    df = pd.DataFrame(out)
    for i, (pid, eye) in enumerate(zip(df["ID"], df["eye"])):
        save_flat(root / "FundusImages" / f"RET{pid[1:]}{eye}.jpg", colour_of(i), size=(64, 43))
    return df


def ol3i(root: Path, n: int = 40, seed: int = 0, values: str = "hu") -> pd.DataFrame:
    """OL3I's clinical CSV and l3_slices.h5 with flat slices whose value encodes the row: ``values``
    "hu" (int16 Hounsfield units, ``hu_of``), "hu_float" (the same as float32), "8bit" (uint8 grey
    levels, ``grey_of``) or "offset" (uint16 HU + 1024, a range that is neither)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    sets = ["train"] * 6 + ["val", "test"]
    rows = [{"anon_id": f"{rng.integers(0, 2**40):010x}", "label_1y": int(i % 4 == 0),
             "label_5y": np.nan if i % 5 == 0 else int(i % 3 == 0), "set_1y": sets[i % 8],
             "set_5y": sets[(i + 1) % 8], "age": int(rng.integers(30, 90)), "sex": ["Male", "Female"][i % 2],
             "bmi": 27.0, "smoker": 0} for i in range(n)]
    df = pd.DataFrame(rows)
    df.to_csv(root / "clinical_data.csv", index=False)
    with h5py.File(root / "l3_slices.h5", "w") as f:
        for i, key in enumerate(df["anon_id"]):
            if values == "8bit":
                data = np.full((40, 40), grey_of(i), dtype=np.uint8)
            else:
                data = np.full((40, 40), hu_of(i), dtype=np.int16)
                if values == "offset":
                    data = (data.astype(np.int32) + 1024).astype(np.uint16)
                elif values == "hu_float":
                    data = data.astype(np.float32)
            f.create_dataset(key, data=data)
    return df


def hu_of(i: int) -> int:
    return -240 + (i * 53) % 480


def oasis1(root: Path, n_subjects: int = 36, seed: int = 0) -> pd.DataFrame:
    import nibabel as nib

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(n_subjects):
        cdr = [np.nan, 0.0, 0.0, 0.5, 1.0, 2.0][k % 6]
        rows.append({"ID": f"OAS1_{k + 1:04d}_MR1", "M/F": "MF"[k % 2], "Hand": "R",
                     "Age": int(rng.integers(20, 95)), "Educ": 3, "SES": 2, "MMSE": 29, "CDR": cdr,
                     "eTIV": 1500, "nWBV": 0.75, "ASF": 1.1, "Delay": np.nan})
        if k % 9 == 0:
            rows.append({**rows[-1], "ID": f"OAS1_{k + 1:04d}_MR2", "Delay": 20})
    df = pd.DataFrame(rows)
    df.to_csv(root / "oasis_cross-sectional.csv", index=False)
    for i, sid in enumerate(df["ID"]):
        folder = root / f"disc{1 + i // 20}" / sid / "PROCESSED" / "MPRAGE" / "T88_111"
        folder.mkdir(parents=True, exist_ok=True)
        vol = np.zeros((16, 20, 12, 1), dtype=np.int16)
        vol[3:13, 4:16, :, 0] = 100 + i  # a bright box, the "brain"
        for suffix in ("t88_masked_gfc", "t88_gfc"):
            nib.save(nib.AnalyzeImage(vol, np.eye(4)), folder / f"{sid}_mpr_n4_anon_111_{suffix}.hdr")
    return df


CHEXPERT_FINDINGS = ["Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
                     "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
                     "Pleural Other", "Fracture", "Support Devices"]


# The full-size release as Stanford AIMI serves it: four zips, each unpacked into a folder of its name.
CHEXPERT_BATCHES = ("CheXpert-v1.0 batch 1 (validate & csv)", "CheXpert-v1.0 batch 2 (train 1)",
                    "CheXpert-v1.0 batch 3 (train 2)", "CheXpert-v1.0 batch 4 (train 3)")


def chexpert(root: Path, n_patients: int = 30, seed: int = 0, release: str = "small") -> pd.DataFrame:
    """CheXpert's train.csv/valid.csv and images. ``release`` "small": CheXpert-v1.0-small/ as its
    zip unpacks; "batches": the full CheXpert-v1.0 as four batch folders, the CSVs and valid/ in
    batch 1 and the train patients' folders spread over batches 2-4. Some rows have Age 0, as
    three rows of the real small release do."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    name = "CheXpert-v1.0-small" if release == "small" else "CheXpert-v1.0"
    csv_dir = root / name if release == "small" else root / CHEXPERT_BATCHES[0]
    frames = {}
    i = 0
    for part, first in (("train", 1), ("valid", 64541)):
        rows = []
        for k in range(n_patients if part == "train" else 6):
            patient = f"patient{first + k:05d}"
            if release == "small":
                folder = root / name / part
            elif part == "valid":
                folder = root / CHEXPERT_BATCHES[0] / "valid"
            else:
                folder = root / CHEXPERT_BATCHES[1 + k % 3]
            for study in range(1, 2 + (k % 2)):
                for view, fl in ((1, "Frontal"), (2, "Lateral")) if k % 4 == 0 else ((1, "Frontal"),):
                    tail = f"{patient}/study{study}/view{view}_{fl.lower()}.jpg"
                    row = {"Path": f"{name}/{part}/{tail}",
                           "Sex": ["Male", "Female", "Unknown"][i % 3] if i % 7 else "Female",
                           "Age": 0 if i % 13 == 6 else int(rng.integers(18, 90)), "Frontal/Lateral": fl,
                           "AP/PA": "AP" if fl == "Frontal" else np.nan,
                           "No Finding": [1.0, np.nan, np.nan][i % 3]}
                    row.update({f: float(rng.choice([np.nan, 0.0, 1.0, -1.0])) for f in CHEXPERT_FINDINGS})
                    rows.append(row)
                    save_flat(folder / tail, grey_of(i), size=(40, 48), mode="L")
                    i += 1
        frames[part] = pd.DataFrame(rows)
        csv_dir.mkdir(parents=True, exist_ok=True)
        frames[part].to_csv(csv_dir / f"{part}.csv", index=False)
    return pd.concat(frames.values(), ignore_index=True)


# PRIMARY_RACE values as CHEXPERT DEMO.xlsx spells them, with the group the prepared race attribute
# should give them (0 White, 1 non-White, -1 unknown).
CHEXPERT_RACES = (("White", 0), ("White, non-Hispanic", 0), ("Black or African American", 1), ("Asian", 1),
                  ("Other", 1), ("Unknown", -1), ("Patient Refused", -1), ("White, Hispanic", 0),
                  ("Native Hawaiian or Other Pacific Islander", 1), (None, -1))


def chexpert_demographics(path: Path, patients: list[str]) -> dict[str, int]:
    """CHEXPERT DEMO.xlsx (PATIENT, GENDER, AGE_AT_CXR, PRIMARY_RACE, ETHNICITY) for every patient but
    each fifth; returns the race group expected for each patient (-1 for those without a row)."""
    rows, expected = [], {}
    for k, patient in enumerate(sorted(set(patients))):
        race, group = CHEXPERT_RACES[k % len(CHEXPERT_RACES)]
        expected[patient] = -1 if k % 5 == 4 else group
        if k % 5 != 4:
            rows.append({"PATIENT": patient, "GENDER": ["Male", "Female"][k % 2], "AGE_AT_CXR": 40 + k % 50,
                         "PRIMARY_RACE": race, "ETHNICITY": ["Non-Hispanic/Non-Latino", "Hispanic/Latino"][k % 2]})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_excel(path, index=False, engine="openpyxl")
    return expected


# Harvard-GF3300's race as the .npz files store it (text), by the README's code.
GF_RACES = ("Asian", "Black or African American", "White or Caucasian")


def harvard_gf3300(root: Path, counts=(21, 6, 9), seed: int = 0, races: str = "numbers", side: int = 30,
                   folder: str = "") -> pd.DataFrame:
    """Harvard-GF3300's Training/Validation/Test folders of data_NNNN.npz under ``root/folder`` (the
    Hugging Face dataset.zip nests them); ``races`` "numbers" (0/1/2 as the README says) or "text"
    (as the files store them); ``side``: the rnflt map's size (200 in the release)."""
    rng = np.random.default_rng(seed)
    root = root / folder
    rows = []
    k = 1
    for split, n in zip(("Training", "Validation", "Test"), counts):
        (root / split).mkdir(parents=True, exist_ok=True)
        for _ in range(n):
            thickness = float(10 * (k % 30))
            row = {"file": f"{split}/data_{k:04d}", "glaucoma": k % 2, "age": float(rng.integers(20, 90)),
                   "male": k % 3 % 2, "race": k % 3, "thickness": thickness}
            race = np.array(GF_RACES[row["race"]]) if races == "text" else np.array(row["race"])
            np.savez(root / split / f"data_{k:04d}.npz", rnflt=np.full((side, side), thickness, dtype=np.float32),
                     glaucoma=np.array(row["glaucoma"]), age=np.array(row["age"]), male=np.array(row["male"]),
                     race=race, hispanic=np.array(k % 4 == 0, dtype=np.int64), maritalstatus=np.array(1),
                     language=np.array(0), md=np.array(-1.5), tds=np.zeros(52, dtype=np.float32),
                     oct_bscans=np.zeros((4, 8, 8), dtype=np.uint8))
            rows.append(row)
            k += 1
    return pd.DataFrame(rows)
