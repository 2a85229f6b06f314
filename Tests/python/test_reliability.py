"""Nothing a user owns is lost: the corpus of hostile inputs and faults of docs/reliability.md,
driving the release binary as a user would.

Every case asserts what docs/reliability.md promises: a non-zero exit with a message naming the
file or option, no input changed (checksums before and after), no output left half-written (no
temporary file, no partial destination). One section per guarantee; add a case to the section of
the guarantee it tests. Skipped when the release binary is missing (`make test` builds it).
"""
import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import h5py
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
WEIGHTS = ROOT / "Tests/Fixtures/vit/tiny_weights.safetensors"
IMAGES = ROOT / "Tests/Fixtures/vit/tiny_io.safetensors"
PREDICTIONS = ROOT / "Tests/Fixtures/metrics/predictions_binary.csv"
QUICK = ["--tuning", "head", "--epochs", "1", "--batch-size", "16", "--threads", "1", "--log-interval", "1000"]

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)")


# MARK: - Helpers


def fairtune(*args, timeout=120):
    """Runs the binary; a command that blocks (on a FIFO) fails the test through the timeout."""
    return subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def train(data, out, *extra, timeout=300):
    return fairtune("train", "--data", data, "--weights", WEIGHTS, "--attribute", "group", "--out", out,
                    *QUICK, *extra, timeout=timeout)


