"""End-to-end tests of `fairtune finetune` and `fairtune report` on the release binary.

A small study (tiny ViT, synthetic data; trials trained with `fairtune train` and told to an Optuna
journal with Optuna itself, plus a failed and a running trial) -> `finetune` with 2 seeds and both
baselines -> `report`. Checks every file, the CSVs against the journal and the run directories, the
paired bootstrap differences against a recomputation from the predictions-test.csv files with
scikit-learn (the same resamples, re-drawn here from the documented generator), every SVG as XML with
its data points against the CSVs, and a finetune stopped by SIGUSR1 then rerun against an
uninterrupted one. Skipped when the release binary is missing (`make test` builds it).
"""
import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
from optuna.distributions import FloatDistribution, IntDistribution  # noqa: E402
from optuna.storages import JournalStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
TINY = ROOT / "Tests/Fixtures/vit/tiny_weights.safetensors"
pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)")

MASK_BITS = 6  # block-parts3 on the tiny ViT's 2 blocks
TRIALS = [("101011", 3e-3), ("111111", 1e-3), ("001001", 1e-2), ("100110", 5e-3)]
SEEDS = "1,2"
LRS = "fullft=1e-3:3e-3,linear=1e-2:3e-2"
RESAMPLES = 200
SVG = "{http://www.w3.org/2000/svg}"


