"""The fairtune shard format, version 1: the one place that writes and checks it.

A prepared dataset is a folder with ``manifest.json`` and ``train/``, ``val/``, ``test/`` folders of
HDF5 shards (``shard-00000.h5``, ...). ``docs/shard-format.md`` is the specification; the Swift
loader applies the same checks as :func:`check_dataset`.
"""

from __future__ import annotations

import datetime
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import h5py
import numpy as np
from tqdm import tqdm

from . import __version__
from ._temporary import remove, remove_stale, temporary_name
from .errors import PrepError

FORMAT_NAME = "fairtune-shards"
FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")
DEFAULT_SHARD_SIZE = 2048
# Images are moved between loader and file in blocks of this many, so memory stays small.
_BLOCK = 64

NORMALIZATIONS = {
    # What FairTune uses for every dataset (torchvision's ImageNet statistics).
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    # What timm's augreg ViT checkpoints were trained with.
    "inception": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    # The synthetic study's input scaling, (x - 0.5) / 0.25.
    "synthetic": ([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
}


@dataclass(frozen=True)
class Attribute:
    """A sensitive attribute: its name and its group names (group id = index in ``groups``)."""

    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class DatasetSpec:
    """Everything in the manifest that does not depend on the samples."""

    dataset: str
    task_name: str
    classes: tuple[str, ...]
    attributes: tuple[Attribute, ...]
    height: int
    width: int
    normalization: str = "imagenet"


class ImageSource(Protocol):
    """Yields a split's images in sample order, as uint8 arrays of shape (k, H, W, 3)."""

    def __len__(self) -> int:
        """Number of images."""
        ...

    def batch(self, start: int, stop: int) -> np.ndarray:
        """Images start..<stop as (stop - start, H, W, 3) uint8."""
        ...


class ArrayImages:
    """Images already in memory, shape (N, H, W, 3) uint8."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def __len__(self) -> int:
        return self.array.shape[0]

    def batch(self, start: int, stop: int) -> np.ndarray:
        """A view of images start..<stop."""
        return self.array[start:stop]


@dataclass
class SplitData:
    """One split's samples in file order.

    ``labels``: int64 (N,); ``attrs``: name -> int64 (N,) group ids, -1 = unknown;
    ``sample_ids`` / ``patient_ids``: N strings; ``images``: the N images.
    """

    labels: np.ndarray
    attrs: dict[str, np.ndarray]
    sample_ids: list[str]
    patient_ids: list[str]
    images: ImageSource

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Summary:
    """What :func:`check_dataset` found: the manifest plus recomputed counts."""

    manifest: dict
    counts: dict[str, dict] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Writing


def _group_counts(labels: np.ndarray, groups: np.ndarray, n_classes: int, n_groups: int) -> dict:
    """[class][group] counts plus per-class unknown (-1) counts, as plain lists for JSON."""
    by_class = np.zeros((n_classes, n_groups), dtype=np.int64)
    unknown = np.zeros(n_classes, dtype=np.int64)
    known = groups >= 0
    np.add.at(by_class, (labels[known], groups[known]), 1)
    np.add.at(unknown, labels[~known], 1)
    return {"by_class": by_class.tolist(), "unknown": unknown.tolist()}


def _validate_in_memory(spec: DatasetSpec, splits: dict[str, SplitData]) -> None:
    """Catches programming or raw-data errors before anything is written."""
    if set(splits) != set(SPLITS):
        raise PrepError(f"internal: splits must be exactly {SPLITS}, got {sorted(splits)}")
    owner: dict[str, str] = {}
    seen_samples: set[str] = set()
    for name in SPLITS:
        s = splits[name]
        n = len(s.labels)
        if n == 0:
            raise PrepError(f"split '{name}' has no samples: the raw data has too few patients "
                            f"(or too few left after filtering) for a train/val/test split")
        for what, seq in (("sample_ids", s.sample_ids), ("patient_ids", s.patient_ids),
                          ("images", s.images)):
            if len(seq) != n:
                raise PrepError(f"internal: split '{name}' has {n} labels but {len(seq)} {what}")
        if s.labels.min() < 0 or s.labels.max() >= len(spec.classes):
            raise PrepError(f"internal: split '{name}' label outside [0, {len(spec.classes)})")
        for attr in spec.attributes:
            g = s.attrs.get(attr.name)
            if g is None or len(g) != n:
                raise PrepError(f"internal: split '{name}' lacks attribute '{attr.name}' values")
            if g.min() < -1 or g.max() >= len(attr.groups):
                raise PrepError(f"internal: split '{name}' attribute '{attr.name}' outside "
                                f"[-1, {len(attr.groups)})")
        for sid in s.sample_ids:
            if sid in seen_samples:
                raise PrepError(f"sample id '{sid}' occurs twice in the raw data (split '{name}')")
            seen_samples.add(sid)
        for pid in set(s.patient_ids):
            other = owner.setdefault(pid, name)
            if other != name:
                raise PrepError(f"internal: patient '{pid}' is in splits '{other}' and '{name}'")


def _write_shard(path: Path, spec: DatasetSpec, split: str, index: int, data: SplitData,
                 start: int, stop: int, gzip: int, bar) -> None:
    n = stop - start
    h, w = spec.height, spec.width
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["split"] = split
        f.attrs["shard_index"] = np.int64(index)
        comp = {"compression": "gzip", "compression_opts": gzip} if gzip > 0 else {}
        images = f.create_dataset("images", shape=(n, h, w, 3), dtype=np.uint8,
                                  chunks=(1, h, w, 3), **comp)
        for a in range(start, stop, _BLOCK):
            b = min(a + _BLOCK, stop)
            block = np.asarray(data.images.batch(a, b))
            if block.dtype != np.uint8 or block.shape != (b - a, h, w, 3):
                raise PrepError(f"internal: image block {a}:{b} of split '{split}' has shape "
                                f"{block.shape} {block.dtype}, expected {(b - a, h, w, 3)} uint8")
            images[a - start:b - start] = block
            bar.update(b - a)
        f.create_dataset("labels", data=data.labels[start:stop].astype(np.int64))
        attrs = f.create_group("attrs")
        str_t = h5py.string_dtype()
        for attr in spec.attributes:
            ds = attrs.create_dataset(attr.name, data=data.attrs[attr.name][start:stop].astype(np.int64))
            ds.attrs.create("groups", data=list(attr.groups), dtype=str_t)
        f.create_dataset("ids/sample", data=data.sample_ids[start:stop], dtype=str_t)
        f.create_dataset("ids/patient", data=data.patient_ids[start:stop], dtype=str_t)


def check_output(out: Path, force: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuses an output that would lose the user's data; nothing is deleted here.

    An existing ``out`` is replaced only with ``force``, and only if it is a prepared dataset (its
    ``manifest.json`` says ``fairtune-shards``) that is not an input, does not hold one and is not
    inside one (paths compared after resolving symbolic links).
    """
    out = Path(out)
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise PrepError(f"output folder {out} already exists; choose another --out or pass --force")
    target = out.resolve()
    for given in inputs:
        source = Path(given).resolve()
        if target == source or target in source.parents:
            raise PrepError(f"--out {out} is or holds the input {given}: --force never replaces an input; "
                            f"choose another --out (nothing was deleted)")
        if source in target.parents:
            raise PrepError(f"--out {out} is inside the input {given}: --force never replaces a folder inside "
                            f"an input; choose another --out (nothing was deleted)")
    if not _is_prepared_dataset(out):
        raise PrepError(f"--out {out} exists but is not a prepared dataset (no manifest.json of format "
                        f"\"{FORMAT_NAME}\"): --force replaces only a folder data-prep wrote; remove it "
                        f"yourself or choose another --out (nothing was deleted)")


def _is_prepared_dataset(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return folder.is_dir() and isinstance(manifest, dict) and manifest.get("format") == FORMAT_NAME


def _manifest_head(spec: DatasetSpec) -> dict:
    """The manifest's fields that do not depend on the samples; ``splits`` is filled by the writer."""
    mean, std = NORMALIZATIONS[spec.normalization]
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "dataset": spec.dataset,
        "task": {"name": spec.task_name, "classes": list(spec.classes)},
        "attributes": {a.name: {"groups": list(a.groups)} for a in spec.attributes},
        # JSON object order is lost by some parsers (Swift's JSONSerialization): say it explicitly.
        "attribute_order": [a.name for a in spec.attributes],
        "image": {"height": spec.height, "width": spec.width, "channels": 3, "layout": "HWC", "dtype": "uint8"},
        "normalization": {"mean": mean, "std": std},
        "splits": {},
    }


def _write_split(folder: Path, spec: DatasetSpec, name: str, data: SplitData, shard_size: int, gzip: int,
                 progress: bool) -> dict:
    """Writes one split's shards under ``folder/name`` and returns its manifest entry."""
    n = len(data)
    (folder / name).mkdir()
    shards = []
    with tqdm(total=n, desc=f"{spec.dataset} {name}", unit="img", disable=not progress, file=sys.stderr) as bar:
        for index, start in enumerate(range(0, n, shard_size)):
            stop = min(start + shard_size, n)
            rel = f"{name}/shard-{index:05d}.h5"
            _write_shard(folder / rel, spec, name, index, data, start, stop, gzip, bar)
            shards.append({"file": rel, "count": stop - start})
    labels = data.labels.astype(np.int64)
    return {
        "count": n,
        "shards": shards,
        "class_counts": np.bincount(labels, minlength=len(spec.classes)).tolist(),
        "group_counts": {a.name: _group_counts(labels, data.attrs[a.name].astype(np.int64),
                                               len(spec.classes), len(a.groups))
                         for a in spec.attributes},
    }


def write_dataset(out: Path, spec: DatasetSpec, splits: dict[str, SplitData], *,
                  shard_size: int = DEFAULT_SHARD_SIZE, gzip: int = 0, provenance: dict | None = None,
                  force: bool = False, progress: bool = True, inputs: Sequence[Path] = ()) -> dict:
    """Writes a prepared dataset to ``out`` atomically and returns its manifest.

    Everything goes to a hidden sibling folder first; it is checked, then renamed to ``out``, so a
    failed run leaves nothing behind. An existing ``out`` is replaced only as :func:`check_output`
    allows (``force``, a prepared dataset, not one of ``inputs``). Temporary folders of killed runs
    are removed first.
    """
    out = Path(out)
    if shard_size < 1:
        raise PrepError(f"--shard-size must be at least 1, got {shard_size}")
    if not 0 <= gzip <= 9:
        raise PrepError(f"--gzip must be in 0...9, got {gzip}")
    check_output(out, force, inputs)
    _validate_in_memory(spec, splits)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in remove_stale(out):
        print(f"note: removed {out.parent / name}, left by a run that was killed", file=sys.stderr)
    tmp = temporary_name(out, "tmp")
    remove(tmp)
    try:
        tmp.mkdir()
        manifest = _manifest_head(spec)
        for name in SPLITS:
            manifest["splits"][name] = _write_split(tmp, spec, name, splits[name], shard_size, gzip, progress)
        manifest["provenance"] = {
            "made_by": f"fairtune_prep {__version__}",
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **(provenance or {}),
        }
        with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        check_dataset(tmp, read_images=False)
        if out.exists():
            old = temporary_name(out, "old")
            out.rename(old)
            tmp.rename(out)
            remove(old)
        else:
            tmp.rename(out)
    except BaseException:
        remove(tmp)
        raise
    return manifest


# --------------------------------------------------------------------------------------------------
# Checking


def _fail(where: str, field_: str, message: str) -> PrepError:
    return PrepError(f"{where}: {field_}: {message}")


def _require(cond: bool, where: str, field_: str, message: str) -> None:
    if not cond:
        raise _fail(where, field_, message)


def _is_int(x) -> bool:
    # A JSON number without a fractional part (16 and 16.0 alike, as every JSON reader sees them).
    return (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())


def _is_finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_name_list(x, min_len: int) -> bool:
    return (isinstance(x, list) and len(x) >= min_len and all(isinstance(s, str) and s for s in x)
            and len(set(x)) == len(x))


def _check_manifest(m: object, where: str) -> None:
    """Schema of manifest.json; every error names the field and what was expected."""
    _require(isinstance(m, dict), where, "(top level)", "expected a JSON object")
    _require(m.get("format") == FORMAT_NAME, where, "format",
             f"expected \"{FORMAT_NAME}\", found {m.get('format')!r}")
    _require(m.get("format_version") == FORMAT_VERSION, where, "format_version",
             f"expected {FORMAT_VERSION}, found {m.get('format_version')!r} (rerun data-prep)")
    _require(isinstance(m.get("dataset"), str) and m["dataset"], where, "dataset", "expected a name")
    task = m.get("task")
    _require(isinstance(task, dict) and isinstance(task.get("name"), str), where, "task.name",
             "expected a string")
    _require(_is_name_list(task.get("classes"), 2), where, "task.classes",
             "expected at least 2 distinct class names")
    attrs = m.get("attributes")
    _require(isinstance(attrs, dict), where, "attributes", "expected an object (may be empty)")
    for name, a in attrs.items():
        _require(isinstance(a, dict) and _is_name_list(a.get("groups"), 1), where,
                 f"attributes.{name}.groups", "expected a list of distinct group names")
    if "attribute_order" in m:
        _require(m["attribute_order"] == list(attrs), where, "attribute_order",
                 f"expected the attribute names in file order {list(attrs)}, found {m['attribute_order']!r}")
    img = m.get("image")
    _require(isinstance(img, dict), where, "image", "expected an object")
    for key in ("height", "width"):
        _require(_is_int(img.get(key)) and img[key] > 0, where, f"image.{key}",
                 f"expected a positive integer, found {img.get(key)!r}")
    _require(img.get("channels") == 3, where, "image.channels", f"expected 3, found {img.get('channels')!r}")
    _require(img.get("layout") == "HWC", where, "image.layout", f"expected \"HWC\", found {img.get('layout')!r}")
    _require(img.get("dtype") == "uint8", where, "image.dtype", f"expected \"uint8\", found {img.get('dtype')!r}")
    norm = m.get("normalization")
    _require(isinstance(norm, dict), where, "normalization", "expected an object")
    for key in ("mean", "std"):
        v = norm.get(key)
        _require(isinstance(v, list) and len(v) == 3 and all(_is_finite_number(x) for x in v),
                 where, f"normalization.{key}", f"expected 3 finite numbers, found {v!r}")
    _require(all(x > 0 for x in norm["std"]), where, "normalization.std", "expected positive numbers")
    splits = m.get("splits")
    _require(isinstance(splits, dict) and sorted(splits) == sorted(SPLITS), where, "splits",
             f"expected exactly {list(SPLITS)}, found {sorted(splits) if isinstance(splits, dict) else splits!r}")
    n_classes = len(task["classes"])
    for name in SPLITS:
        s = splits[name]
        f = f"splits.{name}"
        _require(isinstance(s, dict), where, f, "expected an object")
        _require(_is_int(s.get("count")) and s["count"] > 0, where, f"{f}.count",
                 f"expected a positive integer, found {s.get('count')!r}")
        shards = s.get("shards")
        _require(isinstance(shards, list) and shards, where, f"{f}.shards", "expected a non-empty list")
        for i, sh in enumerate(shards):
            _require(isinstance(sh, dict) and sh.get("file") == f"{name}/shard-{i:05d}.h5", where,
                     f"{f}.shards[{i}].file", f"expected \"{name}/shard-{i:05d}.h5\", "
                     f"found {sh.get('file') if isinstance(sh, dict) else sh!r}")
            _require(_is_int(sh.get("count")) and sh["count"] > 0, where, f"{f}.shards[{i}].count",
                     f"expected a positive integer, found {sh.get('count')!r}")
        total = sum(sh["count"] for sh in shards)
        _require(total == s["count"], where, f"{f}.count",
                 f"shard counts sum to {total} but count is {s['count']}")
        cc = s.get("class_counts")
        _require(isinstance(cc, list) and len(cc) == n_classes and all(_is_int(x) and x >= 0 for x in cc),
                 where, f"{f}.class_counts", f"expected {n_classes} non-negative integers")
        _require(sum(cc) == s["count"], where, f"{f}.class_counts",
                 f"sum {sum(cc)} differs from count {s['count']}")
        gc = s.get("group_counts")
        _require(isinstance(gc, dict) and sorted(gc) == sorted(attrs), where, f"{f}.group_counts",
                 f"expected one entry per attribute {sorted(attrs)}, found "
                 f"{sorted(gc) if isinstance(gc, dict) else gc!r}")
        for an, a in attrs.items():
            g = gc[an]
            n_groups = len(a["groups"])
            ok = (isinstance(g, dict) and isinstance(g.get("by_class"), list) and len(g["by_class"]) == n_classes
                  and all(isinstance(r, list) and len(r) == n_groups and all(_is_int(x) and x >= 0 for x in r)
                          for r in g["by_class"])
                  and isinstance(g.get("unknown"), list) and len(g["unknown"]) == n_classes
                  and all(_is_int(x) and x >= 0 for x in g["unknown"]))
            _require(ok, where, f"{f}.group_counts.{an}",
                     f"expected by_class as {n_classes}x{n_groups} and unknown as {n_classes} non-negative integers")
            for c in range(n_classes):
                row = sum(g["by_class"][c]) + g["unknown"][c]
                _require(row == cc[c], where, f"{f}.group_counts.{an}",
                         f"class {c} groups plus unknown sum to {row}, class_counts says {cc[c]}")


def _read_string_attr(f: h5py.File, name: str, where: str) -> str:
    _require(name in f.attrs, where, f"attribute '{name}'", "missing")
    v = f.attrs[name]
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    _require(isinstance(v, str), where, f"attribute '{name}'", f"expected a string, found {type(v).__name__}")
    return v


def _read_int_attr(f: h5py.File, name: str, where: str) -> int:
    _require(name in f.attrs, where, f"attribute '{name}'", "missing")
    v = np.asarray(f.attrs[name])
    _require(v.shape == () and v.dtype == np.int64, where, f"attribute '{name}'",
             f"expected a scalar int64, found {v.dtype} of shape {v.shape}")
    return int(v)


def _read_strings(f: h5py.File, path: str, n: int, where: str) -> list[str]:
    _require(path in f and isinstance(f[path], h5py.Dataset), where, path, "dataset missing")
    ds = f[path]
    _require(ds.dtype.kind == "O" and h5py.check_string_dtype(ds.dtype) is not None, where, path,
             f"expected variable-length UTF-8 strings, found {ds.dtype}")
    _require(ds.shape == (n,), where, path, f"expected shape ({n},), found {ds.shape}")
    return [s.decode("utf-8") if isinstance(s, bytes) else s for s in ds[()]]


def _check_shard(path: Path, rel: str, manifest: dict, split: str, index: int, expected: int,
                 read_images: bool, bar) -> tuple[np.ndarray, dict[str, np.ndarray], list[str], list[str]]:
    """Checks one shard and returns its labels, attrs and ids."""
    where = rel
    _require(path.is_file(), where, "(file)", "missing or not a regular file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise _fail(where, "(file)", f"cannot be opened as HDF5, truncated or corrupt ({e})") from None
    try:
        with f:
            fmt = _read_string_attr(f, "format", where)
            _require(fmt == FORMAT_NAME, where, "attribute 'format'", f"expected \"{FORMAT_NAME}\", found \"{fmt}\"")
            ver = _read_int_attr(f, "format_version", where)
            _require(ver == FORMAT_VERSION, where, "attribute 'format_version'",
                     f"expected {FORMAT_VERSION}, found {ver}")
            sp = _read_string_attr(f, "split", where)
            _require(sp == split, where, "attribute 'split'", f"expected \"{split}\", found \"{sp}\"")
            si = _read_int_attr(f, "shard_index", where)
            _require(si == index, where, "attribute 'shard_index'", f"expected {index}, found {si}")
            img = manifest["image"]
            shape = (expected, img["height"], img["width"], 3)
            _require("images" in f and isinstance(f["images"], h5py.Dataset), where, "images", "dataset missing")
            images = f["images"]
            _require(images.dtype == np.uint8, where, "images", f"expected uint8, found {images.dtype}")
            _require(images.ndim == 4, where, "images", f"expected rank 4 (N, H, W, 3), found shape {images.shape}")
            _require(images.shape[1:] == shape[1:], where, "images",
                     f"expected (N, {img['height']}, {img['width']}, 3) as in manifest.json, found {images.shape}")
            _require(images.shape[0] == expected, where, "images",
                     f"holds {images.shape[0]} samples but manifest.json says {expected}")
            _require("labels" in f and isinstance(f["labels"], h5py.Dataset), where, "labels", "dataset missing")
            labels_ds = f["labels"]
            _require(labels_ds.dtype == np.int64, where, "labels", f"expected int64, found {labels_ds.dtype}")
            _require(labels_ds.shape == (expected,), where, "labels",
                     f"expected shape ({expected},), found {labels_ds.shape}")
            labels = labels_ds[()]
            n_classes = len(manifest["task"]["classes"])
            bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
            _require(bad.size == 0, where, "labels",
                     f"value {labels[bad[0]] if bad.size else 0} at row {bad[0] if bad.size else 0} "
                     f"outside [0, {n_classes})")
            _require("attrs" in f and isinstance(f["attrs"], h5py.Group), where, "attrs", "group missing")
            names = list(manifest["attributes"])
            extra = sorted(set(f["attrs"].keys()) - set(names))
            _require(not extra, where, "attrs", f"datasets {extra} are not in manifest.json's attributes")
            attrs: dict[str, np.ndarray] = {}
            for name in names:
                p = f"attrs/{name}"
                _require(name in f["attrs"], where, p, "dataset missing")
                ds = f[p]
                _require(ds.dtype == np.int64, where, p, f"expected int64, found {ds.dtype}")
                _require(ds.shape == (expected,), where, p, f"expected shape ({expected},), found {ds.shape}")
                _require("groups" in ds.attrs, where, f"{p} attribute 'groups'", "missing")
                groups = [g.decode("utf-8") if isinstance(g, bytes) else str(g)
                          for g in np.atleast_1d(ds.attrs["groups"])]
                want = manifest["attributes"][name]["groups"]
                _require(groups == want, where, f"{p} attribute 'groups'",
                         f"expected {want} as in manifest.json, found {groups}")
                v = ds[()]
                bad = np.flatnonzero((v < -1) | (v >= len(want)))
                _require(bad.size == 0, where, p,
                         f"value {v[bad[0]] if bad.size else 0} at row {bad[0] if bad.size else 0} outside "
                         f"[0, {len(want)}) (or -1 for unknown)")
                attrs[name] = v
            samples = _read_strings(f, "ids/sample", expected, where)
            patients = _read_strings(f, "ids/patient", expected, where)
            if read_images:
                for a in range(0, expected, _BLOCK):
                    b = min(a + _BLOCK, expected)
                    try:
                        images[a:b]
                    except OSError as e:
                        raise _fail(where, "images", f"rows {a}..{b - 1} cannot be read, truncated or "
                                    f"corrupt ({e})") from None
                    bar.update(b - a)
            return labels, attrs, samples, patients
    except OSError as e:
        raise _fail(where, "(file)", f"read error, truncated or corrupt ({e})") from None


def check_dataset(root: Path, *, read_images: bool = True, progress: bool = False) -> Summary:
    """Validates a prepared dataset; raises :class:`PrepError` naming the file and field of the
    first problem. With ``read_images`` every image block is read (catches truncated shards)."""
    root = Path(root)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise PrepError(f"{mpath}: missing (is {root} a prepared dataset?)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PrepError(f"manifest.json: not valid UTF-8 JSON ({e})") from None
    _check_manifest(manifest, "manifest.json")
    summary = Summary(manifest=manifest)
    patient_split: dict[str, str] = {}
    sample_split: dict[str, str] = {}
    total = sum(manifest["splits"][s]["count"] for s in SPLITS)
    with tqdm(total=total, desc="check", unit="img", disable=not (progress and read_images),
              file=sys.stderr) as bar:
        for split in SPLITS:
            s = manifest["splits"][split]
            labels_all, attrs_all = [], {n: [] for n in manifest["attributes"]}
            for index, sh in enumerate(s["shards"]):
                labels, attrs, samples, patients = _check_shard(root / sh["file"], sh["file"], manifest, split,
                                                                index, sh["count"], read_images, bar)
                for row, sid in enumerate(samples):
                    prev = sample_split.setdefault(sid, f"{split} ({sh['file']} row {row})")
                    if prev != f"{split} ({sh['file']} row {row})":
                        raise _fail(sh["file"], "ids/sample",
                                    f"sample id '{sid}' at row {row} also occurs in {prev}")
                for row, pid in enumerate(patients):
                    prev = patient_split.setdefault(pid, split)
                    if prev != split:
                        raise _fail(sh["file"], "ids/patient",
                                    f"patient id '{pid}' at row {row} is also in split '{prev}' "
                                    f"(a patient must be in one split only)")
                labels_all.append(labels)
                for n in attrs_all:
                    attrs_all[n].append(attrs[n])
            labels = np.concatenate(labels_all)
            n_classes = len(manifest["task"]["classes"])
            cc = np.bincount(labels, minlength=n_classes).tolist()
            _require(cc == s["class_counts"], "manifest.json", f"splits.{split}.class_counts",
                     f"shards hold {cc}, manifest says {s['class_counts']}")
            gcs = {}
            for n, parts in attrs_all.items():
                g = _group_counts(labels, np.concatenate(parts), n_classes,
                                  len(manifest["attributes"][n]["groups"]))
                _require(g == s["group_counts"][n], "manifest.json", f"splits.{split}.group_counts.{n}",
                         f"shards hold {g}, manifest says {s['group_counts'][n]}")
                gcs[n] = g
            summary.counts[split] = {"class_counts": cc, "group_counts": gcs}
    return summary


def format_summary(summary: Summary) -> str:
    """A table per split x attribute group x class, for ``check`` to print."""
    m = summary.manifest
    classes = m["task"]["classes"]
    img = m["image"]
    lines = [f"dataset {m['dataset']}: task '{m['task']['name']}' ({len(classes)} classes), "
             f"images {img['height']}x{img['width']}x3 uint8, "
             f"{len(m['attributes'])} attribute(s): {', '.join(m['attributes']) or 'none'}"]
    header = ["split", "attribute", "group"] + list(classes) + ["total"]
    rows = []
    for split in SPLITS:
        c = summary.counts[split]
        rows.append([split, "(all)", "-"] + [str(x) for x in c["class_counts"]] + [str(sum(c["class_counts"]))])
        for name, g in c["group_counts"].items():
            groups = m["attributes"][name]["groups"]
            for gi, gname in enumerate(groups):
                col = [row[gi] for row in g["by_class"]]
                rows.append([split, name, gname] + [str(x) for x in col] + [str(sum(col))])
            if sum(g["unknown"]):
                rows.append([split, name, "(unknown)"] + [str(x) for x in g["unknown"]] + [str(sum(g["unknown"]))])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    fmt = lambda r: "  ".join(x.ljust(w) if i < 3 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))
    lines.append(fmt(header))
    lines.extend(fmt(r) for r in rows)
    return "\n".join(lines)

