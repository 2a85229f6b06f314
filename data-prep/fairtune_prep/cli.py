"""Command line: ``python -m fairtune_prep <dataset> --raw DIR --out DIR ...``, ``csv --table FILE ...``
(your own dataset), ``weights MODEL --out DIR`` and ``check DIR``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import (__version__, chexpert, fitzpatrick17k, ham10000, harvard_gf3300, oasis1, ol3i, papila, synthetic,
               table, weights)
from ._shards import DEFAULT_SHARD_SIZE, NORMALIZATIONS, check_dataset, check_output, format_summary, write_dataset
from .errors import PrepError

REAL_DATASETS = (ham10000, fitzpatrick17k, papila, ol3i, oasis1, chexpert, harvard_gf3300)


def _add_common(p: argparse.ArgumentParser, raw: bool, size: int) -> None:
    if raw:
        p.add_argument("--raw", type=Path, required=True, help="folder holding the release as published")
    p.add_argument("--out", type=Path, required=True, help="output folder (must not exist unless --force)")
    p.add_argument("--size", type=int, default=size, help=f"image side after resize and centre crop (default {size})")
    p.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE,
                   help=f"samples per shard at most (default {DEFAULT_SHARD_SIZE})")
    p.add_argument("--seed", type=int, default=None,
                   help="override the split (or generator) seeds; default: the documented ones")
    p.add_argument("--gzip", type=int, default=0, help="gzip level 1-9 for images (default 0: none)")
    p.add_argument("--normalization", choices=sorted(NORMALIZATIONS), default=None,
                   help="mean/std written to the manifest (default imagenet; synthetic for synthetic data)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    if raw:
        p.add_argument("--skip-missing", action="store_true",
                       help="drop rows whose image file is missing (after the split is made) instead of failing")


def build_parser() -> argparse.ArgumentParser:
    """One sub-command per dataset (``csv`` for your own), plus ``weights`` and ``check``."""
    parser = argparse.ArgumentParser(prog="python -m fairtune_prep",
                                     description="Prepare fairtune HDF5 shards from medical-imaging datasets.")
    parser.add_argument("--version", action="version", version=f"fairtune_prep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="DATASET|csv|weights|check")
    p = sub.add_parser(table.NAME, help=table.HELP, description=table.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p, raw=False, size=256)
    table.add_arguments(p)
    p.set_defaults(prepare=table.prepare, raw=None)
    for module in REAL_DATASETS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common(p, raw=True, size=256)
        module.add_arguments(p)
        p.set_defaults(prepare=module.prepare)
    p = sub.add_parser(synthetic.NAME, help=synthetic.HELP, description=synthetic.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p, raw=False, size=synthetic.SIZE)
    synthetic.add_arguments(p)
    p.set_defaults(prepare=synthetic.prepare, skip_missing=False, raw=None)
    p = sub.add_parser(synthetic.SOURCE_NAME, help=synthetic.SOURCE_HELP, description=synthetic.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p, raw=False, size=synthetic.SIZE)
    synthetic.add_source_arguments(p)
    p.set_defaults(prepare=synthetic.prepare_source, skip_missing=False, raw=None)
    p = sub.add_parser(weights.NAME, help=weights.HELP, description=weights.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    weights.add_arguments(p)
    p = sub.add_parser("check", help="validate a prepared dataset and print counts per split x group x class")
    p.add_argument("dir", type=Path, help="a prepared dataset folder (holding manifest.json)")
    p.add_argument("--quick", action="store_true", help="do not read the images (metadata and counts only)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _options(args) -> dict:
    skip = {"prepare", "command", "split_seeds"}
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(args).items()) if k not in skip}


def _inputs(args) -> list[Path]:
    """What a command reads (``--raw``, or ``--table`` and ``--images``): never an output to replace."""
    return [p for p in (args.raw, getattr(args, "table", None), getattr(args, "images", None)) if p is not None]


def run(argv: list[str]) -> int:
    """Runs one command; raises :class:`PrepError` on bad input."""
    args = build_parser().parse_args(argv)
    if args.command == "check":
        summary = check_dataset(args.dir, read_images=not args.quick, progress=not args.quiet)
        print(format_summary(summary))
        print(f"OK: {args.dir} is a valid fairtune-shards v1 dataset")
        return 0
    if args.command == weights.NAME:
        print(f"wrote {weights.run(args)}")
        return 0
    if args.size < 8:
        raise PrepError(f"--size must be at least 8, got {args.size}")
    if args.raw is not None and not args.raw.is_dir():
        raise PrepError(f"--raw {args.raw}: not a folder")
    inputs = _inputs(args)
    check_output(args.out, args.force, inputs)
    prepared = args.prepare(args)
    provenance = {"command": "python -m fairtune_prep " + shlex.join(argv), "options": _options(args),
                  "raw_files": prepared.raw_files, "notes": prepared.notes}
    manifest = write_dataset(args.out, prepared.spec, prepared.splits, shard_size=args.shard_size, gzip=args.gzip,
                             provenance=provenance, force=args.force, progress=not args.quiet, inputs=inputs)
    counts = ", ".join(f"{k} {v['count']}" for k, v in manifest["splits"].items())
    print(f"wrote {args.out}: {manifest['dataset']} ({counts})")
    for k, v in prepared.notes.items():
        if k.startswith(("skipped", "dropped")) and v:
            print(f"note: {k.replace('_', ' ')}: {v}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """The console entry point: returns 0, or 1 after printing ``error: ...`` on stderr."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(argv)
    except PrepError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; no output was left behind", file=sys.stderr)
        return 130
