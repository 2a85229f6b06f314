"""``check`` catches each kind of corruption, naming the file and field, with a non-zero exit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from fairtune_prep import cli
from fairtune_prep._shards import check_dataset
from fairtune_prep.errors import PrepError


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("check") / "syn"
    assert cli.main(["synthetic", "--out", str(out), "--train", "60", "--val", "30", "--test", "30",
                     "--shard-size", "25", "--quiet"]) == 0
    return out


@pytest.fixture
def dataset(pristine, tmp_path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(pristine, copy)
    return copy


def expect_failure(root: Path, capsys, *needles: str) -> None:
    with pytest.raises(PrepError) as err:
        check_dataset(root)
    for n in needles:
        assert n in str(err.value), str(err.value)
    assert cli.main(["check", str(root), "--quiet"]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: ") and needles[0] in stderr


def edit_manifest(root: Path, change) -> None:
    m = json.loads((root / "manifest.json").read_text())
    change(m)
    (root / "manifest.json").write_text(json.dumps(m))


def test_pristine_dataset_passes_and_prints_table(pristine, capsys):
    assert cli.main(["check", str(pristine), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "split  attribute  group" in out and "minority" in out and out.rstrip().endswith("dataset")


def test_wrong_dtype(dataset, capsys):
    with h5py.File(dataset / "train/shard-00001.h5", "a") as f:
        labels = f["labels"][()]
        del f["labels"]
        f.create_dataset("labels", data=labels.astype(np.int32))
    expect_failure(dataset, capsys, "train/shard-00001.h5", "labels", "expected int64, found int32")


def test_wrong_image_dtype(dataset, capsys):
    with h5py.File(dataset / "val/shard-00000.h5", "a") as f:
        images = f["images"][()]
        del f["images"]
        f.create_dataset("images", data=images.astype(np.float32))
    expect_failure(dataset, capsys, "val/shard-00000.h5", "images", "expected uint8")


def test_label_out_of_range(dataset, capsys):
    with h5py.File(dataset / "test/shard-00000.h5", "a") as f:
        f["labels"][3] = 2
    expect_failure(dataset, capsys, "test/shard-00000.h5", "labels", "value 2 at row 3 outside [0, 2)")


def test_group_out_of_range(dataset, capsys):
    with h5py.File(dataset / "train/shard-00000.h5", "a") as f:
        f["attrs/group"][0] = -2
    expect_failure(dataset, capsys, "train/shard-00000.h5", "attrs/group", "value -2 at row 0")


def test_group_names_differ(dataset, capsys):
    with h5py.File(dataset / "train/shard-00002.h5", "a") as f:
        f["attrs/group"].attrs.create("groups", ["minority", "majority"], dtype=h5py.string_dtype())
    expect_failure(dataset, capsys, "train/shard-00002.h5", "attrs/group attribute 'groups'")


def test_shard_count_mismatch(dataset, capsys):
    edit_manifest(dataset, lambda m: m["splits"]["train"]["shards"][0].update(count=24))
    expect_failure(dataset, capsys, "manifest.json", "splits.train.count", "shard counts sum to 59")


def test_class_counts_mismatch(dataset, capsys):
    def change(m):
        cc = m["splits"]["val"]["class_counts"]
        cc[0], cc[1] = cc[0] - 1, cc[1] + 1
        for g in m["splits"]["val"]["group_counts"].values():
            g["by_class"][0][0] -= 1
            g["by_class"][1][0] += 1
    edit_manifest(dataset, change)
    expect_failure(dataset, capsys, "manifest.json", "splits.val.class_counts", "shards hold")


def test_group_counts_mismatch(dataset, capsys):
    def change(m):
        g = m["splits"]["test"]["group_counts"]["marker"]["by_class"][1]
        g[0], g[1] = g[0] + 1, g[1] - 1
    edit_manifest(dataset, change)
    expect_failure(dataset, capsys, "manifest.json", "splits.test.group_counts.marker", "shards hold")


def test_patient_in_two_splits(dataset, capsys):
    with h5py.File(dataset / "train/shard-00000.h5", "r") as f:
        leaked = f["ids/patient"][5]
    with h5py.File(dataset / "val/shard-00001.h5", "a") as f:
        f["ids/patient"][0] = leaked
    expect_failure(dataset, capsys, "val/shard-00001.h5", "ids/patient", "also in split 'train'")


def test_sample_id_twice(dataset, capsys):
    with h5py.File(dataset / "train/shard-00000.h5", "r") as f:
        dup = f["ids/sample"][1]
    with h5py.File(dataset / "train/shard-00002.h5", "a") as f:
        f["ids/sample"][0] = dup
    expect_failure(dataset, capsys, "train/shard-00002.h5", "ids/sample", "also occurs in train")


def test_truncated_shard(dataset, capsys):
    path = dataset / "train/shard-00001.h5"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    expect_failure(dataset, capsys, "train/shard-00001.h5", "truncated or corrupt")


def test_missing_shard(dataset, capsys):
    (dataset / "test/shard-00001.h5").unlink()
    expect_failure(dataset, capsys, "test/shard-00001.h5", "missing")


def test_unknown_format_version(dataset, capsys):
    edit_manifest(dataset, lambda m: m.update(format_version=2))
    expect_failure(dataset, capsys, "manifest.json", "format_version", "expected 1, found 2")


def test_shard_format_attribute(dataset, capsys):
    with h5py.File(dataset / "val/shard-00000.h5", "a") as f:
        f.attrs["format_version"] = np.int64(7)
    expect_failure(dataset, capsys, "val/shard-00000.h5", "format_version", "expected 1, found 7")


def test_attribute_dataset_missing(dataset, capsys):
    with h5py.File(dataset / "test/shard-00000.h5", "a") as f:
        del f["attrs/marker"]
    expect_failure(dataset, capsys, "test/shard-00000.h5", "attrs/marker", "dataset missing")


def test_image_size_differs_from_manifest(dataset, capsys):
    edit_manifest(dataset, lambda m: m["image"].update(height=64, width=64))
    expect_failure(dataset, capsys, "train/shard-00000.h5", "images", "expected (N, 64, 64, 3)")


def test_attribute_order_disagrees(dataset, capsys):
    edit_manifest(dataset, lambda m: m.update(attribute_order=["marker", "group"]))
    expect_failure(dataset, capsys, "manifest.json", "attribute_order")


def test_not_a_dataset(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path), "--quiet"]) == 1
    assert "manifest.json: missing" in capsys.readouterr().err