def checksums(*paths):
    """sha256 of every file under each path (a file or a folder), keyed by path."""
    sums = {}
    for top in map(pathlib.Path, paths):
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            sums[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return sums


def assert_refused(result, *needles):
    """A non-zero exit whose message holds every needle (the file or option it is about)."""
    assert result.returncode != 0, f"exit 0\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    for needle in needles:
        assert str(needle) in result.stderr, f"{needle!r} not in:\n{result.stderr}"


def assert_nothing_half_written(folder):
    """No temporary file of an atomic write is left behind."""
    leftovers = [p.name for p in pathlib.Path(folder).rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def set_float(path, tensor, element, value):
    """Overwrites one f32 element of a safetensors file in place."""
    raw = bytearray(pathlib.Path(path).read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    info = json.loads(raw[8:8 + n])[tensor]
    assert info["dtype"] == "F32"
    at = 8 + n + info["data_offsets"][0] + 4 * element
    raw[at:at + 4] = struct.pack("<f", value)
    pathlib.Path(path).write_bytes(bytes(raw))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small synthetic dataset, several shards per split (data-prep writes images uncompressed)."""
    out = tmp_path_factory.mktemp("reliability") / "synthetic"
    subprocess.run([sys.executable, "-m", "fairtune_prep", "synthetic", "--out", str(out), "--train", "96",
                    "--val", "32", "--test", "32", "--shard-size", "16", "--quiet"], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "data-prep")})
    return out


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    """A finished run directory (checkpoint, config, metrics, predictions)."""
    out = tmp_path_factory.mktemp("run") / "run"
    result = train(data, out, "--test")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def data_copy(data, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    return copy


# MARK: - 1. One writer per run directory


def test_a_second_train_into_the_same_run_directory_is_refused_naming_the_holder(data, tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen([str(BINARY), "train", "--data", str(data), "--weights", str(WEIGHTS), "--attribute",
                              "group", "--out", str(out), "--tuning", "full", "--epochs", "50", "--batch-size", "8",
                              "--threads", "1", "--log-interval", "1000"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lock = out / "fairtune.lock"
        deadline = time.time() + 60
        while not lock.exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert lock.exists(), "train holds the run-directory lock while it runs"
        before = checksums(out)
        second = train(data, out)
        assert_refused(second, str(lock), f"process {first.pid}")
        assert checksums(out).keys() >= before.keys()
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
    assert first.returncode in (0, 75)


# MARK: - 3. Outputs never replace inputs


@pytest.mark.parametrize("name", ["checkpoint.safetensors", "config.json", "metrics.jsonl", "predictions-val.csv"])
def test_export_into_a_file_the_run_owns_is_refused(run, name):
    before = checksums(run)
    result = fairtune("export", run, "--out", run / name)
    assert_refused(result, "--out", run / name, "the run's")
    assert checksums(run) == before
    assert_nothing_half_written(run)


def test_export_through_a_link_to_the_checkpoint_is_refused(run, tmp_path):
    link = tmp_path / "model.safetensors"
    link.symlink_to(run / "checkpoint.safetensors")
    before = checksums(run)
    assert_refused(fairtune("export", run, "--out", link), "--out", "resumable checkpoint")
    assert checksums(run) == before


@pytest.mark.parametrize("option", ["--weights", "--input"])
def test_forward_output_equal_to_an_input_is_refused(tmp_path, option):
    weights, images = tmp_path / "weights.safetensors", tmp_path / "images.safetensors"
    shutil.copyfile(WEIGHTS, weights)
    shutil.copyfile(IMAGES, images)
    before = checksums(tmp_path)
    out = weights if option == "--weights" else images
    result = fairtune("forward", "--weights", weights, "--input", images, "--out", out)
    assert_refused(result, "--out", option)
    assert checksums(tmp_path) == before
    assert_nothing_half_written(tmp_path)


def test_metrics_output_equal_to_the_predictions_is_refused(tmp_path):
    predictions = tmp_path / "predictions.csv"
    shutil.copyfile(PREDICTIONS, predictions)
    hard_link = tmp_path / "report.json"
    os.link(predictions, hard_link)
    before = checksums(tmp_path)
    for out in (predictions, hard_link):
        assert_refused(fairtune("metrics", "--predictions", predictions, "--out", out), "--out", "--predictions")
    assert checksums(tmp_path) == before


# MARK: - 4. Train into an existing folder only if it is empty or a run


@pytest.mark.parametrize("target", ["own", "dataset"])
def test_train_into_a_folder_of_other_files_is_refused(data_copy, tmp_path, target):
    folder = tmp_path / "mine"
    if target == "own":
        folder.mkdir()
        (folder / "metrics.jsonl").write_text("my own notes\n")
    else:
        folder = data_copy
    before = checksums(folder)
    assert_refused(train(data_copy, folder), folder, "not a fairtune run directory")
    assert checksums(folder) == before


# MARK: - 5. Resume checks the settings without config.json


def stopped_run(data, out):
    """A run stopped by SIGUSR1 after its first checkpoint (resumable, exit 75)."""
    process = subprocess.Popen([str(BINARY), "train", "--data", str(data), "--weights", str(WEIGHTS), "--attribute",
                                "group", "--out", str(out), "--tuning", "full", "--epochs", "200", "--batch-size", "8",
                                "--threads", "1", "--log-interval", "1000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoint.safetensors").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGUSR1)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 75, stderr


def test_resume_without_config_json_refuses_another_lr(data, tmp_path):
    out = tmp_path / "run"
    stopped_run(data, out)
    (out / "config.json").unlink()
    before = checksums(out / "checkpoint.safetensors")
    result = fairtune("train", "--data", data, "--weights", WEIGHTS, "--attribute", "group", "--out", out,
                      "--tuning", "full", "--epochs", "200", "--batch-size", "8", "--threads", "1", "--lr", "0.5")
    assert_refused(result, out / "checkpoint.safetensors", "lr")
    assert checksums(out / "checkpoint.safetensors") == before


# MARK: - 6. Resume checks the data


def test_resume_on_a_regenerated_dataset_is_refused_naming_what_changed(data_copy, tmp_path):
    out = tmp_path / "run"
    stopped_run(data_copy, out)
    shutil.rmtree(data_copy)
    subprocess.run([sys.executable, "-m", "fairtune_prep", "synthetic", "--out", str(data_copy), "--train", "112",
                    "--val", "32", "--test", "32", "--shard-size", "16", "--quiet"], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "data-prep")})
    result = fairtune("train", "--data", data_copy, "--weights", WEIGHTS, "--attribute", "group", "--out", out,
                      "--tuning", "full", "--epochs", "200", "--batch-size", "8", "--threads", "1")
    assert_refused(result, "train split has 112 samples", "96")


# MARK: - 7. Every image read is checked


def test_a_shard_truncated_while_training_stops_the_run_naming_file_and_sample(data_copy, tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([str(BINARY), "train", "--data", str(data_copy), "--weights", str(WEIGHTS),
                                "--attribute", "group", "--out", str(out), "--tuning", "full", "--epochs", "200",
                                "--batch-size", "8", "--threads", "1", "--log-interval", "1000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # config.json is written once the dataset is open; then the shard loses its second half.
    deadline = time.time() + 60
    while not (out / "config.json").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    shard = data_copy / "train/shard-00000.h5"
    os.truncate(shard, shard.stat().st_size // 2)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr
    assert str(shard) in stderr and "truncated" in stderr and "sample '" in stderr, stderr
    assert_nothing_half_written(out)


def test_data_check_reads_every_image_of_a_truncated_shard(data_copy):
    shard = data_copy / "val/shard-00001.h5"
    os.truncate(shard, shard.stat().st_size - 100)
    assert_refused(fairtune("data", "check", data_copy), shard)


# MARK: - 8. Non-finite weights are named at load


def test_a_nan_in_the_pretrained_weights_names_the_tensor(data, tmp_path):
    weights = tmp_path / "weights.safetensors"
    shutil.copyfile(WEIGHTS, weights)
    set_float(weights, "blocks.1.attn.qkv.weight", 7, float("nan"))
    before = checksums(weights, data)
    result = fairtune("train", "--data", data, "--weights", weights, "--attribute", "group", "--out", tmp_path / "run",
                      *QUICK)
    assert_refused(result, weights, "blocks.1.attn.qkv.weight", "nan")
    assert "lower --lr" not in result.stderr
    assert checksums(weights, data) == before


def test_an_infinity_in_forward_weights_names_the_tensor(tmp_path):
    weights = tmp_path / "weights.safetensors"
    shutil.copyfile(WEIGHTS, weights)
    set_float(weights, "head.bias", 0, float("inf"))
    assert_refused(fairtune("forward", "--weights", weights, "--input", IMAGES, "--out", tmp_path / "out.safetensors"),
                   "head.bias", "inf")
    assert not (tmp_path / "out.safetensors").exists()


def test_a_nan_in_a_training_checkpoint_names_the_tensor(data, tmp_path):
    out = tmp_path / "run"
    stopped_run(data, out)
    set_float(out / "checkpoint.safetensors", "blocks.0.norm1.weight", 3, float("nan"))
    result = fairtune("train", "--data", data, "--weights", WEIGHTS, "--attribute", "group", "--out", out,
                      "--tuning", "full", "--epochs", "200", "--batch-size", "8", "--threads", "1")
    assert_refused(result, out / "checkpoint.safetensors", "blocks.0.norm1.weight", "nan")


# MARK: - 9. Memory is estimated before allocating


def test_an_impossible_image_size_is_refused_with_the_estimate(data, tmp_path):
    result = train(data, tmp_path / "run", "--image-size", "4096")
    assert_refused(result, "--image-size", "needs up to", "GiB")
    assert result.returncode == 1 and "Fatal error" not in result.stderr
    assert not (tmp_path / "run" / "config.json").exists()


# MARK: - 10. Only regular files are opened


@pytest.mark.parametrize("target", ["train/shard-00001.h5", "manifest.json"])
def test_a_fifo_in_the_dataset_is_an_error_not_a_hang(data_copy, target):
    path = data_copy / target
    path.unlink()
    os.mkfifo(path)
    result = fairtune("data", "check", data_copy, timeout=60)
    assert_refused(result, target)


def test_fifo_weights_are_an_error_not_a_hang(data, tmp_path):
    fifo = tmp_path / "weights.safetensors"
    os.mkfifo(fifo)
    result = fairtune("train", "--data", data, "--weights", fifo, "--attribute", "group", "--out", tmp_path / "run",
                      *QUICK, timeout=60)
    assert_refused(result, fifo, "FIFO")


# MARK: - 11. A stop is always a clean, resumable exit


def stop_handlers_installed(pid):
    """Whether process `pid` catches SIGUSR1 (its SigCgt mask in /proc)."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGUSR1 - 1)))


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_stop_at_the_first_moment_is_exit_75(data, tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([str(BINARY), "train", "--data", str(data), "--weights", str(WEIGHTS), "--attribute",
                                "group", "--out", str(out), *QUICK], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    # The moment the handlers exist (before MPI starts or the data are opened), send the stop.
    while not stop_handlers_installed(process.pid) and process.poll() is None:
        pass
    process.send_signal(signal.SIGUSR1)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 75, stderr
    assert "SIGUSR1" in stderr or "SIGUSR1" in (out / "result.json").read_text()
    assert_nothing_half_written(out)


# MARK: - 12. Temporaries of killed writers are removed


def test_a_killed_writers_temporary_is_removed_by_the_next_run(data, tmp_path):
    out = tmp_path / "run"
    stopped_run(data, out)
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname().replace("-", "_")
    leftover = out / f".checkpoint.safetensors.tmp-{host}-{dead.pid}-1234"
    leftover.write_bytes(b"\0" * 1000)
    process = subprocess.Popen([str(BINARY), "train", "--data", str(data), "--weights", str(WEIGHTS), "--attribute",
                                "group", "--out", str(out), "--tuning", "full", "--epochs", "200", "--batch-size", "8",
                                "--threads", "1", "--log-interval", "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.time() + 60
    while leftover.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGUSR1)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 75, stderr
    assert not leftover.exists() and f"removed {leftover.name}" in stdout, stdout


# MARK: - 13. A stopped multi-shard run closes its HDF5 handles once


def test_a_diverged_multi_shard_run_exits_3_without_hdf5_error_stacks(data, tmp_path):
    result = fairtune("train", "--data", data, "--weights", WEIGHTS, "--attribute", "group", "--out", tmp_path / "run",
                      "--tuning", "full", "--epochs", "3", "--batch-size", "8", "--threads", "1", "--workers", "2",
                      "--lr", "1000", "--optimizer", "sgd", "--log-interval", "1000")
    assert result.returncode == 3, result.stderr
    assert "HDF5-DIAG" not in result.stderr and "H5Dclose" not in result.stderr, result.stderr


# MARK: - 14. Messages say what is wrong


def test_a_non_integer_count_names_the_field(data_copy):
    manifest = json.loads((data_copy / "manifest.json").read_text())
    manifest["splits"]["val"]["count"] = 32.5
    (data_copy / "manifest.json").write_text(json.dumps(manifest))
    result = fairtune("data", "check", data_copy)
    assert_refused(result, "splits.val.count", "32.5")
    assert "not valid JSON" not in result.stderr


def test_a_symlink_loop_is_named_as_such(data_copy):
    manifest = data_copy / "manifest.json"
    manifest.unlink()
    manifest.symlink_to(manifest.name)
    result = fairtune("data", "check", data_copy)
    assert_refused(result, manifest, "loop of symbolic links")
    assert "NSCocoaErrorDomain" not in result.stderr and "permission" not in result.stderr


@pytest.mark.parametrize("command", ["train", "forward"])
def test_negative_class_weights_say_what_is_wrong(data, tmp_path, command):
    if command == "train":
        result = train(data, tmp_path / "run", "--class-weights", "-1,2")
    else:
        result = fairtune("forward", "--weights", WEIGHTS, "--input", IMAGES, "--labels", IMAGES, "--out",
                          tmp_path / "out.safetensors", "--class-weights", "-1,2")
    assert_refused(result, "--class-weights" if command == "forward" else "class-weights", "-1")
    assert "needs a value" not in result.stderr


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path):
    rows = [line.split(",") for line in PREDICTIONS.read_text().splitlines()]
    columns = [rows[0].index(name) for name in ("label", "score", "sex")]
    text = "\n".join(",".join(row[c] for c in columns) for row in rows) + "\n"
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    plain.write_text(text)
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    expected = fairtune("metrics", "--predictions", plain, "--group-column", "sex")
    result = fairtune("metrics", "--predictions", marked, "--group-column", "sex")
    assert expected.returncode == 0 and result.returncode == 0, result.stderr
    assert result.stdout.replace(str(marked), "FILE") == expected.stdout.replace(str(plain), "FILE")


def test_fifo_predictions_are_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "predictions.csv"
    os.mkfifo(fifo)
    assert_refused(fairtune("metrics", "--predictions", fifo, timeout=60), fifo, "FIFO")
