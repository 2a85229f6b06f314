"""Optuna 5 and fairtune's study journal, both ways.

- Optuna loads the journal the Swift test StudyTests.writesJournalForOptuna leaves in FAIRTUNE_INTEROP_DIR
  (`make test` sets it; run alone without it, that test is skipped).
- With the `fairtune-study-check` worker executable (built with the Swift tests): Optuna appends to a
  fairtune study and fairtune reads it back; Optuna and fairtune workers share one study concurrently;
  fairtune claims a trial Optuna enqueued; Optuna reads a killed worker's retried trial; Optuna's plots
  run on a study fairtune's workers wrote.
"""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

optuna = pytest.importorskip("optuna")
from optuna.storages import JournalStorage, RetryHeartbeatStaleTrialCallback  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
INTEROP = os.environ.get("FAIRTUNE_INTEROP_DIR")
CHECK = pathlib.Path(os.environ.get("FAIRTUNE_STUDY_CHECK", ROOT / ".build" / "debug" / "fairtune-study-check"))
needs_check = pytest.mark.skipif(not CHECK.exists(), reason=f"{CHECK.name} not built (swift build --build-tests)")
SPACE = {f"Mask Idx {i}": optuna.distributions.IntDistribution(0, 1) for i in range(4)}
SPACE["lr"] = optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)

optuna.logging.set_verbosity(optuna.logging.WARNING)
# retried_trial_number / retry_history are marked experimental; they are what a user of the retry callback calls.
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def load(path, name=None):
    return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(path))))


def check(*args, **kwargs):
    return subprocess.run([str(CHECK), *map(str, args)], check=True, capture_output=True, text=True, **kwargs)


def swift_view(path):
    """The journal as fairtune replays it: {study name: [trial, ...]}."""
    summary = json.loads(check("summary", path).stdout)
    return {s["name"]: s["trials"] for s in summary["studies"]}


def assert_same_trials(optuna_trials, swift_trials):
    assert len(optuna_trials) == len(swift_trials)
    for t, s in zip(optuna_trials, swift_trials):
        assert (t.number, t._trial_id, int(t.state)) == (s["number"], s["trial_id"], s["state"])
        assert t.values == s["values"]
        assert {k: t.distributions[k].to_internal_repr(v) for k, v in t.params.items()} == s["params"]
        assert t.user_attrs == s["user_attrs"] and t.system_attrs == s["system_attrs"]


@pytest.mark.skipif(INTEROP is None, reason="FAIRTUNE_INTEROP_DIR not set (run through make test)")
def test_optuna_reads_the_journal_swift_wrote():
    path = pathlib.Path(INTEROP) / "swift-study.log"
    assert path.exists(), f"{path} missing: the Swift test did not write it"
    study = load(path)
    assert study.study_name == "swift-written" and study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.user_attrs["epochs"] == 3 and study.user_attrs["fairtune:n_trials"] == 4
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL,
                                         TrialState.COMPLETE, TrialState.RUNNING]
    first = trials[0]
    assert first.params == {"Mask Idx 0": 1, "Mask Idx 1": 0, "lr": 3e-4}
    assert type(first.params["Mask Idx 0"]) is int and type(first.params["lr"]) is float
    assert first.distributions["lr"] == optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)
    assert first.distributions["Mask Idx 1"] == optuna.distributions.IntDistribution(0, 1)
    assert first.value == 0.71 and first.intermediate_values == {0: 0.5}
    assert trials[1].value == 0.51  # PRUNED records its last intermediate value, as Optuna does
    assert trials[2].values is None
    assert [t.user_attrs["index"] for t in trials[:4]] == [0, 1, 2, 3]
    assert all(t.system_attrs["fairtune:worker"] == "swift" for t in trials)
    assert all(t.datetime_start is not None for t in trials)
    assert all(t.datetime_complete is not None for t in trials[:4]) and trials[4].datetime_complete is None
    assert study.best_trial.number == 3 and study.best_value == 0.83


