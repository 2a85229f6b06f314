"""Synthetic datasets made from nothing, for the demo and the tests.

``synthetic`` is design "V3" of the synthetic study: 32x32 skin-lesion-like images with a darker-skin
minority group whose lesions are fainter (a group-dependent appearance shift) and a blue-violet
corner marker that tracks the label in train (differently per group) but not in val/test (a
shortcut). Full fine-tuning memorises the minority and the marker and shows a fairness
generalisation gap on test. ``synthetic-source`` is the 8-way shapes/textures pretraining task for
the small backbone (no sensitive attribute: zero attributes).

Every image is an independent draw; each split has its own seed. One vectorised numpy pass per block
of images: thousands of images per second.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

import numpy as np

from ._common import Prepared, resize_center_crop
from ._shards import ArrayImages, Attribute, DatasetSpec, SplitData
from .errors import PrepError

NAME = "synthetic"
HELP = "synthetic skin-lesion task 'V3' with a minority group and a train-only shortcut"
SOURCE_NAME = "synthetic-source"
SOURCE_HELP = "synthetic 8-way shapes/textures pretraining task (no sensitive attribute)"
SIZE = 32
_CHUNK = 2048
MAJORITY_TONE = (0.88, 0.72, 0.62)
MINORITY_TONE = (0.45, 0.31, 0.23)
LESION_WEIGHTS = (0.45, 0.35, 0.35)
BLOTCH_WEIGHTS = (0.7, 0.9, 0.6)
MARKER_COLOUR = (0.35, 0.25, 0.75)
SOURCE_CLASSES = ("disc", "square", "triangle", "star", "ring", "cross", "striped disc", "dotted disc")


@dataclass(frozen=True)
class TargetConfig:
    """Knobs of the V3 generator; the defaults are the synthetic study's final design."""

    minority_share: float = 0.15
    positive_rate: float = 0.40
    contrast_majority: float = 0.60
    contrast_minority: float = 0.35
    # P(marker | group, label) in train: majority y=0, majority y=1, minority y=0, minority y=1.
    marker_train: tuple[float, float, float, float] = (0.15, 0.45, 0.05, 0.85)
    marker_eval: float = 0.25
    # 1 = the rates above; 0 = no shortcut (train rates equal marker_eval); in between, linear.
    shortcut_strength: float = 1.0
    # Training split only (variant V4: 0.05 and 0.25).
    label_noise: float = 0.0
    underdiagnosis: float = 0.0


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of bilinear upsampling with half-pixel centres (align_corners=False)."""
    t = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = np.zeros((n_out, n_in), dtype=np.float32)
    w[np.arange(n_out), lo] += (1 - (t - lo)).astype(np.float32)
    w[np.arange(n_out), hi] += (t - lo).astype(np.float32)
    return w


_UP = _bilinear_matrix(5, SIZE)
_YY, _XX = np.meshgrid(np.arange(SIZE, dtype=np.float32), np.arange(SIZE, dtype=np.float32), indexing="ij")


def _smooth_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 32, 32): a 5x5 grid of U(-1, 1) upsampled bilinearly."""
    grid = rng.uniform(-1, 1, (n, 5, 5)).astype(np.float32)
    return np.einsum("ij,njk,lk->nil", _UP, grid, _UP)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def _col(x: np.ndarray) -> np.ndarray:
    """(n,) -> (n, 1, 1) for broadcasting over pixels."""
    return x.astype(np.float32)[:, None, None]


