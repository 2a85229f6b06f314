"""`fairtune init`: random weights with timm's tensor names, shapes and initialisation.

The reference for names and shapes is Tests/Fixtures/vit/tiny_weights.safetensors, written by timm
(data-prep/fixtures/make_vit_fixtures.py) for the same architecture; the initialisation follows
timm's `VisionTransformer.init_weights` (mode ''), checked through each tensor's distribution.
"""
import math
import subprocess

import numpy as np
import pytest

from test_train import BINARY, TINY, read_safetensors

pytestmark = pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built (run scripts/setup.sh or make test)")


def init(tmp_path, *args):
    out = tmp_path / "init.safetensors"
    result = subprocess.run([str(BINARY), "init", *args, "--out", str(out)], capture_output=True, text=True, timeout=300)
    return result, out


def test_names_and_shapes_are_timms(tmp_path):
    reference, reference_meta = read_safetensors(TINY)
    classes = reference["head.weight"].shape[0]
    result, out = init(tmp_path, "--img-size", "32", "--patch-size", "8", "--width", "64", "--depth", "2", "--heads",
                       reference_meta["num_heads"], "--classes", str(classes), "--seed", "3")
    assert result.returncode == 0, result.stderr
    ours, meta = read_safetensors(out)
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in reference.items()}
    assert meta["num_heads"] == reference_meta["num_heads"]


def test_initialisation_follows_timm(tmp_path):
    result, out = init(tmp_path, "--model", "vit_small_patch16_224", "--classes", "5", "--seed", "1")
    assert result.returncode == 0, result.stderr
    w, _ = read_safetensors(out)
    assert w["pos_embed"].shape == (1, 197, 384) and w["head.weight"].shape == (5, 384)
    assert abs(w["blocks.3.attn.qkv.weight"].std() - 0.02) < 0.001
    assert abs(w["pos_embed"].std() - 0.02) < 0.002
    assert 0 < np.abs(w["cls_token"]).max() < 1e-5
    bound = 1 / math.sqrt(3 * 16 * 16)
    patch = w["patch_embed.proj.weight"]
    assert np.abs(patch).max() <= bound and patch.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert np.all(w["blocks.0.norm1.weight"] == 1) and np.all(w["blocks.0.mlp.fc1.bias"] == 0)
    second = tmp_path / "again"
    second.mkdir()
    again, out2 = init(second, "--model", "vit_small_patch16_224", "--classes", "5", "--seed", "1")
    assert again.returncode == 0
    assert np.array_equal(read_safetensors(out2)[0]["head.weight"], w["head.weight"]), "same seed, same weights"


def test_bad_sizes_are_clear_errors(tmp_path):
    result, out = init(tmp_path, "--img-size", "30", "--patch-size", "8", "--width", "64", "--depth", "2", "--heads", "2")
    assert result.returncode != 0 and "patch" in result.stderr and not out.exists(), result.stderr
    result, out = init(tmp_path, "--model", "vit_small_patch16_224", "--depth", "3")
    assert result.returncode == 2 and "--depth" in result.stderr and not out.exists(), result.stderr
    result, out = init(tmp_path, "--width", "64")
    assert result.returncode == 2 and "img-size" in result.stderr, result.stderr