@needs_check
def test_fairtune_reads_what_optuna_appends(tmp_path):
    path = tmp_path / "study.log"
    check("create", path, 10, 30)
    study = load(path)
    for i in range(3):
        trial = study.ask(SPACE)
        trial.report(0.1 * i, step=0)
        trial.set_user_attr("from", "optuna")
        study.tell(trial, 1.0 + i) if i < 2 else study.tell(trial, state=TrialState.PRUNED)
    study.ask(SPACE)  # left RUNNING
    assert_same_trials(load(path).trials, swift_view(path)["check"])


@needs_check
def test_optuna_and_fairtune_workers_share_one_study(tmp_path):
    path = tmp_path / "study.log"
    check("create", path, 30, 30)
    optuna_worker = (
        "import sys, optuna\n"
        "from optuna.storages import JournalStorage\n"
        "from optuna.storages.journal import JournalFileBackend\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "s = optuna.load_study(study_name='check', storage=JournalStorage(JournalFileBackend(sys.argv[1])))\n"
        "space = {f'Mask Idx {i}': optuna.distributions.IntDistribution(0, 1) for i in range(4)}\n"
        "space['lr'] = optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)\n"
        "for _ in range(5):\n"
        "    t = s.ask(space)\n"
        "    t.report(0.5, step=0)\n"
        "    s.tell(t, sum(space[k].to_internal_repr(v) for k, v in t.params.items()))\n"
    )
    processes = [subprocess.Popen([str(CHECK), "work", str(path), f"task-{i}", "--trial-ms", "10"]) for i in range(3)]
    processes += [subprocess.Popen([sys.executable, "-c", optuna_worker, str(path)]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in processes] == [0] * 5
    trials = load(path).trials
    assert_same_trials(trials, swift_view(path)["check"])
    assert all(t.state == TrialState.COMPLETE for t in trials) and len(trials) >= 30
    assert sum("fairtune:worker" not in t.system_attrs for t in trials) == 10
    for t in trials:
        assert t.value == pytest.approx(sum(SPACE[k].to_internal_repr(v) for k, v in t.params.items()))


@needs_check
def test_fairtune_claims_a_trial_optuna_enqueued(tmp_path):
    path = tmp_path / "study.log"
    check("create", path, 2, 30)
    load(path).enqueue_trial({"Mask Idx 0": 1, "lr": 1e-4})
    check("work", path, "task-0")
    first = load(path).trials[0]
    assert first.state == TrialState.COMPLETE and first.system_attrs["fairtune:worker"] == "task-0"
    assert first.params["Mask Idx 0"] == 1 and first.params["lr"] == 1e-4
    assert set(first.params) == set(SPACE) and all(type(first.params[f"Mask Idx {i}"]) is int for i in range(4))


@needs_check
def test_optuna_sees_a_killed_workers_trial_retried(tmp_path):
    path = tmp_path / "study.log"
    check("create", path, 2, 0.5)
    holder = subprocess.Popen([str(CHECK), "work", str(path), "task-held", "--hold"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().startswith("holding")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    check("work", path, "task-next")
    assert time.monotonic() - started >= 0.4  # it waited for the heartbeat to go stale
    trials = load(path).trials
    assert trials[0].state == TrialState.FAIL
    retried = [t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == 0]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert RetryHeartbeatStaleTrialCallback.retry_history(retried[0]) == [0]
    assert retried[0].params == trials[0].params
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2


@needs_check
def test_optunas_plots_run_on_a_fairtune_study(tmp_path):
    pytest.importorskip("plotly")
    path = tmp_path / "study.log"
    check("create", path, 12, 30)
    check("work", path, "task-0")
    study = load(path)
    history = optuna.visualization.plot_optimization_history(study)
    assert len(history.data[0].y) == 12
    importances = optuna.importance.get_param_importances(study)
    assert set(importances) == set(SPACE)
    assert optuna.visualization.plot_param_importances(study).data
    assert optuna.visualization.plot_intermediate_values(study).data