def target_images(n: int, groups: np.ndarray, severity: np.ndarray, marker: np.ndarray,
                  cfg: TargetConfig, rng: np.random.Generator) -> np.ndarray:
    """Renders n V3 images as float32 (n, 32, 32, 3) in [0, 1].

    ``groups`` (n,) 0/1, ``severity`` (n,) in [0, 1], ``marker`` (n,) bool.
    """
    minority = groups.astype(bool)
    # Skin: group tone + per-channel jitter, brightness, smooth texture.
    tone = np.where(minority[:, None], np.float32(MINORITY_TONE), np.float32(MAJORITY_TONE))
    tone = tone + rng.normal(0, 0.04, (n, 3))
    tone = tone * (1 + rng.normal(0, 0.05, (n, 1)))
    texture = 1 + 0.08 * _smooth_noise(rng, n)
    img = tone[:, None, None, :].astype(np.float32) * texture[..., None]
    # Lesion geometry.
    cy, cx = 16 + rng.uniform(-4, 4, n), 16 + rng.uniform(-4, 4, n)
    r0 = rng.uniform(7, 11, n)
    aspect = rng.uniform(0.7, 1.0, n)
    rot = rng.uniform(0, np.pi, n)
    k1, k2 = rng.integers(4, 7, n), rng.integers(7, 11, n)
    p1, p2 = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n)
    irregular = 0.03 + 0.35 * severity
    dy, dx = _YY[None] - _col(cy), _XX[None] - _col(cx)
    c, s = _col(np.cos(rot)), _col(np.sin(rot))
    u, v = dx * c + dy * s, (-dx * s + dy * c) / _col(aspect)
    rho = np.sqrt(u * u + v * v)
    theta = np.arctan2(v, u)
    border = _col(r0) * (1 + _col(irregular) * (0.6 * np.cos(_col(k1) * theta + _col(p1))
                                                 + 0.4 * np.cos(_col(k2) * theta + _col(p2))))
    mask = _sigmoid((border - rho) / 0.6)
    contrast = np.where(minority, cfg.contrast_minority, cfg.contrast_majority) * rng.uniform(0.8, 1.2, n)
    shade = 1 - contrast[:, None] * (1 - np.float32(LESION_WEIGHTS))[None, :]
    img *= 1 - (1 - shade)[:, None, None, :] * mask[..., None]
    # Dark dots: count grows with severity, each a Gaussian inside 0.65 r0.
    counts = np.minimum(rng.poisson(8 * severity + 0.5), 12)
    dots = np.zeros((n, SIZE, SIZE), dtype=np.float32)
    for j in range(12):
        rad = 0.65 * r0 * np.sqrt(rng.uniform(0, 1, n))
        ang = rng.uniform(0, 2 * np.pi, n)
        py, px = cy + rad * np.sin(ang), cx + rad * np.cos(ang)
        d2 = (_YY[None] - _col(py)) ** 2 + (_XX[None] - _col(px)) ** 2
        dots += _col(counts > j) * np.exp(-d2 / (2 * 1.1 ** 2))
    img *= (1 - 0.8 * _col(contrast) * np.minimum(dots, 1))[..., None]
    # Off-centre blotch, darker with severity.
    ang = rng.uniform(0, 2 * np.pi, n)
    by, bx = cy + 0.35 * r0 * np.sin(ang), cx + 0.35 * r0 * np.cos(ang)
    bd = np.sqrt((_YY[None] - _col(by)) ** 2 + (_XX[None] - _col(bx)) ** 2)
    blotch = _sigmoid((_col(0.55 * r0) - bd) / 0.6)
    strength = np.clip(1.2 * (severity - 0.2), 0, 1) * contrast
    img *= 1 - (_col(strength) * blotch)[..., None] * np.float32(BLOTCH_WEIGHTS)
    # Shortcut marker: 4x4 square 1 px from a random corner.
    corner = rng.integers(0, 4, n)
    colour = np.float32(MARKER_COLOUR)[None, :] * rng.uniform(0.85, 1.15, (n, 1))
    for k, (r, q) in enumerate(((1, 1), (1, SIZE - 5), (SIZE - 5, 1), (SIZE - 5, SIZE - 5))):
        sel = marker & (corner == k)
        if sel.any():
            img[sel, r:r + 4, q:q + 4, :] = colour[sel][:, None, None, :]
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def marker_probability(groups: np.ndarray, labels: np.ndarray, train: bool, cfg: TargetConfig) -> np.ndarray:
    """P(marker) per sample: the group- and label-dependent train rates (scaled by shortcut
    strength towards the eval rate), or the eval rate for everyone outside train."""
    if not train:
        return np.full(len(groups), cfg.marker_eval)
    table = np.array(cfg.marker_train, dtype=np.float64).reshape(2, 2)
    p = table[groups.astype(int), labels.astype(int)]
    return cfg.marker_eval + cfg.shortcut_strength * (p - cfg.marker_eval)


