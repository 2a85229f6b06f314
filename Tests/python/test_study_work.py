"""End-to-end tests of `fairtune study create/work/best/status` on the release binary.

Trials train the tiny ViT (Tests/Fixtures/vit/tiny_weights.safetensors) on small synthetic
datasets made at test time. Covers: 16 concurrent workers (exactly N finished, every trial number
trained once, Optuna names the same best trial), a worker killed with -9 (its stale trial failed
and retried), SIGUSR1 then the same worker id restarted (the trial resumes and ends bit for bit as
an uninterrupted `fairtune train`), 2 workers x mpirun -n 2, an undefined objective and a
diverging trial (FAIL with the reason, the worker goes on), the median pruner (as Optuna's decides),
a two-objective study (Optuna's Pareto set), bad input. Skipped when the release binary is missing
(`make test` builds it).
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
from optuna.storages import JournalStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from test_train import BINARY, MPIRUN, TINY, read_safetensors  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)"),
              pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")]
TRAIN = ["--weights", str(TINY), "--attribute", "group", "--batch-size", "32", "--threads", "1", "--log-interval", "1000"]


def synthetic(out, train, val):
    subprocess.run([sys.executable, "-m", "fairtune_prep", "synthetic", "--out", str(out), "--train", str(train),
                    "--val", str(val), "--test", "8", "--quiet"], check=True, cwd=ROOT / "data-prep")
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synthetic(tmp_path_factory.mktemp("data") / "synthetic", 64, 64)


def create(study, data, *extra, trials, epochs=1, tuning="block-parts4", check=True):
    args = [str(BINARY), "study", "create", "--study", str(study), "--trials", str(trials), "--data", str(data), *TRAIN,
            "--tuning", tuning, "--epochs", str(epochs), *map(str, extra)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def work(study, worker_id, *extra, ranks=1):
    args = [str(BINARY), "study", "work", "--study", str(study), "--worker-id", worker_id, *map(str, extra)]
    return subprocess.Popen((MPIRUN if ranks > 1 else []) + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, expected=0, timeout=600):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == expected, f"exit {process.returncode}\nstdout:\n{out}\nstderr:\n{err}"
    return out


def load(study):
    return optuna.load_study(study_name=None, storage=JournalStorage(JournalFileBackend(str(study))))


def best_json(study):
    result = subprocess.run([str(BINARY), "study", "best", "--study", str(study), "--json"], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout)


def wait_for(condition, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def running_with_epoch(study, worker_id):
    """The RUNNING trial of `worker_id` once it has reported an epoch, else None."""
    for t in load(study).get_trials(deepcopy=False):
        if (t.state == optuna.trial.TrialState.RUNNING and t.system_attrs.get("fairtune:worker") == worker_id
                and t.intermediate_values):
            return t
    return None


def check_run_directories(study, trials):
    """Every trial trained exactly its own parameters in its own run directory."""
    for t in trials:
        config = json.loads((study.parent / t.user_attrs["fairtune:run_dir"] / "config.json").read_text())
        mask = "".join(str(t.params[f"Mask Idx {i}"]) for i in range(8))
        assert t.user_attrs["fairtune:mask"] == mask
        assert config["settings"]["mask"] == mask and config["settings"]["lr"] == t.params["lr"] == t.user_attrs["fairtune:lr"]


def test_sixteen_workers_finish_exactly_n_trials(data, tmp_path):
    study = tmp_path / "many" / "study.log"
    create(study, data, "--startup-trials", "4", "--heartbeat-interval", "5", trials=20)
    workers = [work(study, f"w{i}") for i in range(16)]
    for w in workers:
        finish(w)
    loaded = load(study)
    trials = loaded.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(finished) == 20 and len(trials) == 20
    assert sorted(t.number for t in trials) == list(range(20))
    assert len({t.system_attrs["fairtune:worker"] for t in trials}) > 1
    check_run_directories(study, trials)
    best = best_json(study)["best_trials"]
    assert [b["number"] for b in best] == [loaded.best_trial.number]
    assert best[0]["values"] == [loaded.best_value]


def test_a_killed_workers_trial_is_failed_and_retried(data, tmp_path):
    study = tmp_path / "kill" / "study.log"
    create(study, data, "--sampler", "random", "--heartbeat-interval", "0.5", "--grace-period", "2", trials=2, epochs=10)
    victim = work(study, "victim")
    wait_for(lambda: running_with_epoch(study, "victim"))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finish(work(study, "rescuer"))
    trials = load(study).get_trials(deepcopy=False)
    states = [t.state for t in trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 2 and states.count(optuna.trial.TrialState.FAIL) == 1
    failed = next(t for t in trials if t.state == optuna.trial.TrialState.FAIL)
    retry = next(t for t in trials if t.system_attrs.get("failed_trial") == failed.number)
    assert optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == failed.number
    assert retry.params == failed.params and retry.state == optuna.trial.TrialState.COMPLETE
    assert retry.system_attrs["fairtune:worker"] == "rescuer"


def test_a_stopped_trial_resumes_bit_for_bit(data, tmp_path):
    study = tmp_path / "stop" / "study.log"
    create(study, data, "--sampler", "random", "--heartbeat-interval", "0.5", trials=1, epochs=12)
    first = work(study, "task-7")
    wait_for(lambda: running_with_epoch(study, "task-7"))
    first.send_signal(signal.SIGUSR1)
    finish(first, expected=75)
    (trial,) = load(study).get_trials(deepcopy=False)
    assert trial.state == optuna.trial.TrialState.RUNNING and trial.system_attrs["fairtune:worker"] == "task-7"
    assert json.loads((study.parent / "trials/0/result.json").read_text())["status"] == "stopped"
    out = finish(work(study, "task-7"))
    assert "resuming trial 0" in out
    (trial,) = load(study).get_trials(deepcopy=False)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    # The same trial as one uninterrupted `fairtune train` run.
    stored = json.loads(next(line for line in study.read_text().splitlines()
                             if "fairtune:train_arguments" in line))["user_attr"]["fairtune:train_arguments"]
    mask = trial.user_attrs["fairtune:mask"]
    whole = tmp_path / "whole"
    subprocess.run([str(BINARY), "train", *stored, "--lr", repr(trial.params["lr"]), "--mask", mask, "--out", str(whole)],
                   check=True, capture_output=True)
    a, _ = read_safetensors(study.parent / "trials/0/checkpoint.safetensors")
    b, _ = read_safetensors(whole / "checkpoint.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    # The objective (min_auc, the default) is the worst group's AUC over the whole validation split, as sklearn computes it.
    from sklearn.metrics import roc_auc_score
    import pandas as pd
    predictions = pd.read_csv(whole / "predictions-val.csv")
    worst = min(roc_auc_score(g["label"], g["score"]) for _, g in predictions.groupby("group"))
    assert trial.value == pytest.approx(worst, abs=1e-12)


def test_two_workers_of_two_mpi_ranks(data, tmp_path):
    study = tmp_path / "mpi" / "study.log"
    create(study, data, "--heartbeat-interval", "2", trials=4)
    workers = [work(study, f"mpi{i}", ranks=2) for i in range(2)]
    for w in workers:
        finish(w)
    loaded = load(study)
    trials = loaded.get_trials(deepcopy=False)
    assert len(trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    check_run_directories(study, trials)
    for t in trials:
        _, meta = read_safetensors(study.parent / t.user_attrs["fairtune:run_dir"] / "checkpoint.safetensors")
        assert meta["ranks"] == "2"
    assert best_json(study)["best_trials"][0]["number"] == loaded.best_trial.number


def test_an_undefined_objective_fails_the_trial_with_the_reason(tmp_path):
    # 6 validation images: the minority group has one class (checked below from the predictions).
    small = synthetic(tmp_path / "small", 64, 6)
    study = tmp_path / "undefined" / "study.log"
    create(study, small, "--objective", "min_auc", "--sampler", "random", trials=1)
    finish(work(study, "u", "--max-trials", "1"))
    (trial,) = load(study).get_trials(deepcopy=False)
    assert trial.state == optuna.trial.TrialState.FAIL and trial.values is None
    assert "undefined" in trial.user_attrs["fairtune:fail_reason"]
    import pandas as pd
    predictions = pd.read_csv(study.parent / "trials/0/predictions-val.csv")
    assert (predictions.groupby("group")["label"].nunique() == 1).any()


def test_a_diverging_trial_fails_and_the_worker_goes_on(data, tmp_path):
    study = tmp_path / "diverge" / "study.log"
    create(study, data, "--optimizer", "sgd", "--lr-range", "1000:1000", trials=2, epochs=3, tuning="full")
    out = finish(work(study, "d", "--max-trials", "2"))
    trials = load(study).get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL] * 2, out
    assert all("training diverged" in t.user_attrs["fairtune:fail_reason"] for t in trials)
    assert list(trials[0].params) == ["lr"]  # a method without a mask searches lr only


def test_bad_input_is_refused_before_anything_is_written(data, tmp_path):
    study = tmp_path / "bad" / "study.log"
    result = create(study, tmp_path / "missing", trials=2, check=False)
    assert result.returncode != 0 and "missing" in result.stderr and not study.exists()
    result = create(study, data, "--objective-attribute", "sex", trials=2, check=False)
    assert result.returncode != 0 and "--objective-attribute" in result.stderr and not study.exists()
    create(study, data, trials=2)
    result = create(study, data, trials=2, check=False)
    assert result.returncode != 0 and "--force" in result.stderr
    result = subprocess.run([str(BINARY), "study", "work", "--study", str(tmp_path / "none.log")], capture_output=True, text=True)
    assert result.returncode == 1 and "none.log" in result.stderr
    # Training options this version cannot honour: refused before any trial is claimed.
    study.write_text(study.read_text().replace('"--threads", "1"', '"--bogus", "1"').replace('"--threads","1"', '"--bogus","1"'))
    result = subprocess.run([str(BINARY), "study", "work", "--study", str(study)], capture_output=True, text=True)
    assert result.returncode == 1 and "fairtune:train_arguments" in result.stderr and "--bogus" in result.stderr
    assert load(study).get_trials() == []


def test_a_two_objective_study_gives_optunas_pareto_set(data, tmp_path):
    study = tmp_path / "pareto" / "study.log"
    create(study, data, "--objective", "overall_auc,auc_diff", "--sampler", "random", trials=4)
    finish(work(study, "p"))
    loaded = load(study)
    assert [d.name for d in loaded.directions] == ["MAXIMIZE", "MINIMIZE"]
    best = best_json(study)
    assert best["objectives"] == ["overall_auc", "auc_diff"]
    assert sorted(b["number"] for b in best["best_trials"]) == sorted(t.number for t in loaded.best_trials)


def test_the_median_pruner_stops_trials_after_an_epoch(data, tmp_path):
    study = tmp_path / "prune" / "study.log"
    create(study, data, "--pruner", "median", "--sampler", "random", trials=9, epochs=2)
    finish(work(study, "m"))  # one worker, seeded sampler and training: the same trials prune every run
    trials = load(study).get_trials(deepcopy=False)
    pruned = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(trials) == 9 and pruned
    for t in pruned:
        # Optuna's MedianPruner, asked about the same history, agrees.
        earlier = [s for s in trials if s.number < t.number and s.state != optuna.trial.TrialState.RUNNING]
        history = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner())
        history.add_trials(earlier)
        step = max(t.intermediate_values)
        assert step == 1 and t.user_attrs["fairtune:epochs_trained"] == 1 and t.value == t.intermediate_values[step]
        frozen = history.ask()
        frozen.report(t.intermediate_values[step], step)
        assert frozen.should_prune()
        assert json.loads((study.parent / t.user_attrs["fairtune:run_dir"] / "result.json").read_text())["status"] == "pruned"


def test_a_searched_head_lr_multiplier_reaches_each_trial_and_stage_2(data, tmp_path):
    """--head-lr-multiplier-range adds a log-uniform head_lr_multiplier: each trial's head trains at
    lr x its value (recorded in the run's config.json), Optuna sees the parameter, and finetune
    retrains the best trial with it."""
    study = tmp_path / "study.log"
    create(study, data, "--head-lr-multiplier-range", "1:100", "--startup-trials", "2", trials=3)
    finish(work(study, "w"))
    trials = load(study).trials
    assert all(1 <= t.params["head_lr_multiplier"] <= 100 for t in trials), [t.params for t in trials]
    for t in trials:
        settings = json.loads((tmp_path / "trials" / str(t.number) / "config.json").read_text())["settings"]
        assert settings["head_lr_multiplier"] == t.params["head_lr_multiplier"]
        assert t.user_attrs["fairtune:head_lr_multiplier"] == t.params["head_lr_multiplier"]
    best = load(study).best_trial
    stage2 = tmp_path / "stage2"
    result = subprocess.run([str(BINARY), "finetune", "--study", str(study), "--out", str(stage2), "--seeds", "1",
                             "--baselines", "none", "--bootstrap", "20"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    settings = json.loads((stage2 / "fairtune/seed-1/config.json").read_text())["settings"]
    assert settings["head_lr_multiplier"] == best.params["head_lr_multiplier"]
