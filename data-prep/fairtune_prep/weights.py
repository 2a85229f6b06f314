"""Pretrained ViT weights from timm's models on the Hugging Face hub, ready for ``fairtune train --weights``.

timm publishes each model as ``model.safetensors`` (timm's tensor names, which fairtune loads as
they are) and ``config.json``, whose ``pretrained_cfg`` holds the input size and the mean and std
the model was trained with. This command downloads both (through ``huggingface_hub``: its cache,
``HF_HOME``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE`` apply), copies the tensors byte for byte and adds
to the file's ``__metadata__`` (safetensors metadata values are strings):

  num_heads      attention heads (read by fairtune; from config.json's ``model_args``, else timm's
                 architecture name, checked against the width of the tensors; ``--num-heads``)
  image_size     pretrained input side, e.g. "224"
  mean, std      per-channel, "R,G,B" as fairtune's ``--mean``/``--std``, e.g. "0.5,0.5,0.5"
  interpolation, crop_pct   timm's evaluation resize, when config.json gives them
  source, revision, architecture   hub name, commit and timm architecture, for provenance
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import struct
import sys
from pathlib import Path

from ._temporary import remove, remove_stale, temporary_name
from .errors import PrepError

NAME = "weights"
HELP = "download a timm ViT from the Hugging Face hub as safetensors with fairtune's metadata"
# timm's ViT sizes: the word in the architecture name -> (width, heads).
VIT_SIZES = {"tiny": (192, 3), "small": (384, 6), "medium": (512, 8), "base": (768, 12), "large": (1024, 16),
             "huge": (1280, 16), "giant": (1408, 16), "gigantic": (1664, 16)}
# A safetensors header larger than this is not a model's header but a damaged file.
MAX_HEADER = 100 * 1024 * 1024


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("model", help="timm hub name, e.g. timm/vit_base_patch16_224.augreg2_in21k_ft_in1k "
                                 "(without an owner, timm/ is assumed)")
    p.add_argument("--out", type=Path, required=True, help="folder for MODEL.safetensors (created if needed)")
    p.add_argument("--revision", default=None, help="hub branch, tag or commit (default: main)")
    p.add_argument("--num-heads", type=int, default=None,
                   help="attention heads, for an architecture this command does not know")
    p.add_argument("--force", action="store_true", help="replace an existing output file")


def repo_name(model: str) -> str:
    """``owner/name`` on the hub; a bare timm name gets the ``timm/`` owner."""
    return model if "/" in model else f"timm/{model}"


def download(repo: str, revision: str | None) -> tuple[Path, Path]:
    """Paths of ``model.safetensors`` and ``config.json`` in the hub cache (downloaded if needed)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HFValidationError

    paths = []
    for filename in ("model.safetensors", "config.json"):
        try:
            paths.append(Path(hf_hub_download(repo, filename, revision=revision)))
        except (EntryNotFoundError, HFValidationError, OSError, ConnectionError) as e:
            raise PrepError(f"{repo}: cannot get {filename} from the Hugging Face hub or its local cache "
                            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); check the name, "
                            f"the network (HF_HUB_OFFLINE=1 uses the cache only) and HF_TOKEN for gated models") from None
    return paths[0], paths[1]


