"""Optuna's own JournalFileBackend doing the work of `fairtune bench study`: W worker processes
ask (TPESampler, Optuna 5's defaults) and tell on one journal until N trials are COMPLETE, with the
same synthetic objective (48 mask bits named "Mask Idx i" and a log-uniform lr).

    python scripts/bench_study_optuna.py --workers 16 --trials 1000

Prints trials per second, the mean time per ask and per tell, the journal's size, and the ask time
per block of trial numbers (the lock wait is inside ask and tell: Optuna does not expose it).
"""
import argparse
import json
import math
import multiprocessing
import os
import tempfile
import time

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend


def objective(params, bits):
    value = sum(params[f"Mask Idx {i}"] * (((i * 7) % 11) - 5) / 5 for i in range(bits))
    return value - (math.log10(params["lr"]) + 4) ** 2


def worker(path, trials, bits, seed, index, results):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="bench", storage=JournalStorage(JournalFileBackend(path)),
                              sampler=optuna.samplers.TPESampler(seed=seed + index))
    asks, tell_seconds = [], 0.0
    while True:
        done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if len(done) >= trials:
            break
        if len(done) + len(running) >= trials:
            time.sleep(0.002)
            continue
        start = time.perf_counter()
        trial = study.ask()
        for i in range(bits):
            trial.suggest_int(f"Mask Idx {i}", 0, 1)
        trial.suggest_float("lr", 1e-5, 1e-3, log=True)
        asks.append((trial.number, time.perf_counter() - start))
        start = time.perf_counter()
        study.tell(trial, objective(trial.params, bits))
        tell_seconds += time.perf_counter() - start
    results.put(json.dumps({"asks": asks, "tell_seconds": tell_seconds}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--mask-bits", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bench.log")
        optuna.create_study(study_name="bench", direction="maximize", storage=JournalStorage(JournalFileBackend(path)))
        results = multiprocessing.Queue()
        start = time.perf_counter()
        processes = [multiprocessing.Process(target=worker, args=(path, args.trials, args.mask_bits, args.seed, i, results))
                     for i in range(args.workers)]
        for p in processes:
            p.start()
        reports = [json.loads(results.get()) for _ in processes]
        for p in processes:
            p.join()
        seconds = time.perf_counter() - start
        size = os.path.getsize(path)
    asks = [tuple(a) for r in reports for a in r["asks"]]
    tell = sum(r["tell_seconds"] for r in reports)
    print(f"optuna {optuna.__version__}: workers {args.workers}, trials {args.trials}: {seconds:.2f} s, "
          f"{args.trials / seconds:.1f} trials/s")
    print(f"ask (TPE) {1000 * sum(s for _, s in asks) / len(asks):.2f} ms mean, tell {1000 * tell / len(asks):.2f} ms mean; "
          f"{len(asks)} trials asked")
    print(f"journal {size} bytes ({size // args.trials} per trial)")
    block = max(1, args.trials // 10)
    line = "ask ms by trial number:"
    for first in range(0, args.trials, block):
        chunk = [s for n, s in asks if first <= n < first + block]
        if chunk:
            line += f" {first}-{first + block - 1} {1000 * sum(chunk) / len(chunk):.2f};"
    print(line)


if __name__ == "__main__":
    main()
