"""End-to-end tests of `fairtune train` and `fairtune export` on the release binary.

A tiny ViT (Tests/Fixtures/vit/tiny_weights.safetensors: img 32, patch 8, width 64, depth 2) trains
on a small synthetic dataset made at test time. Covers: 1 rank vs 2 ranks (mpirun), SIGTERM and
resume bit for bit, learning, bad input, resume checks, divergence, export, and the predictions
CSV read back by `fairtune metrics`. Skipped when the release binary is missing (`make test` builds it).
"""
import json
import os
import pathlib
import shutil
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
TINY = ROOT / "Tests/Fixtures/vit/tiny_weights.safetensors"
ODD = ROOT / "Tests/Fixtures/vit/odd_weights.safetensors"
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-n", "2"]

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)")


def read_safetensors(path):
    """(tensors as float32/int64 numpy arrays, metadata): the format is an 8-byte header length,
    a JSON header, then the raw little-endian data."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = raw[8 + n:]
    dtypes = {"F32": "<f4", "I64": "<i8", "F64": "<f8"}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return tensors, meta


def train(data, out, *extra, ranks=1, check=True, env=None):
    args = [str(BINARY), "train", "--data", str(data), "--weights", str(TINY), "--attribute", "group",
            "--attribute", "marker", "--out", str(out), "--threads", "1", "--log-interval", "1000", *map(str, extra)]
    if ranks > 1:
        args = MPIRUN + args
    result = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "synthetic"
    subprocess.run([sys.executable, "-m", "fairtune_prep", "synthetic", "--out", str(out), "--train", "512",
                    "--val", "256", "--test", "256", "--quiet"], check=True, cwd=ROOT)
    return out


# SGD: AdamW divides by sqrt(v), which turns the rounding noise of a zero-mean gradient (the
# attention key bias: softmax ignores it) into full-size steps, so 1- and 2-rank weights would part
# there by lr per step while every gradient agrees to 1e-7.
PEFT = ["--tuning", "block-parts4", "--mask", "00110111", "--epochs", "2", "--batch-size", "32", "--lr", "0.02",
        "--optimizer", "sgd",
        "--seed", "5", "--class-weights", "auto", "--label-smoothing", "0.1", "--clip-grad-norm", "1"]


def val_metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_one_rank_equals_two_ranks(data, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    train(data, one, *PEFT, "--test")
    train(data, two, *PEFT, "--test", ranks=2)
    a, meta_a = read_safetensors(one / "checkpoint.safetensors")
    b, meta_b = read_safetensors(two / "checkpoint.safetensors")
    assert a.keys() == b.keys() and meta_a["global_step"] == meta_b["global_step"] == "32"
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-5, rtol=0, err_msg=name)
    assert meta_b["ranks"] == "2"
    for x, y in zip(val_metrics(one), val_metrics(two), strict=True):
        assert abs(x["train_loss"] - y["train_loss"]) < 1e-5
        for path in (("overall", "auc"), ("overall", "accuracy")):
            assert abs(x["val"][path[0]][path[1]]["value"] - y["val"][path[0]][path[1]]["value"]) < 1e-5
        for ga, gb in zip(x["val"]["attributes"], y["val"]["attributes"], strict=True):
            for g1, g2 in zip(ga["groups"], gb["groups"], strict=True):
                assert abs(g1["auc"]["value"] - g2["auc"]["value"]) < 1e-5
    test_one = json.loads((one / "result.json").read_text())["test"]
    test_two = json.loads((two / "result.json").read_text())["test"]
    assert test_one["samples"] == test_two["samples"] == 256
    assert abs(test_one["overall"]["auc"]["value"] - test_two["overall"]["auc"]["value"]) < 1e-5
    # Every sample evaluated exactly once, in split order, whatever the rank count.
    assert (one / "predictions-val.csv").read_text().count("\n") == 257
    ids_one = [l.split(",")[0] for l in (one / "predictions-val.csv").read_text().splitlines()]
    ids_two = [l.split(",")[0] for l in (two / "predictions-val.csv").read_text().splitlines()]
    assert ids_one == ids_two


# 12 epochs of a small trainable set; `stop_and_resume` adds the optimizer and schedule.
STOP_ARGS = ["--tuning", "block-attention-layernorm", "--mask", "01", "--epochs", "12", "--batch-size", "16",
             "--lr", "0.001", "--weight-decay", "0.01", "--seed", "3", "--keep-best", "auc"]
SGD_STEP = ["--optimizer", "sgd", "--schedule", "step", "--step-size", "4", "--gamma", "0.5", "--warmup-epochs", "2"]


def stop_and_resume(data, tmp_path, ranks, sig, optimization=SGD_STEP):
    """An uninterrupted run and one stopped by `sig` mid-run then resumed: identical checkpoints.
    Returns the stopped checkpoint's metadata and the uninterrupted run's directory."""
    args = STOP_ARGS + [str(a) for a in optimization]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train(data, whole, *args, ranks=ranks)
    command = [str(BINARY), "train", "--data", str(data), "--weights", str(TINY), "--attribute", "group",
               "--attribute", "marker", "--out", str(cut), "--threads", "1", "--log-interval", "1000", *args]
    process = subprocess.Popen((MPIRUN if ranks > 1 else []) + command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    # Stop once the first epoch is done: well inside the run.
    deadline = time.time() + 120
    while not (cut / "metrics.jsonl").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(sig)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 75, f"exit {process.returncode}\n{out}\n{err}"
    assert "stopped by" in out
    stopped, meta = read_safetensors(cut / "checkpoint.safetensors")
    assert int(meta["epoch"]) < 12
    assert json.loads((cut / "result.json").read_text())["status"] == "stopped"
    # A rerun of the same command resumes.
    resumed = train(data, cut, *args, ranks=ranks)
    assert "resuming from" in resumed.stdout
    for name in ("checkpoint.safetensors", "checkpoint-best.safetensors"):
        a, meta_a = read_safetensors(whole / name)
        b, meta_b = read_safetensors(cut / name)
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]), f"{name}: {key} differs after resume"
        assert meta_a["global_step"] == meta_b["global_step"] and meta_a["best_epoch"] == meta_b["best_epoch"]
    assert [l["epoch"] for l in val_metrics(cut)] == list(range(1, 13))
    for x, y in zip(val_metrics(whole), val_metrics(cut), strict=True):
        assert x["train_loss"] == y["train_loss"] and x["val"]["overall"] == y["val"]["overall"]
    assert (whole / "predictions-val.csv").read_text() == (cut / "predictions-val.csv").read_text()
    return meta, whole


def test_sigterm_mid_run_then_resume_is_bit_for_bit(data, tmp_path):
    stop_and_resume(data, tmp_path, ranks=1, sig=signal.SIGTERM)


def test_rmsprop_constant_warmup_exponential_schedule_and_resume(data, tmp_path):
    # The reference's RMSprop (alpha 0.9, eps 0.0316, momentum 0.9 are the defaults) after a
    # constant warmup of 3 epochs at 0.05·lr, then an exponential decay by 0.8 per epoch.
    base, factor, warmup, gamma = 0.001, 0.05, 3, 0.8
    meta, whole = stop_and_resume(data, tmp_path, ranks=1, sig=signal.SIGTERM, optimization=[
        "--optimizer", "rmsprop", "--schedule", "exponential", "--gamma", gamma, "--warmup-epochs", warmup,
        "--warmup-method", "constant", "--warmup-start-factor", factor])
    assert meta["optimizer"] == "RMSprop"
    settings = json.loads((whole / "config.json").read_text())["settings"]
    assert (settings["optimizer"], settings["rmsprop_alpha"], settings["rmsprop_eps"], settings["momentum"]) == \
        ("rmsprop", 0.9, 0.0316, 0.9)
    assert (settings["schedule"], settings["gamma"], settings["warmup_method"]) == ("exponential", 0.8, "constant")
    # torch: SequentialLR([ConstantLR(factor, total_iters=warmup), ExponentialLR(gamma)], milestones=[warmup])
    # stepped once per epoch. ConstantLR scales the base at epoch 0 and keeps it; at the milestone
    # ExponentialLR's closed form base·gamma**0; after it, the previous rate times gamma.
    expected, lr = [], None
    for epoch in range(12):
        if epoch == 0:
            lr = base * factor
        elif epoch == warmup:
            lr = base * gamma ** 0
        elif epoch > warmup:
            lr = lr * gamma
        expected.append(lr)
    assert [line["lr"] for line in val_metrics(whole)] == expected


def test_sigusr1_through_mpirun_then_resume_is_bit_for_bit(data, tmp_path):
    # mpirun forwards SIGUSR1 to every rank (SIGTERM would make it kill the job).
    stop_and_resume(data, tmp_path, ranks=2, sig=signal.SIGUSR1)


def test_tiny_vit_learns_the_synthetic_task(data, tmp_path):
    run = tmp_path / "learn"
    train(data, run, "--tuning", "full", "--epochs", "6", "--batch-size", "32", "--lr", "0.001", "--test", "--seed", "1")
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "completed"
    assert result["val"]["overall"]["auc"]["value"] > 0.7
    assert result["test"]["overall"]["auc"]["value"] > 0.7
    assert result["trainable_parameters"] == result["total_parameters"]
    losses = [l["train_loss"] for l in val_metrics(run)]
    assert losses[-1] < losses[0]
    # A rerun of a completed run does nothing and says so.
    again = train(data, run, "--tuning", "full", "--epochs", "6", "--batch-size", "32", "--lr", "0.001", "--test", "--seed", "1")
    assert "already completed" in again.stdout


def test_predictions_csv_reads_back_in_fairtune_metrics(data, tmp_path):
    run = tmp_path / "run"
    train(data, run, "--tuning", "head", "--epochs", "1", "--batch-size", "64", "--test")
    report = tmp_path / "report.json"
    subprocess.run([str(BINARY), "metrics", "--predictions", str(run / "predictions-test.csv"), "--group-column", "group",
                    "--group-column", "marker", "--out", str(report)], check=True, capture_output=True)
    from_csv = json.loads(report.read_text())
    in_run = json.loads((run / "result.json").read_text())["test"]
    assert from_csv["overall"] == in_run["overall"]
    for a, b in zip(from_csv["attributes"], in_run["attributes"], strict=True):
        assert {g["name"]: g for g in a["groups"]} == {g["name"]: g for g in b["groups"]}
        assert a["fairness"] == b["fairness"]


@pytest.mark.parametrize("case, extra, ranks, message", [
    ("mask length", ["--tuning", "block-parts4", "--mask", "0101"], 1, "needs a mask of 8 bits"),
    ("attribute", ["--tuning", "head", "--attribute", "age"], 1, "has no attribute 'age'"),
    ("batch below ranks", ["--tuning", "head", "--batch-size", "1"], 2, "smaller than the 2 ranks"),
    ("class weights", ["--tuning", "head", "--class-weights", "1,2,3"], 1, "the task has 2 classes"),
    ("keep-best attribute", ["--tuning", "head", "--keep-best", "worst_group_auc"], 1, "compares groups"),
    ("batch above split", ["--tuning", "head", "--batch-size", "1000"], 1, "exceeds the 512 training samples"),
])
def test_bad_input_gives_a_clear_error(data, tmp_path, case, extra, ranks, message):
    result = train(data, tmp_path / "run", *extra, ranks=ranks, check=False)
    assert result.returncode == 1, f"{case}: exit {result.returncode}\n{result.stderr}"
    assert message in result.stderr, f"{case}: {result.stderr}"
    assert result.stderr.count("error:") == 1, f"{case}: one message, from rank 0 only\n{result.stderr}"
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_checkpoint_of_another_model_is_refused(data, tmp_path):
    ours = tmp_path / "ours"
    train(data, ours, "--tuning", "head", "--epochs", "1", "--batch-size", "64")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(ours / "checkpoint.safetensors", other / "checkpoint.safetensors")
    result = subprocess.run([str(BINARY), "train", "--data", str(data), "--weights", str(ODD), "--attribute", "group",
                             "--tuning", "head", "--out", str(other), "--threads", "1"], capture_output=True, text=True)
    assert result.returncode == 1
    # The checkpoint records the settings it was trained with: the other weights are named first.
    assert "checkpoint.safetensors records weights" in result.stderr and "odd_weights" in result.stderr, result.stderr


def test_resume_with_a_changed_setting_names_it(data, tmp_path):
    run = tmp_path / "run"
    train(data, run, "--tuning", "head", "--epochs", "1", "--batch-size", "64", "--lr", "0.01")
    (run / "result.json").unlink()  # as if stopped before the end
    result = train(data, run, "--tuning", "head", "--epochs", "1", "--batch-size", "64", "--lr", "0.02", check=False)
    assert result.returncode == 1 and "records lr = 0.01 but this run gives 0.02" in result.stderr, result.stderr
    result = train(data, tmp_path / "empty", "--tuning", "head", "--resume", check=False)
    assert result.returncode == 1 and "holds no checkpoint.safetensors" in result.stderr


def test_divergence_stops_with_status_3(data, tmp_path):
    run = tmp_path / "run"
    result = train(data, run, "--tuning", "full", "--optimizer", "sgd", "--lr", "1e3", "--momentum", "0.9",
                   "--epochs", "3", "--batch-size", "32", check=False)
    assert result.returncode == 3, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "training diverged at epoch" in result.stderr
    assert json.loads((run / "result.json").read_text())["status"] == "diverged"


def test_export_writes_a_timm_state_dict_with_lora_merged(data, tmp_path):
    run = tmp_path / "lora"
    train(data, run, "--tuning", "lora", "--lora-rank", "2", "--lora-alpha", "4", "--epochs", "1", "--batch-size", "64",
          "--lr", "0.01", "--keep-best", "auc")
    out = tmp_path / "model.safetensors"
    subprocess.run([str(BINARY), "export", str(run), "--out", str(out)], check=True, capture_output=True)
    exported, _ = read_safetensors(out)
    reference, _ = read_safetensors(TINY)  # written by timm (data-prep/fixtures/make_vit_fixtures.py)
    assert exported.keys() == reference.keys()
    for name, tensor in reference.items():
        if not name.startswith("head."):
            assert exported[name].shape == tensor.shape, name
    assert exported["head.weight"].shape == (2, 64)
    # LoRA merged into qkv: W' = W + (alpha / r)·B·A on the query and value rows, keys untouched.
    checkpoint, _ = read_safetensors(run / "checkpoint.safetensors")
    for block in range(2):
        a = checkpoint[f"blocks.{block}.attn.qkv.lora_A"].astype(np.float64)
        b = checkpoint[f"blocks.{block}.attn.qkv.lora_B"].astype(np.float64)
        w = reference[f"blocks.{block}.attn.qkv.weight"].astype(np.float64)
        merged = w.copy()
        merged[:64] += 2.0 * b[:64] @ a[:2]
        merged[128:] += 2.0 * b[64:] @ a[2:]
        np.testing.assert_allclose(exported[f"blocks.{block}.attn.qkv.weight"], merged, atol=1e-5)
    subprocess.run([str(BINARY), "export", str(run), "--best", "--out", str(tmp_path / "best.safetensors")], check=True,
                   capture_output=True)


def test_killed_run_resumes_from_the_periodic_checkpoint(data, tmp_path):
    # SIGKILL gives no chance to checkpoint: the run continues from the last --checkpoint-every
    # checkpoint (mid-epoch), drops metrics lines written after it, and still ends bit for bit.
    args = ["--tuning", "bitfit", "--epochs", "10", "--batch-size", "16", "--lr", "0.003", "--seed", "4",
            "--checkpoint-every", "7"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    train(data, whole, *args)
    command = [str(BINARY), "train", "--data", str(data), "--weights", str(TINY), "--attribute", "group",
               "--attribute", "marker", "--out", str(cut), "--threads", "1", "--log-interval", "1000", *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (cut / "checkpoint.safetensors").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    process.kill()
    process.wait()
    train(data, cut, *args)
    a, meta_a = read_safetensors(whole / "checkpoint.safetensors")
    b, meta_b = read_safetensors(cut / "checkpoint.safetensors")
    for key in a:
        assert np.array_equal(a[key], b[key]), f"{key} differs after resume"
    assert meta_a["global_step"] == meta_b["global_step"] == "320"
    assert [l["epoch"] for l in val_metrics(cut)] == list(range(1, 11))


def test_normalization_overrides_the_manifest(data, tmp_path):
    manifest = json.loads((data / "manifest.json").read_text())["normalization"]
    default, custom = tmp_path / "default", tmp_path / "custom"
    train(data, default, "--tuning", "head", "--epochs", "1", "--batch-size", "64")
    train(data, custom, "--tuning", "head", "--epochs", "1", "--batch-size", "64",
          "--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5")
    assert json.loads((default / "config.json").read_text())["settings"]["normalization"] == "manifest"
    assert manifest != {"mean": [0.5] * 3, "std": [0.5] * 3}
    recorded = json.loads((custom / "config.json").read_text())["settings"]["normalization"]
    assert recorded == {"mean": [0.5] * 3, "std": [0.5] * 3}
    # Other inputs, so other logits: the validation scores differ.
    a = (default / "predictions-val.csv").read_text()
    b = (custom / "predictions-val.csv").read_text()
    assert a.splitlines()[0] == b.splitlines()[0] and a != b


@pytest.mark.parametrize("extra, message", [
    (["--mean", "0.5,0.5,0.5"], "missing required option '--std'"),
    (["--std", "0.5,0.5,0.5"], "missing required option '--mean'"),
    (["--mean", "0.5,0.5", "--std", "1,1,1"], "invalid value '0.5,0.5' for '--mean'"),
    (["--mean", "0,0,0", "--std", "1,0,1"], "invalid value '1,0,1' for '--std'"),
])
def test_normalization_options_are_checked(data, tmp_path, extra, message):
    result = train(data, tmp_path / "run", "--tuning", "head", *extra, check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_a_dataset_without_attributes_trains_without_attribute_and_augment_is_recorded(data, tmp_path):
    """synthetic-source (the pretraining task) has no sensitive attribute: --attribute is optional
    there, refused as missing where the dataset has attributes; --augment flip reaches config.json."""
    source = tmp_path / "source"
    subprocess.run([sys.executable, "-m", "fairtune_prep", "synthetic-source", "--out", str(source), "--train", "64",
                    "--val", "32", "--test", "32", "--quiet"], check=True, cwd=ROOT)
    run = tmp_path / "pretrain"
    args = [str(BINARY), "train", "--data", str(source), "--weights", str(TINY), "--tuning", "full", "--epochs", "1",
            "--batch-size", "16", "--augment", "flip", "--out", str(run), "--threads", "1", "--log-interval", "1000"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["augment"] == "flip" and config["settings"]["attributes"] == []
    assert config["model"]["classes"] == 8
    missing = subprocess.run([str(BINARY), "train", "--data", str(data), "--weights", str(TINY), "--tuning", "head",
                              "--out", str(tmp_path / "no-attribute")], capture_output=True, text=True, timeout=600)
    assert missing.returncode == 1 and "name at least one with --attribute" in missing.stderr, missing.stderr
    assert not (tmp_path / "no-attribute" / "config.json").exists()


def with_metadata(source, target, **entries):
    """A copy of a safetensors file with `entries` added to its __metadata__ (offsets are relative
    to the data, so only the header changes)."""
    raw = pathlib.Path(source).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.setdefault("__metadata__", {}).update(entries)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    pathlib.Path(target).write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def test_the_weights_recorded_mean_and_std_are_used_unless_given(data, tmp_path):
    """`fairtune_prep weights` records timm's pretrained_cfg mean/std in the file; train uses them
    over the manifest's, and --mean/--std over both; config.json says which."""
    weights = tmp_path / "weights.safetensors"
    with_metadata(TINY, weights, mean="0.5,0.5,0.5", std="0.5,0.5,0.5")
    args = [str(BINARY), "train", "--data", str(data), "--weights", str(weights), "--attribute", "group",
            "--tuning", "head", "--epochs", "1", "--batch-size", "64", "--threads", "1"]
    subprocess.run(args + ["--out", str(tmp_path / "a")], check=True, capture_output=True, timeout=300)
    recorded = json.loads((tmp_path / "a/config.json").read_text())["data"]["normalization"]
    assert recorded == {"mean": [0.5] * 3, "std": [0.5] * 3, "source": "weights"}
    subprocess.run(args + ["--out", str(tmp_path / "b"), "--mean", "0.4,0.4,0.4", "--std", "0.2,0.2,0.2"], check=True,
                   capture_output=True, timeout=300)
    recorded = json.loads((tmp_path / "b/config.json").read_text())["data"]["normalization"]
    assert recorded["source"] == "--mean/--std" and recorded["std"] == [0.2] * 3
    broken = tmp_path / "broken.safetensors"
    with_metadata(TINY, broken, mean="0.5,0.5", std="0.5,0.5,0.5")
    result = subprocess.run([*args[:5], str(broken), *args[6:], "--out", str(tmp_path / "c")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1 and "metadata 'mean'" in result.stderr and str(broken) in result.stderr, result.stderr


def bf16_available():
    env = subprocess.run([str(BINARY), "env", "--no-mpi"], capture_output=True, text=True, timeout=60)
    return "bf16 is a candidate: yes" in env.stdout


def test_bf16_training_reaches_the_fp32_auc(data, tmp_path):
    """Mixed precision (bf16 operands in every matrix product, all else f32) learns the task as
    well as f32: the same seeded run ends at the same validation AUC within the noise of 256
    validation images, and config.json records the precision asked and the modes used."""
    if not bf16_available():
        pytest.skip("oneDNN has no bf16 matrix product on this CPU")
    runs = {}
    for precision in ["fp32", "bf16"]:
        run = tmp_path / precision
        train(data, run, "--tuning", "full", "--epochs", "6", "--batch-size", "32", "--lr", "0.001", "--seed", "1",
              "--precision", precision)
        runs[precision] = json.loads((run / "result.json").read_text())["val"]["overall"]["auc"]["value"]
        config = json.loads((run / "config.json").read_text())
        assert config["run"]["gemm"]["linear"] == ("openblas fp32" if precision == "fp32" else "onednn bf16")
        assert config["settings"].get("precision") == (None if precision == "fp32" else "bf16")
    assert runs["fp32"] > 0.7
    assert abs(runs["bf16"] - runs["fp32"]) < 0.03, runs
