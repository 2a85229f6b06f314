"""``python -m fairtune_prep weights``: offline, against a Hugging Face hub cache laid out as
huggingface_hub lays it out (blobs, snapshots/<commit> links, refs/main), holding a timm ViT
(Tests/Fixtures/vit/tiny_weights.safetensors, written by timm) as the hub serves it.

The command runs in a subprocess with HF_HUB_OFFLINE=1 and HF_HOME in the test's folder, so
huggingface_hub itself resolves the cache. When the release binary exists, ``fairtune forward``
runs the written file and must give timm's logits, which needs the right ``num_heads``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "Tests/Fixtures/vit/tiny_weights.safetensors"
TINY_IO = ROOT / "Tests/Fixtures/vit/tiny_io.safetensors"
BINARY = Path(os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}

pytest.importorskip("huggingface_hub")


def read_safetensors(path: Path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """(metadata, tensors) with plain struct/json/numpy."""
    blob = path.read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    tensors = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=DTYPES[v["dtype"]])
               .reshape(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    return header.get("__metadata__", {}), tensors


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Tensors in name order, as the safetensors library writes f32 tensors."""
    header: dict = {"__metadata__": metadata}
    offset, chunks = 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        chunks.append(a.tobytes())
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def hub_cache(home: Path, repo: str, files: dict[str, bytes]) -> None:
    """``home/hub/models--OWNER--NAME`` as huggingface_hub leaves it after a download of ``files``."""
    folder = home / "hub" / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)
    (folder / "blobs").mkdir()
    (folder / "snapshots" / COMMIT).mkdir(parents=True)
    for name, content in files.items():
        digest = hashlib.sha256(content).hexdigest()
        (folder / "blobs" / digest).write_bytes(content)
        (folder / "snapshots" / COMMIT / name).symlink_to(Path("../../blobs") / digest)


def timm_config(architecture: str, model_args: dict | None = None) -> bytes:
    """config.json as timm pushes it to the hub."""
    config = {"architecture": architecture, "num_classes": 3, "num_features": 64, "global_pool": "token",
              "pretrained_cfg": {"tag": "test", "custom_load": False, "input_size": [3, 32, 32],
                                 "fixed_input_size": True, "interpolation": "bicubic", "crop_pct": 0.9,
                                 "crop_mode": "center", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                                 "num_classes": 3, "pool_size": None, "first_conv": "patch_embed.proj",
                                 "classifier": "head"}}
    if model_args is not None:
        config["model_args"] = model_args
    return json.dumps(config, indent=4).encode()