def generate_target(n: int, seed: int, train: bool, cfg: TargetConfig, render: bool = True) -> dict[str, np.ndarray]:
    """One V3 split: images uint8 (n, 32, 32, 3), labels (training labels, noisy if configured),
    true_labels, groups (1 = minority), marker (bool). ``render=False`` skips the images (the
    other arrays are the same: every label-level draw comes before the first pixel-level draw)."""
    rng = np.random.default_rng(seed)
    groups = (rng.random(n) < cfg.minority_share).astype(np.int64)
    labels = (rng.random(n) < cfg.positive_rate).astype(np.int64)
    severity = np.where(labels == 1, rng.uniform(0.35, 1.0, n), rng.uniform(0.0, 0.65, n))
    marker = rng.random(n) < marker_probability(groups, labels, train, cfg)
    observed = labels.copy()
    if train and cfg.label_noise > 0:
        flip = rng.random(n) < cfg.label_noise
        observed[flip] = 1 - observed[flip]
    if train and cfg.underdiagnosis > 0:
        hide = (groups == 1) & (labels == 1) & (rng.random(n) < cfg.underdiagnosis)
        observed[hide] = 0
    images = np.empty((n if render else 0, SIZE, SIZE, 3), dtype=np.uint8)
    for a in range(0, n if render else 0, _CHUNK):
        b = min(a + _CHUNK, n)
        x = target_images(b - a, groups[a:b], severity[a:b], marker[a:b], cfg, rng)
        images[a:b] = np.round(x * 255).astype(np.uint8)
    return {"images": images, "labels": observed, "true_labels": labels, "groups": groups, "marker": marker,
            "severity": severity}


def _polygon_distance(u: np.ndarray, v: np.ndarray, sides: int) -> np.ndarray:
    """Max over the edge normals of a regular polygon of (u, v) . normal: <= inradius inside."""
    angles = np.pi / 2 + 2 * np.pi * (np.arange(sides) + 0.5) / sides
    return np.max(np.stack([u * np.cos(a) + v * np.sin(a) for a in angles]), axis=0)


def source_masks(cls: int, u: np.ndarray, v: np.ndarray, r0: np.ndarray) -> np.ndarray:
    """Soft foreground mask (n, 32, 32) of source class ``cls`` in local coordinates (u, v)."""
    edge = 0.6
    rho = np.sqrt(u * u + v * v)
    disc = _sigmoid((r0 - rho) / edge)
    if cls == 0:
        return disc
    if cls == 1:
        return _sigmoid((0.85 * r0 - np.maximum(np.abs(u), np.abs(v))) / edge)
    if cls == 2:
        return _sigmoid((0.5 * r0 - _polygon_distance(u, v, 3)) / edge)
    if cls == 3:
        phi = np.arctan2(v, u)
        return _sigmoid((r0 * (0.6 + 0.4 * np.cos(5 * phi)) - rho) / edge)
    if cls == 4:
        return _sigmoid((0.3 * r0 - np.abs(rho - 0.7 * r0)) / edge)
    if cls == 5:
        bar1 = _sigmoid(np.minimum(0.3 * r0 - np.abs(u), r0 - np.abs(v)) / edge)
        bar2 = _sigmoid(np.minimum(0.3 * r0 - np.abs(v), r0 - np.abs(u)) / edge)
        return np.maximum(bar1, bar2)
    if cls == 6:
        return disc * _sigmoid(3 * np.sin(2 * np.pi * u / (0.5 * r0)))
    period = 0.45 * r0
    du = u - period * np.round(u / period)
    dv = v - period * np.round(v / period)
    dots = _sigmoid((0.25 * period - np.sqrt(du * du + dv * dv)) / 0.4)
    return disc * (0.35 + 0.65 * dots)