def run(*args, check=True, timeout=900):
    result = subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def train_arguments(data):
    return ["--data", str(data), "--weights", str(TINY), "--attribute", "group", "--attribute", "marker",
            "--tuning", "block-parts3", "--epochs", "2", "--batch-size", "32", "--weight-decay", "0.05",
            "--threads", "1", "--log-interval", "1000"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A journal with 4 COMPLETE trials (each a real run), 1 FAIL and 1 RUNNING; 8 trials wanted."""
    root = tmp_path_factory.mktemp("results")
    data = root / "data"
    subprocess.run([sys.executable, "-m", "fairtune_prep", "synthetic", "--out", str(data), "--train", "256",
                    "--val", "128", "--test", "128", "--quiet"], check=True, cwd=ROOT)
    path = root / "study.log"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.create_study(study_name="tiny", storage=JournalStorage(JournalFileBackend(str(path))), direction="maximize")
    for key, value in [("fairtune:n_trials", 8), ("fairtune:train_arguments", train_arguments(data)),
                       ("fairtune:objective", "min_auc"), ("fairtune:objective_attribute", "group")]:
        s.set_user_attr(key, value)
    distributions = {f"Mask Idx {i}": IntDistribution(0, 1) for i in range(MASK_BITS)}
    distributions["lr"] = FloatDistribution(1e-4, 3e-2, log=True)
    for number, (mask, lr) in enumerate(TRIALS):
        out = root / "runs" / f"trial-{number}"
        run("train", *train_arguments(data), "--mask", mask, "--lr", lr, "--seed", 0, "--out", out)
        result = json.loads((out / "result.json").read_text())
        group = next(a for a in result["val"]["attributes"] if a["name"] == "group")
        params = {f"Mask Idx {i}": int(b) for i, b in enumerate(mask)} | {"lr": lr}
        s.add_trial(optuna.trial.create_trial(params=params, distributions=distributions,
                                              value=group["summaries"]["auc"]["worst"]["value"],
                                              user_attrs={"fairtune:run_dir": str(out)},
                                              system_attrs={"fairtune:worker": f"w{number % 2}"}))
    s.add_trial(optuna.trial.create_trial(params={f"Mask Idx {i}": 0 for i in range(MASK_BITS)} | {"lr": 0.02},
                                          distributions=distributions, state=optuna.trial.TrialState.FAIL,
                                          system_attrs={"fail_reason": "the loss became NaN at epoch 1"}))
    s.ask(distributions)  # a trial still running
    return {"root": root, "path": path, "data": data, "study": s}


def finetune(study, out, check=True):
    return run("finetune", "--study", study["path"], "--out", out, "--seeds", SEEDS, "--baseline-lrs", LRS,
               "--bootstrap", RESAMPLES, "--bootstrap-seed", 7, check=check)


@pytest.fixture(scope="module")
def stage2(study):
    out = study["root"] / "stage2"
    result = finetune(study, out)
    report = study["root"] / "report"
    run("report", "--study", study["path"], "--finetune", out, "--out", report)
    return {"out": out, "stdout": result.stdout, "report": report}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_layout_and_choices(study, stage2):
    out = stage2["out"]
    s = study["study"]
    best = max((t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: (t.value, -t.number))
    summary = json.loads((out / "summary.json").read_text())
    fairtune = summary["methods"][0]
    assert summary["trial"] == best.number
    assert fairtune["mask"] == "".join(str(best.params[f"Mask Idx {i}"]) for i in range(MASK_BITS))
    assert float(fairtune["lr"]) == best.params["lr"]
    for seed in (1, 2):
        config = json.loads((out / "fairtune" / f"seed-{seed}" / "config.json").read_text())
        assert json.dumps(config).count(fairtune["mask"]) >= 1
    for name, grid in (("fullft", ["1e-3", "3e-3"]), ("linear", ["1e-2", "3e-2"])):
        method = next(m for m in summary["methods"] if m["name"] == name)
        aucs = [json.loads((out / name / f"lr-{lr}" / "result.json").read_text())["val"]["overall"]["auc"]["value"] for lr in grid]
        assert method["lr"] == grid[int(np.argmax(aucs))]
        assert [g["val_auc"] for g in method["lr_grid"]] == aucs
        assert os.readlink(out / name / "seed-1") == f"lr-{method['lr']}"
        assert json.loads((out / name / "seed-2" / "result.json").read_text())["status"] == "completed"
    listed = run("finetune", "--study", study["path"], "--out", out, "--seeds", SEEDS, "--baseline-lrs", LRS, "--list").stdout.split()
    assert listed == ["fairtune:1", "fairtune:2", "fullft:lr-1e-3", "fullft:lr-3e-3", "fullft:2",
                      "linear:lr-1e-2", "linear:lr-3e-2", "linear:2"]
    # A rerun skips every finished run and prints the same table.
    again = finetune(study, out)
    assert again.stdout.count("already completed") == 8
    assert again.stdout.split("Test metrics")[1] == stage2["stdout"].split("Test metrics")[1]
    assert "interval" in stage2["stdout"] and ("includes zero" in stage2["stdout"] or "excludes zero" in stage2["stdout"])


def test_only_runs_one_and_needs_the_grid(study, tmp_path):
    out = tmp_path / "array"
    base = ["finetune", "--study", study["path"], "--out", out, "--seeds", SEEDS, "--baseline-lrs", LRS]
    early = run(*base, "--only", "fullft:2", check=False)
    assert early.returncode == 1 and "fullft:lr-1e-3" in early.stderr
    one = run(*base, "--only", "fairtune:2")
    assert (out / "fairtune" / "seed-2" / "result.json").exists() and not (out / "fairtune" / "seed-1").exists()
    assert "Not every run has finished" in one.stdout
    bad = run(*base, "--only", "fullft:1", check=False)
    assert bad.returncode == 2 and "first seed is its chosen lr-grid run" in bad.stderr


def test_csvs_agree_with_journal_and_runs(study, stage2):
    report = stage2["report"]
    for name in ["summary.md", "trials.csv", "finetune.csv", "history.svg", "pareto.svg", "mask.svg", "mask-frequency.svg",
                 "group-auc.svg"]:
        assert (report / name).stat().st_size > 0, name
    trials = read_csv(report / "trials.csv")
    s = study["study"]
    assert [int(r["number"]) for r in trials] == [t.number for t in s.trials]
    for row, trial in zip(trials, s.trials):
        assert row["state"] == trial.state.name
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert float(row["objective"]) == trial.value
            assert row["mask"] == "".join(str(trial.params[f"Mask Idx {i}"]) for i in range(MASK_BITS))
            assert float(row["lr"]) == trial.params["lr"]
            result = json.loads((pathlib.Path(trial.user_attrs["fairtune:run_dir"]) / "result.json").read_text())
            group = next(a for a in result["val"]["attributes"] if a["name"] == "group")
            assert float(row["val_auc"]) == result["val"]["overall"]["auc"]["value"]
            assert float(row["val_auc_gap"]) == group["summaries"]["auc"]["gap"]["value"]
            for g in group["groups"]:
                assert float(row[f"val_auc_{g['name']}"]) == g["auc"]["value"]
            assert float(row["trainable_percent"]) == result["trainable_percent"]
            assert row["worker"] == trial.system_attrs["fairtune:worker"]
    failed = next(r for r in trials if r["state"] == "FAIL")
    assert failed["fail_reason"] == "the loss became NaN at epoch 1"
    md = (report / "summary.md").read_text()
    assert "the loss became NaN at epoch 1" in md and "Still running" in md and "4 of 8" in md
    for plot in ["history.svg", "pareto.svg", "mask.svg", "mask-frequency.svg", "group-auc.svg"]:
        assert f"({plot})" in md
    runs = read_csv(report / "finetune.csv")
    assert [(r["method"], r["seed"]) for r in runs] == [(m, s) for m in ("fairtune", "fullft", "linear") for s in ("1", "2")]
    for r in runs:
        result = json.loads((pathlib.Path(r["directory"]) / "result.json").read_text())["test"]
        group = next(a for a in result["attributes"] if a["name"] == "group")
        assert float(r["test_auc"]) == pytest.approx(result["overall"]["auc"]["value"], abs=1e-12)
        assert float(r["test_worst_group_auc"]) == pytest.approx(group["summaries"]["auc"]["worst"]["value"], abs=1e-12)
        assert float(r["test_eod"]) == pytest.approx(group["fairness"]["equalized_odds_difference"]["value"], abs=1e-12)


class Xoshiro256:
    """xoshiro256** seeded by SplitMix64 and Lemire's unbiased bounded draw, as documented in docs/results.md."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        x, self.s = seed, []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & self.MASK
            z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
            self.s.append(z ^ (z >> 31))

    def next(self):
        s0, s1, s2, s3 = self.s
        five = (s1 * 5) & self.MASK
        result = ((((five << 7) | (five >> 57)) & self.MASK) * 9) & self.MASK
        t = (s1 << 17) & self.MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & self.MASK
        self.s = [s0, s1, s2, s3]
        return result

    def below(self, bound):
        product = self.next() * bound
        if product & self.MASK < bound:
            threshold = ((1 << 64) - bound) % bound
            while product & self.MASK < threshold:
                product = self.next() * bound
        return product >> 64


def multiplicities(labels, groups, resamples, seed):
    strata, index = [], {}
    for i, key in enumerate(zip(labels, groups)):
        if key not in index:
            index[key] = len(strata)
            strata.append([])
        strata[index[key]].append(i)
    generator = Xoshiro256(seed)
    for _ in range(resamples):
        counts = np.zeros(len(labels), dtype=int)
        for members in strata:
            for _ in members:
                counts[members[generator.below(len(members))]] += 1
        yield counts


def metrics(frame, counts):
    y = np.repeat(frame["label"], counts)
    s = np.repeat(frame["score"], counts)
    g = np.repeat(frame["group"], counts)
    per_group = [roc_auc_score(y[g == name], s[g == name]) for name in sorted(set(frame["group"]) - {"-1"})]
    return {"auc": roc_auc_score(y, s), "worst_group_auc": min(per_group), "auc_gap": max(per_group) - min(per_group)}


def test_paired_differences_equal_a_recomputation(stage2):
    summary = json.loads((stage2["out"] / "summary.json").read_text())
    frames = {}
    for m in summary["methods"]:
        frames[m["name"]] = []
        for r in m["runs"]:
            rows = read_csv(pathlib.Path(r["directory"]) / "predictions-test.csv")
            frames[m["name"]].append({"label": np.array([int(x["label"]) for x in rows]),
                                      "score": np.array([float(x["score"]) for x in rows]),
                                      "group": np.array([x["group"] for x in rows])})
    first = frames["fairtune"][0]
    draws = list(multiplicities(first["label"].tolist(), first["group"].tolist(), RESAMPLES, 7))
    seed_mean = {name: [{k: np.mean([metrics(f, c)[k] for f in runs]) for k in ("auc", "worst_group_auc", "auc_gap")}
                        for c in draws] for name, runs in frames.items()}
    ones = np.ones(len(first["label"]), dtype=int)
    for d in summary["differences"]:
        key = d["metric"]
        paired = [a[key] - b[key] for a, b in zip(seed_mean["fairtune"], seed_mean[d["baseline"]])]
        lower, upper = np.percentile(paired, [2.5, 97.5])
        assert d["lower"] == pytest.approx(lower, abs=1e-9), d
        assert d["upper"] == pytest.approx(upper, abs=1e-9), d
        assert d["defined_resamples"] == RESAMPLES
        estimate = (np.mean([metrics(f, ones)[key] for f in frames["fairtune"]])
                    - np.mean([metrics(f, ones)[key] for f in frames[d["baseline"]]]))
        assert d["estimate"] == pytest.approx(estimate, abs=1e-12)
        assert d["excludes_zero"] == (lower > 0 or upper < 0)
    for m in summary["methods"]:
        values = [metrics(f, ones)["worst_group_auc"] for f in frames[m["name"]]]
        stat = m["metrics"]["worst_group_auc"]
        assert stat["mean"] == pytest.approx(np.mean(values), abs=1e-12)
        assert stat["std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
        lower, upper = np.percentile([r["worst_group_auc"] for r in seed_mean[m["name"]]], [2.5, 97.5])
        assert (stat["lower"], stat["upper"]) == pytest.approx((lower, upper), abs=1e-9)


def svg_points(path, tag="circle"):
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    assert any(t.text for t in root.iter(SVG + "text"))  # title and labels
    return [e.attrib for e in root.iter(SVG + tag) if "data-series" in e.attrib or "data-row" in e.attrib]


def test_svgs_parse_and_match_the_csvs(study, stage2):
    report = stage2["report"]
    trials = [r for r in read_csv(report / "trials.csv") if r["state"] == "COMPLETE"]
    history = svg_points(report / "history.svg")
    assert [(float(p["data-x"]), float(p["data-y"])) for p in history] == [(float(r["number"]), float(r["objective"])) for r in trials]
    line = next(e for e in ET.parse(report / "history.svg").getroot().iter(SVG + "polyline"))
    best = np.maximum.accumulate([float(r["objective"]) for r in trials])
    assert [float(p.split(",")[1]) for p in line.attrib["data-points"].split()] == list(best)
    pareto = svg_points(report / "pareto.svg")
    everyone = {(float(r["val_auc_gap"]), float(r["val_auc"])) for r in trials}
    assert {(float(p["data-x"]), float(p["data-y"])) for p in pareto if p["data-series"] == "trial"} == everyone
    front = {(float(p["data-x"]), float(p["data-y"])) for p in pareto if p["data-series"] == "Pareto front"}
    assert front == {p for p in everyone if not any(q[0] <= p[0] and q[1] >= p[1] and q != p for q in everyone)}
    best_trial = max(trials, key=lambda r: (float(r["objective"]), -int(r["number"])))
    cells = svg_points(report / "mask.svg", "rect")
    assert "".join("1" if float(c["data-value"]) == 1 else "0" for c in cells) == best_trial["mask"]
    assert [c["data-column"] for c in cells[:3]] == ["norms", "attention", "MLP"]
    top = sorted(trials, key=lambda r: (-float(r["objective"]), int(r["number"])))[:1]  # a quarter of 4 trials
    frequency = svg_points(report / "mask-frequency.svg", "rect")
    assert [float(c["data-value"]) for c in frequency] == [np.mean([r["mask"][i] == "1" for r in top]) for i in range(MASK_BITS)]
    summary = json.loads((stage2["out"] / "summary.json").read_text())
    groups = svg_points(report / "group-auc.svg")
    for p in groups:
        method = next(m for m in summary["methods"] if m["name"] == p["data-series"])
        key = {"worst group": "worst_group_auc", "overall": "auc"}.get(p["data-category"], "auc:" + p["data-category"])
        stat = method["metrics"][key]
        assert (float(p["data-value"]), float(p["data-lower"]), float(p["data-upper"])) == (stat["mean"], stat["lower"], stat["upper"])
    assert len(groups) == 3 * (len(summary["groups"]) + 2)


def test_stopped_finetune_resumes_to_the_same_summary(study, stage2):
    out = study["root"] / "stopped"
    command = [str(BINARY), "finetune", "--study", str(study["path"]), "--out", str(out), "--seeds", SEEDS,
               "--baseline-lrs", LRS, "--bootstrap", str(RESAMPLES), "--bootstrap-seed", "7"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Stop during the third run (fullft's first grid run), once its first epoch is written.
    target = out / "fullft" / "lr-1e-3" / "metrics.jsonl"
    deadline = time.time() + 300
    while not target.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGUSR1)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 75, f"exit {process.returncode}\n{stdout}\n{stderr}"
    assert json.loads((out / "fullft" / "lr-1e-3" / "result.json").read_text())["status"] == "stopped"
    assert not (out / "summary.json").exists()
    resumed = run(*command[1:])
    assert resumed.stdout.count("already completed") == 2  # FairTune's two seeds
    assert "resuming from" in resumed.stdout
    whole = (stage2["out"] / "summary.json").read_text().replace(str(stage2["out"]), "DIR")
    cut = (out / "summary.json").read_text().replace(str(out), "DIR")
    assert cut == whole


def test_finetune_under_mpirun(study, stage2):
    """Two ranks train each run data-parallel; rank 0 alone writes the folder, the same layout and
    (up to float32 rounding across ranks) the same test metrics as one process."""
    out = study["root"] / "mpi"
    command = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", "2", str(BINARY), "finetune",
               "--study", str(study["path"]), "--out", str(out), "--seeds", "1", "--baselines", "linear",
               "--baseline-lrs", "linear=1e-2:3e-2", "--bootstrap", "50"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stdout.count("Test metrics on attribute") == 1  # printed by rank 0 only
    summary = json.loads((out / "summary.json").read_text())
    assert [m["name"] for m in summary["methods"]] == ["fairtune", "linear"]
    assert os.readlink(out / "linear" / "seed-1") in ("lr-1e-2", "lr-3e-2")
    one = json.loads((stage2["out"] / "summary.json").read_text())
    assert summary["methods"][1]["lr"] == one["methods"][2]["lr"]  # the same grid choice as one process
    for name in ("fairtune", "linear"):
        two_ranks = next(m for m in summary["methods"] if m["name"] == name)["runs"][0]["test"]["auc"]
        one_rank = next(m for m in one["methods"] if m["name"] == name)["runs"][0]["test"]["auc"]
        assert abs(two_ranks - one_rank) < 0.02, name
