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


def ham10000(root: Path, n_lesions: int = 30, seed: int = 0) -> pd.DataFrame:
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
    df.to_csv(root / "HAM10000_metadata.csv", index=False)
    for i, image_id in enumerate(df["image_id"]):
        part = "HAM10000_images_part_1" if i % 2 == 0 else "HAM10000_images_part_2"
        save_flat(root / part / f"{image_id}.jpg", colour_of(i), size=(60, 45))
    return df


def fitzpatrick17k(root: Path, n: int = 40, seed: int = 0) -> pd.DataFrame:
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
        save_flat(root / "images" / f"{h}.jpg", colour_of(i), size=(40, 56))
    return df


def papila(root: Path, n_patients: int = 30, seed: int = 0) -> pd.DataFrame:
    """Two workbooks with PAPILA's three header rows; returns one row per eye."""
    import openpyxl

    rng = np.random.default_rng(seed)
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


def ol3i(root: Path, n: int = 40, seed: int = 0) -> pd.DataFrame:
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
            f.create_dataset(key, data=np.full((40, 40), hu_of(i), dtype=np.int16))
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


def chexpert(root: Path, n_patients: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    base = root / "CheXpert-v1.0-small"
    frames = {}
    i = 0
    for part, first in (("train", 1), ("valid", 64541)):
        rows = []
        for k in range(n_patients if part == "train" else 6):
            patient = f"patient{first + k:05d}"
            for study in range(1, 2 + (k % 2)):
                for view, fl in ((1, "Frontal"), (2, "Lateral")) if k % 4 == 0 else ((1, "Frontal"),):
                    path = f"CheXpert-v1.0-small/{part}/{patient}/study{study}/view{view}_{fl.lower()}.jpg"
                    row = {"Path": path, "Sex": ["Male", "Female", "Unknown"][i % 3] if i % 7 else "Female",
                           "Age": int(rng.integers(18, 90)), "Frontal/Lateral": fl,
                           "AP/PA": "AP" if fl == "Frontal" else np.nan,
                           "No Finding": [1.0, np.nan, np.nan][i % 3]}
                    row.update({f: float(rng.choice([np.nan, 0.0, 1.0, -1.0])) for f in CHEXPERT_FINDINGS})
                    rows.append(row)
                    save_flat(root / path, grey_of(i), size=(40, 48), mode="L")
                    i += 1
        frames[part] = pd.DataFrame(rows)
        base.mkdir(parents=True, exist_ok=True)
        frames[part].to_csv(base / f"{part}.csv", index=False)
    return pd.concat(frames.values(), ignore_index=True)


def harvard_gf3300(root: Path, counts=(21, 6, 9), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    k = 1
    for folder, n in zip(("Training", "Validation", "Test"), counts):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for _ in range(n):
            thickness = float(10 * (k % 30))
            row = {"file": f"{folder}/data_{k:04d}", "glaucoma": k % 2, "age": float(rng.integers(20, 90)),
                   "male": k % 3 % 2, "race": k % 3, "thickness": thickness}
            np.savez(root / folder / f"data_{k:04d}.npz", rnflt=np.full((30, 30), thickness, dtype=np.float32),
                     glaucoma=np.array(row["glaucoma"]), age=np.array(row["age"]), male=np.array(row["male"]),
                     race=np.array(row["race"]), hispanic=np.array(0), maritalstatus=np.array(1),
                     oct_bscans=np.zeros((4, 8, 8), dtype=np.uint8))
            rows.append(row)
            k += 1
    return pd.DataFrame(rows)