def generate_source(n: int, seed: int) -> dict[str, np.ndarray]:
    """One split of the 8-way source task: images uint8 (n, 32, 32, 3) and labels (n,)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SOURCE_CLASSES), n)
    images = np.empty((n, SIZE, SIZE, 3), dtype=np.uint8)
    for a in range(0, n, _CHUNK):
        b = min(a + _CHUNK, n)
        m = b - a
        bg = rng.uniform(0.05, 0.95, (m, 1, 1, 3)) * (1 + 0.15 * _smooth_noise(rng, m))[..., None]
        sign = np.where(rng.random((m, 1, 1, 1)) < 0.5, -1.0, 1.0)
        fg = bg + sign * rng.uniform(0.1, 0.6, (m, 1, 1, 1)) * rng.uniform(0.5, 1.5, (m, 1, 1, 3))
        r0 = _col(rng.uniform(4, 10, m))
        cy, cx = 16 + rng.uniform(-6, 6, m), 16 + rng.uniform(-6, 6, m)
        rot = rng.uniform(0, 2 * np.pi, m)
        dy, dx = _YY[None] - _col(cy), _XX[None] - _col(cx)
        c, s = _col(np.cos(rot)), _col(np.sin(rot))
        u, v = dx * c + dy * s, -dx * s + dy * c
        mask = np.zeros((m, SIZE, SIZE), dtype=np.float32)
        lab = labels[a:b]
        for k in range(len(SOURCE_CLASSES)):
            sel = lab == k
            if sel.any():
                mask[sel] = source_masks(k, u[sel], v[sel], r0[sel])
        x = bg * (1 - mask[..., None]) + fg * mask[..., None]
        x += rng.normal(0, 1, x.shape) * rng.uniform(0.01, 0.06, (m, 1, 1, 1))
        images[a:b] = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    return {"images": images, "labels": labels.astype(np.int64)}


# --------------------------------------------------------------------------------------------------
# CLI glue


def _floats(text: str, count: int, flag: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count or not all(0 <= x <= 1 for x in values):
        raise PrepError(f"{flag} expects {count} comma-separated probabilities in [0, 1], got {text!r}")
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The V3 generator's knobs (defaults: the study's design)."""
    p.add_argument("--train", type=int, default=2000, help="training images (default 2000)")
    p.add_argument("--val", type=int, default=1500, help="validation images (default 1500)")
    p.add_argument("--test", type=int, default=4000, help="test images (default 4000)")
    p.add_argument("--minority-share", type=float, default=0.15, help="P(minority) (default 0.15)")
    p.add_argument("--positive-rate", type=float, default=0.40, help="P(y = 1) (default 0.40)")
    p.add_argument("--contrast", default="0.60,0.35", metavar="MAJ,MIN",
                   help="lesion contrast for majority,minority (default 0.60,0.35)")
    p.add_argument("--marker-train", default="0.15,0.45,0.05,0.85", metavar="MAJ0,MAJ1,MIN0,MIN1",
                   help="train P(marker | group, label) (default 0.15,0.45,0.05,0.85)")
    p.add_argument("--marker-eval", type=float, default=0.25, help="val/test P(marker) (default 0.25)")
    p.add_argument("--shortcut-strength", type=float, default=1.0,
                   help="0 = no shortcut, 1 = the --marker-train rates (default 1)")
    p.add_argument("--label-noise", type=float, default=0.0, help="train labels flipped (V4: 0.05)")
    p.add_argument("--underdiagnosis", type=float, default=0.0,
                   help="train minority positives labelled 0 (V4: 0.25)")


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    """Split sizes of the source task."""
    p.add_argument("--train", type=int, default=24000, help="training images (default 24000)")
    p.add_argument("--val", type=int, default=2000, help="validation images (default 2000)")
    p.add_argument("--test", type=int, default=2000, help="test images (default 2000)")


