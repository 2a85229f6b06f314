"""An independent reader of prepared datasets for the tests: plain h5py and json, no fairtune_prep code."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np


def read_prepared(root: Path) -> tuple[dict, dict[str, dict]]:
    """(manifest, {split: {labels, attrs{name}, sample_ids, patient_ids, mean_colour (N, 3)}})."""
    manifest = json.loads((root / "manifest.json").read_text())
    out = {}
    for split, info in manifest["splits"].items():
        parts = []
        for sh in info["shards"]:
            with h5py.File(root / sh["file"], "r") as f:
                parts.append({
                    "labels": f["labels"][()],
                    "attrs": {k: f["attrs"][k][()] for k in f["attrs"]},
                    "sample_ids": [s.decode() for s in f["ids/sample"][()]],
                    "patient_ids": [s.decode() for s in f["ids/patient"][()]],
                    "mean_colour": f["images"][()].reshape(len(f["labels"]), -1, 3).mean(axis=1),
                    "images": f["images"][()],
                })
        out[split] = {
            "labels": np.concatenate([p["labels"] for p in parts]),
            "attrs": {k: np.concatenate([p["attrs"][k] for p in parts]) for k in parts[0]["attrs"]},
            "sample_ids": sum((p["sample_ids"] for p in parts), []),
            "patient_ids": sum((p["patient_ids"] for p in parts), []),
            "mean_colour": np.concatenate([p["mean_colour"] for p in parts]),
            "images": np.concatenate([p["images"] for p in parts]),
        }
    return manifest, out
