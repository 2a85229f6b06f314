"""Time timm's own ViT steps on the shapes `fairtune bench train` uses, for comparison.

Run from the repository root (needs torch and timm, see data-prep/requirements-fixtures.txt):
    python data-prep/bench_pytorch.py --model vit_small_patch16_224 --batch-size 32 --steps 3

Modes, each in a fresh subprocess so its peak memory is its own: inference (no_grad), full
fine-tuning, and auto_peft2 training the last half of the blocks (all of norm1, attention, norm2
and MLP there, plus the head), each in fp32 and under CPU bf16 autocast. A training step is
zero_grad + forward + cross-entropy + backward (no optimizer, as in fairtune bench train).
Prints images/s and peak resident memory (ru_maxrss). Random weights and images.
"""
import argparse
import resource
import subprocess
import sys
import time

MODES = ["inference", "full", "peft-last-half"]


def run_one(args):
    import timm
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = timm.create_model(args.model, pretrained=False, num_classes=args.classes)
    depth = len(model.blocks)
    if args.mode == "inference":
        model.eval()
    else:
        model.train()
        for name, p in model.named_parameters():
            if args.mode == "full" or name.startswith("head."):
                p.requires_grad_(True)
            elif name.startswith("blocks."):
                p.requires_grad_(int(name.split(".")[1]) >= depth // 2)
            else:
                p.requires_grad_(False)
    size = model.default_cfg["input_size"][1]
    x = torch.randn(args.batch_size, 3, size, size)
    y = torch.arange(args.batch_size) % args.classes
    criterion = torch.nn.CrossEntropyLoss()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def step():
        if args.mode == "inference":
            with torch.no_grad(), autocast:
                model(x)
        else:
            model.zero_grad(set_to_none=True)
            with autocast:
                loss = criterion(model(x), y)
            loss.backward()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad) if args.mode != "inference" else 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(result_line(args.mode, args.precision, trainable, args.batch_size / seconds, peak), flush=True)


def result_line(mode, precision, trainable, images_per_second, peak_mib):
    """One mode's line, e.g. `peft-last-half   bf16  trainable   10647554     27.05 img/s  peak    1568 MiB`
    (scripts/bench_host.py reads it)."""
    return (f"{mode:<16} {precision:<5} trainable {trainable:>10}  {images_per_second:8.2f} img/s"
            f"  peak {peak_mib:7.0f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vit_small_patch16_224")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--mode", choices=MODES, help="run one mode in this process (used internally)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="(used internally)")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated precisions to time")
    args = parser.parse_args()
    if args.mode:
        run_one(args)
        return
    import timm
    import torch
    print(f"torch {torch.__version__}, timm {timm.__version__}, {args.model}, batch {args.batch_size}, "
          f"{args.threads} threads, {args.steps} timed steps")
    for precision in args.precisions.split(","):
        for mode in MODES:
            command = [sys.executable, __file__, "--model", args.model, "--batch-size", str(args.batch_size),
                       "--steps", str(args.steps), "--threads", str(args.threads), "--classes", str(args.classes),
                       "--mode", mode, "--precision", precision]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