def target_config(args) -> TargetConfig:
    """A validated :class:`TargetConfig` from the command line."""
    contrast = tuple(float(x) for x in args.contrast.split(",")) if "," in args.contrast else ()
    if len(contrast) != 2:
        raise PrepError(f"--contrast expects MAJ,MIN, got {args.contrast!r}")
    for flag, x in (("--minority-share", args.minority_share), ("--positive-rate", args.positive_rate),
                    ("--marker-eval", args.marker_eval), ("--shortcut-strength", args.shortcut_strength),
                    ("--label-noise", args.label_noise), ("--underdiagnosis", args.underdiagnosis)):
        if not 0 <= x <= 1:
            raise PrepError(f"{flag} must be in [0, 1], got {x}")
    return TargetConfig(args.minority_share, args.positive_rate, contrast[0], contrast[1],
                        _floats(args.marker_train, 4, "--marker-train"), args.marker_eval,
                        args.shortcut_strength, args.label_noise, args.underdiagnosis)


def _resized(images: np.ndarray, size: int) -> np.ndarray:
    if size == SIZE:
        return images
    from PIL import Image

    return np.stack([resize_center_crop(Image.fromarray(x), size) for x in images])


def _counts(args) -> dict[str, int]:
    counts = {"train": args.train, "val": args.val, "test": args.test}
    for k, v in counts.items():
        if v < 1:
            raise PrepError(f"--{k} must be at least 1, got {v}")
    return counts


def prepare(args) -> Prepared:
    """Generates the three V3 splits (seeds --seed + 1, 2, 3)."""
    cfg = target_config(args)
    base = 0 if args.seed is None else args.seed
    splits, seeds = {}, {}
    for offset, (name, n) in enumerate(_counts(args).items(), start=1):
        seeds[name] = base + offset
        d = generate_target(n, seeds[name], name == "train", cfg)
        ids = [f"{name}-{i:06d}" for i in range(n)]
        splits[name] = SplitData(labels=d["labels"], attrs={"group": d["groups"], "marker": d["marker"].astype(np.int64)},
                                 sample_ids=ids, patient_ids=ids, images=ArrayImages(_resized(d["images"], args.size)))
    attrs = (Attribute("group", ("majority", "minority")), Attribute("marker", ("absent", "present")))
    spec = DatasetSpec(NAME, "lesion", ("benign", "malignant"), attrs, args.size, args.size,
                       args.normalization or "synthetic")
    notes = {"design": "V3", "seeds": seeds, "config": dataclasses.asdict(cfg)}
    return Prepared(spec, splits, [], notes)


def prepare_source(args) -> Prepared:
    """Generates the three source-task splits (seeds --seed + 0, 1, 2; default base 100)."""
    base = 100 if args.seed is None else args.seed
    splits, seeds = {}, {}
    for offset, (name, n) in enumerate(_counts(args).items()):
        seeds[name] = base + offset
        d = generate_source(n, seeds[name])
        ids = [f"{name}-{i:06d}" for i in range(n)]
        splits[name] = SplitData(labels=d["labels"], attrs={}, sample_ids=ids, patient_ids=ids,
                                 images=ArrayImages(_resized(d["images"], args.size)))
    spec = DatasetSpec(SOURCE_NAME, "shape", SOURCE_CLASSES, (), args.size, args.size,
                       args.normalization or "synthetic")
    return Prepared(spec, splits, [], {"seeds": seeds})
