"""The two dataset checkers agree: `python -m fairtune_prep check` and `fairtune data check` give
the same verdict on the same corpus of damaged datasets, each naming the same field or file.

The rules are the list in docs/shard-format.md. Each case copies the committed tiny dataset
(Tests/Fixtures/data/tiny), damages one thing (a committed overlay of Tests/Fixtures/data/bad, or
an edit made here with json/h5py/os) and states the verdict: valid, or the field both must name.
Skipped when the release binary is missing (`make test` builds it).
"""
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
TINY = ROOT / "Tests/Fixtures/data/tiny"
BAD = ROOT / "Tests/Fixtures/data/bad"

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)")


def edit_manifest(change):
    """A case that edits manifest.json as a dict (NaN and Infinity written as Python's json does)."""
    def apply(root):
        path = root / "manifest.json"
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest, indent=1))
    return apply


def edit_shard(relative, change):
    """A case that edits one shard in place with h5py."""
    def apply(root):
        with h5py.File(root / relative, "r+") as f:
            change(f)
    return apply


def replace_with(relative, make):
    """A case that puts something else (a FIFO, a folder, a link loop) where a file was."""
    def apply(root):
        path = root / relative
        path.unlink()
        make(path)
    return apply


def overlay(name):
    """A committed bad case: files copied over tiny/, and `removed.txt` listing files to delete."""
    def apply(root):
        source = BAD / name
        for path in source.rglob("*"):
            if path.is_dir():
                continue
            relative = path.relative_to(source)
            if relative.name == "removed.txt":
                for line in path.read_text().split():
                    (root / line).unlink()
                continue
            shutil.copyfile(path, root / relative)
    return apply


def set_path(keys, value):
    def change(m):
        target = m
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


