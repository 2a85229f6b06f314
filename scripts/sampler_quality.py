"""Sampler quality: our TPE against Optuna 5.0.0's TPESampler and RandomSampler on a synthetic mask search.

The objective (maximise) has the shape of FairTune's search, 48 parameters `Mask Idx i` in {0, 1} and a
log-uniform `lr` in [1e-5, 1e-3], and is defined identically in `fairtune bench sampler`:

    f = sum_i sin(1.3 i + 0.5) b_i + sum_{k<8} 1.5 b_{6k} b_{6k+3} + 3 exp(-((log10 lr + 3.7) / 0.3)^2 / 2)

`noisy-bits` observes f + sqrt(3) * 0.5 * (2u - 1) (uniform noise, sd 0.5), u the first unit draw of our
SplitMix64 generator for (seed, trial number), re-implemented below. Each study runs `--trials` trials with
sampler seed s for s < `--seeds`; a study's score is the true f of the trial observed best.

    python scripts/sampler_quality.py [--seeds 20] [--trials 60] [--binary .build/release/fairtune]

prints, per problem, the median (and quartiles) of the scores of ours (tpe, random) and Optuna's (tpe, random), and
the gap between the two TPE medians with a bootstrap interval: 20 seeds are few for this spread (BENCHMARKS.md).
"""
import argparse
import json
import math
import os
import pathlib
import subprocess
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
BITS = 48
MASK64 = (1 << 64) - 1


def objective(bits, lr):
    total = sum(math.sin(1.3 * i + 0.5) * bits[i] for i in range(BITS))
    total += sum(1.5 * bits[6 * k] * bits[6 * k + 3] for k in range(8))
    z = (math.log10(lr) + 3.7) / 0.3
    return total + 3 * math.exp(-0.5 * z * z)


def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def noise(seed, trial):
    """Our `SeededRandom(seed:_:_:)` for (seed, trial, "NOISE") and its first `nextUnit()`."""
    state = _mix((seed + 0x9E3779B97F4A7C15) & MASK64)
    state = _mix(((state ^ trial) + 0xBF58476D1CE4E5B9) & MASK64)
    state = _mix(((state ^ 0x4E4F495345) + 0x94D049BB133111EB) & MASK64)
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    unit = (_mix(state) >> 11) * 2.0 ** -53
    return math.sqrt(3) * 0.5 * (2 * unit - 1)


def optuna_scores(sampler_name, problem, seeds, trials):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    scores = []
    for seed in range(seeds):
        sampler = optuna.samplers.TPESampler(seed=seed) if sampler_name == "tpe" else optuna.samplers.RandomSampler(seed=seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        truths = {}

        def run(trial):
            bits = [trial.suggest_int(f"Mask Idx {i}", 0, 1) for i in range(BITS)]
            lr = trial.suggest_float("lr", 1e-5, 1e-3, log=True)
            truths[trial.number] = objective(bits, lr)
            return truths[trial.number] + (noise(seed, trial.number) if problem == "noisy-bits" else 0.0)

        study.optimize(run, n_trials=trials)
        scores.append(truths[study.best_trial.number])
    return scores


def our_scores(binary, sampler_name, problem, seeds, trials):
    result = subprocess.run([str(binary), "bench", "sampler", "--sampler", sampler_name, "--problem", problem,
                             "--seeds", str(seeds), "--trials", str(trials)], capture_output=True, text=True, check=True)
    return [json.loads(line)["best"] for line in result.stdout.splitlines()]


def compare(binary, problem, seeds, trials):
    """{label: (scores, seconds)} for ours and Optuna's TPE and random samplers."""
    results = {}
    for label, run in [("ours tpe", lambda: our_scores(binary, "tpe", problem, seeds, trials)),
                       ("optuna tpe", lambda: optuna_scores("tpe", problem, seeds, trials)),
                       ("ours random", lambda: our_scores(binary, "random", problem, seeds, trials)),
                       ("optuna random", lambda: optuna_scores("random", problem, seeds, trials))]:
        start = time.perf_counter()
        scores = run()
        results[label] = (scores, time.perf_counter() - start)
    return results


def table(problem, results):
    lines = [f"{problem}: best true value per study (maximise; optimum {optimum():.3f})",
             "sampler         median    q25      q75      seconds"]
    for label, (scores, seconds) in results.items():
        q25, median, q75 = np.quantile(scores, [0.25, 0.5, 0.75])
        lines.append(f"{label:<14} {median:8.3f} {q25:8.3f} {q75:8.3f} {seconds:9.1f}")
    return "\n".join(lines)


def median_gap(results, draws=4000):
    """Ours minus Optuna's TPE median, with a bootstrap 95% interval over the seeds (the noise of this many seeds)."""
    ours, theirs = np.array(results["ours tpe"][0]), np.array(results["optuna tpe"][0])
    rng = np.random.default_rng(0)
    gaps = [np.median(rng.choice(ours, len(ours))) - np.median(rng.choice(theirs, len(theirs))) for _ in range(draws)]
    low, high = np.quantile(gaps, [0.025, 0.975])
    return f"TPE median, ours minus Optuna: {np.median(ours) - np.median(theirs):+.3f} (bootstrap 95% interval {low:+.3f} to {high:+.3f})"


def optimum():
    """The objective's maximum (bits chosen exhaustively per interacting pair, lr at the bump)."""
    weights = [math.sin(1.3 * i + 0.5) for i in range(BITS)]
    total = sum(max(w, 0.0) for i, w in enumerate(weights) if all(i not in (6 * k, 6 * k + 3) for k in range(8)))
    for k in range(8):
        a, b = weights[6 * k], weights[6 * k + 3]
        total += max(0.0, a, b, a + b + 1.5)
    return total + 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--binary", default=os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
    parser.add_argument("--problem", choices=["bits", "noisy-bits", "both"], default="both")
    args = parser.parse_args()
    problems = ["bits", "noisy-bits"] if args.problem == "both" else [args.problem]
    print(f"{args.seeds} seeds x {args.trials} trials")
    for problem in problems:
        results = compare(args.binary, problem, args.seeds, args.trials)
        print(table(problem, results))
        print(median_gap(results))


if __name__ == "__main__":
    main()
