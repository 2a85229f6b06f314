"""`make demo`'s pipeline (scripts/demo.sh) at a smaller size: data, the initialised and pretrained
backbone, the search with two local workers, stage 2 against both baselines, the train-versus-test
comparison and the report, in about ten seconds."""
import json
import os
import subprocess

import pytest

from test_train import BINARY, ROOT

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)")

SMALL = {"DEMO_SOURCE_TRAIN": "512", "DEMO_PRETRAIN_EPOCHS": "2", "DEMO_TRAIN": "256", "DEMO_VAL": "128",
         "DEMO_TEST": "128", "DEMO_EPOCHS": "2", "DEMO_TRIALS": "4", "DEMO_SEEDS": "1,2", "DEMO_BOOTSTRAP": "50"}


def test_the_demo_pipeline_runs_end_to_end(tmp_path):
    out = tmp_path / "demo"
    env = {**os.environ, **SMALL, "DEMO_OUT": str(out), "FAIRTUNE_BIN": str(BINARY)}
    result = subprocess.run(["bash", str(ROOT / "scripts/demo.sh")], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout
    # The stage-2 table with intervals, the paired differences in words, the train-versus-test lines.
    assert "FairTune − fullft (paired" in text and "FairTune − linear (paired" in text
    assert "95% interval" in text and "-- train split" in text and "-- test split" in text
    assert f"open {out}/report/summary.md" in text
    for name in ["summary.md", "trials.csv", "finetune.csv", "history.svg", "group-auc.svg", "mask.svg"]:
        assert (out / "report" / name).is_file(), name
    summary = json.loads((out / "finetune" / "summary.json").read_text())
    assert {m["name"] for m in summary["methods"]} == {"fairtune", "fullft", "linear"}
    study = subprocess.run([str(BINARY), "study", "status", "--study", str(out / "study/study.log")],
                           capture_output=True, text=True, timeout=60)
    assert study.returncode == 0 and "COMPLETE" in study.stdout, study.stdout + study.stderr
    config = json.loads((out / "finetune/fullft/seed-1/config.json").read_text())
    assert config["settings"]["augment"] == "flip" and config["run"]["train_metrics"] is True