def run_weights(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "data-prep"),
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    return subprocess.run([sys.executable, "-m", "fairtune_prep", "weights", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture()
def hub_model(tmp_path) -> tuple[Path, dict[str, np.ndarray]]:
    _, tensors = read_safetensors(TINY)
    served = tmp_path / "served.safetensors"
    write_safetensors(served, tensors, {"format": "pt"})
    hub_cache(tmp_path / "hf", "timm/vit_fixture_patch8_32.test",
              {"model.safetensors": served.read_bytes(),
               "config.json": timm_config("vit_fixture_patch8_32", {"num_heads": 2})})
    return tmp_path / "hf", tensors


def test_writes_tensors_unchanged_and_fairtune_metadata(tmp_path, hub_model):
    home, tensors = hub_model
    result = run_weights(home, "timm/vit_fixture_patch8_32.test", "--out", str(tmp_path / "weights"))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "weights" / "vit_fixture_patch8_32.test.safetensors"
    metadata, written = read_safetensors(out)
    assert metadata == {"format": "pt", "num_heads": "2", "image_size": "32", "mean": "0.5,0.5,0.5",
                        "std": "0.5,0.5,0.5", "interpolation": "bicubic", "crop_pct": "0.9",
                        "source": "timm/vit_fixture_patch8_32.test", "architecture": "vit_fixture_patch8_32",
                        "revision": COMMIT}
    assert sorted(written) == sorted(tensors)
    for name, value in tensors.items():
        assert np.array_equal(written[name], value), name
    assert struct.unpack("<Q", out.read_bytes()[:8])[0] % 8 == 0
    assert [p.name for p in (tmp_path / "weights").iterdir()] == [out.name]


@pytest.mark.skipif(not BINARY.exists(), reason=f"release binary {BINARY} not built (make test builds it)")
def test_fairtune_runs_the_written_weights_as_timm_does(tmp_path, hub_model):
    home, _ = hub_model
    assert run_weights(home, "timm/vit_fixture_patch8_32.test", "--out", str(tmp_path)).returncode == 0
    weights = tmp_path / "vit_fixture_patch8_32.test.safetensors"
    result = subprocess.run([str(BINARY), "forward", "--weights", str(weights), "--input", str(TINY_IO),
                             "--out", str(tmp_path / "logits.safetensors")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    _, reference = read_safetensors(TINY_IO)
    _, ours = read_safetensors(tmp_path / "logits.safetensors")
    np.testing.assert_allclose(ours["logits"], reference["logits"], rtol=1e-4, atol=1e-4)


def test_heads_from_the_architecture_name_checked_against_the_width(tmp_path):
    _, tensors = read_safetensors(TINY)
    served = tmp_path / "served.safetensors"
    write_safetensors(served, tensors, {"format": "pt"})
    hub_cache(tmp_path / "hf", "timm/vit_base_patch8_32.test",
              {"model.safetensors": served.read_bytes(), "config.json": timm_config("vit_base_patch8_32")})
    result = run_weights(tmp_path / "hf", "vit_base_patch8_32.test", "--out", str(tmp_path / "w"))
    assert result.returncode == 1
    assert "'vit_base_patch8_32' (width 64); pass --num-heads" in result.stderr
    assert not (tmp_path / "w").exists()
    result = run_weights(tmp_path / "hf", "vit_base_patch8_32.test", "--out", str(tmp_path / "w"), "--num-heads", "2")
    assert result.returncode == 0, result.stderr
    assert read_safetensors(tmp_path / "w" / "vit_base_patch8_32.test.safetensors")[0]["num_heads"] == "2"


def test_not_in_the_cache_offline_is_a_clear_error(tmp_path):
    (tmp_path / "hf" / "hub").mkdir(parents=True)
    result = run_weights(tmp_path / "hf", "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k", "--out", str(tmp_path / "w"))
    assert result.returncode == 1
    assert "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k: cannot get model.safetensors" in result.stderr
    assert "HF_HUB_OFFLINE" in result.stderr and "Traceback" not in result.stderr


def test_existing_output_needs_force_and_a_truncated_file_is_named(tmp_path, hub_model):
    home, _ = hub_model
    out = tmp_path / "w"
    out.mkdir()
    (out / "vit_fixture_patch8_32.test.safetensors").write_text("mine")
    result = run_weights(home, "timm/vit_fixture_patch8_32.test", "--out", str(out))
    assert result.returncode == 1 and "already exists; pass --force" in result.stderr
    assert (out / "vit_fixture_patch8_32.test.safetensors").read_text() == "mine"
    blob = next((home / "hub" / "models--timm--vit_fixture_patch8_32.test" / "blobs").iterdir())
    content = blob.read_bytes()
    if content.startswith(b"{"):  # config.json's blob: take the other one
        blob = [p for p in blob.parent.iterdir() if p != blob][0]
        content = blob.read_bytes()
    blob.write_bytes(content[:-100])
    result = run_weights(home, "timm/vit_fixture_patch8_32.test", "--out", str(out), "--force")
    assert result.returncode == 1 and "model.safetensors: tensor data ends at" in result.stderr
    assert (out / "vit_fixture_patch8_32.test.safetensors").read_text() == "mine"


def test_a_killed_runs_partial_file_is_removed(tmp_path, hub_model):
    home, _ = hub_model
    out = tmp_path / "w"
    out.mkdir()
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    partial = out / f".vit_fixture_patch8_32.test.safetensors.tmp-{socket.gethostname()}-{child.pid}"
    partial.write_bytes(b"\0" * 4096)
    result = run_weights(home, "timm/vit_fixture_patch8_32.test", "--out", str(out))
    assert result.returncode == 0 and partial.name in result.stderr
    assert [p.name for p in out.iterdir()] == ["vit_fixture_patch8_32.test.safetensors"]


def test_output_folder_that_is_a_file_is_a_clear_error(tmp_path, hub_model):
    home, _ = hub_model
    (tmp_path / "afile").write_text("mine")
    result = run_weights(home, "timm/vit_fixture_patch8_32.test", "--out", str(tmp_path / "afile"))
    assert result.returncode == 1 and "--out" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "afile").read_text() == "mine"