# (case name, how to damage, None for valid or the field/file both messages must name)
CASES = [
    ("pristine", lambda root: None, None),
    ("unknown top-level key", edit_manifest(set_path(["future_field"], 1)), None),
    ("no provenance", edit_manifest(lambda m: m.pop("provenance")), None),
    ("attribute_order in file order", edit_manifest(lambda m: m.__setitem__("attribute_order", list(m["attributes"]))), None),
    ("integral float count", edit_manifest(set_path(["splits", "val", "count"], 6.0)), None),
    ("NaN mean", edit_manifest(lambda m: m["normalization"]["mean"].__setitem__(0, math.nan)), "normalization.mean"),
    ("infinite std", edit_manifest(lambda m: m["normalization"]["std"].__setitem__(1, math.inf)), "normalization.std"),
    ("zero std", edit_manifest(lambda m: m["normalization"]["std"].__setitem__(2, 0)), "normalization.std"),
    ("two means", edit_manifest(set_path(["normalization", "mean"], [0.5, 0.5])), "normalization.mean"),
    ("attribute_order reordered", edit_manifest(lambda m: m.__setitem__("attribute_order", list(m["attributes"])[::-1])),
     "attribute_order"),
    ("attribute_order short", edit_manifest(lambda m: m.__setitem__("attribute_order", list(m["attributes"])[:1])),
     "attribute_order"),
    ("fractional count", edit_manifest(set_path(["splits", "train", "count"], 16.5)), "splits.train.count"),
    ("string count", edit_manifest(set_path(["splits", "train", "count"], "16")), "splits.train.count"),
    ("boolean class count", edit_manifest(lambda m: m["splits"]["val"]["class_counts"].__setitem__(0, True)),
     "splits.val.class_counts"),
    ("zero shard count", edit_manifest(set_path(["splits", "test", "shards", 0, "count"], 0)), "splits.test.shards[0].count"),
    ("extra split", edit_manifest(lambda m: m["splits"].__setitem__("extra", m["splits"]["test"])), "splits"),
    ("missing split", edit_manifest(lambda m: m["splits"].pop("test")), "splits"),
    ("renamed shard file", edit_manifest(set_path(["splits", "val", "shards", 0, "file"], "val/other.h5")),
     "splits.val.shards[0].file"),
    ("empty dataset name", edit_manifest(set_path(["dataset"], "")), "dataset"),
    ("duplicate class names", edit_manifest(set_path(["task", "classes"], ["a", "a"])), "task.classes"),
    ("empty group name", edit_manifest(set_path(["attributes", "sex", "groups"], ["", "M"])), "attributes.sex.groups"),
    ("four channels", edit_manifest(set_path(["image", "channels"], 4)), "image.channels"),
    ("null normalization", edit_manifest(set_path(["normalization"], None)), "normalization"),
    ("format version 2", edit_manifest(set_path(["format_version"], 2)), "format_version"),
    ("extra attrs dataset", edit_shard("val/shard-00000.h5", lambda f: f.create_dataset("attrs/extra", data=np.zeros(6, np.int64))),
     "extra"),
    ("split attribute", edit_shard("val/shard-00000.h5", lambda f: f.attrs.__setitem__("split", "test")), "val/shard-00000.h5"),
    ("shard_index attribute", edit_shard("train/shard-00001.h5", lambda f: f.attrs.__setitem__("shard_index", np.int64(0))),
     "train/shard-00001.h5"),
    ("shard is a FIFO", replace_with("train/shard-00001.h5", os.mkfifo), "train/shard-00001.h5"),
    ("shard is a folder", replace_with("val/shard-00000.h5", os.mkdir), "val/shard-00000.h5"),
    ("shard is a link loop", replace_with("test/shard-00000.h5", lambda p: os.symlink(p.name, p)), "test/shard-00000.h5"),
    ("manifest is a FIFO", replace_with("manifest.json", os.mkfifo), "manifest.json"),
] + [(f"committed {name}", overlay(name), field) for name, field in [
    ("class_counts", "splits.val.class_counts"),
    ("format_version", "format_version"),
    ("group_counts", "splits.test.group_counts.sex"),
    ("group_names", "attrs/"),
    ("group_out_of_range", "attrs/"),
    ("image_data", "images"),
    ("label_out_of_range", "labels"),
    ("manifest_field", "splits.val.class_counts"),
    ("missing_dataset", "labels"),
    ("missing_shard", "test/shard-00000.h5"),
    ("patient_in_two_splits", "patient"),
    ("sample_in_two_splits", "sample"),
    ("shard_count", "splits"),
    ("shard_format", "format"),
    ("truncated_shard", "shard-0000"),
    ("wrong_dtype", "labels"),
    ("wrong_image_size", "images"),
    ("wrong_rank", "labels"),
]]


def run_checkers(root):
    """(exit status, message) of the Python checker and of `fairtune data check`, with a timeout so
    a checker that blocks (on a FIFO) fails the test instead of hanging it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "data-prep")}
    python = subprocess.run([sys.executable, "-m", "fairtune_prep", "check", str(root), "--quiet"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    swift = subprocess.run([str(BINARY), "data", "check", str(root)], capture_output=True, text=True, timeout=60)
    return (python.returncode, python.stderr.strip()), (swift.returncode, swift.stderr.strip())


def test_every_committed_bad_case_is_in_the_corpus():
    committed = {p.name for p in BAD.iterdir() if p.is_dir()}
    covered = {name.removeprefix("committed ") for name, _, _ in CASES if name.startswith("committed ")}
    assert committed == covered


@pytest.mark.parametrize("name,damage,field", CASES, ids=[c[0] for c in CASES])
def test_both_checkers_give_the_same_verdict(name, damage, field, tmp_path):
    root = tmp_path / "dataset"
    shutil.copytree(TINY, root)
    damage(root)
    (python_status, python_message), (swift_status, swift_message) = run_checkers(root)
    if field is None:
        assert python_status == 0, python_message
        assert swift_status == 0, swift_message
        return
    assert python_status == 1, f"python accepted it: {python_message}"
    assert swift_status == 1, f"fairtune accepted it: {swift_message}"
    assert field in python_message, python_message
    assert field in swift_message, swift_message