def read_header(path: Path, name: str) -> tuple[dict, int]:
    """The safetensors header as a dict and the offset of the tensor data; errors name the file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise PrepError(f"{name}: shorter than a safetensors header ({size} bytes)")
        length = struct.unpack("<Q", prefix)[0]
        if length > min(size - 8, MAX_HEADER):
            raise PrepError(f"{name}: header length {length} exceeds the file ({size} bytes): not safetensors or truncated")
        try:
            header = json.loads(f.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PrepError(f"{name}: header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise PrepError(f"{name}: header is not a JSON object")
    ends = [tensor_end(header[k], k, name) for k in header if k != "__metadata__"]
    if max(ends, default=0) != size - 8 - length:
        raise PrepError(f"{name}: tensor data ends at {max(ends, default=0)} but the file holds "
                        f"{size - 8 - length} bytes of data: truncated or damaged")
    return header, 8 + length


def tensor_end(entry, tensor: str, name: str) -> int:
    """The end offset of one header entry, after checking its fields' types."""
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if not (isinstance(entry, dict) and isinstance(entry.get("dtype"), str) and isinstance(entry.get("shape"), list)
            and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(x, int) for x in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise PrepError(f"{name}: header entry '{tensor}': expected dtype, shape and data_offsets [begin, end]")
    return offsets[1]


def vit_geometry(header: dict, name: str) -> tuple[int, int, int | None]:
    """(width, patch, grid or None) from ``patch_embed.proj.weight`` and ``pos_embed``."""
    patch = header.get("patch_embed.proj.weight", {}).get("shape")
    if not (isinstance(patch, list) and len(patch) == 4 and patch[2] == patch[3]):
        raise PrepError(f"{name}: no tensor 'patch_embed.proj.weight' of shape (width, 3, P, P): not a timm "
                        f"VisionTransformer, which is what fairtune loads")
    pos = header.get("pos_embed", {}).get("shape")
    grid = None
    if isinstance(pos, list) and len(pos) == 3:
        g = int(round((pos[1] - 1) ** 0.5)) if pos[1] > 1 else 0
        grid = g if g * g + 1 == pos[1] else None
    return patch[0], patch[2], grid


def heads_for(config: dict, width: int, option: int | None, name: str) -> int:
    """``--num-heads``, else config.json's ``model_args.num_heads``, else timm's size from the name."""
    if option is not None:
        if option < 1 or width % option:
            raise PrepError(f"--num-heads {option}: must be positive and divide the width {width}")
        return option
    args = config.get("model_args") or {}
    if isinstance(args.get("num_heads"), int) and args["num_heads"] > 0:
        return args["num_heads"]
    arch = str(config.get("architecture", ""))
    match = re.match(r"vit_([a-z]+)_", arch)
    size = VIT_SIZES.get(match.group(1)) if match else None
    if size is None or size[0] != width:
        raise PrepError(f"{name}: cannot tell the number of attention heads of architecture '{arch}' "
                        f"(width {width}); pass --num-heads")
    return size[1]


def channels(values, key: str, name: str) -> str:
    """Three numbers as "R,G,B"."""
    if not (isinstance(values, list) and len(values) == 3 and all(isinstance(x, (int, float)) for x in values)):
        raise PrepError(f"{name}: pretrained_cfg.{key}: expected 3 numbers, found {values!r}")
    return ",".join(repr(float(x)) for x in values)


def metadata(config: dict, header: dict, repo: str, weights: Path, heads: int | None, name: str) -> dict[str, str]:
    """The ``__metadata__`` entries fairtune reads (see the module's doc)."""
    cfg = config.get("pretrained_cfg")
    if not isinstance(cfg, dict):
        raise PrepError(f"{name}: no pretrained_cfg object: not a timm model's config.json")
    width, patch, grid = vit_geometry(header, f"{repo}/model.safetensors")
    size = cfg.get("input_size")
    if not (isinstance(size, list) and len(size) == 3 and all(isinstance(x, int) and x > 0 for x in size)):
        raise PrepError(f"{name}: pretrained_cfg.input_size: expected [3, H, W], found {size!r}")
    if grid is not None and grid * patch != size[2]:
        raise PrepError(f"{name}: pretrained_cfg.input_size {size} disagrees with the weights' position "
                        f"embedding ({grid} x {grid} patches of {patch})")
    meta = {"num_heads": str(heads_for(config, width, heads, name)), "image_size": str(size[2]),
            "mean": channels(cfg.get("mean"), "mean", name), "std": channels(cfg.get("std"), "std", name),
            "source": repo, "architecture": str(config.get("architecture", ""))}
    if any(float(x) <= 0 for x in meta["std"].split(",")):
        raise PrepError(f"{name}: pretrained_cfg.std: expected positive numbers, found {cfg.get('std')!r}")
    for key in ("interpolation", "crop_pct"):
        if cfg.get(key) is not None:
            meta[key] = str(cfg[key])
    if weights.parent.parent.name == "snapshots":
        meta["revision"] = weights.parent.name
    return meta


def write_with_metadata(source: Path, header: dict, data_start: int, meta: dict[str, str], target: Path) -> None:
    """``source``'s tensors byte for byte under a header whose ``__metadata__`` gains ``meta``;
    written to a temporary file in the target folder, then renamed."""
    merged = {k: str(v) for k, v in (header.get("__metadata__") or {}).items()}
    merged.update(meta)
    text = json.dumps({"__metadata__": merged, **{k: v for k, v in header.items() if k != "__metadata__"}},
                      separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned, as the safetensors writer does
    tmp = temporary_name(target)
    try:
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            dst.write(struct.pack("<Q", len(text)))
            dst.write(text)
            src.seek(data_start)
            shutil.copyfileobj(src, dst, 16 * 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, target)
    except BaseException:
        remove(tmp)
        raise


def run(args) -> Path:
    """Downloads ``args.model`` and writes ``args.out/NAME.safetensors``; returns its path."""
    repo = repo_name(args.model)
    target = args.out / f"{repo.rsplit('/', 1)[1]}.safetensors"
    if target.exists() and not args.force:
        raise PrepError(f"{target} already exists; pass --force to replace it")
    if target.exists() and not target.is_file():
        raise PrepError(f"{target} exists and is not a file; --force replaces only a weights file")
    weights, config_path = download(repo, args.revision)
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PrepError(f"{repo}/config.json: not valid JSON ({e})") from None
    header, data_start = read_header(weights, f"{repo}/model.safetensors")
    meta = metadata(config if isinstance(config, dict) else {}, header, repo, weights, args.num_heads,
                    f"{repo}/config.json")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for name in remove_stale(target):
            print(f"note: removed {args.out / name}, left by a run that was killed", file=sys.stderr)
        write_with_metadata(weights, header, data_start, meta, target)
    except OSError as e:
        raise PrepError(f"--out {args.out}: cannot write {target.name} ({e})") from None
    return target
