"""Checks that two `fairtune train` run directories hold bit-identical weights and the same
validation metrics at every epoch. Usage: python Tests/compare_runs.py RUN_A RUN_B"""
import json
import pathlib
import struct
import sys


def tensors(path):
    """The raw bytes of every tensor of a safetensors file, by name, and its metadata."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    return {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in header.items()}, meta


def main(a, b):
    ta, ma = tensors(a / "checkpoint.safetensors")
    tb, mb = tensors(b / "checkpoint.safetensors")
    if ma.get("ranks") != mb.get("ranks"):
        sys.exit(f"rank counts differ: {ma.get('ranks')} and {mb.get('ranks')}")
    if ta.keys() != tb.keys():
        sys.exit(f"tensor names differ: {sorted(ta.keys() ^ tb.keys())}")
    different = [k for k in ta if ta[k] != tb[k]]
    if different:
        sys.exit(f"weights differ between {a} and {b}: {different}")
    va = [json.loads(line)["val"] for line in (a / "metrics.jsonl").read_text().splitlines()]
    vb = [json.loads(line)["val"] for line in (b / "metrics.jsonl").read_text().splitlines()]
    if va != vb:
        sys.exit(f"validation metrics differ between {a} and {b}")


if __name__ == "__main__":
    main(*(pathlib.Path(p) for p in sys.argv[1:3]))
