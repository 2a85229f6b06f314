"""scripts/bench_host.py: its parsers read what the real fairtune binary and bench_pytorch.py print,
and its verdict is the target of issue 16 (1.5x PyTorch's fastest mode, lower peak memory)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("FAIRTUNE_RELEASE_BIN", ROOT / ".build/release/fairtune"))
spec = importlib.util.spec_from_file_location("bench_host", ROOT / "scripts/bench_host.py")
bench_host = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_host)


@pytest.mark.skipif(not BINARY.exists(), reason=f"release binary {BINARY} not built (make test builds it)")
def test_parses_the_real_fairtune_bench_train_row():
    out = subprocess.run([str(BINARY), "bench", "train", "--model", "vit_tiny_patch16_224", "--batch-size", "2",
                          "--steps", "1", "--tuning", "block-parts4", "--mask", bench_host.peft_mask("vit_tiny_patch16_224"),
                          "--precision", "fp32", "--gemm", "openblas"], capture_output=True, text=True, check=True).stdout
    row = bench_host.parse_fairtune(out)
    assert row["img_s"] > 0 and row["gflops"] > 0 and 0 < row["of_ceiling"] <= 200 and row["peak_mib"] > 0
    assert row["gemm"] == "linear openblas fp32, attention openblas fp32"


@pytest.mark.skipif(not BINARY.exists(), reason=f"release binary {BINARY} not built (make test builds it)")
def test_describes_the_cpu_from_fairtune_env():
    out = subprocess.run([str(BINARY), "env"], capture_output=True, text=True, check=True).stdout
    described = bench_host.cpu_description(out)
    assert "unknown CPU" not in described and "flags: ?" not in described and "? logical" not in described


def test_parses_the_real_pytorch_line():
    pytest.importorskip("timm")
    out = subprocess.run([sys.executable, str(ROOT / "data-prep/bench_pytorch.py"), "--model", "vit_tiny_patch16_224",
                          "--batch-size", "2", "--steps", "1", "--threads", "1", "--mode", "peft-last-half",
                          "--precision", "fp32"], capture_output=True, text=True, check=True).stdout
    row = bench_host.parse_pytorch(out)
    assert row["img_s"] > 0 and row["peak_mib"] > 0


def test_parses_bench_pytorch_result_line():
    """The line bench_pytorch.py prints, from its own formatting function (no torch needed)."""
    spec = importlib.util.spec_from_file_location("bench_pytorch", ROOT / "data-prep/bench_pytorch.py")
    bench_pytorch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_pytorch)
    line = bench_pytorch.result_line("peft-last-half", "bf16", 10647554, 27.054, 1567.6)
    assert bench_host.parse_pytorch("torch 2.15.0, timm 1.0.31\n" + line + "\n") == {"img_s": 27.05, "peak_mib": 1568}


def test_a_missing_row_names_the_command():
    with pytest.raises(ValueError, match="no 'train block-parts4' row"):
        bench_host.parse_fairtune("mode  trainable params  img/s\n")
    with pytest.raises(ValueError, match="bench_pytorch.py"):
        bench_host.parse_pytorch("torch 2.15\n")


def test_peft_mask_trains_the_last_half_of_the_blocks():
    assert bench_host.peft_mask("vit_small_patch16_224") == "0000" * 6 + "1111" * 6
    assert bench_host.peft_mask("vit_large_patch16_224") == "0000" * 12 + "1111" * 12


def rows(*rates, peak):
    return [{"img_s": r, "peak_mib": peak} for r in rates]


def test_verdict_compares_fastest_with_fastest():
    results = {"fairtune fp32": rows(20, 21, peak=1200), "fairtune auto": rows(44, 40, peak=1000),
               "PyTorch fp32": rows(9, 9, peak=2000), "PyTorch bf16": rows(27, 25, peak=1600)}
    v = bench_host.verdict(results)
    assert (v["ours"], v["theirs"]) == ("fairtune auto", "PyTorch bf16")
    assert v["best"] == pytest.approx(44 / 27) and v["median"] == pytest.approx((44 / 27 + 40 / 25) / 2)
    assert v["met"]
    # Fast enough but heavier than PyTorch: not met. Lighter but only 1.4x: not met.
    results["fairtune auto"] = rows(44, 40, peak=1700)
    assert not bench_host.verdict(results)["met"]
    results["fairtune auto"] = rows(37.8, 35, peak=1000)
    assert not bench_host.verdict(results)["met"]
