"""Sampler quality on a small budget: our TPE (`fairtune bench sampler`) against Optuna 5.0.0's TPESampler and
RandomSampler on the synthetic mask search of scripts/sampler_quality.py (48 bits + a log lr, exact and noisy).

Every sampler is seeded, so the outcome is fixed; the thresholds allow for the spread between seeds. Skipped
without the release binary or Optuna.
"""
import os
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
sys.path.insert(0, str(ROOT / "scripts"))
optuna = pytest.importorskip("optuna")
import sampler_quality  # noqa: E402

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)")
SEEDS, TRIALS = 10, 40


def median_standard_error(scores):
    """The large-sample standard error of a median: 1.2533 sd / sqrt(n)."""
    return 1.2533 * np.std(scores, ddof=1) / np.sqrt(len(scores))


@pytest.mark.parametrize("problem", ["bits", "noisy-bits"])
def test_our_tpe_matches_optuna_and_beats_random(problem):
    results = sampler_quality.compare(BINARY, problem, SEEDS, TRIALS)
    print(sampler_quality.table(problem, results))
    scores = {label: np.array(value[0]) for label, value in results.items()}
    assert all(len(s) == SEEDS for s in scores.values())
    ours, theirs = scores["ours tpe"], scores["optuna tpe"]
    noise = 2 * np.hypot(median_standard_error(ours), median_standard_error(theirs))
    assert np.median(ours) >= np.median(theirs) - noise, f"ours {np.median(ours):.3f} vs Optuna {np.median(theirs):.3f} (noise {noise:.3f})"
    best_random = max(np.median(scores["ours random"]), np.median(scores["optuna random"]))
    for label in ("ours tpe", "optuna tpe"):
        assert np.median(scores[label]) > best_random + 1.0, f"{label} {np.median(scores[label]):.3f} vs random {best_random:.3f}"


def test_noise_is_ours():
    """The script's noise is our SplitMix64 stream: the binary's observed minus true value at its best trial."""
    import json
    import subprocess

    out = subprocess.run([str(BINARY), "bench", "sampler", "--sampler", "random", "--problem", "noisy-bits",
                          "--seeds", "3", "--trials", "20"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        row = json.loads(line)
        assert row["best_observed"] - row["best"] == pytest.approx(sampler_quality.noise(row["seed"], row["best_trial"]), abs=1e-12)
