"""fairtune against PyTorch on this host: the PEFT step of issue 16, side by side, as one table.

Run from the repository root after `make build` (or `make test`), with the virtual environment's
Python (it has torch and timm):

    .venv/bin/python scripts/bench_host.py [--rounds 3] [--steps 3] [--ranks]

Each round runs every mode once, in this order, each in a fresh process: fairtune fp32 on OpenBLAS,
fairtune fp32 on the library measured at start-up, fairtune with bf16 where it measures faster,
PyTorch fp32 and PyTorch under bf16 autocast (`data-prep/bench_pytorch.py`). Rounds interleave the
modes, so a slow spell of a shared host falls on all of them. The step is the ViT-S/16 PEFT step of
BENCHMARKS.md: forward, cross-entropy and backward, training block-parts4 on the last half of the
blocks plus the head (PyTorch: every parameter of those blocks plus the head).

Prints a Markdown table (CPU, each mode's best and per-round images/s, peak memory, GFLOP/s against
the ceiling measured in the same run) and the target: our fastest mode at least 1.5x PyTorch's
fastest, with lower peak memory. With --ranks it also times the data-parallel step on 2 ranks × 1
thread against 1 rank × 2 threads (target: within 10%). Paste the output into BENCHMARKS.md.
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SPEEDUP = 1.5
TARGET_RANKS = 0.10

# (label, fairtune bench train options)
FAIRTUNE_MODES = [
    ("fairtune fp32, OpenBLAS", ["--precision", "fp32", "--gemm", "openblas"]),
    ("fairtune fp32, library measured", ["--precision", "fp32", "--gemm", "auto"]),
    ("fairtune auto (bf16 where faster)", ["--precision", "auto", "--gemm", "auto"]),
]
# (label, bench_pytorch.py precision)
PYTORCH_MODES = [("PyTorch fp32", "fp32"), ("PyTorch bf16 autocast", "bf16")]


def peft_mask(model):
    """block-parts4 bits (norm1, attention, norm2, MLP per block) training the last half of the blocks."""
    depth = 24 if "large" in model else 12
    return "0000" * (depth // 2) + "1111" * (depth // 2)


def parse_fairtune(text):
    """The PEFT row of `fairtune bench train`: images/s, GFLOP/s, of ceiling, peak MiB and the modes chosen."""
    row = re.search(r"^train block-parts4\s+\d+ \([\d.]+%\)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+(\d+)%\s+(\d+)\s*$", text, re.M)
    if row is None:
        raise ValueError("no 'train block-parts4' row in fairtune bench train's output:\n" + text)
    chosen = re.search(r"^GEMM \([^)]*\): (.*?) \((?:forced|measured)", text, re.M)
    return {"img_s": float(row.group(1)), "gflops": float(row.group(2)), "of_ceiling": int(row.group(3)),
            "peak_mib": int(row.group(4)), "gemm": chosen.group(1) if chosen else "?"}


def parse_pytorch(text):
    """The one line of `bench_pytorch.py --mode M --precision P`: images/s and peak MiB."""
    line = re.search(r"([\d.]+) img/s\s+peak\s+(\d+) MiB", text)
    if line is None:
        raise ValueError("no 'img/s ... peak ... MiB' line in bench_pytorch.py's output:\n" + text)
    return {"img_s": float(line.group(1)), "peak_mib": int(line.group(2))}


def parse_ranks(text):
    """Images/s of `fairtune bench train --ranks N`."""
    line = re.search(r"^step [\d.]+ s \(([\d.]+) img/s\)", text, re.M)
    if line is None:
        raise ValueError("no 'step ... img/s' line in fairtune bench train --ranks's output:\n" + text)
    return float(line.group(1))


def verdict(results):
    """Our fastest mode against PyTorch's fastest: best of rounds and the median of per-round ratios.

    `results` maps a label to its list of per-round result dicts (fairtune labels first).
    """
    ours = {k: v for k, v in results.items() if k.startswith("fairtune")}
    theirs = {k: v for k, v in results.items() if k.startswith("PyTorch")}
    ours_best = max(ours, key=lambda k: max(r["img_s"] for r in ours[k]))
    theirs_best = max(theirs, key=lambda k: max(r["img_s"] for r in theirs[k]))
    best = max(r["img_s"] for r in ours[ours_best]) / max(r["img_s"] for r in theirs[theirs_best])
    rounds = min(len(v) for v in results.values())
    per_round = [max(v[i]["img_s"] for v in ours.values()) / max(v[i]["img_s"] for v in theirs.values())
                 for i in range(rounds)]
    our_peak = max(r["peak_mib"] for r in ours[ours_best])
    their_peak = min(r["peak_mib"] for r in theirs[theirs_best])
    met = best >= TARGET_SPEEDUP and statistics.median(per_round) >= TARGET_SPEEDUP and our_peak < their_peak
    return {"ours": ours_best, "theirs": theirs_best, "best": best, "median": statistics.median(per_round),
            "our_peak": our_peak, "their_peak": their_peak, "met": met}


def cpu_description(env_text):
    """The CPU, its SIMD flags and logical CPUs as `fairtune env` describes them."""
    fields = {}
    for line in env_text.splitlines():
        match = re.match(r"(CPU flags|CPU|logical CPUs)\s{2,}(.*)", line)
        if match:
            fields[match.group(1)] = match.group(2)
    return (f"{fields.get('CPU', 'unknown CPU')}, flags: {fields.get('CPU flags', '?')}; "
            f"{fields.get('logical CPUs', '?')} logical CPUs")


def run(command, env=None):
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: `{' '.join(command)}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode and round")
    parser.add_argument("--model", default="vit_small_patch16_224")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's threads (fairtune uses every core it may run on)")
    parser.add_argument("--fairtune", default=str(ROOT / ".build/release/fairtune"))
    parser.add_argument("--ranks", action="store_true", help="also time 2 ranks × 1 thread against 1 rank × 2 threads")
    args = parser.parse_args()
    if not os.access(args.fairtune, os.X_OK):
        raise SystemExit(f"error: {args.fairtune} is not an executable; run `make build` first or pass --fairtune PATH")
    # OpenBLAS picks its kernel for this CPU itself (an inherited OPENBLAS_CORETYPE would override it).
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    common = ["--model", args.model, "--batch-size", str(args.batch_size), "--steps", str(args.steps)]
    results = {label: [] for label, _ in FAIRTUNE_MODES + PYTORCH_MODES}
    for _ in range(args.rounds):
        for label, options in FAIRTUNE_MODES:
            out = run([args.fairtune, "bench", "train", *common, "--tuning", "block-parts4",
                       "--mask", peft_mask(args.model), *options], env)
            results[label].append(parse_fairtune(out))
        for label, precision in PYTORCH_MODES:
            out = run([sys.executable, "data-prep/bench_pytorch.py", *common, "--threads", str(args.threads),
                       "--mode", "peft-last-half", "--precision", precision], env)
            results[label].append(parse_pytorch(out))
    print(report(args, results, cpu_description(run([args.fairtune, "env"], env))))
    if args.ranks:
        print(ranks_report(args, common, env))


def report(args, results, cpu):
    lines = [f"Host: {cpu}; "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.",
             f"{args.model}, batch {args.batch_size}, PEFT on the last half of the blocks, {args.rounds} interleaved "
             f"rounds of {args.steps} timed steps (`scripts/bench_host.py --rounds {args.rounds} --steps {args.steps}`).", "",
             "| mode | img/s, best | img/s per round | peak MiB | GFLOP/s, of ceiling | products |",
             "|---|---|---|---|---|---|"]
    for label, rows in results.items():
        rates = ", ".join(f"{r['img_s']:.2f}" for r in rows)
        ceiling = (f"{max(r['gflops'] for r in rows):.0f}, {spread([r['of_ceiling'] for r in rows])}%"
                   if "gflops" in rows[0] else "")
        gemm = "; ".join(sorted({r["gemm"] for r in rows})) if "gemm" in rows[0] else ""
        lines.append(f"| {label} | {max(r['img_s'] for r in rows):.2f} | {rates} | "
                     f"{max(r['peak_mib'] for r in rows)} | {ceiling} | {gemm} |")
    v = verdict(results)
    lines += ["", f"Target: {v['ours']} against {v['theirs']}: {v['best']:.2f}x best against best, "
                  f"{v['median']:.2f}x the median round; peak {v['our_peak']} against {v['their_peak']} MiB: "
                  + ("**met**" if v["met"] else f"**not met** (needs {TARGET_SPEEDUP}x and lower memory)") + "."]
    return "\n".join(lines)


def spread(values):
    """`81–84`, or `83` when every round gave the same."""
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


def ranks_report(args, common, env):
    base = [args.fairtune, "bench", "train", "--model", args.model, "--batch-size", str(args.batch_size),
            "--steps", "8", "--tuning", "block-parts4", "--mask", peft_mask(args.model)]
    two = parse_ranks(run(base + ["--ranks", "2", "--threads", "1"], env))
    one = parse_ranks(run(base + ["--ranks", "1", "--threads", "2"], env))
    gap = (one - two) / one
    return (f"\nData-parallel step (`bench train --ranks N --steps 8`): 2 ranks × 1 thread {two:.1f} img/s, 1 rank × 2 "
            f"threads {one:.1f}: {gap * 100:+.1f}% slower, " + ("**within 10%**." if gap <= TARGET_RANKS else "**not within 10%**."))


if __name__ == "__main__":
    main()
